package admin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Pages gives the console's pages what every page of the server has: the
// request's language (?lang=, the cookie, Accept-Language).
type Pages interface {
	Base(w http.ResponseWriter, r *http.Request) templates.Base
	Lang(w http.ResponseWriter, r *http.Request, uiLocales []string) string
	// OrgBrand is the organization's own name and logo for a page in
	// b's language.
	OrgBrand(o storage.Organization, b templates.Base) templates.BrandOverride
}

// Notifier tells the clients of ended sessions (op.Logout).
type Notifier interface {
	Deliver(ctx context.Context, res storage.SessionEndResult)
}

// HandlerConfig configures the console's handlers.
type HandlerConfig struct {
	Flow     *Flow
	Renderer *templates.Renderer
	Pages    Pages
	// SessionToken reads the browser's session cookie (login.Handlers).
	SessionToken func(w http.ResponseWriter, r *http.Request) string
	Notifier     Notifier
	ClientIP     func(*http.Request) string
	// Secure cookies (https issuer).
	Secure bool
	// InvitationTTL and VerifyTTL are the lifetimes the pages announce.
	InvitationTTL, VerifyTTL time.Duration
	Logger                   *slog.Logger
}

// Handlers serve the console.
type Handlers struct{ c HandlerConfig }

// NewHandlers returns the console's handlers.
func NewHandlers(c HandlerConfig) *Handlers {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{c: c}
}

// Mount adds the console's routes to r. POSTs are guarded by the
// server's cross-origin protection.
func (h *Handlers) Mount(r *mux.Router) {
	r.Handle("/admin", http.RedirectHandler("/admin/members", http.StatusSeeOther)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/members", h.with(h.members)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members.csv", h.with(h.membersCSV)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members/new", h.with(h.newMember)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members/new", h.with(h.addMember)).Methods(http.MethodPost)
	r.HandleFunc("/admin/members/unlock", h.with(h.confirmUnlock)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members/unlock", h.with(h.unlock)).Methods(http.MethodPost)
	r.HandleFunc("/admin/members/{id}", h.with(h.member)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members/{id}/delete", h.with(h.confirmDelete)).Methods(http.MethodGet)
	r.HandleFunc("/admin/members/{id}/{action}", h.with(h.memberAction)).Methods(http.MethodPost)
	r.HandleFunc("/admin/audit", h.with(h.audit)).Methods(http.MethodGet)
	r.HandleFunc("/admin/settings", h.with(h.settings)).Methods(http.MethodGet)
	r.HandleFunc("/admin/settings", h.with(h.saveSettings)).Methods(http.MethodPost)
	r.HandleFunc("/admin/settings/alerts", h.with(h.saveAlerts)).Methods(http.MethodPost)
}

// orgCookie keeps a platform administrator's pick of organization (an
// id; nothing secret: every request is authorized again).
const orgCookie = "sekisho_admin_org"

// orgCookie is the pick's cookie name: with the __Secure- prefix under
// https (it has a path of its own, so not __Host-).
func (h *Handlers) orgCookie() string {
	if h.c.Secure {
		return "__Secure-" + orgCookie
	}
	return orgCookie
}

// with authorizes the request (see actor) before fn runs.
func (h *Handlers) with(fn func(w http.ResponseWriter, r *http.Request, a Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a, ok := h.actor(w, r); ok {
			fn(w, r, a)
		}
	}
}

// actor authorizes the request: a browser without a recent enough
// sign-in signs in (again) and comes back, a member whose role may not
// manage members gets the 403 page. A platform administrator's ?org=CODE
// picks the organization.
func (h *Handlers) actor(w http.ResponseWriter, r *http.Request) (Actor, bool) {
	orgID := ""
	if c, err := r.Cookie(h.orgCookie()); err == nil {
		orgID = c.Value
	}
	a, err := h.c.Flow.Authorize(r.Context(), h.c.SessionToken(w, r), orgID)
	switch {
	case errors.Is(err, ErrSignIn), errors.Is(err, ErrStale):
		h.signIn(w, r)
		return a, false
	case errors.Is(err, ErrNoConsole):
		h.forbidden(w, r)
		return a, false
	case err != nil:
		h.fail(w, r, err)
		return a, false
	}
	a.IP, a.Lang = h.c.ClientIP(r), h.c.Pages.Lang(w, r, nil)
	if q := r.URL.Query(); a.Platform && r.Method == http.MethodGet && q.Has("org") {
		o, err := h.c.Flow.PickOrganization(r.Context(), a, q.Get("org"))
		if err != nil {
			h.notFoundOr(w, r, err)
			return a, false
		}
		http.SetCookie(w, &http.Cookie{Name: h.orgCookie(), Value: o.ID, Path: "/admin", HttpOnly: true, Secure: h.c.Secure,
			SameSite: http.SameSiteLaxMode})
		q.Del("org")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return a, false
	}
	return a, true
}

// signIn sends the browser to sign in (the password again, and the
// emailed code when the policy asks, when the session is older than
// admin.max_age) and back to this page; a form's POST comes back to the
// page of the form, whose action is then not done.
func (h *Handlers) signIn(w http.ResponseWriter, r *http.Request) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		back = r.URL.Path
		if id := mux.Vars(r)["id"]; id != "" {
			back = memberURL(id)
		}
	}
	id, err := h.c.Flow.c.Accounts.StartRecentSignIn(r.Context(), back, h.c.Flow.c.MaxAge, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login?id="+url.QueryEscape(id), http.StatusSeeOther)
}

// forbidden is the page of a member whose role may not use the console.
func (h *Handlers) forbidden(w http.ResponseWriter, r *http.Request) {
	b := h.c.Pages.Base(w, r)
	b.Title = "admin.forbidden.title"
	h.logErr(r, h.c.Renderer.RenderError(w, http.StatusForbidden, templates.ErrorPage{Base: b, Message: "admin.forbidden",
		BackURL: "/account", BackLabel: "admin.to_account"}))
}

// notFoundOr answers ErrNotFound with the ordinary 404 page (the same
// for an unknown id and another organization's), anything else as a
// failure.
func (h *Handlers) notFoundOr(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	b := h.c.Pages.Base(w, r)
	b.Title = "error.not_found.title"
	h.logErr(r, h.c.Renderer.RenderError(w, http.StatusNotFound, templates.ErrorPage{Base: b, Message: "error.not_found"}))
}

// fail logs err and answers 503 (storage unavailable) or 500.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, key := http.StatusInternalServerError, "error.server"
	if errors.Is(err, storage.ErrUnavailable) {
		status, key = http.StatusServiceUnavailable, "error.unavailable"
	}
	h.c.Logger.ErrorContext(r.Context(), "console", "err", err)
	b := h.c.Pages.Base(w, r)
	h.logErr(r, h.c.Renderer.RenderError(w, status, templates.ErrorPage{Base: b, Message: key}))
}

func (h *Handlers) logErr(r *http.Request, err error) {
	if err != nil {
		h.c.Logger.ErrorContext(r.Context(), "render console page", "err", err)
	}
}

// base is the frame of a console page in section nav, for the page at
// path (its language links).
func (h *Handlers) base(w http.ResponseWriter, r *http.Request, a Actor, nav string, path *url.URL) templates.AdminBase {
	b := templates.AdminBase{Base: h.c.Pages.Base(w, r), Nav: nav, OrgName: a.Org.Name, OrgCode: a.Org.Code,
		ActorName: displayName(a.User)}
	if path != nil {
		b.CurrentURL = path
	}
	b.Brand = h.c.Pages.OrgBrand(a.Org, b.Base)
	orgs, err := h.c.Flow.Organizations(r.Context(), a)
	if err != nil {
		h.c.Logger.WarnContext(r.Context(), "list organizations", "err", err)
	}
	for _, o := range orgs {
		b.Organizations = append(b.Organizations, templates.AdminOption{Value: o.Code, Label: o.Name + " (" + o.Code + ")",
			Selected: o.ID == a.Org.ID})
	}
	if key, ok := notices[r.URL.Query().Get("done")]; ok && r.Method == http.MethodGet {
		b.Notice = templates.Message{Key: key}
	}
	return b
}

// notices are the messages after an action (?done=), by action.
var notices = map[string]string{
	"added": "admin.notice.added", "profile": "admin.notice.saved", "unchanged": "admin.notice.unchanged",
	"email": "admin.notice.email_link_sent", "email_invited": "admin.notice.invitation_sent", "resend": "admin.notice.invitation_sent",
	"require-change": "admin.notice.must_change", "reset-mail": "admin.notice.reset_mail_sent", "sign-out": "admin.notice.signed_out",
	"disable": "admin.notice.disabled", "enable": "admin.notice.enabled", "deleted": "admin.notice.deleted",
	"settings": "admin.notice.settings_saved", "unlocked": "admin.notice.unlocked",
	"alerts": "admin.notice.alerts_saved", "reset-factors": "admin.notice.factors_reset",
}

func memberURL(id string) string { return "/admin/members/" + url.PathEscape(id) }

// member views.

func (h *Handlers) memberView(a Actor, m storage.Member) templates.AdminMember {
	v := templates.AdminMember{ID: m.ID, Name: m.Name, Username: m.Username, Email: m.Email, PendingEmail: m.PendingEmail,
		Registered: m.EmailState == storage.EmailRegistered, Status: m.Status, Role: h.c.Flow.RoleLabel(m.Role, a.Lang),
		URL: memberURL(m.ID)}
	if m.LastLoginAt != nil {
		v.LastLogin = m.LastLoginAt.In(a.Loc)
	}
	if m.Status == storage.StatusLocked {
		v.Locked, v.MayUnlock = true, h.c.Flow.mayActOn(a, m.Role)
		v.LockedSince = lifecycle.DormantSince(lifecycle.Of(m.User), h.c.Flow.c.DormantAfter).In(a.Loc)
	} else if m.UnlockedUntil != nil && h.c.Flow.c.Now().Before(*m.UnlockedUntil) {
		v.UnlockedUntil = m.UnlockedUntil.In(a.Loc)
	}
	return v
}

// roleOptions are the roles a may give, current selected.
func (h *Handlers) roleOptions(a Actor, current string) []templates.AdminOption {
	var out []templates.AdminOption
	for _, r := range h.c.Flow.Grantable(a) {
		out = append(out, templates.AdminOption{Value: r.Name, Label: r.Labels.In(a.Lang), Selected: r.Name == current})
	}
	return out
}

func memberQuery(r *http.Request) MemberQuery {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	return MemberQuery{Search: q.Get("q"), EmailState: q.Get("email"), Status: q.Get("status"), Page: page}.Clean()
}

// values is q as the list's URL query (page 0: none).
func (q MemberQuery) values(page int) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Search, "email": q.EmailState, "status": q.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// members serves GET /admin/members.
func (h *Handlers) members(w http.ResponseWriter, r *http.Request, a Actor) {
	list, err := h.c.Flow.Members(r.Context(), a, memberQuery(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := list.Query
	p := templates.AdminMembersPage{AdminBase: h.base(w, r, a, "members", nil), ByUsername: h.c.Flow.ByUsername(),
		Total: list.Total, Page: q.Page, Pages: list.Pages, Search: q.Search, EmailState: q.EmailState, Status: q.Status,
		CSVURL: withQuery("/admin/members.csv", q.values(0))}
	for _, m := range list.Members {
		v := h.memberView(a, m)
		if v.MayUnlock {
			p.Locked++
		}
		p.Members = append(p.Members, v)
	}
	if q.Page > 1 {
		p.PrevURL = withQuery("/admin/members", q.values(q.Page-1))
	}
	if q.Page < list.Pages {
		p.NextURL = withQuery("/admin/members", q.values(q.Page+1))
	}
	h.logErr(r, h.c.Renderer.RenderAdminMembers(w, http.StatusOK, p))
}

// membersCSV serves GET /admin/members.csv: what the list's filters
// match, every page. It is built in full before it is sent, so a failure
// never sends a file that looks complete.
func (h *Handlers) membersCSV(w http.ResponseWriter, r *http.Request, a Actor) {
	var buf bytes.Buffer
	if err := h.c.Flow.ExportMembers(r.Context(), a, memberQuery(r), a.Lang, &buf); err != nil {
		h.fail(w, r, err)
		return
	}
	name := "members-" + a.Org.Code + "-" + h.c.Flow.c.Now().In(a.Loc).Format("20060102") + ".csv"
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="members.csv"; filename*=UTF-8''`+url.PathEscape(name))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	_, _ = buf.WriteTo(w)
}

// newMember serves GET /admin/members/new.
func (h *Handlers) newMember(w http.ResponseWriter, r *http.Request, a Actor) {
	h.showNew(w, r, a, http.StatusOK, NewMemberInput{}, nil)
}

func (h *Handlers) showNew(w http.ResponseWriter, r *http.Request, a Actor, status int, in NewMemberInput, err error) {
	p := templates.AdminNewMemberPage{AdminBase: h.base(w, r, a, "members", &url.URL{Path: "/admin/members/new"}),
		ByUsername: h.c.Flow.ByUsername(), Name: in.Name, Username: in.Username, Email: in.Email,
		Roles: h.roleOptions(a, in.Role), Rules: messages(h.c.Flow.c.Accounts.NewAccountRules()),
		InviteHours: int(h.c.InvitationTTL / time.Hour)}
	if in.Role == "" && len(p.Roles) > 0 {
		p.Roles[len(p.Roles)-1].Selected = true
	}
	var prob *Problem
	var policy *PolicyProblem
	switch {
	case errors.As(err, &prob):
		p.Error, p.Field = templates.Message{Key: prob.Key, Args: prob.Args}, prob.Field
	case errors.As(err, &policy):
		for _, v := range policy.Violations {
			p.Violations = append(p.Violations, templates.Message{Key: v.Key, Args: v.Args})
		}
	}
	h.logErr(r, h.c.Renderer.RenderAdminNewMember(w, status, p))
}

// messages turns password rules into catalog messages.
func messages(rules []password.Rule) []templates.Message {
	out := make([]templates.Message, len(rules))
	for i, r := range rules {
		out[i] = templates.Message{Key: r.Key, Args: r.Args}
	}
	return out
}

// addMember serves POST /admin/members/new.
func (h *Handlers) addMember(w http.ResponseWriter, r *http.Request, a Actor) {
	in := NewMemberInput{Name: r.PostFormValue("name"), Username: r.PostFormValue("username"), Email: r.PostFormValue("email"),
		Role: r.PostFormValue("role"), Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")}
	u, err := h.c.Flow.AddMember(r.Context(), a, in)
	if err != nil {
		if status, ok := problemStatus(err); ok {
			in.Password, in.Confirm = "", ""
			h.showNew(w, r, a, status, in, err)
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, memberURL(u.ID)+"?done=added", http.StatusSeeOther)
}

// problemStatus is the status of a refusal the page explains; ok is
// false for an error it cannot explain.
func problemStatus(err error) (int, bool) {
	var prob *Problem
	var policy *PolicyProblem
	switch {
	case errors.As(err, &policy):
		return http.StatusBadRequest, true
	case !errors.As(err, &prob):
		return 0, false
	}
	switch prob.Key {
	case "admin.error.forbidden", "admin.error.settings_forbidden":
		return http.StatusForbidden, true
	case "admin.error.last_owner", "admin.error.member_limit", "admin.error.email_taken", "admin.error.username_taken",
		"admin.error.email_unavailable":
		return http.StatusConflict, true
	case "admin.error.too_many_mails":
		return http.StatusTooManyRequests, true
	}
	return http.StatusBadRequest, true
}

// member serves GET /admin/members/{id}.
func (h *Handlers) member(w http.ResponseWriter, r *http.Request, a Actor) {
	h.showMember(w, r, a, http.StatusOK, mux.Vars(r)["id"], "", nil)
}

// showMember renders member id's page, with err (a refusal) next to the
// form of section.
func (h *Handlers) showMember(w http.ResponseWriter, r *http.Request, a Actor, status int, id, section string, err error) {
	m, lerr := h.c.Flow.Member(r.Context(), a, id)
	if lerr != nil {
		h.notFoundOr(w, r, lerr)
		return
	}
	v := h.memberView(a, m.Member)
	p := templates.AdminMemberPage{AdminBase: h.base(w, r, a, "members", &url.URL{Path: v.URL}), ByUsername: h.c.Flow.ByUsername(),
		Member: v, Invited: m.InvitedAt != nil, Disabled: m.Disabled, MustChange: m.MustChangePassword, EmailVerified: m.EmailVerified,
		Self: m.Self, MayAct: m.MayAct, Roles: h.roleOptions(a, m.Role), Section: section,
		AuditURL: withQuery("/admin/audit", url.Values{"member": {m.ID}}), VerifyMinutes: int(h.c.VerifyTTL / time.Minute)}
	if !h.c.Flow.mayGrant(a, m.Role) && len(p.Roles) > 0 {
		// No role, or one the configuration no longer declares: the form
		// keeps it unless another is chosen.
		p.Roles = append([]templates.AdminOption{{Value: "", Label: i18n.T(language.Make(a.Lang), "admin.no_role"), Selected: true}}, p.Roles...)
	}
	fs, ferr := h.c.Flow.Factors(r.Context(), m)
	if ferr != nil {
		h.fail(w, r, ferr)
		return
	}
	p.Factors = templates.AdminFactors{TOTP: fs.TOTP, Passkeys: fs.Passkeys, RecoveryCodes: fs.RecoveryCodes}
	var prob *Problem
	if errors.As(err, &prob) {
		p.Error, p.Field = templates.Message{Key: prob.Key, Args: prob.Args}, prob.Field
		if section == "" {
			p.Section = "status"
		}
	}
	h.logErr(r, h.c.Renderer.RenderAdminMember(w, status, p))
}

// memberActions are the actions of a member's page: the form section
// they belong to and what they do. done names the notice after it.
var memberActions = map[string]struct {
	section string
	run     func(h *Handlers, r *http.Request, a Actor, id string) (ended storage.SessionEndResult, done string, err error)
}{
	"profile": {"profile", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		changed, err := h.c.Flow.UpdateProfile(r.Context(), a, id, ProfileInput{Name: r.PostFormValue("name"),
			Username: r.PostFormValue("username"), Role: r.PostFormValue("role")})
		if !changed {
			return storage.SessionEndResult{}, "unchanged", err
		}
		return storage.SessionEndResult{}, "profile", err
	}},
	"email": {"email", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		invited, err := h.c.Flow.ChangeEmail(r.Context(), a, id, r.PostFormValue("email"))
		if invited {
			return storage.SessionEndResult{}, "email_invited", err
		}
		return storage.SessionEndResult{}, "email", err
	}},
	"resend": {"invitation", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		return storage.SessionEndResult{}, "resend", h.c.Flow.ResendInvitation(r.Context(), a, id)
	}},
	"require-change": {"password", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		return storage.SessionEndResult{}, "require-change", h.c.Flow.RequirePasswordChange(r.Context(), a, id)
	}},
	"reset-mail": {"password", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		return storage.SessionEndResult{}, "reset-mail", h.c.Flow.SendResetMail(r.Context(), a, id)
	}},
	"reset-factors": {"factors", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		return storage.SessionEndResult{}, "reset-factors", h.c.Flow.ResetFactors(r.Context(), a, id)
	}},
	"sign-out": {"sessions", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		ended, err := h.c.Flow.SignOutEverywhere(r.Context(), a, id)
		return ended, "sign-out", err
	}},
	"disable": {"status", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		ended, err := h.c.Flow.SetDisabled(r.Context(), a, id, true)
		return ended, "disable", err
	}},
	"enable": {"status", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		ended, err := h.c.Flow.SetDisabled(r.Context(), a, id, false)
		return ended, "enable", err
	}},
	"delete": {"status", func(h *Handlers, r *http.Request, a Actor, id string) (storage.SessionEndResult, string, error) {
		ended, err := h.c.Flow.Delete(r.Context(), a, id)
		return ended, "deleted", err
	}},
}

// memberAction serves POST /admin/members/{id}/{action}.
func (h *Handlers) memberAction(w http.ResponseWriter, r *http.Request, a Actor) {
	vars := mux.Vars(r)
	id, name := vars["id"], vars["action"]
	act, ok := memberActions[name]
	if !ok {
		h.notFoundOr(w, r, ErrNotFound)
		return
	}
	ended, done, err := act.run(h, r, a, id)
	if len(ended.Deliveries) > 0 || len(ended.Claimed) > 0 {
		h.c.Notifier.Deliver(r.Context(), ended)
	}
	switch {
	case err == nil && name == "delete":
		http.Redirect(w, r, "/admin/members?done=deleted", http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, memberURL(id)+"?done="+done, http.StatusSeeOther)
	case errors.Is(err, ErrNotFound):
		h.notFoundOr(w, r, err)
	default:
		status, ok := problemStatus(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showMember(w, r, a, status, id, act.section, err)
	}
}

// confirmDelete serves GET /admin/members/{id}/delete.
func (h *Handlers) confirmDelete(w http.ResponseWriter, r *http.Request, a Actor) {
	m, err := h.c.Flow.Member(r.Context(), a, mux.Vars(r)["id"])
	if err != nil {
		h.notFoundOr(w, r, err)
		return
	}
	v := h.memberView(a, m.Member)
	h.logErr(r, h.c.Renderer.RenderAdminDelete(w, http.StatusOK, templates.AdminDeletePage{
		AdminBase: h.base(w, r, a, "members", nil), Member: v}))
}

// audit serves GET /admin/audit.
func (h *Handlers) audit(w http.ResponseWriter, r *http.Request, a Actor) {
	qv := r.URL.Query()
	page, _ := strconv.Atoi(qv.Get("page"))
	list, err := h.c.Flow.Audit(r.Context(), a, AuditQuery{Member: qv.Get("member"), Kind: qv.Get("kind"), Page: page})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := list.Query
	p := templates.AdminAuditPage{AdminBase: h.base(w, r, a, "audit", nil), MemberID: q.Member, MemberName: list.MemberName, Page: q.Page}
	pageURL := func(member string, page int) string {
		v := url.Values{}
		if member != "" {
			v.Set("member", member)
		}
		if q.Kind != "" {
			v.Set("kind", q.Kind)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return withQuery("/admin/audit", v)
	}
	if q.Page > 1 {
		p.PrevURL = pageURL(q.Member, q.Page-1)
	}
	if list.HasNext {
		p.NextURL = pageURL(q.Member, q.Page+1)
	}
	p.ClearURL = pageURL("", 1)
	for _, k := range AuditKinds {
		p.Kinds = append(p.Kinds, templates.AdminOption{Value: k, Label: i18n.T(language.Make(a.Lang), "admin.audit.kind."+k), Selected: k == q.Kind})
	}
	for _, e := range list.Entries {
		entry := templates.AdminAuditEntry{Time: e.Time, Actor: e.ActorName, ActorPlatform: e.Platform, Kind: e.Type,
			KindKnown: i18n.Has("admin.audit.kind." + e.Type), Member: e.MemberName, Outcome: e.Outcome, Detail: e.Detail, IP: e.IP}
		switch e.Type {
		case "user_delete":
			entry.Detail = "" // the name, shown as the member
		case "dormant_alert_recipient", "account_unlocked":
			// How, in words: added/removed; by link, reset, administrator, cli.
			if key := "admin.audit.detail." + e.Type + "." + e.Detail; i18n.Has(key) {
				entry.Detail = i18n.T(language.Make(a.Lang), key)
			}
		case "member_added", "role_changed":
			// Role names, shown by their labels.
			roles := strings.Split(e.Detail, " → ")
			for i, r := range roles {
				roles[i] = h.c.Flow.RoleLabel(r, a.Lang)
			}
			entry.Detail = strings.Join(roles, " → ")
		}
		if e.MemberExists {
			entry.MemberURL = memberURL(e.UserID)
		}
		p.Entries = append(p.Entries, entry)
	}
	h.logErr(r, h.c.Renderer.RenderAdminAudit(w, http.StatusOK, p))
}

// zones are the time zones the settings page suggests.
var zones = []string{"Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong", "Asia/Singapore",
	"Asia/Bangkok", "Asia/Jakarta", "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland", "Europe/London", "Europe/Paris",
	"Europe/Berlin", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu", "UTC"}

// settings serves GET /admin/settings.
func (h *Handlers) settings(w http.ResponseWriter, r *http.Request, a Actor) {
	h.showSettings(w, r, a, http.StatusOK, SettingsInput{Name: a.Org.Name, TimeZone: a.Org.TimeZone,
		MaxMembers: strconv.Itoa(a.Org.MaxMembers)}, nil)
}

func (h *Handlers) showSettings(w http.ResponseWriter, r *http.Request, a Actor, status int, in SettingsInput, err error) {
	s, serr := h.c.Flow.Settings(r.Context(), a)
	if serr != nil {
		h.fail(w, r, serr)
		return
	}
	p := templates.AdminSettingsPage{AdminBase: h.base(w, r, a, "settings", &url.URL{Path: "/admin/settings"}), Name: in.Name,
		Code: s.Org.Code, TimeZone: in.TimeZone, MaxMembers: in.MaxMembers, Members: s.Members, Limit: s.Limit,
		FromDeployment: s.FromDeployment, Editable: s.Editable, LimitEditable: s.LimitEditable, Zones: zones}
	choices, cerr := h.c.Flow.AlertChoices(r.Context(), a)
	if cerr != nil {
		h.fail(w, r, cerr)
		return
	}
	for _, c := range choices {
		label := displayName(c.User)
		if role := h.c.Flow.RoleLabel(c.Role, a.Lang); role != "" {
			label += " (" + role + ")"
		}
		p.AlertChoices = append(p.AlertChoices, templates.AdminOption{Value: c.ID, Label: label, Selected: c.Chosen})
	}
	var prob *Problem
	if errors.As(err, &prob) {
		p.Error, p.Field = templates.Message{Key: prob.Key, Args: prob.Args}, prob.Field
	}
	h.logErr(r, h.c.Renderer.RenderAdminSettings(w, status, p))
}

// saveSettings serves POST /admin/settings.
func (h *Handlers) saveSettings(w http.ResponseWriter, r *http.Request, a Actor) {
	in := SettingsInput{Name: r.PostFormValue("name"), TimeZone: r.PostFormValue("time_zone"),
		MaxMembers: strings.TrimSpace(r.PostFormValue("max_members"))}
	_, err := h.c.Flow.UpdateSettings(r.Context(), a, in)
	if err != nil {
		status, ok := problemStatus(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showSettings(w, r, a, status, in, err)
		return
	}
	http.Redirect(w, r, "/admin/settings?done=settings", http.StatusSeeOther)
}

// unlockRequest reads the members an unlock names: ?id=…&id=… (or the
// form's), or all=1 for every locked member.
func unlockRequest(r *http.Request) UnlockRequest {
	var v url.Values
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		v = r.PostForm
	} else {
		v = r.URL.Query()
	}
	return UnlockRequest{IDs: v["id"], All: v.Get("all") == "1"}
}

// unlockBack is where an unlock's cancel and refusal lead: the member's
// page for one member, else the list of locked members.
func unlockBack(q UnlockRequest, done string) string {
	v := url.Values{}
	if done != "" {
		v.Set("done", done)
	}
	if !q.All && len(q.IDs) == 1 {
		return withQuery(memberURL(q.IDs[0]), v)
	}
	v.Set("status", storage.StatusLocked)
	return withQuery("/admin/members", v)
}

// confirmUnlock serves GET /admin/members/unlock: the confirmation.
func (h *Handlers) confirmUnlock(w http.ResponseWriter, r *http.Request, a Actor) {
	q := unlockRequest(r)
	pv, err := h.c.Flow.PreviewUnlock(r.Context(), a, q)
	h.showUnlock(w, r, a, pv, q, err)
}

func (h *Handlers) showUnlock(w http.ResponseWriter, r *http.Request, a Actor, pv UnlockPreview, q UnlockRequest, err error) {
	status := http.StatusOK
	p := templates.AdminUnlockPage{AdminBase: h.base(w, r, a, "members", nil), All: pv.Request.All, IDs: pv.Request.IDs,
		Count: pv.Count, Until: pv.Until.In(a.Loc), BackURL: unlockBack(q, "")}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			h.notFoundOr(w, r, err)
			return
		}
		var ok bool
		if status, ok = problemStatus(err); !ok {
			h.fail(w, r, err)
			return
		}
		var prob *Problem
		errors.As(err, &prob)
		p.Error, p.Count = templates.Message{Key: prob.Key, Args: prob.Args}, 0
	}
	for _, m := range pv.Members {
		p.Members = append(p.Members, h.memberView(a, m))
	}
	p.More = p.Count - len(p.Members)
	if !p.All {
		// The form names exactly the members listed: the locked ones.
		p.IDs = nil
		for _, m := range pv.Members {
			p.IDs = append(p.IDs, m.ID)
		}
	}
	h.logErr(r, h.c.Renderer.RenderAdminUnlock(w, status, p))
}

// unlock serves POST /admin/members/unlock.
func (h *Handlers) unlock(w http.ResponseWriter, r *http.Request, a Actor) {
	q := unlockRequest(r)
	_, err := h.c.Flow.Unlock(r.Context(), a, q)
	if err != nil {
		h.showUnlock(w, r, a, UnlockPreview{Request: q}, q, err)
		return
	}
	http.Redirect(w, r, unlockBack(q, "unlocked"), http.StatusSeeOther)
}

// saveAlerts serves POST /admin/settings/alerts: who receives the alerts
// of sign-in attempts on locked accounts.
func (h *Handlers) saveAlerts(w http.ResponseWriter, r *http.Request, a Actor) {
	_ = r.ParseForm()
	changed, err := h.c.Flow.SetAlertRecipients(r.Context(), a, r.PostForm["recipient"])
	if err != nil {
		status, ok := problemStatus(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showSettings(w, r, a, status, SettingsInput{Name: a.Org.Name, TimeZone: a.Org.TimeZone,
			MaxMembers: strconv.Itoa(a.Org.MaxMembers)}, err)
		return
	}
	done := "alerts"
	if !changed {
		done = "unchanged"
	}
	http.Redirect(w, r, "/admin/settings?done="+done+"#alerts", http.StatusSeeOther)
}
