package mail

import (
	"strings"
	"testing"

	"github.com/sekisho/sekisho/i18n"
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
		o := NewOutbox(OutboxConfig{Store: noStore{}, Sealer: plainSealer{}, Product: i18n.Plain("sekisho"), DefaultLang: tc.def,
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

// TestComposeBrand: a mail carries the product's name and support line in
// its own language, and the logo (an absolute URL) in its HTML part.
func TestComposeBrand(t *testing.T) {
	o := NewOutbox(OutboxConfig{Store: noStore{}, Sealer: plainSealer{}, From: Address{Email: "login@example.com"},
		Product: i18n.Text{JA: "関所運輸", EN: "Sekisho Logistics"},
		Support: i18n.Text{JA: "お問い合わせ：0120-000-000", EN: "Questions? Call 0120-000-000"},
		LogoURL: "https://login.example.com/static/logo-0123456789ab.png"})
	for _, tc := range []struct{ lang, subject, product, support string }{
		{"ja", "【関所運輸】ログイン用確認コードのお知らせ", "関所運輸", "お問い合わせ：0120-000-000"},
		{"en", "Sekisho Logistics", "Sekisho Logistics", "Questions? Call 0120-000-000"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			m, err := o.Compose(tc.lang, templates.MailLoginCode, Address{Email: "kei@example.com"},
				&templates.LoginCodeMail{Code: "123456", ValidMinutes: 5})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Subject, tc.subject) {
				t.Errorf("subject %q, want %q in it", p.Subject, tc.subject)
			}
			for part, body := range map[string]string{"text": p.Text, "html": p.HTML} {
				for _, want := range []string{tc.product, tc.support} {
					if !strings.Contains(body, want) {
						t.Errorf("%s part lacks %q:\n%s", part, want, body)
					}
				}
				if strings.Contains(body, "sekisho") {
					t.Errorf("%s part still names sekisho:\n%s", part, body)
				}
			}
			if !strings.Contains(p.HTML, `<img src="https://login.example.com/static/logo-0123456789ab.png"`) {
				t.Errorf("html part lacks the logo:\n%s", p.HTML)
			}
		})
	}
}
