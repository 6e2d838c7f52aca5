package main

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// An operator ends a user's sessions from the command line: the sessions
// end, the tokens are revoked, and a delivery waits for the server to send.
func TestSessionCommands(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig+`clients:
  - id: app
    secret: app-secret-0123456789-0123456789-abcdef
    redirect_uris: [http://127.0.0.1/cb]
    backchannel_logout_uri: http://127.0.0.1/bcl
`)
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "ann@example.com", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(filepath.Dir(cfg), "sekisho.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	u, err := st.GetUserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateSession(ctx, storage.Session{ID: "sid-1", TokenHash: "h", UserID: u.ID, AuthTime: now, CreatedAt: now,
		LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour), IP: "192.0.2.7"}))
	must(st.CreateAuthRequest(ctx, storage.AuthRequest{ID: "ar", ClientID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		UserID: u.ID, SessionID: "sid-1", CompletedAt: &now, CodeHash: "c", CodeExpiresAt: now.Add(time.Minute)}))
	must(st.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar", Now: now, AccessToken: storage.AccessToken{ID: "at",
		ClientID: "app", UserID: u.ID, Subject: u.ID, SessionID: "sid-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}))

	if out, err := run(t, "", "session", "list", "--config", cfg, "--user", "ann@example.com"); err != nil ||
		!strings.Contains(out, "sid-1") || !strings.Contains(out, "active") || !strings.Contains(out, "192.0.2.7") {
		t.Errorf("session list: %v\n%s", err, out)
	}
	out, err := run(t, "", "session", "revoke", "--config", cfg, "--user", "ann@example.com")
	if err != nil || !strings.Contains(out, "ended 1 session(s)") || !strings.Contains(out, "1 back-channel") {
		t.Errorf("session revoke: %v\n%s", err, out)
	}
	if at, err := st.GetAccessToken(ctx, "at"); err != nil || at.RevokedAt == nil {
		t.Errorf("access token after revoke: %+v %v", at, err)
	}
	if out, err := run(t, "", "session", "list", "--config", cfg, "--user", "ann@example.com"); err != nil || !strings.Contains(out, "ended") {
		t.Errorf("session list after revoke: %v\n%s", err, out)
	}
	out, err = run(t, "", "logout-deliveries", "list", "--config", cfg, "--status", "pending")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.Contains(lines[1], "app") ||
		!strings.Contains(lines[1], "revoked") {
		t.Errorf("logout-deliveries list: %v\n%s", err, out)
	}
	if _, err := run(t, "", "logout-deliveries", "list", "--config", cfg, "--status", "lost"); err == nil {
		t.Error("an unknown --status was accepted")
	}
	if _, err := run(t, "", "session", "revoke", "--config", cfg, "--user", "nobody@example.com"); err == nil ||
		!strings.Contains(err.Error(), "no user") {
		t.Errorf("revoke for an unknown user: %v", err)
	}
}

// The CLI applies the same password policy as the pages, and an operator
// sees what to resend in the outbox.
func TestPolicyAndOutboxCommands(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	_, err := run(t, "password\n", "user", "add", "--config", cfg, "--email", "bo@example.com", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "upper-case") || !strings.Contains(err.Error(), "symbol") ||
		!strings.Contains(err.Error(), "common password") {
		t.Errorf("weak password: %v", err)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(filepath.Dir(cfg), "sekisho.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	if err := st.EnqueueMail(t.Context(), storage.OutboxMail{ID: "m1", Recipient: "bo@example.com", Subject: "s", Template: "reset_code",
		Body: []byte("sealed"), WorkState: storage.WorkState{CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishMail(t.Context(), "m1", storage.DeliveryOutcome{Now: now, Final: true, Error: "550 no such user"}); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", "outbox", "list", "--config", cfg, "--status", "failed"); err != nil || !strings.Contains(out, "m1") ||
		!strings.Contains(out, "550 no such user") || strings.Contains(out, "sealed") {
		t.Errorf("outbox list: %v\n%s", err, out)
	}
	// Recipients are personal data: masked unless asked for.
	if out, err := run(t, "", "outbox", "list", "--config", cfg); err != nil || !strings.Contains(out, "b***@example.com") ||
		strings.Contains(out, "bo@example.com") {
		t.Errorf("outbox list shows the address in full: %v\n%s", err, out)
	}
	if out, err := run(t, "", "outbox", "list", "--config", cfg, "--show-addresses"); err != nil || !strings.Contains(out, "bo@example.com") {
		t.Errorf("outbox list --show-addresses: %v\n%s", err, out)
	}
	if out, err := run(t, "", "outbox", "retry", "--config", cfg, "m1"); err != nil || !strings.Contains(out, "sent again") {
		t.Errorf("outbox retry: %v\n%s", err, out)
	}
	if m, _ := st.GetMail(t.Context(), "m1"); m.Status != storage.DeliveryPending {
		t.Errorf("after retry: %+v", m)
	}
	if _, err := run(t, "", "outbox", "retry", "--config", cfg, "nope"); err == nil || !strings.Contains(err.Error(), "no mail") {
		t.Errorf("retry of an unknown mail: %v", err)
	}
	// A code mail that expired unsent is listed as such and cannot be
	// sent again.
	past := now.Add(-time.Minute)
	if err := st.EnqueueMail(t.Context(), storage.OutboxMail{ID: "m2", Recipient: "bo@example.com", Template: "login_code",
		Body: []byte("sealed"), ExpiresAt: &past, WorkState: storage.WorkState{CreatedAt: now.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ExpireMail(t.Context(), now); err != nil || n != 1 {
		t.Fatalf("ExpireMail = %d, %v", n, err)
	}
	out, err := run(t, "", "outbox", "list", "--config", cfg, "--status", "expired")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.Contains(lines[1], "m2") ||
		!strings.Contains(lines[1], "expired") {
		t.Errorf("outbox list --status expired: %v\n%s", err, out)
	}
	if _, err := run(t, "", "outbox", "retry", "--config", cfg, "m2"); err == nil || !strings.Contains(err.Error(), "expired unsent") {
		t.Errorf("retry of an expired mail: %v", err)
	}
}

// TestUserAddVerification: an added user's address gets a verification
// link through the outbox, unless the operator vouches for it.
func TestUserAddVerification(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "cy@example.com", "--password-stdin", "--lang", "ja"); err != nil ||
		!strings.Contains(out, "verification link") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "di@example.com", "--password-stdin", "--email-verified"); err != nil ||
		strings.Contains(out, "verification link") {
		t.Fatalf("user add --email-verified: %v\n%s", err, out)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(filepath.Dir(cfg), "sekisho.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mails, err := st.ListMail(t.Context(), storage.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Recipient != "cy@example.com" || mails[0].Template != "verify_email" ||
		mails[0].Status != storage.DeliveryPending || len(mails[0].Body) == 0 {
		t.Errorf("outbox after two adds: %+v", mails)
	}
	if u, _ := st.GetUserByEmail(t.Context(), "di@example.com"); !u.EmailVerified || u.Lang != "" {
		t.Errorf("--email-verified without --lang: %+v", u)
	}
	if u, _ := st.GetUserByEmail(t.Context(), "cy@example.com"); u.Lang != "ja" {
		t.Errorf("--lang ja stored %q", u.Lang)
	}
}
