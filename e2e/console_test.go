package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// The console's test organizations: a hotel whose members have each
// role, and a shop, whose member ids the hotel's administrators must not
// reach.
const (
	hotelID   = "10000000-0000-4000-8000-000000000001"
	shopID    = "10000000-0000-4000-8000-000000000002"
	adminPass = "Console-pass-7!"
)

// consoleRoles are the roles of the console tests, highest first.
var consoleRoles = []config.Role{
	{Name: "owner", Labels: config.Labels{JA: "管理者（契約者）", EN: "Owner"}, ManageMembers: true},
	{Name: "admin", Labels: config.Labels{JA: "管理者", EN: "Administrator"}, ManageMembers: true},
	{Name: "staff", Labels: config.Labels{JA: "スタッフ", EN: "Staff"}},
}

// console is a provider with two organizations and their members.
type console struct {
	*env
	smtp                       *mailtest.Server
	owner, admin, staff, other storage.User // of the hotel
	shopOwner, shopStaff       storage.User
}

// newConsole starts a provider with roles and the two organizations, mail
// going to a test SMTP server.
func newConsole(t *testing.T, store storage.Storage, mutate ...func(*config.Config)) *console {
	t.Helper()
	smtp := startSMTP(t)
	e := newEnvSMTP(t, store, smtp, append([]func(*config.Config){func(c *config.Config) {
		c.Roles = consoleRoles
		c.ApplyDefaults()
	}}, mutate...)...)
	c := &console{env: e, smtp: smtp}
	ctx := t.Context()
	now := time.Now().UTC()
	for _, o := range []storage.Organization{
		{ID: hotelID, Code: "hotel", Name: "Hotel Sakura", TimeZone: "Asia/Tokyo", CreatedAt: now, UpdatedAt: now},
		{ID: shopID, Code: "shop", Name: "Shop", TimeZone: "UTC", CreatedAt: now, UpdatedAt: now},
	} {
		if err := store.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	c.owner = c.member(hotelID, "owner@hotel.example", "", "Owner Oda", "owner")
	c.admin = c.member(hotelID, "admin@hotel.example", "", "Admin Abe", "admin")
	c.staff = c.member(hotelID, "staff@hotel.example", "", "Staff Sato", "staff")
	c.other = c.member(hotelID, "other@hotel.example", "", "Other Ono", "staff")
	c.shopOwner = c.member(shopID, "owner@shop.example", "", "Shop Owner", "owner")
	c.shopStaff = c.member(shopID, "staff@shop.example", "", "Shop Staff", "staff")
	return c
}

// member adds an active member with the password adminPass.
func (c *console) member(orgID, email, username, name, role string) storage.User {
	c.t.Helper()
	h := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2)
	hash, err := h.Hash(c.t.Context(), adminPass)
	if err != nil {
		c.t.Fatal(err)
	}
	now := time.Now().UTC()
	u := storage.User{ID: uuid.NewString(), OrganizationID: orgID, Email: email, Username: username, Name: name, Role: role,
		EmailVerified: email != "", PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := c.store.AddMember(c.t.Context(), storage.NewMember{User: u}); err != nil {
		c.t.Fatal(err)
	}
	return u
}

// signedIn is a browser signed in as u through the sign-in form, on the
// console's members list.
func (c *console) signedIn(t *testing.T, u storage.User) *browser {
	t.Helper()
	b := c.browser()
	p := b.get(c.cfg.Issuer + "/admin/members")
	if !p.hasLoginForm() {
		t.Fatalf("the console without a session: status %d at %s, want the sign-in form", p.status, p.url)
	}
	p = b.signIn(p, u.Email, adminPass)
	if p.status != http.StatusOK || p.url.Path != "/admin/members" {
		t.Fatalf("after signing in as %s: status %d at %s: %.300s", u.Email, p.status, p.url, htmltest.Text(p.doc))
	}
	return b
}

// withSession is a browser holding a session of u that signed in at
// authTime, made in storage (for the account-name mode, whose sign-in
// form another part builds).
func (c *console) withSession(t *testing.T, u storage.User, authTime time.Time) *browser {
	t.Helper()
	keys, err := secret.Parse(c.cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	token := secret.RandomToken(32)
	now := c.clock.now().UTC()
	s := storage.Session{ID: uuid.NewString(), TokenHash: keys.Hash("session", token), UserID: u.ID, AuthTime: authTime.UTC(),
		AMR: []string{"pwd"}, ACR: login.ACRPassword, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour),
		AbsoluteExpiresAt: now.Add(24 * time.Hour)}
	if err := c.store.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	b := c.browser()
	issuer, _ := url.Parse(c.cfg.Issuer)
	b.c.Jar.SetCookies(issuer, []*http.Cookie{{Name: login.SessionCookie, Value: token, Path: "/"}})
	return b
}

// form posts a console form from the issuer's own page.
func (b *browser) form(path string, v url.Values) page {
	b.t.Helper()
	return b.post(b.e.cfg.Issuer+path, v, b.e.cfg.Issuer)
}

// heading is the text of the page's h1.
func heading(p page) string {
	if p.doc == nil {
		return ""
	}
	if h := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "h1") }); len(h) > 0 {
		return htmltest.Text(h[0])
	}
	return ""
}

// byID is the text of the element with the id, or "".
func byID(p page, id string) string {
	if p.doc == nil {
		return ""
	}
	if n := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == id }); len(n) > 0 {
		return htmltest.Text(n[0])
	}
	return ""
}

// memberPath is a member's page.
func memberPath(id string) string { return "/admin/members/" + id }

// TestConsoleAccess: the console asks for a sign-in, then one within
// admin.max_age; a member whose role may not manage members gets 403
// with a way to their account; a form from another site is refused.
func TestConsoleAccess(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		b := c.signedIn(t, c.admin)
		p := b.get(c.cfg.Issuer + "/admin")
		if p.url.Path != "/admin/members" || !strings.Contains(htmltest.Text(p.doc), c.staff.Name) ||
			strings.Contains(htmltest.Text(p.doc), c.shopStaff.Name) {
			t.Fatalf("/admin: %d at %s", p.status, p.url)
		}

		staff := c.signedInAnywhere(t, c.staff)
		p = staff.get(c.cfg.Issuer + "/admin/members")
		if p.status != http.StatusForbidden || !hasLink(p, "/account") {
			t.Errorf("staff: status %d, want 403 with a link to /account: %.200s", p.status, htmltest.Text(p.doc))
		}
		if p := staff.form("/admin/members/new", url.Values{"name": {"X"}, "email": {"x@hotel.example"}}); p.status != http.StatusForbidden {
			t.Errorf("staff adds a member: status %d", p.status)
		}

		// Past admin.max_age the password is asked again, and the browser
		// comes back to the page it asked for.
		c.clock.add(c.cfg.Admin.MaxAge.D() + time.Minute)
		p = b.get(c.cfg.Issuer + memberPath(c.staff.ID))
		if !p.hasLoginForm() {
			t.Fatalf("an old sign-in reached the console: %d at %s", p.status, p.url)
		}
		// A form posted meanwhile does nothing and asks again.
		if p := b.form(memberPath(c.staff.ID)+"/disable", nil); p.status != http.StatusSeeOther && !p.hasLoginForm() {
			t.Errorf("a form with an old sign-in: status %d at %s", p.status, p.url)
		}
		if u, _ := c.store.GetUser(t.Context(), c.staff.ID); u.Disabled {
			t.Error("a form with an old sign-in disabled a member")
		}
		p = b.signIn(p, c.admin.Email, adminPass)
		if p.status != http.StatusOK || p.url.Path != memberPath(c.staff.ID) {
			t.Fatalf("after signing in again: %d at %s", p.status, p.url)
		}

		// Cross-site forms are refused by the cross-origin protection.
		req := b.postRequest(c.cfg.Issuer+memberPath(c.staff.ID)+"/disable", url.Values{}, "https://evil.example")
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("cross-site form: status %d", p.status)
		}
		if u, _ := c.store.GetUser(t.Context(), c.staff.ID); u.Disabled {
			t.Error("a cross-site form disabled a member")
		}
	})
}

// signedInAnywhere is a browser signed in as u through /account (for
// members who cannot open the console).
func (c *console) signedInAnywhere(t *testing.T, u storage.User) *browser {
	t.Helper()
	b := c.browser()
	c.openAccount(t, b, u.Email, adminPass)
	return b
}

func hasLink(p page, href string) bool {
	return p.doc != nil && len(htmltest.Find(p.doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == href
	})) > 0
}

// memberRoutes are every route of a member's page: the GETs and each
// action's POST (with a form that would succeed on a member of one's
// own organization).
var memberRoutes = []struct {
	method, action string
	form           url.Values
}{
	{http.MethodGet, "", nil},
	{http.MethodGet, "/delete", nil},
	{http.MethodPost, "/profile", url.Values{"name": {"Taken Over"}, "role": {"staff"}}},
	{http.MethodPost, "/email", url.Values{"email": {"thief@hotel.example"}}},
	{http.MethodPost, "/resend", nil},
	{http.MethodPost, "/require-change", nil},
	{http.MethodPost, "/reset-mail", nil},
	{http.MethodPost, "/sign-out", nil},
	{http.MethodPost, "/disable", nil},
	{http.MethodPost, "/enable", nil},
	{http.MethodPost, "/delete", nil},
}

// TestConsoleOtherOrganization404: every member route and action, given
// another organization's member id, answers exactly as for an unknown
// id (404, the same page) and changes nothing.
func TestConsoleOtherOrganization404(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		b := c.signedIn(t, c.owner)
		do := func(method, path string, form url.Values) page {
			if method == http.MethodGet {
				return b.get(c.cfg.Issuer + path)
			}
			return b.form(path, form)
		}
		before, _ := c.store.GetUser(t.Context(), c.shopStaff.ID)
		for _, r := range memberRoutes {
			t.Run(r.method+r.action, func(t *testing.T) {
				unknown := do(r.method, memberPath(uuid.NewString())+r.action, r.form)
				foreign := do(r.method, memberPath(c.shopStaff.ID)+r.action, r.form)
				if unknown.status != http.StatusNotFound || foreign.status != http.StatusNotFound {
					t.Errorf("status: unknown id %d, another organization's %d; want 404 and 404", unknown.status, foreign.status)
				}
				if htmltest.Text(unknown.doc) != htmltest.Text(foreign.doc) {
					t.Errorf("the pages differ:\nunknown: %.200s\nforeign: %.200s", htmltest.Text(unknown.doc), htmltest.Text(foreign.doc))
				}
			})
		}
		after, err := c.store.GetUser(t.Context(), c.shopStaff.ID)
		if err != nil || after.Name != before.Name || after.Disabled || after.MustChangePassword || after.Email != before.Email {
			t.Errorf("another organization's member changed: %+v, %v", after, err)
		}
		if n := countTo(c.smtp, c.shopStaff.Email, ""); n > 0 {
			t.Errorf("%d mails went to another organization's member", n)
		}
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Member: c.shopStaff.ID})
		if len(events) > 0 {
			t.Errorf("events about another organization's member: %+v", events)
		}
		// The audit page of a foreign member shows nothing of theirs.
		p := b.get(c.cfg.Issuer + "/admin/audit?member=" + c.shopStaff.ID)
		if p.status != http.StatusOK || strings.Contains(htmltest.Text(p.doc), c.shopStaff.Name) {
			t.Errorf("audit of another organization's member: %d %.200s", p.status, htmltest.Text(p.doc))
		}
	})
}

// TestConsoleRankRules: an administrator acts on members of equal or
// lower rank only and grants only such roles; the last owner stays;
// each refusal says why and changes nothing.
func TestConsoleRankRules(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		admin := c.signedIn(t, c.admin)
		owner := c.signedIn(t, c.owner)
		const forbidden = "ranks above yours"
		for _, tc := range []struct {
			name    string
			b       *browser
			path    string
			form    url.Values
			status  int
			message string
		}{
			{"an admin demotes the owner", admin, memberPath(c.owner.ID) + "/profile", url.Values{"name": {c.owner.Name}, "role": {"staff"}},
				http.StatusForbidden, forbidden},
			{"an admin disables the owner", admin, memberPath(c.owner.ID) + "/disable", nil, http.StatusForbidden, forbidden},
			{"an admin deletes the owner", admin, memberPath(c.owner.ID) + "/delete", nil, http.StatusForbidden, forbidden},
			{"an admin signs the owner out", admin, memberPath(c.owner.ID) + "/sign-out", nil, http.StatusForbidden, forbidden},
			{"an admin makes staff an owner", admin, memberPath(c.staff.ID) + "/profile", url.Values{"name": {c.staff.Name}, "role": {"owner"}},
				http.StatusBadRequest, "cannot give this role"},
			{"an admin adds an owner", admin, "/admin/members/new", url.Values{"name": {"New"}, "email": {"new@hotel.example"}, "role": {"owner"}},
				http.StatusBadRequest, "cannot give this role"},
			{"the last owner demotes themselves", owner, memberPath(c.owner.ID) + "/profile", url.Values{"name": {c.owner.Name}, "role": {"admin"}},
				http.StatusConflict, "last member with the highest role"},
			{"an admin disables themselves", admin, memberPath(c.admin.ID) + "/disable", nil, http.StatusBadRequest, "your own account"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := tc.b.form(tc.path, tc.form)
				if p.status != tc.status || !strings.Contains(alertText(p), tc.message) {
					t.Errorf("status %d, alert %q; want %d and %q", p.status, alertText(p), tc.status, tc.message)
				}
			})
		}
		for _, u := range []storage.User{c.owner, c.admin, c.staff} {
			got, err := c.store.GetUser(t.Context(), u.ID)
			if err != nil || got.Role != u.Role || got.Disabled {
				t.Errorf("%s after refused changes: role %q disabled %v, %v", u.Name, got.Role, got.Disabled, err)
			}
		}
		if _, err := c.store.GetMemberByEmail(t.Context(), hotelID, "new@hotel.example"); err == nil {
			t.Error("a refused addition added a member")
		}
		// The owner's page is view-only for an admin.
		if p := admin.get(c.cfg.Issuer + memberPath(c.owner.ID)); p.hasForm(memberPath(c.owner.ID)+"/profile") || byID(p, "view-only") == "" {
			t.Error("an admin sees the owner's forms")
		}
		// An admin may act on an equal and promote staff to admin.
		if p := admin.form(memberPath(c.staff.ID)+"/profile", url.Values{"name": {"Staff Sato"}, "role": {"admin"}}); p.url.Path != memberPath(c.staff.ID) ||
			!strings.Contains(noticeText(p), "saved") {
			t.Errorf("promote staff: %d %q %q", p.status, noticeText(p), alertText(p))
		}
		// With a second owner, the first may step down.
		if p := owner.form(memberPath(c.admin.ID)+"/profile", url.Values{"name": {c.admin.Name}, "role": {"owner"}}); !strings.Contains(noticeText(p), "saved") {
			t.Errorf("make a second owner: %q", alertText(p))
		}
		if p := owner.form(memberPath(c.owner.ID)+"/profile", url.Values{"name": {c.owner.Name}, "role": {"admin"}}); !strings.Contains(noticeText(p), "saved") {
			t.Errorf("step down with a second owner: %q", alertText(p))
		}
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: hotelID, Type: "role_changed"})
		if len(events) != 3 || events[0].ActorID != c.owner.ID || events[0].UserID != c.owner.ID || events[0].Detail != "owner → admin" {
			t.Errorf("role_changed events: %+v", events)
		}
	})
}

// concurrentAdds is how many additions arrive at once against the
// member limit.
const concurrentAdds = 40

// TestConsoleMemberLimit: of concurrent additions through the console,
// exactly as many as the organization's limit leaves room for succeed;
// the others get the limit's message. On SQLite, PostgreSQL, and two
// replicas of one PostgreSQL database.
func TestConsoleMemberLimit(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		testMemberLimitBurst(t, c, []*env{c.env})
	})
	t.Run("two replicas", func(t *testing.T) {
		dsn := gormstoretest.PostgresDSN(t)
		c := newConsole(t, openPostgres(t, dsn))
		other := c.second(openPostgres(t, dsn))
		c.run()
		other.run()
		testMemberLimitBurst(t, c, []*env{c.env, other})
	})
}

func testMemberLimitBurst(t *testing.T, c *console, replicas []*env) {
	const limit = 10
	if _, err := c.store.UpdateOrganization(t.Context(), hotelID, func(o storage.Organization) (storage.Organization, error) {
		o.MaxMembers = limit
		return o, nil
	}); err != nil {
		t.Fatal(err)
	}
	before, err := c.store.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: hotelID})
	if err != nil {
		t.Fatal(err)
	}
	b := c.signedIn(t, c.admin)
	var wg sync.WaitGroup
	pages := make([]page, concurrentAdds)
	errs := make([]error, concurrentAdds)
	for i := range concurrentAdds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := replicas[i%len(replicas)]
			req := b.postRequest(r.ts.URL+"/admin/members/new", url.Values{"name": {fmt.Sprintf("New %02d", i)},
				"email": {fmt.Sprintf("new%02d@hotel.example", i)}, "role": {"staff"}}, c.cfg.Issuer)
			pages[i], errs[i] = b.send(req)
		}()
	}
	wg.Wait()
	added := 0
	for i, p := range pages {
		switch {
		case errs[i] != nil:
			t.Errorf("add %d: %v", i, errs[i])
		case p.status == http.StatusOK && strings.HasPrefix(p.url.Path, "/admin/members/"),
			// The browser stops at a redirect to another replica's host.
			p.status == http.StatusSeeOther && strings.HasPrefix(p.header.Get("Location"), "/admin/members/"):
			added++
		case p.status != http.StatusConflict || !strings.Contains(alertText(p), "as many members as it may"):
			t.Errorf("add %d: status %d, alert %q", i, p.status, alertText(p))
		}
	}
	after, err := c.store.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: hotelID})
	if err != nil {
		t.Fatal(err)
	}
	if want := limit - before.Total; added != want || after.Total != limit {
		t.Errorf("%d of %d concurrent additions succeeded (%d members), want %d (%d members)", added, concurrentAdds, after.Total, want, limit)
	}
	// Each member added has exactly one invitation.
	for _, m := range after.Members {
		if m.Status == storage.StatusInvited {
			mailsTo(t, c.smtp, m.Email, "invited", 1)
		}
	}
}
