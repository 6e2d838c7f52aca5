package templates

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
)

// mailCase is one mail template with sample data and the strings its text
// part must contain.
type mailCase struct {
	name string
	data func(base MailBase) any
	want []string
}

var mailTime = time.Date(2026, 4, 1, 9, 30, 0, 0, time.FixedZone("JST", 9*60*60))

var mailCases = []mailCase{
	{MailLoginCode, func(b MailBase) any {
		return LoginCodeMail{MailBase: b, Code: "482913", ValidMinutes: 10}
	}, []string{"482913", "10"}},
	{MailResetCode, func(b MailBase) any {
		return ResetCodeMail{MailBase: b, Code: "771204", ValidMinutes: 15}
	}, []string{"771204", "15"}},
	{MailPasswordChanged, func(b MailBase) any {
		return PasswordChangedMail{MailBase: b, Time: mailTime, IP: "203.0.113.7"}
	}, []string{"203.0.113.7", "2026", "09:30"}},
	{MailVerifyEmail, func(b MailBase) any {
		return VerifyEmailMail{MailBase: b, URL: "https://id.example.com/verify?token=abc&x=1", ValidMinutes: 60}
	}, []string{"https://id.example.com/verify?token=abc&x=1", "60"}},
	{MailEmailChangeNotice, func(b MailBase) any {
		return EmailChangeNoticeMail{MailBase: b, NewEmailMasked: "t***@example.net", Time: mailTime}
	}, []string{"t***@example.net", "2026"}},
	{MailLoginNotification, func(b MailBase) any {
		return LoginNotificationMail{MailBase: b, Time: mailTime, IP: "198.51.100.2", Browser: "Firefox on Linux"}
	}, []string{"198.51.100.2", "Firefox on Linux", "09:30"}},
	{MailLegacyReminder, func(b MailBase) any {
		return LegacyReminderMail{MailBase: b, LegacyName: "Old Shop", ResetURL: "https://id.example.com/reset?login_hint=a%40example.com",
			Deadline: mailTime}
	}, []string{"Old Shop", "https://id.example.com/reset?login_hint=a%40example.com", "2026"}},
	{MailCodeFailures, func(b MailBase) any {
		return CodeFailuresMail{MailBase: b, Failures: 10, Time: mailTime, IP: "192.0.2.9", Until: mailTime.Add(time.Hour)}
	}, []string{"10", "192.0.2.9", "09:30", "10:30"}},
	{MailInvitation, func(b MailBase) any {
		return InvitationMail{MailBase: b, OrganizationName: "Hotel Sakura", Username: "front01",
			URL: "https://id.example.com/invite?token=abc", Expires: mailTime.Add(72 * time.Hour), ValidHours: 72}
	}, []string{"Hotel Sakura", "front01", "https://id.example.com/invite?token=abc", "72", "2026"}},
	{MailResetRequest, func(b MailBase) any {
		return ResetRequestMail{MailBase: b, OrganizationName: "Hotel Sakura", URL: "https://id.example.com/reset?login_hint=a%40example.com"}
	}, []string{"Hotel Sakura", "https://id.example.com/reset?login_hint=a%40example.com"}},
	{MailAccountDeleted, func(b MailBase) any {
		return AccountDeletedMail{MailBase: b, OrganizationName: "Hotel Sakura", Time: mailTime}
	}, []string{"Hotel Sakura", "2026", "09:30"}},
	{MailUnlock, func(b MailBase) any {
		return UnlockMail{MailBase: b, URL: "https://id.example.com/unlock?token=abc", Expires: mailTime.Add(24 * time.Hour), ValidHours: 24}
	}, []string{"https://id.example.com/unlock?token=abc", "24", "2026"}},
	{MailDormantAlert, func(b MailBase) any {
		return DormantAlertMail{MailBase: b, OrganizationName: "Hotel Sakura", MemberName: "Taro Front", Account: "front01",
			Time: mailTime, IP: "192.0.2.7", Device: "smartphone", URL: "https://id.example.com/admin/members/u1"}
	}, []string{"Hotel Sakura", "Taro Front", "front01", "192.0.2.7", "https://id.example.com/admin/members/u1", "09:30"}},
	{MailFactorChanged, func(b MailBase) any {
		return FactorChangedMail{MailBase: b, Kind: FactorRecovery, Action: FactorUsed, Time: mailTime, IP: "192.0.2.8", Left: 7}
	}, []string{"192.0.2.8", "7", "09:30"}},
}

func TestMailTemplatesParse(t *testing.T) {
	if err := CheckMail(); err != nil {
		t.Fatalf("CheckMail() = %v", err)
	}
	var names []string
	for _, c := range mailCases {
		names = append(names, c.name)
	}
	if diff := cmp.Diff(MailNames(), names); diff != "" {
		t.Errorf("MailNames() and the test cases differ (-names +cases):\n%s", diff)
	}
}

func TestRenderMail(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		for _, c := range mailCases {
			for _, user := range []string{"", "Taro <script>alert(1)</script>"} {
				t.Run(lang+"/"+c.name+"/user="+user, func(t *testing.T) {
					subject, text, htmlBody, err := RenderMail(lang, c.name, c.data(MailBase{ProductName: "sekisho", UserName: user}))
					if err != nil {
						t.Fatalf("RenderMail() = %v", err)
					}
					if subject == "" || strings.ContainsAny(subject, "\r\n") {
						t.Errorf("subject = %q, want one non-empty line", subject)
					}
					if !strings.Contains(subject, "sekisho") {
						t.Errorf("subject = %q, want the product name", subject)
					}
					for _, w := range append([]string{"sekisho", user}, c.want...) {
						if !strings.Contains(text, w) {
							t.Errorf("text does not contain %q:\n%s", w, text)
						}
					}
					checkMailHTML(t, htmlBody, lang, user)
				})
			}
		}
	}
}

// checkMailHTML checks that body is a self-contained document in lang
// that shows user escaped.
func checkMailHTML(t *testing.T, body, lang, user string) {
	t.Helper()
	if strings.Contains(body, "<script>") {
		t.Errorf("HTML contains an unescaped <script>")
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("html.Parse() = %v", err)
	}
	roots := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "html") })
	if len(roots) != 1 || htmltest.Attr(roots[0], "lang") != lang {
		t.Errorf("want one <html lang=%q>", lang)
	}
	for _, tag := range []string{"script", "img", "link", "style", "iframe", "object"} {
		if n := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, tag) }); len(n) > 0 {
			t.Errorf("HTML has a <%s> element", tag)
		}
	}
	if n := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.HasAttr(n, "src") }); len(n) > 0 {
		t.Errorf("HTML has an element with src")
	}
	if user != "" && !strings.Contains(htmltest.Text(doc), user) {
		t.Errorf("HTML text does not show the user name %q", user)
	}
}

func TestRenderMailVerifyLink(t *testing.T) {
	const url = "https://id.example.com/verify?token=abc&x=1"
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			_, _, body, err := RenderMail(lang, MailVerifyEmail, VerifyEmailMail{MailBase: MailBase{ProductName: "sekisho"}, URL: url, ValidMinutes: 30})
			if err != nil {
				t.Fatalf("RenderMail() = %v", err)
			}
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatalf("html.Parse() = %v", err)
			}
			links := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") })
			if len(links) == 0 {
				t.Fatal("no links")
			}
			for _, a := range links {
				if got := htmltest.Attr(a, "href"); got != url {
					t.Errorf("href = %q, want %q", got, url)
				}
			}
		})
	}
}

func TestRenderMailUnsafeURL(t *testing.T) {
	_, _, body, err := RenderMail("en", MailVerifyEmail, VerifyEmailMail{MailBase: MailBase{ProductName: "sekisho"}, URL: "javascript:alert(1)"})
	if err != nil {
		t.Fatalf("RenderMail() = %v", err)
	}
	if strings.Contains(body, `href="javascript:`) {
		t.Errorf("HTML links to a javascript: URL")
	}
}

func TestRenderMailLanguage(t *testing.T) {
	data := LoginCodeMail{MailBase: MailBase{ProductName: "sekisho"}, Code: "123456", ValidMinutes: 10}
	render := func(t *testing.T, lang string) string {
		t.Helper()
		subject, _, _, err := RenderMail(lang, MailLoginCode, data)
		if err != nil {
			t.Fatalf("RenderMail(%q) = %v", lang, err)
		}
		return subject
	}
	en, ja := render(t, "en"), render(t, "ja")
	if en == ja {
		t.Fatalf("en and ja subjects are equal: %q", en)
	}
	tests := []struct {
		lang string
		want string
	}{
		{"", en},
		{"en-US", en},
		{"fr", en},
		{"not a tag", en},
		{"ja-JP", ja},
		{"JA", ja},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			if got := render(t, tt.lang); got != tt.want {
				t.Errorf("subject = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderMailErrors(t *testing.T) {
	tests := []struct {
		name     string
		mail     string
		data     any
		unknown  bool
		wantFail bool
	}{
		{"unknown name", "welcome", LoginCodeMail{}, true, true},
		{"path-like name", "../en/login_code", LoginCodeMail{}, true, true},
		{"layout is not a mail", "layout", LoginCodeMail{}, true, true},
		{"wrong data", MailLoginCode, PasswordChangedMail{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := RenderMail("en", tt.mail, tt.data)
			if (err != nil) != tt.wantFail {
				t.Fatalf("RenderMail() error = %v, want failure %v", err, tt.wantFail)
			}
			if got := errors.Is(err, ErrUnknownMail); got != tt.unknown {
				t.Errorf("errors.Is(err, ErrUnknownMail) = %v, want %v (err = %v)", got, tt.unknown, err)
			}
		})
	}
}

func TestMailLanguagesHaveSameFiles(t *testing.T) {
	list := func(lang string) []string {
		t.Helper()
		entries, err := fs.ReadDir(mailFiles, path.Join("mail", lang))
		if err != nil {
			t.Fatalf("ReadDir(%s) = %v", lang, err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		slices.Sort(names)
		return names
	}
	en, ja := list("en"), list("ja")
	if diff := cmp.Diff(en, ja); diff != "" {
		t.Errorf("mail/en and mail/ja differ (-en +ja):\n%s", diff)
	}
	for _, name := range MailNames() {
		for _, ext := range []string{".txt", ".html"} {
			if !slices.Contains(en, name+ext) {
				t.Errorf("mail/en/%s%s is missing", name, ext)
			}
		}
	}
}

// TestLegacyReminderSubject: the operator's subject replaces the
// template's, and without a window end the mail names no deadline.
func TestLegacyReminderSubject(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		data := LegacyReminderMail{MailBase: MailBase{ProductName: "sekisho"}, LegacyName: "Old Shop",
			ResetURL: "https://id.example.com/reset", Subject: "Move <now>"}
		subject, text, _, err := RenderMail(lang, MailLegacyReminder, data)
		if err != nil {
			t.Fatal(err)
		}
		if subject != "Move <now>" {
			t.Errorf("%s: subject %q, want the operator's", lang, subject)
		}
		if strings.Contains(text, "2006") || strings.Contains(text, "Until") || strings.Contains(text, "までは") {
			t.Errorf("%s: a deadline without a window end:\n%s", lang, text)
		}
		data.Subject = ""
		if subject, _, _, _ := RenderMail(lang, MailLegacyReminder, data); !strings.Contains(subject, "Old Shop") {
			t.Errorf("%s: default subject %q does not name the product", lang, subject)
		}
	}
}

// TestMailTimeZone: a mail prints its times as the pages do, in the zone
// the caller converted them to (the organization's), with the zone named,
// in the text and the HTML parts.
func TestMailTimeZone(t *testing.T) {
	at := time.Date(2026, 12, 5, 5, 3, 0, 0, time.UTC)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang string
		loc  *time.Location
		want string
	}{
		{"ja", tokyo, "2026年12月5日 14:03（日本時間）"},
		{"en", tokyo, "2026-12-05 14:03 (JST)"},
		{"ja", newYork, "2026年12月5日 00:03（EST）"},
		{"en", newYork, "2026-12-05 00:03 (EST)"},
	} {
		t.Run(tc.lang+"/"+tc.loc.String(), func(t *testing.T) {
			_, text, htmlBody, err := RenderMail(tc.lang, MailUnlock, &UnlockMail{MailBase: MailBase{ProductName: "sekisho"},
				URL: "https://id.example.com/unlock?token=x", Expires: at.In(tc.loc), ValidHours: 24})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text, tc.want) || !strings.Contains(htmlBody, tc.want) {
				t.Errorf("the unlock mail does not say %q:\n%s", tc.want, text)
			}
		})
	}
}
