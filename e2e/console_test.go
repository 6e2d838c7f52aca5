package e2e

import (
	"encoding/csv"
	"fmt"
	"github.com/google/go-cmp/cmp"
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
	if _, err := c.store.UpdateOrganization(t.Context(), hotelID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.MaxMembers = limit
		return o, nil, nil
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

// acceptInvitation opens an invitation link in b and sets pw, returning
// the page it lands on.
func (b *browser) acceptInvitation(t *testing.T, link, pw string) page {
	t.Helper()
	p := b.get(link)
	if p.status != http.StatusOK || p.url.Path != "/invite" || p.url.RawQuery != "" {
		t.Fatalf("invitation link: status %d at %s, want the invitation page without the token", p.status, p.url)
	}
	_, inputs := formInputs(t, p.doc, "/invite")
	want := map[string]string{"email": "username", "username": "username", "password": "new-password", "confirm": "new-password"}
	for _, in := range inputs {
		if w := want[in["name"]]; w != "" && in["autocomplete"] != w {
			t.Errorf("invitation input %s: autocomplete %q, want %q", in["name"], in["autocomplete"], w)
		}
	}
	return b.form("/invite", url.Values{"password": {pw}, "confirm": {pw}})
}

// invitationLink is the link of the n-th invitation mail to addr.
func (c *console) invitationLink(t *testing.T, addr string, n int) string {
	t.Helper()
	link := mailtest.Link(mailsTo(t, c.smtp, addr, "invited", n)[n-1].Text, c.cfg.Issuer+"/invite?")
	if link == "" {
		t.Fatal("no link in the invitation")
	}
	return link
}

// memberState is a member's status and email state as the list shows.
func (c *console) memberState(t *testing.T, id string) storage.Member {
	t.Helper()
	p, err := c.store.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: hotelID, UserID: id, Now: c.clock.now()})
	if err != nil || len(p.Members) != 1 {
		t.Fatalf("member %s: %v", id, err)
	}
	return p.Members[0]
}

// TestConsoleInvitation: an added member is invited by mail; until they
// accept they can neither sign in nor reset; the link sets the password
// (policy applied), verifies the address and signs them in on /account;
// a used, replaced or expired link says to ask the administrator; a
// resend works again.
func TestConsoleInvitation(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		b := c.signedIn(t, c.admin)
		p := b.get(c.cfg.Issuer + "/admin/members/new")
		_, inputs := formInputs(t, p.doc, "/admin/members/new")
		if len(inputs) == 0 {
			t.Fatal("no form")
		}
		p = b.form("/admin/members/new", url.Values{"name": {"Mika Mori"}, "email": {"mika@hotel.example"}, "role": {"staff"}})
		if p.status != http.StatusOK || !strings.Contains(noticeText(p), "added") {
			t.Fatalf("add: %d %q %q", p.status, noticeText(p), alertText(p))
		}
		id := strings.TrimPrefix(p.url.Path, "/admin/members/")
		if m := c.memberState(t, id); m.Status != storage.StatusInvited || m.EmailState != storage.EmailNotRegistered || m.Role != "staff" {
			t.Errorf("new member: %+v", m)
		}
		first := c.invitationLink(t, "mika@hotel.example", 1)
		if msg := mailsTo(t, c.smtp, "mika@hotel.example", "invited", 1)[0]; !strings.Contains(msg.Text, "Hotel Sakura") {
			t.Errorf("invitation text: %s", msg.Text)
		}

		// Not yet: no sign-in, no reset code.
		fresh := c.browser()
		if r := fresh.signIn(fresh.get(newAuthz("web", webCB, "openid").url(c.cfg.Issuer)), "mika@hotel.example", "Whatever-1!x"); !r.hasLoginForm() {
			t.Error("an invited member signed in")
		}
		fresh.forgot(t, newAuthz("web", webCB, "openid"), "mika@hotel.example")
		if n := countTo(c.smtp, "mika@hotel.example", "code"); n > 0 {
			t.Errorf("an invited member got %d reset codes", n)
		}

		// A resend voids the first link.
		if p := b.form(memberPath(id)+"/resend", nil); !strings.Contains(noticeText(p), "invitation was sent") {
			t.Fatalf("resend: %q", alertText(p))
		}
		second := c.invitationLink(t, "mika@hotel.example", 2)
		if p := c.browser().get(first); p.status != http.StatusGone || !strings.Contains(htmltest.Text(p.doc), "ask your administrator") {
			t.Errorf("a replaced invitation: status %d: %.200s", p.status, htmltest.Text(p.doc))
		}

		member := c.browser()
		if p := member.acceptInvitation(t, second, "short"); !strings.Contains(alertText(p), "upper-case") {
			t.Errorf("a weak password: %q", alertText(p))
		}
		p = member.acceptInvitation(t, second, "Blue-harbor-29!")
		if p.status != http.StatusOK || p.url.Path != "/account" || !strings.Contains(htmltest.Text(p.doc), "mika@hotel.example") {
			t.Fatalf("after the invitation: status %d at %s: %q", p.status, p.url, alertText(p))
		}
		m := c.memberState(t, id)
		if m.Status != storage.StatusActive || m.EmailState != storage.EmailRegistered || m.LastLoginAt == nil || m.InvitedAt != nil {
			t.Errorf("member after accepting: %+v", m)
		}
		if p := c.browser().get(second); p.status != http.StatusGone {
			t.Errorf("a used invitation: status %d", p.status)
		}
		// The password works for an application.
		c.signInScoped(t, c.browser(), "mika@hotel.example", "Blue-harbor-29!", "openid")
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Member: id})
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Type)
		}
		for _, k := range []string{"member_added", "invitation_sent", "invitation_accepted"} {
			if !strings.Contains(strings.Join(kinds, " "), k) {
				t.Errorf("events %v, want %s", kinds, k)
			}
		}

		// An invitation that expires leaves the member "invitation
		// expired"; the link says so; a resend works.
		p = b.form("/admin/members/new", url.Values{"name": {"Late Lee"}, "email": {"late@hotel.example"}})
		late := strings.TrimPrefix(p.url.Path, "/admin/members/")
		link := c.invitationLink(t, "late@hotel.example", 1)
		c.clock.add(c.cfg.Invitation.Lifetime.D() + time.Minute)
		if m := c.memberState(t, late); m.Status != storage.StatusInviteExpired {
			t.Errorf("after the lifetime: status %s", m.Status)
		}
		if p := c.browser().get(link); p.status != http.StatusGone || !strings.Contains(htmltest.Text(p.doc), "ask your administrator") {
			t.Errorf("an expired invitation: status %d", p.status)
		}
		b = c.signedIn(t, c.admin) // the clock moved past admin.max_age
		if p := b.get(c.cfg.Issuer + "/admin/members?status=invitation_expired"); !strings.Contains(htmltest.Text(p.doc), "Late Lee") ||
			strings.Contains(htmltest.Text(p.doc), "Mika Mori") {
			t.Errorf("filter invitation_expired: %.300s", htmltest.Text(p.doc))
		}
		b.form(memberPath(late)+"/resend", nil)
		if p := c.browser().acceptInvitation(t, c.invitationLink(t, "late@hotel.example", 2), "Green-valley-31!"); p.url.Path != "/account" {
			t.Errorf("a resent invitation: %d at %s", p.status, p.url)
		}
	})
}

// TestConsoleMemberActions: each action of a member's page, with its
// effect, its mail and its audit event (the administrator as actor).
func TestConsoleMemberActions(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		b := c.signedIn(t, c.admin)
		staff := memberPath(c.staff.ID)
		ok := func(p page, notice string) {
			t.Helper()
			if p.status != http.StatusOK || p.url.Path != staff || !strings.Contains(noticeText(p), notice) {
				t.Fatalf("status %d at %s, notice %q, alert %q; want %q", p.status, p.url, noticeText(p), alertText(p), notice)
			}
		}

		// The address: an address of another member is refused; a new one
		// gets a link, the member stays "not registered" with the old
		// address until they open it, signed in; the old one hears of it.
		if p := b.form(staff+"/email", url.Values{"email": {c.other.Email}}); p.status != http.StatusConflict ||
			!strings.Contains(alertText(p), "already uses this email") {
			t.Errorf("another member's address: %d %q", p.status, alertText(p))
		}
		ok(b.form(staff+"/email", url.Values{"email": {"sato.new@hotel.example"}}), "confirmation link")
		m := c.memberState(t, c.staff.ID)
		if m.EmailState != storage.EmailNotRegistered || m.Email != c.staff.Email || m.PendingEmail != "sato.new@hotel.example" {
			t.Errorf("while the link waits: %+v", m)
		}
		if p := b.get(c.cfg.Issuer + staff); !strings.Contains(byID(p, "member-email"), "Not registered") {
			t.Errorf("member page while the link waits: %q", byID(p, "member-email"))
		}
		link := mailtest.Link(mailsTo(t, c.smtp, "sato.new@hotel.example", "Confirm your email", 1)[0].Text, c.cfg.Issuer+"/email/verify?")
		member := c.browser()
		if p := member.signIn(member.get(link), c.staff.Email, adminPass); !strings.Contains(htmltest.Text(p.doc), "sato.new@hotel.example") {
			t.Fatalf("open the link: %d %.200s", p.status, htmltest.Text(p.doc))
		}
		if m := c.memberState(t, c.staff.ID); m.EmailState != storage.EmailRegistered || m.Email != "sato.new@hotel.example" {
			t.Errorf("after the link: %+v", m)
		}
		mailsTo(t, c.smtp, c.staff.Email, "changed", 1)
		c.staff.Email = "sato.new@hotel.example"

		// Name, role.
		ok(b.form(staff+"/profile", url.Values{"name": {"Sato Sachi"}, "role": {"staff"}}), "saved")
		ok(b.form(staff+"/profile", url.Values{"name": {"Sato Sachi"}, "role": {"staff"}}), "Nothing was changed")

		// Sign out everywhere: the member's tokens stop working.
		tok, _ := c.signInScoped(t, c.browser(), c.staff.Email, adminPass, "openid offline_access")
		ok(b.form(staff+"/sign-out", nil), "signed out everywhere")
		if c.introspect(t, tok.AccessToken) {
			t.Error("an access token works after signing the member out everywhere")
		}
		if status, _ := c.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); status == http.StatusOK {
			t.Error("a refresh token works after signing the member out everywhere")
		}

		// Require a password change: the next sign-in asks for one.
		ok(b.form(staff+"/require-change", nil), "must change the password")
		fresh := c.browser()
		if p := fresh.signIn(fresh.get(newAuthz("web", webCB, "openid").url(c.cfg.Issuer)), c.staff.Email, adminPass); !p.hasForm("/login/password") {
			t.Errorf("no password change after the administrator required one: %.200s", htmltest.Text(p.doc))
		}

		// A reset mail links to the reset for the member's address.
		ok(b.form(staff+"/reset-mail", nil), "reset email was sent")
		resetLink := mailtest.Link(mailsTo(t, c.smtp, c.staff.Email, "reset your", 1)[0].Text, c.cfg.Issuer+"/reset?")
		if p := c.browser().get(resetLink); !p.hasForm("/reset") {
			t.Errorf("the reset mail's link: %d at %s", p.status, p.url)
		}

		// Disable: no sign-in, tokens revoked; enable again.
		tok, _ = c.signInScoped(t, c.browser(), c.other.Email, adminPass, "openid offline_access")
		other := memberPath(c.other.ID)
		if p := b.form(other+"/disable", nil); !strings.Contains(noticeText(p), "disabled") {
			t.Fatalf("disable: %q", alertText(p))
		}
		if c.introspect(t, tok.AccessToken) {
			t.Error("an access token works after the member was disabled")
		}
		if d := c.browser(); !d.signIn(d.get(newAuthz("web", webCB, "openid").url(c.cfg.Issuer)), c.other.Email, adminPass).hasLoginForm() {
			t.Error("a disabled member signed in")
		}
		if m := c.memberState(t, c.other.ID); m.Status != storage.StatusDisabled {
			t.Errorf("status %s", m.Status)
		}
		if p := b.form(other+"/enable", nil); !strings.Contains(noticeText(p), "enabled") {
			t.Fatalf("enable: %q", alertText(p))
		}
		c.signInScoped(t, c.browser(), c.other.Email, adminPass, "openid")

		// Delete, after a confirmation page; the address hears of it.
		p := b.get(c.cfg.Issuer + other + "/delete")
		if !p.hasForm(other+"/delete") || !strings.Contains(byID(p, "delete-question"), c.other.Name) {
			t.Fatalf("confirmation page: %d %.200s", p.status, htmltest.Text(p.doc))
		}
		p = b.form(other+"/delete", nil)
		if p.url.Path != "/admin/members" || !strings.Contains(noticeText(p), "deleted") || strings.Contains(htmltest.Text(p.doc), c.other.Name) {
			t.Fatalf("delete: %d at %s %q", p.status, p.url, alertText(p))
		}
		mailsTo(t, c.smtp, c.other.Email, "deleted", 1)
		if _, err := c.store.GetUser(t.Context(), c.other.ID); err == nil {
			t.Error("the member is still there")
		}

		// Every action is audited in the organization, the administrator
		// as actor.
		events, err := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: hotelID, Member: c.admin.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range events {
			if e.ActorID == c.admin.ID {
				got[e.Type] = true
			}
		}
		for _, k := range []string{"email_change_requested", "name_changed", "sessions_revoked", "password_change_required",
			"password_reset_sent", "user_disable", "user_enable", "user_delete"} {
			if !got[k] {
				t.Errorf("no %s event by the administrator (got %v)", k, got)
			}
		}
		for _, e := range events {
			if strings.Contains(e.Detail, "@") && !strings.Contains(e.Detail, "***") {
				t.Errorf("event %s holds an address: %q", e.Type, e.Detail)
			}
		}
	})
}

// TestConsoleCSV: the export has the list's columns, a BOM, the filters
// applied, every page, and cells a spreadsheet would run as formulas
// quoted.
func TestConsoleCSV(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.member(hotelID, "formula@hotel.example", "", "=HYPERLINK(\"http://evil\")", "staff")
		c.member(hotelID, "plus@hotel.example", "", "+81-3-1234", "staff")
		for i := range 60 { // more than a page of the list
			c.member(hotelID, fmt.Sprintf("bulk%02d@hotel.example", i), "", fmt.Sprintf("Bulk %02d", i), "staff")
		}
		b := c.signedIn(t, c.owner)
		get := func(path string) (string, http.Header) {
			t.Helper()
			p := b.get(c.cfg.Issuer + path)
			if p.status != http.StatusOK {
				t.Fatalf("%s: status %d", path, p.status)
			}
			return p.body, p.header
		}
		body, h := get("/admin/members.csv")
		if ct := h.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("headers: %s, %s", ct, h.Get("Content-Disposition"))
		}
		if !strings.HasPrefix(body, "\uFEFF") {
			t.Fatalf("no BOM: %q", body[:min(len(body), 20)])
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Name", "Email address", "Email", "Role", "Status", "Last sign-in"}, rows[0]); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		if len(rows) != 1+4+2+60 { // the hotel's members, every page
			t.Errorf("%d rows", len(rows))
		}
		byEmail := map[string][]string{}
		for _, r := range rows[1:] {
			byEmail[r[1]] = r
		}
		if r := byEmail["formula@hotel.example"]; r[0] != `'=HYPERLINK("http://evil")` {
			t.Errorf("a formula name: %q", r[0])
		}
		if r := byEmail["plus@hotel.example"]; r[0] != "'+81-3-1234" {
			t.Errorf("a name starting with +: %q", r[0])
		}
		if r := byEmail[c.staff.Email]; r[0] != "Staff Sato" || r[2] != "Registered" || r[3] != "Staff" || r[4] != "Active" || r[5] != "" {
			t.Errorf("staff row: %q", r)
		}
		if _, ok := byEmail[c.shopStaff.Email]; ok {
			t.Error("another organization's member in the export")
		}

		// The filters apply; Japanese headers and values.
		body, _ = get("/admin/members.csv?q=bulk0&status=active&lang=ja")
		rows, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
		if len(rows) != 1+10 || rows[0][0] != "名前" || rows[1][3] != "スタッフ" || rows[1][4] != "有効" || rows[1][2] != "登録済み" {
			t.Errorf("filtered, in Japanese: %d rows, %q %q", len(rows), rows[0], rows[1])
		}
		// The list's CSV link carries its filters.
		p := b.get(c.cfg.Issuer + "/admin/members?q=bulk&email=registered&lang=en")
		if href := linkHref(p, "csv"); href != "/admin/members.csv?email=registered&q=bulk" {
			t.Errorf("CSV link %q", href)
		}
		if !strings.Contains(htmltest.Text(p.doc), "Page 1 of 2") || !hasLink(p, "/admin/members?email=registered&page=2&q=bulk") {
			t.Errorf("pages: %.300s", htmltest.Text(p.doc))
		}
	})
}

// linkHref is the href of the link with the id.
func linkHref(p page, id string) string {
	if p.doc == nil {
		return ""
	}
	for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && htmltest.Attr(n, "id") == id }) {
		return htmltest.Attr(n, "href")
	}
	return ""
}

// auditRows are the rows of the audit page: event, member, actor.
func auditRows(t *testing.T, p page) [][3]string {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("audit page: status %d", p.status)
	}
	var out [][3]string
	for _, tr := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "tr") }) {
		cells := htmltest.Find(tr, func(n *html.Node) bool { return htmltest.IsTag(n, "td") })
		if len(cells) == 6 {
			out = append(out, [3]string{htmltest.Text(cells[1]), htmltest.Text(cells[2]), htmltest.Text(cells[3])})
		}
	}
	return out
}

// TestConsoleAudit: the organization's events newest first, with who did
// what to whom by name (never an address), filtered by member and kind,
// in pages.
func TestConsoleAudit(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		b := c.signedIn(t, c.admin)
		c.signInScoped(t, c.browser(), c.staff.Email, adminPass, "openid")
		c.signInScoped(t, c.browser(), c.shopStaff.Email, adminPass, "openid")
		b.form(memberPath(c.staff.ID)+"/profile", url.Values{"name": {c.staff.Name}, "role": {"admin"}})
		b.form(memberPath(c.other.ID)+"/require-change", nil)

		rows := auditRows(t, b.get(c.cfg.Issuer+"/admin/audit?lang=en"))
		if len(rows) != 4 || rows[3] != [3]string{"Sign-in", "Admin Abe", "—"} || rows[0] != [3]string{"Password change required", "Other Ono", "Admin Abe"} ||
			rows[1] != [3]string{"Role changed", "Staff Sato", "Admin Abe"} {
			t.Errorf("newest first: %q", rows)
		}
		p := b.get(c.cfg.Issuer + "/admin/audit")
		text := htmltest.Text(p.doc)
		if strings.Contains(text, "@hotel.example") || strings.Contains(text, c.shopStaff.Name) {
			t.Errorf("the audit page shows an address or another organization: %.500s", text)
		}
		// By member: about them, and what they did.
		rows = auditRows(t, b.get(c.cfg.Issuer+"/admin/audit?member="+c.staff.ID))
		if len(rows) != 2 || rows[0][0] != "Role changed" || rows[1] != [3]string{"Sign-in", "Staff Sato", "—"} {
			t.Errorf("about staff: %q", rows)
		}
		rows = auditRows(t, b.get(c.cfg.Issuer+"/admin/audit?member="+c.admin.ID+"&kind=role_changed"))
		if len(rows) != 1 || rows[0][1] != "Staff Sato" {
			t.Errorf("by admin, role changes: %q", rows)
		}
		// The member page links to the member's events.
		if p := b.get(c.cfg.Issuer + memberPath(c.staff.ID)); linkHref(p, "member-audit") != "/admin/audit?member="+c.staff.ID {
			t.Errorf("member audit link %q", linkHref(p, "member-audit"))
		}
		// Pages of 50.
		for i := range 60 {
			if err := c.store.AddAuditEvent(t.Context(), storage.AuditEvent{Time: c.clock.now().Add(time.Duration(i) * time.Second),
				Type: "logout", UserID: c.other.ID, Outcome: "success"}); err != nil {
				t.Fatal(err)
			}
		}
		p = b.get(c.cfg.Issuer + "/admin/audit?kind=logout")
		if rows := auditRows(t, p); len(rows) != 50 || !hasLink(p, "/admin/audit?kind=logout&page=2") {
			t.Errorf("first page: %d rows", len(rows))
		}
		p = b.get(c.cfg.Issuer + "/admin/audit?kind=logout&page=2")
		if rows := auditRows(t, p); len(rows) != 10 || !hasLink(p, "/admin/audit?kind=logout") || hasLink(p, "/admin/audit?kind=logout&page=3") {
			t.Errorf("second page: %d rows", len(rows))
		}
	})
}

// TestConsoleSettings: the highest role edits the organization's name and
// time zone, which the pages use; an administrator of lower rank reads
// them; the member limit is read-only for the organization.
func TestConsoleSettings(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t), func(cfg *config.Config) { cfg.Organizations.MaxMembers = 100 })
		admin := c.signedIn(t, c.admin)
		p := admin.get(c.cfg.Issuer + "/admin/settings")
		if p.hasForm("/admin/settings") || !strings.Contains(byID(p, "limit"), "4 of 100") {
			t.Errorf("an admin's settings: %.300s", htmltest.Text(p.doc))
		}
		if p := admin.form("/admin/settings", url.Values{"name": {"Renamed"}, "time_zone": {"UTC"}}); p.status != http.StatusForbidden {
			t.Errorf("an admin changes the settings: status %d", p.status)
		}
		owner := c.signedIn(t, c.owner)
		if p := owner.form("/admin/settings", url.Values{"name": {"Hotel Sakura Kyoto"}, "time_zone": {"Mars/Olympus"}}); p.status != http.StatusBadRequest ||
			!strings.Contains(alertText(p), "time zone") {
			t.Errorf("a bad time zone: %d %q", p.status, alertText(p))
		}
		p = owner.form("/admin/settings", url.Values{"name": {"Hotel Sakura Kyoto"}, "time_zone": {"America/New_York"}, "max_members": {"3"}})
		if !strings.Contains(noticeText(p), "saved") || byID(p, "console-org") != "Hotel Sakura Kyoto" {
			t.Fatalf("save: %d %q", p.status, alertText(p))
		}
		o, _ := c.store.GetOrganization(t.Context(), hotelID)
		if o.Name != "Hotel Sakura Kyoto" || o.TimeZone != "America/New_York" || o.MaxMembers != 0 {
			t.Errorf("organization: %+v", o)
		}
		// Times show in the organization's zone.
		at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
		if _, _, err := c.store.ChangeMember(t.Context(), storage.MemberChange{OrganizationID: hotelID, UserID: c.staff.ID, Now: at,
			Update: func(u storage.User) (storage.User, error) { u.LastLoginAt = &at; return u, nil }}); err != nil {
			t.Fatal(err)
		}
		if p := owner.get(c.cfg.Issuer + memberPath(c.staff.ID) + "?lang=en"); !strings.Contains(htmltest.Text(p.doc), "2026-01-01 22:04 (EST)") {
			t.Errorf("last sign-in not in the organization's zone: %.400s", byID(p, "member-details"))
		}
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: hotelID, Type: "organization_updated"})
		if len(events) != 1 || events[0].ActorID != c.owner.ID || events[0].Detail != "name, time_zone" {
			t.Errorf("events: %+v", events)
		}
	})
}

// TestConsolePlatformAdmin: a platform administrator picks any
// organization and acts there with the highest role's rights, audited in
// the organization they touched; the member limit is theirs to set.
func TestConsolePlatformAdmin(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		op := c.member(storage.DefaultOrganizationID, "ops@platform.example", "", "Platform Ops", "")
		if _, err := c.store.UpdateUser(t.Context(), op.ID, func(u storage.User) (storage.User, error) {
			u.PlatformAdmin = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		b := c.signedIn(t, op)
		p := b.get(c.cfg.Issuer + "/admin/members")
		if _, inputs := formInputs(t, p.doc, "/admin/members"); len(inputs) == 0 || !strings.Contains(htmltest.Text(p.doc), "Shop (shop)") {
			t.Fatalf("no organization picker: %.300s", htmltest.Text(p.doc))
		}
		if p := b.get(c.cfg.Issuer + "/admin/members?org=nope"); p.status != http.StatusNotFound {
			t.Errorf("an unknown organization: %d", p.status)
		}
		p = b.get(c.cfg.Issuer + "/admin/members?org=shop")
		if p.url.RawQuery != "" || byID(p, "console-org") != "Shop" || !strings.Contains(htmltest.Text(p.doc), c.shopStaff.Name) {
			t.Fatalf("picked shop: %s %.300s", p.url, htmltest.Text(p.doc))
		}
		// The highest role's rights: the owner's page has its forms; the
		// hotel's members are not the shop's.
		if p := b.get(c.cfg.Issuer + memberPath(c.shopOwner.ID)); !p.hasForm(memberPath(c.shopOwner.ID) + "/profile") {
			t.Error("no forms on the shop owner's page")
		}
		if p := b.get(c.cfg.Issuer + memberPath(c.staff.ID)); p.status != http.StatusNotFound {
			t.Errorf("the hotel's member while in the shop: %d", p.status)
		}
		if p := b.form(memberPath(c.shopStaff.ID)+"/profile", url.Values{"name": {"Shop Staff"}, "role": {"owner"}}); !strings.Contains(noticeText(p), "saved") {
			t.Errorf("grant owner: %q", alertText(p))
		}
		if p := b.form("/admin/settings", url.Values{"name": {"Shop"}, "time_zone": {"UTC"}, "max_members": {"25"}}); !strings.Contains(noticeText(p), "saved") {
			t.Errorf("settings: %q", alertText(p))
		}
		if o, _ := c.store.GetOrganization(t.Context(), shopID); o.MaxMembers != 25 {
			t.Errorf("limit %d", o.MaxMembers)
		}
		for _, k := range []string{"role_changed", "organization_updated"} {
			events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: k})
			if len(events) != 1 || events[0].OrganizationID != shopID || events[0].ActorID != op.ID {
				t.Errorf("%s events: %+v", k, events)
			}
		}
		// The shop's audit page names the actor as a platform administrator.
		shopOwner := c.signedIn(t, c.shopOwner)
		if rows := auditRows(t, shopOwner.get(c.cfg.Issuer+"/admin/audit?kind=role_changed")); len(rows) != 1 || rows[0][2] != "Platform administrator" {
			t.Errorf("shop audit: %q", rows)
		}
	})
}

// TestConsoleAccountNames: in the organization+username mode members have
// account names, unique in the organization, and an address is optional:
// without one, an administrator sets an initial password to change at
// the first sign-in.
func TestConsoleAccountNames(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t), func(cfg *config.Config) { cfg.Login.Identifier = config.IdentifierOrgUsername })
		c.run()
		front := c.member(hotelID, "", "front01", "Front Desk", "staff")
		b := c.withSession(t, c.admin, c.clock.now())
		p := b.get(c.cfg.Issuer + "/admin/members/new")
		_, inputs := formInputs(t, p.doc, "/admin/members/new")
		names := map[string]string{}
		for _, in := range inputs {
			names[in["name"]] = in["autocomplete"]
		}
		if _, ok := names["username"]; !ok || names["password"] != "new-password" || names["confirm"] != "new-password" {
			t.Errorf("form inputs: %v", names)
		}
		for _, tc := range []struct {
			name    string
			form    url.Values
			status  int
			message string
		}{
			{"a taken account name", url.Values{"name": {"X"}, "username": {"FRONT01"}, "password": {"Initial-pass-9!"}, "confirm": {"Initial-pass-9!"}},
				http.StatusConflict, "already uses this account name"},
			{"neither address nor password", url.Values{"name": {"X"}, "username": {"night01"}}, http.StatusBadRequest, "initial password"},
			{"a weak password", url.Values{"name": {"X"}, "username": {"night01"}, "password": {"weak"}, "confirm": {"weak"}},
				http.StatusBadRequest, "upper-case"},
			{"no account name", url.Values{"name": {"X"}, "email": {"x@hotel.example"}}, http.StatusBadRequest, "valid account name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.form("/admin/members/new", tc.form)
				if p.status != tc.status || !strings.Contains(alertText(p), tc.message) {
					t.Errorf("status %d, alert %q; want %d and %q", p.status, alertText(p), tc.status, tc.message)
				}
			})
		}
		p = b.form("/admin/members/new", url.Values{"name": {"Night Shift"}, "username": {"night01"}, "password": {"Initial-pass-9!"},
			"confirm": {"Initial-pass-9!"}, "role": {"staff"}})
		if !strings.Contains(noticeText(p), "added") {
			t.Fatalf("add with an initial password: %d %q", p.status, alertText(p))
		}
		night, err := c.store.GetMemberByUsername(t.Context(), hotelID, "night01")
		if err != nil || !night.MustChangePassword || night.InvitedAt != nil || night.Email != "" || night.PasswordHash == "" {
			t.Errorf("member with an initial password: %+v, %v", night, err)
		}
		if !strings.Contains(byID(p, "member-username"), "night01") || !strings.Contains(byID(p, "member-email"), "Not registered") {
			t.Errorf("member page: %q %q", byID(p, "member-username"), byID(p, "member-email"))
		}
		if p := b.form(memberPath(night.ID)+"/reset-mail", nil); !strings.Contains(alertText(p), "no registered email") {
			t.Errorf("reset mail without an address: %q", alertText(p))
		}
		if p := b.form(memberPath(night.ID)+"/profile", url.Values{"name": {"Night Shift"}, "username": {"Front01"}, "role": {"staff"}}); p.status != http.StatusConflict {
			t.Errorf("rename to a taken account name: %d %q", p.status, alertText(p))
		}
		if p := b.form(memberPath(front.ID)+"/profile", url.Values{"name": {"Front Desk"}, "username": {"front-desk"}, "role": {"staff"}}); !strings.Contains(noticeText(p), "saved") {
			t.Errorf("rename: %q", alertText(p))
		}
		// With an address, an invitation that names the account.
		p = b.form("/admin/members/new", url.Values{"name": {"Cleaner"}, "username": {"clean01"}, "email": {"clean@hotel.example"}})
		if !strings.Contains(noticeText(p), "added") {
			t.Fatalf("add with an address: %q", alertText(p))
		}
		if msg := mailsTo(t, c.smtp, "clean@hotel.example", "invited", 1)[0]; !strings.Contains(msg.Text, "clean01") {
			t.Errorf("the invitation does not name the account: %s", msg.Text)
		}
		list := b.get(c.cfg.Issuer + "/admin/members?q=clean0")
		if rows := htmltest.Find(list.doc, func(n *html.Node) bool {
			return htmltest.IsTag(n, "td") && htmltest.Attr(n, "data-label") == "Account name"
		}); len(rows) != 1 ||
			htmltest.Text(rows[0]) != "clean01" {
			t.Errorf("account-name column: %d cells", len(rows))
		}
	})
}

// TestConsoleSignInAgainWithCode: past admin.max_age the console asks for
// the password again, and the emailed code when the policy asks for it.
func TestConsoleSignInAgainWithCode(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t), withOTP("always"))
		c.run()
		b := c.browser()
		p := b.signIn(b.get(c.cfg.Issuer+"/admin/members"), c.admin.Email, adminPass)
		p = b.submitOTP(t, p, loginCode(t, c.smtp, c.admin.Email, 1))
		if p.status != http.StatusOK || p.url.Path != "/admin/members" {
			t.Fatalf("first sign-in: %d at %s", p.status, p.url)
		}
		c.clock.add(c.cfg.Admin.MaxAge.D() + time.Minute)
		p = b.get(c.cfg.Issuer + "/admin/audit")
		if !p.hasLoginForm() {
			t.Fatalf("past admin.max_age: %d at %s", p.status, p.url)
		}
		p = b.signIn(p, c.admin.Email, adminPass)
		if !p.hasForm("/login/otp") {
			t.Fatalf("no emailed code asked again: %d at %s", p.status, p.url)
		}
		p = b.submitOTP(t, p, loginCode(t, c.smtp, c.admin.Email, 2))
		if p.status != http.StatusOK || p.url.Path != "/admin/audit" {
			t.Fatalf("after the code: %d at %s", p.status, p.url)
		}
	})
}

// TestConsoleMailCap: the mails an administrator sends a member count
// under the hourly cap (reset.per_email_per_hour), taken atomically: of
// concurrent resends of an invitation, only as many as the cap allows go
// out; the others say so.
func TestConsoleMailCap(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		b := c.signedIn(t, c.admin)
		p := b.form("/admin/members/new", url.Values{"name": {"Capped"}, "email": {"capped@hotel.example"}})
		id := strings.TrimPrefix(p.url.Path, "/admin/members/")
		const burst = 20
		var wg sync.WaitGroup
		pages := make([]page, burst)
		errs := make([]error, burst)
		for i := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pages[i], errs[i] = b.send(b.postRequest(c.cfg.Issuer+memberPath(id)+"/resend", url.Values{}, c.cfg.Issuer))
			}()
		}
		wg.Wait()
		sent := 0
		for i, p := range pages {
			switch {
			case errs[i] != nil:
				t.Errorf("resend %d: %v", i, errs[i])
			case p.status == http.StatusOK && strings.Contains(noticeText(p), "invitation was sent"):
				sent++
			case p.status != http.StatusTooManyRequests || !strings.Contains(alertText(p), "Too many emails"):
				t.Errorf("resend %d: %d %q", i, p.status, alertText(p))
			}
		}
		// The first invitation counted under the cap: the resends get the
		// rest of it.
		if want := c.cfg.Reset.PerEmailPerHour - 1; sent != want {
			t.Errorf("%d of %d concurrent resends went out after the first invitation, want %d", sent, burst, want)
		}
		mailsTo(t, c.smtp, "capped@hotel.example", "invited", 1+sent)
	})
}

// TestConsoleLastOwnerConcurrent: two owners demote each other with
// concurrent requests: exactly one of them stays owner, on SQLite and
// PostgreSQL.
func TestConsoleLastOwnerConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		if _, err := c.store.UpdateUser(t.Context(), c.admin.ID, func(u storage.User) (storage.User, error) {
			u.Role = "owner"
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		owners := []storage.User{c.owner, c.admin}
		browsers := []*browser{c.signedIn(t, c.owner), c.signedIn(t, c.admin)}
		const burst = 20
		var wg sync.WaitGroup
		statuses := make([]int, burst)
		for i := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, target := browsers[i%2], owners[(i+1)%2]
				p, err := b.send(b.postRequest(c.cfg.Issuer+memberPath(target.ID)+"/profile",
					url.Values{"name": {target.Name}, "role": {"admin"}}, c.cfg.Issuer))
				if err != nil {
					t.Errorf("demote %d: %v", i, err)
				}
				statuses[i] = p.status
			}()
		}
		wg.Wait()
		left := 0
		for _, u := range owners {
			if got, _ := c.store.GetUser(t.Context(), u.ID); got.Role == "owner" {
				left++
			}
		}
		if left != 1 {
			t.Errorf("%d owners left after they demoted each other at once (statuses %v), want 1", left, statuses)
		}
		for i, s := range statuses {
			if s != http.StatusOK && s != http.StatusForbidden && s != http.StatusConflict {
				t.Errorf("demote %d: status %d", i, s)
			}
		}
	})
}

// TestConsoleMemberWithoutRole: a member without a role (an account from
// before roles) keeps having none when only the name changes, and can be
// given one.
func TestConsoleMemberWithoutRole(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		plain := c.member(hotelID, "plain@hotel.example", "", "Plain Member", "")
		b := c.signedIn(t, c.admin)
		p := b.get(c.cfg.Issuer + memberPath(plain.ID))
		if !p.hasForm(memberPath(plain.ID) + "/profile") {
			t.Fatal("no profile form")
		}
		b.form(memberPath(plain.ID)+"/profile", url.Values{"name": {"Renamed"}, "role": {""}})
		if u, _ := c.store.GetUser(t.Context(), plain.ID); u.Name != "Renamed" || u.Role != "" {
			t.Errorf("after renaming: name %q role %q", u.Name, u.Role)
		}
		b.form(memberPath(plain.ID)+"/profile", url.Values{"name": {"Renamed"}, "role": {"staff"}})
		if u, _ := c.store.GetUser(t.Context(), plain.ID); u.Role != "staff" {
			t.Errorf("role %q, want staff", u.Role)
		}
	})
}

// TestConsoleAddressOfAnotherOrganization: in the email mode an address
// is one account's across the deployment, so adding a member with, or
// moving a member to, an address another organization's account holds is
// refused with a neutral answer that names no organization, and changes
// nothing (no member, no link, no event); in the organization+email mode
// each organization has its own addresses and the same ones are accepted.
func TestConsoleAddressOfAnotherOrganization(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, tc := range []struct {
			mode    string
			refused bool
		}{
			{config.IdentifierEmail, true},
			{config.IdentifierOrgEmail, false},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				c := newConsole(t, newStore(t), func(cfg *config.Config) { cfg.Login.Identifier = tc.mode })
				c.run()
				b := c.withSession(t, c.admin, c.clock.now())
				add := b.form("/admin/members/new", url.Values{"name": {"Taken Elsewhere"}, "email": {c.shopStaff.Email}})
				change := b.form(memberPath(c.staff.ID)+"/email", url.Values{"email": {c.shopOwner.Email}})
				if !tc.refused {
					if !strings.Contains(noticeText(add), "added") || !strings.Contains(noticeText(change), "confirmation link") {
						t.Fatalf("add %d %q, change %d %q: want both accepted", add.status, alertText(add), change.status, alertText(change))
					}
					mailsTo(t, c.smtp, c.shopStaff.Email, "invited", 1)
					mailsTo(t, c.smtp, c.shopOwner.Email, "Confirm your email", 1)
					return
				}
				for what, p := range map[string]page{"add": add, "change": change} {
					alert := alertText(p)
					if p.status != http.StatusConflict || !strings.Contains(alert, "cannot be used") {
						t.Errorf("%s: status %d, alert %q; want 409 and \"cannot be used\"", what, p.status, alert)
					}
					for _, leak := range []string{"shop", "Shop", "another organization"} {
						if strings.Contains(alert, leak) {
							t.Errorf("%s: the answer %q tells about the other organization (%q)", what, alert, leak)
						}
					}
				}
				list, err := c.store.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: hotelID, Now: c.clock.now()})
				if err != nil || list.Total != 4 {
					t.Errorf("hotel members after the refusal: %d, %v; want the 4 it had", list.Total, err)
				}
				if m := c.memberState(t, c.staff.ID); m.Email != c.staff.Email || m.PendingEmail != "" || m.EmailState != storage.EmailRegistered {
					t.Errorf("the member after a refused change: %+v", m)
				}
				events, err := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: hotelID, Member: c.admin.ID, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					if e.ActorID == c.admin.ID {
						t.Errorf("refused actions left the event %s", e.Type)
					}
				}
				// A mail sent after the refusals arrives; none went to the
				// refused addresses.
				if p := b.form(memberPath(c.staff.ID)+"/email", url.Values{"email": {"sato.new@hotel.example"}}); !strings.Contains(noticeText(p), "confirmation link") {
					t.Fatalf("a free address: %d %q", p.status, alertText(p))
				}
				mailsTo(t, c.smtp, "sato.new@hotel.example", "Confirm your email", 1)
				for _, addr := range []string{c.shopStaff.Email, c.shopOwner.Email} {
					for _, m := range c.smtp.Messages() {
						if mailtest.To(addr)(m) {
							t.Errorf("a mail went to the other organization's address %s: %q", addr, m.Subject)
						}
					}
				}
			})
		}
	})
}

// TestConsoleActionsTellClients: the console actions that end a member's
// sessions (sign out everywhere, disable, delete) tell every client the
// member signed in to over back-channel logout, with a logout token a
// relying party accepts (signature, sub, sid); actions that end no
// session send none.
func TestConsoleActionsTellClients(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 0)
		c := newConsole(t, newStore(t), logoutClients(rpA, rpB, "http://127.0.0.1:9/fc"))
		c.run()
		leaver := c.member(hotelID, "leaver@hotel.example", "", "Leaver Ueno", "staff")
		admin := c.withSession(t, c.admin, c.clock.now())
		sent := 0
		for _, tc := range []struct {
			name, action string
			member       storage.User
		}{
			{"sign out everywhere", "/sign-out", c.staff},
			{"disable", "/disable", c.other},
			{"delete", "/delete", leaver},
		} {
			t.Run(tc.name, func(t *testing.T) {
				toks := c.signInApps(t, c.browser(), tc.member.Email, adminPass, "bc-a", "bc-b")
				// An action that ends no session sends nothing.
				if p := admin.form(memberPath(tc.member.ID)+"/require-change", nil); !strings.Contains(noticeText(p), "must change the password") {
					t.Fatalf("require a change: %d %q", p.status, alertText(p))
				}
				settle()
				if got, _ := rpA.received(); len(got) != sent {
					t.Fatalf("requiring a password change sent %d logout tokens, want %d", len(got), sent)
				}
				if p := admin.form(memberPath(tc.member.ID)+tc.action, nil); p.status != http.StatusOK || alertText(p) != "" {
					t.Fatalf("%s: %d %q", tc.action, p.status, alertText(p))
				}
				sent++
				for client, rp := range map[string]*logoutRP{"bc-a": rpA, "bc-b": rpB} {
					got := rp.waitTokens(t, sent)
					c.verifyLogoutToken(t, got[sent-1], client, sidOf(toks[client]), tc.member.ID)
				}
				if status, _ := c.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {toks["bc-a"].RefreshToken}}); status == http.StatusOK {
					t.Error("the member's refresh token works after the action")
				}
			})
		}
		settle()
		for client, rp := range map[string]*logoutRP{"bc-a": rpA, "bc-b": rpB} {
			if got, _ := rp.received(); len(got) != sent {
				t.Errorf("%s got %d logout tokens in all, want %d", client, len(got), sent)
			}
		}
	})
}
