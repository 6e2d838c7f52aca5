package templates

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/localtime"
)

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return r
}

var langs = []struct {
	code string
	tag  language.Tag
}{
	{"en", language.English},
	{"ja", language.Japanese},
}

// pageCase renders one page in the given language.
type pageCase struct {
	name   string
	status int
	render func(r *Renderer, w http.ResponseWriter, b Base) error
}

var pageCases = []pageCase{
	{"login", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", ClientName: "Portal"})
	}},
	{"login error", http.StatusUnauthorized, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusUnauthorized, LoginPage{Base: b, AuthRequestID: "req-1", Account: AccountFields{Email: "a@example.com"}, Error: "login.error.invalid", ForgotURL: "/forgot"})
	}},
	{"login organization+username", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", Account: orgUsername, ForgotURL: "/reset?id=req-1"})
	}},
	{"login organization+email locked", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", Account: orgEmailLocked, Error: "login.error.invalid_org"})
	}},
	{"login no address", http.StatusForbidden, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusForbidden, LoginPage{Base: b, AuthRequestID: "req-1", Account: orgUsername, Error: "login.error.no_address"})
	}},
	{"login legacy reset by account name", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", Account: orgUsername, LegacyReset: true, LegacyName: "Old"})
	}},
	{"forgot", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderForgot(w, http.StatusOK, ForgotPage{Base: b, AuthRequestID: "req-1", Account: AccountFields{Email: "a@example.com"}})
	}},
	{"forgot organization+username", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderForgot(w, http.StatusOK, ForgotPage{Base: b, AuthRequestID: "req-1", Account: orgUsername, Error: "reset.error.exhausted"})
	}},
	{"reset", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderReset(w, http.StatusOK, ResetPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", ValidMinutes: 15, Rules: testRules})
	}},
	{"reset by account name", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderReset(w, http.StatusOK, ResetPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", ByUsername: true, ValidMinutes: 15, Rules: testRules})
	}},
	{"error", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderError(w, http.StatusBadRequest, ErrorPage{Base: b, Message: "error.unknown_client"})
	}},
	{"error expired", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		b.Title = "error.expired.title"
		return r.RenderError(w, http.StatusBadRequest, ErrorPage{Base: b, Message: "error.expired", BackURL: "https://app.example.com/"})
	}},
	{"error default", http.StatusInternalServerError, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderError(w, http.StatusInternalServerError, ErrorPage{Base: b})
	}},
	{"logout confirm", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogoutConfirm(w, LogoutConfirmPage{Base: b, Hidden: []HiddenField{{"state", "s"}}, CancelURL: "https://app.example.com/"})
	}},
	{"signed out", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderSignedOut(w, SignedOutPage{Base: b})
	}},
	{"signed out back", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderSignedOut(w, SignedOutPage{Base: b, BackURL: "https://app.example.com/", ClientName: "Portal"})
	}},
	{"demo signed out", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderDemo(w, DemoPage{Base: b})
	}},
	{"demo signed in", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderDemo(w, DemoPage{Base: b, SignedIn: true, Claims: []Claim{{"sub", "u1"}, {"email", "a@example.com"}}, RawJSON: `{"sub":"u1"}`, Error: "refresh failed"})
	}},
	{"otp", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderOTP(w, http.StatusOK, OTPPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", MaskedEmail: "a***@example.com", ValidMinutes: 10})
	}},
	{"otp resent", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderOTP(w, http.StatusOK, OTPPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", MaskedEmail: "a***@example.com", ValidMinutes: 10, Resent: true})
	}},
	{"otp cooldown", http.StatusTooManyRequests, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderOTP(w, http.StatusTooManyRequests, OTPPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", MaskedEmail: "a***@example.com", ValidMinutes: 10, Error: Message{"otp.error.cooldown", []any{30}}})
	}},
	{"otp wrong code", http.StatusUnauthorized, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderOTP(w, http.StatusUnauthorized, OTPPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", MaskedEmail: "a***@example.com", ValidMinutes: 10, Error: Message{Key: "otp.error.code"}})
	}},
	{"change password", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderChangePassword(w, http.StatusOK, ChangePasswordPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", Rules: testRules})
	}},
	{"change password violations", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderChangePassword(w, http.StatusBadRequest, ChangePasswordPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", Error: "reset.error.mismatch", Violations: testRules[:1], Rules: testRules})
	}},
	{"account", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAccount(w, http.StatusOK, AccountPage{Base: b, Email: "a@example.com", EmailVerified: true, Rules: testRules})
	}},
	{"account without an address", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAccount(w, http.StatusOK, AccountPage{Base: b, OrganizationLabel: "施設コード", Organization: "Hotel (H-1)",
			UsernameLabel: "アカウント名", Username: "frontdesk", Rules: testRules})
	}},
	{"account full", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAccount(w, http.StatusOK, AccountPage{Base: b, Name: "Aiko", Email: "a@example.com", PendingEmail: "b@example.com",
			OTPChoice: true, OTPEnabled: true, Notice: Message{Key: "account.password_changed"}, Rules: testRules, SignIns: testSignIns})
	}},
	{"account password error", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAccount(w, http.StatusBadRequest, AccountPage{Base: b, Email: "a@example.com", OTPChoice: true,
			Error: Message{Key: "account.error.current_password"}, Section: "password", Violations: testRules[:1], Rules: testRules})
	}},
	{"account email error", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAccount(w, http.StatusBadRequest, AccountPage{Base: b, Email: "a@example.com",
			Error: Message{Key: "account.error.same_email"}, Section: "email", Rules: testRules})
	}},
	{"message", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderMessage(w, http.StatusOK, MessagePage{Base: b, Message: Message{"verify.done", []any{"a@example.com"}}, LinkURL: "/account", LinkLabel: "verify.to_account"})
	}},
	{"message no link", http.StatusGone, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderMessage(w, http.StatusGone, MessagePage{Base: b, Message: Message{Key: "verify.expired"}})
	}},
	{"invite", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderInvite(w, http.StatusOK, InvitePage{Base: b, OrganizationName: "Hotel Sakura", Email: "a@example.com", Rules: testRules})
	}},
	{"invite username violations", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderInvite(w, http.StatusOK, InvitePage{Base: b, Username: "front01", Error: "reset.error.mismatch",
			Violations: testRules[:1], Rules: testRules})
	}},
	{"home", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderHome(w, HomePage{Base: b})
	}},
	{"home dev", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderHome(w, HomePage{Base: b, DemoURL: "/demo/"})
	}},
	{"error restart", http.StatusGone, func(r *Renderer, w http.ResponseWriter, b Base) error {
		b.Title = "error.expired.title"
		return r.RenderError(w, http.StatusGone, ErrorPage{Base: b, Message: "error.expired", BackURL: "https://app.example.com/login?iss=x",
			BackLabel: "error.restart_at", ClientName: "Portal"})
	}},
	{"error unknown request", http.StatusNotFound, func(r *Renderer, w http.ResponseWriter, b Base) error {
		b.Title = "error.unknown_request.title"
		return r.RenderError(w, http.StatusNotFound, ErrorPage{Base: b, Message: "error.unknown_request", BackURL: "/", BackLabel: "error.home"})
	}},
	{"logout confirm named", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogoutConfirm(w, LogoutConfirmPage{Base: b, CancelURL: "https://app.example.com/", Account: "desk",
			OrganizationLabel: "施設コード", Organization: "H-1", Applications: []string{"Portal", "予約管理"}})
	}},
	{"login legacy reset deadline", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", Account: AccountFields{Email: "a@example.com"},
			LegacyReset: true, LegacyName: "Old", LegacyDeadline: testSignIns[0].Time, OtherAccountURL: "/login?id=req-1"})
	}},
	{"otp code kept", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderOTP(w, http.StatusOK, OTPPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", MaskedEmail: "a***@example.com", ValidMinutes: 10, Code: "123"})
	}},
	{"reset code kept", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderReset(w, http.StatusOK, ResetPage{Base: b, AuthRequestID: "req-1", Ticket: "tk", ValidMinutes: 15, Rules: testRules, Code: "123456"})
	}},
	{"admin members", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMembers(w, http.StatusOK, AdminMembersPage{AdminBase: testAdminBase(b, "members"), ByUsername: true,
			Members: testAdminMembers, Total: 120, Page: 2, Pages: 3, Search: "a", Status: "invited", PrevURL: "/admin/members",
			NextURL: "/admin/members?page=3", CSVURL: "/admin/members.csv"})
	}},
	{"admin members empty", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMembers(w, http.StatusOK, AdminMembersPage{AdminBase: AdminBase{Base: b, Nav: "members", OrgName: "Shop"},
			Page: 1, Pages: 1, CSVURL: "/admin/members.csv"})
	}},
	{"admin new member", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminNewMember(w, http.StatusOK, AdminNewMemberPage{AdminBase: testAdminBase(b, "members"), ByUsername: true,
			Roles: testAdminRoles, Rules: testRules, InviteHours: 72})
	}},
	{"admin new member error", http.StatusConflict, func(r *Renderer, w http.ResponseWriter, b Base) error {
		base := testAdminBase(b, "members")
		base.Error = Message{Key: "admin.error.email_taken"}
		return r.RenderAdminNewMember(w, http.StatusConflict, AdminNewMemberPage{AdminBase: base, Name: "Aoi", Email: "a@example.com",
			Roles: testAdminRoles, Field: "email", Violations: testRules[:1], Rules: testRules, InviteHours: 72})
	}},
	{"admin member", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMember(w, http.StatusOK, AdminMemberPage{AdminBase: testAdminBase(b, "members"), ByUsername: true,
			Member: testAdminMembers[0], MayAct: true, Roles: testAdminRoles, AuditURL: "/admin/audit?member=m1", VerifyMinutes: 10})
	}},
	{"admin member invited error", http.StatusConflict, func(r *Renderer, w http.ResponseWriter, b Base) error {
		base := testAdminBase(b, "members")
		base.Error = Message{Key: "admin.error.last_owner"}
		return r.RenderAdminMember(w, http.StatusConflict, AdminMemberPage{AdminBase: base, Member: testAdminMembers[1], Invited: true,
			Disabled: true, MayAct: true, Roles: testAdminRoles, Section: "status", AuditURL: "/admin/audit?member=m2", VerifyMinutes: 10})
	}},
	{"admin member view only", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMember(w, http.StatusOK, AdminMemberPage{AdminBase: testAdminBase(b, "members"), Member: testAdminMembers[0],
			MustChange: true, AuditURL: "/admin/audit?member=m1"})
	}},
	{"admin members locked", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMembers(w, http.StatusOK, AdminMembersPage{AdminBase: testAdminBase(b, "members"),
			Members: []AdminMember{testLockedMember, testAdminMembers[0]}, Total: 2, Page: 1, Pages: 1, Status: "locked",
			CSVURL: "/admin/members.csv?status=locked", Locked: 1})
	}},
	{"admin member locked", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminMember(w, http.StatusOK, AdminMemberPage{AdminBase: testAdminBase(b, "members"),
			Member: testLockedMember, MayAct: true, Roles: testAdminRoles, AuditURL: "/admin/audit?member=m3", VerifyMinutes: 10})
	}},
	{"admin member unlocked", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		m := testAdminMembers[0]
		m.UnlockedUntil = testSignIns[1].Time
		return r.RenderAdminMember(w, http.StatusOK, AdminMemberPage{AdminBase: testAdminBase(b, "members"),
			Member: m, MayAct: true, Roles: testAdminRoles, AuditURL: "/admin/audit?member=m1", VerifyMinutes: 10})
	}},
	{"admin unlock", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminUnlock(w, http.StatusOK, AdminUnlockPage{AdminBase: testAdminBase(b, "members"), IDs: []string{"m3"},
			Members: []AdminMember{testLockedMember}, Count: 1, Until: testSignIns[1].Time, BackURL: "/admin/members/m3"})
	}},
	{"admin unlock all", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminUnlock(w, http.StatusOK, AdminUnlockPage{AdminBase: testAdminBase(b, "members"), All: true,
			Members: []AdminMember{testLockedMember}, Count: 60, More: 59, Until: testSignIns[1].Time, BackURL: "/admin/members?status=locked"})
	}},
	{"admin unlock refused", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		base := testAdminBase(b, "members")
		base.Error = Message{Key: "admin.error.unlock_too_many", Args: []any{500}}
		return r.RenderAdminUnlock(w, http.StatusBadRequest, AdminUnlockPage{AdminBase: base, BackURL: "/admin/members?status=locked"})
	}},
	{"admin delete", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminDelete(w, http.StatusOK, AdminDeletePage{AdminBase: testAdminBase(b, "members"), Member: testAdminMembers[0]})
	}},
	{"admin audit", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminAudit(w, http.StatusOK, AdminAuditPage{AdminBase: testAdminBase(b, "audit"), Entries: []AdminAuditEntry{
			{Time: testSignIns[0].Time, Actor: "Aoi", Kind: "role_changed", KindKnown: true, Member: "Ren", MemberURL: "/admin/members/m2",
				Outcome: "success", Detail: "staff → admin", IP: "203.0.113.7"},
			{Time: testSignIns[1].Time, ActorPlatform: true, Kind: "custom_event", Outcome: "failure"},
		}, Kinds: []AdminOption{{Value: "login", Label: "Sign-in", Selected: true}}, MemberID: "m2", MemberName: "Ren", Page: 2,
			PrevURL: "/admin/audit", NextURL: "/admin/audit?page=3", ClearURL: "/admin/audit"})
	}},
	{"admin settings", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminSettings(w, http.StatusOK, AdminSettingsPage{AdminBase: testAdminBase(b, "settings"), Name: "Hotel Sakura",
			Code: "H-1234", TimeZone: "Asia/Tokyo", MaxMembers: "0", Members: 12, Limit: 10, Editable: true, LimitEditable: true,
			Zones: []string{"Asia/Tokyo", "UTC"}, AlertChoices: []AdminOption{{Value: "m1", Label: "Aoi (Owner)", Selected: true},
				{Value: "m4", Label: "Sora (Administrator)"}}})
	}},
	{"admin settings read only", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderAdminSettings(w, http.StatusOK, AdminSettingsPage{AdminBase: AdminBase{Base: b, Nav: "settings"}, Name: "Hotel Sakura",
			Code: "H-1234", TimeZone: "Asia/Tokyo", Members: 12})
	}},
}

// testAdminBase is a console frame with a platform administrator's picker.
func testAdminBase(b Base, nav string) AdminBase {
	return AdminBase{Base: b, Nav: nav, OrgName: "Hotel Sakura", OrgCode: "H-1234", ActorName: "Aoi",
		Organizations: []AdminOption{{Value: "H-1234", Label: "Hotel Sakura (H-1234)", Selected: true}, {Value: "shop", Label: "Shop (shop)"}},
		Notice:        Message{Key: "admin.notice.saved"}}
}

var testAdminRoles = []AdminOption{{Value: "admin", Label: "Administrator"}, {Value: "staff", Label: "Staff", Selected: true}}

var testAdminMembers = []AdminMember{
	{ID: "m1", Name: "Aoi", Username: "front01", Email: "aoi@example.com", Registered: true, Status: "active", Role: "Owner",
		LastLogin: testSignIns[0].Time, URL: "/admin/members/m1"},
	{ID: "m2", Username: "night02", Email: "ren@example.com", PendingEmail: "ren2@example.com", Status: "invitation_expired",
		Role: "Staff", URL: "/admin/members/m2"},
}

// testLockedMember is a member locked for want of sign-ins.
var testLockedMember = AdminMember{ID: "m3", Name: "Kei", Email: "kei@example.com", Registered: true, Status: "locked",
	Role: "Staff", URL: "/admin/members/m3", Locked: true, LockedSince: testSignIns[0].Time, MayUnlock: true}

// Account fields of the organization modes, with configured labels.
var (
	orgUsername    = AccountFields{OrganizationLabel: "施設コード", Organization: "H-1", UsernameLabel: "アカウント名"}
	orgEmailLocked = AccountFields{OrganizationLabel: "Login ID", Organization: "ACME", OrganizationLocked: true, Email: "a@example.com"}
)

// testRules are password rules as the password package reports them.
var testRules = []Message{
	{"password.policy.too_short", []any{12}},
	{"password.policy.need_digit", nil},
	{"password.policy.too_long", []any{128}},
}

// testDevices are two signed-in browsers: this one, and another with
// two applications.
var testDevices = []DeviceEntry{
	{ID: "s-this", Browser: "Chrome (macOS)", IP: "203.0.113.7", Current: true,
		SignedIn:   time.Date(2025, 3, 4, 5, 6, 0, 0, time.FixedZone("JST", 9*60*60)),
		LastActive: time.Date(2025, 3, 4, 6, 0, 0, 0, time.FixedZone("JST", 9*60*60))},
	{ID: "s-phone", Browser: "Safari (iOS)", IP: "2001:db8::1", Apps: []string{"Portal", xss},
		SignedIn:   time.Date(2025, 3, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*60*60)),
		LastActive: time.Date(2025, 3, 3, 22, 15, 0, 0, time.FixedZone("JST", 9*60*60))},
}

// testSignIns are two recent sign-ins, the second without an application.
var testSignIns = []SignInEntry{
	{Time: time.Date(2025, 3, 4, 5, 6, 0, 0, time.FixedZone("JST", 9*60*60)), IP: "203.0.113.7", Browser: "Firefox on Windows", Client: "Portal"},
	{Time: time.Date(2025, 12, 24, 18, 30, 0, 0, time.UTC), IP: "2001:db8::1", Browser: "Safari on iOS"},
}

// TestPagesCommon renders every page in both languages and checks what every
// page must have.
func TestPagesCommon(t *testing.T) {
	r := newRenderer(t)
	current, _ := url.Parse("http://localhost:8080/authorize/callback?id=req-1&lang=en&x=a%26b")
	for _, pc := range pageCases {
		for _, l := range langs {
			t.Run(pc.name+"/"+l.code, func(t *testing.T) {
				w := httptest.NewRecorder()
				if err := pc.render(r, w, Base{Lang: l.tag, CurrentURL: current}); err != nil {
					t.Fatalf("render: %v", err)
				}
				res := w.Result()
				if res.StatusCode != pc.status {
					t.Errorf("status = %d, want %d", res.StatusCode, pc.status)
				}
				for header, want := range map[string]string{
					"Content-Type":     "text/html; charset=utf-8",
					"Content-Language": l.code,
					"Cache-Control":    "no-store",
				} {
					if got := res.Header.Get(header); got != want {
						t.Errorf("%s = %q, want %q", header, got, want)
					}
				}
				doc := parseHTML(t, w.Body.String())
				checkCommon(t, doc, l.code)
				if form := stepForm(pc.name); form != "" {
					checkLangButtons(t, doc, form, l.code)
					return
				}
				checkLangSwitch(t, doc, map[string]string{
					"en": "/authorize/callback?id=req-1&lang=en&x=a%26b",
					"ja": "/authorize/callback?id=req-1&lang=ja&x=a%26b",
				})
			})
		}
	}
}

// checkCommon checks the page frame, CSP-compatibility, labels, one submit
// button per form and that no message key leaked into the text.
func checkCommon(t *testing.T, doc *html.Node, lang string) {
	t.Helper()
	htmlEl := htmltest.Find(doc, tagIs("html"))
	if len(htmlEl) != 1 || htmltest.Attr(htmlEl[0], "lang") != lang {
		t.Errorf("<html lang> = %v, want %q", attrs(htmlEl, "lang"), lang)
	}
	if n := htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "meta") && htmltest.Attr(n, "name") == "viewport" && strings.Contains(htmltest.Attr(n, "content"), "width=device-width")
	}); len(n) != 1 {
		t.Errorf("viewport meta: found %d, want 1", len(n))
	}
	links := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "link") && htmltest.Attr(n, "rel") == "stylesheet" })
	if len(links) != 1 {
		t.Fatalf("stylesheet links: found %d, want 1", len(links))
	}
	if u, err := url.Parse(htmltest.Attr(links[0], "href")); err != nil || u.Path != "/static/style.css" || u.Host != "" {
		t.Errorf("stylesheet href = %q, want /static/style.css", htmltest.Attr(links[0], "href"))
	}
	if titles := htmltest.Find(doc, tagIs("title")); len(titles) != 1 || htmltest.Text(titles[0]) == "" {
		t.Errorf("want one non-empty <title>")
	}
	if h1 := htmltest.Find(doc, tagIs("h1")); len(h1) != 1 {
		t.Errorf("<h1>: found %d, want 1", len(h1))
	}
	// CSP: no inline scripts, no inline styles, no event handlers; the
	// one script allowed is our own file.
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		if n.Data == "style" {
			t.Errorf("found <%s> element", n.Data)
		}
		if n.Data == "script" {
			if u, err := url.Parse(htmltest.Attr(n, "src")); err != nil || u.Path != "/static/forms.js" || u.Host != "" || n.FirstChild != nil {
				t.Errorf("found <script src=%q> with content %v", htmltest.Attr(n, "src"), n.FirstChild != nil)
			}
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
	}
	// Unique ids.
	ids := map[string]bool{}
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && htmltest.HasAttr(n, "id") }) {
		id := htmltest.Attr(n, "id")
		if ids[id] {
			t.Errorf("duplicate id %q", id)
		}
		ids[id] = true
	}
	// Every visible input has a label.
	labels := map[string]bool{}
	for _, l := range htmltest.Find(doc, tagIs("label")) {
		if htmltest.Text(l) == "" {
			t.Errorf("empty label for %q", htmltest.Attr(l, "for"))
		}
		labels[htmltest.Attr(l, "for")] = true
	}
	for _, in := range htmltest.Find(doc, tagIs("input")) {
		switch htmltest.Attr(in, "type") {
		case "hidden", "submit":
			continue
		}
		if htmltest.HasAttr(in, "hidden") {
			continue
		}
		if id := htmltest.Attr(in, "id"); id == "" || !labels[id] {
			t.Errorf("input name=%q id=%q has no <label for>", htmltest.Attr(in, "name"), id)
		}
	}
	// Every form has exactly one submit button.
	for _, f := range htmltest.Find(doc, tagIs("form")) {
		if n := len(htmltest.Find(f, isSubmit)); n != 1 {
			t.Errorf("form action=%q has %d submit buttons, want 1", htmltest.Attr(f, "action"), n)
		}
	}
	// No untranslated catalog key in the text.
	for _, s := range textNodes(doc) {
		if m := keyPattern.FindString(s); m != "" {
			t.Errorf("text %q contains the message key %q", s, m)
		}
	}
}

var keyPattern = regexp.MustCompile(`\b(lang|login|error|logout|signedout|demo|reset|password|otp|change|account|verify|admin|invite|home|legacy|locked|unlock)\.[a-z_]+(\.[a-z_]+)*\b`)

func checkLangSwitch(t *testing.T, doc *html.Node, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, a := range htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && htmltest.HasAttr(n, "hreflang") }) {
		got[htmltest.Attr(a, "hreflang")] = htmltest.Attr(a, "href")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("language switch links (-want +got):\n%s", diff)
	}
}

func TestLangSwitchDefaults(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name string
		base Base
		want map[string]string
	}{
		{"nothing", Base{}, map[string]string{"en": "?lang=en", "ja": "?lang=ja"}},
		{"explicit", Base{LangSwitchEN: "/x?lang=en", LangSwitchJA: "/x?lang=ja", CurrentURL: &url.URL{Path: "/ignored"}},
			map[string]string{"en": "/x?lang=en", "ja": "/x?lang=ja"}},
		{"current", Base{CurrentURL: &url.URL{Path: "/login", RawQuery: "id=1"}},
			map[string]string{"en": "/login?id=1&lang=en", "ja": "/login?id=1&lang=ja"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := r.RenderSignedOut(w, SignedOutPage{Base: tc.base}); err != nil {
				t.Fatal(err)
			}
			checkLangSwitch(t, parseHTML(t, w.Body.String()), tc.want)
		})
	}
}

func TestLangSwitchURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lang string
		want string
	}{
		{"", "ja", "?lang=ja"},
		{"/login", "en", "/login?lang=en"},
		{"/login?lang=ja", "en", "/login?lang=en"},
		{"/demo?b=2&a=1", "ja", "/demo?a=1&b=2&lang=ja"},
		{"https://evil.example/x?y=1", "en", "/x?lang=en&y=1"},
		{"//evil.example/x", "en", "/x?lang=en"},
		{"/a%2Fb?q=%3Cx%3E", "en", "/a%2Fb?lang=en&q=%3Cx%3E"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var u *url.URL
			if tc.in != "" {
				var err error
				if u, err = url.Parse(tc.in); err != nil {
					t.Fatal(err)
				}
			}
			if got := LangSwitchURL(u, tc.lang); got != tc.want {
				t.Errorf("LangSwitchURL(%q, %q) = %q, want %q", tc.in, tc.lang, got, tc.want)
			}
		})
	}
	// "//evil.example/x" parses as a host; a path of "//" must not either.
	if got := LangSwitchURL(&url.URL{Path: "//evil.example/x"}, "en"); got != "/evil.example/x?lang=en" {
		t.Errorf("LangSwitchURL(path //evil.example/x) = %q", got)
	}
}

func TestLogin(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderLogin(w, http.StatusOK, LoginPage{
				Base:          Base{Lang: l.tag},
				AuthRequestID: `req"<1>`,
				Account:       AccountFields{Email: "user@example.com"},
				ClientName:    "<b>x</b>",
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			forms := htmltest.Find(doc, tagIs("form"))
			if len(forms) != 1 {
				t.Fatalf("found %d forms, want 1", len(forms))
			}
			f := forms[0]
			if got := htmltest.Attr(f, "method"); got != "post" {
				t.Errorf("method = %q, want post", got)
			}
			if got := htmltest.Attr(f, "action"); got != "/login" {
				t.Errorf("action = %q, want /login", got)
			}
			if n := len(htmltest.Find(f, isSubmit)); n != 1 {
				t.Errorf("%d submit buttons, want 1", n)
			}
			type input struct{ Type, Name, Value, Autocomplete string }
			var got []input
			for _, in := range htmltest.Find(f, tagIs("input")) {
				got = append(got, input{htmltest.Attr(in, "type"), htmltest.Attr(in, "name"), htmltest.Attr(in, "value"), htmltest.Attr(in, "autocomplete")})
			}
			want := []input{
				{"hidden", "id", `req"<1>`, ""},
				{"email", "email", "user@example.com", "username"},
				{"password", "password", "", "current-password"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			// The client name is text, not markup.
			if b := htmltest.Find(doc, tagIs("b")); len(b) != 0 {
				t.Errorf("client name was rendered as markup: %d <b> elements", len(b))
			}
			wantLead := i18n.T(l.tag, "login.continue_to", "<b>x</b>")
			if !slices.Contains(textNodes(doc), wantLead) {
				t.Errorf("text %q not found in %q", wantLead, textNodes(doc))
			}
			if a := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && !htmltest.HasAttr(n, "hreflang") }); len(a) != 0 {
				t.Errorf("forgot link shown without ForgotURL")
			}
			if alerts := htmltest.Find(doc, roleAlert); len(alerts) != 0 {
				t.Errorf("alert shown without Error")
			}
		})
	}
}

func TestLoginError(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderLogin(w, http.StatusUnauthorized, LoginPage{
				Base:          Base{Lang: l.tag},
				AuthRequestID: "req-1",
				Error:         "login.error.invalid",
				ForgotURL:     "/forgot?id=req-1",
			})
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", w.Code)
			}
			doc := parseHTML(t, w.Body.String())
			alerts := htmltest.Find(doc, roleAlert)
			if len(alerts) != 1 || htmltest.Text(alerts[0]) != i18n.T(l.tag, "login.error.invalid") {
				t.Errorf("alert = %v, want %q", texts(alerts), i18n.T(l.tag, "login.error.invalid"))
			}
			forgot := htmltest.Find(doc, func(n *html.Node) bool {
				return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == "/forgot?id=req-1"
			})
			if len(forgot) != 1 || htmltest.Text(forgot[0]) != i18n.T(l.tag, "login.forgot") {
				t.Errorf("forgot link = %v", texts(forgot))
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderError(w, http.StatusServiceUnavailable, ErrorPage{
				Base:    Base{Lang: l.tag, Title: "error.unavailable.title"},
				Message: "error.unavailable",
				BackURL: "https://app.example.com/start?a=1&b=2",
			})
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", w.Code)
			}
			doc := parseHTML(t, w.Body.String())
			if got, want := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]), i18n.T(l.tag, "error.unavailable.title"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
			if got, want := htmltest.Text(htmltest.Find(doc, tagIs("title"))[0]), i18n.T(l.tag, "page.title", i18n.T(l.tag, "error.unavailable.title"), "sekisho"); got != want {
				t.Errorf("title = %q, want %q", got, want)
			}
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, i18n.T(l.tag, "error.unavailable")) {
				t.Errorf("paragraphs %q lack the message", ps)
			}
			back := htmltest.Find(main, tagIs("a"))
			if len(back) != 1 || htmltest.Attr(back[0], "href") != "https://app.example.com/start?a=1&b=2" || htmltest.Text(back[0]) != i18n.T(l.tag, "error.back_to_app") {
				t.Errorf("back link = %v %v", attrs(back, "href"), texts(back))
			}
		})
	}
}

func TestErrorPageDefaults(t *testing.T) {
	r := newRenderer(t)
	w := httptest.NewRecorder()
	if err := r.RenderError(w, http.StatusInternalServerError, ErrorPage{Base: Base{Lang: language.Japanese}}); err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, w.Body.String())
	if got, want := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]), i18n.T(language.Japanese, "error.title"); got != want {
		t.Errorf("h1 = %q, want %q", got, want)
	}
	main := htmltest.Find(doc, tagIs("main"))[0]
	if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, i18n.T(language.Japanese, "error.server")) {
		t.Errorf("paragraphs %q lack error.server", ps)
	}
	if a := htmltest.Find(main, tagIs("a")); len(a) != 0 {
		t.Errorf("back link shown without BackURL")
	}
}

func TestLogoutConfirm(t *testing.T) {
	r := newRenderer(t)
	w := httptest.NewRecorder()
	err := r.RenderLogoutConfirm(w, LogoutConfirmPage{
		Base: Base{Lang: language.Japanese},
		Hidden: []HiddenField{
			{"state", `"><x`},
			{"post_logout_redirect_uri", "https://app.example.com/bye"},
			{"client_id", "portal"},
			{"confirm", "no"},
			{"ui_locales", "ja en"},
		},
		CancelURL: "https://app.example.com/",
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, w.Body.String())
	forms := htmltest.Find(doc, tagIs("form"))
	if len(forms) != 1 {
		t.Fatalf("found %d forms, want 1", len(forms))
	}
	f := forms[0]
	if htmltest.Attr(f, "method") != "post" || htmltest.Attr(f, "action") != "/end_session" {
		t.Errorf("form method=%q action=%q, want post /end_session", htmltest.Attr(f, "method"), htmltest.Attr(f, "action"))
	}
	var got []HiddenField
	for _, in := range htmltest.Find(f, func(n *html.Node) bool { return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "hidden" }) {
		got = append(got, HiddenField{htmltest.Attr(in, "name"), htmltest.Attr(in, "value")})
	}
	want := []HiddenField{
		{"state", `"><x`},
		{"post_logout_redirect_uri", "https://app.example.com/bye"},
		{"client_id", "portal"},
		{"ui_locales", "ja en"},
		{"confirm", "yes"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hidden fields (-want +got):\n%s", diff)
	}
	if h1 := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]); h1 != "ログアウトしますか？" {
		t.Errorf("h1 = %q", h1)
	}
	cancel := htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == "https://app.example.com/"
	})
	if len(cancel) != 1 || htmltest.Text(cancel[0]) != "キャンセル" {
		t.Errorf("cancel link = %v", texts(cancel))
	}
}

func TestSignedOut(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name     string
		page     SignedOutPage
		wantLink string
	}{
		{"no link", SignedOutPage{}, ""},
		{"client", SignedOutPage{BackURL: "https://app.example.com/", ClientName: "<i>Portal</i>"}, "Return to <i>Portal</i>"},
		{"no client name", SignedOutPage{BackURL: "https://app.example.com/"}, "Return to the application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := r.RenderSignedOut(w, tc.page); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, "You have been signed out.") {
				t.Errorf("paragraphs %q", ps)
			}
			links := htmltest.Find(main, tagIs("a"))
			if tc.wantLink == "" {
				if len(links) != 0 {
					t.Errorf("unexpected links %v", texts(links))
				}
				return
			}
			if len(links) != 1 || htmltest.Text(links[0]) != tc.wantLink || htmltest.Attr(links[0], "href") != tc.page.BackURL {
				t.Errorf("links = %v %v, want %q", texts(links), attrs(links, "href"), tc.wantLink)
			}
			if len(htmltest.Find(main, tagIs("i"))) != 0 {
				t.Errorf("client name rendered as markup")
			}
		})
	}
}

func TestDemo(t *testing.T) {
	r := newRenderer(t)
	t.Run("signed out", func(t *testing.T) {
		w := httptest.NewRecorder()
		if err := r.RenderDemo(w, DemoPage{Base: Base{Lang: language.English}}); err != nil {
			t.Fatal(err)
		}
		doc := parseHTML(t, w.Body.String())
		forms := htmltest.Find(doc, tagIs("form"))
		if len(forms) != 1 || htmltest.Attr(forms[0], "action") != "/demo/login" || htmltest.Attr(forms[0], "method") != "get" {
			t.Fatalf("forms = %v, want one GET /demo/login", attrs(forms, "action"))
		}
		if got := texts(htmltest.Find(forms[0], isSubmit)); !cmp.Equal(got, []string{"Sign in"}) {
			t.Errorf("submit = %q", got)
		}
		if len(htmltest.Find(doc, tagIs("dl"))) != 0 || len(htmltest.Find(doc, tagIs("pre"))) != 0 {
			t.Errorf("claims shown while signed out")
		}
	})
	t.Run("signed in", func(t *testing.T) {
		w := httptest.NewRecorder()
		raw := "{\n  \"name\": \"<script>alert(1)</script>\"\n}"
		err := r.RenderDemo(w, DemoPage{
			Base:     Base{Lang: language.Japanese},
			SignedIn: true,
			Claims:   []Claim{{"sub", "u1"}, {"name", "<script>alert(1)</script>"}, {"amr", "pwd otp"}},
			RawJSON:  raw,
			Error:    "<b>token refresh failed</b>",
		})
		if err != nil {
			t.Fatal(err)
		}
		doc := parseHTML(t, w.Body.String())
		var got []Claim
		for _, dl := range htmltest.Find(doc, tagIs("dl")) {
			dts, dds := htmltest.Find(dl, tagIs("dt")), htmltest.Find(dl, tagIs("dd"))
			if len(dts) != len(dds) {
				t.Fatalf("%d dt, %d dd", len(dts), len(dds))
			}
			for i := range dts {
				got = append(got, Claim{htmltest.Text(dts[i]), htmltest.Text(dds[i])})
			}
		}
		want := []Claim{{"sub", "u1"}, {"name", "<script>alert(1)</script>"}, {"amr", "pwd otp"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		if pre := htmltest.Find(doc, tagIs("pre")); len(pre) != 1 || htmltest.Text(pre[0]) != raw {
			t.Errorf("pre = %q, want %q", texts(pre), raw)
		}
		if alerts := htmltest.Find(doc, roleAlert); len(alerts) != 1 || htmltest.Text(alerts[0]) != "<b>token refresh failed</b>" {
			t.Errorf("alert = %q", texts(alerts))
		}
		type form struct{ Method, Action, Button string }
		var forms []form
		for _, f := range htmltest.Find(doc, tagIs("form")) {
			forms = append(forms, form{htmltest.Attr(f, "method"), htmltest.Attr(f, "action"), strings.Join(texts(htmltest.Find(f, isSubmit)), "|")})
		}
		wantForms := []form{
			{"post", "/demo/refresh", "トークンを更新"},
			{"post", "/demo/logout", "ログアウト"},
		}
		if diff := cmp.Diff(wantForms, forms); diff != "" {
			t.Errorf("forms (-want +got):\n%s", diff)
		}
	})
}

// TestTemplateKeysExist checks that every literal key passed to t in the
// templates has a catalog entry.
func TestTemplateKeysExist(t *testing.T) {
	r := newRenderer(t)
	keys := map[string]bool{}
	for _, page := range requiredPages {
		for _, tmpl := range r.pages["en"][page].Templates() {
			if tmpl.Tree != nil {
				collectKeys(tmpl.Tree.Root, keys)
			}
		}
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d keys; is the parse-tree walk broken?", len(keys))
	}
	for key := range keys {
		if !i18n.Has(key) {
			t.Errorf("template uses missing key %q", key)
		}
	}
}

func collectKeys(node parse.Node, keys map[string]bool) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectKeys(c, keys)
		}
	case *parse.ActionNode:
		collectKeys(n.Pipe, keys)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			if len(cmd.Args) >= 2 {
				if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
					if s, ok := cmd.Args[1].(*parse.StringNode); ok {
						keys[s.Text] = true
					}
				}
			}
			for _, a := range cmd.Args {
				collectKeys(a, keys)
			}
		}
	case *parse.IfNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.RangeNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.WithNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.TemplateNode:
		collectKeys(n.Pipe, keys)
	}
}

// TestRenderFailureSendsNoHalfPage checks that a failing template produces
// a plain 500 and an error, and none of the partial output.
func TestRenderFailureSendsNoHalfPage(t *testing.T) {
	r := newRenderer(t)
	broken := template.Must(template.New("x").Parse(`{{define "layout"}}<p>partial output{{.Missing}}</p>{{end}}`))
	w := httptest.NewRecorder()
	err := r.execute(w, http.StatusOK, broken, "en", "broken", struct{}{})
	if err == nil {
		t.Fatal("execute succeeded, want an error")
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if body := w.Body.String(); strings.Contains(body, "partial") || body != "Internal Server Error\n" {
		t.Errorf("body = %q", body)
	}

	w = httptest.NewRecorder()
	if err := r.RenderLogin(w, 42, LoginPage{}); err == nil || w.Code != http.StatusInternalServerError {
		t.Errorf("invalid status: err = %v, code = %d; want an error and 500", err, w.Code)
	}
}

func TestStaticHandler(t *testing.T) {
	r := newRenderer(t)
	srv := httptest.NewServer(http.StripPrefix("", r.StaticHandler()))
	defer srv.Close()

	// The stylesheet the pages link to.
	w := httptest.NewRecorder()
	if err := r.RenderSignedOut(w, SignedOutPage{}); err != nil {
		t.Fatal(err)
	}
	href := htmltest.Attr(htmltest.Find(parseHTML(t, w.Body.String()), tagIs("link"))[0], "href")

	for _, tc := range []struct {
		path       string
		wantStatus int
	}{
		{href, http.StatusOK},
		{"/static/style.css", http.StatusOK},
		{"/static/", http.StatusNotFound},
		{"/static/missing.css", http.StatusNotFound},
		{"/static/../templates.go", http.StatusNotFound},
		{"/static/%2e%2e/templates.go", http.StatusNotFound},
		{"/other/style.css", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, err := srv.Client().Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Errorf("Content-Type = %q, want text/css", ct)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control = %q, want a long max-age", cc)
			}
			if !strings.Contains(string(body), "font-family") {
				t.Errorf("body does not look like the stylesheet")
			}
		})
	}
}

// field is one input of a form, as a browser's autofill sees it.
type field struct{ Type, Name, ID, Value, Autocomplete string }

// formFields returns the inputs of f in document order.
func formFields(f *html.Node) []field {
	var out []field
	for _, in := range htmltest.Find(f, tagIs("input")) {
		out = append(out, field{htmltest.Attr(in, "type"), htmltest.Attr(in, "name"), htmltest.Attr(in, "id"), htmltest.Attr(in, "value"), htmltest.Attr(in, "autocomplete")})
	}
	return out
}

// formByAction returns the forms posting to action.
func formByAction(doc *html.Node, action string) []*html.Node {
	return htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "form") && htmltest.Attr(n, "action") == action
	})
}

// byClass returns the first element with the class, or nil.
func byClass(doc *html.Node, class string) *html.Node {
	found := htmltest.Find(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && slices.Contains(strings.Fields(htmltest.Attr(n, "class")), class)
	})
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// byID returns the element with the id, or nil.
func byID(doc *html.Node, id string) *html.Node {
	found := htmltest.Find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && htmltest.Attr(n, "id") == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// labelText returns the text of the label for the id.
func labelText(doc *html.Node, id string) string {
	for _, l := range htmltest.Find(doc, tagIs("label")) {
		if htmltest.Attr(l, "for") == id {
			return htmltest.Text(l)
		}
	}
	return ""
}

// checkForm checks that doc has exactly one form posting to action, with
// the given inputs and submit button text, and returns it.
func checkForm(t *testing.T, doc *html.Node, action string, want []field, submit string) *html.Node {
	t.Helper()
	forms := formByAction(doc, action)
	if len(forms) != 1 {
		t.Fatalf("found %d forms posting to %s, want 1", len(forms), action)
	}
	f := forms[0]
	if got := htmltest.Attr(f, "method"); got != "post" {
		t.Errorf("form %s: method = %q, want post", action, got)
	}
	if diff := cmp.Diff(want, formFields(f)); diff != "" {
		t.Errorf("form %s inputs (-want +got):\n%s", action, diff)
	}
	if got := texts(htmltest.Find(f, isSubmit)); !cmp.Equal(got, []string{submit}) {
		t.Errorf("form %s submit = %q, want %q", action, got, submit)
	}
	return f
}

// checkText checks that the element with the id exists exactly when want is
// not empty, and that its text is want.
func checkText(t *testing.T, doc *html.Node, id, want string) {
	t.Helper()
	n := byID(doc, id)
	switch {
	case want == "" && n != nil:
		t.Errorf("#%s shown: %q", id, htmltest.Text(n))
	case want != "" && n == nil:
		t.Errorf("#%s missing, want %q", id, want)
	case want != "" && htmltest.Text(n) != want:
		t.Errorf("#%s = %q, want %q", id, htmltest.Text(n), want)
	}
}

// listItems returns the texts of the <li> under the element with the id.
func listItems(doc *html.Node, id string) []string {
	n := byID(doc, id)
	if n == nil {
		return nil
	}
	return texts(htmltest.Find(n, tagIs("li")))
}

func ruleTexts(tag language.Tag, rules []Message) []string {
	var out []string
	for _, r := range rules {
		out = append(out, i18n.T(tag, r.Key, r.Args...))
	}
	return out
}

const xss = `<script>alert(1)</script>`

func TestOTP(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name       string
		status     int
		err        Message
		resent     bool
		wantError  bool
		wantResent bool
	}{
		{name: "first", status: http.StatusOK},
		{name: "resent", status: http.StatusOK, resent: true, wantResent: true},
		{name: "wrong code", status: http.StatusUnauthorized, err: Message{Key: "otp.error.code"}, wantError: true},
		{name: "cooldown", status: http.StatusTooManyRequests, err: Message{"otp.error.cooldown", []any{42}}, wantError: true},
		{name: "args without key", status: http.StatusOK, err: Message{Args: []any{1}}},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				w := httptest.NewRecorder()
				p := OTPPage{
					Base:          Base{Lang: l.tag},
					AuthRequestID: `req"<1>&`,
					Ticket:        `tick"et<`,
					MaskedEmail:   xss + "a***@example.com",
					ValidMinutes:  10,
					Error:         tc.err,
					Resent:        tc.resent,
				}
				if err := r.RenderOTP(w, tc.status, p); err != nil {
					t.Fatal(err)
				}
				if w.Code != tc.status {
					t.Errorf("status = %d, want %d", w.Code, tc.status)
				}
				doc := parseHTML(t, w.Body.String())
				if h1 := texts(htmltest.Find(doc, tagIs("h1"))); !cmp.Equal(h1, []string{i18n.T(l.tag, "otp.title")}) {
					t.Errorf("h1 = %q", h1)
				}
				// The masked address is text, not markup.
				wantLead := i18n.T(l.tag, "otp.lead", p.MaskedEmail, 10)
				if !slices.Contains(textNodes(doc), wantLead) {
					t.Errorf("lead %q not found in %q", wantLead, textNodes(doc))
				}
				f := checkForm(t, doc, "/login/otp", []field{
					{"hidden", "id", "", p.AuthRequestID, ""},
					{"hidden", "ticket", "", p.Ticket, ""},
					{"text", "code", "code", "", "one-time-code"},
				}, i18n.T(l.tag, "otp.submit"))
				code := htmltest.Find(f, func(n *html.Node) bool { return htmltest.IsTag(n, "input") && htmltest.Attr(n, "name") == "code" })[0]
				for k, v := range map[string]string{"inputmode": "numeric", "pattern": "[0-9]*", "maxlength": "6"} {
					if got := htmltest.Attr(code, k); got != v {
						t.Errorf("code %s = %q, want %q", k, got, v)
					}
				}
				for _, k := range []string{"required", "autofocus"} {
					if !htmltest.HasAttr(code, k) {
						t.Errorf("code input lacks %s", k)
					}
				}
				if got := labelText(doc, "code"); got != i18n.T(l.tag, "otp.code") {
					t.Errorf("code label = %q", got)
				}
				resend := checkForm(t, doc, "/login/otp/resend", []field{
					{"hidden", "id", "", p.AuthRequestID, ""},
					{"hidden", "ticket", "", p.Ticket, ""},
				}, i18n.T(l.tag, "otp.resend"))
				if b := htmltest.Find(resend, isSubmit)[0]; htmltest.Attr(b, "class") != "button" {
					t.Errorf("resend button class = %q, want button", htmltest.Attr(b, "class"))
				}
				back := htmltest.Find(doc, func(n *html.Node) bool {
					return htmltest.IsTag(n, "a") && htmltest.Text(n) == i18n.T(l.tag, "otp.use_other_account")
				})
				if len(back) != 1 {
					t.Fatalf("found %d other-account links, want 1", len(back))
				}
				if u, err := url.Parse(htmltest.Attr(back[0], "href")); err != nil || u.Path != "/login" || u.Host != "" || u.Query().Get("id") != p.AuthRequestID {
					t.Errorf("other-account href = %q", htmltest.Attr(back[0], "href"))
				}
				wantErr := ""
				if tc.wantError {
					wantErr = i18n.T(l.tag, tc.err.Key, tc.err.Args...)
				}
				checkText(t, doc, "otp-error", wantErr)
				if n := len(htmltest.Find(doc, roleAlert)); tc.wantError != (n == 1) || n > 1 {
					t.Errorf("%d alerts, want error %v", n, tc.wantError)
				}
				wantResent := ""
				if tc.wantResent {
					wantResent = i18n.T(l.tag, "otp.resent")
				}
				checkText(t, doc, "otp-resent", wantResent)
			})
		}
	}
}

func TestChangePassword(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name       string
		status     int
		err        string
		violations []Message
	}{
		{name: "first", status: http.StatusOK},
		{name: "mismatch", status: http.StatusBadRequest, err: "reset.error.mismatch"},
		{name: "violations", status: http.StatusBadRequest, violations: testRules[1:]},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				w := httptest.NewRecorder()
				p := ChangePasswordPage{
					Base:          Base{Lang: l.tag},
					AuthRequestID: `req"<1>`,
					Ticket:        `t&k"`,
					Error:         tc.err,
					Violations:    tc.violations,
					Rules:         testRules,
				}
				if err := r.RenderChangePassword(w, tc.status, p); err != nil {
					t.Fatal(err)
				}
				if w.Code != tc.status {
					t.Errorf("status = %d, want %d", w.Code, tc.status)
				}
				doc := parseHTML(t, w.Body.String())
				if h1 := texts(htmltest.Find(doc, tagIs("h1"))); !cmp.Equal(h1, []string{i18n.T(l.tag, "change.title")}) {
					t.Errorf("h1 = %q", h1)
				}
				if !slices.Contains(textNodes(doc), i18n.T(l.tag, "change.lead")) {
					t.Errorf("lead missing")
				}
				f := checkForm(t, doc, "/login/password", []field{
					{"hidden", "id", "", p.AuthRequestID, ""},
					{"hidden", "ticket", "", p.Ticket, ""},
					{"password", "password", "password", "", "new-password"},
					{"password", "confirm", "confirm", "", "new-password"},
				}, i18n.T(l.tag, "change.submit"))
				for _, in := range htmltest.Find(f, func(n *html.Node) bool { return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "password" }) {
					if !htmltest.HasAttr(in, "required") {
						t.Errorf("input %s is not required", htmltest.Attr(in, "name"))
					}
				}
				if got, want := labelText(doc, "password"), i18n.T(l.tag, "reset.new_password"); got != want {
					t.Errorf("password label = %q, want %q", got, want)
				}
				if got, want := labelText(doc, "confirm"), i18n.T(l.tag, "reset.confirm"); got != want {
					t.Errorf("confirm label = %q, want %q", got, want)
				}
				// The rules and errors under the fields: TestNewPasswordFields.
				checkNewPassword(t, doc, l.tag, "password", "confirm", testRules, tc.violations, tc.err == KeyPasswordMismatch)
				checkText(t, doc, "change-error", "")
			})
		}
	}
}

func TestAccount(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name string
		page AccountPage
	}{
		{"plain", AccountPage{Email: "a@example.com", EmailVerified: true}},
		{"unverified", AccountPage{Name: "Aiko", Email: "a@example.com", PendingEmail: "new@example.com"}},
		{"otp off", AccountPage{Email: "a@example.com", EmailVerified: true, OTPChoice: true}},
		{"otp on", AccountPage{Email: "a@example.com", EmailVerified: true, OTPChoice: true, OTPEnabled: true,
			Notice: Message{Key: "account.otp_enabled"}}},
		{"otp not offered", AccountPage{Email: "a@example.com", OTPEnabled: true}},
		{"email error", AccountPage{Email: "a@example.com", Section: "email", Error: Message{Key: "account.error.same_email"}}},
		{"password error", AccountPage{Email: "a@example.com", Section: "password",
			Error: Message{Key: "account.error.current_password"}, Violations: testRules[:1]}},
		{"password violations", AccountPage{Email: "a@example.com", Section: "password", Violations: testRules}},
		{"notice with args", AccountPage{Email: "a@example.com", Notice: Message{"account.email_change_sent", []any{xss + "@example.com"}}}},
		{"other error", AccountPage{Email: "a@example.com", Error: Message{"account.verification_sent", []any{"a@example.com", 30}}}},
		{"sign-ins", AccountPage{Name: xss, Email: xss + "@example.com", SignIns: append([]SignInEntry{
			{Time: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC), IP: "198.51.100.1", Browser: xss, Client: "<b>App</b>"},
		}, testSignIns...)}},
		{"devices", AccountPage{Email: "a@example.com", Devices: testDevices}},
		{"device signed out", AccountPage{Email: "a@example.com", Devices: testDevices[:1], Section: "sessions",
			Notice: Message{"account.device_signed_out", []any{"Safari (iOS)"}}}},
		{"device gone", AccountPage{Email: "a@example.com", Devices: testDevices, Section: "sessions",
			Error: Message{Key: "account.error.session_gone"}}},
		{"verification sent", AccountPage{Email: "a@example.com", Section: "profile",
			Notice: Message{"account.verification_sent", []any{"a@example.com", 10}}}},
		{"otp switched", AccountPage{Email: "a@example.com", EmailVerified: true, OTPChoice: true, Section: "otp",
			Notice: Message{Key: "account.otp_disabled"}}},
		{"back to the application", AccountPage{Email: "a@example.com", OTPChoice: true, Devices: testDevices,
			BackURL: "https://app.example/home?a=1&b=2", BackName: "<b>Portal</b>", BackQuery: "?client_id=portal&return_to=https%3A%2F%2Fapp.example%2Fhome"}},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				p := tc.page
				p.Base = Base{Lang: l.tag}
				p.Rules = testRules
				w := httptest.NewRecorder()
				if err := r.RenderAccount(w, http.StatusAccepted, p); err != nil {
					t.Fatal(err)
				}
				if w.Code != http.StatusAccepted {
					t.Errorf("status = %d, want %d", w.Code, http.StatusAccepted)
				}
				doc := parseHTML(t, w.Body.String())
				T := func(key string, args ...any) string { return i18n.T(l.tag, key, args...) }
				if h1 := texts(htmltest.Find(doc, tagIs("h1"))); !cmp.Equal(h1, []string{T("account.title")}) {
					t.Errorf("h1 = %q", h1)
				}
				if n := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.HasAttr(n, "autofocus") }); len(n) != 0 {
					t.Errorf("%d elements with autofocus on the account page", len(n))
				}
				// Sections, in order, each with a heading.
				var sections []string
				for _, s := range htmltest.Find(doc, tagIs("section")) {
					sections = append(sections, htmltest.Attr(s, "id"))
					if len(htmltest.Find(s, tagIs("h2"))) != 1 {
						t.Errorf("section %s: want one <h2>", htmltest.Attr(s, "id"))
					}
				}
				wantSections := slices.DeleteFunc(slices.Clone(AccountSections), func(s string) bool {
					return (s == "otp" && !p.OTPChoice) || (s == "mfa" && p.MFA == nil)
				})
				if diff := cmp.Diff(wantSections, sections); diff != "" {
					t.Errorf("sections (-want +got):\n%s", diff)
				}
				// The navigation links to each section, in order.
				var anchors []string
				for _, a := range htmltest.Find(byClass(doc, "account-nav"), tagIs("a")) {
					anchors = append(anchors, strings.TrimPrefix(htmltest.Attr(a, "href"), "#"))
				}
				if diff := cmp.Diff(wantSections, anchors); diff != "" {
					t.Errorf("navigation (-want +got):\n%s", diff)
				}
				if nav := byClass(doc, "account-nav"); nav == nil || htmltest.Attr(nav, "aria-label") != T("account.nav") {
					t.Errorf("navigation without its label")
				}
				// Every form of a section posts to the section's anchor
				// (keeping the application of the back link), so its
				// answer opens there; sign out everywhere leaves the page.
				for _, s := range htmltest.Find(doc, tagIs("section")) {
					id := htmltest.Attr(s, "id")
					for _, f := range htmltest.Find(s, tagIs("form")) {
						action := htmltest.Attr(f, "action")
						if action == "/account/logout-all" {
							continue
						}
						if u, err := url.Parse(action); err != nil || u.Fragment != id || u.RawQuery != strings.TrimPrefix(p.BackQuery, "?") {
							t.Errorf("section %s: form action %q, want #%s and query %q", id, action, id, p.BackQuery)
						}
					}
				}
				// The way back to the application.
				if back := byID(doc, "account-back"); p.BackURL == "" {
					if back != nil {
						t.Errorf("back link shown: %q", htmltest.Text(back))
					}
				} else if a := htmltest.Find(back, tagIs("a")); len(a) != 1 || htmltest.Attr(a[0], "href") != p.BackURL ||
					htmltest.Text(a[0]) != T("account.back", p.BackName) {
					t.Errorf("back link = %q", texts(a))
				}

				// Profile.
				profile := byID(doc, "profile")
				checkText(t, profile, "account-name", p.Name)
				checkText(t, profile, "account-email", p.Email)
				if p.EmailVerified {
					checkText(t, profile, "email-status", T("account.email_verified"))
				} else {
					checkText(t, profile, "email-status", T("account.email_unverified"))
				}
				if verify := formByAction(doc, "/account/verify"); p.EmailVerified {
					if len(verify) != 0 {
						t.Errorf("verification form shown for a verified address")
					}
				} else {
					checkForm(t, profile, "/account/verify"+p.BackQuery+"#profile", nil, T("account.send_verification"))
				}
				wantPending := ""
				if p.PendingEmail != "" {
					wantPending = T("account.pending_email", p.PendingEmail)
				}
				checkText(t, profile, "pending-email", wantPending)

				// Email change.
				checkForm(t, byID(doc, "email"), "/account/email"+p.BackQuery+"#email", []field{
					{"email", "email", "new-email", "", "email"},
					{"password", "current_password", "email-current-password", "", "current-password"},
				}, T("account.change_email_submit"))
				if got := labelText(doc, "new-email"); got != T("account.new_email") {
					t.Errorf("new-email label = %q", got)
				}
				if got := labelText(doc, "email-current-password"); got != T("account.current_password") {
					t.Errorf("email-current-password label = %q", got)
				}
				wantEmailErr := ""
				if p.Section == "email" {
					wantEmailErr = T(p.Error.Key, p.Error.Args...)
				}
				checkText(t, byID(doc, "email"), "email-error", wantEmailErr)

				// Password change.
				pwSection := byID(doc, "password")
				checkForm(t, pwSection, "/account/password"+p.BackQuery+"#password", []field{
					{"password", "current_password", "current-password", "", "current-password"},
					{"password", "password", "new-password", "", "new-password"},
					{"password", "confirm", "confirm-password", "", "new-password"},
				}, T("account.change_password_submit"))
				for _, id := range []string{"new-email", "email-current-password", "current-password", "new-password", "confirm-password"} {
					if !htmltest.HasAttr(byID(doc, id), "required") {
						t.Errorf("#%s is not required", id)
					}
				}
				var violations []Message
				if p.Section == "password" {
					violations = p.Violations
				}
				checkNewPassword(t, pwSection, l.tag, "new-password", "confirm-password", testRules, violations, false)
				wantCurrentErr := ""
				if p.Section == "password" && p.Error.Key == KeyWrongCurrentPassword {
					wantCurrentErr = T(p.Error.Key, p.Error.Args...)
				}
				checkText(t, pwSection, "current-password-error", wantCurrentErr)
				if wantCurrentErr != "" && htmltest.Attr(byID(doc, "current-password"), "aria-describedby") != "current-password-error" {
					t.Errorf("current-password aria-describedby = %q", htmltest.Attr(byID(doc, "current-password"), "aria-describedby"))
				}
				checkText(t, pwSection, "password-error", "")

				// A message of no section shows at the top; one of a
				// section only there.
				for _, s := range append([]string{""}, AccountSections...) {
					prefix, where := s, byID(doc, s)
					if s == "" {
						prefix, where = "account", doc
					}
					wantErr, wantNotice := "", ""
					// A wrong current password is said under its field.
					if p.Section == s && p.Error.Key != "" && p.Error.Key != KeyWrongCurrentPassword {
						wantErr = T(p.Error.Key, p.Error.Args...)
					}
					if p.Section == s && p.Notice.Key != "" {
						wantNotice = T(p.Notice.Key, p.Notice.Args...)
					}
					if where == nil {
						continue
					}
					checkText(t, where, prefix+"-error", wantErr)
					checkText(t, where, prefix+"-notice", wantNotice)
					if notice := byID(where, prefix+"-notice"); notice != nil && htmltest.Attr(notice, "role") != "status" {
						t.Errorf("notice role = %q, want status", htmltest.Attr(notice, "role"))
					}
				}
				alerts := 0
				if p.Error.Key != "" {
					alerts++
				}
				if p.Section == "password" && p.Violations != nil {
					alerts++
				}
				if n := len(htmltest.Find(doc, roleAlert)); n != alerts {
					t.Errorf("%d alerts, want %d", n, alerts)
				}

				// The emailed sign-in step.
				if otp := byID(doc, "otp"); otp != nil {
					state, value, button := T("account.otp_off"), "on", T("account.otp_enable")
					if p.OTPEnabled {
						state, value, button = T("account.otp_on"), "off", T("account.otp_disable")
					}
					checkText(t, otp, "otp-state", state)
					checkForm(t, otp, "/account/otp"+p.BackQuery+"#otp", []field{{"hidden", "otp", "", value, ""}}, button)
				} else if len(formByAction(doc, "/account/otp#otp")) != 0 {
					t.Errorf("otp form shown without OTPChoice")
				}

				// Recent sign-ins.
				signIns := byID(doc, "sign-ins")
				var rows [][]string
				for _, tr := range htmltest.Find(signIns, tagIs("tr")) {
					rows = append(rows, texts(htmltest.Find(tr, func(n *html.Node) bool { return htmltest.IsTag(n, "td") || htmltest.IsTag(n, "th") })))
				}
				if len(p.SignIns) == 0 {
					if rows != nil {
						t.Errorf("table shown without sign-ins: %q", rows)
					}
					if !slices.Contains(texts(htmltest.Find(signIns, tagIs("p"))), T("account.no_sign_ins")) {
						t.Errorf("no_sign_ins text missing")
					}
				} else {
					want := [][]string{{T("account.sign_in_time"), T("account.sign_in_ip"), T("account.sign_in_browser"), T("account.sign_in_app")}}
					for _, s := range p.SignIns {
						want = append(want, []string{formatTime(l.code, s.Time), s.IP, s.Browser, s.Client})
					}
					if diff := cmp.Diff(want, rows); diff != "" {
						t.Errorf("sign-ins (-want +got):\n%s", diff)
					}
					times := htmltest.Find(signIns, tagIs("time"))
					if len(times) != len(p.SignIns) {
						t.Fatalf("%d <time>, want %d", len(times), len(p.SignIns))
					}
					for i, s := range p.SignIns {
						if got, err := time.Parse(time.RFC3339, htmltest.Attr(times[i], "datetime")); err != nil || !got.Equal(s.Time) {
							t.Errorf("<time datetime=%q>, want %v", htmltest.Attr(times[i], "datetime"), s.Time)
						}
					}
				}

				// Signed-in devices: each with its browser, times (named
				// zone), address and applications; a sign-out button for
				// every device but this one.
				sessions := byID(doc, "sessions")
				devices := htmltest.Find(sessions, func(n *html.Node) bool {
					return htmltest.IsTag(n, "li") && strings.Contains(htmltest.Attr(n, "class"), "device")
				})
				if len(devices) != len(p.Devices) {
					t.Fatalf("%d devices listed, want %d", len(devices), len(p.Devices))
				}
				for i, d := range p.Devices {
					li := devices[i]
					name := d.Browser
					if d.Current {
						name += " " + T("account.this_device")
					}
					checkText(t, li, fmt.Sprintf("device-%d", i), name)
					var dl [][]string
					for _, div := range htmltest.Find(li, tagIs("div")) {
						dl = append(dl, texts(htmltest.Find(div, func(n *html.Node) bool { return htmltest.IsTag(n, "dt") || htmltest.IsTag(n, "dd") })))
					}
					apps := T("account.device_no_apps")
					if len(d.Apps) > 0 {
						apps = strings.Join(d.Apps, "")
					}
					want := [][]string{
						{T("account.last_active"), formatTime(l.code, d.LastActive)},
						{T("account.signed_in_at"), formatTime(l.code, d.SignedIn)},
						{T("account.sign_in_ip"), d.IP},
						{T("account.device_apps"), apps},
					}
					if diff := cmp.Diff(want, dl); diff != "" {
						t.Errorf("device %d (-want +got):\n%s", i, diff)
					}
					forms := htmltest.Find(li, tagIs("form"))
					if d.Current {
						if len(forms) != 0 {
							t.Errorf("device %d (this one) has a sign-out form", i)
						}
						continue
					}
					f := checkForm(t, li, "/account/sessions/end"+p.BackQuery+"#sessions", []field{{"hidden", "session", "", d.ID, ""}}, T("account.device_sign_out"))
					if b := htmltest.Find(f, isSubmit); len(b) != 1 || htmltest.Attr(b[0], "aria-describedby") != fmt.Sprintf("device-%d", i) {
						t.Errorf("device %d: the button does not name its device", i)
					}
				}

				all := checkForm(t, sessions, "/account/logout-all", nil, T("account.sign_out_all"))
				if b := htmltest.Find(all, isSubmit)[0]; htmltest.Attr(b, "class") != "button" {
					t.Errorf("sign-out-all class = %q", htmltest.Attr(b, "class"))
				}
				if !slices.Contains(texts(htmltest.Find(sessions, tagIs("p"))), T("account.sign_out_all_lead")) {
					t.Errorf("sign_out_all_lead missing")
				}
				logout := htmltest.Find(sessions, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == "/logout" })
				if len(logout) != 1 || htmltest.Text(logout[0]) != T("account.sign_out") {
					t.Errorf("sign-out link = %q", texts(logout))
				}

				// User-provided strings stay text (checkCommon would
				// report a <script>; <b> must not appear either).
				if main := htmltest.Find(doc, tagIs("main")); len(htmltest.Find(doc, tagIs("b"))) != 0 || len(htmltest.Find(main[0], tagIs("script"))) != 0 {
					t.Errorf("a user-provided string was rendered as markup")
				}
			})
		}
	}
}

// formatTime is the expected output of the template function datetime:
// the one format of times (package localtime, tested there).
func formatTime(code string, t time.Time) string { return localtime.Format(code, t) }

// TestDateTime: pages print times in their own location with the zone
// named, the same on pages and in mails.
func TestDateTime(t *testing.T) {
	r := newRenderer(t)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("JST", 9*60*60))
	for _, tc := range []struct {
		lang language.Tag
		at   time.Time
		want string
	}{
		{language.English, at, "2025-03-04 05:06 (JST)"},
		{language.Japanese, at, "2025年3月4日 05:06（日本時間）"},
		{language.English, at.UTC(), "2025-03-03 20:06 (UTC)"},
		{language.Japanese, at.UTC(), "2025年3月3日 20:06（UTC）"},
	} {
		w := httptest.NewRecorder()
		if err := r.RenderAccount(w, http.StatusOK, AccountPage{Base: Base{Lang: tc.lang}, Email: "a@example.com",
			SignIns: []SignInEntry{{Time: tc.at, IP: "192.0.2.1"}}}); err != nil {
			t.Fatal(err)
		}
		times := htmltest.Find(parseHTML(t, w.Body.String()), tagIs("time"))
		if len(times) != 1 || htmltest.Text(times[0]) != tc.want {
			t.Errorf("%s: <time> %q, want %q", tc.lang, texts(times), tc.want)
		}
	}
}

func TestMessage(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name      string
		page      MessagePage
		wantLink  string // key of the link text, or empty for no link
		wantTitle string
	}{
		{"done", MessagePage{Message: Message{"verify.done", []any{xss + "@example.com"}}, LinkURL: "/account?x=1&y=2", LinkLabel: "verify.to_account"}, "verify.to_account", "verify.title"},
		{"default label", MessagePage{Message: Message{Key: "verify.taken"}, LinkURL: "/account"}, "verify.to_account", "verify.title"},
		{"no link", MessagePage{Base: Base{Title: "error.expired.title"}, Message: Message{Key: "verify.expired"}, LinkLabel: "verify.to_account"}, "", "error.expired.title"},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				p := tc.page
				p.Lang = l.tag
				w := httptest.NewRecorder()
				if err := r.RenderMessage(w, http.StatusGone, p); err != nil {
					t.Fatal(err)
				}
				if w.Code != http.StatusGone {
					t.Errorf("status = %d, want %d", w.Code, http.StatusGone)
				}
				doc := parseHTML(t, w.Body.String())
				if h1 := texts(htmltest.Find(doc, tagIs("h1"))); !cmp.Equal(h1, []string{i18n.T(l.tag, tc.wantTitle)}) {
					t.Errorf("h1 = %q, want %q", h1, i18n.T(l.tag, tc.wantTitle))
				}
				checkText(t, doc, "message", i18n.T(l.tag, p.Message.Key, p.Message.Args...))
				links := htmltest.Find(htmltest.Find(doc, tagIs("main"))[0], tagIs("a"))
				if tc.wantLink == "" {
					if len(links) != 0 {
						t.Errorf("link shown without LinkURL: %q", texts(links))
					}
					return
				}
				if len(links) != 1 || htmltest.Attr(links[0], "href") != p.LinkURL || htmltest.Text(links[0]) != i18n.T(l.tag, tc.wantLink) {
					t.Fatalf("links = %q %q, want %q", attrs(links, "href"), texts(links), p.LinkURL)
				}
				if got := htmltest.Attr(links[0], "class"); got != "button primary" {
					t.Errorf("link class = %q", got)
				}
			})
		}
	}
}

// HTML helpers: assertions go by element and attribute, not by substring.

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func tagIs(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return htmltest.IsTag(n, tag) }
}

func isSubmit(n *html.Node) bool {
	switch {
	case htmltest.IsTag(n, "button"):
		typ := htmltest.Attr(n, "type")
		return typ == "" || typ == "submit"
	case htmltest.IsTag(n, "input"):
		typ := htmltest.Attr(n, "type")
		return typ == "submit" || typ == "image"
	}
	return false
}

func roleAlert(n *html.Node) bool {
	return n.Type == html.ElementNode && htmltest.Attr(n, "role") == "alert"
}

func attrs(nodes []*html.Node, key string) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, htmltest.Attr(n, key))
	}
	return out
}

func texts(nodes []*html.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, htmltest.Text(n))
	}
	return out
}

// textNodes returns the trimmed, non-empty text nodes of the document.
func textNodes(doc *html.Node) []string {
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.TextNode {
			if s := strings.TrimSpace(n.Data); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestAccountFields: the sign-in and "forgot your password" forms ask for
// the account as the sign-in mode does, keeping the autocomplete
// contract: organization (autocomplete=organization, read-only when the
// request names it), then the account field (autocomplete=username: a
// text input for an account name, an email input otherwise), each with
// its configured label; autofocus goes to the first empty field.
func TestAccountFields(t *testing.T) {
	r := newRenderer(t)
	type input struct{ Type, Name, Value, Autocomplete, Label string }
	type flags struct{ Readonly, Autofocus bool }
	for _, tc := range []struct {
		name     string
		account  AccountFields
		want     []input
		flags    map[string]flags // by name
		wantLead string           // of the forgot page
	}{
		{"email", AccountFields{Email: "a@example.com"},
			[]input{{"email", "email", "a@example.com", "username", "login.email"}},
			map[string]flags{"email": {}, "password": {Autofocus: true}}, "reset.forgot_lead"},
		{"organization+username", AccountFields{OrganizationLabel: "施設コード", UsernameLabel: "アカウント名", Organization: "H-1"},
			[]input{{"text", "organization", "H-1", "organization", "施設コード"}, {"text", "username", "", "username", "アカウント名"}},
			map[string]flags{"organization": {}, "username": {Autofocus: true}, "password": {}}, "reset.forgot_lead_org"},
		{"organization+email, organization named by the request", orgEmailLocked,
			[]input{{"text", "organization", "ACME", "organization", "Login ID"}, {"email", "email", "a@example.com", "username", "login.email"}},
			map[string]flags{"organization": {Readonly: true}, "email": {}, "password": {Autofocus: true}}, "reset.forgot_lead_org"},
		{"organization+email, empty", AccountFields{OrganizationLabel: "Login ID"},
			[]input{{"text", "organization", "", "organization", "Login ID"}, {"email", "email", "", "username", "login.email"}},
			map[string]flags{"organization": {Autofocus: true}, "email": {}, "password": {}}, "reset.forgot_lead_org"},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				want := slices.Clone(tc.want)
				for i := range want {
					if strings.HasPrefix(want[i].Label, "login.") {
						want[i].Label = i18n.T(l.tag, want[i].Label)
					}
				}
				fieldsOf := func(f *html.Node) ([]input, map[string]flags) {
					var got []input
					fl := map[string]flags{}
					for _, in := range htmltest.Find(f, tagIs("input")) {
						name := htmltest.Attr(in, "name")
						if htmltest.Attr(in, "type") == "hidden" {
							continue
						}
						fl[name] = flags{htmltest.HasAttr(in, "readonly"), htmltest.HasAttr(in, "autofocus")}
						if name == "password" {
							continue
						}
						got = append(got, input{htmltest.Attr(in, "type"), name, htmltest.Attr(in, "value"),
							htmltest.Attr(in, "autocomplete"), labelText(f, htmltest.Attr(in, "id"))})
					}
					return got, fl
				}
				w := httptest.NewRecorder()
				if err := r.RenderLogin(w, http.StatusOK, LoginPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Account: tc.account}); err != nil {
					t.Fatal(err)
				}
				doc := parseHTML(t, w.Body.String())
				got, fl := fieldsOf(checkFormOnce(t, doc, "/login"))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("sign-in form (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.flags, fl); diff != "" {
					t.Errorf("sign-in form readonly/autofocus (-want +got):\n%s", diff)
				}

				w = httptest.NewRecorder()
				if err := r.RenderForgot(w, http.StatusOK, ForgotPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Account: tc.account}); err != nil {
					t.Fatal(err)
				}
				doc = parseHTML(t, w.Body.String())
				got, fl = fieldsOf(checkFormOnce(t, doc, "/reset"))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("forgot form (-want +got):\n%s", diff)
				}
				if ro := fl["organization"].Readonly; ro != tc.account.OrganizationLocked {
					t.Errorf("forgot form: organization readonly %v, want %v", ro, tc.account.OrganizationLocked)
				}
				if lead := i18n.T(l.tag, tc.wantLead); !slices.Contains(textNodes(doc), lead) {
					t.Errorf("forgot page lacks the lead %q", lead)
				}
			})
		}
	}
}

// TestLegacyResetPostsTheAccount: the offer to reset after a right legacy
// password posts the account's name as the mode asks for it.
func TestLegacyResetPostsTheAccount(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		account AccountFields
		want    []field
	}{
		{AccountFields{Email: "a@example.com"}, []field{{"hidden", "id", "", "req-1", ""}, {"hidden", "step", "", "legacy", ""},
			{"hidden", "email", "", "a@example.com", ""}}},
		{AccountFields{OrganizationLabel: "x", Organization: "H-1", UsernameLabel: "y", Username: "desk"},
			[]field{{"hidden", "id", "", "req-1", ""}, {"hidden", "step", "", "legacy", ""}, {"hidden", "organization", "", "H-1", ""},
				{"hidden", "username", "", "desk", ""}}},
	} {
		w := httptest.NewRecorder()
		if err := r.RenderLogin(w, http.StatusOK, LoginPage{Base: Base{Lang: language.English}, AuthRequestID: "req-1", Account: tc.account,
			LegacyReset: true}); err != nil {
			t.Fatal(err)
		}
		doc := parseHTML(t, w.Body.String())
		if diff := cmp.Diff(tc.want, formFields(checkFormOnce(t, doc, "/reset"))); diff != "" {
			t.Errorf("reset offer fields (-want +got):\n%s", diff)
		}
	}
}

// checkFormOnce returns the one form of doc posting to action.
func checkFormOnce(t *testing.T, doc *html.Node, action string) *html.Node {
	t.Helper()
	forms := formByAction(doc, action)
	if len(forms) != 1 {
		t.Fatalf("found %d forms posting to %s, want 1", len(forms), action)
	}
	return forms[0]
}
