package mail

import (
	"strings"
	"testing"

	"github.com/sekisho/sekisho/templates"
)

// plainSealer leaves bodies readable.
type plainSealer struct{}

func (plainSealer) SealOutbox(p []byte) ([]byte, error) { return p, nil }
func (plainSealer) OpenOutbox(c []byte) ([]byte, error) { return c, nil }

// noStore is a Store that Compose never calls.
type noStore struct{ Store }

// TestComposeLanguage: a mail composed without a language, or in one we
// have no catalog for, is in DefaultLang (ui.default_language); English
// when none is configured; a language we have wins.
func TestComposeLanguage(t *testing.T) {
	const ja, en = "メールアドレス確認のお願い", "Confirm your email address"
	for _, tc := range []struct{ lang, def, want string }{
		{"", "ja", ja}, {"fr", "ja", ja}, {"", "en", en}, {"", "", en},
		{"en", "ja", en}, {"ja-JP", "en", ja},
	} {
		o := NewOutbox(OutboxConfig{Store: noStore{}, Sealer: plainSealer{}, ProductName: "sekisho", DefaultLang: tc.def,
			From: Address{Email: "login@example.com"}})
		m, err := o.Compose(tc.lang, templates.MailVerifyEmail, Address{Email: "kei@example.com"},
			&templates.VerifyEmailMail{URL: "https://login.example.com/email/verify?token=t"})
		if err != nil {
			t.Fatalf("Compose(%q) with default %q: %v", tc.lang, tc.def, err)
		}
		if !strings.Contains(m.Subject, tc.want) {
			t.Errorf("Compose(%q) with default %q: subject %q, want %q", tc.lang, tc.def, m.Subject, tc.want)
		}
	}
}
