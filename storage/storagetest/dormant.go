package storagetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// dormantFixture adds, to organization o1, accounts of every kind the
// dormant rule (90 days) tells apart at now = t0 + 100 days: the ids name
// what they are.
func dormantFixture(t *testing.T, s storage.Storage) (now, idle time.Time) {
	t.Helper()
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	now = t0.Add(100 * 24 * time.Hour)
	idle = now.Add(-90 * 24 * time.Hour)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	for _, u := range []storage.User{
		{ID: "never", Role: "staff"},                                            // created at t0, no sign-in: locked
		{ID: "recent", LastLoginAt: at(95 * 24 * time.Hour), Role: "admin"},     // signed in 5 days ago
		{ID: "old", LastLoginAt: at(9 * 24 * time.Hour), Role: "staff"},         // 91 days ago: locked
		{ID: "edge", LastLoginAt: at(10 * 24 * time.Hour), Role: "owner"},       // exactly 90 days ago: locked
		{ID: "young", CreatedAt: t0.Add(20 * 24 * time.Hour), Role: "staff"},    // created 80 days ago
		{ID: "unlocked", UnlockedUntil: at(100*24*time.Hour + time.Hour)},       // an administrator's unlock runs
		{ID: "unlock-over", UnlockedUntil: at(100 * 24 * time.Hour)},            // … ended just now: locked
		{ID: "disabled", Disabled: true},                                        // refused as disabled
		{ID: "invited", InvitedAt: &t0, PasswordHash: "", EmailVerified: false}, // cannot sign in yet
	} {
		m := newMember(u.ID, "o1", u.ID+"@hotel.example", "", u.Role)
		m.LastLoginAt, m.UnlockedUntil, m.Disabled, m.InvitedAt = u.LastLoginAt, u.UnlockedUntil, u.Disabled, u.InvitedAt
		if !u.CreatedAt.IsZero() {
			m.CreatedAt = u.CreatedAt
		}
		must(t, s.AddMember(ctx, storage.NewMember{User: m}))
	}
	return now, idle
}

func ids(ms []storage.Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// testDormantList: the members list shows locked accounts as locked and
// filters on it; with the lock off nobody is locked.
func testDormantList(t *testing.T, s storage.Storage) {
	now, idle := dormantFixture(t, s)
	for _, tt := range []struct {
		name string
		f    storage.MemberFilter
		want string
	}{
		{"locked", storage.MemberFilter{Status: storage.StatusLocked, IdleBefore: idle}, "edge,never,old,unlock-over"},
		{"active", storage.MemberFilter{Status: storage.StatusActive, IdleBefore: idle}, "recent,unlocked,young"},
		{"active, lock off", storage.MemberFilter{Status: storage.StatusActive}, "edge,never,old,recent,unlock-over,unlocked,young"},
		{"locked, lock off", storage.MemberFilter{Status: storage.StatusLocked}, ""},
		{"roles", storage.MemberFilter{Roles: []string{"owner", "admin"}}, "edge,recent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.OrganizationID, tt.f.Now = "o1", now
			p, err := s.ListMembers(t.Context(), tt.f)
			must(t, err)
			diff(t, "members", tt.want, ids(p.Members))
			diff(t, "total", len(p.Members), p.Total)
		})
	}
	p, err := s.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: "o1", Now: now, IdleBefore: idle, Limit: 100})
	must(t, err)
	status := map[string]string{}
	for _, m := range p.Members {
		status[m.ID] = m.Status
	}
	diff(t, "statuses", map[string]string{"never": "locked", "recent": "active", "old": "locked", "edge": "locked",
		"young": "active", "unlocked": "active", "unlock-over": "locked", "disabled": "disabled", "invited": "invitation_expired"}, status)
}

// testMarkDormant: the sweep marks each locked account once (two sweeps
// at once included), revokes its tokens and writes its deliveries and
// event in the same transaction, and clears the mark of an account that
// signed in since.
func testMarkDormant(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now, idle := dormantFixture(t, s)
	signedIn(t, s, "s-old", "old", "app-a")
	signedIn(t, s, "s-recent", "recent", "app-a")
	sweep := storage.DormantSweep{IdleBefore: idle, Now: now, Limit: 2,
		End:   &storage.SessionEnd{Reason: storage.EndDormant, Backchannel: backchannel},
		Audit: storage.AuditEvent{Type: "account_dormant", Outcome: "success"}}

	// Two replicas sweep at once, in batches of two: every locked account
	// is marked exactly once.
	var mu sync.Mutex
	var marked []string
	var deliveries []string
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				res, err := s.MarkDormant(ctx, sweep)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, u := range res.Marked {
					marked = append(marked, u.ID)
					if u.DormantAt == nil || !u.DormantAt.Equal(now) {
						t.Errorf("%s marked with DormantAt %v", u.ID, u.DormantAt)
					}
				}
				deliveries = append(deliveries, res.Ended.Deliveries...)
				mu.Unlock()
				if len(res.Marked) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(marked)
	diff(t, "marked", []string{"edge", "never", "old", "unlock-over"}, marked)
	diff(t, "deliveries", []string{"app-a:s-old:old:https://a.example/bcl:dormant"}, deliveriesOf(t, s, deliveries))
	checkSessionEnded(t, s, "s-old", &now)
	checkAccessRevoked(t, s, "at-s-old-app-a", &now)
	checkRefreshRevoked(t, s, "hash-rt-s-old-app-a", &now)
	checkSessionEnded(t, s, "s-recent", nil)
	checkRefreshRevoked(t, s, "hash-rt-s-recent-app-a", nil)
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: "o1", Type: "account_dormant", Limit: 100})
	must(t, err)
	var about []string
	for _, e := range events {
		about = append(about, e.UserID)
	}
	slices.Sort(about)
	diff(t, "account_dormant events", []string{"edge", "never", "old", "unlock-over"}, about)

	// A sign-in (an interactive one moves last_login_at) ends the lock:
	// the next sweep clears the mark and marks nobody.
	later := now.Add(30 * time.Minute) // "unlocked" still within its unlock
	_, err = s.UpdateUser(ctx, "old", func(u storage.User) (storage.User, error) {
		u.LastLoginAt = &later
		return u, nil
	})
	must(t, err)
	sweep.Now, sweep.IdleBefore = later, later.Add(-90*24*time.Hour)
	res, err := s.MarkDormant(ctx, sweep)
	must(t, err)
	diff(t, "cleared", 1, res.Cleared)
	diff(t, "marked again", 0, len(res.Marked))
	u, err := s.GetUser(ctx, "old")
	must(t, err)
	if u.DormantAt != nil {
		t.Errorf("DormantAt after a sign-in = %v, want nil", u.DormantAt)
	}
	u, err = s.GetUser(ctx, "never")
	must(t, err)
	diff(t, "DormantAt of a locked account", &now, u.DormantAt)
}

// testAlertRecipients: the organization's alert recipients are exactly
// the members last chosen; an id of another organization changes nothing.
func testAlertRecipients(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	for _, m := range []storage.User{newMember("a", "o1", "a@x.example", "", "owner"), newMember("b", "o1", "b@x.example", "", "admin"),
		newMember("c", "o1", "c@x.example", "", "staff"), newMember("z", "o2", "z@x.example", "", "owner")} {
		must(t, s.AddMember(ctx, storage.NewMember{User: m}))
	}
	recipients := func() string {
		t.Helper()
		p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", DormantAlerts: true, Now: t0})
		must(t, err)
		return ids(p.Members)
	}
	ev := []storage.AuditEvent{{ID: "e1", Time: t0, Type: "organization_updated", OrganizationID: "o1", Outcome: "success"}}
	must(t, s.SetAlertRecipients(ctx, "o1", []string{"a", "b"}, ev))
	diff(t, "recipients", "a,b", recipients())
	must(t, s.SetAlertRecipients(ctx, "o1", []string{"b", "b"}, nil))
	diff(t, "recipients", "b", recipients())
	if err := s.SetAlertRecipients(ctx, "o1", []string{"a", "z"}, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another organization's member: %v, want ErrNotFound", err)
	}
	diff(t, "recipients after a refusal", "b", recipients())
	must(t, s.SetAlertRecipients(ctx, "o1", nil, nil))
	diff(t, "recipients", "", recipients())
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: "o1", Limit: 10})
	must(t, err)
	diff(t, "events", 1, len(events))
}

// testUnlockMembers: an administrator's unlock lifts the lock of the
// selected (or all) locked members of the organization the rank rule
// lets them act on, in one transaction: unlocked_until set, the mark
// cleared, the last sign-in unmoved, one event each; a selection with a
// member above the actor, of another organization or unknown changes
// nothing; a member who may not manage members unlocks nobody; the lock
// returns when the unlock ends.
func testUnlockMembers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now, idle := dormantFixture(t, s)
	newOrg(t, s, "o2", "india")
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("stranger", "o2", "s@india.example", "", "staff")}))
	_, err := s.MarkDormant(ctx, storage.DormantSweep{IdleBefore: idle, Now: now, Audit: storage.AuditEvent{Type: "account_dormant"}})
	must(t, err)
	until := now.Add(14 * time.Hour)
	unlock := func(actor string, all bool, ids ...string) ([]storage.User, error) {
		return s.UnlockMembers(ctx, storage.MemberUnlock{OrganizationID: "o1", UserIDs: ids, All: all, IdleBefore: idle, Now: now,
			Until: until, Guard: guard(actor), Audit: storage.AuditEvent{Type: "account_unlocked", ActorID: actor, Outcome: "success"}})
	}
	locked := func() string {
		t.Helper()
		p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Status: storage.StatusLocked, IdleBefore: idle, Now: now})
		must(t, err)
		return ids(p.Members)
	}
	userIDs := func(us []storage.User) string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}

	for _, tt := range []struct {
		name  string
		actor string
		ids   []string
		want  error
	}{
		{"a member above the actor", "recent", []string{"old", "edge"}, storage.ErrForbidden},
		{"another organization's member", "recent", []string{"old", "stranger"}, storage.ErrNotFound},
		{"an unknown id", "recent", []string{"old", "nobody"}, storage.ErrNotFound},
		{"a member who may not manage members", "young", []string{"old"}, storage.ErrForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unlock(tt.actor, false, tt.ids...)
			if !errors.Is(err, tt.want) || len(got) != 0 {
				t.Fatalf("UnlockMembers = %v, %v; want %v", got, err, tt.want)
			}
			diff(t, "locked", "edge,never,old,unlock-over", locked())
		})
	}

	// Three selected: the two locked ones are unlocked, the active one is left.
	got, err := unlock("recent", false, "never", "old", "recent", "old")
	must(t, err)
	diff(t, "unlocked", "never,old", userIDs(got))
	diff(t, "locked", "edge,unlock-over", locked())
	old, err := s.GetUser(ctx, "old")
	must(t, err)
	if old.DormantAt != nil || old.UnlockedUntil == nil || !old.UnlockedUntil.Equal(until) ||
		old.LastLoginAt == nil || !old.LastLoginAt.Equal(t0.Add(9*24*time.Hour)) {
		t.Errorf("old after the unlock: dormant_at %v, unlocked_until %v, last_login_at %v", old.DormantAt, old.UnlockedUntil, old.LastLoginAt)
	}
	recent, err := s.GetUser(ctx, "recent")
	must(t, err)
	if recent.UnlockedUntil != nil {
		t.Errorf("an active member got unlocked_until %v", recent.UnlockedUntil)
	}

	// All: the locked members the administrator may act on (not the owner).
	got, err = unlock("recent", true)
	must(t, err)
	diff(t, "unlocked by all", "unlock-over", userIDs(got))
	diff(t, "locked", "edge", locked())
	got, err = s.UnlockMembers(ctx, storage.MemberUnlock{OrganizationID: "o1", All: true, IdleBefore: idle, Now: now, Until: until,
		Guard: &storage.MemberGuard{Operator: true, Rank: testRank, TopRole: "owner"}, Audit: storage.AuditEvent{Type: "account_unlocked"}})
	must(t, err)
	diff(t, "unlocked by the operator", "edge", userIDs(got))
	diff(t, "locked", "", locked())

	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: "o1", Type: "account_unlocked", Limit: 100})
	must(t, err)
	byActor := map[string]int{}
	for _, e := range events {
		byActor[e.UserID+" by "+e.ActorID]++
	}
	diff(t, "events", map[string]int{"never by recent": 1, "old by recent": 1, "unlock-over by recent": 1, "edge by ": 1}, byActor)

	// The unlock ends at until: locked again then, with no sign-in.
	p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Status: storage.StatusLocked, IdleBefore: until.Add(-90 * 24 * time.Hour), Now: until})
	must(t, err)
	diff(t, "locked at the end of the unlock", "edge,never,old,unlock-over,unlocked", ids(p.Members))
}
