package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testAuditEvents(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	var all []storage.AuditEvent // oldest first
	for i, e := range []struct{ typ, user, org, actor string }{
		{"login", "u1", "o1", ""}, {"login_failed", "u1", "o1", ""}, {"login", "u2", "o2", ""},
		{"logout", "u1", "o1", ""}, {"member_role_changed", "u1", "o1", "admin-1"},
	} {
		ev := storage.AuditEvent{
			ID:             fmt.Sprintf("e%d", i),
			Time:           t0.Add(time.Duration(i) * time.Minute),
			Type:           e.typ,
			OrganizationID: e.org,
			ActorID:        e.actor,
			UserID:         e.user,
			ClientID:       "client-1",
			IP:             "2001:db8::1",
			Outcome:        "success",
			Detail:         "detail",
		}
		must(t, s.AddAuditEvent(ctx, ev))
		all = append(all, ev)
	}
	wantErr(t, "AddAuditEvent(duplicate id)", s.AddAuditEvent(ctx, all[0]), storage.ErrAlreadyExists)
	at := func(i ...int) []storage.AuditEvent {
		var out []storage.AuditEvent
		for _, j := range i {
			out = append(out, all[j])
		}
		return out
	}

	tests := []struct {
		name   string
		filter storage.AuditFilter
		want   []storage.AuditEvent
	}{
		{"all, newest first", storage.AuditFilter{}, at(4, 3, 2, 1, 0)},
		{"by user", storage.AuditFilter{UserID: "u1"}, at(4, 3, 1, 0)},
		{"by type", storage.AuditFilter{Type: "login"}, at(2, 0)},
		{"by user and type", storage.AuditFilter{UserID: "u1", Type: "login"}, at(0)},
		{"limit", storage.AuditFilter{Limit: 2}, at(4, 3)},
		{"page", storage.AuditFilter{Limit: 2, Offset: 2}, at(2, 1)},
		{"by organization", storage.AuditFilter{OrganizationID: "o1"}, at(4, 3, 1, 0)},
		{"by organization and since", storage.AuditFilter{OrganizationID: "o1", Since: t0.Add(90 * time.Second)}, at(4, 3)},
		{"no match", storage.AuditFilter{UserID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAuditEvents(ctx, tt.filter)
			must(t, err)
			diff(t, "ListAuditEvents", tt.want, got)
		})
	}

	t.Run("generated id and default limit", func(t *testing.T) {
		for i := range 100 {
			must(t, s.AddAuditEvent(ctx, storage.AuditEvent{Time: t0.Add(time.Hour + time.Duration(i)*time.Second), Type: "bulk", Outcome: "success"}))
		}
		got, err := s.ListAuditEvents(ctx, storage.AuditFilter{})
		must(t, err)
		if len(got) != 100 {
			t.Fatalf("ListAuditEvents returned %d events, want the default limit 100", len(got))
		}
		seen := map[string]bool{}
		for _, e := range got {
			if e.ID == "" || seen[e.ID] || e.Type != "bulk" {
				t.Fatalf("event %+v: want a new unique ID and type bulk", e)
			}
			seen[e.ID] = true
		}
	})
}

// testDeleteExpired builds one row of each kind on each side of now and
// checks which survive.
func testDeleteExpired(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(24 * time.Hour)
	past, future := now.Add(-time.Second), now.Add(time.Second)

	// Auth requests: kept while either the request or its code lives.
	for _, a := range []struct {
		id              string
		expires, codeEx time.Time
		used            bool
	}{
		{"ar-gone", past, past, false},
		{"ar-no-code", past, time.Time{}, false}, // never got a code
		{"ar-code-alive", past, future, true},    // consumed: kept for replay detection
		{"ar-alive", future, time.Time{}, false},
	} {
		r := newAuthRequest(a.id)
		r.CreatedAt, r.ExpiresAt, r.CodeExpiresAt = t0, a.expires, a.codeEx
		if a.used {
			r.CodeHash, r.CodeUsedAt = "code-"+a.id, &t0
		}
		must(t, s.CreateAuthRequest(ctx, r))
	}
	// Access tokens.
	for _, a := range []struct {
		id      string
		expires time.Time
	}{{"at-gone", past}, {"at-alive", future}} {
		at := newAccessToken(a.id)
		at.ExpiresAt = a.expires
		must(t, s.CreateAccessToken(ctx, at))
	}
	// Refresh tokens: a used or revoked link stays until it expires.
	for _, r := range []struct {
		id              string
		expires, family time.Time
		used, revoked   bool
	}{
		{"rt-idle-gone", past, future, false, false},
		{"rt-family-gone", future, past, false, false},
		{"rt-used-alive", future, future, true, false},
		{"rt-revoked-alive", future, future, false, true},
	} {
		rt := newRefreshToken(r.id, "f-"+r.id)
		rt.ExpiresAt, rt.FamilyExpiresAt = r.expires, r.family
		if r.used {
			rt.UsedAt = &t0
		}
		if r.revoked {
			rt.RevokedAt = &t0
		}
		at := newAccessToken("at-for-" + r.id)
		at.ExpiresAt = future
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))
	}
	// Sessions: gone once ended; an expired one stays until EndSessions
	// has ended (and announced) it.
	for _, x := range []struct {
		id             string
		idle, absolute time.Time
		ended          *time.Time
	}{
		{"s-ended", future, future, &past},
		{"s-idle", past, future, nil},
		{"s-absolute", future, past, nil},
		{"s-ended-later", future, future, &future},
		{"s-alive", future, future, nil},
	} {
		sess := newSession(x.id, "u1")
		sess.IdleExpiresAt, sess.AbsoluteExpiresAt, sess.EndedAt = x.idle, x.absolute, x.ended
		must(t, s.CreateSession(ctx, sess))
	}
	// Counters: gone 24h after their last attempt.
	for key, at := range map[string]time.Time{"c-gone": now.Add(-25 * time.Hour), "c-alive": now.Add(-23 * time.Hour)} {
		if ok, err := s.TakeAttempt(ctx, at, storage.Limit{Key: key, Free: 5, Window: time.Hour}); !ok || err != nil {
			t.Fatalf("TakeAttempt(%s) = %v, %v", key, ok, err)
		}
	}
	// Signing keys: gone once retired.
	for i, retires := range []*time.Time{&past, &future, nil} {
		k := newSigningKey([]string{"k-retired", "k-retiring", "k-current"}[i], t0.Add(time.Duration(i)*time.Second))
		k.RetiresAt = retires
		must(t, s.RotateSigningKey(ctx, k, now)) // every earlier key is retired already
	}

	n, err := s.DeleteExpired(ctx, now)
	must(t, err)
	const wantDeleted = 2 + 1 + 2 + 1 + 1 + 1
	if n != wantDeleted {
		t.Errorf("DeleteExpired = %d, want %d", n, wantDeleted)
	}

	type check struct {
		name string
		gone bool
		get  func() error
	}
	var checks []check
	for _, id := range []string{"ar-gone", "ar-no-code", "ar-code-alive", "ar-alive"} {
		checks = append(checks, check{id, id == "ar-gone" || id == "ar-no-code", func() error { _, err := s.GetAuthRequest(ctx, id); return err }})
	}
	for _, id := range []string{"at-gone", "at-alive"} {
		checks = append(checks, check{id, id == "at-gone", func() error { _, err := s.GetAccessToken(ctx, id); return err }})
	}
	for _, id := range []string{"rt-idle-gone", "rt-family-gone", "rt-used-alive", "rt-revoked-alive"} {
		checks = append(checks, check{id, id == "rt-idle-gone" || id == "rt-family-gone", func() error { _, err := s.GetRefreshToken(ctx, "hash-"+id); return err }})
	}
	for _, id := range []string{"s-ended", "s-idle", "s-absolute", "s-ended-later", "s-alive"} {
		checks = append(checks, check{id, id == "s-ended", func() error { _, err := s.GetSession(ctx, id); return err }})
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var want error
			if c.gone {
				want = storage.ErrNotFound
			}
			wantErr(t, c.name, c.get(), want)
		})
	}

	counters, err := s.GetCounters(ctx, []string{"c-gone", "c-alive"})
	must(t, err)
	if _, ok := counters["c-gone"]; ok || len(counters) != 1 {
		t.Errorf("counters after DeleteExpired = %v, want only c-alive", counters)
	}
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	diff(t, "signing keys after DeleteExpired", []string{"k-retiring", "k-current"}, ids)

	n, err = s.DeleteExpired(ctx, now)
	must(t, err)
	if n != 0 {
		t.Errorf("second DeleteExpired = %d, want 0", n)
	}
}

// testTimeComparison checks that queries compare instants, whatever the
// fractional seconds and the time zone of the parameters.
func testTimeComparison(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := time.Date(2025, 4, 1, 10, 0, 0, 500000000, time.UTC)
	tests := []struct {
		id      string
		expires time.Time
		gone    bool
	}{
		{"earlier-second", time.Date(2025, 4, 1, 9, 59, 59, 900000000, time.UTC), true},
		{"whole-second", time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC), true},
		{"micro-before", now.Add(-time.Microsecond), true},
		{"equal", now, false},
		{"micro-after", now.Add(time.Microsecond), false},
		{"next-whole-second", time.Date(2025, 4, 1, 10, 0, 1, 0, time.UTC), false},
		{"other-zone-before", now.Add(-time.Millisecond).In(time.FixedZone("UTC-10", -10*60*60)), true},
		{"other-zone-after", now.Add(time.Millisecond).In(time.FixedZone("UTC+14", 14*60*60)), false},
	}
	for _, tt := range tests {
		at := newAccessToken(tt.id)
		at.ExpiresAt = tt.expires
		must(t, s.CreateAccessToken(ctx, at))
	}
	tokyo := time.FixedZone("JST", 9*60*60)
	n, err := s.DeleteExpired(ctx, now.In(tokyo))
	must(t, err)
	if n != 4 {
		t.Errorf("DeleteExpired = %d, want 4", n)
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var want error
			if tt.gone {
				want = storage.ErrNotFound
			}
			_, err := s.GetAccessToken(ctx, tt.id)
			wantErr(t, "GetAccessToken", err, want)
		})
	}
}
