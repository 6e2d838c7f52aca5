package e2e

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// countingStore counts the user reads that are not part of another
// query, to show the refresh path reads the account with its token only.
type countingStore struct {
	storage.Storage
	getUser atomic.Int32
}

func (s *countingStore) GetUser(ctx context.Context, id string) (storage.User, error) {
	s.getUser.Add(1)
	return s.Storage.GetUser(ctx, id)
}

// TestRefreshDormant: an account idle for lifecycle.dormant_after gets
// no token by refresh (invalid_grant), although the sweep has not marked
// it; refreshes do not move the clock; the account read with the token
// decides, with no other user read. With the lock off, the same refresh
// works.
func TestRefreshDormant(t *testing.T) {
	const after = 48 * time.Hour
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, tc := range []struct {
			name   string
			after  config.Duration
			locked bool
		}{
			{"lock on", config.Duration(after), true},
			{"lock off", config.Off, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := &countingStore{Storage: newStore(t)}
				e := newEnv(t, st, func(c *config.Config) { c.Lifecycle.DormantAfter = tc.after })
				tok, _ := e.signInFresh(t, e.browser(), "openid offline_access")

				// A refresh within the period works and does not count as a sign-in.
				e.clock.add(after - time.Hour)
				status, m := e.refresh(t, tok.RefreshToken)
				if status != http.StatusOK {
					t.Fatalf("refresh within the period: %d %v", status, m)
				}
				next := m["refresh_token"].(string)

				e.clock.add(time.Hour)
				before := st.getUser.Load()
				status, m = e.refresh(t, next)
				if got := st.getUser.Load() - before; got != 0 {
					t.Errorf("the refresh read the user %d more times, want 0 (the token's read carries it)", got)
				}
				if tc.locked {
					if status != http.StatusBadRequest || m["error"] != "invalid_grant" {
						t.Fatalf("refresh of a dormant account: %d %v, want invalid_grant", status, m)
					}
					u, err := e.store.GetUser(t.Context(), e.user.ID)
					if err != nil {
						t.Fatal(err)
					}
					if u.DormantAt != nil {
						t.Errorf("dormant_at = %v: the refresh path marked the account (the sweep does)", u.DormantAt)
					}
					// Refused again: nothing was claimed, nothing changed.
					if status, m := e.refresh(t, next); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
						t.Errorf("second refresh of a dormant account: %d %v", status, m)
					}
					return
				}
				if status != http.StatusOK {
					t.Fatalf("refresh with the lock off: %d %v", status, m)
				}
			})
		}
	})
}

// TestSweepDormant: the server's periodic sweep marks a newly dormant
// account once (account_dormant written once): with
// lifecycle.revoke_on_dormant its refresh tokens (offline ones too) are
// revoked, so they stay refused even after an administrator's unlock,
// and each client with a back-channel endpoint receives a logout token;
// an account that signed in within the period keeps its tokens. With
// revoke_on_dormant off the account is marked but its tokens survive
// (refused while locked, usable again after an unlock).
func TestSweepDormant(t *testing.T) {
	const after = 48 * time.Hour
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, revoke := range []bool{true, false} {
			t.Run(map[bool]string{true: "revoke", false: "keep tokens"}[revoke], func(t *testing.T) {
				rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 0)
				e := newEnv(t, newStore(t), logoutClients(rpA, rpB, "http://127.0.0.1:9/fc-c/logout"), func(c *config.Config) {
					c.Lifecycle.DormantAfter, c.Lifecycle.RevokeOnDormant = config.Duration(after), &revoke
					c.SweepInterval = config.Duration(50 * time.Millisecond)
					// Sessions outlive the period, so only the sweep ends them.
					c.Session.Idle, c.Session.Absolute = config.Duration(30*24*time.Hour), config.Duration(30*24*time.Hour)
				})
				toks := e.signInApps(t, e.browser(), e.user.Email, userPass, "bc-a", "bc-b")
				e.clock.add(after - time.Hour)
				bobToks := e.signInApps(t, e.browser(), e.other.Email, otherPass, "bc-a")
				e.clock.add(2 * time.Hour)
				e.run()

				if revoke {
					for _, x := range []struct {
						rp     *logoutRP
						client string
					}{{rpA, "bc-a"}, {rpB, "bc-b"}} {
						tokens := x.rp.waitTokens(t, 1)
						e.verifyLogoutToken(t, tokens[0], x.client, sidOf(toks[x.client]), e.user.ID)
					}
				}
				u := waitMarked(t, e, e.user.ID)
				settle()
				wantAudit(t, e, "account_dormant", 1)
				if got, _ := rpA.received(); revoke && len(got) != 1 || !revoke && len(got) != 0 {
					t.Errorf("bc-a received %d logout tokens", len(got))
				}
				if b, _ := e.store.GetUser(t.Context(), e.other.ID); b.DormantAt != nil {
					t.Errorf("bob, signed in within the period, was marked at %v", b.DormantAt)
				}

				// Locked: every refresh is refused.
				for c, tok := range toks {
					if status, m := e.tokenPost(t, c, webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
						t.Errorf("%s: refresh of the dormant account: %d %v, want invalid_grant", c, status, m)
					}
				}
				// An unlock lifts the lock, not the revocation.
				until := e.clock.now().Add(time.Hour)
				if _, err := e.store.UpdateUser(t.Context(), u.ID, func(u storage.User) (storage.User, error) {
					u.UnlockedUntil = &until
					return u, nil
				}); err != nil {
					t.Fatal(err)
				}
				status, m := e.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {toks["bc-a"].RefreshToken}})
				if revoke && (status != http.StatusBadRequest || m["error"] != "invalid_grant") {
					t.Errorf("refresh of a revoked token after the unlock: %d %v, want invalid_grant", status, m)
				}
				if !revoke && status != http.StatusOK {
					t.Errorf("refresh after the unlock with revoke_on_dormant off: %d %v", status, m)
				}
				if status, m := e.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bobToks["bc-a"].RefreshToken}}); status != http.StatusOK {
					t.Errorf("bob's refresh: %d %v", status, m)
				}
			})
		}
	})
}

// waitMarked waits (bounded) until the sweep has marked the user dormant.
func waitMarked(t *testing.T, e *env, id string) storage.User {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		u, err := e.store.GetUser(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if u.DormantAt != nil {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep did not mark the account dormant")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSweepDormantReplicas: two replicas on one PostgreSQL database both
// sweep; each account is marked once, account_dormant is written once
// for each and each client receives one logout token.
func TestSweepDormantReplicas(t *testing.T) {
	const after = 48 * time.Hour
	dsn := gormstoretest.PostgresDSN(t)
	rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 0)
	a := newEnv(t, openPostgres(t, dsn), logoutClients(rpA, rpB, "http://127.0.0.1:9/fc-c/logout"), func(c *config.Config) {
		c.Lifecycle.DormantAfter = config.Duration(after)
		c.SweepInterval = config.Duration(20 * time.Millisecond)
		c.Session.Idle, c.Session.Absolute = config.Duration(30*24*time.Hour), config.Duration(30*24*time.Hour)
	})
	b := a.second(openPostgres(t, dsn))
	toks := a.signInApps(t, a.browser(), a.user.Email, userPass, "bc-a", "bc-b")
	a.clock.add(after + time.Hour)
	a.run()
	b.run()
	for _, x := range []struct {
		rp     *logoutRP
		client string
	}{{rpA, "bc-a"}, {rpB, "bc-b"}} {
		tokens := x.rp.waitTokens(t, 1)
		a.verifyLogoutToken(t, tokens[0], x.client, sidOf(toks[x.client]), a.user.ID)
	}
	waitMarked(t, a, a.user.ID)
	waitMarked(t, a, a.other.ID) // who never signed in
	settle()
	for _, id := range []string{a.user.ID, a.other.ID} {
		evs, err := a.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "account_dormant", UserID: id})
		if err != nil || len(evs) != 1 {
			t.Errorf("%d account_dormant events of %s (%v), want 1", len(evs), id, err)
		}
	}
	for _, rp := range []*logoutRP{rpA, rpB} {
		if got, _ := rp.received(); len(got) != 1 {
			t.Errorf("%d logout tokens, want 1", len(got))
		}
	}
}
