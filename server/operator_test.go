package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
)

// With metrics.listen, /metrics and the profiler are served on the
// operators' listener only; without it, /metrics stays public and there
// is no profiler anywhere.
func TestOperatorListener(t *testing.T) {
	get := func(t *testing.T, base, path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	t.Run("metrics.listen set", func(t *testing.T) {
		s := newTestServer(t, "http://127.0.0.1:8080", nil, nil, func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:9090" })
		op := httptest.NewServer(s.srv.OperatorHandler())
		t.Cleanup(op.Close)
		if status, _ := get(t, s.ts.URL, "/metrics"); status != http.StatusNotFound {
			t.Errorf("public /metrics: %d, want 404", status)
		}
		if status, _ := get(t, s.ts.URL, "/debug/pprof/"); status != http.StatusNotFound {
			t.Errorf("public /debug/pprof/: %d, want 404", status)
		}
		if status, body := get(t, op.URL, "/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("operator /metrics: %d %.100s", status, body)
		}
		if status, body := get(t, op.URL, "/debug/pprof/"); status != http.StatusOK || !strings.Contains(body, "goroutine") {
			t.Errorf("operator /debug/pprof/: %d %.100s", status, body)
		}
	})
	t.Run("metrics.listen empty", func(t *testing.T) {
		s := newTestServer(t, "http://127.0.0.1:8080", nil, nil)
		if status, body := get(t, s.ts.URL, "/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("public /metrics: %d", status)
		}
		if status, _ := get(t, s.ts.URL, "/debug/pprof/"); status != http.StatusNotFound {
			t.Errorf("public /debug/pprof/: %d, want 404", status)
		}
	})
}
