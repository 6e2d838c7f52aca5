package mail

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// DefaultDevKeep is the number of messages a DevSender keeps when
// NewDevSender gets keep <= 0.
const DefaultDevKeep = 50

// DevMail is one message seen by a DevSender.
type DevMail struct {
	// Time is when Send was called.
	Time time.Time
	// From and To are the envelope sender and recipients.
	From string
	To   []string
	// Subject, Text and HTML are decoded from the message (see Parse). When
	// the message cannot be parsed, Text holds the raw bytes and ParseErr
	// the reason.
	Subject, Text, HTML string
	// ParseErr is the error of Parse, if any.
	ParseErr error
}

// DevSender is the Sender for development without an SMTP server: it logs
// every message, including its text part, and keeps the most recent ones in
// memory for a dev-only page. Logging the text (which holds sign-in codes)
// is the one deliberate exception to "no secrets in logs"; never use a
// DevSender in production. It is safe for concurrent use.
type DevSender struct {
	// Now is the clock that stamps DevMail.Time; nil means time.Now. Set it
	// before the first Send.
	Now func() time.Time

	logger *slog.Logger
	keep   int

	mu     sync.Mutex
	recent []DevMail // oldest first, at most keep
}

// NewDevSender returns a DevSender that logs to logger (nil discards) and
// keeps the last keep messages (DefaultDevKeep when keep <= 0).
func NewDevSender(logger *slog.Logger, keep int) *DevSender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if keep <= 0 {
		keep = DefaultDevKeep
	}
	return &DevSender{logger: logger, keep: keep}
}

// Send parses msg, logs the recipients, subject and text part at info
// level, and stores the message. It fails only when the mail expired
// (withSendCheck): a message that cannot be parsed is stored and logged raw.
func (d *DevSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if err := sendCheck(ctx); err != nil {
		return err
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	m := DevMail{Time: now(), From: from, To: slices.Clone(to)}
	p, err := Parse(msg)
	if err != nil {
		m.Text, m.ParseErr = string(msg), err
		d.logger.WarnContext(ctx, "mail: dev sender got a message it cannot parse (not sent)",
			"to", to, "err", err, "raw", string(msg))
	} else {
		m.Subject, m.Text, m.HTML = p.Subject, p.Text, p.HTML
		d.logger.InfoContext(ctx, "mail: dev mail (not sent)",
			"to", to, "subject", p.Subject, "text", p.Text)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.recent) == d.keep {
		d.recent = slices.Delete(d.recent, 0, 1)
	}
	d.recent = append(d.recent, m)
	return nil
}

// Recent returns the kept messages, newest first. The result is a copy.
func (d *DevSender) Recent() []DevMail {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DevMail, len(d.recent))
	for i, m := range d.recent {
		m.To = slices.Clone(m.To)
		out[len(out)-1-i] = m
	}
	return out
}
