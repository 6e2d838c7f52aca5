package login

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/op"
	"github.com/sekisho/sekisho/storage"
)

// OP is what the login pages need from the OpenID provider.
type OP interface {
	Respond(w http.ResponseWriter, r *http.Request, a storage.AuthRequest)
	RedirectError(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, err *oidc.Error)
	ClientDisplay(id string) (name i18n.Text, home string, ok bool)
	// RestartURL is where a person starts a sign-in to the client
	// again (its initiate_login_uri, else its home): "" for an unknown
	// client.
	RestartURL(clientID string) string
	// ReturnURIAllowed reports whether uri is one of the client's
	// registered redirect or post-logout URIs.
	ReturnURIAllowed(clientID, uri string) bool
	VerifyEndSession(r *http.Request) (op.EndSession, error)
}

// AccountForm is what a form shows of the fields that name an account:
// the sign-in mode (Identify*), which says which fields there are, and
// their values.
type AccountForm struct {
	Mode string
	AccountName
	// OrganizationLocked: the authorization request names the
	// organization (organization=); the field is read-only, and what a
	// browser posts in it is ignored.
	OrganizationLocked bool
}

// accountForm is the account fields of a form of a, filled with n (the
// request's organization applied).
func (h *Handlers) accountForm(a storage.AuthRequest, n AccountName) AccountForm {
	f := h.c.Flow
	return AccountForm{Mode: f.Mode(), AccountName: f.named(a, n), OrganizationLocked: f.HasOrganization() && a.Organization != ""}
}

// Hidden are the fields that post the account's name on, as the mode
// names accounts (a form that carries it to the next one).
func (a AccountForm) Hidden() [][2]string {
	var out [][2]string
	if a.Mode != IdentifyEmail {
		out = append(out, [2]string{"organization", a.Organization})
	}
	if a.Mode == IdentifyOrgUsername {
		return append(out, [2]string{"username", a.Username})
	}
	return append(out, [2]string{"email", a.Email})
}

// postedName is the account a form posted: organization, and email or
// username.
func postedName(r *http.Request) AccountName {
	return AccountName{Organization: r.PostFormValue("organization"), Email: r.PostFormValue("email"),
		Username: r.PostFormValue("username")}
}

// LoginView is the data of the sign-in page.
type LoginView struct {
	AuthRequestID string
	Account       AccountForm
	ClientName    i18n.Text
	ErrorKey      string   // catalog key, or empty
	UILocales     []string // from the auth request
	ForgotURL     string   // "Forgot your password?"
	// LegacyName, during the migration window, shows the notice for users
	// of the legacy product.
	LegacyName i18n.Text
	// LegacyReset offers the password reset for Account: the legacy
	// product's password was right, and the first unified sign-in is a
	// reset.
	LegacyReset bool
	// LegacyForm: the legacy product's form, posted to /login/legacy.
	LegacyForm bool
	// LegacyURL, during the window, links to that form.
	LegacyURL string
	// NoticeKey is a notice above the form (catalog key), or empty.
	NoticeKey string
	// LegacyDeadline, with LegacyReset, is the end of the migration
	// window in the organization's time zone; zero: none is set.
	LegacyDeadline time.Time
	// OtherAccountURL, with LegacyReset, is the sign-in form for another
	// account.
	OtherAccountURL string
	// Passkey offers a passwordless sign-in with a passkey.
	Passkey bool
}

// Pages renders the pages of the browser flows in the request's language.
type Pages interface {
	Login(w http.ResponseWriter, r *http.Request, status int, v LoginView)
	Error(w http.ResponseWriter, r *http.Request, status int, messageKey, backURL string)
	// Expired explains a sign-in request that cannot go on (expired,
	// finished or unknown) and offers to start again.
	Expired(w http.ResponseWriter, r *http.Request, status int, v ExpiredView)
	LogoutConfirm(w http.ResponseWriter, r *http.Request, v LogoutView)
	SignedOut(w http.ResponseWriter, r *http.Request, v SignedOutView)
	Forgot(w http.ResponseWriter, r *http.Request, status int, v ForgotView)
	Reset(w http.ResponseWriter, r *http.Request, status int, v ResetView)
	OTP(w http.ResponseWriter, r *http.Request, status int, v OTPView)
	// MFAStep is the second-factor step, the enrolment a sign-in
	// requires, and the recovery codes shown after it.
	MFAStep(w http.ResponseWriter, r *http.Request, status int, v MFAStepView)
	ChangePassword(w http.ResponseWriter, r *http.Request, status int, v ChangeView)
	Account(w http.ResponseWriter, r *http.Request, status int, v AccountView)
	Message(w http.ResponseWriter, r *http.Request, status int, v MessageView)
	Invite(w http.ResponseWriter, r *http.Request, status int, v InviteView)
	// Lang is the language code ("en", "ja") pages and mails use for r.
	Lang(w http.ResponseWriter, r *http.Request, uiLocales []string) string
}

// ExpiredView is the data of the page of a sign-in request that cannot go
// on.
type ExpiredView struct {
	// Unknown: no such request (never made, or deleted since); the page
	// cannot name the application. Finished: the request was completed
	// (its code was used), not left too long.
	Unknown, Finished bool
	// ClientName and RestartURL name the application that asked and
	// where its sign-in starts again (RestartURL); empty: not known.
	ClientName i18n.Text
	RestartURL string
	UILocales  []string
}

// LogoutView is the data of the sign-out confirmation.
type LogoutView struct {
	// Params are the end_session parameters the form posts back.
	Params []op.Param
	// Account is the signed-in account, as the forms name it; zero when
	// no one is signed in in this browser.
	Account AccountName
	// Applications are the names of the applications the session
	// signed in to.
	Applications []i18n.Text
	// CancelURL returns to the application without signing out: the
	// validated post_logout_redirect_uri, else the client's registered
	// home, else the account page; empty hides the cancel.
	CancelURL string
}

// SignedOutView is the data of the page after a sign-out.
type SignedOutView struct {
	BackURL    string // a link back to the application, or empty
	ClientName i18n.Text
	// Frames are the front-channel logout URLs to load in iframes.
	Frames []string
	// ContinueURL, when set, is where the page goes once the frames have
	// loaded (the validated post_logout_redirect_uri with its state).
	ContinueURL string
}

// Notifier tells the clients of ended sessions (op.Logout).
type Notifier interface {
	// Deliver sends the back-channel deliveries of ended sessions now
	// and waits a bounded time for them.
	Deliver(ctx context.Context, res storage.SessionEndResult)
	// FrontchannelURLs lists the iframes of the sign-out page.
	FrontchannelURLs(ended []storage.EndedSession) []string
}

// HandlerConfig configures the handlers.
type HandlerConfig struct {
	Flow     *Flow
	OP       OP
	Notifier Notifier
	Pages    Pages
	ClientIP func(*http.Request) string
	// Secure cookies (https issuer): SameSite=None; Secure. Otherwise Lax.
	Secure bool
	Logger *slog.Logger
	// Outcome counts how each submitted step of a sign-in ended (Step*,
	// Outcome*).
	Outcome func(step, outcome string)
	// DeviceLifetime is the device cookie's lifetime (otp.remember_device).
	DeviceLifetime time.Duration
	// StepLifetime is the step cookie's lifetime: a sign-in's longest
	// (lifetimes.auth_request).
	StepLifetime time.Duration
}

// Handlers are the HTTP side of the browser flows.
type Handlers struct {
	c HandlerConfig
	// sameSite checks the sign-out confirmation: /end_session is exempt
	// from the server-wide cross-origin protection (relying parties may
	// POST to it), but a confirmation must come from our own page.
	sameSite *http.CrossOriginProtection
}

// NewHandlers returns the handlers.
func NewHandlers(c HandlerConfig) *Handlers {
	if c.Outcome == nil {
		c.Outcome = func(string, string) {}
	}
	return &Handlers{c: c, sameSite: http.NewCrossOriginProtection()}
}

// Names of the SSO session cookie. Under https it is HostSessionCookie:
// the __Host- prefix makes browsers refuse it unless it is Secure, has
// Path=/ and no Domain, so no other host (a sibling subdomain, a network
// attacker over http) can set or shadow it. Under plain http (development)
// it is SessionCookie, which was also its https name before; sessions
// begun then are still read under it (see sessionToken).
const (
	SessionCookie     = "sekisho_session"
	HostSessionCookie = "__Host-" + SessionCookie
)

// LoginPage serves GET /login?id=…: finish with the SSO session when it
// may, answer prompt=none, or show the form.
func (h *Handlers) LoginPage(w http.ResponseWriter, r *http.Request) {
	st, err := h.c.Flow.Start(r.Context(), r.URL.Query().Get("id"), h.sessionToken(w, r))
	if err != nil {
		h.requestError(w, r, st.Request, err)
		return
	}
	switch st.Decision {
	case Respond:
		h.respond(w, r, st.Request)
	case StepUp:
		res, err := h.c.Flow.StepUp(r.Context(), st.Request, h.getStep(w, r, st.Request))
		if err != nil {
			h.requestError(w, r, st.Request, err)
			return
		}
		h.finish(w, r, res)
	case RedirectError:
		e := oidc.ErrLoginRequired()
		if st.OAuthError == "interaction_required" {
			e = oidc.ErrInteractionRequired()
		}
		h.c.OP.RedirectError(w, r, st.Request, e)
	default:
		if WantsLegacy(st.Request) {
			http.Redirect(w, r, "/login/legacy?id="+url.QueryEscape(st.Request.ID), http.StatusSeeOther)
			return
		}
		h.showForm(w, r, http.StatusOK, st.Request, st.Name, "")
	}
}

// LoginSubmit serves POST /login.
func (h *Handlers) LoginSubmit(w http.ResponseWriter, r *http.Request) {
	if switchingLanguage(r) {
		a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
		if err != nil {
			h.requestError(w, r, a, err)
			return
		}
		h.showForm(w, r, http.StatusOK, a, postedName(r), "")
		return
	}
	in := h.credentials(w, r)
	res, err := h.c.Flow.Login(r.Context(), in)
	step := StepPassword
	if in.UnlockToken != "" {
		step = StepUnlock
	}
	h.c.Outcome(step, StepOutcome(err))
	h.signedIn(w, r, res, err, in.name())
}

// signedIn answers a sign-in form (password or passkey) that named the
// account name: the form again with the one error, the legacy reset, the
// lock's page, or the next step.
func (h *Handlers) signedIn(w http.ResponseWriter, r *http.Request, res SignedIn, err error, name AccountName) {
	var locked *LockedError
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidCredentials):
		h.showForm(w, r, http.StatusOK, res.Request, name, h.invalidKey())
		return
	case errors.Is(err, ErrLegacyReset):
		h.c.Pages.Login(w, r, http.StatusOK, h.legacyResetView(r, res.Request, name))
		return
	case errors.Is(err, ErrNoAddress):
		h.showForm(w, r, http.StatusForbidden, res.Request, name, "login.error.no_address")
		return
	case errors.Is(err, ErrTooManyCodes):
		h.showForm(w, r, http.StatusTooManyRequests, res.Request, name, "otp.error.send_limit")
		return
	case errors.As(err, &locked):
		h.lockedPage(w, r, res.Request, locked)
		return
	case err != nil:
		h.requestError(w, r, res.Request, err)
		return
	}
	h.finish(w, r, res)
}

// credentials reads a password form (unified or legacy).
func (h *Handlers) credentials(w http.ResponseWriter, r *http.Request) Credentials {
	n := postedName(r)
	return Credentials{AuthRequestID: r.PostFormValue("id"), Organization: n.Organization, Email: n.Email, Username: n.Username,
		Password: r.PostFormValue("password"), IP: h.c.ClientIP(r), UserAgent: r.UserAgent(), SessionToken: h.sessionToken(w, r),
		DeviceToken: h.cookie(r, DeviceCookie), StepToken: h.stepToken(r), UnlockToken: h.unlockToken(r),
		LangOf: func(ui []string) string { return h.c.Pages.Lang(w, r, ui) }}
}

// name is the account the credentials name, as the form posted it.
func (in Credentials) name() AccountName {
	return AccountName{Organization: in.Organization, Email: in.Email, Username: in.Username}
}

// invalidKey is the message of the one answer to every failed sign-in:
// it names the fields the mode asks for.
func (h *Handlers) invalidKey() string {
	if h.c.Flow.HasOrganization() {
		return "login.error.invalid_org"
	}
	return "login.error.invalid"
}

// finish shows the next step of a sign-in, or completes it: the cookies,
// then the authorization response (or the provider's own page).
func (h *Handlers) finish(w http.ResponseWriter, r *http.Request, res SignedIn) {
	a := res.Request
	h.setStepCookie(w, res.StepToken)
	switch {
	case res.Challenge != nil:
		h.c.Pages.OTP(w, r, http.StatusOK, OTPView{AuthRequestID: a.ID, Challenge: *res.Challenge, UILocales: a.UILocales})
		return
	case res.MFA != nil && res.MFA.RecoveryCodes == nil:
		h.c.Pages.MFAStep(w, r, http.StatusOK, MFAStepView{AuthRequestID: a.ID, MFAChallenge: *res.MFA,
			Method: mfaMethod(*res.MFA, ""), UILocales: a.UILocales})
		return
	case res.ChangeTicket != "":
		h.c.Pages.ChangePassword(w, r, http.StatusOK, h.changeView(a, res.ChangeTicket, res.ChangeAccount))
		return
	}
	h.setSessionCookie(w, res.SessionToken, res.Session.AbsoluteExpiresAt)
	h.clearUnlock(w, r)
	if res.DeviceToken != "" {
		c := &http.Cookie{Name: DeviceCookie, Value: res.DeviceToken, Path: "/", MaxAge: int(h.c.DeviceLifetime / time.Second),
			HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode}
		http.SetCookie(w, c)
	}
	if res.MFA != nil {
		// An authenticator app set up at this sign-in: its recovery codes,
		// once, then on to the application (the session answers).
		h.c.Pages.MFAStep(w, r, http.StatusOK, MFAStepView{AuthRequestID: a.ID, MFAChallenge: *res.MFA,
			ContinueURL: "/login?id=" + url.QueryEscape(a.ID), UILocales: a.UILocales})
		return
	}
	if a.ACR == ACRLegacy && !IsAccountRequest(a) {
		if u, ok, _ := h.c.Flow.Account(r.Context(), res.SessionToken); ok {
			if name, err := h.c.Flow.NameOf(r.Context(), u.User); err == nil {
				h.legacyInvite(w, r, a, name)
				return
			}
		}
	}
	h.respond(w, r, a)
}

// respond sends the authorization response of a finished request, or
// returns to the provider's own page it was for.
func (h *Handlers) respond(w http.ResponseWriter, r *http.Request, a storage.AuthRequest) {
	if (IsAccountRequest(a) && localPath(a.RedirectURI)) || returnsToProduct(a) {
		// A local path, or a URI of the client checked when the request
		// was made.
		http.Redirect(w, r, a.RedirectURI, http.StatusSeeOther)
		return
	}
	h.c.OP.Respond(w, r, a)
}

func (h *Handlers) showForm(w http.ResponseWriter, r *http.Request, status int, a storage.AuthRequest, n AccountName, errKey string) {
	h.c.Pages.Login(w, r, status, h.formView(r, a, n, errKey))
}

// formView is the sign-in form's view, with the notice of an unlock link
// the browser opened (its address filling an empty address field).
func (h *Handlers) formView(r *http.Request, a storage.AuthRequest, n AccountName, errKey string) LoginView {
	notice, email := h.unlockNotice(r)
	if n.Email == "" {
		n.Email = email
	}
	v := h.loginView(a, n, errKey)
	v.NoticeKey = notice
	return v
}

func (h *Handlers) loginView(a storage.AuthRequest, n AccountName, errKey string) LoginView {
	name, _, _ := h.c.OP.ClientDisplay(a.ClientID)
	v := LoginView{AuthRequestID: a.ID, Account: h.accountForm(a, n), ClientName: name,
		ErrorKey: errKey, UILocales: a.UILocales, ForgotURL: "/reset?id=" + url.QueryEscape(a.ID), Passkey: h.c.Flow.PasskeysOn()}
	if h.c.Flow.LegacyWindow() {
		v.LegacyName, v.LegacyURL = h.c.Flow.LegacyName(), "/login/legacy?id="+url.QueryEscape(a.ID)
	}
	return v
}

// legacyResetView is the legacy first sign-in of the account n names:
// its one action sends the code that resets the password (and migrates
// the account), with the migration deadline when one is set.
func (h *Handlers) legacyResetView(r *http.Request, a storage.AuthRequest, n AccountName) LoginView {
	v := h.loginView(a, n, "")
	v.LegacyReset = true
	v.LegacyName = h.c.Flow.LegacyName()
	v.LegacyDeadline = h.c.Flow.LegacyDeadline(r.Context(), v.Account.AccountName)
	v.OtherAccountURL = "/login?id=" + url.QueryEscape(a.ID)
	return v
}

// switchingLanguage reports whether a step's form was posted by the
// language switch (its "lang" buttons, templates.Base.LangForm): the
// handler shows the same step again in that language with the non-secret
// fields typed, and checks, counts and sends nothing.
func switchingLanguage(r *http.Request) bool { return r.PostFormValue("lang") != "" }

// maxKeptCode bounds the typed code a language switch shows again.
const maxKeptCode = 16

// typedCode is the code a step's form posted, to show again after a
// language switch: the person typed it from their mail into this very
// page, which is never cached (no-store). Anything longer than a code is
// dropped.
func typedCode(r *http.Request) string {
	c := strings.TrimSpace(r.PostFormValue("code"))
	if utf8.RuneCountInString(c) > maxKeptCode {
		return ""
	}
	return c
}

// requestError maps flow errors to pages, in one place.
func (h *Handlers) requestError(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, err error) {
	switch {
	case errors.Is(err, ErrExpired):
		name, _, _ := h.c.OP.ClientDisplay(a.ClientID)
		h.c.Pages.Expired(w, r, http.StatusGone, ExpiredView{Finished: a.CodeUsedAt != nil, ClientName: name,
			RestartURL: h.c.OP.RestartURL(a.ClientID), UILocales: a.UILocales})
	case errors.Is(err, ErrUnknownRequest):
		h.c.Pages.Expired(w, r, http.StatusNotFound, ExpiredView{Unknown: true})
	default:
		h.c.Logger.ErrorContext(r.Context(), "login flow", "err", err)
		h.c.Pages.Error(w, r, http.StatusServiceUnavailable, "error.unavailable", "")
	}
}

// EndSession serves /end_session (GET and POST; RP-Initiated Logout 1.0).
// A valid id_token_hint for this browser's session signs out at once;
// anything else asks the user to confirm, so a cross-site link cannot sign
// users out. An unregistered post_logout_redirect_uri gets an error page.
func (h *Handlers) EndSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.c.Pages.Error(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	es, err := h.c.OP.VerifyEndSession(r)
	switch {
	case errors.Is(err, op.ErrBadPostLogoutRedirect):
		h.c.Pages.Error(w, r, http.StatusBadRequest, "error.bad_post_logout_redirect", "")
		return
	case err != nil:
		h.c.Pages.Error(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	sess, hasSession := h.c.Flow.Session(r.Context(), h.sessionToken(w, r))
	confirmed := r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes" && h.sameSite.Check(r) == nil
	var frames []string
	// Only a hint naming this very session (its sid) signs out without
	// confirmation: a hint without sid could be any of the user's tokens.
	hintMatches := es.HintValid && hasSession && es.SessionID != "" && es.SessionID == sess.ID
	switch {
	case !hasSession:
		// Nothing to end.
	case hintMatches || confirmed:
		res, err := h.c.Flow.Logout(r.Context(), sess, h.c.ClientIP(r), es.ClientID)
		if err != nil {
			h.requestError(w, r, storage.AuthRequest{}, err)
			return
		}
		// Back-channel first, bounded: the user should not reach an
		// application that has not heard of the sign-out yet.
		h.c.Notifier.Deliver(r.Context(), res)
		frames = h.c.Notifier.FrontchannelURLs(res.Ended)
	default:
		h.c.Pages.LogoutConfirm(w, r, h.logoutView(r, es, sess, hasSession))
		return
	}
	h.clearSessionCookie(w)
	if es.RedirectURI != "" && len(frames) == 0 {
		http.Redirect(w, r, es.RedirectURI, http.StatusSeeOther)
		return
	}
	_, home, _ := h.c.OP.ClientDisplay(es.ClientID)
	h.c.Pages.SignedOut(w, r, SignedOutView{BackURL: home, ClientName: es.ClientName, Frames: frames, ContinueURL: es.RedirectURI})
}

// LogoutPage serves GET /logout: the provider's own sign-out page for
// users who come directly.
func (h *Handlers) LogoutPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.c.Flow.Session(r.Context(), h.sessionToken(w, r))
	h.c.Pages.LogoutConfirm(w, r, h.logoutView(r, op.EndSession{}, sess, ok))
}

// logoutView is the sign-out confirmation of the browser's session (when
// it has one): whose it is, the applications it signs out, and the way
// back without signing out — only to URIs registered for the client
// (es.RedirectURI was checked against them), never to one the request
// names otherwise.
func (h *Handlers) logoutView(r *http.Request, es op.EndSession, sess storage.Session, hasSession bool) LogoutView {
	v := LogoutView{Params: es.Params, CancelURL: es.RedirectURI}
	if v.CancelURL == "" && es.ClientID != "" {
		_, v.CancelURL, _ = h.c.OP.ClientDisplay(es.ClientID)
	}
	if !hasSession {
		return v
	}
	if v.CancelURL == "" {
		v.CancelURL = "/account"
	}
	n, clients, err := h.c.Flow.SignedInAs(r.Context(), sess)
	if err != nil {
		// The confirmation still works without the names.
		h.c.Logger.WarnContext(r.Context(), "sign-out confirmation: name the session", "err", err)
		return v
	}
	v.Account = n
	for _, id := range clients {
		if name, _, ok := h.c.OP.ClientDisplay(id); ok {
			v.Applications = append(v.Applications, name)
		}
	}
	return v
}

// DeviceCookie names the browser for the emailed step (new_device) and
// sign-in mails; only its keyed hash is stored.
const DeviceCookie = "sekisho_device"

// StepCookie binds the steps of a sign-in after the password (emailed
// code, forced change) and of a password reset to the browser that
// started them: each step stores its keyed hash, and a step's form from a
// browser without it is refused as an expired step. Named with the
// __Host- prefix under https (HostStepCookie).
const (
	StepCookie     = "sekisho_step"
	HostStepCookie = "__Host-" + StepCookie
)

// stepToken is the browser's step cookie, or "".
func (h *Handlers) stepToken(r *http.Request) string { return h.cookie(r, h.hostCookie(StepCookie)) }

// setStepCookie gives the browser the step cookie token (again: its
// lifetime starts over); nothing when token is empty.
func (h *Handlers) setStepCookie(w http.ResponseWriter, token string) {
	if token == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: h.hostCookie(StepCookie), Value: token, Path: "/", MaxAge: int(h.c.StepLifetime / time.Second),
		HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode})
}

// hostCookie is the name of a Path=/ cookie of ours: with the __Host-
// prefix under https, which browsers accept only Secure, with Path=/ and
// without Domain, so no other host can set or shadow it.
func (h *Handlers) hostCookie(name string) string {
	if h.c.Secure {
		return "__Host-" + name
	}
	return name
}

// sessionCookieName is the session cookie's name: HostSessionCookie under
// https, SessionCookie under http.
func (h *Handlers) sessionCookieName() string { return h.hostCookie(SessionCookie) }

// SessionToken returns the browser's session cookie value, for other
// pages on the same session (the console); see sessionToken.
func (h *Handlers) SessionToken(w http.ResponseWriter, r *http.Request) string {
	return h.sessionToken(w, r)
}

// sessionToken returns the browser's session cookie value. Under https a
// browser may still send it under the old name (SessionCookie), from
// before the upgrade: the old cookie is cleared and, when it names an
// active session that began before the upgrade (OldCookieName), that
// session moves to the new name in the response. An old-name cookie of
// any other session is ignored, so the old name stops working one
// session.absolute after the upgrade and cannot be planted later.
func (h *Handlers) sessionToken(w http.ResponseWriter, r *http.Request) string {
	if !h.c.Secure {
		return h.cookie(r, SessionCookie)
	}
	old := h.cookie(r, SessionCookie)
	if old != "" {
		h.expireCookie(w, SessionCookie)
	}
	if v := h.cookie(r, HostSessionCookie); v != "" || old == "" {
		return v
	}
	sess, ok := h.c.Flow.Session(r.Context(), old)
	if !ok || !sess.OldCookieName {
		return ""
	}
	h.setSessionCookie(w, old, sess.AbsoluteExpiresAt)
	return old
}

func (h *Handlers) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handlers) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	c := &http.Cookie{Name: h.sessionCookieName(), Value: token, Path: "/", Expires: expires, HttpOnly: true}
	h.cookieSite(c)
	http.SetCookie(w, c)
}

func (h *Handlers) clearSessionCookie(w http.ResponseWriter) {
	h.expireCookie(w, h.sessionCookieName())
}

// expireCookie deletes a session cookie (set with Path=/ and the session
// cookie's SameSite and Secure).
func (h *Handlers) expireCookie(w http.ResponseWriter, name string) {
	c := &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true}
	h.cookieSite(c)
	http.SetCookie(w, c)
}

// cookieSite: the session cookie must travel on the cross-site POSTs to
// /authorize and /end_session that relying parties may send, so
// SameSite=None with Secure under https; Lax on plain-http development.
func (h *Handlers) cookieSite(c *http.Cookie) {
	if h.c.Secure {
		c.SameSite, c.Secure = http.SameSiteNoneMode, true
	} else {
		c.SameSite = http.SameSiteLaxMode
	}
}
