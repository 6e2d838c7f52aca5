package mail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/outbox"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Store is what the outbox needs from storage.
type Store interface {
	EnqueueMail(ctx context.Context, ms ...storage.OutboxMail) error
	ClaimMail(ctx context.Context, c storage.DeliveryClaim) ([]storage.OutboxMail, error)
	FinishMail(ctx context.Context, id string, o storage.DeliveryOutcome) error
	ExpireMail(ctx context.Context, now time.Time) (int, error)
}

// Sealer encrypts outbox bodies at rest (secret.Keys).
type Sealer interface {
	SealOutbox(plaintext []byte) ([]byte, error)
	OpenOutbox(ciphertext []byte) ([]byte, error)
}

// OutboxConfig configures NewOutbox.
type OutboxConfig struct {
	Store  Store
	Sender Sender
	Sealer Sealer
	From   Address
	// Product is the product's name (branding.name) and Support the
	// contact line (branding.support), in each language; LogoURL, when
	// set, is the absolute URL of the logo for HTML mails.
	Product i18n.Text
	Support i18n.Text
	LogoURL string
	// DefaultLang ("ja", "en"; ui.default_language) is the language of a
	// mail composed with no language or one we have no catalog for (an
	// account without a language of its own). Empty: English.
	DefaultLang string
	Parallel    int
	RetryDelay  time.Duration
	MaxAttempts int
	Timeout     time.Duration // one SMTP delivery
	Poll        time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
	Outcome     func(outcome string)
}

// Outbox composes mails into the outbox table and delivers them from it.
type Outbox struct {
	c     OutboxConfig
	queue *outbox.Queue[storage.OutboxMail]
}

// NewOutbox returns the mail outbox.
func NewOutbox(c OutboxConfig) *Outbox {
	if c.Now == nil {
		c.Now = time.Now
	}
	o := &Outbox{c: c}
	o.queue = outbox.New(outbox.Config[storage.OutboxMail]{
		Name: "mail", Claim: c.Store.ClaimMail, Send: o.send, Finish: c.Store.FinishMail, Expire: c.Store.ExpireMail,
		ID:       func(m storage.OutboxMail) string { return m.ID },
		Attempts: func(m storage.OutboxMail) int { return m.Attempts },
		Parallel: c.Parallel, RetryDelay: c.RetryDelay, MaxAttempts: c.MaxAttempts, AttemptTimeout: c.Timeout,
		Now: c.Now, Logger: c.Logger, Outcome: c.Outcome,
	})
	return o
}

// Compose renders the named mail in lang (else DefaultLang) for to, composes and seals it,
// and returns the outbox row to write with the change that needs it.
// data is one of the templates.*Mail types; its MailBase is filled in.
func (o *Outbox) Compose(lang, name string, to Address, data any) (storage.OutboxMail, error) {
	lang = i18n.CodeOr(lang, cmp.Or(o.c.DefaultLang, "en"))
	if b, ok := data.(interface{ SetBase(templates.MailBase) }); ok {
		b.SetBase(templates.MailBase{ProductName: o.c.Product.In(lang), Support: o.c.Support.In(lang),
			LogoURL: o.c.LogoURL, UserName: to.Name})
	}
	subject, text, html, err := templates.RenderMail(lang, name, data)
	if err != nil {
		return storage.OutboxMail{}, fmt.Errorf("mail: render %s: %w", name, err)
	}
	now := o.c.Now().UTC()
	raw, err := Message{From: o.c.From, To: to, Subject: subject, Text: text, HTML: html, Date: now}.Bytes()
	if err != nil {
		return storage.OutboxMail{}, fmt.Errorf("mail: compose %s: %w", name, err)
	}
	sealed, err := o.c.Sealer.SealOutbox(raw)
	if err != nil {
		return storage.OutboxMail{}, fmt.Errorf("mail: seal: %w", err)
	}
	return storage.OutboxMail{ID: uuid.NewString(), Recipient: to.Email, Subject: subject, Template: name,
		Body: sealed, WorkState: storage.WorkState{CreatedAt: now}}, nil
}

// Enqueue composes a mail and writes it on its own (notifications).
func (o *Outbox) Enqueue(ctx context.Context, lang, name string, to Address, data any) (string, error) {
	m, err := o.Compose(lang, name, to, data)
	if err != nil {
		return "", err
	}
	if err := o.c.Store.EnqueueMail(ctx, m); err != nil {
		return "", fmt.Errorf("mail: enqueue: %w", err)
	}
	return m.ID, nil
}

// SendNow tries the named mails at once, without waiting for them: a
// user waiting for a code should not wait for the next poll. Whatever
// fails stays in the outbox and is retried.
func (o *Outbox) SendNow(ctx context.Context, ids ...string) {
	o.queue.DeliverNow(ctx, ids, 0)
}

// Run delivers due mails every poll interval until ctx ends, then waits
// for deliveries in flight.
func (o *Outbox) Run(ctx context.Context) { o.queue.Run(ctx, o.c.Poll) }

// send opens a claimed mail and hands it to the transport. Permanent
// refusals are final; everything else (4xx, network, configuration the
// operator can fix) is retried.
func (o *Outbox) send(ctx context.Context, m storage.OutboxMail) error {
	if m.Body == nil {
		return outbox.Final(errors.New("no body to send"))
	}
	raw, err := o.c.Sealer.OpenOutbox(m.Body)
	if err != nil {
		return outbox.Final(fmt.Errorf("open sealed body: %w", err))
	}
	if m.ExpiresAt != nil {
		expires := *m.ExpiresAt
		ctx = withSendCheck(ctx, func() error {
			if !o.c.Now().Before(expires) {
				return outbox.ErrExpired
			}
			return nil
		})
	}
	err = o.c.Sender.Send(ctx, o.c.From.Email, []string{m.Recipient}, raw)
	switch {
	case errors.Is(err, outbox.ErrExpired):
		return err
	case err != nil && IsPermanent(err):
		return outbox.Final(err)
	}
	return err
}

type sendCheckKey struct{}

// withSendCheck returns ctx carrying check, which a Sender calls as late
// as it can before it hands the message over (SMTPSender: once the server
// has greeted it, before MAIL FROM) and which stops the send with check's
// error: a code mail whose code expired while the connection was being
// opened is never sent.
func withSendCheck(ctx context.Context, check func() error) context.Context {
	return context.WithValue(ctx, sendCheckKey{}, check)
}

// sendCheck runs the check withSendCheck put in ctx, if any.
func sendCheck(ctx context.Context) error {
	if check, ok := ctx.Value(sendCheckKey{}).(func() error); ok {
		return check()
	}
	return nil
}
