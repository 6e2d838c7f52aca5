package mailtest_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/mail/mailtest"
)

func TestCode(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Your code is 482913.", "482913"},
		{"確認コード：004211\n有効期限は10分です。", "004211"},
		{"    123456\n", "123456"},
		{"order 1234567 has no code", ""},
		{"2026年4月1日 09:30 IP 203.0.113.7", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := mailtest.Code(tt.text); got != tt.want {
			t.Errorf("Code(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestLink(t *testing.T) {
	text := "Open https://other.example/x or\nhttps://id.example.com/verify?token=a-b_c&x=1\nthen <https://id.example.com/later>"
	tests := []struct{ prefix, want string }{
		{"https://id.example.com/verify", "https://id.example.com/verify?token=a-b_c&x=1"},
		{"https://id.example.com/later", "https://id.example.com/later"},
		{"https://", "https://other.example/x"},
		{"https://missing.example/", ""},
	}
	for _, tt := range tests {
		if got := mailtest.Link(text, tt.prefix); got != tt.want {
			t.Errorf("Link(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func TestServerAddr(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	if srv.Host() != "127.0.0.1" {
		t.Errorf("Host() = %q", srv.Host())
	}
	if want := net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port())); srv.Addr() != want {
		t.Errorf("Addr() = %q, want %q", srv.Addr(), want)
	}
	srv.Stop()
	srv.Stop() // idempotent
	srv.Restart()
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err != nil {
		t.Errorf("dial after Restart: %v", err)
	}
}

// TestLoginWithUsernameChallenge drives the LOGIN server without an
// initial response, as clients other than go-sasl's do.
func TestLoginWithUsernameChallenge(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "u", Password: "p", Mechanisms: []string{sasl.Login}})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(challengeLogin{}); err != nil {
		t.Fatalf("Auth() = %v", err)
	}
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatalf("Mail() after AUTH = %v", err)
	}
}

// challengeLogin is a LOGIN client that waits for the Username: challenge.
type challengeLogin struct{}

func (challengeLogin) Start() (string, []byte, error) { return sasl.Login, nil, nil }

func (challengeLogin) Next(challenge []byte) ([]byte, error) {
	switch string(challenge) {
	case "Username:":
		return []byte("u"), nil
	case "Password:":
		return []byte("p"), nil
	}
	return nil, sasl.ErrUnexpectedServerChallenge
}

func TestMailRequiresAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "p"})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.com", nil); err == nil {
		t.Fatal("Mail() without AUTH succeeded")
	}
}
