package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/localtime"
)

// Mail templates live in mail/<lang>/: layout.txt and layout.html, and per
// mail <name>.txt, which defines "subject" and "body" (text/template), and
// <name>.html, which defines "content" (html/template, inline styles only,
// no external resource but the deployment's logo, at its absolute URL).
//
//go:embed mail
var mailFiles embed.FS

// Names of the mail templates, for RenderMail.
const (
	// MailLoginCode sends a one-time sign-in code; data LoginCodeMail.
	MailLoginCode = "login_code"
	// MailResetCode sends a password-reset verification code; data
	// ResetCodeMail.
	MailResetCode = "reset_code"
	// MailPasswordChanged tells that the password was changed; data
	// PasswordChangedMail.
	MailPasswordChanged = "password_changed"
	// MailVerifyEmail sends an email-verification link; data VerifyEmailMail.
	MailVerifyEmail = "verify_email"
	// MailEmailChangeNotice tells the old address that the account's address
	// changed; data EmailChangeNoticeMail.
	MailEmailChangeNotice = "email_change_notice"
	// MailLoginNotification tells of a new sign-in; data
	// LoginNotificationMail.
	MailLoginNotification = "login_notification"
	// MailLegacyReminder asks a user of the legacy product who has not
	// migrated to set a unified password; data LegacyReminderMail.
	MailLegacyReminder = "legacy_reminder"
	// MailCodeFailures tells that sign-in codes are refused after too
	// many wrong ones (whoever typed them knew the password); data
	// CodeFailuresMail.
	MailCodeFailures = "code_failures"
	// MailInvitation invites a new member of an organization to choose a
	// password; data InvitationMail.
	MailInvitation = "invitation"
	// MailResetRequest asks a member, for their administrator, to set a
	// new password; data ResetRequestMail.
	MailResetRequest = "reset_request"
	// MailAccountDeleted tells the address of a deleted member; data
	// AccountDeletedMail.
	MailAccountDeleted = "account_deleted"
	// MailUnlock is the identity-confirmation mail of a locked (dormant)
	// account: a link that unlocks it by a sign-in; data UnlockMail.
	MailUnlock = "unlock"
	// MailDormantAlert tells an organization's chosen administrator that
	// a locked account was signed into with its password; data
	// DormantAlertMail.
	MailDormantAlert = "dormant_alert"
	// MailFactorChanged tells that a strong factor (authenticator app,
	// passkey, recovery codes) was added, removed or used; data
	// FactorChangedMail.
	MailFactorChanged = "factor_changed"
)

// Kinds and actions of FactorChangedMail.
const (
	FactorTOTP     = "totp"
	FactorPasskey  = "passkey"
	FactorRecovery = "recovery"
	// FactorAll with FactorReset: an administrator removed every strong
	// factor of the account.
	FactorAll = "all"

	FactorAdded   = "added"
	FactorRemoved = "removed"
	FactorUsed    = "used"    // a recovery code signed in
	FactorRenewed = "renewed" // new recovery codes (the old ones stop working)
	FactorReset   = "reset"   // an administrator's reset (FactorAll)
)

// mailNames are the templates every language must provide.
var mailNames = []string{
	MailLoginCode, MailResetCode, MailPasswordChanged,
	MailVerifyEmail, MailEmailChangeNotice, MailLoginNotification, MailLegacyReminder, MailCodeFailures,
	MailInvitation, MailResetRequest, MailAccountDeleted, MailUnlock, MailDormantAlert,
	MailFactorChanged,
}

// ErrUnknownMail reports a template name RenderMail does not know.
var ErrUnknownMail = errors.New("templates: unknown mail template")

// MailBase holds the fields every mail has. Embed it in the mail data.
type MailBase struct {
	// ProductName is the name shown to users, such as "sekisho"
	// (branding.name in the mail's language).
	ProductName string
	// LogoURL, when set, is the absolute URL of the logo, shown at the
	// top of HTML mails.
	LogoURL string
	// Support, when set, is the contact line at the foot of the mail.
	Support string
	// UserName is the recipient's display name; empty gives a generic
	// greeting.
	UserName string
}

// SetBase sets the common fields (the mail outbox fills them in).
func (b *MailBase) SetBase(x MailBase) { *b = x }

// LoginCodeMail is the data of MailLoginCode.
type LoginCodeMail struct {
	MailBase
	// Code is the one-time code and ValidMinutes its lifetime.
	Code         string
	ValidMinutes int
}

// ResetCodeMail is the data of MailResetCode.
type ResetCodeMail struct {
	MailBase
	// Code is the verification code and ValidMinutes its lifetime.
	Code         string
	ValidMinutes int
}

// FactorChangedMail is the data of MailFactorChanged.
type FactorChangedMail struct {
	MailBase
	// Kind is Factor* (totp, passkey, recovery) and Action what happened
	// (added, removed, used, renewed).
	Kind, Action string
	// Name names the factor (a passkey's name), or empty.
	Name string
	// Time is when, in the organization's time zone; IP the client
	// address.
	Time time.Time
	IP   string
	// Left is how many recovery codes are left (Action used).
	Left int
}

// PasswordChangedMail is the data of MailPasswordChanged.
type PasswordChangedMail struct {
	MailBase
	// Time is when the password changed, printed in its own location
	// (the organization's time zone); IP is the client address of the
	// change.
	Time time.Time
	IP   string
}

// VerifyEmailMail is the data of MailVerifyEmail.
type VerifyEmailMail struct {
	MailBase
	// URL is the absolute https verification link and ValidMinutes its
	// lifetime.
	URL          string
	ValidMinutes int
}

// EmailChangeNoticeMail is the data of MailEmailChangeNotice, sent to the
// old address.
type EmailChangeNoticeMail struct {
	MailBase
	// NewEmailMasked is the new address with most of it hidden, such as
	// "t***@example.com".
	NewEmailMasked string
	// Time is when the address changed, printed in its own location (the
	// organization's time zone).
	Time time.Time
}

// LoginNotificationMail is the data of MailLoginNotification.
type LoginNotificationMail struct {
	MailBase
	// Time is the sign-in time, printed in its own location (the
	// organization's time zone); IP the client address; Browser a short description such as "Firefox on Windows".
	Time    time.Time
	IP      string
	Browser string
}

// LegacyReminderMail is the data of MailLegacyReminder.
type LegacyReminderMail struct {
	MailBase
	// Subject, when set, replaces the template's subject (the
	// operator's, already rendered).
	Subject string
	// LegacyName names the legacy product; ResetURL starts the reset
	// (absolute https); Deadline, when not zero, is the end of the
	// migration window, printed in its own location (the organization's
	// time zone).
	LegacyName string
	ResetURL   string
	Deadline   time.Time
}

// CodeFailuresMail is the data of MailCodeFailures.
type CodeFailuresMail struct {
	MailBase
	// Failures is how many wrong codes were entered within the hour; Time
	// and IP are those of the last one; Until is when codes are accepted
	// again. Times are printed in their own location.
	Failures int
	Time     time.Time
	IP       string
	Until    time.Time
}

// InvitationMail is the data of MailInvitation.
type InvitationMail struct {
	MailBase
	OrganizationName string
	// Username is the account name the member signs in with (the
	// organization+username mode), or empty.
	Username string
	// URL is the absolute invitation link; it works until Expires
	// (printed in its own location: the organization's time zone),
	// ValidHours after it was sent.
	URL        string
	Expires    time.Time
	ValidHours int
}

// ResetRequestMail is the data of MailResetRequest.
type ResetRequestMail struct {
	MailBase
	OrganizationName string
	// URL starts the password reset by emailed code (absolute).
	URL string
}

// AccountDeletedMail is the data of MailAccountDeleted.
type AccountDeletedMail struct {
	MailBase
	OrganizationName string
	// Time is when the account was deleted, printed in its own location
	// (the organization's time zone).
	Time time.Time
}

// UnlockMail is the data of MailUnlock.
type UnlockMail struct {
	MailBase
	// URL is the absolute unlock link; it works until Expires (printed
	// in its own location: the organization's time zone), ValidHours
	// after it was sent.
	URL        string
	Expires    time.Time
	ValidHours int
}

// DormantAlertMail is the data of MailDormantAlert.
type DormantAlertMail struct {
	MailBase
	OrganizationName string
	// MemberName and Account (address or account name) name the locked
	// member.
	MemberName string
	Account    string
	// Time is the attempt's time in the organization's time zone; IP its
	// client address.
	Time time.Time
	IP   string
	// Device is "pc", "smartphone" or "tablet" (from the User-Agent).
	Device string
	// URL is the member's page in the console (absolute).
	URL string
}

// mailSet is one mail template parsed for one language.
type mailSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// mailTemplates parses every mail template once; the result never changes.
var mailTemplates = sync.OnceValues(parseMailTemplates)

// parseMailTemplates parses every mail of every supported language and
// checks that each defines the required templates.
func parseMailTemplates() (map[string]map[string]mailSet, error) {
	sets := make(map[string]map[string]mailSet)
	for _, tag := range i18n.Supported() {
		code := i18n.Code(tag)
		dir := "mail/" + code + "/"
		sets[code] = make(map[string]mailSet, len(mailNames))
		// datetime prints a time as the pages do (localtime.Format).
		datetime := func(t time.Time) string { return localtime.Format(code, t) }
		for _, name := range mailNames {
			text, err := texttemplate.New(name).Funcs(texttemplate.FuncMap{"datetime": datetime}).ParseFS(mailFiles, dir+"layout.txt", dir+name+".txt")
			if err != nil {
				return nil, fmt.Errorf("templates: parse mail %s/%s: %w", code, name, err)
			}
			html, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap{"datetime": datetime}).ParseFS(mailFiles, dir+"layout.html", dir+name+".html")
			if err != nil {
				return nil, fmt.Errorf("templates: parse mail %s/%s: %w", code, name, err)
			}
			for _, t := range []string{"layout", "subject", "body"} {
				if text.Lookup(t) == nil {
					return nil, fmt.Errorf("templates: mail %s/%s.txt: template %q is not defined", code, name, t)
				}
			}
			for _, t := range []string{"layout", "content"} {
				if html.Lookup(t) == nil {
					return nil, fmt.Errorf("templates: mail %s/%s.html: template %q is not defined", code, name, t)
				}
			}
			sets[code][name] = mailSet{text: text, html: html}
		}
	}
	return sets, nil
}

// CheckMail parses every mail template and reports the first problem. Call
// it at start-up so that a broken template fails there, not at the first
// mail.
func CheckMail() error {
	_, err := mailTemplates()
	return err
}

// MailNames returns the names of the mail templates.
func MailNames() []string {
	return append([]string(nil), mailNames...)
}

// RenderMail renders mail name in language lang (a BCP 47 tag such as "ja"
// or "en-US"; anything that is not Japanese, including "", renders in
// English) with data, which must be the name's data struct (see the Mail*
// constants). It returns the subject on one line with runs of white space
// collapsed, the plain-text body and the HTML body. An unknown name gives
// ErrUnknownMail. User input in data is HTML-escaped in the HTML body.
func RenderMail(lang, name string, data any) (subject, text, html string, err error) {
	sets, err := mailTemplates()
	if err != nil {
		return "", "", "", err
	}
	code := i18n.Code(language.Make(lang))
	set, ok := sets[code][name]
	if !ok {
		return "", "", "", fmt.Errorf("%w: %q", ErrUnknownMail, name)
	}
	var b bytes.Buffer
	if err := set.text.ExecuteTemplate(&b, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("templates: render mail %s subject: %w", name, err)
	}
	subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := set.text.ExecuteTemplate(&b, "layout", data); err != nil {
		return "", "", "", fmt.Errorf("templates: render mail %s text: %w", name, err)
	}
	text = b.String()
	b.Reset()
	if err := set.html.ExecuteTemplate(&b, "layout", data); err != nil {
		return "", "", "", fmt.Errorf("templates: render mail %s html: %w", name, err)
	}
	html = b.String()
	return subject, text, html, nil
}
