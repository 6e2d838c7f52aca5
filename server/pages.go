package server

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/templates"
)

// pages renders the templates in the language of the request: ?lang= or,
// on a POST, the form's lang (the language switch of a step's page; both
// remembered in a cookie), then the auth request's ui_locales, then the
// cookie, then Accept-Language, else ui.default_language.
type pages struct {
	r      *templates.Renderer
	secure bool
	log    *slog.Logger
	// labels are the configured labels of the organization and account
	// name fields (login.labels).
	labels config.LoginLabels
	// fallback is ui.default_language: the language when the request
	// names none we have.
	fallback language.Tag
	// orgs gives the brand of the organization a page is tied to (nil:
	// the deployment's brand everywhere).
	orgs orgStore
}

const langCookie = "lang"

func (p *pages) lang(w http.ResponseWriter, r *http.Request, uiLocales []string) language.Tag {
	q := r.URL.Query().Get("lang")
	if q == "" && r.Method == http.MethodPost {
		q = r.PostFormValue("lang")
	}
	if q == "en" || q == "ja" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
		return i18n.Negotiate([]string{q}, "", "", p.fallback)
	}
	if len(uiLocales) == 0 {
		if v := r.FormValue("ui_locales"); v != "" {
			uiLocales = strings.Fields(v)
		}
	}
	cookie := ""
	if c, err := r.Cookie(langCookie); err == nil {
		cookie = c.Value
	}
	return i18n.Negotiate(uiLocales, cookie, r.Header.Get("Accept-Language"), p.fallback)
}

// Base is the frame of a page in the request's language (the console's).
func (p *pages) Base(w http.ResponseWriter, r *http.Request) templates.Base { return p.base(w, r, nil) }

func (p *pages) base(w http.ResponseWriter, r *http.Request, uiLocales []string) templates.Base {
	return templates.Base{Lang: p.lang(w, r, uiLocales), CurrentURL: r.URL}
}

func (p *pages) logErr(r *http.Request, err error) {
	if err != nil {
		p.log.ErrorContext(r.Context(), "render page", "err", err)
	}
}

func (p *pages) Login(w http.ResponseWriter, r *http.Request, status int, v login.LoginView) {
	// The language switch posts the form again (templates.Base.LangForm).
	b := p.base(w, r, v.UILocales)
	if v.Account.OrganizationLocked {
		b.Brand = p.orgBrandByCode(r.Context(), v.Account.Organization, i18n.Code(b.Lang))
	}
	fields := p.accountFields(b, v.Account)
	fields.Webauthn = v.Passkey && !v.LegacyForm && !v.LegacyReset
	p.logErr(r, p.r.RenderLogin(w, status, templates.LoginPage{Base: b, AuthRequestID: v.AuthRequestID,
		Account: fields, ClientName: v.ClientName.In(i18n.Code(b.Lang)), Error: v.ErrorKey, ForgotURL: v.ForgotURL, Notice: v.NoticeKey,
		LegacyName: v.LegacyName.In(i18n.Code(b.Lang)), LegacyReset: v.LegacyReset, LegacyForm: v.LegacyForm, LegacyURL: v.LegacyURL,
		LegacyDeadline: v.LegacyDeadline, OtherAccountURL: v.OtherAccountURL, Passkey: v.Passkey}))
}

// accountFields are the account fields of a form in the page's language.
func (p *pages) accountFields(b templates.Base, a login.AccountForm) templates.AccountFields {
	lang := i18n.Code(b.Lang)
	f := templates.AccountFields{Email: a.Email}
	if a.Mode != login.IdentifyEmail {
		f.OrganizationLabel, f.Organization, f.OrganizationLocked = p.labels.Organization.In(lang), a.Organization, a.OrganizationLocked
	}
	if a.Mode == login.IdentifyOrgUsername {
		f.UsernameLabel, f.Username, f.Email = p.labels.Username.In(lang), a.Username, ""
	}
	return f
}

// Lang is the language of pages and mails for r.
func (p *pages) Lang(w http.ResponseWriter, r *http.Request, uiLocales []string) string {
	return i18n.Code(p.lang(w, r, uiLocales))
}

func (p *pages) Forgot(w http.ResponseWriter, r *http.Request, status int, v login.ForgotView) {
	b := p.base(w, r, v.UILocales)
	b.CurrentURL = &url.URL{Path: "/reset", RawQuery: url.Values{"id": {v.AuthRequestID}}.Encode()}
	p.logErr(r, p.r.RenderForgot(w, status, templates.ForgotPage{Base: b, AuthRequestID: v.AuthRequestID,
		Account: p.accountFields(b, v.Account), Error: v.ErrorKey}))
}

func (p *pages) Reset(w http.ResponseWriter, r *http.Request, status int, v login.ResetView) {
	b := p.base(w, r, v.UILocales)
	b.CurrentURL = &url.URL{Path: "/reset", RawQuery: url.Values{"id": {v.AuthRequestID}}.Encode()}
	p.logErr(r, p.r.RenderReset(w, status, templates.ResetPage{Base: b, AuthRequestID: v.AuthRequestID, Ticket: v.Ticket,
		ByUsername: v.Mode == login.IdentifyOrgUsername, ValidMinutes: v.ValidMinutes, Code: v.Code,
		Error: v.ErrorKey, Violations: messages(v.Violations), Rules: messages(v.Rules), Account: v.Account}))
}

// messages turns password rules into catalog messages.
func messages(rules []password.Rule) []templates.Message {
	out := make([]templates.Message, len(rules))
	for i, r := range rules {
		out[i] = templates.Message{Key: r.Key, Args: r.Args}
	}
	return out
}

// Error renders an error page (it serves login.Pages and op.ErrorPages).
func (p *pages) Error(w http.ResponseWriter, r *http.Request, status int, key, backURL string) {
	p.logErr(r, p.r.RenderError(w, status, templates.ErrorPage{Base: p.base(w, r, nil), Message: key, BackURL: backURL}))
}

// RenderError serves op.ErrorPages.
func (p *pages) RenderError(w http.ResponseWriter, r *http.Request, status int, key, backURL string) {
	p.Error(w, r, status, key, backURL)
}

// Expired explains a sign-in request that cannot go on and offers the
// application's sign-in start (a URI registered for it).
func (p *pages) Expired(w http.ResponseWriter, r *http.Request, status int, v login.ExpiredView) {
	page := templates.ErrorPage{Base: p.base(w, r, v.UILocales), Message: "error.expired"}
	client := v.ClientName.In(i18n.Code(page.Lang))
	page.Title = "error.expired.title"
	if v.Finished {
		page.Title, page.Message = "error.finished.title", "error.finished"
	}
	if v.Unknown {
		page.Title, page.Message, page.BackURL, page.BackLabel = "error.unknown_request.title", "error.unknown_request", "/", "error.home"
	} else if v.RestartURL != "" {
		page.BackURL, page.BackLabel, page.ClientName = v.RestartURL, "error.restart", client
		if client != "" {
			page.BackLabel = "error.restart_at"
		}
	}
	p.logErr(r, p.r.RenderError(w, status, page))
}

func (p *pages) LogoutConfirm(w http.ResponseWriter, r *http.Request, v login.LogoutView) {
	hidden := make([]templates.HiddenField, 0, len(v.Params))
	for _, pr := range v.Params {
		hidden = append(hidden, templates.HiddenField{Name: pr.Name, Value: pr.Value})
	}
	b := p.base(w, r, nil)
	page := templates.LogoutConfirmPage{Base: b, Hidden: hidden, CancelURL: v.CancelURL, Applications: textsIn(v.Applications, b),
		Account: v.Account.Email}
	if v.Account.Username != "" {
		page.Account = v.Account.Username
	}
	if v.Account.Organization != "" {
		page.OrganizationLabel, page.Organization = p.labels.Organization.In(i18n.Code(b.Lang)), v.Account.Organization
	}
	p.logErr(r, p.r.RenderLogoutConfirm(w, page))
}

// SignedOut renders the page after a sign-out. With front-channel frames,
// this page alone may run our script and frame the clients' logout URLs;
// frame-ancestors stays 'none'.
func (p *pages) SignedOut(w http.ResponseWriter, r *http.Request, v login.SignedOutView) {
	if len(v.Frames) > 0 {
		h := w.Header()
		h.Set("Content-Security-Policy", h.Get("Content-Security-Policy")+"; script-src 'self'; frame-src "+
			strings.Join(origins(v.Frames), " "))
	}
	b := p.base(w, r, nil)
	p.logErr(r, p.r.RenderSignedOut(w, templates.SignedOutPage{Base: b, BackURL: v.BackURL,
		ClientName: v.ClientName.In(i18n.Code(b.Lang)), Frames: v.Frames, ContinueURL: v.ContinueURL}))
}

// origins returns the distinct CSP sources of the URLs, in order:
// scheme://host, or scheme: for URLs without a host (native apps).
func origins(urls []string) []string {
	var out []string
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			continue
		}
		o := pu.Scheme + ":"
		if pu.Host != "" {
			o = pu.Scheme + "://" + pu.Host
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

func (p *pages) OTP(w http.ResponseWriter, r *http.Request, status int, v login.OTPView) {
	p.logErr(r, p.r.RenderOTP(w, status, templates.OTPPage{Base: p.base(w, r, v.UILocales),
		AuthRequestID: v.AuthRequestID, Ticket: v.Ticket, MaskedEmail: v.MaskedEmail, ValidMinutes: v.ValidMinutes, Code: v.Code,
		Error: message(v.Error), Resent: v.Resent, ResendIn: v.ResendSeconds()}))
}

func (p *pages) MFAStep(w http.ResponseWriter, r *http.Request, status int, v login.MFAStepView) {
	page := templates.MFAStepPage{Base: p.base(w, r, v.UILocales), AuthRequestID: v.AuthRequestID, Ticket: v.Ticket,
		Method: v.Method, TOTP: v.TOTP, Passkey: v.Passkey, PasskeyEnrol: v.PasskeyEnrol, Recovery: v.Recovery, RecoveryCodes: v.RecoveryCodes,
		ContinueURL: v.ContinueURL, Error: message(v.Error)}
	if e := v.Enrol; e != nil {
		page.Enrol = &templates.TOTPEnrol{QR: template.URL(e.QR), Secret: e.Secret, URI: template.URL(e.URI)}
	}
	p.logErr(r, p.r.RenderMFAStep(w, status, page))
}

func (p *pages) ChangePassword(w http.ResponseWriter, r *http.Request, status int, v login.ChangeView) {
	p.logErr(r, p.r.RenderChangePassword(w, status, templates.ChangePasswordPage{Base: p.base(w, r, v.UILocales),
		AuthRequestID: v.AuthRequestID, Ticket: v.Ticket, Error: v.ErrorKey, Violations: messages(v.Violations), Rules: messages(v.Rules),
		Account: v.Account}))
}

func (p *pages) Account(w http.ResponseWriter, r *http.Request, status int, v login.AccountView) {
	b := p.base(w, r, nil)
	b.CurrentURL = &url.URL{Path: "/account", RawQuery: v.Return.Encode()}
	zone := v.Zone
	if zone == nil {
		zone = time.UTC
	}
	signIns := make([]templates.SignInEntry, len(v.SignIns))
	for i, e := range v.SignIns {
		signIns[i] = templates.SignInEntry{Time: e.Time.In(zone), IP: e.IP, Browser: e.Detail, Client: e.ClientName.In(i18n.Code(b.Lang))}
	}
	devices := make([]templates.DeviceEntry, len(v.Devices))
	for i, d := range v.Devices {
		devices[i] = templates.DeviceEntry{ID: d.ID, Browser: d.Browser, IP: d.IP, SignedIn: d.AuthTime.In(zone),
			LastActive: d.LastSeenAt.In(zone), Apps: textsIn(d.Apps, b), Current: d.Current}
	}
	page := templates.AccountPage{Base: b, Name: v.User.Name, Email: v.User.Email,
		EmailVerified: v.User.EmailVerified, OTPChoice: v.OTPChoice, OTPEnabled: v.User.OTPEnabled,
		Notice: message(v.Notice), Error: message(v.Error), Section: v.Section,
		Violations: messages(v.Violations), Rules: messages(v.Rules), Devices: devices, SignIns: signIns, Account: v.Account,
		BackURL: v.Back.URL, BackName: v.Back.Name.In(i18n.Code(b.Lang))}
	if len(v.Return) > 0 {
		page.BackQuery = "?" + v.Return.Encode()
	}
	if m := v.MFA; m != nil {
		page.MFA = &templates.MFASection{TOTP: m.Factors.TOTP != nil, Strong: m.Factors.Strong(), RecoveryLeft: m.Factors.RecoveryCodes,
			NewCodes: m.NewCodes, ConfirmRemoval: m.ConfirmRemoval}
		if t := m.Factors.TOTP; t != nil && t.LastUsedAt != nil {
			page.MFA.TOTPLastUsed = t.LastUsedAt.In(zone)
		}
		page.MFA.PasskeysOn, page.MFA.ConfirmPasskey = m.PasskeysOn, m.ConfirmPasskey
		for _, pk := range m.Passkeys {
			e := templates.PasskeyEntry{ID: pk.ID, Name: pk.Name, Created: pk.CreatedAt.In(zone), Synced: pk.BackupEligible}
			if pk.LastUsedAt != nil {
				e.LastUsed = pk.LastUsedAt.In(zone)
			}
			page.MFA.Passkeys = append(page.MFA.Passkeys, e)
		}
		if e := m.Enrol; e != nil {
			page.MFA.Enrol = &templates.TOTPEnrol{QR: template.URL(e.QR), Secret: e.Secret, URI: template.URL(e.URI)}
		}
	}
	lang := i18n.Code(b.Lang)
	if v.Organization.ID != "" {
		page.Base.Brand = orgBrand(v.Organization, lang)
		page.OrganizationLabel, page.Organization = p.labels.Organization.In(lang), v.Organization.Name+" ("+v.Organization.Code+")"
	}
	if v.User.Username != "" {
		page.UsernameLabel, page.Username = p.labels.Username.In(lang), v.User.Username
	}
	p.logErr(r, p.r.RenderAccount(w, status, page))
}

func (p *pages) Message(w http.ResponseWriter, r *http.Request, status int, v login.MessageView) {
	b := p.base(w, r, v.UILocales)
	b.Title = v.TitleKey
	hidden := make([]templates.HiddenField, len(v.FormHidden))
	for i, f := range v.FormHidden {
		hidden[i] = templates.HiddenField{Name: f[0], Value: f[1]}
	}
	p.logErr(r, p.r.RenderMessage(w, status, templates.MessagePage{Base: b, Message: message(v.Message),
		Detail: message(v.Detail), Names: v.Names,
		LinkURL: v.LinkURL, LinkLabel: v.LinkLabel, FormAction: v.FormAction, FormHidden: hidden, FormLabel: v.FormLabel}))
}

func message(m login.Msg) templates.Message { return templates.Message{Key: m.Key, Args: m.Args} }

func (p *pages) Invite(w http.ResponseWriter, r *http.Request, status int, v login.InviteView) {
	b := p.base(w, r, nil)
	b.CurrentURL = &url.URL{Path: "/invite"}
	p.logErr(r, p.r.RenderInvite(w, status, templates.InvitePage{Base: b, OrganizationName: v.OrganizationName,
		Email: v.Email, Username: v.Username, Error: v.ErrorKey, Violations: messages(v.Violations), Rules: messages(v.Rules)}))
}

// home serves the landing page at /: the product's name, the account
// page and, in development, the demo application.
func (p *pages) home(dev bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page := templates.HomePage{Base: p.base(w, r, nil)}
		page.CurrentURL = &url.URL{Path: "/"}
		if dev {
			page.DemoURL = demoPrefix
		}
		p.logErr(r, p.r.RenderHome(w, page))
	}
}

// textsIn are names given in each language, in the page's.
func textsIn(ts []i18n.Text, b templates.Base) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(i18n.Code(b.Lang))
	}
	return out
}
