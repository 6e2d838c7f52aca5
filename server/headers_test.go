package server

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// testServer is a server built by New on a real store, behind an
// httptest server, with its log kept for the test to read.
type testServer struct {
	srv *Server
	ts  *httptest.Server
	log *syncBuffer
}

// syncBuffer is a log sink that handlers write to from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer starts New with issuer, the configuration changed by
// mutate, on store (nil: a fresh SQLite database), with the clock now
// (nil: the wall clock).
func newTestServer(t *testing.T, issuer string, store storage.Storage, now func() time.Time, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := &config.Config{
		Issuer:   issuer,
		Secret:   base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		Password: config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1},
	}
	for _, m := range mutate {
		m(cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	if store == nil {
		store = gormstoretest.NewSQLite(t)
	}
	buf := &syncBuffer{}
	srv, err := New(t.Context(), Options{Config: cfg, Store: store, Now: now,
		Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{srv: srv, ts: ts, log: buf}
}

// Every response carries the security headers; HSTS only under https,
// with includeSubDomains when http.hsts_include_subdomains says so.
func TestSecurityHeaders(t *testing.T) {
	for _, tc := range []struct {
		name     string
		issuer   string
		subdoms  bool
		wantHSTS string
	}{
		{"http", "http://127.0.0.1:8080", false, ""},
		{"http ignores includeSubDomains", "http://127.0.0.1:8080", true, ""},
		{"https", "https://login.example.com", false, "max-age=31536000"},
		{"https includeSubDomains", "https://login.example.com", true, "max-age=31536000; includeSubDomains"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.issuer, nil, nil, func(c *config.Config) { c.HTTP.HSTSIncludeSubdomains = tc.subdoms })
			for _, path := range []string{"/login?id=unknown", "/healthz", "/.well-known/openid-configuration"} {
				resp, err := http.Get(s.ts.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				h := resp.Header
				for name, want := range map[string]string{
					"Cross-Origin-Opener-Policy": "same-origin",
					"Strict-Transport-Security":  tc.wantHSTS,
					"X-Frame-Options":            "DENY",
					"X-Content-Type-Options":     "nosniff",
					"Referrer-Policy":            "no-referrer",
				} {
					if got := h.Get(name); got != want {
						t.Errorf("GET %s: %s = %q, want %q", path, name, got, want)
					}
				}
			}
		})
	}
}
