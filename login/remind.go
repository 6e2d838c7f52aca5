package login

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/localtime"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// SubjectData is what a reminder's subject template may use.
type SubjectData struct {
	Name     string // the user's name (may be empty)
	Email    string
	Product  string // legacy.name
	Deadline string // the window's end as a date in the mail's language, or empty
}

// SubjectTemplates are the operator's subjects for reminders, per
// language ("" for every language without its own).
type SubjectTemplates map[string]*template.Template

// ParseSubjectTemplates reads --subject-template values: "ja=TEMPLATE"
// for one language (a code sekisho's mails come in), or "TEMPLATE" for
// the others. Templates use text/template with the fields of
// SubjectData; each is tried on sample data, so a mistake fails here,
// before any mail is queued.
func ParseSubjectTemplates(specs []string) (SubjectTemplates, error) {
	out := SubjectTemplates{}
	for _, spec := range specs {
		lang, text := "", spec
		if code, rest, ok := strings.Cut(spec, "="); ok && i18n.IsCode(code) {
			lang, text = code, rest
		}
		if _, dup := out[lang]; dup {
			return nil, fmt.Errorf("login: two subject templates for %q", langLabel(lang))
		}
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("login: empty subject template for %s", langLabel(lang))
		}
		t, err := template.New("subject").Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("login: subject template for %s: %w", langLabel(lang), err)
		}
		if err := t.Execute(new(strings.Builder), SubjectData{Name: "n", Email: "e", Product: "p", Deadline: "d"}); err != nil {
			return nil, fmt.Errorf("login: subject template for %s: %w", langLabel(lang), err)
		}
		out[lang] = t
	}
	return out, nil
}

func langLabel(lang string) string {
	if lang == "" {
		return "all languages"
	}
	return lang
}

// render returns the subject for a mail in lang, or "" for the
// template's own.
func (s SubjectTemplates) render(lang string, d SubjectData) (string, error) {
	t, ok := s[lang]
	if !ok {
		if t, ok = s[""]; !ok {
			return "", nil
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// Reminder configures RemindUnmigrated.
type Reminder struct {
	Subjects SubjectTemplates
	// DefaultLang is the language of users without one (en, ja).
	DefaultLang string
	// ClientID and ReturnTo, when set, make the mail's link a product's
	// reset link (afterwards the browser returns to ReturnTo; the caller
	// checks it is registered). Otherwise it ends on the account page.
	ClientID, ReturnTo string
	DryRun             bool
	// Batch is how many users are read and queued per transaction.
	Batch int
	// Progress, when set, is called after each batch with the number of
	// users read so far (queued, skipped or failed).
	Progress func(read int)
}

// RemindResult counts what a run did.
type RemindResult struct {
	Queued   int // mails queued (or that would be, in a dry run)
	Disabled int // users skipped because their account is disabled
	// Failed are users whose mail could not be composed (skipped).
	Failed []string
}

// RemindUnmigrated queues, through the outbox, one reminder to every
// imported user who has not migrated, in their language: each user once
// per run (users are read in id order, one batch after another, each
// batch in one transaction). A user whose mail cannot be composed is
// skipped and listed. The running server sends the mails.
func (f *Flow) RemindUnmigrated(ctx context.Context, r Reminder) (RemindResult, error) {
	var res RemindResult
	if r.Batch <= 0 {
		r.Batch = 500
	}
	after, read := "", 0
	names := &namer{f: f, orgs: map[string]storage.Organization{}}
	for {
		users, err := f.c.Store.ListUnmigrated(ctx, after, r.Batch)
		if err != nil {
			return res, fmt.Errorf("login: list users to remind: %w", err)
		}
		if len(users) == 0 {
			return res, nil
		}
		after, read = users[len(users)-1].ID, read+len(users)
		mails := make([]storage.OutboxMail, 0, len(users))
		for _, u := range users {
			if u.Disabled {
				res.Disabled++
				continue
			}
			name, err := names.of(ctx, u)
			if err != nil {
				return res, err
			}
			loc := localtime.Location("")
			if org, err := names.org(ctx, u); err == nil {
				loc = localtime.Location(org.TimeZone)
			}
			m, err := f.reminder(u, name, loc, r)
			if err != nil {
				f.c.Logger.WarnContext(ctx, "compose reminder", "user_id", u.ID, "err", err)
				res.Failed = append(res.Failed, u.ID)
				continue
			}
			mails = append(mails, m)
		}
		if !r.DryRun && len(mails) > 0 {
			if err := f.c.Store.EnqueueMail(ctx, mails...); err != nil {
				return res, fmt.Errorf("login: queue reminders: %w", err)
			}
		}
		res.Queued += len(mails)
		if r.Progress != nil {
			r.Progress(read)
		}
	}
}

// namer names accounts as the forms do, and finds their time zones,
// reading each organization once.
type namer struct {
	f    *Flow
	orgs map[string]storage.Organization // by id
}

func (n *namer) org(ctx context.Context, u storage.User) (storage.Organization, error) {
	org, ok := n.orgs[u.OrganizationID]
	if !ok {
		var err error
		if org, err = n.f.c.Store.GetOrganization(ctx, u.OrganizationID); err != nil {
			return org, fmt.Errorf("login: load organization: %w", err)
		}
		n.orgs[u.OrganizationID] = org
	}
	return org, nil
}

func (n *namer) of(ctx context.Context, u storage.User) (AccountName, error) {
	if !n.f.HasOrganization() {
		return AccountName{Email: u.Email}, nil
	}
	org, err := n.org(ctx, u)
	if err != nil {
		return AccountName{}, err
	}
	return AccountName{Organization: org.Code, Email: u.Email, Username: u.Username}, nil
}

// reminder composes one user's reminder, with the deadline in the time
// zone loc of the user's organization. Its link fills in the account as
// the reset form asks for it: the organization and, in the account-name
// mode, the account name (when the account has one).
func (f *Flow) reminder(u storage.User, name AccountName, loc *time.Location, r Reminder) (storage.OutboxMail, error) {
	lang := u.Lang
	if lang == "" {
		lang = r.DefaultLang
	}
	lang = i18n.Code(language.Make(lang))
	q := url.Values{"login_hint": {u.Email}}
	if f.HasOrganization() {
		q.Set("organization", name.Organization)
	}
	if f.ByUsername() && name.Username != "" {
		q.Set("login_hint", name.Username)
	}
	if r.ClientID != "" {
		q.Set("client_id", r.ClientID)
		q.Set("return_to", r.ReturnTo)
	}
	q.Set("ui_locales", lang)
	link := strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/reset?" + q.Encode()
	deadline := f.c.Legacy.WindowEnd
	if !deadline.IsZero() {
		deadline = deadline.In(loc)
	}
	subject, err := r.Subjects.render(lang, SubjectData{Name: u.Name, Email: u.Email, Product: f.c.Legacy.Name.In(lang),
		Deadline: formatDate(deadline, lang)})
	if err != nil {
		return storage.OutboxMail{}, fmt.Errorf("login: subject for user %s: %w", u.ID, err)
	}
	return f.c.Mailer.Compose(lang, templates.MailLegacyReminder, mail.Address{Name: u.Name, Email: u.Email},
		&templates.LegacyReminderMail{Subject: subject, LegacyName: f.c.Legacy.Name.In(lang), ResetURL: link, Deadline: deadline})
}

// formatDate writes a date the way a mail in lang does; "" for zero.
func formatDate(t time.Time, lang string) string {
	switch {
	case t.IsZero():
		return ""
	case lang == "ja":
		return t.Format("2006年1月2日")
	}
	return t.Format("January 2, 2006")
}
