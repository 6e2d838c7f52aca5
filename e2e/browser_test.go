package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// The real-browser tests drive Debian's chromium, headless, through
// chromedp. Without chromium they fail under CI=true (.ci/run installs
// it) and skip elsewhere.

// browserLimit bounds one browser test: the browser is stopped then.
const browserLimit = 4 * time.Minute

// screenshotsEnv names the directory the browser tests write their
// screenshots to (make screenshots: docs/screenshots); unset, none are
// written.
const screenshotsEnv = "SEKISHO_SCREENSHOTS"

// chromium returns the path of the browser, or ends the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the browser tests need it (apt-get install -y chromium; .ci/run does it)")
	}
	t.Skip("chromium is not installed: skipping the browser tests (apt-get install -y chromium to run them)")
	return ""
}

// newChromium starts a headless chromium for the test, with a fresh
// profile, stopped when the test ends or browserLimit has passed.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	profile := t.TempDir() // removed after the browser has stopped
	ctx, cancel := context.WithTimeout(t.Context(), browserLimit)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "en-US"),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// person is one browser profile (cookies of its own) in the browser.
type person struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newPerson opens a tab in a browser context of its own.
func newPerson(t *testing.T, browser context.Context, base string) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &person{t: t, ctx: ctx, base: base}
}

// open navigates to path (or an absolute URL) and returns the status of
// the page it lands on.
func (p *person) open(path string) int64 {
	p.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = p.base + path
	}
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(path))
	if err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// typeInto types value into the input sel finds.
func (p *person) typeInto(sel, value string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(sel), value)); err != nil {
		p.t.Fatalf("type into %s: %v", sel, err)
	}
}

// choose selects value in the select sel finds.
func (p *person) choose(sel, value string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		p.t.Fatalf("choose %s in %s: %v", value, sel, err)
	}
}

// press clicks the button sel finds, waits for the page it loads and
// returns its status.
func (p *person) press(sel string) int64 {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("press %s: %v", sel, err)
	}
	return resp.Status
}

// text is the text of the element sel finds ("" when there is none).
func (p *person) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// path is the path of the page the tab shows.
func (p *person) path() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, p.base)
}

// signIn fills the sign-in form the tab shows by its autocomplete
// tokens, as a browser's password manager would, and submits it.
func (p *person) signIn(email, pw string) int64 {
	p.t.Helper()
	p.typeInto(`input[autocomplete~="username"]`, email)
	p.typeInto(`input[autocomplete="current-password"]`, pw)
	return p.press(`form[action="/login"] button[type="submit"]`)
}

// device is a width the screenshots are taken at.
type device struct {
	name          string
	width, height int64
	mobile        bool
}

// devices are the widths the screenshots are taken at.
var devices = []device{
	{"desktop", 1280, 900, false},
	{"phone", 390, 844, true},
}

// emulate sizes the tab as d.
func (p *person) emulate(d device) {
	p.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if d.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(d.width, d.height, opts...)); err != nil {
		p.t.Fatal(err)
	}
}

// save writes a screenshot of the whole page the tab shows to file.
func (p *person) save(file string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", file, err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// shotsDir is the directory screenshotsEnv names, made if missing, or
// "" when it is unset.
func (p *person) shotsDir() string {
	p.t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.t.Fatal(err)
		}
	}
	return dir
}

// shoot writes screenshots of the page at path in both languages and at
// both widths as <name>-<lang>-<device>.png, when screenshotsEnv names a
// directory.
func (p *person) shoot(name, path string) {
	p.t.Helper()
	dir := p.shotsDir()
	if dir == "" {
		return
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, lang := range []string{"ja", "en"} {
		for _, d := range devices {
			p.emulate(d)
			p.open(path + sep + "lang=" + lang)
			p.save(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, lang, d.name)))
		}
	}
	// Back to English on the desktop.
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		p.t.Fatal(err)
	}
	p.open(path + sep + "lang=en")
}

// TestBrowserConsole drives the console in chromium: an administrator
// signs in and adds a member, the invitation reaches the SMTP server, the
// member sets a password from its link and lands signed in; an address
// change shows "not registered", then "registered" once the member opens
// the link; another organization's member id answers 404; a staff member
// gets 403. With SEKISHO_SCREENSHOTS set it saves the console's pages.
func TestBrowserConsole(t *testing.T) {
	browser := newChromium(t)
	c := newConsole(t, gormstoretest.NewSQLite(t))
	c.run()
	c.seedForScreenshots(t)
	admin := newPerson(t, browser, c.cfg.Issuer)

	// Sign in through the real form.
	if status := admin.open("/admin/members"); status != 200 || !strings.HasPrefix(admin.path(), "/login") {
		t.Fatalf("the console without a session: %d at %s", status, admin.path())
	}
	if status := admin.signIn(c.admin.Email, adminPass); status != 200 || admin.path() != "/admin/members" {
		t.Fatalf("after signing in: %d at %s", status, admin.path())
	}

	// Add a member: the invitation goes out.
	admin.press("#add-member")
	admin.typeInto("#name", "森 美香")
	admin.typeInto("#email", "mika@hotel.example")
	admin.choose("#role", "staff")
	if status := admin.press(`form[action="/admin/members/new"] button[type="submit"]`); status != 200 ||
		!strings.Contains(admin.text("#notice"), "added") || !strings.Contains(admin.text("#member-name"), "Invited") {
		t.Fatalf("add a member: %d at %s, notice %q, alert %q", status, admin.path(), admin.text("#notice"), admin.text("#error"))
	}
	memberPage := admin.path()
	link := mailtest.Link(mailsTo(t, c.smtp, "mika@hotel.example", "invited", 1)[0].Text, c.cfg.Issuer+"/invite?")

	// The member opens the link, chooses a password and lands signed in.
	mika := newPerson(t, browser, c.cfg.Issuer)
	if status := mika.open(link); status != 200 || mika.path() != "/invite" {
		t.Fatalf("the invitation link: %d at %s", status, mika.path())
	}
	mika.shoot("invite", "/invite")
	if got := mika.text(`label[for="invite-email"]`); got == "" {
		t.Error("the invitation page does not show the address")
	}
	mika.typeInto(`input[autocomplete="new-password"][name="password"]`, "Blue-harbor-29!")
	mika.typeInto(`input[autocomplete="new-password"][name="confirm"]`, "Blue-harbor-29!")
	if status := mika.press(`form[action="/invite"] button[type="submit"]`); status != 200 || mika.path() != "/account" ||
		!strings.Contains(mika.text("#account-email"), "mika@hotel.example") {
		t.Fatalf("after the invitation: %d at %s", status, mika.path())
	}

	// The administrator changes the member's address: "not registered"
	// until the member opens the link.
	admin.open(memberPage)
	if !strings.Contains(admin.text("#member-email"), "Registered") {
		t.Errorf("after the invitation the address is %q", admin.text("#member-email"))
	}
	admin.typeInto("#new-email", "mika.mori@hotel.example")
	admin.press(`form[action$="/email"] button[type="submit"]`)
	if got := admin.text("#member-email"); !strings.Contains(got, "Not registered") || !strings.Contains(got, "mika.mori@hotel.example") {
		t.Errorf("while the link waits the address is %q", got)
	}
	verify := mailtest.Link(mailsTo(t, c.smtp, "mika.mori@hotel.example", "Confirm your email", 1)[0].Text, c.cfg.Issuer+"/email/verify?")
	if status := mika.open(verify); status != 200 || !strings.Contains(mika.text("#message"), "mika.mori@hotel.example") {
		t.Fatalf("the verification link: %d: %q", status, mika.text("main"))
	}
	admin.open(memberPage)
	if got := admin.text("#member-email"); !strings.Contains(got, "Registered") || strings.Contains(got, "Not registered") ||
		!strings.Contains(got, "mika.mori@hotel.example") {
		t.Errorf("after the link the address is %q", got)
	}

	// Another organization's member id answers as an unknown one: 404.
	foreign := admin.open(memberPath(c.shopStaff.ID))
	foreignText := admin.text("main")
	unknown := admin.open(memberPath(uuid.NewString()))
	if foreign != 404 || unknown != 404 || foreignText != admin.text("main") || strings.Contains(foreignText, c.shopStaff.Name) {
		t.Errorf("another organization's member: %d %q; an unknown id: %d", foreign, foreignText, unknown)
	}

	// A staff member gets 403 with a way to their account.
	staff := newPerson(t, browser, c.cfg.Issuer)
	staff.open("/admin/members")
	if status := staff.signIn(c.staff.Email, adminPass); status != 403 || staff.text("h1") == "" ||
		!strings.Contains(staff.text(`a[href="/account"]`), "account") {
		t.Errorf("staff: %d at %s: %q", status, staff.path(), staff.text("main"))
	}

	// The console's pages, for the documentation.
	admin.shoot("members", "/admin/members")
	admin.shoot("member", memberPath(c.staff.ID))
	admin.shoot("member-new", "/admin/members/new")
	admin.shoot("audit", "/admin/audit")
	owner := newPerson(t, browser, c.cfg.Issuer)
	owner.open("/admin/settings")
	owner.signIn(c.owner.Email, adminPass)
	owner.shoot("settings", "/admin/settings")
	staff.shoot("forbidden", "/admin/members")
}

// seedForScreenshots gives the hotel members in every state, with
// Japanese names and sign-in times, so the console's pages show what
// they look like in use.
func (c *console) seedForScreenshots(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	now := c.clock.now().UTC()
	rename := map[string]string{c.owner.ID: "小田 直樹", c.admin.ID: "阿部 真由美", c.staff.ID: "佐藤 花子", c.other.ID: "小野 健"}
	for id, name := range rename {
		at := now.Add(-time.Duration(len(name)) * 97 * time.Minute)
		if _, err := c.store.UpdateUser(ctx, id, func(u storage.User) (storage.User, error) {
			u.Name, u.LastLoginAt = name, &at
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	c.owner.Name, c.admin.Name, c.staff.Name, c.other.Name = rename[c.owner.ID], rename[c.admin.ID], rename[c.staff.ID], rename[c.other.ID]
	for i, m := range []struct {
		name, email, role, state string
		lastLogin                time.Duration
	}{
		{"鈴木 一郎", "suzuki@hotel.example", "admin", "active", 49 * time.Hour},
		{"高橋 美咲", "takahashi@hotel.example", "staff", "active", 3 * time.Hour},
		{"田中 翔太", "tanaka@hotel.example", "staff", "disabled", 400 * time.Hour},
		{"伊藤 さくら", "ito@hotel.example", "staff", "invited", 0},
		{"渡辺 健太", "watanabe@hotel.example", "staff", "expired", 0},
		{"山本 陽菜", "yamamoto@hotel.example", "staff", "unverified", 30 * time.Hour},
	} {
		u := storage.User{ID: uuid.NewString(), OrganizationID: hotelID, Email: m.email, Name: m.name, Role: m.role,
			EmailVerified: m.state != "unverified", PasswordHash: "x", CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
		var code *storage.OneTimeCode
		switch m.state {
		case "disabled":
			u.Disabled = true
		case "invited", "expired":
			u.InvitedAt, u.EmailVerified, u.PasswordHash = &now, false, ""
			expires := now.Add(c.cfg.Invitation.Lifetime.D())
			if m.state == "expired" {
				expires = now.Add(-time.Hour)
			}
			code = &storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeInvite, UserID: u.ID, Email: u.Email,
				TicketHash: uuid.NewString(), CodeHash: "-", CreatedAt: now, SentAt: now, ExpiresAt: expires}
		}
		if m.lastLogin > 0 {
			at := now.Add(-m.lastLogin)
			u.LastLoginAt = &at
		}
		if err := c.store.AddMember(ctx, storage.NewMember{User: u, Code: code}); err != nil {
			t.Fatal(err)
		}
	}
	// The staff member's new address waits for its link.
	if _, _, err := c.store.ChangeMember(ctx, storage.MemberChange{OrganizationID: hotelID, UserID: c.staff.ID, Now: now,
		Code: &storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeVerifyEmail, UserID: c.staff.ID,
			Email: "hanako.sato@hotel.example", TicketHash: uuid.NewString(), CodeHash: "-", CreatedAt: now, SentAt: now,
			ExpiresAt: now.Add(c.cfg.Email.VerifyLifetime.D())}}); err != nil {
		t.Fatal(err)
	}
}
