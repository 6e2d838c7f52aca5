package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// rolesConfig declares the roles of a hotel.
const rolesConfig = `roles:
  - {name: owner, labels: {ja: 管理者（契約者）, en: Owner}, manage_members: true}
  - {name: admin, manage_members: true}
  - {name: staff}
`

// cliEnv is a configuration file and the database it names.
type cliEnv struct {
	cfg string
	st  *gormstore.Store
}

// newCLIEnv writes a configuration for the backend (sqlite or postgres,
// a fresh database) with the sign-in mode and the extra keys, and opens
// its database for the test to look at.
func newCLIEnv(t *testing.T, backend, identifier, extra string) *cliEnv {
	t.Helper()
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	body := strings.Replace(cliConfig, "database: {driver: sqlite, dsn: DIR/sekisho.db}\n", "", 1)
	var db gormstore.Config
	switch backend {
	case "sqlite":
		body += "database: {driver: sqlite, dsn: DIR/sekisho.db}\n"
	case "postgres":
		db = gormstore.Config{Driver: "postgres", DSN: gormstoretest.PostgresDSN(t)}
		body += fmt.Sprintf("database: {driver: postgres, dsn: %q}\n", db.DSN)
	}
	body += "login: {identifier: " + identifier + "}\n" + extra
	e := &cliEnv{cfg: writeConfig(t, body)}
	if backend == "sqlite" {
		db = gormstore.Config{Driver: "sqlite", DSN: strings.TrimSuffix(e.cfg, "sekisho.yaml") + "sekisho.db"}
	}
	st, err := gormstore.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := st.SetEmailScope(t.Context(), identifier == config.IdentifierEmail); err != nil {
		t.Fatal(err)
	}
	e.st = st
	return e
}

// run runs a command of the CLI on the environment's configuration.
func (e *cliEnv) run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	return run(t, stdin, append(args, "--config", e.cfg)...)
}

// mustRun runs a command that must succeed.
func (e *cliEnv) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := e.run(t, stdin, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// refused runs a command that must fail with an error containing want.
func (e *cliEnv) refused(t *testing.T, want, stdin string, args ...string) {
	t.Helper()
	out, err := e.run(t, stdin, args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v\n%s\nwant an error containing %q", strings.Join(args, " "), err, out, want)
	}
}

// members lists every member of the organization with the code.
// org reads the organization with the code.
func (e *cliEnv) org(t *testing.T, code string) storage.Organization {
	t.Helper()
	o, err := e.st.GetOrganizationByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *cliEnv) members(t *testing.T, code string) []storage.Member {
	t.Helper()
	o := e.org(t, code)
	p, err := e.st.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: o.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return p.Members
}

// mails counts the mails in the outbox.
func (e *cliEnv) mails(t *testing.T) int {
	t.Helper()
	ms, err := e.st.ListMail(t.Context(), storage.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// state is what a refusal must leave alone: organizations, accounts,
// mails and audit events.
func (e *cliEnv) state(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	orgs, err := e.st.ListOrganizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.st.ListAccounts(ctx, storage.MemberFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	events, err := e.st.ListAuditEvents(ctx, storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, o := range orgs {
		fmt.Fprintf(&b, "org %s %s %s %d %s %s %s\n", o.Code, o.Name, o.TimeZone, o.MaxMembers, o.BrandNameJA, o.BrandNameEN, o.LogoHash)
	}
	for _, m := range p.Members {
		fmt.Fprintf(&b, "user %s %s %s %s %s %s %t %t %s\n", m.OrganizationID, m.Username, m.Email, m.Role, m.Status, m.EmailState,
			m.PlatformAdmin, m.Disabled, m.UpdatedAt)
	}
	fmt.Fprintf(&b, "mails %d events %d\n", e.mails(t), len(events))
	return b.String()
}

// unchanged fails the test when the state differs from before.
func (e *cliEnv) unchanged(t *testing.T, before string) {
	t.Helper()
	if d := cmp.Diff(before, e.state(t)); d != "" {
		t.Errorf("a refused command wrote (-before +after):\n%s", d)
	}
}

// backends runs fn on SQLite and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// TestOrgCommands: org add, set, list and show, and what they refuse
// without writing.
func TestOrgCommands(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig+"organizations: {max_members: 30}\n")
		out := e.mustRun(t, "", "org", "add", "--code", "Ｈ－１２３４", "--name", "Hotel Sakura 桜", "--time-zone", "Asia/Tokyo", "--max-members", "10")
		if !strings.Contains(out, "created organization H-1234") {
			t.Errorf("org add: %s", out)
		}
		e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop")

		before := e.state(t)
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"a taken code, other case", "exists already", []string{"--code", "h-1234", "--name", "X"}},
			{"a code with a space", "--code", []string{"--code", "h 1", "--name", "X"}},
			{"a code with a control character", "--code", []string{"--code", "h\x001", "--name", "X"}},
			{"an empty name", "--name", []string{"--code", "new", "--name", " "}},
			{"a name with a line break", "--name", []string{"--code", "new", "--name", "A\nB"}},
			{"an unknown time zone", "--time-zone", []string{"--code", "new", "--name", "N", "--time-zone", "Mars/Olympus"}},
			{"the local time zone", "--time-zone", []string{"--code", "new", "--name", "N", "--time-zone", "Local"}},
			{"a negative limit", "--max-members", []string{"--code", "new", "--name", "N", "--max-members", "-1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.refused(t, tc.want, "", append([]string{"org", "add"}, tc.args...)...)
			})
		}
		e.refused(t, "no organization", "", "org", "set", "nope", "--name", "X")
		e.refused(t, "nothing to change", "", "org", "set", "shop")
		e.refused(t, "--time-zone", "", "org", "set", "shop", "--time-zone", "Nowhere")
		e.refused(t, "--mfa-policy", "", "org", "set", "shop", "--mfa-policy", "sometimes")
		e.unchanged(t, before)

		// An organization's own second-factor policy, and back to the
		// deployment's.
		if out := e.mustRun(t, "", "org", "set", "shop", "--mfa-policy", "required"); !strings.Contains(out, "second factors required") {
			t.Errorf("org set --mfa-policy required: %q", out)
		}
		if o := e.org(t, "shop"); o.MFAPolicy != "required" {
			t.Errorf("stored mfa policy %q, want required", o.MFAPolicy)
		}
		if out := e.mustRun(t, "", "org", "set", "shop", "--mfa-policy", "deployment"); !strings.Contains(out, "(the deployment's)") {
			t.Errorf("org set --mfa-policy deployment: %q", out)
		}
		if o := e.org(t, "shop"); o.MFAPolicy != "" {
			t.Errorf("stored mfa policy %q, want none (the deployment's)", o.MFAPolicy)
		}

		e.mustRun(t, "", "org", "set", "shop", "--max-members", "0", "--name", "Shop & Co")
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "h-1234", "--username", "front01", "--password-stdin")
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "h-1234", "--username", "front02", "--password-stdin")

		out = e.mustRun(t, "", "org", "list")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "CODE") || !strings.HasPrefix(lines[1], "default") ||
			!strings.Contains(lines[2], "H-1234") || !strings.Contains(lines[2], "10") || !strings.Contains(lines[3], "Shop & Co") ||
			!strings.Contains(lines[3], "30") {
			t.Errorf("org list:\n%s", out)
		}
		var list []map[string]any
		if err := json.Unmarshal([]byte(e.mustRun(t, "", "org", "list", "--json")), &list); err != nil || len(list) != 3 {
			t.Fatalf("org list --json: %v %v", err, list)
		}
		wantKeys := []string{"brand_name", "code", "created_at", "id", "logo_type", "max_members", "member_limit", "name", "time_zone", "updated_at"}
		if got := keys(list[1]); !slices.Equal(got, wantKeys) || list[1]["code"] != "H-1234" || list[1]["member_limit"] != 10.0 ||
			list[2]["member_limit"] != 30.0 || list[2]["max_members"] != 0.0 {
			t.Errorf("org list --json: keys %v, %v", got, list)
		}

		out = e.mustRun(t, "", "org", "show", "h-1234")
		for _, want := range []string{"H-1234", "Hotel Sakura 桜", "Asia/Tokyo", "members       2", "member limit  10"} {
			if !strings.Contains(out, want) {
				t.Errorf("org show: no %q in\n%s", want, out)
			}
		}
		var show map[string]any
		if err := json.Unmarshal([]byte(e.mustRun(t, "", "org", "show", "H-1234", "--json")), &show); err != nil ||
			show["members"] != 2.0 || !slices.Equal(keys(show), slices.Sorted(slices.Values(append(wantKeys, "members")))) {
			t.Errorf("org show --json: %v %v", err, show)
		}
		e.refused(t, "no organization", "", "org", "show", "nope")
	})
}

// keys returns the keys of m, sorted.
func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestUserAddHotel: the organization+username mode (a hotel): account
// names without addresses, roles, the member limit, and every refusal
// writing nothing.
func TestUserAddHotel(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "H-1234", "--name", "Hotel", "--max-members", "3")
		out := e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "h-1234", "--username", "Owner01", "--role", "owner",
			"--name", "Oki", "--password-stdin")
		if !strings.Contains(out, "(Owner01) in organization H-1234") || strings.Contains(out, "verification") {
			t.Errorf("user add without an address: %s", out)
		}
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "H-1234", "--username", "front01", "--email", "front@example.com",
			"--password-stdin")
		if e.mails(t) != 1 {
			t.Errorf("%d mails, want the verification link of front01's address", e.mails(t))
		}
		got := map[string]string{}
		for _, m := range e.members(t, "H-1234") {
			got[m.Username] = m.Role + " " + m.Email
		}
		if d := cmp.Diff(map[string]string{"Owner01": "owner ", "front01": "staff front@example.com"}, got); d != "" {
			t.Errorf("members (-want +got):\n%s", d)
		}

		before := e.state(t)
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"an unknown organization", "no organization", []string{"--organization", "nope", "--username", "x1"}},
			{"an unknown role", `--role "manager" is not a declared role (owner, admin, staff)`,
				[]string{"--organization", "H-1234", "--username", "x1", "--role", "manager"}},
			{"a taken account name, in another width and case", "an account with the name front01 already exists in organization H-1234",
				[]string{"--organization", "H-1234", "--username", "ｆｒｏｎｔ01"}},
			{"a taken address", "already exists in organization H-1234",
				[]string{"--organization", "H-1234", "--username", "x1", "--email", "FRONT@example.com"}},
			{"no account name", "--username is required", []string{"--organization", "H-1234", "--email", "x@example.com"}},
			{"a bad account name", "--username must be", []string{"--organization", "H-1234", "--username", "front 03"}},
			{"a bad address", "--email is not a valid", []string{"--organization", "H-1234", "--username", "x1", "--email", "x@"}},
			{"a bad name", "--name", []string{"--organization", "H-1234", "--username", "x1", "--name", "a\x07b"}},
			{"verified without an address", "--email-verified needs --email", []string{"--organization", "H-1234", "--username", "x1", "--email-verified"}},
			{"a weak password", "password policy", []string{"--organization", "H-1234", "--username", "x1", "--stdin-password", "password"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				stdin := "S3cret-pass!\n"
				args := tc.args
				if i := slices.Index(args, "--stdin-password"); i >= 0 {
					stdin, args = args[i+1]+"\n", args[:i]
				}
				e.refused(t, tc.want, stdin, append([]string{"user", "add", "--password-stdin"}, args...)...)
			})
		}
		e.unchanged(t, before)

		// The member limit: the third member fits, the fourth does not.
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "H-1234", "--username", "front02", "--password-stdin")
		before = e.state(t)
		e.refused(t, "has as many members as it may (3)", "S3cret-pass!\n", "user", "add", "--organization", "H-1234",
			"--username", "front03", "--password-stdin")
		e.unchanged(t, before)
		// The limit is the organization's: another one is not full.
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--username", "front03", "--password-stdin")
	})
}

// TestUserAddOrderSite: the organization+email mode (an order site): one
// address may be a member of several organizations, once in each.
func TestUserAddOrderSite(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierOrgEmail, rolesConfig)
	e.mustRun(t, "", "org", "add", "--code", "C-1001", "--name", "Buyer One")
	e.mustRun(t, "", "org", "add", "--code", "C-1002", "--name", "Buyer Two")
	for _, org := range []string{"C-1001", "C-1002"} {
		e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", org, "--email", "aoi@example.com", "--role", "owner", "--password-stdin")
	}
	before := e.state(t)
	e.refused(t, "already exists in organization C-1001", "S3cret-pass!\n", "user", "add", "--organization", "C-1001",
		"--email", "AOI@example.com", "--password-stdin")
	e.refused(t, "--email is required", "S3cret-pass!\n", "user", "add", "--organization", "C-1001", "--username", "aoi", "--password-stdin")
	e.unchanged(t, before)
	if len(e.members(t, "C-1001")) != 1 || len(e.members(t, "C-1002")) != 1 {
		t.Errorf("members: %v / %v", e.members(t, "C-1001"), e.members(t, "C-1002"))
	}
}

// TestUserAddEmailMode: in the email mode an address is the deployment's
// once, whatever the organization; the default role is the lowest.
func TestUserAddEmailMode(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierEmail, rolesConfig)
	e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop")
	e.mustRun(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--email", "aoi@example.com", "--password-stdin")
	before := e.state(t)
	e.refused(t, "a user with the email Aoi@example.com already exists", "S3cret-pass!\n", "user", "add", "--email", "Aoi@example.com",
		"--password-stdin")
	e.unchanged(t, before)
	if m := e.members(t, "shop"); len(m) != 1 || m[0].Role != "staff" {
		t.Errorf("members of shop: %+v", m)
	}
}

// TestUserAddConcurrentLimit: user adds that arrive together never pass
// the organization's member limit (each takes the organization's lock).
func TestUserAddConcurrentLimit(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "shop", "--name", "Shop", "--max-members", "5")
		const n = 12
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := e.run(t, "S3cret-pass!\n", "user", "add", "--organization", "shop", "--username", fmt.Sprintf("u%02d", i), "--password-stdin")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !strings.Contains(err.Error(), "has as many members as it may (5)"):
				t.Errorf("user add: %v", err)
			}
		}
		if m := e.members(t, "shop"); ok != 5 || len(m) != 5 {
			t.Errorf("%d of %d concurrent adds succeeded, %d members; want 5 and 5", ok, n, len(m))
		}
	})
}
