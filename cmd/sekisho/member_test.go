package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
)

// importMembers imports n members of the organization through legacy
// import (CSV with the organization, username and role columns).
func (e *cliEnv) importMembers(t *testing.T, org string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("legacy_id,email,name,organization,username,role\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%03d,m%03d@example.com,Member %03d,%s,m%03d,staff\n", org, i, i, i, org, i)
	}
	if out, err := e.run(t, "", "legacy", "import", "--file", writeFile(t, "members.csv", b.String())); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}

// listPage is user list --json's output.
type listPage struct {
	Total   int              `json:"total"`
	Offset  int              `json:"offset"`
	Limit   int              `json:"limit"`
	Members []map[string]any `json:"members"`
}

func (e *cliEnv) listJSON(t *testing.T, args ...string) listPage {
	t.Helper()
	var p listPage
	out := e.mustRun(t, "", append([]string{"user", "list", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("user list --json: %v\n%s", err, out)
	}
	return p
}

func usernames(p listPage) string {
	var out []string
	for _, m := range p.Members {
		out = append(out, fmt.Sprint(m["username"]))
	}
	return strings.Join(out, ",")
}

// TestUserListPaging: user list pages through an organization (or all of
// them), filters by search, status and email state, and prints JSON of a
// fixed shape.
func TestUserListPaging(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "hotel", "--name", "Hotel", "--time-zone", "America/New_York")
		e.importMembers(t, "hotel", 120)
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--username", "other", "--password-stdin")

		// Members imported together were created at one time: pages follow
		// their ids then, and never repeat or skip one.
		out := e.mustRun(t, "", "user", "list", "--organization", "hotel")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 52 || !strings.HasPrefix(lines[0], "ID  ") || !strings.Contains(lines[1], "  hotel  ") ||
			lines[51] != "members 1-50 of 120; next page: --offset 50" {
			t.Errorf("first page: %d lines, first %q, last %q", len(lines), lines[1], lines[len(lines)-1])
		}
		out = e.mustRun(t, "", "user", "list", "--organization", "hotel", "--offset", "100")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 22 || lines[21] != "members 101-120 of 120" {
			t.Errorf("last page:\n%s", out)
		}
		var all []string
		for offset := 0; offset < 120; offset += 50 {
			p := e.listJSON(t, "--organization", "hotel", "--offset", fmt.Sprint(offset))
			if p.Total != 120 || p.Offset != offset || p.Limit != 50 {
				t.Errorf("page at %d: total %d, offset %d, limit %d", offset, p.Total, p.Offset, p.Limit)
			}
			all = append(all, strings.Split(usernames(p), ",")...)
		}
		slices.Sort(all)
		if len(slices.Compact(all)) != 120 || all[0] != "m000" || all[119] != "m119" {
			t.Errorf("three pages hold %d members (%s ... %s), want m000 to m119 once each", len(all), all[0], all[len(all)-1])
		}

		p := e.listJSON(t, "--organization", "hotel", "--limit", "3", "--offset", "60")
		if p.Total != 120 || p.Offset != 60 || p.Limit != 3 || len(p.Members) != 3 {
			t.Errorf("a middle page: %+v", p)
		}
		wantKeys := []string{"created_at", "email", "email_state", "email_verified", "id", "invited_at", "lang", "last_login_at",
			"legacy_id", "migrated_at", "must_change_password", "name", "organization", "otp_enabled", "pending_email",
			"platform_admin", "role", "status", "updated_at", "username"}
		m := p.Members[0]
		if got := keys(m); !slices.Equal(got, wantKeys) || m["role"] != "staff" || m["status"] != "active" ||
			m["email_state"] != storage.EmailNotRegistered || m["last_login_at"] != nil || m["legacy_id"] != "hotel-"+m["username"].(string)[1:] ||
			!strings.HasSuffix(m["created_at"].(string), "-05:00") && !strings.HasSuffix(m["created_at"].(string), "-04:00") {
			t.Errorf("member JSON: keys %v\n%v", got, m)
		}
		if org := m["organization"].(map[string]any); org["code"] != "hotel" || org["id"] == "" {
			t.Errorf("member JSON organization: %v", org)
		}
		p = e.listJSON(t, "--organization", "hotel", "--search", "MEMBER 11")
		found := strings.Split(usernames(p), ",")
		slices.Sort(found)
		if p.Total != 10 || strings.Join(found, ",") != "m110,m111,m112,m113,m114,m115,m116,m117,m118,m119" {
			t.Errorf("search: %d, %v", p.Total, found)
		}
		// Every organization: the default one's member too.
		if p := e.listJSON(t, "--limit", "1000"); p.Total != 121 || !slices.Contains(strings.Split(usernames(p), ","), "other") {
			t.Errorf("every organization: %d members", p.Total)
		}

		e.mustRun(t, "", "user", "disable", "--organization", "hotel", "--username", "m007")
		if p := e.listJSON(t, "--organization", "hotel", "--status", "disabled"); usernames(p) != "m007" {
			t.Errorf("--status disabled: %s", usernames(p))
		}
		if p := e.listJSON(t, "--organization", "hotel", "--status", "active", "--limit", "1"); p.Total != 119 {
			t.Errorf("--status active: %d", p.Total)
		}
		// An invited member (the console invites; the states come from
		// storage).
		o, _ := e.st.GetOrganizationByCode(t.Context(), "hotel")
		now := time.Now().UTC()
		inv := storage.User{ID: "11111111-1111-4111-8111-111111111111", OrganizationID: o.ID, Username: "new01", InvitedAt: &now,
			CreatedAt: now, UpdatedAt: now}
		if err := e.st.AddMember(t.Context(), storage.NewMember{User: inv, Code: &storage.OneTimeCode{ID: "inv", Purpose: storage.PurposeInvite,
			UserID: inv.ID, TicketHash: "t", CodeHash: "-", CreatedAt: now, SentAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if p := e.listJSON(t, "--organization", "hotel", "--status", "invited"); usernames(p) != "new01" {
			t.Errorf("--status invited: %s", usernames(p))
		}
		if p := e.listJSON(t, "--organization", "hotel", "--status", "invitation_expired"); p.Total != 0 {
			t.Errorf("--status invitation_expired: %s", usernames(p))
		}
		if p := e.listJSON(t, "--organization", "hotel", "--email-state", "registered"); p.Total != 0 {
			t.Errorf("--email-state registered: %s", usernames(p))
		}

		for _, tc := range []struct {
			want string
			args []string
		}{
			{"--status must be one of", []string{"--status", "frozen"}},
			{"--email-state must be one of", []string{"--email-state", "verified"}},
			{"--limit must be 1 to 1000", []string{"--limit", "0"}},
			{"--limit must be 1 to 1000", []string{"--limit", "1001"}},
			{"--offset must not be negative", []string{"--offset", "-1"}},
			{"no organization", []string{"--organization", "nope"}},
		} {
			e.refused(t, tc.want, "", append([]string{"user", "list"}, tc.args...)...)
		}
	})
}

// TestUserShowSetEmailSetRole: user show with the organization's time
// zone, set-email's link (the address stays until it is opened),
// set-role under the last-owner rule.
func TestUserShowSetEmailSetRole(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgEmail, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop", "--time-zone", "Asia/Tokyo")
		e.mustRun(t, "", "org", "add", "--code", "other", "--name", "Other")
		add := func(org, email, role string) {
			e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", org, "--email", email, "--role", role, "--email-verified",
				"--password-stdin")
		}
		add("shop", "owner@example.com", "owner")
		add("shop", "aoi@example.com", "staff")
		add("shop", "ren@example.com", "staff")
		add("other", "aoi@example.com", "owner")
		aoi, err := e.st.GetMemberByEmail(t.Context(), mustOrg(t, e, "shop").ID, "aoi@example.com")
		if err != nil {
			t.Fatal(err)
		}
		signedIn := time.Date(2025, 4, 1, 15, 30, 0, 0, time.UTC)
		if _, err := e.st.UpdateUser(t.Context(), aoi.ID, func(u storage.User) (storage.User, error) {
			u.LastLoginAt = &signedIn
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}

		out := e.mustRun(t, "", "user", "show", "--organization", "shop", "--email", "AOI@example.com")
		for _, want := range []string{aoi.ID, "shop (Shop), time zone Asia/Tokyo", "aoi@example.com (verified: yes)", "registered",
			"role                    staff", "status                  active", "last sign-in            2025-04-02 00:30 JST"} {
			if !strings.Contains(out, want) {
				t.Errorf("user show: no %q in\n%s", want, out)
			}
		}
		var show map[string]any
		if err := json.Unmarshal([]byte(e.mustRun(t, "", "user", "show", "--id", aoi.ID, "--json")), &show); err != nil ||
			show["last_login_at"] != "2025-04-02T00:30:00+09:00" || show["email"] != "aoi@example.com" {
			t.Errorf("user show --json: %v %v", err, show)
		}
		e.refused(t, "no account with the id "+aoi.ID+" in organization other", "", "user", "show", "--organization", "other", "--id", aoi.ID)

		// set-email: the link goes to the new address; the old one stays.
		before := e.state(t)
		for _, tc := range []struct {
			want string
			args []string
		}{
			{"another account of organization shop has the address Ren@example.com", []string{"--new-email", "Ren@example.com"}},
			{"has the address aoi@example.com already", []string{"--new-email", "aoi@example.com"}},
			{"--new-email is not a valid", []string{"--new-email", "aoi@"}},
			{"--lang", []string{"--new-email", "new@example.com", "--lang", "fr"}},
		} {
			e.refused(t, tc.want, "", append([]string{"user", "set-email", "--organization", "shop", "--email", "aoi@example.com"}, tc.args...)...)
		}
		e.unchanged(t, before)
		out = e.mustRun(t, "", "user", "set-email", "--organization", "shop", "--email", "aoi@example.com", "--new-email", "Aoi.New@example.com",
			"--lang", "ja")
		if !strings.Contains(out, "queued a verification link to Aoi.New@example.com") || !strings.Contains(out, "keeps aoi@example.com") {
			t.Errorf("set-email: %s", out)
		}
		ms, _ := e.st.ListMail(t.Context(), storage.DeliveryFilter{})
		if len(ms) != 1 || ms[0].Recipient != "Aoi.New@example.com" || ms[0].Template != "verify_email" {
			t.Errorf("outbox after set-email: %+v", ms)
		}
		var after map[string]any
		_ = json.Unmarshal([]byte(e.mustRun(t, "", "user", "show", "--id", aoi.ID, "--json")), &after)
		if after["email"] != "aoi@example.com" || after["pending_email"] != "Aoi.New@example.com" ||
			after["email_state"] != storage.EmailNotRegistered {
			t.Errorf("after set-email: %v", after)
		}
		// The same address in another organization is no obstacle.
		e.mustRun(t, "", "user", "set-email", "--organization", "other", "--email", "aoi@example.com", "--new-email", "ren@example.com")

		// set-role: any declared role, but the last owner stays.
		before = e.state(t)
		e.refused(t, `--role "boss" is not a declared role`, "", "user", "set-role", "--organization", "shop", "--email", "aoi@example.com", "--role", "boss")
		e.refused(t, "is the last active owner of the organization", "", "user", "set-role", "--organization", "shop", "--email",
			"owner@example.com", "--role", "staff")
		e.refused(t, "is the last active owner", "", "user", "disable", "--organization", "shop", "--email", "owner@example.com")
		e.refused(t, "is the last active owner", "", "user", "delete", "--organization", "shop", "--email", "owner@example.com")
		e.unchanged(t, before)
		e.mustRun(t, "", "user", "set-role", "--organization", "shop", "--email", "aoi@example.com", "--role", "owner")
		if out := e.mustRun(t, "", "user", "set-role", "--organization", "shop", "--email", "aoi@example.com", "--role", "owner"); !strings.Contains(out, "nothing changed") {
			t.Errorf("the same role again: %s", out)
		}
		e.mustRun(t, "", "user", "set-role", "--organization", "shop", "--email", "owner@example.com", "--role", "staff")
		roles := map[string]string{}
		for _, m := range e.members(t, "shop") {
			roles[m.Email] = m.Role
		}
		if d := cmp.Diff(map[string]string{"owner@example.com": "staff", "aoi@example.com": "owner", "ren@example.com": "staff"}, roles); d != "" {
			t.Errorf("roles (-want +got):\n%s", d)
		}
		events, _ := e.st.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "role_changed"})
		if len(events) != 2 || events[0].OrganizationID != mustOrg(t, e, "shop").ID || events[0].Detail != "cli: owner -> staff" {
			t.Errorf("role_changed events: %+v", events)
		}
	})
}

func mustOrg(t *testing.T, e *cliEnv, code string) storage.Organization {
	t.Helper()
	o, err := e.st.GetOrganizationByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
