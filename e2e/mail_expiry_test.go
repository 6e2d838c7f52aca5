package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// A sign-in code mail that could not be sent before its code expired is
// marked expired and never sent, by any replica, once SMTP is back; a
// mail without expiry (a sign-in notification) still is.
func TestExpiredCodeMailNeverSent(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp, codeAndNotice)
		e.run()
		expiredCodeMail(t, smtp, e)
	})
	t.Run("postgres two replicas", func(t *testing.T) {
		dsn := gormstoretest.PostgresDSN(t)
		smtp := startSMTP(t)
		e := newEnvSMTP(t, openPostgres(t, dsn), smtp, codeAndNotice)
		e2 := e.second(openPostgres(t, dsn))
		e.run()
		e2.run()
		expiredCodeMail(t, smtp, e, e2)
	})
}

// codeAndNotice: client web asks for the emailed code, every sign-in
// sends a notification.
func codeAndNotice(c *config.Config) {
	c.Clients[0].OTP = config.OTPAlways
	c.Notify.Login = "always"
}

// expiredCodeMail runs the outage on e (and its other replicas, whose
// workers run too).
func expiredCodeMail(t *testing.T, smtp *mailtest.Server, e *env, replicas ...*env) {
	t.Helper()
	smtp.Stop()
	// Alice reaches the emailed step: her code mail waits in the outbox.
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	if p := b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass); !p.hasForm("/login/otp") {
		t.Fatalf("no code step: status %d %.300s", p.status, p.body)
	}
	// Bob signs in to web2 (no code step): his notification waits too.
	b2 := e.browser()
	a2 := newAuthz("web2", web2CB, "openid")
	e.code(t, b2.signIn(b2.get(a2.url(e.cfg.Issuer)), e.other.Email, otherPass), a2)

	code := waitMail(t, e.store, e.user.Email, func(m storage.OutboxMail) bool { return m.Attempts >= 1 && m.LastError != "" })
	if code.ExpiresAt == nil || code.Template != "login_code" {
		t.Fatalf("code mail = %+v, want an expiry", code)
	}
	notice := waitMail(t, e.store, e.other.Email, func(m storage.OutboxMail) bool { return m.Attempts >= 1 && m.LastError != "" })
	if notice.ExpiresAt != nil {
		t.Fatalf("notification mail expires at %v, want never", notice.ExpiresAt)
	}

	// The code expires while SMTP is still down; then SMTP comes back.
	e.clock.add(e.cfg.OTP.CodeLifetime.D() + time.Minute)
	smtp.Restart()
	smtp.WaitFor(t, func(m mailtest.Received) bool {
		return mailtest.To(e.other.Email)(m) && strings.Contains(m.Subject, "New sign-in")
	}, waitLimit)
	waitMail(t, e.store, e.other.Email, func(m storage.OutboxMail) bool { return m.Status == storage.DeliveryDelivered })
	got := waitMail(t, e.store, e.user.Email, func(m storage.OutboxMail) bool { return m.Status == storage.DeliveryExpired })
	if got.Body != nil || got.FinishedAt == nil {
		t.Errorf("expired mail = %+v, want finished with its body dropped", got)
	}
	// Expired is final: no worker of any replica claims it again.
	if n := countTo(smtp, e.user.Email, "sign-in code"); n != 0 {
		t.Errorf("%d expired code mails were sent", n)
	}
	// The metric counts the expired mail once, over all replicas.
	var expired float64
	for _, r := range append([]*env{e}, replicas...) {
		expired += metricValue(t, r.ts.URL, `sekisho_mail_deliveries_total{outcome="expired"}`)
	}
	if expired != 1 {
		t.Errorf("sekisho_mail_deliveries_total{outcome=\"expired\"} over the replicas = %v, want 1", expired)
	}
}

// waitMail waits until the one mail to addr in the outbox satisfies ok,
// and returns it.
func waitMail(t *testing.T, st storage.Storage, addr string, ok func(storage.OutboxMail) bool) storage.OutboxMail {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ms, err := st.ListMail(t.Context(), storage.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var mine []storage.OutboxMail
		for _, m := range ms {
			if m.Recipient == addr {
				mine = append(mine, m)
			}
		}
		if len(mine) == 1 && ok(mine[0]) {
			return mine[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox mails to %s: %+v", addr, mine)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricValue reads one sample (name with its labels, as exposed) from a
// server's /metrics; 0 when it is absent.
func metricValue(t *testing.T, base, sample string) float64 {
	t.Helper()
	v, _ := sampleValue(scrape(t, base), sample)
	return v
}
