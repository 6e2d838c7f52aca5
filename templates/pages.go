package templates

import (
	"html/template"
	"net/http"
	"time"
)

// LoginPage is the data of the unified sign-in form, posted to /login.
type LoginPage struct {
	Base
	// AuthRequestID is the auth request id, sent back in the hidden field
	// "id". The form carries no CSRF token: the Origin check protects it.
	AuthRequestID string
	// Account is the fields that name the account, prefilled (login_hint,
	// the request's organization, or what the user just typed).
	Account AccountFields
	// ClientName is the display name of the relying application, shown as
	// "Sign in to continue to …"; empty shows a generic line.
	ClientName string
	// Error is the catalog key of the error to show above the form, such as
	// "login.error.invalid" or "login.error.throttled"; empty shows none.
	Error string
	// ForgotURL is the link of "Forgot your password?"; empty hides it.
	ForgotURL string
	// Notice is the catalog key of a notice above the form (an unlock
	// link was opened: signing in unlocks the account), or empty.
	Notice string
	// LegacyName, when set, shows the notice for users of that legacy
	// product (their first sign-in here needs a password reset).
	LegacyName string
	// LegacyReset shows, instead of an error, that the legacy product's
	// password was right and offers the reset for Account (a form posting
	// id and the account's fields to /reset).
	LegacyReset bool
	// LegacyForm makes this the legacy product's form (title, lead with
	// LegacyName), posted to /login/legacy.
	LegacyForm bool
	// LegacyURL, when set, links to that form from the unified one.
	LegacyURL string
	// LegacyDeadline, when set, is the end of the migration window, in
	// the time zone the page names it in (the organization's).
	LegacyDeadline time.Time
	// OtherAccountURL is the link of "sign in with another account" on
	// the legacy first sign-in (LegacyReset), whose one action is sending
	// the code.
	OtherAccountURL string
	// Passkey offers "Sign in with a passkey" (a form posted to
	// /login/passkey by static/passkey.js, begun at /login/passkey/begin)
	// and passkeys in the account field's autofill (conditional UI).
	Passkey bool
}

// PasskeyScript reports whether the page loads static/passkey.js.
func (p LoginPage) PasskeyScript() bool { return p.Passkey && !p.LegacyForm && !p.LegacyReset }

// AccountFields are the fields that name an account on the sign-in and
// "forgot your password" forms, as the sign-in mode (login.identifier)
// asks for them: the organization code (organization modes), then the
// account name (account-name mode) or the email address. Labels come
// from the configuration, in the page's language.
type AccountFields struct {
	// OrganizationLabel, when set, shows the organization field
	// (<input name="organization" autocomplete="organization">).
	OrganizationLabel string
	Organization      string
	// OrganizationLocked makes the organization field read-only: the
	// authorization request names the organization.
	OrganizationLocked bool
	// UsernameLabel, when set, asks for the account name (a text input
	// with autocomplete="username") instead of the email address.
	UsernameLabel string
	Username      string
	Email         string
	// Webauthn adds "webauthn" to the account field's autocomplete
	// ("username webauthn"): the browser offers passkeys in its autofill.
	Webauthn bool
	// Focus and ErrorID are set by the render methods: the field that
	// takes autofocus ("" for none: the password field takes it on the
	// sign-in form), and the id of the error the fields are described by.
	Focus, ErrorID string
}

// firstEmpty names the first account field without a value, or "".
func (a AccountFields) firstEmpty() string {
	switch {
	case a.OrganizationLabel != "" && a.Organization == "":
		return "organization"
	case a.UsernameLabel != "" && a.Username == "":
		return "username"
	case a.UsernameLabel == "" && a.Email == "":
		return "email"
	}
	return ""
}

// Message is a catalog key with its arguments.
type Message struct {
	Key  string
	Args []any
}

// ForgotPage is the data of "Forgot your password?": the email form,
// posted to /reset.
type ForgotPage struct {
	Base
	AuthRequestID string
	Account       AccountFields
	// Error is the catalog key of an error above the form, or empty.
	Error string
}

// ResetPage is the data of the page that takes the emailed code and the
// new password, posted to /reset/verify.
type ResetPage struct {
	Base
	AuthRequestID string
	Ticket        string
	// ByUsername: the code went to the named account's registered
	// address, if it has one (account-name sign-in), not to a typed one.
	ByUsername   bool
	ValidMinutes int // how long the emailed code is valid
	// Code is the code typed: kept when the language is switched or
	// the password is refused.
	Code       string
	Error      string    // catalog key, or empty
	Violations []Message // password rules broken
	Rules      []Message // the rules, shown up front
	// Account is the account the code was asked for, as it was typed
	// (the sign-in form's account name or address), for password
	// managers; it is carried by the form.
	Account string
	// CodeError and Password are set by RenderReset: a wrong code is
	// said under the code field.
	CodeError string
	Password  NewPasswordFields
}

// ErrorPage is the data of a readable error page.
type ErrorPage struct {
	Base
	// Message is the catalog key of the explanation, such as
	// "error.expired"; empty means "error.server". Base.Title defaults to
	// "error.title"; "error.expired.title", "error.not_found.title" and
	// "error.unavailable.title" exist for those cases.
	Message string
	// BackURL is an optional link back to the application. Only pass a URL
	// that is known to belong to the client (never an unvalidated
	// redirect_uri).
	BackURL string
	// BackLabel is the catalog key of the BackURL link text; empty means
	// "error.back_to_app". With ClientName it takes the name (%s).
	BackLabel  string
	ClientName string
}

// HiddenField is one name/value pair carried by a form.
type HiddenField struct {
	Name, Value string
}

// LogoutConfirmPage is the data of "Do you want to sign out?", whose form
// posts to /end_session.
type LogoutConfirmPage struct {
	Base
	// Hidden are the end_session parameters to post back (state,
	// post_logout_redirect_uri, client_id, ui_locales, ...), in order. The
	// form always adds confirm=yes; a "confirm" entry here is dropped.
	Hidden []HiddenField
	// CancelURL is the target of the cancel link; empty hides the link.
	CancelURL string
	// Account names the signed-in account (its address or account name);
	// empty: no one is signed in in this browser. In the organization
	// modes Organization (its code) is shown under OrganizationLabel.
	Account                         string
	OrganizationLabel, Organization string
	// Applications are the names of the applications the session signed
	// in to, which the sign-out signs out.
	Applications []string
}

// SignedOutPage is the data of "You have been signed out".
type SignedOutPage struct {
	Base
	// BackURL is an optional link back to the application (a registered
	// post_logout_redirect_uri); empty shows "you can close this window".
	BackURL string
	// ClientName names the application in the BackURL link text; empty
	// says "the application".
	ClientName string
	// Frames are front-channel logout URLs, each loaded in a hidden
	// iframe (the page's Content-Security-Policy must allow them).
	Frames []string
	// ContinueURL, when set, replaces BackURL: the page goes there once
	// the frames have loaded (static/logout.js), or after 5 s.
	ContinueURL string
}

// Claim is one claim of an ID token, shown on the demo page.
type Claim struct {
	Name, Value string
}

// DemoPage is the data of the built-in demo relying application at /demo.
type DemoPage struct {
	Base
	// SignedIn selects the signed-in view (claims, refresh and sign-out
	// buttons) over the introduction with its sign-in button.
	SignedIn bool
	// Claims are listed in order (sub, email, name, amr, acr, sid,
	// auth_time, ...).
	Claims []Claim
	// RawJSON is the claims JSON, shown preformatted.
	RawJSON string
	// Error is plain text (not a catalog key), shown escaped when
	// non-empty.
	Error string
}

// RenderLogin writes the sign-in page with status (200, or 400/401/429 when
// showing an error). The returned error is non-nil only when the page could
// not be rendered; a plain 500 has then already been written.
func (r *Renderer) RenderLogin(w http.ResponseWriter, status int, p LoginPage) error {
	title := "login.title"
	if p.LegacyForm {
		title = "legacy.form_title"
	}
	p.Base = p.Base.complete(title)
	p.LangForm = "login-form"
	if p.LegacyReset {
		p.LangForm = "legacy-reset-form"
	}
	p.Account.Focus, p.Account.ErrorID = p.Account.firstEmpty(), ""
	if p.Error != "" {
		p.Account.ErrorID = "login-error"
	}
	return r.render(w, status, pageLogin, p.Lang, p)
}

// RenderForgot writes the password-reset email form.
func (r *Renderer) RenderForgot(w http.ResponseWriter, status int, p ForgotPage) error {
	p.Base = p.Base.complete("reset.title")
	p.LangForm = "forgot-form"
	p.Account.Focus, p.Account.ErrorID = p.Account.firstEmpty(), ""
	if p.Account.Focus == "" {
		p.Account.Focus = "email"
		if p.Account.UsernameLabel != "" {
			p.Account.Focus = "username"
		}
	}
	return r.render(w, status, pageForgot, p.Lang, p)
}

// KeyWrongResetCode is the error of a wrong or expired reset code, shown
// under the code field.
const KeyWrongResetCode = "reset.error.code"

// RenderReset writes the code and new-password form.
func (r *Renderer) RenderReset(w http.ResponseWriter, status int, p ResetPage) error {
	p.Base = p.Base.complete("reset.title")
	p.LangForm = "reset-form"
	p.Password, p.Error = newPasswordFields(p.Rules, p.Violations, p.Error)
	if p.Error == KeyWrongResetCode {
		p.CodeError, p.Error, p.Code = p.Error, "", ""
	}
	p.Password.Focus = p.Code != ""
	return r.render(w, status, pageReset, p.Lang, p)
}

// RenderError writes an error page with status. The returned error is
// non-nil only when the page could not be rendered; a plain 500 has then
// already been written.
func (r *Renderer) RenderError(w http.ResponseWriter, status int, p ErrorPage) error {
	p.Base = p.Base.complete("error.title")
	if p.Message == "" {
		p.Message = "error.server"
	}
	if p.BackLabel == "" {
		p.BackLabel = "error.back_to_app"
	}
	return r.render(w, status, pageError, p.Lang, p)
}

// RenderLogoutConfirm writes the sign-out confirmation page with status 200.
// The returned error is non-nil only when the page could not be rendered; a
// plain 500 has then already been written.
func (r *Renderer) RenderLogoutConfirm(w http.ResponseWriter, p LogoutConfirmPage) error {
	p.Base = p.Base.complete("logout.title")
	hidden := make([]HiddenField, 0, len(p.Hidden))
	for _, f := range p.Hidden {
		if f.Name != "confirm" {
			hidden = append(hidden, f)
		}
	}
	p.Hidden = hidden
	return r.render(w, http.StatusOK, pageLogoutConfirm, p.Lang, p)
}

// RenderSignedOut writes the signed-out page with status 200. The returned
// error is non-nil only when the page could not be rendered; a plain 500 has
// then already been written.
func (r *Renderer) RenderSignedOut(w http.ResponseWriter, p SignedOutPage) error {
	p.Base = p.Base.complete("signedout.title")
	return r.render(w, http.StatusOK, pageSignedOut, p.Lang, p)
}

// RenderDemo writes the demo application page with status 200. The returned
// error is non-nil only when the page could not be rendered; a plain 500 has
// then already been written.
func (r *Renderer) RenderDemo(w http.ResponseWriter, p DemoPage) error {
	p.Base = p.Base.complete("demo.title")
	return r.render(w, http.StatusOK, pageDemo, p.Lang, p)
}

// OTPPage is the emailed sign-in step: the code form, posted to /login/otp,
// and the resend button, posted to /login/otp/resend.
type OTPPage struct {
	Base
	AuthRequestID string
	Ticket        string
	// MaskedEmail is where the code went, such as "a***@example.com".
	MaskedEmail  string
	ValidMinutes int
	// Code is the code typed before the language was switched.
	Code string
	// Error is shown above the form (otp.error.code, otp.error.expired,
	// otp.error.cooldown with the seconds left, otp.error.send_limit);
	// an empty Key shows none.
	Error Message
	// Resent shows "a new code was sent" (otp.resent).
	Resent bool
	// ResendIn is how many seconds are left of the resend cooldown: the
	// resend button is shown disabled with a countdown until then.
	ResendIn int
}

// ChangePasswordPage is the forced password change after a sign-in,
// posted to /login/password.
type ChangePasswordPage struct {
	Base
	AuthRequestID string
	Ticket        string
	Error         string    // catalog key, or empty
	Violations    []Message // password rules broken
	Rules         []Message // the rules, shown up front
	// Account names the account for password managers (its account
	// name, or its address).
	Account string
	// Password is set by RenderChangePassword.
	Password NewPasswordFields
}

// SignInEntry is one recent sign-in on the account page.
type SignInEntry struct {
	Time    time.Time
	IP      string
	Browser string // "Firefox (Windows)"
	Client  string // the application's name, or empty
}

// DeviceEntry is one browser signed in to the account (an SSO session)
// on the account page.
type DeviceEntry struct {
	// ID is the session's id, posted to sign out of it.
	ID      string
	Browser string // "Firefox (Windows)"
	IP      string // of the sign-in
	// SignedIn is when the password was last typed in the session, and
	// LastActive when it last answered a sign-in.
	SignedIn, LastActive time.Time
	// Apps name the applications signed in to through the session.
	Apps []string
	// Current is the browser showing the page: it signs out through the
	// page's sign-out link, not with a button of this list.
	Current bool
}

// AccountSections are the account page's sections, in order: their ids
// are the anchors of its navigation, and the fragments its forms post to
// (so an answer opens at the form that was sent).
var AccountSections = []string{"profile", "email", "password", "otp", "mfa", "sessions", "sign-ins"}

// MFASection is the account page's strong factors: the authenticator
// app (posted to /account/mfa/totp, …/confirm, …/remove) and the recovery
// codes (/account/mfa/recovery).
type MFASection struct {
	TOTP bool // an authenticator app is set up
	// TOTPLastUsed is when its code last signed in (zero: never).
	TOTPLastUsed time.Time
	// Enrol, when set, is an authenticator app waiting for its first code.
	Enrol *TOTPEnrol
	// Strong: the user has a strong factor (recovery codes may be made).
	Strong       bool
	RecoveryLeft int
	// NewCodes are recovery codes shown once.
	NewCodes []string
	// ConfirmRemoval asks to confirm removing the last strong factor.
	ConfirmRemoval bool
	// PasskeysOn shows the passkeys (posted to /account/passkeys, begun at
	// /account/passkeys/begin, …/rename, …/remove); ConfirmPasskey, when
	// set, asks to confirm removing that one (the last strong factor).
	PasskeysOn     bool
	Passkeys       []PasskeyEntry
	ConfirmPasskey string
}

// PasskeyEntry is one of the user's passkeys.
type PasskeyEntry struct {
	ID, Name string
	Created  time.Time
	// LastUsed is when it last signed in (zero: never).
	LastUsed time.Time
	// Synced: a backup-eligible passkey (synced between devices).
	Synced bool
}

// TOTPEnrol is what adds an authenticator app: its QR code (a data: URL
// of a PNG), the secret in groups for typing, and the otpauth URI.
type TOTPEnrol struct {
	// QR and URI are made by the server (a PNG it encoded, the otpauth
	// URI of the key it made), never taken from a request: they are
	// marked safe for src and href.
	QR     template.URL
	Secret string
	URI    template.URL
}

// AccountPage is the signed-in user's account page at /account. Its forms
// post to /account/password, /account/email, /account/verify,
// /account/otp, /account/sessions/end and /account/logout-all, each with
// BackQuery and its section's fragment.
type AccountPage struct {
	Base
	// BackURL and BackName, when set, are the "back to the application"
	// link; BackQuery ("?client_id=…", or empty) keeps the application
	// through the page's forms.
	BackURL, BackName string
	BackQuery         string
	Name              string
	// Organization (the organization's name and code) and Username (the
	// account name), when set, are listed under their configured labels
	// (organization sign-in modes).
	OrganizationLabel string
	Organization      string
	UsernameLabel     string
	Username          string
	// Email is the account's address, or empty (an account-name account
	// without one: the page says so, and the form below adds one).
	Email         string
	EmailVerified bool
	// PendingEmail is a new address waiting for its verification link,
	// or empty.
	PendingEmail string
	// OTPChoice shows the switch of the emailed sign-in step (otp.policy
	// optional); OTPEnabled is its state.
	OTPChoice  bool
	OTPEnabled bool
	// Notice is a success message (account.password_changed, ...);
	// Error an error message (account.error.current_password, ...). Both
	// show in the section Section names (one of AccountSections), the
	// form that was sent; with none, at the top.
	Notice     Message
	Error      Message
	Section    string
	Violations []Message // password rules broken (Section "password")
	Rules      []Message
	Devices    []DeviceEntry
	SignIns    []SignInEntry
	// Account names the account for password managers (its account
	// name, or its address), in the password form.
	Account string
	// MFA, when set, is the strong-factor section.
	MFA *MFASection
	// Password is set by RenderAccount.
	Password NewPasswordFields
}

// PasskeyScript reports whether the page loads static/passkey.js.
func (p AccountPage) PasskeyScript() bool { return p.MFA != nil && p.MFA.PasskeysOn }

// KeyWrongCurrentPassword is the account page's error of a wrong current
// password, shown under the field of the form it was typed into.
const KeyWrongCurrentPassword = "account.error.current_password"

// CurrentPasswordError reports whether the password form's current
// password was wrong.
func (p AccountPage) CurrentPasswordError() bool {
	return p.Section == "password" && p.Error.Key == KeyWrongCurrentPassword
}

// SectionAlerts are the messages of one section of the account page.
type SectionAlerts struct {
	Section       string
	Notice, Error Message
}

// Alerts returns the messages that belong in section: none unless the
// form sent was the section's ("" is the top of the page).
func (p AccountPage) Alerts(section string) SectionAlerts {
	if p.Section != section {
		return SectionAlerts{Section: section}
	}
	a := SectionAlerts{Section: section, Notice: p.Notice, Error: p.Error}
	if p.CurrentPasswordError() {
		a.Error = Message{} // said under the field
	}
	return a
}

// MessagePage is a page with a title, a message and a link (the outcome
// of an email verification link).
type MessagePage struct {
	Base
	Message Message
	// Detail, when its Key is set, is a second paragraph (what happens
	// next), and Names a list under it (whom to contact).
	Detail    Message
	Names     []string
	LinkURL   string
	LinkLabel string // catalog key
	// FormAction, when set, adds a form posting FormHidden with a
	// FormLabel (catalog key) button.
	FormAction string
	FormHidden []HiddenField
	FormLabel  string
}

// MFAStepPage is the second-factor step after the password (or at a
// step-up), posted to /login/mfa: the authenticator app's code, a
// recovery code, or (the passkey helper's) a passkey; or the set-up of an
// authenticator app a sign-in requires (Method "enrol"); or, with
// RecoveryCodes, the codes of the app just set up and a Continue link.
type MFAStepPage struct {
	Base
	AuthRequestID string
	Ticket        string
	// Method is the form shown: "totp", "recovery", "passkey", "enrol".
	Method string
	// TOTP, Passkey and Recovery offer the other methods.
	TOTP, Passkey, Recovery bool
	Enrol                   *TOTPEnrol
	// PasskeyEnrol, with Method "enrol", offers registering a passkey
	// instead (posted to /login/mfa, begun at
	// /login/mfa/passkey/enrol/begin).
	PasskeyEnrol  bool
	RecoveryCodes []string
	ContinueURL   string
	Error         Message
}

// PasskeyScript reports whether the page loads static/passkey.js: the
// passkey form ("mfa-passkey") is shown.
func (p MFAStepPage) PasskeyScript() bool {
	return p.RecoveryCodes == nil && (p.Method == "passkey" || p.Method == "enrol" && p.PasskeyEnrol)
}

// RenderMFAStep writes the second-factor step.
func (r *Renderer) RenderMFAStep(w http.ResponseWriter, status int, p MFAStepPage) error {
	title := "mfa_step.title"
	switch {
	case p.RecoveryCodes != nil:
		title = "mfa_enrol.codes_title"
	case p.Method == "enrol":
		title = "mfa_enrol.title"
	}
	p.Base = p.Base.complete(title)
	switch {
	case p.RecoveryCodes != nil:
	case p.Method == "passkey":
		p.LangForm = "mfa-passkey-form"
	default:
		p.LangForm = "mfa-form"
	}
	return r.render(w, status, pageMFAStep, p.Lang, p)
}

// RenderOTP writes the emailed sign-in step.
func (r *Renderer) RenderOTP(w http.ResponseWriter, status int, p OTPPage) error {
	p.Base = p.Base.complete("otp.title")
	p.LangForm = "otp-form"
	return r.render(w, status, pageOTP, p.Lang, p)
}

// RenderChangePassword writes the forced password change.
func (r *Renderer) RenderChangePassword(w http.ResponseWriter, status int, p ChangePasswordPage) error {
	p.Base = p.Base.complete("change.title")
	p.LangForm = "change-form"
	p.Password, p.Error = newPasswordFields(p.Rules, p.Violations, p.Error)
	p.Password.Focus = true
	return r.render(w, status, pageChangePassword, p.Lang, p)
}

// RenderAccount writes the account page.
func (r *Renderer) RenderAccount(w http.ResponseWriter, status int, p AccountPage) error {
	p.Base = p.Base.complete("account.title")
	var violations []Message
	errKey := ""
	if p.Section == "password" {
		violations, errKey = p.Violations, p.Error.Key
	}
	p.Password, _ = newPasswordFields(p.Rules, violations, errKey)
	p.Password.ID, p.Password.ConfirmID = "new-password", "confirm-password"
	if p.Password.Mismatch {
		p.Error = Message{}
	}
	return r.render(w, status, pageAccount, p.Lang, p)
}

// RenderMessage writes a message page; Base.Title defaults to
// "verify.title".
func (r *Renderer) RenderMessage(w http.ResponseWriter, status int, p MessagePage) error {
	p.Base = p.Base.complete("verify.title")
	return r.render(w, status, pageMessage, p.Lang, p)
}

// InvitePage is the invitation page at /invite: the new member chooses a
// password, posted to /invite.
type InvitePage struct {
	Base
	OrganizationName string
	// Email and Username are what the member signs in with, shown
	// read-only (password managers save them with the password).
	Email, Username string
	Error           string    // catalog key, or empty
	Violations      []Message // password rules broken
	Rules           []Message
	// Password is set by RenderInvite.
	Password NewPasswordFields
}

// RenderInvite writes the invitation page.
func (r *Renderer) RenderInvite(w http.ResponseWriter, status int, p InvitePage) error {
	p.Base = p.Base.complete("invite.title")
	p.Password, p.Error = newPasswordFields(p.Rules, p.Violations, p.Error)
	p.Password.Focus = true
	return r.render(w, status, pageInvite, p.Lang, p)
}

// HomePage is the landing page at /: the product's name (branding.name,
// or an organization's override in Base.Brand), the account page and,
// in development, the demo application.
type HomePage struct {
	Base
	// DemoURL, when set, links to the demo application (--dev).
	DemoURL string
}

// RenderHome writes the landing page with status 200.
func (r *Renderer) RenderHome(w http.ResponseWriter, p HomePage) error {
	p.Base = p.Base.complete("home.title")
	return r.render(w, http.StatusOK, pageHome, p.Lang, p)
}
