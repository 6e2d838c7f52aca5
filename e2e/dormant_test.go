package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
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
