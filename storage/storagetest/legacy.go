package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testLegacyImport(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("native", "native@example.com")))
	file := []storage.LegacyUser{
		{LegacyID: "L1", Email: "one@example.com", Name: "One", PasswordHash: "h1", Roles: []string{"admin"}, Lang: "ja"},
		{LegacyID: "L2", Email: "two@example.com", PasswordHash: "h2"},
		{LegacyID: "L3", Email: "Native@Example.com"},
	}
	outcomes := func(res []storage.ImportResult) []string {
		var out []string
		for _, r := range res {
			out = append(out, r.Outcome)
		}
		return out
	}
	// A dry run writes nothing.
	res, err := s.ImportLegacyUsers(ctx, file, t0, true)
	must(t, err)
	diff(t, "dry-run outcomes", []string{storage.ImportCreated, storage.ImportCreated, storage.ImportRejected}, outcomes(res))
	if _, err := s.GetUserByLegacyID(ctx, "L1"); err == nil {
		t.Error("a dry run wrote a user")
	}
	res, err = s.ImportLegacyUsers(ctx, file, t0, false)
	must(t, err)
	diff(t, "outcomes", []string{storage.ImportCreated, storage.ImportCreated, storage.ImportRejected}, outcomes(res))
	if res[2].Reason == "" {
		t.Error("a rejection without a reason")
	}
	one, err := s.GetUserByLegacyID(ctx, "L1")
	must(t, err)
	if one.ID != res[0].UserID || one.Email != "one@example.com" || one.LegacyHash != "h1" || !one.Imported() ||
		len(one.Roles) != 1 || one.EmailVerified || one.PasswordHash != "" || one.Lang != "ja" {
		t.Errorf("imported user = %+v", one)
	}
	if n, _ := s.GetUserByEmail(ctx, "native@example.com"); n.LegacyID != "" || n.Imported() {
		t.Error("the native account was linked to a legacy id")
	}
	// The same file again changes nothing.
	res, err = s.ImportLegacyUsers(ctx, file[:2], t0, false)
	must(t, err)
	diff(t, "re-import outcomes", []string{storage.ImportUnchanged, storage.ImportUnchanged}, outcomes(res))
	// A later file updates email and name of users not yet migrated (the
	// codes mailed to the old address stop working); an email of another
	// imported user is refused.
	must(t, s.CreateCode(ctx, newCode("lc", one.ID), nil))
	later := t0.Add(time.Hour)
	res, err = s.ImportLegacyUsers(ctx, []storage.LegacyUser{
		{LegacyID: "L1", Email: "one.new@example.com", Name: "One New", PasswordHash: "h1", Roles: []string{"admin"}, Lang: "en"},
		{LegacyID: "L2", Email: "one.new@example.com", PasswordHash: "h2"},
	}, later, false)
	must(t, err)
	diff(t, "update outcomes", []string{storage.ImportUpdated, storage.ImportRejected}, outcomes(res))
	if c, _ := s.GetCodeByTicket(ctx, "ticket-lc"); c.UsedAt == nil {
		t.Error("a code mailed to the address an import replaced still works")
	}
	if u, _ := s.GetUserByLegacyID(ctx, "L1"); u.Email != "one.new@example.com" || u.Name != "One New" || u.Lang != "en" || !u.UpdatedAt.Equal(later) {
		t.Errorf("after update: %+v", u)
	}
	// A reset migrates: the hash goes, MigratedAt is set; a later import
	// leaves the user alone.
	_, err = s.ChangePassword(ctx, storage.PasswordChange{Now: later, UserID: one.ID, PasswordHash: "argon", VerifyEmail: true})
	must(t, err)
	migrated, err := s.GetUserByLegacyID(ctx, "L1")
	must(t, err)
	if migrated.Imported() || migrated.MigratedAt == nil || !migrated.MigratedAt.Equal(later) || migrated.LegacyHash != "" ||
		migrated.PasswordHash != "argon" || !migrated.EmailVerified {
		t.Errorf("after the reset: %+v", migrated)
	}
	res, err = s.ImportLegacyUsers(ctx, []storage.LegacyUser{{LegacyID: "L1", Email: "other@example.com", PasswordHash: "h9"}}, later, false)
	must(t, err)
	diff(t, "migrated outcome", []string{storage.ImportUnchanged}, outcomes(res))
	if u, _ := s.GetUserByLegacyID(ctx, "L1"); u.PasswordHash != "argon" || u.Email != "one.new@example.com" {
		t.Errorf("an import touched a migrated user: %+v", u)
	}
	// A native user's reset migrates nothing.
	native, _ := s.GetUserByEmail(ctx, "native@example.com")
	_, err = s.ChangePassword(ctx, storage.PasswordChange{Now: later, UserID: native.ID, PasswordHash: "x", VerifyEmail: true})
	must(t, err)
	if n, _ := s.GetUser(ctx, native.ID); n.MigratedAt != nil {
		t.Error("a native account got a migration time")
	}

	imported, done, err := s.CountLegacyUsers(ctx)
	must(t, err)
	if imported != 2 || done != 1 {
		t.Errorf("counts: imported %d migrated %d, want 2 and 1", imported, done)
	}
	left, err := s.ListUnmigrated(ctx, "", 10)
	must(t, err)
	if len(left) != 1 || left[0].LegacyID != "L2" {
		t.Errorf("unmigrated: %+v", left)
	}
	if more, _ := s.ListUnmigrated(ctx, left[0].ID, 10); len(more) != 0 {
		t.Errorf("after the last: %+v", more)
	}
}

// testLegacyImportMembers: new users of an import join the organization
// the file names, with its account names and roles; an account name
// taken in the organization rejects the line, and the same name in
// another organization is fine.
func testLegacyImportMembers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	newOrg(t, s, "o2", "shop")
	must(t, s.SetEmailScope(ctx, false))
	must(t, s.AddMember(ctx, storage.NewMember{User: newMember("native", "o1", "native@example.com", "front01", "owner")}))
	res, err := s.ImportLegacyUsers(ctx, []storage.LegacyUser{
		{LegacyID: "L1", OrganizationID: "o1", Username: "Night01", Role: "staff", Email: "one@example.com"},
		{LegacyID: "L2", OrganizationID: "o1", Username: "ＦＲＯＮＴ01", Role: "staff", Email: "two@example.com"},
		{LegacyID: "L3", OrganizationID: "o2", Username: "front01", Role: "admin", Email: "native@example.com"},
		{LegacyID: "L4", OrganizationID: "o1", Username: "night01", Email: "four@example.com"},
		{LegacyID: "L5", Email: "five@example.com"},
	}, t0, false)
	must(t, err)
	var got []string
	for _, r := range res {
		got = append(got, r.Outcome)
	}
	diff(t, "outcomes", []string{storage.ImportCreated, storage.ImportRejected, storage.ImportCreated, storage.ImportRejected,
		storage.ImportCreated}, got)
	if !strings.Contains(res[1].Reason, "account name") || !strings.Contains(res[3].Reason, "account name") {
		t.Errorf("reasons: %q, %q", res[1].Reason, res[3].Reason)
	}
	for _, tc := range []struct{ legacyID, org, username, role string }{
		{"L1", "o1", "Night01", "staff"},
		{"L3", "o2", "front01", "admin"},
		{"L5", storage.DefaultOrganizationID, "", ""},
	} {
		u, err := s.GetUserByLegacyID(ctx, tc.legacyID)
		must(t, err)
		if u.OrganizationID != tc.org || u.Username != tc.username || u.Role != tc.role {
			t.Errorf("%s: organization %s, account name %q, role %q; want %s, %q, %q", tc.legacyID, u.OrganizationID, u.Username, u.Role,
				tc.org, tc.username, tc.role)
		}
	}
	// A later file moves nobody: organization, account name and role stay.
	res, err = s.ImportLegacyUsers(ctx, []storage.LegacyUser{
		{LegacyID: "L1", OrganizationID: "o2", Username: "other", Role: "admin", Email: "one@example.com", Name: "One"},
	}, t0.Add(time.Hour), false)
	must(t, err)
	if res[0].Outcome != storage.ImportUpdated {
		t.Errorf("re-import: %+v", res[0])
	}
	if u, _ := s.GetUserByLegacyID(ctx, "L1"); u.OrganizationID != "o1" || u.Username != "Night01" || u.Role != "staff" || u.Name != "One" {
		t.Errorf("after re-import: %+v", u)
	}
}
