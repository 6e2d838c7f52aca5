package server

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// A replica whose clock is an hour ahead of PostgreSQL's measures the
// skew at start, exposes it and warns; a replica on SQLite (one clock)
// measures nothing.
func TestClockSkew(t *testing.T) {
	const issuer = "https://login.example.com"
	ahead := func() time.Time { return time.Now().Add(time.Hour) }

	t.Run("postgres, an hour ahead", func(t *testing.T) {
		s := newTestServer(t, issuer, gormstoretest.NewPostgres(t), ahead)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.srv.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		// Run checks at start: wait for the gauge.
		deadline := time.Now().Add(time.Minute)
		var skew float64
		for {
			v, ok := gauge(t, s, "sekisho_clock_skew_seconds")
			if ok {
				skew = v
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("sekisho_clock_skew_seconds never appeared")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if skew < 3600-60 || skew > 3600+60 {
			t.Errorf("sekisho_clock_skew_seconds = %v, want about 3600", skew)
		}
		if log := s.log.String(); !strings.Contains(log, `level=WARN msg="this host's clock differs from the database's`) ||
			!strings.Contains(log, "skew_seconds=") {
			t.Errorf("no clock warning in the log:\n%s", log)
		}
	})

	t.Run("postgres, in step", func(t *testing.T) {
		s := newTestServer(t, issuer, gormstoretest.NewPostgres(t), nil)
		skew, ok, err := s.srv.checkClock(t.Context())
		if err != nil || !ok || skew < -time.Minute || skew > time.Minute {
			t.Errorf("checkClock = %v, %v, %v; want about 0", skew, ok, err)
		}
		if _, ok := gauge(t, s, "sekisho_clock_skew_seconds"); !ok {
			t.Error("no gauge after a check")
		}
	})

	t.Run("sqlite", func(t *testing.T) {
		s := newTestServer(t, issuer, nil, ahead)
		if _, ok, err := s.srv.checkClock(t.Context()); ok || err != nil {
			t.Errorf("checkClock on SQLite: ok %v, %v; want not applicable", ok, err)
		}
		if _, ok := gauge(t, s, "sekisho_clock_skew_seconds"); ok {
			t.Error("a skew gauge on SQLite")
		}
		if strings.Contains(s.log.String(), "NTP") {
			t.Errorf("a clock warning on SQLite:\n%s", s.log.String())
		}
	})
}

// gauge reads an unlabelled sample from /metrics.
func gauge(t *testing.T, s *testServer, name string) (float64, bool) {
	t.Helper()
	resp, err := noRedirects.Get(s.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := new(strings.Builder)
	if _, err := io.Copy(body, resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
