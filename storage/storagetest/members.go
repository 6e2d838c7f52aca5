package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// Roles of the member tests, highest first.
var testRoles = []struct {
	name   string
	manage bool
}{{"owner", true}, {"admin", true}, {"staff", false}}

func testRank(role string) (int, bool, bool) {
	for i, r := range testRoles {
		if r.name == role {
			return i, r.manage, true
		}
	}
	return 0, false, false
}

func guard(actor string) *storage.MemberGuard {
	return &storage.MemberGuard{ActorID: actor, Rank: testRank, TopRole: "owner"}
}

func newOrg(t *testing.T, s storage.Storage, id, code string) storage.Organization {
	t.Helper()
	o := storage.Organization{ID: id, Code: code, Name: "Org " + code, TimeZone: "Asia/Tokyo", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateOrganization(t.Context(), o))
	return o
}

func newMember(id, orgID, email, username, role string) storage.User {
	u := newUser(id, email)
	u.OrganizationID, u.Username, u.Role = orgID, username, role
	return u
}

func testOrganizations(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	def, err := s.GetOrganization(ctx, storage.DefaultOrganizationID)
	must(t, err)
	if def.Code != "default" {
		t.Errorf("default organization code %q", def.Code)
	}
	hotel := newOrg(t, s, "o1", "H-1234")
	for _, code := range []string{"h-1234", "Ｈ－１２３４", " H-1234 "} {
		wantErr(t, "CreateOrganization("+code+")", s.CreateOrganization(ctx, storage.Organization{ID: "o-" + code, Code: code,
			TimeZone: "UTC", CreatedAt: t0, UpdatedAt: t0}), storage.ErrAlreadyExists)
		got, err := s.GetOrganizationByCode(ctx, code)
		must(t, err)
		diff(t, "GetOrganizationByCode("+code+")", hotel, got)
	}
	_, err = s.GetOrganizationByCode(ctx, "nope")
	wantErr(t, "GetOrganizationByCode(nope)", err, storage.ErrNotFound)
	shop := newOrg(t, s, "o2", "shop")
	all, err := s.ListOrganizations(ctx)
	must(t, err)
	diff(t, "ListOrganizations", []storage.Organization{def, hotel, shop}, all)
	event := storage.AuditEvent{ID: "ev-org-1", Time: t0.Add(time.Hour), Type: "organization_updated", OrganizationID: "o1",
		ActorID: "someone", Outcome: "success", Detail: "name"}
	got, err := s.UpdateOrganization(ctx, "o1", func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.Name, o.TimeZone, o.MaxMembers, o.UpdatedAt = "Hotel", "UTC", 10, t0.Add(time.Hour)
		return o, []storage.AuditEvent{event}, nil
	})
	must(t, err)
	if got.Name != "Hotel" || got.TimeZone != "UTC" || got.MaxMembers != 10 || got.Code != "H-1234" {
		t.Errorf("UpdateOrganization = %+v", got)
	}
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: "o1"})
	must(t, err)
	if len(events) != 1 || events[0].ID != event.ID || events[0].Detail != "name" {
		t.Errorf("the change's audit events = %+v, want the one fn returned", events)
	}
	// An event that cannot be written undoes the change (the same id
	// again), and a refusing fn changes nothing and records nothing.
	_, err = s.UpdateOrganization(ctx, "o1", func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.Name = "Half written"
		return o, []storage.AuditEvent{event}, nil
	})
	if err == nil {
		t.Error("UpdateOrganization with an event that cannot be stored succeeded")
	}
	refused := errors.New("refused")
	_, err = s.UpdateOrganization(ctx, "o1", func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.Name = "Refused"
		return o, []storage.AuditEvent{{ID: "ev-org-2", Time: t0, Type: "organization_updated", OrganizationID: "o1"}}, refused
	})
	wantErr(t, "UpdateOrganization (fn refuses)", err, refused)
	after, err := s.GetOrganization(ctx, "o1")
	must(t, err)
	if after.Name != "Hotel" {
		t.Errorf("organization name %q after failed updates, want Hotel", after.Name)
	}
	events, err = s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: "o1"})
	must(t, err)
	if len(events) != 1 {
		t.Errorf("audit events after failed updates = %+v, want only the first", events)
	}
	wantErr(t, "UpdateOrganization(unknown)", func() error {
		_, err := s.UpdateOrganization(ctx, "nope", func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
			return o, nil, nil
		})
		return err
	}(), storage.ErrNotFound)
}

// testMemberScoping: every member look-up is scoped by organization, and
// addresses are unique per organization, or per deployment in the email
// scope.
func testMemberScoping(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	must(t, s.SetEmailScope(ctx, false))
	a1 := newMember("a1", "o1", "Alice@Example.com", "front01", "owner")
	a2 := newMember("a2", "o2", "alice@example.com", "front01", "owner")
	a1.Email, a2.Email = "Alice@example.com", "alice@example.com" // canonical forms
	must(t, s.AddMember(ctx, storage.NewMember{User: a1}))
	must(t, s.AddMember(ctx, storage.NewMember{User: a2}))
	for _, tc := range []struct {
		name string
		user storage.User
	}{
		{"same address in one organization", newMember("x1", "o1", "ALICE@example.com", "", "")},
		{"same account name in one organization", newMember("x2", "o1", "", "FRONT01", "")},
	} {
		wantErr(t, "AddMember("+tc.name+")", s.AddMember(ctx, storage.NewMember{User: tc.user}), storage.ErrAlreadyExists)
	}
	// Two accounts without an address in one organization are fine.
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("n1", "o1", "", "night01", "")}))
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("n2", "o1", "", "night02", "")}))

	for _, tc := range []struct {
		org, email, username, want string
	}{
		{"o1", "alice@example.com", "", "a1"},
		{"o2", "ＡＬＩＣＥ@example.com", "", "a2"},
		{"o1", "", "Front01", "a1"},
		{"o2", "", "ｆｒｏｎｔ０１", "a2"},
	} {
		var got storage.User
		var err error
		if tc.email != "" {
			got, err = s.GetMemberByEmail(ctx, tc.org, tc.email)
		} else {
			got, err = s.GetMemberByUsername(ctx, tc.org, tc.username)
		}
		if err != nil || got.ID != tc.want {
			t.Errorf("look-up %+v in %s: %s, %v; want %s", tc, tc.org, got.ID, err, tc.want)
		}
	}
	_, err := s.GetMember(ctx, "o2", "a1")
	wantErr(t, "GetMember(another organization's member)", err, storage.ErrNotFound)
	_, err = s.GetMemberByEmail(ctx, "o2", "nobody@example.com")
	wantErr(t, "GetMemberByEmail(unknown)", err, storage.ErrNotFound)
	_, err = s.GetMemberByEmail(ctx, "o1", "")
	wantErr(t, "GetMemberByEmail(empty)", err, storage.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "alice@example.com")
	wantErr(t, "GetUserByEmail in the organization scope", err, storage.ErrNotFound)
	_, _, err = s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o2", UserID: "a1", Now: t0,
		Update: func(u storage.User) (storage.User, error) { u.Name = "taken over"; return u, nil }})
	wantErr(t, "ChangeMember(another organization's member)", err, storage.ErrNotFound)
	if u, _ := s.GetUser(ctx, "a1"); u.Name == "taken over" {
		t.Error("a change through another organization applied")
	}

	// The deployment-wide scope refuses to start with the clash, naming
	// the organizations, and changes nothing.
	err = s.SetEmailScope(ctx, true)
	if !errors.Is(err, storage.ErrConflict) || !strings.Contains(err.Error(), "hotel") || !strings.Contains(err.Error(), "shop") ||
		strings.Contains(err.Error(), "alice@example.com") {
		t.Errorf("SetEmailScope(global) with a clash: %v", err)
	}
	must(t, s.SetEmailScope(ctx, false))
	_, _, err = s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o2", UserID: "a2", Now: t0,
		Update: func(u storage.User) (storage.User, error) { u.Email = "bob@example.com"; return u, nil }})
	must(t, err)
	must(t, s.SetEmailScope(ctx, true))
	got, err := s.GetUserByEmail(ctx, "BOB@example.com")
	if err != nil || got.ID != "a2" {
		t.Errorf("GetUserByEmail in the deployment scope: %s, %v", got.ID, err)
	}
	wantErr(t, "AddMember(an address of another organization, deployment scope)",
		s.AddMember(ctx, storage.NewMember{User: newMember("x3", "o1", "bob@example.com", "", "")}), storage.ErrAlreadyExists)
	_, err = s.ChangeEmail(ctx, storage.EmailChange{UserID: "a1", Email: "Bob@example.com", Now: t0})
	wantErr(t, "ChangeEmail(an address of another organization, deployment scope)", err, storage.ErrAlreadyExists)
}

// testMemberList: the console's list, with its states, search and pages.
func testMemberList(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	now := t0.Add(time.Hour)
	add := func(u storage.User, code *storage.OneTimeCode) {
		t.Helper()
		must(t, s.AddMember(ctx, storage.NewMember{User: u, Code: code}))
	}
	reg := newMember("m1", "o1", "reg@example.com", "reg", "staff")
	unverified := newMember("m2", "o1", "unverified@example.com", "unv", "staff")
	unverified.EmailVerified = false
	noMail := newMember("m3", "o1", "", "nomail", "staff")
	changing := newMember("m4", "o1", "changing@example.com", "chg", "staff")
	invited := newMember("m5", "o1", "invited@example.com", "inv", "staff")
	invited.InvitedAt, invited.EmailVerified = new(t0), false
	expired := newMember("m6", "o1", "expired@example.com", "exp", "staff")
	expired.InvitedAt, expired.EmailVerified = new(t0), false
	disabled := newMember("m7", "o1", "disabled@example.com", "dis", "staff")
	disabled.Disabled = true
	for i, u := range []storage.User{reg, unverified, noMail, changing, invited, expired, disabled} {
		u.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		var code *storage.OneTimeCode
		switch u.ID {
		case "m4":
			code = &storage.OneTimeCode{ID: "c4", Purpose: storage.PurposeVerifyEmail, UserID: "m4", Email: "new@example.com",
				TicketHash: "t4", CodeHash: "-", CreatedAt: t0, SentAt: t0, ExpiresAt: now.Add(time.Minute)}
		case "m5":
			code = &storage.OneTimeCode{ID: "c5", Purpose: storage.PurposeInvite, UserID: "m5", TicketHash: "t5", CodeHash: "-",
				CreatedAt: t0, SentAt: t0, ExpiresAt: now.Add(time.Hour)}
		case "m6":
			code = &storage.OneTimeCode{ID: "c6", Purpose: storage.PurposeInvite, UserID: "m6", TicketHash: "t6", CodeHash: "-",
				CreatedAt: t0, SentAt: t0, ExpiresAt: now.Add(-time.Minute)}
		}
		add(u, code)
	}
	add(newMember("other", "o2", "reg2@example.com", "reg", "staff"), nil)

	ids := func(p storage.MemberPage) string {
		var out []string
		for _, m := range p.Members {
			out = append(out, m.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name  string
		f     storage.MemberFilter
		want  string
		total int
	}{
		{"all", storage.MemberFilter{}, "m1,m2,m3,m4,m5,m6,m7", 7},
		{"registered", storage.MemberFilter{EmailState: storage.EmailRegistered}, "m1,m7", 2},
		{"not registered", storage.MemberFilter{EmailState: storage.EmailNotRegistered}, "m2,m3,m4,m5,m6", 5},
		{"invited", storage.MemberFilter{Status: storage.StatusInvited}, "m5", 1},
		{"invitation expired", storage.MemberFilter{Status: storage.StatusInviteExpired}, "m6", 1},
		{"disabled", storage.MemberFilter{Status: storage.StatusDisabled}, "m7", 1},
		{"active", storage.MemberFilter{Status: storage.StatusActive}, "m1,m2,m3,m4", 4},
		{"search email", storage.MemberFilter{Search: "CHANGING@"}, "m4", 1},
		{"search account name", storage.MemberFilter{Search: "nomail"}, "m3", 1},
		{"search name", storage.MemberFilter{Search: "user m7"}, "m7", 1},
		{"search wildcard is literal", storage.MemberFilter{Search: "%"}, "", 0},
		{"page", storage.MemberFilter{Limit: 3, Offset: 3}, "m4,m5,m6", 7},
		{"one member", storage.MemberFilter{UserID: "m5"}, "m5", 1},
		{"another organization's member", storage.MemberFilter{UserID: "other"}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.OrganizationID, tc.f.Now = "o1", now
			p, err := s.ListMembers(ctx, tc.f)
			must(t, err)
			if ids(p) != tc.want || p.Total != tc.total {
				t.Errorf("ListMembers = %s (total %d), want %s (total %d)", ids(p), p.Total, tc.want, tc.total)
			}
		})
	}
	p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Now: now, Search: "chg"})
	must(t, err)
	if len(p.Members) != 1 || p.Members[0].PendingEmail != "new@example.com" || p.Members[0].EmailState != storage.EmailNotRegistered ||
		p.Members[0].Status != storage.StatusActive {
		t.Errorf("member with a change waiting: %+v", p.Members)
	}
	// Once the link has expired the member is back where they were.
	p, err = s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Now: now.Add(2 * time.Minute), Search: "chg"})
	must(t, err)
	if len(p.Members) != 1 || p.Members[0].EmailState != storage.EmailRegistered || p.Members[0].PendingEmail != "" {
		t.Errorf("member after the link expired: %+v", p.Members)
	}
	if _, err := s.ListMembers(ctx, storage.MemberFilter{}); err == nil {
		t.Error("ListMembers without an organization succeeded")
	}
}

// testMemberRules: the rank rule, the last-owner rule and the member
// limit, each under concurrent requests.
func testMemberRules(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	for _, u := range []storage.User{
		newMember("owner1", "o1", "o1@example.com", "", "owner"),
		newMember("owner2", "o1", "o2@example.com", "", "owner"),
		newMember("admin1", "o1", "a1@example.com", "", "admin"),
		newMember("staff1", "o1", "s1@example.com", "", "staff"),
		newMember("foreign", "o2", "f@example.com", "", "owner"),
	} {
		must(t, s.AddMember(ctx, storage.NewMember{User: u}))
	}
	platform := newMember("platform", "o2", "p@example.com", "", "")
	platform.PlatformAdmin = true
	must(t, s.AddMember(ctx, storage.NewMember{User: platform}))
	setRole := func(role string) func(storage.User) (storage.User, error) {
		return func(u storage.User) (storage.User, error) { u.Role = role; return u, nil }
	}
	change := func(actor, target string, update func(storage.User) (storage.User, error)) error {
		_, _, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: target, Guard: guard(actor),
			Update: update, Now: t0})
		return err
	}
	for _, tc := range []struct {
		name, actor, target, role string
		want                      error
	}{
		{"an admin may not demote an owner", "admin1", "owner1", "staff", storage.ErrForbidden},
		{"an admin may not grant owner", "admin1", "staff1", "owner", storage.ErrForbidden},
		{"staff may not manage", "staff1", "staff1", "staff", storage.ErrForbidden},
		{"another organization's owner", "foreign", "staff1", "admin", storage.ErrForbidden},
		{"an unknown actor", "nobody", "staff1", "admin", storage.ErrForbidden},
		{"an admin promotes staff to admin", "admin1", "staff1", "admin", nil},
		{"an admin acts on an equal", "admin1", "staff1", "staff", nil},
		{"a platform administrator", "platform", "staff1", "admin", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "ChangeMember", change(tc.actor, tc.target, setRole(tc.role)), tc.want)
		})
	}
	if u, _ := s.GetUser(ctx, "owner1"); u.Role != "owner" {
		t.Errorf("a refused change applied: owner1 is %q", u.Role)
	}

	// Two owners demote each other at once: one of them stays.
	errs := race(2, func(i int) error {
		actor, target := "owner1", "owner2"
		if i == 1 {
			actor, target = target, actor
		}
		return change(actor, target, setRole("admin"))
	})
	oneWinnerAny(t, errs, storage.ErrLastOwner, storage.ErrForbidden)
	owners := 0
	for _, id := range []string{"owner1", "owner2"} {
		if u, _ := s.GetUser(ctx, id); u.Role == "owner" {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners after two owners demoted each other at once, want 1", owners)
	}
	last := "owner1"
	if u, _ := s.GetUser(ctx, "owner1"); u.Role != "owner" {
		last = "owner2"
	}
	for name, c := range map[string]storage.MemberChange{
		"demote":  {Update: setRole("admin")},
		"disable": {Update: func(u storage.User) (storage.User, error) { u.Disabled = true; return u, nil }},
		"delete":  {Delete: true},
	} {
		c.OrganizationID, c.UserID, c.Guard, c.Now = "o1", last, guard(last), t0
		_, _, err := s.ChangeMember(ctx, c)
		wantErr(t, name+" the last owner", err, storage.ErrLastOwner)
	}
	if _, err := s.GetUser(ctx, last); err != nil {
		t.Errorf("the last owner is gone: %v", err)
	}
}

// oneWinnerAny is oneWinner where a loss may be any of losses.
func oneWinnerAny(t *testing.T, errs []error, losses ...error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			continue
		}
		ok := false
		for _, l := range losses {
			ok = ok || errors.Is(err, l)
		}
		if !ok {
			t.Errorf("run %d: error %v, want one of %v", i, err, losses)
		}
	}
	if wins != 1 {
		t.Errorf("%d runs succeeded, want 1", wins)
	}
}

// testMemberLimit: of concurrent additions beyond the limit, exactly
// enough succeed.
func testMemberLimit(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "shop")
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("first", "o1", "first@example.com", "", ""), Limit: 5}))
	errs := race(20, func(i int) error {
		u := newMember(fmt.Sprintf("m%02d", i), "o1", fmt.Sprintf("m%02d@example.com", i), "", "")
		return s.AddMember(ctx, storage.NewMember{User: u, Limit: 5})
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrMemberLimit):
			t.Errorf("add %d: %v", i, err)
		}
	}
	p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Now: t0})
	must(t, err)
	if ok != 4 || p.Total != 5 {
		t.Errorf("%d of 20 concurrent additions succeeded (%d members), want 4 (5 members)", ok, p.Total)
	}
}

// testMemberOperator: the operator (command line) acts without an actor
// and without the rank rule, but never ends the last owner; a deletion
// that ends sessions tells their clients.
func testMemberOperator(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	operator := &storage.MemberGuard{Operator: true, ActorID: "ignored", Rank: testRank, TopRole: "owner"}
	for _, u := range []storage.User{
		newMember("owner1", "o1", "o1@example.com", "", "owner"),
		newMember("staff1", "o1", "s1@example.com", "", "staff"),
	} {
		must(t, s.AddMember(ctx, storage.NewMember{User: u, Guard: operator}))
	}
	setRole := func(role string) func(storage.User) (storage.User, error) {
		return func(u storage.User) (storage.User, error) { u.Role = role; return u, nil }
	}
	change := func(c storage.MemberChange) error {
		c.OrganizationID, c.Guard, c.Now = "o1", operator, t0
		_, _, err := s.ChangeMember(ctx, c)
		return err
	}
	for _, tc := range []struct {
		name string
		c    storage.MemberChange
		want error
	}{
		{"demote the last owner", storage.MemberChange{UserID: "owner1", Update: setRole("staff")}, storage.ErrLastOwner},
		{"disable the last owner", storage.MemberChange{UserID: "owner1",
			Update: func(u storage.User) (storage.User, error) { u.Disabled = true; return u, nil }}, storage.ErrLastOwner},
		{"delete the last owner", storage.MemberChange{UserID: "owner1", Delete: true}, storage.ErrLastOwner},
		{"promote staff to owner (no rank rule)", storage.MemberChange{UserID: "staff1", Update: setRole("owner")}, nil},
		{"demote an owner who is not the last", storage.MemberChange{UserID: "owner1", Update: setRole("admin")}, nil},
	} {
		wantErr(t, "operator: "+tc.name, change(tc.c), tc.want)
	}
	if u, _ := s.GetUser(ctx, "owner1"); u.Role != "admin" {
		t.Errorf("owner1 is %q, want admin", u.Role)
	}
	// Without a guard nothing is checked (the storage's own callers).
	_, _, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: "staff1", Update: setRole("staff"), Now: t0})
	must(t, err)

	// A deletion with End: the clients of the member's sessions hear of it.
	signedIn(t, s, "s1", "owner1", "app-a", "app-b")
	now := t0.Add(time.Hour)
	_, res, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: "owner1", Delete: true, Guard: operator, Now: now,
		End: &storage.SessionEnd{UserID: "owner1", Now: now, Reason: storage.EndDeleted, RevokeAllTokens: true, Backchannel: backchannel}})
	must(t, err)
	diff(t, "deliveries of a deleted member", []string{
		"app-a:s1:owner1:https://a.example/bcl:" + storage.EndDeleted,
		"app-b:s1:owner1:https://b.example/bcl:" + storage.EndDeleted,
	}, deliveriesOf(t, s, res.Deliveries))
	if _, err := s.GetUser(ctx, "owner1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the deleted member: %v", err)
	}
	checkAccessRevoked(t, s, "at-s1-app-a", &now)
}

// testAccountList: the operator's list across organizations, narrowed to
// one organization or one member, with the states of ListMembers.
func testAccountList(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	must(t, s.SetEmailScope(ctx, false))
	for i, u := range []storage.User{
		newMember("a1", "o1", "a1@example.com", "front", "staff"),
		newMember("b1", "o2", "b1@example.com", "front", "staff"),
		newMember("a2", "o1", "a2@example.com", "night", "staff"),
		newMember("d1", storage.DefaultOrganizationID, "d1@example.com", "", ""),
	} {
		u.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		must(t, s.AddMember(ctx, storage.NewMember{User: u}))
	}
	must(t, s.CreateCode(ctx, storage.OneTimeCode{ID: "c", Purpose: storage.PurposeVerifyEmail, UserID: "a2", Email: "new@example.com",
		TicketHash: "t", CodeHash: "-", CreatedAt: t0, SentAt: t0, ExpiresAt: t0.Add(time.Hour)}, nil))
	ids := func(p storage.MemberPage) string {
		var out []string
		for _, m := range p.Members {
			out = append(out, m.ID)
		}
		return fmt.Sprintf("%s/%d", strings.Join(out, ","), p.Total)
	}
	for _, tc := range []struct {
		name string
		f    storage.MemberFilter
		want string
	}{
		{"every organization", storage.MemberFilter{}, "a1,b1,a2,d1/4"},
		{"one organization", storage.MemberFilter{OrganizationID: "o1"}, "a1,a2/2"},
		{"search", storage.MemberFilter{Search: "front"}, "a1,b1/2"},
		{"page", storage.MemberFilter{Limit: 2, Offset: 1}, "b1,a2/4"},
		{"one member", storage.MemberFilter{UserID: "a2"}, "a2/1"},
		{"one member of another organization", storage.MemberFilter{OrganizationID: "o2", UserID: "a2"}, "/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Now = t0
			p, err := s.ListAccounts(ctx, tc.f)
			must(t, err)
			if got := ids(p); got != tc.want {
				t.Errorf("ListAccounts = %s, want %s", got, tc.want)
			}
		})
	}
	// ListMembers selects one member too, with their states; never one
	// of another organization.
	p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", UserID: "a2", Now: t0})
	must(t, err)
	if len(p.Members) != 1 || p.Members[0].PendingEmail != "new@example.com" || p.Members[0].EmailState != storage.EmailNotRegistered ||
		p.Members[0].Status != storage.StatusActive {
		t.Errorf("ListMembers(one member) = %+v", p.Members)
	}
	if p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o2", UserID: "a2", Now: t0}); err != nil || len(p.Members) != 0 {
		t.Errorf("ListMembers(another organization's member) = %+v, %v", p.Members, err)
	}
}

// testAcceptInvitation: accepting an invitation spends its link, sets
// the password, verifies the address, ends the invitation and records
// the sign-in, in one change; a spent or voided link changes nothing.
func testAcceptInvitation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	u := newMember("m1", "o1", "new@example.com", "", "staff")
	u.InvitedAt, u.EmailVerified, u.PasswordHash = new(t0), false, ""
	invite := func(id string, at time.Time) *storage.OneTimeCode {
		return &storage.OneTimeCode{ID: id, Purpose: storage.PurposeInvite, UserID: "m1", Email: "new@example.com",
			TicketHash: "t-" + id, CodeHash: "-", CreatedAt: at, SentAt: at, ExpiresAt: at.Add(72 * time.Hour)}
	}
	must(t, s.AddMember(ctx, storage.NewMember{User: u, Code: invite("i1", t0)}))
	// A resend voids the first link.
	_, _, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: "m1", Code: invite("i2", t0.Add(time.Minute)),
		Now: t0.Add(time.Minute)})
	must(t, err)
	now := t0.Add(time.Hour)
	accept := func(code string) error {
		_, err := s.ChangePassword(ctx, storage.PasswordChange{
			Code: &storage.CodeClaim{ID: code, UserID: "m1", Purpose: storage.PurposeInvite, MaxFailures: 1},
			Now:  now, UserID: "m1", PasswordHash: "hash", VerifyEmail: true, AcceptInvitation: true,
			Audit: &storage.AuditEvent{ID: "ev-" + code, Time: now, Type: "invitation_accepted", UserID: "m1", Outcome: "success"}})
		return err
	}
	wantErr(t, "accept a voided invitation", accept("i1"), storage.ErrAlreadyUsed)
	if got, _ := s.GetUser(ctx, "m1"); got.InvitedAt == nil || got.PasswordHash != "" || got.LastLoginAt != nil {
		t.Errorf("a voided invitation changed the member: %+v", got)
	}
	must(t, accept("i2"))
	got, err := s.GetUser(ctx, "m1")
	must(t, err)
	if got.InvitedAt != nil || !got.EmailVerified || got.PasswordHash != "hash" || got.LastLoginAt == nil || !got.LastLoginAt.Equal(now) {
		t.Errorf("member after accepting = %+v", got)
	}
	wantErr(t, "accept twice", accept("i2"), storage.ErrAlreadyUsed)
	p, err := s.ListMembers(ctx, storage.MemberFilter{OrganizationID: "o1", Now: now})
	must(t, err)
	if len(p.Members) != 1 || p.Members[0].Status != storage.StatusActive || p.Members[0].EmailState != storage.EmailRegistered {
		t.Errorf("member list after accepting: %+v", p.Members)
	}
}

// testAuditOfMembers: an event of an account without an organization
// belongs to the account's; the member filter finds events about a
// member and those the member caused.
func testAuditOfMembers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("m1", "o1", "m1@example.com", "", "owner")}))
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("m2", "o1", "m2@example.com", "", "staff")}))
	events := []storage.AuditEvent{
		{ID: "e0", Time: t0, Type: "login", UserID: "m2", Outcome: "success"},
		{ID: "e1", Time: t0.Add(time.Second), Type: "role_changed", OrganizationID: "o1", ActorID: "m1", UserID: "m2", Outcome: "success"},
		{ID: "e2", Time: t0.Add(2 * time.Second), Type: "login", UserID: "gone", Outcome: "failure"},
		{ID: "e3", Time: t0.Add(3 * time.Second), Type: "login", UserID: "m1", Outcome: "success"},
	}
	for _, e := range events {
		must(t, s.AddAuditEvent(ctx, e))
	}
	events[0].OrganizationID, events[3].OrganizationID = "o1", "o1"
	for _, tc := range []struct {
		name string
		f    storage.AuditFilter
		want []storage.AuditEvent
	}{
		{"the organization's, its members' included", storage.AuditFilter{OrganizationID: "o1"}, []storage.AuditEvent{events[3], events[1], events[0]}},
		{"about or by m1", storage.AuditFilter{OrganizationID: "o1", Member: "m1"}, []storage.AuditEvent{events[3], events[1]}},
		{"about or by m2", storage.AuditFilter{OrganizationID: "o1", Member: "m2"}, []storage.AuditEvent{events[1], events[0]}},
		{"by m1, of a kind", storage.AuditFilter{OrganizationID: "o1", Member: "m1", Type: "role_changed"}, []storage.AuditEvent{events[1]}},
		{"an unknown account's stays without one", storage.AuditFilter{UserID: "gone"}, []storage.AuditEvent{events[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAuditEvents(ctx, tc.f)
			must(t, err)
			diff(t, "ListAuditEvents", tc.want, got)
		})
	}
}

// testMemberEnds: disabling or deleting a member ends their sessions in
// the change, and each client that received tokens in them gets its
// back-channel delivery (a deletion too); every token is revoked.
func testMemberEnds(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	for _, id := range []string{"m1", "m2"} {
		must(t, s.AddMember(ctx, storage.NewMember{User: newMember(id, "o1", id+"@example.com", "", "staff")}))
		signedIn(t, s, "s-"+id, id, "app-a")
	}
	now := t0.Add(time.Hour)
	end := func(id, reason string) *storage.SessionEnd {
		return &storage.SessionEnd{UserID: id, Now: now, Reason: reason, RevokeAllTokens: true, Backchannel: backchannel}
	}
	after, res, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: "m1", Now: now,
		Update: func(u storage.User) (storage.User, error) { u.Disabled = true; return u, nil }, End: end("m1", storage.EndDisabled)})
	must(t, err)
	if !after.Disabled {
		t.Error("not disabled")
	}
	diff(t, "disable: deliveries", []string{"app-a:s-m1:m1:https://a.example/bcl:disabled"}, deliveriesOf(t, s, res.Deliveries))
	checkRefreshRevoked(t, s, "hash-rt-s-m1-app-a", &now)

	_, res, err = s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "o1", UserID: "m2", Now: now, Delete: true,
		End: end("m2", storage.EndDeleted)})
	must(t, err)
	diff(t, "delete: deliveries", []string{"app-a:s-m2:m2:https://a.example/bcl:deleted"}, deliveriesOf(t, s, res.Deliveries))
	checkRefreshRevoked(t, s, "hash-rt-s-m2-app-a", &now)
	if _, err := s.GetMember(ctx, "o1", "m2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted member: %v", err)
	}
}
