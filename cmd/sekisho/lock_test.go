package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/storage"
)

// TestUserUnlock: backdate-login (with --dev only) makes accounts
// dormant; user list --status locked and user show see it; user unlock
// lifts the lock of one account, or --all-dormant of every locked account
// of an organization, until 24:00 today in the organization's time zone,
// without moving the last sign-in, audited; bad input is refused with a
// clear message and changes nothing.
func TestUserUnlock(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "hotel", "--name", "Hotel", "--time-zone", "Asia/Tokyo")
		e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop", "--time-zone", "UTC")
		for _, n := range []string{"m1", "m2", "m3"} {
			e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "hotel", "--username", n, "--password-stdin")
		}
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--username", "s1", "--password-stdin")
		get := func(org, name string) storage.User {
			t.Helper()
			o := mustOrg(t, e, org)
			u, err := e.st.GetMemberByUsername(t.Context(), o.ID, name)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}

		for _, tc := range []struct {
			want string
			args []string
		}{
			{"for development only", []string{"user", "backdate-login", "--days", "91", "--organization", "hotel", "--username", "m1"}},
			{"--days must be 1 to", []string{"user", "backdate-login", "--dev", "--days", "0", "--organization", "hotel", "--username", "m1"}},
			{"no account with the account name", []string{"user", "backdate-login", "--dev", "--days", "91", "--organization", "hotel", "--username", "zz"}},
			{"--status must be one of", []string{"user", "list", "--status", "frozen"}},
			{"--all-dormant needs --organization", []string{"user", "unlock", "--all-dormant"}},
			{"--all-dormant names no account", []string{"user", "unlock", "--all-dormant", "--organization", "hotel", "--username", "m1"}},
			{"name one account", []string{"user", "unlock"}},
			{"no organization with the code", []string{"user", "unlock", "--all-dormant", "--organization", "nope"}},
			{"no account with the account name", []string{"user", "unlock", "--organization", "hotel", "--username", "zz"}},
		} {
			e.refused(t, tc.want, "", tc.args...)
		}
		if u := get("hotel", "m1"); u.LastLoginAt != nil {
			t.Fatalf("a refused command changed m1: %v", u.LastLoginAt)
		}

		for _, n := range []string{"m1", "m2", "m3"} {
			out := e.mustRun(t, "", "user", "backdate-login", "--dev", "--days", "91", "--organization", "hotel", "--username", n)
			if !strings.Contains(out, "locked now: yes") {
				t.Errorf("backdate-login %s: %s", n, out)
			}
		}
		e.mustRun(t, "", "user", "backdate-login", "--dev", "--days", "91", "--organization", "shop", "--username", "s1")
		if p := e.listJSON(t, "--organization", "hotel", "--status", "locked"); usernames(p) != "m1,m2,m3" || p.Members[0]["status"] != "locked" {
			t.Errorf("locked members: %s", usernames(p))
		}
		if out := e.mustRun(t, "", "user", "show", "--organization", "hotel", "--username", "m1"); !regexp.MustCompile(`(?m)^status\s+locked$`).MatchString(out) {
			t.Errorf("show: %s", out)
		}

		// One account.
		before := get("hotel", "m1")
		out := e.mustRun(t, "", "user", "unlock", "--organization", "hotel", "--username", "m1")
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		midnight := lifecycle.EndOfDay(time.Now(), tokyo)
		if !strings.Contains(out, "unlocked user "+before.ID+" until "+midnight.Format(time.RFC3339)) {
			t.Errorf("unlock m1: %s (want until %s)", out, midnight.Format(time.RFC3339))
		}
		after := get("hotel", "m1")
		if after.UnlockedUntil == nil || !after.UnlockedUntil.Equal(midnight) || after.LastLoginAt == nil || !after.LastLoginAt.Equal(*before.LastLoginAt) {
			t.Errorf("m1 after the unlock: until %v, last sign-in %v (was %v)", after.UnlockedUntil, after.LastLoginAt, before.LastLoginAt)
		}
		if out := e.mustRun(t, "", "user", "unlock", "--organization", "hotel", "--username", "m1"); !strings.Contains(out, "is not locked: nothing changed") {
			t.Errorf("unlock of an unlocked account: %s", out)
		}
		if p := e.listJSON(t, "--organization", "hotel", "--status", "locked"); usernames(p) != "m2,m3" {
			t.Errorf("locked after one unlock: %s", usernames(p))
		}

		// Every locked account of the hotel; the shop's stays locked.
		if out := e.mustRun(t, "", "user", "unlock", "--organization", "hotel", "--all-dormant"); !strings.Contains(out, "unlocked 2 account(s) of organization hotel") {
			t.Errorf("unlock --all-dormant: %s", out)
		}
		if p := e.listJSON(t, "--status", "locked"); usernames(p) != "s1" {
			t.Errorf("locked after --all-dormant: %s", usernames(p))
		}
		events, err := e.st.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "account_unlocked"})
		if err != nil || len(events) != 3 {
			t.Errorf("account_unlocked events: %d, %v", len(events), err)
		}
	})
}
