package e2e

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// refreshAll sends the same refresh token n times at once, spread over
// the given replicas, and returns the answers.
func refreshAll(t *testing.T, replicas []*env, clientID, secret, token string, n int) []map[string]any {
	t.Helper()
	out := make([]map[string]any, n)
	status := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := replicas[i%len(replicas)]
			status[i], out[i] = e.postTo(t, e.ts.URL, "/oauth/token", clientID, secret,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
			if status[i] != http.StatusOK {
				out[i]["status"] = status[i]
			}
		}()
	}
	wg.Wait()
	return out
}

// refresh redeems token once on e.
func (e *env) refresh(t *testing.T, token string) (int, map[string]any) {
	t.Helper()
	return e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

// TestRefreshReuseWindow: relying parties that refresh in parallel send
// one refresh token several times at once. Within refresh.reuse_window,
// every such request of the same client succeeds and gets the same
// successor (one live chain); later, from another client, or once the
// successor has itself been rotated, it is theft and the family is
// revoked.
func TestRefreshReuseWindow(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		testReuseWindow(t, []*env{newEnv(t, newStore(t))})
	})
	t.Run("two replicas on postgres", func(t *testing.T) {
		dsn := gormstoretest.PostgresDSN(t)
		a := newEnv(t, openPostgres(t, dsn))
		testReuseWindow(t, []*env{a, a.second(openPostgres(t, dsn))})
	})
}

func testReuseWindow(t *testing.T, replicas []*env) {
	e := replicas[0]
	tok, _ := e.signInFresh(t, e.browser(), "openid offline_access")

	// Six parallel refreshes: all succeed, with one successor.
	answers := refreshAll(t, replicas, "web", webSecret, tok.RefreshToken, 6)
	successor, _ := answers[0]["refresh_token"].(string)
	for i, m := range answers {
		if m["status"] != nil || m["refresh_token"] != successor || m["access_token"] == nil || m["id_token"] == nil {
			t.Fatalf("parallel refresh %d: %v (want 200 with successor %q)", i, m, successor)
		}
		if !e.introspect(t, m["access_token"].(string)) {
			t.Errorf("parallel refresh %d: its access token is not active", i)
		}
	}
	if successor == "" || successor == tok.RefreshToken {
		t.Fatalf("no new successor: %q", successor)
	}
	// The successor refreshes normally, on any replica.
	last := replicas[len(replicas)-1]
	status, next := last.refresh(t, successor)
	if status != http.StatusOK || next["refresh_token"] == successor {
		t.Fatalf("successor refresh: %d %v", status, next)
	}
	// The first token again, now that its successor was rotated: theft.
	if status, m := e.refresh(t, tok.RefreshToken); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("reuse after the successor rotated: %d %v", status, m)
	}
	if status, m := e.refresh(t, next["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("the family survived a theft: %d %v", status, m)
	}
	if e.introspect(t, next["access_token"].(string)) {
		t.Error("an access token of a revoked family is active")
	}
	wantAudit(t, e, "refresh_reuse", 1)

	// After the window, the rotated token is theft.
	tok2, _ := e.signInFresh(t, e.browser(), "openid offline_access")
	status, r2 := e.refresh(t, tok2.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, r2)
	}
	e.clock.add(e.cfg.Refresh.ReuseWindow.D() + time.Second)
	if status, m := e.refresh(t, tok2.RefreshToken); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("reuse after the window: %d %v", status, m)
	}
	if status, m := e.refresh(t, r2["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("successor after a late reuse: %d %v, want the family revoked", status, m)
	}
	wantAudit(t, e, "refresh_reuse", 2)

	// Within the window but by another client: theft.
	tok3, _ := e.signInFresh(t, e.browser(), "openid offline_access")
	status, r3 := e.refresh(t, tok3.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, r3)
	}
	if status, m := e.tokenPost(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok3.RefreshToken},
		"client_id": {"spa"}}); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("another client reusing the rotated token: %d %v", status, m)
	}
	if status, m := e.refresh(t, r3["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("successor after another client's reuse: %d %v, want the family revoked", status, m)
	}
}

// wantAudit checks the number of audit events of a type.
func wantAudit(t *testing.T, e *env, typ string, n int) {
	t.Helper()
	evs, err := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Errorf("%d %s audit events, want %d", len(evs), typ, n)
	}
}

// TestRefreshStrictRotation: with refresh.reuse_window off, of parallel
// refreshes of one token exactly one succeeds, and the reuse revokes the
// family.
func TestRefreshStrictRotation(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), func(c *config.Config) { c.Refresh.ReuseWindow = config.Off })
		tok, _ := e.signInFresh(t, e.browser(), "openid offline_access")
		wins := 0
		var winner string
		for _, m := range refreshAll(t, []*env{e}, "web", webSecret, tok.RefreshToken, 6) {
			if m["status"] == nil {
				wins++
				winner = m["refresh_token"].(string)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of 6 parallel refreshes succeeded with the window off, want 1", wins)
		}
		if status, m := e.refresh(t, winner); status != http.StatusBadRequest {
			t.Errorf("the winner's successor after the reuse: %d %v, want the family revoked", status, m)
		}
	})
}
