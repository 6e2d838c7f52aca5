package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/mail/mailtest"
)

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogger returns a debug-level text logger into a buffer, and the
// buffer; the output is also shown when the test fails.
func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// testBody is text that must never appear in logs of the SMTP sender.
const testBody = "secret-body-482913"

// composeTo builds a small message to rcpt.
func composeTo(t *testing.T, rcpt string) []byte {
	t.Helper()
	return compose(t, mail.Message{
		From:    mail.Address{Name: "sekisho", Email: "noreply@sekisho.test"},
		To:      mail.Address{Name: "山田 太郎", Email: rcpt},
		Subject: "【sekisho】ログイン用確認コードのお知らせ",
		Text:    "確認コード：" + testBody + "\n",
		HTML:    "<p>" + testBody + "</p>",
		Date:    testDate,
	})
}

// sendCtx returns a context bounded well under the test timeout.
func sendCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSMTPSenderDelivers(t *testing.T) {
	tests := []struct {
		name     string
		opts     mailtest.Options
		wantTLS  bool
		wantUser string
	}{
		{"none without auth", mailtest.Options{Security: mail.SecurityNone}, false, ""},
		{"none with auth on loopback", mailtest.Options{Security: mail.SecurityNone, Username: "u", Password: "p"}, false, "u"},
		{"starttls plain", mailtest.Options{Security: mail.SecurityStartTLS, Username: "smtp-user", Password: "pw", Mechanisms: []string{sasl.Plain}}, true, "smtp-user"},
		{"starttls login only", mailtest.Options{Security: mail.SecurityStartTLS, Username: "smtp-user", Password: "pw", Mechanisms: []string{sasl.Login}}, true, "smtp-user"},
		{"starttls prefers plain", mailtest.Options{Security: mail.SecurityStartTLS, Username: "smtp-user", Password: "pw", Mechanisms: []string{sasl.Login, sasl.Plain}}, true, "smtp-user"},
		{"implicit tls plain", mailtest.Options{Security: mail.SecurityTLS, Username: "smtp-user", Password: "pw"}, true, "smtp-user"},
		{"implicit tls without auth", mailtest.Options{Security: mail.SecurityTLS}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			logger, logs := newLogger(t)
			sender := mail.NewSMTPSender(srv.SenderConfig(), logger)
			const rcpt = "taro@example.jp"
			if err := sender.Send(sendCtx(t), "", []string{rcpt}, composeTo(t, rcpt)); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			got := srv.WaitFor(t, mailtest.To(rcpt), 5*time.Second)
			if got.ParseErr != nil {
				t.Fatalf("received message does not parse: %v", got.ParseErr)
			}
			if got.From != "noreply@sekisho.test" {
				t.Errorf("envelope from = %q", got.From)
			}
			if got.Subject != "【sekisho】ログイン用確認コードのお知らせ" {
				t.Errorf("Subject = %q", got.Subject)
			}
			if !strings.Contains(got.Text, testBody) || !strings.Contains(got.HTML, testBody) {
				t.Errorf("Text = %q, HTML = %q, want both to contain the body", got.Text, got.HTML)
			}
			if got.TLS != tt.wantTLS || got.User != tt.wantUser {
				t.Errorf("TLS, User = %v, %q, want %v, %q", got.TLS, got.User, tt.wantTLS, tt.wantUser)
			}
			if out := logs.String(); strings.Contains(out, testBody) || strings.Contains(out, rcpt) || strings.Contains(out, "pw") && tt.opts.Password == "pw" {
				t.Errorf("log contains the body, the recipient or the password:\n%s", out)
			}
		})
	}
}

// sendErr sends one message and returns the *SendError, failing the test
// when Send succeeds or returns another type.
func sendErr(t *testing.T, sender *mail.SMTPSender, ctx context.Context, rcpt string) *mail.SendError {
	t.Helper()
	err := sender.Send(ctx, "", []string{rcpt}, composeTo(t, rcpt))
	if err == nil {
		t.Fatal("Send() = nil, want an error")
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send() = %T %v, want *mail.SendError", err, err)
	}
	if got := mail.IsPermanent(err); got != (se.Kind == mail.KindPermanent) {
		t.Errorf("IsPermanent() = %v for kind %v", got, se.Kind)
	}
	if got := mail.KindOf(err); got != se.Kind {
		t.Errorf("KindOf() = %v, want %v", got, se.Kind)
	}
	return se
}

func TestSMTPSenderRefusals(t *testing.T) {
	const rcpt = "bob.secret@example.org"
	tests := []struct {
		name     string
		opts     mailtest.Options
		config   func(cfg *mail.SMTPConfig)
		reject   func(srv *mailtest.Server)
		wantKind mail.Kind
		wantOp   string
		wantCode int
		wantErr  error
	}{
		{
			name:     "wrong password",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "pw-right-7731"},
			config:   func(cfg *mail.SMTPConfig) { cfg.Password = "pw-wrong-7731" },
			wantKind: mail.KindConfig, wantOp: "auth", wantCode: 535,
		},
		{
			name:     "wrong password with LOGIN",
			opts:     mailtest.Options{Security: mail.SecurityTLS, Username: "u", Password: "pw-right-7731", Mechanisms: []string{sasl.Login}},
			config:   func(cfg *mail.SMTPConfig) { cfg.Password = "pw-wrong-7731" },
			wantKind: mail.KindConfig, wantOp: "auth", wantCode: 535,
		},
		{
			name:     "auth required but no username",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "p"},
			config:   func(cfg *mail.SMTPConfig) { cfg.Username, cfg.Password = "", "" },
			wantKind: mail.KindConfig, wantOp: "mail", wantCode: 502,
		},
		{
			name:     "no usable mechanism",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "p", Mechanisms: []string{"XOAUTH2"}},
			wantKind: mail.KindConfig, wantOp: "auth", wantErr: mail.ErrNoAuthMechanism,
		},
		{
			name:     "4xx refusal",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS},
			reject:   func(srv *mailtest.Server) { srv.RejectNext(450, "Mailbox busy <"+rcpt+">, try later") },
			wantKind: mail.KindTemporary, wantOp: "rcpt", wantCode: 450,
		},
		{
			name:     "5xx refusal",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS},
			reject:   func(srv *mailtest.Server) { srv.RejectNext(550, "No such user "+rcpt) },
			wantKind: mail.KindPermanent, wantOp: "rcpt", wantCode: 550,
		},
		{
			name:     "server without STARTTLS",
			opts:     mailtest.Options{Security: mail.SecurityNone},
			config:   func(cfg *mail.SMTPConfig) { cfg.Security = mail.SecurityStartTLS },
			wantKind: mail.KindConfig, wantOp: "starttls", wantErr: mail.ErrStartTLSUnsupported,
		},
		{
			name:     "untrusted certificate",
			opts:     mailtest.Options{Security: mail.SecurityStartTLS},
			config:   func(cfg *mail.SMTPConfig) { cfg.TLSConfig = nil },
			wantKind: mail.KindConfig, wantOp: "starttls",
		},
		{
			name:     "wrong host name for certificate",
			opts:     mailtest.Options{Security: mail.SecurityTLS},
			config:   func(cfg *mail.SMTPConfig) { cfg.TLSConfig.ServerName = "mail.example.com" },
			wantKind: mail.KindConfig, wantOp: "dial",
		},
		{
			name:     "implicit tls against a plain server",
			opts:     mailtest.Options{Security: mail.SecurityNone},
			config:   func(cfg *mail.SMTPConfig) { cfg.Security = mail.SecurityTLS },
			wantKind: mail.KindConfig, wantOp: "dial",
		},
		{
			name:     "invalid config",
			opts:     mailtest.Options{},
			config:   func(cfg *mail.SMTPConfig) { cfg.Security = "ssl" },
			wantKind: mail.KindConfig, wantOp: "config", wantErr: mail.ErrInvalidConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			if tt.reject != nil {
				tt.reject(srv)
			}
			cfg := srv.SenderConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			logger, logs := newLogger(t)
			se := sendErr(t, mail.NewSMTPSender(cfg, logger), sendCtx(t), rcpt)
			if se.Kind != tt.wantKind || se.Op != tt.wantOp || se.Code != tt.wantCode {
				t.Errorf("SendError = {Kind: %v, Op: %q, Code: %d}, want {%v, %q, %d}; err = %v", se.Kind, se.Op, se.Code, tt.wantKind, tt.wantOp, tt.wantCode, se)
			}
			if tt.wantErr != nil && !errors.Is(se, tt.wantErr) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.wantErr, se)
			}
			if tt.wantCode != 0 {
				var smtpErr *smtp.SMTPError
				if !errors.As(se, &smtpErr) || smtpErr.Code != tt.wantCode {
					t.Errorf("errors.As(*smtp.SMTPError) = %v", smtpErr)
				}
			}
			if len(srv.Messages()) != 0 {
				t.Errorf("server received %d messages", len(srv.Messages()))
			}
			out := logs.String()
			if strings.Count(out, "\n") != 1 {
				t.Errorf("want exactly one log line, got:\n%s", out)
			}
			for _, secret := range []string{rcpt, "bob.secret", testBody, "pw-wrong-7731", "pw-right-7731"} {
				if strings.Contains(out, secret) || strings.Contains(se.Error(), secret) {
					t.Errorf("log or error contains %q:\nlog: %s\nerr: %v", secret, out, se)
				}
			}
			if tt.wantCode != 0 && !strings.Contains(out, "code="+strconv.Itoa(tt.wantCode)) {
				t.Errorf("log line lacks the reply code: %s", out)
			}
			if tt.wantOp == "rcpt" && !strings.Contains(out, "example.org") {
				t.Errorf("log line lacks the recipient domain: %s", out)
			}
		})
	}
}

func TestSMTPSenderStopRestart(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "p"})
	logger, _ := newLogger(t)
	sender := mail.NewSMTPSender(srv.SenderConfig(), logger)
	const rcpt = "taro@example.jp"

	srv.Stop()
	se := sendErr(t, sender, sendCtx(t), rcpt)
	if se.Kind != mail.KindTemporary || se.Op != "dial" {
		t.Errorf("SendError = {Kind: %v, Op: %q}, want temporary dial; err = %v", se.Kind, se.Op, se)
	}

	srv.Restart()
	if err := sender.Send(sendCtx(t), "", []string{rcpt}, composeTo(t, rcpt)); err != nil {
		t.Fatalf("Send() after Restart = %v", err)
	}
	srv.WaitFor(t, mailtest.To(rcpt), 5*time.Second)
}

// startSilent starts a TCP server on loopback that accepts connections and
// never writes, and returns its port.
func startSilent(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestSMTPSenderSilentServer(t *testing.T) {
	tests := []struct {
		name        string
		security    string
		timeout     time.Duration
		ctxDeadline time.Duration
		wantCtxErr  bool // the error wraps ctx's context.DeadlineExceeded
	}{
		{"context deadline, none", mail.SecurityNone, time.Minute, 300 * time.Millisecond, true},
		{"context deadline, starttls", mail.SecurityStartTLS, time.Minute, 300 * time.Millisecond, true},
		{"context deadline, tls", mail.SecurityTLS, time.Minute, 300 * time.Millisecond, true},
		{"timeout, none", mail.SecurityNone, 300 * time.Millisecond, time.Minute, false},
		{"timeout, starttls", mail.SecurityStartTLS, 300 * time.Millisecond, time.Minute, false},
		{"timeout, tls", mail.SecurityTLS, 300 * time.Millisecond, time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := startSilent(t)
			logger, _ := newLogger(t)
			sender := mail.NewSMTPSender(mail.SMTPConfig{
				Host: "127.0.0.1", Port: port, Security: tt.security,
				From: "noreply@sekisho.test", Timeout: tt.timeout,
				TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
			}, logger)
			ctx, cancel := context.WithTimeout(t.Context(), tt.ctxDeadline)
			defer cancel()
			start := time.Now()
			se := sendErr(t, sender, ctx, "taro@example.jp")
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Send took %s, want well under 2s", elapsed)
			}
			if se.Kind != mail.KindTemporary {
				t.Errorf("Kind = %v, want temporary; err = %v", se.Kind, se)
			}
			// The dialer reports its own timeout as context.DeadlineExceeded
			// (implicit TLS handshake); the SMTP client as a net timeout.
			if tt.wantCtxErr && !errors.Is(se, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = false; err = %v", se)
			}
			if !tt.wantCtxErr && !errors.Is(se, os.ErrDeadlineExceeded) && !errors.Is(se, context.DeadlineExceeded) {
				t.Errorf("err = %v, want a deadline error", se)
			}
		})
	}
}

func TestSMTPSenderCancelledContext(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	sender := mail.NewSMTPSender(srv.SenderConfig(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	se := sendErr(t, sender, ctx, "taro@example.jp")
	if se.Kind != mail.KindTemporary || !errors.Is(se, context.Canceled) {
		t.Errorf("err = %v (kind %v), want temporary context.Canceled", se, se.Kind)
	}
}

func TestSMTPSenderEnvelope(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	sender := mail.NewSMTPSender(srv.SenderConfig(), nil)
	msg := composeTo(t, "taro@example.jp")
	tests := []struct {
		name string
		from string
		to   []string
		msg  []byte
	}{
		{"no recipients", "", nil, msg},
		{"CRLF in recipient", "", []string{"a@example.com\r\nRCPT TO:<b@example.com>"}, msg},
		{"bad sender", "not an address", []string{"a@example.com"}, msg},
		{"empty message", "", []string{"a@example.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sender.Send(sendCtx(t), tt.from, tt.to, tt.msg)
			if !mail.IsPermanent(err) {
				t.Errorf("Send() = %v, want a permanent error", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestIsPermanentOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.Canceled} {
		if mail.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true", err)
		}
	}
}

func TestSMTPSenderNoFrom(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	cfg := srv.SenderConfig()
	cfg.From = ""
	se := sendErr(t, mail.NewSMTPSender(cfg, nil), sendCtx(t), "taro@example.jp")
	if se.Kind != mail.KindConfig || !errors.Is(se, mail.ErrInvalidConfig) {
		t.Errorf("err = %v (kind %v), want a config error", se, se.Kind)
	}
}
