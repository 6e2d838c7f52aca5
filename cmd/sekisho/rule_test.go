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

// TestEmailCommandsOrganizationRule: in an organization mode every
// command that takes an address needs --organization and finds the
// account inside it, never another organization's account with the same
// address; in the email mode the address alone finds it.
func TestEmailCommandsOrganizationRule(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgEmail, rolesConfig)
		for _, org := range []string{"c-1", "c-2", "c-3"} {
			e.mustRun(t, "", "org", "add", "--code", org, "--name", org)
		}
		for _, org := range []string{"c-1", "c-2"} {
			for _, u := range []struct{ email, role string }{{"boss@example.com", "owner"}, {"aoi@example.com", "staff"}} {
				e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", org, "--email", u.email, "--role", u.role,
					"--email-verified", "--password-stdin")
			}
		}
		commands := [][]string{
			{"user", "show", "--email"},
			{"user", "disable", "--email"},
			{"user", "enable", "--email"},
			{"user", "set-role", "--role", "admin", "--email"},
			{"user", "set-email", "--new-email", "new@example.com", "--email"},
			{"admin", "grant", "--email"},
			{"admin", "revoke", "--email"},
			{"session", "list", "--user"},
			{"session", "revoke", "--user"},
			{"audit", "list", "--user"},
			{"user", "delete", "--email"},
		}
		before := e.state(t)
		for _, c := range commands {
			name := strings.Join(c[:2], " ")
			t.Run(name, func(t *testing.T) {
				flag := c[len(c)-1]
				e.refused(t, flag+" needs --organization", "", append(slices.Clone(c), "aoi@example.com")...)
				e.refused(t, "no account with the email aoi@example.com in organization c-3", "",
					append(slices.Clone(c), "aoi@example.com", "--organization", "c-3")...)
				e.refused(t, "no organization", "", append(slices.Clone(c), "aoi@example.com", "--organization", "nope")...)
				if c[0] == "audit" {
					e.refused(t, `--user "aoi": an account name needs --organization`, "", append(slices.Clone(c), "aoi")...)
				} else {
					e.refused(t, "--username needs --organization", "", append(slices.Clone(c[:len(c)-1]), "--username", "aoi")...)
				}
			})
		}
		e.refused(t, "if any flags in the group [id email username] are set none of the others can be", "", "user", "show",
			"--email", "a@example.com", "--id", "x")
		e.refused(t, "at least one of the flags in the group [id email username] is required", "", "user", "show")
		e.unchanged(t, before)

		// Inside the organization: the account of c-1, never that of c-2.
		for _, c := range commands {
			e.mustRun(t, "", append(slices.Clone(c), "aoi@example.com", "--organization", "c-1")...)
		}
		if m := e.members(t, "c-1"); len(m) != 1 || m[0].Email != "boss@example.com" {
			t.Errorf("c-1 after the commands (the last deleted aoi): %+v", m)
		}
		if m := e.members(t, "c-2"); len(m) != 2 || m[1].Email != "aoi@example.com" || m[1].Disabled || m[1].Role != "staff" ||
			m[1].PlatformAdmin || m[1].PendingEmail != "" {
			t.Errorf("c-2's aoi was touched: %+v", m)
		}
	})
}

// TestEmailCommandsEmailMode: in the email mode an address finds its
// account in any organization; --organization narrows.
func TestEmailCommandsEmailMode(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierEmail, rolesConfig)
	e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--email", "aoi@example.com", "--password-stdin")
	e.mustRun(t, "", "user", "disable", "--email", "AOI@example.com")
	e.refused(t, "no account with the email aoi@example.com in organization default", "", "user", "enable", "--email", "aoi@example.com",
		"--organization", "default")
	e.mustRun(t, "", "user", "enable", "--email", "aoi@example.com", "--organization", "shop")
	if m := e.members(t, "shop"); len(m) != 1 || m[0].Disabled {
		t.Errorf("members: %+v", m)
	}
}

// TestAdminGrantRevoke: a platform administrator made and unmade, with
// audit events in the account's organization.
func TestAdminGrantRevoke(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierOrgUsername, rolesConfig)
	e.mustRun(t, "", "org", "add", "--code", "ops", "--name", "Operations")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "ops", "--username", "root", "--password-stdin")
	if out := e.mustRun(t, "", "admin", "grant", "--organization", "ops", "--username", "root"); !strings.Contains(out, "is now a platform administrator") {
		t.Errorf("admin grant: %s", out)
	}
	if out := e.mustRun(t, "", "admin", "grant", "--organization", "OPS", "--username", "ROOT"); !strings.Contains(out, "already") {
		t.Errorf("admin grant again: %s", out)
	}
	if m := e.members(t, "ops"); !m[0].PlatformAdmin {
		t.Errorf("after grant: %+v", m[0])
	}
	e.mustRun(t, "", "admin", "revoke", "--organization", "ops", "--username", "root")
	if m := e.members(t, "ops"); m[0].PlatformAdmin {
		t.Errorf("after revoke: %+v", m[0])
	}
	var kinds []string
	events, _ := e.st.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: mustOrg(t, e, "ops").ID})
	for _, ev := range events {
		kinds = append(kinds, ev.Type)
	}
	if d := cmp.Diff([]string{"platform_admin_revoked", "platform_admin_granted", "user_added", "organization_created"}, kinds); d != "" {
		t.Errorf("audit events (-want +got):\n%s", d)
	}
}

// TestAuditList: filters and the JSON shape.
func TestAuditList(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierOrgEmail, rolesConfig)
	e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop", "--time-zone", "Asia/Tokyo")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--email", "aoi@example.com", "--password-stdin")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--email", "ren@example.com", "--password-stdin")
	e.mustRun(t, "", "user", "set-role", "--organization", "shop", "--email", "ren@example.com", "--role", "admin")
	ren, _ := e.st.GetMemberByEmail(t.Context(), mustOrg(t, e, "shop").ID, "ren@example.com")

	var events []map[string]any
	decode := func(args ...string) {
		t.Helper()
		events = nil
		out := e.mustRun(t, "", append([]string{"audit", "list", "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &events); err != nil {
			t.Fatalf("audit list --json: %v\n%s", err, out)
		}
	}
	kinds := func() string {
		var out []string
		for _, ev := range events {
			out = append(out, ev["kind"].(string))
		}
		return strings.Join(out, ",")
	}
	decode("--organization", "shop")
	if kinds() != "role_changed,user_added,user_added,organization_created" {
		t.Errorf("--organization shop: %s", kinds())
	}
	ev := events[0]
	if got := keys(ev); !slices.Equal(got, []string{"actor_id", "client_id", "detail", "id", "ip", "kind", "organization", "outcome", "time", "user_id"}) ||
		ev["user_id"] != ren.ID || ev["detail"] != "cli: staff -> admin" || !strings.HasSuffix(ev["time"].(string), "+09:00") ||
		ev["organization"].(map[string]any)["code"] != "shop" {
		t.Errorf("event JSON: %v", ev)
	}
	for _, args := range [][]string{
		{"--organization", "shop", "--user", "ren@example.com"},
		{"--user", ren.ID},
	} {
		decode(args...)
		if kinds() != "role_changed,user_added" {
			t.Errorf("%v: %s", args, kinds())
		}
	}
	decode("--kind", "user_added", "--limit", "1")
	if kinds() != "user_added" {
		t.Errorf("--kind --limit: %s", kinds())
	}
	decode("--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if kinds() != "" {
		t.Errorf("--since in the future: %s", kinds())
	}
	decode("--since", "1d", "--organization", "shop")
	if len(events) != 4 {
		t.Errorf("--since 1d: %s", kinds())
	}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"--since", []string{"--since", "yesterday"}},
		{"--limit", []string{"--limit", "0"}},
		{"no organization", []string{"--organization", "nope"}},
		{"no account with the email nobody@example.com in organization shop", []string{"--organization", "shop", "--user", "nobody@example.com"}},
	} {
		e.refused(t, tc.want, "", append([]string{"audit", "list"}, tc.args...)...)
	}
}

// TestLegacyImportMemberColumns: the organization, username and role
// columns in CSV and in JSON Lines; an unknown organization or role
// rejects the line with its reason and nothing else.
func TestLegacyImportMemberColumns(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			e := newCLIEnv(t, "sqlite", config.IdentifierOrgUsername, rolesConfig)
			e.mustRun(t, "", "org", "add", "--code", "H-1234", "--name", "Hotel")
			e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "H-1234", "--username", "front01", "--password-stdin")
			rows := [][5]string{ // legacy_id, email, organization, username, role
				{"1", "a@example.com", "h-1234", "Owner01", "owner"}, // 2: good
				{"2", "b@example.com", "Ｈ－１２３４", "night01", ""},      // 3: good, the lowest role
				{"3", "c@example.com", "nope", "x3", "staff"},        // 4: unknown organization
				{"4", "d@example.com", "H-1234", "x4", "manager"},    // 5: unknown role
				{"5", "e@example.com", "H-1234", "FRONT01", "staff"}, // 6: a taken account name
				{"6", "f@example.com", "H-1234", "night01", "staff"}, // 7: repeats line 3's account name
				{"7", "a@example.com", "", "x7", "staff"},            // 8: no organization, in an organization mode
				{"8", "A@example.com", "H-1234", "x8", "staff"},      // 9: repeats line 2's address in H-1234
				{"9", "g@example.com", "h 1", "x9", "staff"},         // 10: a bad code
				{"10", "h@example.com", "H-1234", "", "staff"},       // 11: no account name
			}
			var b strings.Builder
			if format == "csv" {
				b.WriteString("legacy_id,email,organization,username,role\n")
				for _, r := range rows {
					b.WriteString(strings.Join(r[:], ",") + "\n")
				}
			} else {
				for _, r := range rows {
					line, _ := json.Marshal(map[string]string{"legacy_id": r[0], "email": r[1], "organization": r[2], "username": r[3], "role": r[4]})
					b.Write(append(line, '\n'))
				}
			}
			out, err := e.run(t, "", "legacy", "import", "--file", writeFile(t, "users."+format, b.String()))
			if exitCode(err) != 2 || !strings.Contains(out, "created 2, updated 0, unchanged 0, rejected 8") {
				t.Fatalf("import: exit %d\n%s", exitCode(err), out)
			}
			line := func(n int) int { // the line of row n (1-based) in the file
				if format == "csv" {
					return n + 1
				}
				return n
			}
			for n, want := range map[int]string{
				3:  `legacy_id "3": unknown organization "nope"`,
				4:  `legacy_id "4": role "manager" is not a declared role (owner, admin, staff)`,
				5:  `legacy_id "5": the account name belongs to another account of the organization`,
				6:  `legacy_id "6": the account name is also that of legacy_id "2" in this file`,
				8:  `legacy_id "8": the email is also that of legacy_id "1" in this file`,
				7:  `legacy_id "7": no organization: give the organization column or --organization`,
				9:  `legacy_id "9": bad organization "h 1"`,
				10: `legacy_id "10": no account name: the organization+username sign-in mode needs the username column`,
			} {
				if !strings.Contains(out, fmt.Sprintf("line %d: rejected: %s", line(n), want)) {
					t.Errorf("no rejection %q of line %d in\n%s", want, line(n), out)
				}
			}
			got := map[string]string{}
			for _, m := range e.members(t, "H-1234") {
				got[m.Username] = m.Role + " " + m.Email
			}
			if d := cmp.Diff(map[string]string{"front01": "staff ", "Owner01": "owner a@example.com", "night01": "staff b@example.com"}, got); d != "" {
				t.Errorf("H-1234 (-want +got):\n%s", d)
			}
			if m := e.members(t, "default"); len(m) != 0 {
				t.Errorf("default: %+v", m)
			}
		})
	}
}

// TestSetEmailHourlyCap: verification links share the account page's
// hourly cap; beyond it the operator is told and nothing is queued.
func TestSetEmailHourlyCap(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierEmail, "reset: {per_email_per_hour: 2}\n")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--email", "aoi@example.com", "--email-verified", "--password-stdin")
	for i := range 2 {
		e.mustRun(t, "", "user", "set-email", "--email", "aoi@example.com", "--new-email", fmt.Sprintf("new%d@example.com", i))
	}
	before := e.state(t)
	e.refused(t, "as many verification links as an hour allows", "", "user", "set-email", "--email", "aoi@example.com",
		"--new-email", "new9@example.com")
	e.unchanged(t, before)
}

// TestLegacyImportTargetsOrganization: with --organization the import
// fills that organization only: lines without an organization join it,
// lines naming another or an unknown one are rejected with their line
// numbers, new members beyond the organization's limit are rejected (a
// re-import of members it has is not), and rejected lines write nothing.
// An unknown --organization writes nothing at all.
func TestLegacyImportTargetsOrganization(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgEmail, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "shop-1", "--name", "Shop One", "--max-members", "3")
		e.mustRun(t, "", "org", "add", "--code", "shop-2", "--name", "Shop Two")
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop-1", "--email", "first@example.com", "--password-stdin")
		file := writeFile(t, "users.csv", strings.Join([]string{
			"legacy_id,email,organization",
			"1,a@example.com,",        // 2: joins shop-1
			"2,b@example.com,SHOP-1",  // 3: names shop-1 (case-folded)
			"3,c@example.com,shop-2",  // 4: another organization
			"4,d@example.com,nowhere", // 5: an unknown one
			"5,e@example.com,",        // 6: beyond the limit of 3
		}, "\n")+"\n")
		before := e.state(t)
		e.refused(t, `--organization: no organization "nowhere"`, "", "legacy", "import", "--file", file, "--organization", "nowhere")
		e.unchanged(t, before)

		out, err := e.run(t, "", "legacy", "import", "--file", file, "--organization", "shop-1")
		if exitCode(err) != 2 || !strings.Contains(out, "created 2, updated 0, unchanged 0, rejected 3") {
			t.Fatalf("import: exit %d\n%s", exitCode(err), out)
		}
		for _, want := range []string{
			`line 4: rejected: legacy_id "3": organization "shop-2" is not the one the import targets (shop-1)`,
			`line 5: rejected: legacy_id "4": unknown organization "nowhere"`,
			`line 6: rejected: legacy_id "5": the organization has reached its member limit (3)`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		got := map[string]string{}
		for _, m := range e.members(t, "shop-1") {
			got[m.Email] = m.LegacyID
		}
		if d := cmp.Diff(map[string]string{"first@example.com": "", "a@example.com": "1", "b@example.com": "2"}, got); d != "" {
			t.Errorf("shop-1 (-want +got):\n%s", d)
		}
		for _, code := range []string{"shop-2", "default"} {
			if m := e.members(t, code); len(m) != 0 {
				t.Errorf("%s got members: %+v", code, m)
			}
		}
		// The same file again: the members it made are unchanged, the
		// limit still holds for the new one.
		out, err = e.run(t, "", "legacy", "import", "--file", file, "--organization", "shop-1")
		if exitCode(err) != 2 || !strings.Contains(out, "created 0, updated 0, unchanged 2, rejected 3") {
			t.Errorf("re-import: exit %d\n%s", exitCode(err), out)
		}
	})
}
