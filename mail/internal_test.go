package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	reply := func(code int, enh smtp.EnhancedCode) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "reply for <jane.doe@example.com>"}
	}
	tests := []struct {
		name string
		op   string
		err  error
		want Kind
	}{
		{"4xx rcpt", opRcpt, reply(450, smtp.EnhancedCode{4, 2, 1}), KindTemporary},
		{"4xx data", opData, reply(451, smtp.EnhancedCode{4, 3, 0}), KindTemporary},
		{"421 greeting", opHello, reply(421, smtp.EnhancedCode{4, 0, 0}), KindTemporary},
		{"454 auth temporary", opAuth, reply(454, smtp.EnhancedCode{4, 7, 0}), KindTemporary},
		{"550 rcpt", opRcpt, reply(550, smtp.EnhancedCode{5, 1, 1}), KindPermanent},
		{"552 data", opData, reply(552, smtp.EnhancedCode{5, 3, 4}), KindPermanent},
		{"554 mail", opMail, reply(554, smtp.EnhancedCode{5, 7, 1}), KindPermanent},
		{"535 auth", opAuth, reply(535, smtp.EnhancedCode{5, 7, 8}), KindConfig},
		{"530 mail", opMail, reply(530, smtp.EnhancedCode{5, 7, 0}), KindConfig},
		{"go-smtp auth required", opMail, smtp.ErrAuthRequired, KindConfig},
		{"502 rcpt not auth", opRcpt, reply(502, smtp.EnhancedCode{5, 5, 1}), KindPermanent},
		{"554 greeting", opHello, reply(554, smtp.EnhancedCode{5, 0, 0}), KindConfig},
		{"wrapped 550", opRcpt, fmt.Errorf("x: %w", reply(550, smtp.EnhancedCode{5, 1, 1})), KindPermanent},
		{"refused", opDial, &net.OpError{Op: "dial", Err: errors.New("connection refused")}, KindTemporary},
		{"eof", opMail, errors.New("EOF"), KindTemporary},
		{"insecure auth", opAuth, ErrInsecureAuth, KindConfig},
		{"no mechanism", opAuth, ErrNoAuthMechanism, KindConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := classify(t.Context(), tt.op, tt.err)
			if se.Kind != tt.want {
				t.Errorf("Kind = %v, want %v", se.Kind, tt.want)
			}
			if !errors.Is(se, tt.err) {
				t.Errorf("SendError does not wrap the cause")
			}
			if strings.Contains(se.Error(), "jane.doe") || strings.Contains(se.Message, "jane.doe") {
				t.Errorf("Error() = %q, Message = %q: address not redacted", se.Error(), se.Message)
			}
		})
	}
}

func TestClassifyDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	se := classify(ctx, opRcpt, &smtp.SMTPError{Code: 550})
	if se.Kind != KindTemporary || !errors.Is(se, context.Canceled) {
		t.Errorf("classify() = %v (kind %v), want temporary wrapping context.Canceled", se, se.Kind)
	}
}

func TestRedactAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5.1.1 <bob@example.com>: Recipient address rejected", "5.1.1 <***@example.com>: Recipient address rejected"},
		{"user a.b+c@x.org unknown, also d@y.jp", "user ***@x.org unknown, also ***@y.jp"},
		{"no address here", "no address here"},
	}
	for _, tt := range tests {
		if got := redactAddresses(tt.in); got != tt.want {
			t.Errorf("redactAddresses(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCredentialsAllowed(t *testing.T) {
	tests := []struct {
		name   string
		tls    bool
		remote net.Addr
		want   error
	}{
		{"tls remote", true, &net.TCPAddr{IP: net.ParseIP("203.0.113.1"), Port: 587}, nil},
		{"plain loopback v4", false, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, nil},
		{"plain loopback v6", false, &net.TCPAddr{IP: net.IPv6loopback, Port: 25}, nil},
		{"plain remote", false, &net.TCPAddr{IP: net.ParseIP("203.0.113.1"), Port: 25}, ErrInsecureAuth},
		{"plain private", false, &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 25}, ErrInsecureAuth},
		{"plain unix", false, &net.UnixAddr{Name: "/tmp/x", Net: "unix"}, ErrInsecureAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := credentialsAllowed(tt.tls, tt.remote); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("credentialsAllowed() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	valid := SMTPConfig{Host: "smtp.example.com", Username: "u", Password: "p", From: "noreply@example.com"}
	tests := []struct {
		name   string
		mutate func(c *SMTPConfig)
		want   []string // substrings of the problems, one per problem
	}{
		{"valid", func(c *SMTPConfig) {}, nil},
		{"valid loopback plain auth", func(c *SMTPConfig) { c.Host, c.Security = "127.0.0.1", SecurityNone }, nil},
		{"valid localhost plain auth", func(c *SMTPConfig) { c.Host, c.Security = "localhost", SecurityNone }, nil},
		{"missing host", func(c *SMTPConfig) { c.Host = "" }, []string{"host is required"}},
		{"bad host", func(c *SMTPConfig) { c.Host = "smtp.example.com:25" }, []string{"not a host name"}},
		{"bad port", func(c *SMTPConfig) { c.Port = 70000 }, []string{"port 70000"}},
		{"bad security", func(c *SMTPConfig) { c.Security = "ssl" }, []string{`security "ssl"`}},
		{"username without password", func(c *SMTPConfig) { c.Password = "" }, []string{"password is required"}},
		{"plain auth to remote host", func(c *SMTPConfig) { c.Security = SecurityNone }, []string{"loopback"}},
		{"CR in password", func(c *SMTPConfig) { c.Password = "a\rb" }, []string{"CR, LF or NUL"}},
		{"bad from", func(c *SMTPConfig) { c.From = "Sekisho <noreply@example.com>" }, []string{"from:"}},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, []string{"negative"}},
		{"bad hello", func(c *SMTPConfig) { c.HelloName = "a b" }, []string{"hello name"}},
		{"several", func(c *SMTPConfig) { c.Host, c.Port, c.Security = "", -1, "x" }, []string{"host is required", "port -1", `security "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate() reported %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestSMTPConfigDefaults(t *testing.T) {
	tests := []struct {
		security string
		wantPort int
	}{
		{"", DefaultPortStartTLS},
		{SecurityNone, DefaultPortNone},
		{SecurityStartTLS, DefaultPortStartTLS},
		{SecurityTLS, DefaultPortTLS},
	}
	for _, tt := range tests {
		got := SMTPConfig{Host: "h", Security: tt.security}.withDefaults()
		want := SMTPConfig{Host: "h", Security: tt.security, Port: tt.wantPort, Timeout: DefaultTimeout, HelloName: DefaultHelloName}
		if want.Security == "" {
			want.Security = DefaultSecurity
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("withDefaults(%q) (-want +got):\n%s", tt.security, diff)
		}
	}
}

func TestSMTPConfigLogValueHidesPassword(t *testing.T) {
	v := SMTPConfig{Host: "h", Username: "u", Password: "hunter2"}.LogValue()
	if strings.Contains(v.String(), "hunter2") {
		t.Errorf("LogValue() = %v shows the password", v)
	}
}
