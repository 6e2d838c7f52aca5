package server

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestRequestMetricsAndLogs: every request is logged at info with method,
// route, status, duration and request id, and timed and counted under the
// template of the route that took it (each page its own label); a path no
// route takes is "other".
func TestRequestMetricsAndLogs(t *testing.T) {
	cfg := &config.Config{Issuer: "http://127.0.0.1:8080",
		Secret:   base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		Password: config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}}
	cfg.ApplyDefaults()
	buf := &syncBuffer{}
	srv, err := New(t.Context(), Options{Config: cfg, Store: gormstoretest.NewSQLite(t),
		Logger: slog.New(LogHandler{slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo})})})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	requests := []struct{ method, path, route string }{
		{http.MethodGet, "/healthz", "/healthz"},
		{http.MethodGet, "/login?id=nope", "/login"},
		{http.MethodGet, "/account", "/account"},
		{http.MethodGet, "/admin/members/abc", "/admin/members/{id}"},
		{http.MethodGet, "/static/nothing.css", "/static/"},
		{http.MethodPost, "/oauth/token", "/oauth/token"},
		{http.MethodGet, "/no-such-page", "other"},
	}
	ids := map[string]string{} // request id → route
	for _, rq := range requests {
		req, _ := http.NewRequestWithContext(t.Context(), rq.method, ts.URL+rq.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ids[resp.Header.Get("X-Request-Id")] = rq.route
	}

	resp, err := client.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, rq := range requests {
		want := `sekisho_http_request_duration_seconds_count{route="` + rq.route + `"} 1`
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in /metrics", want)
		}
	}

	logged := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != "request" {
			continue
		}
		for _, k := range []string{"method", "route", "status", "duration_ms", "request_id"} {
			if _, ok := m[k]; !ok {
				t.Errorf("request line without %s: %s", k, sc.Text())
			}
		}
		if m["level"] != "INFO" {
			t.Errorf("request line at %v, want INFO: %s", m["level"], sc.Text())
		}
		id, _ := m["request_id"].(string)
		route, _ := m["route"].(string)
		logged[id] = route
	}
	for id, route := range ids {
		if id == "" || logged[id] != route {
			t.Errorf("request %q (route %s) logged as %q", id, route, logged[id])
		}
	}
}
