package main

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// passwordCmdConfig: a client to sign in to, and a throttle whose delay
// outlasts the test, so that a refused attempt stays refused.
const passwordCmdConfig = rolesConfig + `clients:
  - id: app
    secret: app-secret-0123456789-0123456789-abcdef
    redirect_uris: [http://127.0.0.1/cb]
throttle: {free_failures: 2, base_delay: 10m, max_delay: 15m}
`

// cliFlow is the sign-in flow of the environment's configuration, to
// sign in as a browser would.
func (e *cliEnv) cliFlow(t *testing.T) *login.Flow {
	t.Helper()
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDefaults()
	flow, err := server.CLIFlow(server.Options{Config: cfg, Store: e.st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return flow
}

// signIn tries a password for desk1 of hotel through the real flow, in a
// fresh sign-in request.
func (e *cliEnv) signIn(t *testing.T, flow *login.Flow, pw string) error {
	t.Helper()
	now := time.Now().UTC()
	id := "ar-" + time.Now().Format("150405.000000000")
	if err := e.st.CreateAuthRequest(t.Context(), storage.AuthRequest{ID: id, ClientID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		RedirectURI: "http://127.0.0.1/cb", Scopes: []string{"openid"}, ResponseType: "code"}); err != nil {
		t.Fatal(err)
	}
	_, err := flow.Login(t.Context(), login.Credentials{AuthRequestID: id, Organization: "hotel", Username: "desk1", Password: pw, IP: "192.0.2.9"})
	return err
}

// auditOf lists the user's events of one kind.
func (e *cliEnv) auditOf(t *testing.T, userID, kind string) []storage.AuditEvent {
	t.Helper()
	ev, err := e.st.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: userID, Type: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestUserPasswordCommands: set-password (policy checked, sessions and
// tokens ended as a reset ends them, the notice in the user's language),
// require-password-change and clear-throttle, each audited, on both
// databases; bad input changes nothing.
func TestUserPasswordCommands(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, passwordCmdConfig)
		ctx := t.Context()
		e.mustRun(t, "", "org", "add", "--code", "hotel", "--name", "Hotel Sakura")
		e.mustRun(t, "Sakura-desk-42!\n", "user", "add", "--organization", "hotel", "--username", "desk1", "--email", "desk1@example.com",
			"--email-verified", "--lang", "ja", "--password-stdin")
		u, err := e.st.GetMemberByUsername(ctx, mustOrg(t, e, "hotel").ID, "desk1")
		if err != nil {
			t.Fatal(err)
		}
		acct := []string{"--organization", "hotel", "--username", "desk1"}
		flow := e.cliFlow(t)

		// Bad input: nothing is written.
		before := e.state(t)
		for _, tc := range []struct {
			want, stdin string
			args        []string
		}{
			{"--password-stdin", "Other-pass-77!\n", append([]string{"user", "set-password"}, acct...)},
			{"empty password", "", append([]string{"user", "set-password", "--password-stdin"}, acct...)},
			{"password policy", "password\n", append([]string{"user", "set-password", "--password-stdin"}, acct...)},
			{"password policy", "Sakura-desk-42!\n", append([]string{"user", "set-password", "--password-stdin"}, acct...)}, // the current one
			{"--lang", "Other-pass-77!\n", append([]string{"user", "set-password", "--password-stdin", "--lang", "fr"}, acct...)},
			{"no account", "Other-pass-77!\n", []string{"user", "set-password", "--password-stdin", "--organization", "hotel", "--username", "nobody"}},
			{"--username needs --organization", "", []string{"user", "clear-throttle", "--username", "desk1"}},
			{"no account", "", []string{"user", "require-password-change", "--organization", "hotel", "--username", "nobody"}},
			{"at least one of the flags", "", []string{"user", "clear-throttle"}},
			{"no organization", "", []string{"user", "clear-throttle", "--organization", "nope", "--username", "desk1"}},
		} {
			e.refused(t, tc.want, tc.stdin, tc.args...)
		}
		e.unchanged(t, before)

		// clear-throttle: after the free failures the right password is
		// refused; once cleared, it works at once.
		for range 2 {
			if err := e.signIn(t, flow, "wrong-password"); err != login.ErrInvalidCredentials {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if err := e.signIn(t, flow, "Sakura-desk-42!"); err != login.ErrInvalidCredentials {
			t.Fatalf("right password while throttled: %v, want refused", err)
		}
		if out := e.mustRun(t, "", append([]string{"user", "clear-throttle"}, acct...)...); !strings.Contains(out, "cleared the attempt counters of user "+u.ID) {
			t.Errorf("clear-throttle: %s", out)
		}
		if err := e.signIn(t, flow, "Sakura-desk-42!"); err != nil {
			t.Errorf("right password after clear-throttle: %v", err)
		}
		if ev := e.auditOf(t, u.ID, "throttle_cleared"); len(ev) != 1 || ev[0].Detail != "cli" || ev[0].OrganizationID != u.OrganizationID {
			t.Errorf("throttle_cleared events: %+v", ev)
		}

		// set-password ends the sessions (the sign-in above made one) and
		// revokes the tokens, and queues the notice in Japanese.
		sessions, err := e.st.ListUserSessions(ctx, u.ID)
		if err != nil || len(sessions) == 0 {
			t.Fatalf("sessions before set-password: %v %v", sessions, err)
		}
		mailsBefore := e.mails(t)
		out := e.mustRun(t, "Other-pass-77!\n", append([]string{"user", "set-password", "--password-stdin"}, acct...)...)
		if !strings.Contains(out, "set the password of user "+u.ID) || !strings.Contains(out, "ended 1 session(s)") {
			t.Errorf("set-password: %s", out)
		}
		if s, err := e.st.GetSession(ctx, sessions[0].ID); err != nil || s.EndedAt == nil {
			t.Errorf("session after set-password: %+v %v", s, err)
		}
		if err := e.signIn(t, flow, "Sakura-desk-42!"); err != login.ErrInvalidCredentials {
			t.Errorf("old password after set-password: %v", err)
		}
		if err := e.signIn(t, flow, "Other-pass-77!"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if ev := e.auditOf(t, u.ID, "password_reset"); len(ev) != 1 || ev[0].Detail != "cli" {
			t.Errorf("password_reset events: %+v", ev)
		}
		if e.mails(t) != mailsBefore+1 {
			t.Fatalf("mails: %d, want %d", e.mails(t), mailsBefore+1)
		}
		m := lastMail(t, e)
		if m.Recipient != "desk1@example.com" || m.Template != templates.MailPasswordChanged {
			t.Errorf("mail: %s %s", m.Recipient, m.Template)
		}
		if text := openMail(t, m).Text; !strings.Contains(text, "パスワードが変更されました") || strings.Contains(text, "IP") {
			t.Errorf("the notice, in Japanese and without an address line:\n%s", text)
		}

		// require-password-change, once.
		out = e.mustRun(t, "", append([]string{"user", "require-password-change"}, acct...)...)
		if !strings.Contains(out, "must choose a new password") {
			t.Errorf("require-password-change: %s", out)
		}
		if got, _ := e.st.GetUser(ctx, u.ID); !got.MustChangePassword {
			t.Error("must_change_password not set")
		}
		out = e.mustRun(t, "", append([]string{"user", "require-password-change"}, acct...)...)
		if !strings.Contains(out, "nothing changed") {
			t.Errorf("require-password-change again: %s", out)
		}
		if ev := e.auditOf(t, u.ID, "password_change_required"); len(ev) != 1 || ev[0].Detail != "cli" {
			t.Errorf("password_change_required events: %+v", ev)
		}
		// set-password, as a reset, lifts the requirement.
		e.mustRun(t, "Third-pass-99!\n", append([]string{"user", "set-password", "--password-stdin", "--lang", "en"}, acct...)...)
		if got, _ := e.st.GetUser(ctx, u.ID); got.MustChangePassword {
			t.Error("must_change_password still set after set-password")
		}
		if text := openMail(t, lastMail(t, e)).Text; !strings.Contains(text, "password of your") {
			t.Errorf("--lang en notice:\n%s", text)
		}
	})
}

// TestSetPasswordRefusesInvited: an invited member chooses the password
// through the invitation; set-password and require-password-change refuse.
func TestSetPasswordRefusesInvited(t *testing.T) {
	e := newCLIEnv(t, "sqlite", config.IdentifierEmail, passwordCmdConfig)
	e.mustRun(t, "", "user", "add", "--email", "inv@example.com", "--invite")
	before := e.state(t)
	e.refused(t, "open invitation", "Other-pass-77!\n", "user", "set-password", "--password-stdin", "--email", "inv@example.com")
	e.refused(t, "open invitation", "", "user", "require-password-change", "--email", "inv@example.com")
	e.unchanged(t, before)
}

// lastMail is the newest mail of the outbox.
func lastMail(t *testing.T, e *cliEnv) storage.OutboxMail {
	t.Helper()
	ms, err := e.st.ListMail(t.Context(), storage.DeliveryFilter{Limit: 1000})
	if err != nil || len(ms) == 0 {
		t.Fatalf("outbox: %v %v", ms, err)
	}
	last := ms[0]
	for _, m := range ms {
		if m.CreatedAt.After(last.CreatedAt) {
			last = m
		}
	}
	return last
}

// openMail unseals a mail as the running server would send it.
func openMail(t *testing.T, m storage.OutboxMail) mail.Parsed {
	t.Helper()
	keys, err := secret.Parse(os.Getenv("SEKISHO_SECRET"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := keys.OpenOutbox(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestUserAddDefaultLanguage: without --lang, user add stores no
// language for the account, so its mails, the first one included, are in
// ui.default_language (Japanese unless configured); --lang is stored and
// wins.
func TestUserAddDefaultLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		args        []string
		lang, subj  string
	}{
		{"default", "", nil, "", "メールアドレス確認のお願い"},
		{"configured en", "ui: {default_language: en}\n", nil, "", "Confirm your email address"},
		{"--lang wins", "", []string{"--lang", "en"}, "en", "Confirm your email address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t, "sqlite", config.IdentifierEmail, tc.extra)
			e.mustRun(t, "Sakura-desk-42!\n", append([]string{"user", "add", "--email", "kei@example.com", "--password-stdin"}, tc.args...)...)
			u, err := e.st.GetUserByEmail(t.Context(), "kei@example.com")
			if err != nil || u.Lang != tc.lang {
				t.Errorf("user lang %q (%v), want %q", u.Lang, err, tc.lang)
			}
			if m := lastMail(t, e); !strings.Contains(m.Subject, tc.subj) {
				t.Errorf("verification mail subject %q, want %q", m.Subject, tc.subj)
			}
		})
	}
	e := newCLIEnv(t, "sqlite", config.IdentifierEmail, "ui: {default_language: fr}\n")
	e.refused(t, "ui.default_language", "Sakura-desk-42!\n", "user", "add", "--email", "kei@example.com", "--password-stdin")
}
