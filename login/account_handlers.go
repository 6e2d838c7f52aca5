package login

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// AccountView is the data of the account page.
type AccountView struct {
	User storage.User
	// Organization is the user's, in the organization sign-in modes.
	Organization storage.Organization
	OTPChoice    bool
	// Zone is the time zone of the user's organization, in which the
	// page shows times.
	Zone    *time.Location
	Devices []DeviceView
	SignIns []SignInView
	// Back is the "back to the application" link (empty URL: none), and
	// Return the query that keeps it through the page's forms.
	Back   BackLink
	Return url.Values
	Notice Msg
	Error  Msg
	// Section is the section (templates.AccountSections) of the form
	// that was sent: its messages show there.
	Section    string
	Violations []password.Violation
	Rules      []password.Rule
	// Account names the account for password managers (managerName).
	Account string
	// MFA is the strong-factor section (nil: off for the user); handlers
	// of the section fill what a change shows, showAccount the rest.
	MFA *MFAView
}

// SignInView is one recent sign-in.
type SignInView struct {
	storage.AuditEvent
	ClientName i18n.Text
}

// DeviceView is one browser signed in to the account.
type DeviceView struct {
	Device
	Browser string      // from the User-Agent ("Firefox (Windows)")
	Apps    []i18n.Text // the clients' names
}

// BackLink is the account page's way back to an application.
type BackLink struct {
	URL  string
	Name i18n.Text
}

// MessageView is the data of a message page.
type MessageView struct {
	TitleKey string
	Message  Msg
	// Detail, when its Key is set, is a second paragraph, and Names a
	// list under it.
	Detail    Msg
	Names     []string
	LinkURL   string
	LinkLabel string
	// FormAction, when set, adds a form with FormHidden fields and a
	// FormLabel button.
	FormAction string
	FormHidden [][2]string
	FormLabel  string
	UILocales  []string
}

// recentSignIns is how many sign-ins the account page lists.
const recentSignIns = 10

// account loads the signed-in account, or sends the browser to sign in
// and come back to returnTo (ok false).
func (h *Handlers) account(w http.ResponseWriter, r *http.Request, returnTo string) (Account, bool) {
	acct, ok, err := h.c.Flow.Account(r.Context(), h.sessionToken(w, r))
	if err == nil && !ok {
		var id string
		if id, err = h.c.Flow.StartAccountSignIn(r.Context(), returnTo, nil); err == nil {
			http.Redirect(w, r, "/login?id="+url.QueryEscape(id), http.StatusSeeOther)
			return acct, false
		}
	}
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return acct, false
	}
	return acct, true
}

// AccountPage serves GET /account. An application linking to it may
// name itself (?client_id=…, and ?return_to= one of its registered
// URIs) for the page's "back to the application" link; a signed-out
// browser signs in and comes back with both.
func (h *Handlers) AccountPage(w http.ResponseWriter, r *http.Request) {
	returnTo := "/account"
	if q := accountReturn(r); len(q) > 0 {
		returnTo += "?" + q.Encode()
	}
	if acct, ok := h.account(w, r, returnTo); ok {
		h.showAccount(w, r, http.StatusOK, acct, AccountView{})
	}
}

// accountReturn is the application a request of the account page names
// (client_id, return_to), checked later by backLink.
func accountReturn(r *http.Request) url.Values {
	q := url.Values{}
	for _, k := range []string{"client_id", "return_to"} {
		if v := r.FormValue(k); v != "" && len(v) <= 2048 {
			q.Set(k, v)
		}
	}
	return q
}

// backLink finds where "back to the application" goes: the application
// the request names, to its return_to when that is exactly one of the
// client's registered URIs, else to the client's home; without one, the
// application this browser signed in to last. Only configured clients'
// registered addresses are linked (never an open redirect).
func (h *Handlers) backLink(r *http.Request, devices []DeviceView) (BackLink, url.Values) {
	q := accountReturn(r)
	if id := q.Get("client_id"); id != "" {
		if name, home, ok := h.c.OP.ClientDisplay(id); ok {
			if rt := q.Get("return_to"); rt != "" && h.c.OP.ReturnURIAllowed(id, rt) {
				home = rt
			} else {
				q.Del("return_to")
			}
			if home != "" {
				return BackLink{URL: home, Name: name}, q
			}
		}
	}
	for _, d := range devices {
		if !d.Current {
			continue
		}
		for _, id := range d.Clients {
			if name, home, ok := h.c.OP.ClientDisplay(id); ok && home != "" {
				return BackLink{URL: home, Name: name}, nil
			}
		}
	}
	return BackLink{}, nil
}

func (h *Handlers) showAccount(w http.ResponseWriter, r *http.Request, status int, acct Account, v AccountView) {
	ctx := r.Context()
	events, err := h.c.Flow.RecentSignIns(ctx, acct.User.ID, recentSignIns)
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	for _, e := range events {
		name, _, _ := h.c.OP.ClientDisplay(e.ClientID)
		v.SignIns = append(v.SignIns, SignInView{AuditEvent: e, ClientName: name})
	}
	devices, err := h.c.Flow.Devices(ctx, acct)
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	for _, d := range devices {
		dv := DeviceView{Device: d, Browser: BrowserSummary(d.UserAgent)}
		for _, id := range d.Clients {
			if name, _, ok := h.c.OP.ClientDisplay(id); ok {
				dv.Apps = append(dv.Apps, name)
			}
		}
		v.Devices = append(v.Devices, dv)
	}
	v.Back, v.Return = h.backLink(r, v.Devices)
	v.User, v.Organization, v.OTPChoice, v.Rules = acct.User, acct.Organization, h.c.Flow.OTPChoice(), h.c.Flow.c.Policy.Rules()
	v.Zone = h.c.Flow.Zone(ctx, acct.User)
	v.Account = h.c.Flow.managerName(acct.User)
	mv, err := h.mfaView(r, acct)
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	if mv != nil && v.MFA != nil {
		mv.Enrol, mv.NewCodes, mv.ConfirmRemoval, mv.ConfirmPasskey = v.MFA.Enrol, v.MFA.NewCodes, v.MFA.ConfirmRemoval, v.MFA.ConfirmPasskey
	}
	v.MFA = mv
	h.c.Pages.Account(w, r, status, v)
}

// AccountPassword serves POST /account/password.
func (h *Handlers) AccountPassword(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	ended, err := h.c.Flow.ChangePassword(r.Context(), acct, PasswordChangeInput{Current: r.PostFormValue("current_password"),
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm"), IP: h.c.ClientIP(r), Lang: h.c.Pages.Lang(w, r, nil)})
	v := AccountView{Section: "password"}
	var policy *PolicyError
	switch {
	case err == nil:
		h.c.Notifier.Deliver(r.Context(), ended)
		v.Notice = Msg{Key: "account.password_changed"}
	case errors.As(err, &policy):
		v.Violations = policy.Violations
	default:
		if v.Error = accountError(err); v.Error.Key == "" {
			h.requestError(w, r, storage.AuthRequest{}, err)
			return
		}
	}
	h.showAccount(w, r, http.StatusOK, acct, v)
}

// AccountEmail serves POST /account/email.
func (h *Handlers) AccountEmail(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	email := r.PostFormValue("email")
	err := h.c.Flow.ChangeEmail(r.Context(), acct, EmailChangeInput{Email: email, Current: r.PostFormValue("current_password"),
		IP: h.c.ClientIP(r), Lang: h.c.Pages.Lang(w, r, nil)})
	v := AccountView{Section: "email"}
	if err == nil {
		v.Notice = Msg{Key: "account.email_change_sent", Args: []any{email}}
	} else if v.Error = accountError(err); v.Error.Key == "" {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.showAccount(w, r, http.StatusOK, acct, v)
}

// accountError is the message of an account form's error; empty for an
// error the form cannot explain.
func accountError(err error) Msg {
	for _, e := range []struct {
		err error
		key string
	}{
		{ErrCurrentPassword, "account.error.current_password"}, {ErrPasswordMismatch, "reset.error.mismatch"},
		{ErrBadEmail, "account.error.email"}, {ErrSameEmail, "account.error.same_email"},
	} {
		if errors.Is(err, e.err) {
			return Msg{Key: e.key}
		}
	}
	return Msg{}
}

// AccountVerify serves POST /account/verify: a new verification link.
func (h *Handlers) AccountVerify(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	if err := h.c.Flow.SendVerification(r.Context(), acct, h.c.Pages.Lang(w, r, nil)); err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.showAccount(w, r, http.StatusOK, acct, AccountView{Section: "profile", Notice: Msg{Key: "account.verification_sent",
		Args: []any{acct.User.Email, int(h.c.Flow.c.Account.VerifyTTL.Minutes())}}})
}

// AccountOTP serves POST /account/otp: the emailed step on or off.
func (h *Handlers) AccountOTP(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	on := r.PostFormValue("otp") == "on"
	if err := h.c.Flow.SetOTP(r.Context(), acct, on, h.c.ClientIP(r)); err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	acct.User.OTPEnabled = on && h.c.Flow.OTPChoice()
	key := "account.otp_disabled"
	if acct.User.OTPEnabled {
		key = "account.otp_enabled"
	}
	h.showAccount(w, r, http.StatusOK, acct, AccountView{Section: "otp", Notice: Msg{Key: key}})
}

// AccountSessionEnd serves POST /account/sessions/end: one other device
// (session=ID) is signed out, and its applications are told.
func (h *Handlers) AccountSessionEnd(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	res, err := h.c.Flow.SignOutSession(r.Context(), acct, r.PostFormValue("session"), h.c.ClientIP(r))
	v := AccountView{Section: "sessions"}
	switch {
	case err == nil:
		h.c.Notifier.Deliver(r.Context(), res)
		v.Notice = Msg{Key: "account.device_signed_out", Args: []any{BrowserSummary(res.Ended[0].UserAgent)}}
	case errors.Is(err, ErrSessionGone):
		v.Error = Msg{Key: "account.error.session_gone"}
	default:
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.showAccount(w, r, http.StatusOK, acct, v)
}

// AccountLogoutAll serves POST /account/logout-all: every session ends,
// every token is revoked, the clients are told.
func (h *Handlers) AccountLogoutAll(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	res, err := h.c.Flow.SignOutEverywhere(r.Context(), acct, h.c.ClientIP(r))
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.c.Notifier.Deliver(r.Context(), res)
	h.clearSessionCookie(w)
	h.c.Pages.SignedOut(w, r, SignedOutView{Frames: h.c.Notifier.FrontchannelURLs(res.Ended)})
}

// verifyCookie keeps a verification link's token while a signed-out
// browser signs in (the sign-in's return address carries no secret).
const verifyCookie = "sekisho_verify"

// VerifyEmailLink serves GET /email/verify?token=…: signed out, the
// browser signs in first and comes back.
func (h *Handlers) VerifyEmailLink(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	c := &http.Cookie{Name: verifyCookie, Path: "/email/verify", MaxAge: -1, HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode}
	if _, signedIn := h.c.Flow.Session(r.Context(), h.sessionToken(w, r)); !signedIn && token != "" {
		c.Value, c.MaxAge = token, int(h.c.Flow.c.Account.VerifyTTL/time.Second)
	} else if token == "" {
		token = h.cookie(r, verifyCookie)
	}
	http.SetCookie(w, c)
	acct, ok := h.account(w, r, "/email/verify")
	if !ok {
		return
	}
	u, err := h.c.Flow.VerifyEmail(r.Context(), acct, token, h.c.ClientIP(r), h.c.Pages.Lang(w, r, nil))
	v := MessageView{LinkURL: "/account", LinkLabel: "verify.to_account"}
	status := http.StatusOK
	switch {
	case err == nil:
		v.Message = Msg{Key: "verify.done", Args: []any{u.Email}}
	case errors.Is(err, ErrLinkExpired):
		v.Message, status = Msg{Key: "verify.expired"}, http.StatusGone
	case errors.Is(err, ErrEmailTaken):
		v.Message, status = Msg{Key: "verify.taken"}, http.StatusConflict
	default:
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.c.Pages.Message(w, r, status, v)
}
