package mail_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/mail"
)

var testDate = time.Date(2026, 4, 1, 9, 30, 15, 0, time.FixedZone("JST", 9*60*60))

// sampleMessage returns a valid message with Japanese text.
func sampleMessage() mail.Message {
	return mail.Message{
		From:    mail.Address{Name: "sekisho", Email: "noreply@id.example.com"},
		To:      mail.Address{Name: "山田 太郎", Email: "taro@example.jp"},
		Subject: "【sekisho】ログイン用確認コードのお知らせ",
		Text:    "山田 太郎 様\n\n確認コード：123456\n\n有効期限は10分です。\n",
		HTML:    "<p>山田 太郎 様</p>\n<p>確認コード：<b>123456</b></p>\n",
		Date:    testDate,
	}
}

// compose returns m.Bytes() or fails the test.
func compose(t *testing.T, m mail.Message) []byte {
	t.Helper()
	raw, err := m.Bytes()
	if err != nil {
		t.Fatalf("Bytes() = %v", err)
	}
	return raw
}

// checkCRLF fails when raw has a bare LF or CR.
func checkCRLF(t *testing.T, raw []byte) {
	t.Helper()
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at offset %d: %q", i, around(raw, i))
		}
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR at offset %d: %q", i, around(raw, i))
		}
	}
}

// around returns the bytes near offset i, for failure messages.
func around(raw []byte, i int) []byte {
	return raw[max(0, i-20):min(len(raw), i+20)]
}

// readParts decodes the parts of a multipart/alternative message by hand
// (not with mail.Parse), keyed by media type.
func readParts(t *testing.T, msg *netmail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextRawPart() = %v", err)
		}
		ct, ctParams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		if ctParams["charset"] != "UTF-8" {
			t.Errorf("%s charset = %q, want UTF-8", ct, ctParams["charset"])
		}
		var body io.Reader = p
		switch cte := p.Header.Get("Content-Transfer-Encoding"); cte {
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, p)
		default:
			t.Fatalf("%s Content-Transfer-Encoding = %q", ct, cte)
		}
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("read %s: %v", ct, err)
		}
		parts[ct] = strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	return parts
}

func TestBytes(t *testing.T) {
	long := strings.Repeat("パスワード再設定用の確認コードのお知らせ", 8)
	tests := []struct {
		name    string
		subject string
		text    string
	}{
		{"japanese", "【sekisho】ログイン用確認コードのお知らせ", "山田 太郎 様\n\n確認コード：123456\n"},
		{"long japanese subject", long, "本文\n"},
		{"ascii", "Your sekisho sign-in code", "Hello,\n\nYour code is 123456.\n"},
		{"crlf and trailing space in body", "x", "line one  \r\nline two\r\n\r\n=equals= and a very long line " + strings.Repeat("abc ", 40) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMessage()
			m.Subject, m.Text = tt.subject, tt.text
			raw := compose(t, m)
			checkCRLF(t, raw)
			for line := range strings.SplitSeq(string(raw), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line longer than 998 octets: %.40q...", line)
				}
			}

			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("ReadMessage() = %v", err)
			}
			var dec mime.WordDecoder
			subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("DecodeHeader(Subject) = %v", err)
			}
			if subject != tt.subject {
				t.Errorf("Subject = %q, want %q", subject, tt.subject)
			}
			date, err := msg.Header.Date()
			if err != nil {
				t.Fatalf("Date: %v", err)
			}
			if !date.Equal(testDate) {
				t.Errorf("Date = %v, want %v", date, testDate)
			}
			if got := msg.Header.Get("Mime-Version"); got != "1.0" {
				t.Errorf("MIME-Version = %q", got)
			}
			id := msg.Header.Get("Message-Id")
			if !regexp.MustCompile(`^<[A-Z2-7]{20,}@id\.example\.com>$`).MatchString(id) {
				t.Errorf("Message-ID = %q, want <random@id.example.com>", id)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != 1 {
				t.Fatalf("To = %v, %v", to, err)
			}
			if diff := cmp.Diff(netmail.Address{Name: "山田 太郎", Address: "taro@example.jp"}, *to[0]); diff != "" {
				t.Errorf("To (-want +got):\n%s", diff)
			}
			parts := readParts(t, msg)
			want := map[string]string{
				"text/plain": strings.ReplaceAll(tt.text, "\r\n", "\n"),
				"text/html":  m.HTML,
			}
			if diff := cmp.Diff(want, parts); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBytesMessageIDsDiffer(t *testing.T) {
	a, b := compose(t, sampleMessage()), compose(t, sampleMessage())
	idOf := func(raw []byte) string {
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return msg.Header.Get("Message-Id")
	}
	if idOf(a) == idOf(b) {
		t.Errorf("two messages share Message-ID %s", idOf(a))
	}
}

func TestBytesTextOnlyAndExtras(t *testing.T) {
	m := sampleMessage()
	m.HTML = ""
	m.MessageID = "<fixed.1@id.example.com>"
	m.Headers = []mail.Header{{Name: "auto-submitted", Value: "auto-generated"}, {Name: "X-Note", Value: "日本語"}}
	raw := compose(t, m)
	checkCRLF(t, raw)
	p, err := mail.Parse(raw)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if got := p.Header.Get("Message-Id"); got != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", got, m.MessageID)
	}
	if got := p.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	var dec mime.WordDecoder
	if got, _ := dec.DecodeHeader(p.Header.Get("X-Note")); got != "日本語" {
		t.Errorf("X-Note = %q", got)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if p.Text != m.Text || p.HTML != "" || p.Subject != m.Subject {
		t.Errorf("Parse() = %+v", p)
	}
}

func TestBytesRefusesInjection(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(m *mail.Message)
		wantErr error
	}{
		{"CRLF in To name", func(m *mail.Message) { m.To.Name = "Bob\r\nBcc: evil@example.com" }, mail.ErrInvalidHeader},
		{"LF in From name", func(m *mail.Message) { m.From.Name = "x\nBcc: evil@example.com" }, mail.ErrInvalidHeader},
		{"CR in subject", func(m *mail.Message) { m.Subject = "hi\rBcc: evil@example.com" }, mail.ErrInvalidHeader},
		{"CRLF in subject", func(m *mail.Message) { m.Subject = "hi\r\nBcc: evil@example.com" }, mail.ErrInvalidHeader},
		{"NUL in subject", func(m *mail.Message) { m.Subject = "a\x00b" }, mail.ErrInvalidHeader},
		{"CRLF in extra header", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "X-A", Value: "1\r\nBcc: evil@example.com"}} }, mail.ErrInvalidHeader},
		{"reserved extra header", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "bcc", Value: "evil@example.com"}} }, mail.ErrInvalidHeader},
		{"malformed extra header name", func(m *mail.Message) { m.Headers = []mail.Header{{Name: "X-A: b", Value: "c"}} }, mail.ErrInvalidHeader},
		{"malformed Message-ID", func(m *mail.Message) { m.MessageID = "<a@b>\r\nBcc: x" }, mail.ErrInvalidHeader},
		{"CRLF in address", func(m *mail.Message) { m.To.Email = "taro@example.jp\r\nBcc: evil@example.com" }, mail.ErrInvalidAddress},
		{"two addresses", func(m *mail.Message) { m.To.Email = "a@example.com, b@example.com" }, mail.ErrInvalidAddress},
		{"name in address", func(m *mail.Message) { m.To.Email = "Bob <bob@example.com>" }, mail.ErrInvalidAddress},
		{"no at", func(m *mail.Message) { m.To.Email = "bob" }, mail.ErrInvalidAddress},
		{"empty from", func(m *mail.Message) { m.From.Email = "" }, mail.ErrInvalidAddress},
		{"non-ASCII address", func(m *mail.Message) { m.To.Email = "太郎@example.jp" }, mail.ErrInvalidAddress},
		{"no text", func(m *mail.Message) { m.Text = "" }, mail.ErrInvalidBody},
		{"overlong ASCII subject", func(m *mail.Message) { m.Subject = strings.Repeat("a", 1000) }, mail.ErrInvalidHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMessage()
			tt.mutate(&m)
			raw, err := m.Bytes()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Bytes() error = %v, want %v", err, tt.wantErr)
			}
			if raw != nil {
				t.Errorf("Bytes() returned %d bytes with the error", len(raw))
			}
			if strings.Contains(err.Error(), "evil@") {
				t.Errorf("error %q repeats the injected address", err)
			}
		})
	}
}

func TestBytesQuotesAwkwardNames(t *testing.T) {
	names := []string{`Bob "the builder" <b@x>`, "O'Brien, Pat", "<script>alert(1)</script>", "Zoë", "Bcc: evil@example.com"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m := sampleMessage()
			m.To.Name = name
			raw := compose(t, m)
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("ReadMessage() = %v", err)
			}
			if got := msg.Header.Get("Bcc"); got != "" {
				t.Errorf("Bcc header %q", got)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil {
				t.Fatalf("AddressList(To) = %v", err)
			}
			if len(to) != 1 || to[0].Name != name || to[0].Address != m.To.Email {
				t.Errorf("To = %+v, want one address named %q", to, name)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	m := sampleMessage()
	p, err := mail.Parse(compose(t, m))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	got := struct{ Subject, Text, HTML string }{p.Subject, p.Text, p.HTML}
	want := struct{ Subject, Text, HTML string }{m.Subject, m.Text, m.HTML}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse() (-want +got):\n%s", diff)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := mail.Parse([]byte("no header separator")); err == nil {
		t.Error("Parse() = nil error for garbage")
	}
}
