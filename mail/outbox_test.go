package mail_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
	"github.com/sekisho/sekisho/templates"
)

// slowDial is an SMTP sender whose connection takes a while: the clock
// moves by wait before the real sender opens its connection.
type slowDial struct {
	mail.Sender
	clock *testClock
	wait  time.Duration
}

func (s slowDial) Send(ctx context.Context, from string, to []string, msg []byte) error {
	s.clock.add(s.wait)
	return s.Sender.Send(ctx, from, to, msg)
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestOutboxExpiresWhileConnecting: a code mail claimed before its code
// expired, whose SMTP connection took until after, is not handed to the
// server; it is finished as expired (counted once), never as failed. A
// connection that ends before the expiry delivers it.
func TestOutboxExpiresWhileConnecting(t *testing.T) {
	tests := []struct {
		name       string
		wait       time.Duration
		wantStatus string
		wantSent   int
	}{
		{"connected in time", 4 * time.Minute, storage.DeliveryDelivered, 1},
		{"connected after the expiry", 6 * time.Minute, storage.DeliveryExpired, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := gormstoretest.NewSQLite(t)
			srv := mailtest.Start(t, mailtest.Options{})
			logger, logs := newLogger(t)
			keys, err := secret.Parse(base64.StdEncoding.EncodeToString(make([]byte, secret.MinSecretBytes)))
			if err != nil {
				t.Fatal(err)
			}
			clock := &testClock{now: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
			var mu sync.Mutex
			outcomes := map[string]int{}
			o := mail.NewOutbox(mail.OutboxConfig{
				Store: st, Sealer: keys, From: mail.Address{Email: "login@example.com"}, Product: i18n.Plain("sekisho"),
				Sender:   slowDial{Sender: mail.NewSMTPSender(srv.SenderConfig(), logger), clock: clock, wait: tt.wait},
				Parallel: 1, RetryDelay: time.Second, MaxAttempts: 5, Timeout: 10 * time.Second, Poll: time.Hour,
				Now: clock.Now, Logger: logger,
				Outcome: func(s string) { mu.Lock(); outcomes[s]++; mu.Unlock() },
			})
			const rcpt = "kei@example.com"
			m, err := o.Compose("en", templates.MailLoginCode, mail.Address{Email: rcpt}, &templates.LoginCodeMail{Code: "123456"})
			if err != nil {
				t.Fatal(err)
			}
			expires := clock.Now().Add(5 * time.Minute)
			m.ExpiresAt = &expires
			if err := st.EnqueueMail(t.Context(), m); err != nil {
				t.Fatal(err)
			}

			o.SendNow(t.Context(), m.ID)
			got := waitFinished(t, st, m.ID)
			if got.Status != tt.wantStatus || got.Body != nil || got.FinishedAt == nil {
				t.Errorf("mail = %s, body kept %v, finished %v; want %s, finished with its body dropped", got.Status, got.Body != nil, got.FinishedAt, tt.wantStatus)
			}
			if n := len(srv.Messages()); n != tt.wantSent {
				t.Errorf("server received %d messages, want %d", n, tt.wantSent)
			}
			if strings.Contains(logs.String(), "delivery failed") {
				t.Errorf("an expiry logged as a failed delivery:\n%s", logs)
			}
			mu.Lock()
			defer mu.Unlock()
			if outcomes[tt.wantStatus] != 1 || outcomes["failed"] != 0 {
				t.Errorf("outcomes = %v, want one %s and no failure", outcomes, tt.wantStatus)
			}
		})
	}
}

// waitFinished waits until the mail is no longer pending, and returns it.
func waitFinished(t *testing.T, st storage.Storage, id string) storage.OutboxMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := st.GetMail(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != storage.DeliveryPending || time.Now().After(deadline) {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
}
