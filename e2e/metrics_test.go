package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// scrape reads /metrics at base.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s/metrics: %d %s", base, resp.StatusCode, body)
	}
	return string(body)
}

// sampleValue is the value of one sample in a scrape, written as
// /metrics writes it (name, then labels sorted by name).
func sampleValue(body, series string) (float64, bool) {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// TestOperatorMetrics: the operators' listener (metrics.listen) shows how
// each sign-in step ended, the mail and logout-delivery queues as the
// database holds them (depth and the oldest pending one's age), and the
// connection pool's figures, on both databases.
func TestOperatorMetrics(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		// bc-b's back-channel endpoint answers 503 to every attempt.
		rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 1000)
		store := newStore(t)
		// No SMTP and no workers: mails wait in the outbox, the failed
		// delivery waits for its retry.
		e := newEnv(t, store, logoutClients(rpA, rpB, "http://127.0.0.1:9/fc-c/logout"), func(c *config.Config) {
			c.Metrics.Listen = "127.0.0.1:9464"
			c.Clients[1].OTP = config.OTPAlways // web2 asks for the emailed code
		})
		operator := httptest.NewServer(e.srv.OperatorHandler())
		t.Cleanup(operator.Close)
		if p := e.browser().get(e.cfg.Issuer + "/metrics"); p.status != http.StatusNotFound {
			t.Errorf("public /metrics with metrics.listen: %d, want 404", p.status)
		}

		// A wrong password, then a sign-in to bc-b and its sign-out: the
		// delivery to bc-b fails and stays pending.
		b := e.browser()
		if p := b.signIn(b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), e.user.Email, "Wrong-password-1!"); !p.hasLoginForm() {
			t.Fatalf("wrong password: status %d without the form", p.status)
		}
		toks := e.signInApps(t, b, e.user.Email, userPass, "bc-b")
		if p := b.get(e.cfg.Issuer + "/end_session?" + url.Values{"id_token_hint": {toks["bc-b"].IDToken}}.Encode()); p.status != http.StatusOK {
			t.Fatalf("sign-out: status %d", p.status)
		}
		// web2's emailed code (queued), a wrong code; a reset code
		// (queued), a wrong one.
		b2 := e.browser()
		otp := b2.signIn(b2.get(newAuthz("web2", web2CB, "openid").url(e.cfg.Issuer)), e.user.Email, userPass)
		if !otp.hasForm("/login/otp") {
			t.Fatalf("no code step: status %d: %.300s", otp.status, otp.body)
		}
		b2.submitOTP(t, otp, "000000")
		b3 := e.browser()
		reset := b3.forgot(t, newAuthz("web", webCB, "openid"), e.other.Email)
		if !reset.hasForm("/reset/verify") {
			t.Fatalf("no reset code form: status %d", reset.status)
		}
		b3.submitReset(t, reset, "000000", "New-password-9!", "New-password-9!")
		e.clock.add(2 * time.Minute)

		body := scrape(t, operator.URL)
		driver := store.(*gormstore.Store).Driver()
		pool := map[string]float64{gormstore.DriverSQLite: 1, gormstore.DriverPostgres: 8}[driver]
		for _, tc := range []struct {
			series   string
			min, max float64
		}{
			{`sekisho_signin_steps_total{outcome="failure",step="password"}`, 1, 1},
			{`sekisho_signin_steps_total{outcome="success",step="password"}`, 2, 2},
			{`sekisho_signin_steps_total{outcome="failure",step="code"}`, 1, 1},
			{`sekisho_signin_steps_total{outcome="failure",step="reset"}`, 1, 1},
			{`sekisho_logins_total{outcome="success"}`, 2, 2},
			{`sekisho_logins_total{outcome="failure"}`, 1, 1},
			// The code and the reset code (and nothing sent).
			{`sekisho_mail_outbox{status="pending"}`, 2, 2},
			{`sekisho_mail_outbox{status="delivered"}`, 0, 0},
			{`sekisho_mail_outbox_oldest_pending_seconds`, 120, 170},
			{`sekisho_logout_deliveries{status="pending"}`, 1, 1},
			{`sekisho_logout_deliveries_oldest_pending_seconds`, 120, 170},
			{`go_sql_max_open_connections{db_name="` + driver + `"}`, pool, pool},
			{`go_sql_open_connections{db_name="` + driver + `"}`, 1, pool},
			{`go_sql_in_use_connections{db_name="` + driver + `"}`, 0, pool},
			{`go_sql_idle_connections{db_name="` + driver + `"}`, 0, pool},
			{`go_sql_wait_count_total{db_name="` + driver + `"}`, 0, 1e9},
			{`go_sql_wait_duration_seconds_total{db_name="` + driver + `"}`, 0, 1e9},
		} {
			v, ok := sampleValue(body, tc.series)
			switch {
			case !ok:
				t.Errorf("no %s in /metrics", tc.series)
			case v < tc.min || v > tc.max:
				t.Errorf("%s = %v, want %v to %v", tc.series, v, tc.min, tc.max)
			}
		}
		if _, attempts := rpB.received(); attempts != 1 {
			t.Errorf("bc-b got %d attempts, want 1", attempts)
		}

		// Queues empty: the ages are 0, not the time since anything.
		if _, err := e.store.ExpireMail(t.Context(), e.clock.now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		body = scrape(t, operator.URL)
		for series, want := range map[string]float64{
			`sekisho_mail_outbox{status="pending"}`:      0,
			`sekisho_mail_outbox{status="expired"}`:      2,
			`sekisho_mail_outbox_oldest_pending_seconds`: 0,
		} {
			if v, ok := sampleValue(body, series); !ok || v != want {
				t.Errorf("after the mails expired: %s = %v (found %v), want %v", series, v, ok, want)
			}
		}
	})
}
