package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"time"
)

// Errors returned by Message.Bytes. They are wrapped with the name of the
// offending field; test with errors.Is.
var (
	// ErrInvalidAddress reports a missing or malformed email address, or one
	// with non-ASCII characters.
	ErrInvalidAddress = errors.New("mail: invalid address")
	// ErrInvalidHeader reports a header value with a control character (CR,
	// LF, NUL, ...), a header name that is malformed or reserved, or a header
	// line that would be too long.
	ErrInvalidHeader = errors.New("mail: invalid header")
	// ErrInvalidBody reports a message without a text part.
	ErrInvalidBody = errors.New("mail: invalid body")
)

// maxHeaderLine is the longest header line Bytes writes, in octets without
// CRLF (RFC 5322 section 2.1.1).
const maxHeaderLine = 998

// Address is an email address with an optional display name.
type Address struct {
	// Name is the display name, such as "山田 太郎"; it may be empty and may
	// contain any printable Unicode, but no control characters.
	Name string
	// Email is the bare ASCII address, such as "taro@example.com".
	Email string
}

// String returns the address as an RFC 5322 mailbox: the name quoted or
// encoded (RFC 2047 Q-encoding for non-ASCII) followed by <Email>. It does
// not validate; Message.Bytes does.
func (a Address) String() string {
	return (&netmail.Address{Name: a.Name, Address: a.Email}).String()
}

// Header is one extra header field of a message, such as
// {"Auto-Submitted", "auto-generated"}.
type Header struct {
	// Name is the field name: ASCII letters, digits and '-'. It may not be
	// a field Bytes writes itself or one that adds recipients or changes
	// the sender: From, To, Cc, Bcc, Sender, Reply-To, Return-Path,
	// Subject, Date, Message-ID, MIME-Version, Content-Type and
	// Content-Transfer-Encoding.
	Name string
	// Value is the unstructured field value. Non-ASCII values are
	// RFC 2047-encoded; control characters are refused.
	Value string
}

// reservedHeaders are the fields an extra Header may not set: Bytes writes
// them, or they would add recipients or change the sender.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Sender": true,
	"Reply-To": true, "Return-Path": true, "Subject": true, "Date": true,
	"Message-Id": true, "Mime-Version": true, "Content-Type": true,
	"Content-Transfer-Encoding": true,
}

// Message is one email with a plain-text part and an optional HTML part.
type Message struct {
	// From is the author and To the single recipient. Their Email is
	// validated with net/mail and must be ASCII.
	From, To Address
	// Subject is the subject line, any printable Unicode; non-ASCII subjects
	// are RFC 2047 B-encoded as UTF-8.
	Subject string
	// Text is the plain-text body; it is required. HTML is the HTML
	// alternative; when it is empty the message is plain text only. Line
	// endings may be "\n" or "\r\n"; they are sent as CRLF.
	Text, HTML string
	// Date is the origination date. The zero value means the time Bytes is
	// called.
	Date time.Time
	// MessageID is the Message-ID including the angle brackets, such as
	// "<abc@example.com>". Empty means a random id at the domain of From.
	MessageID string
	// Headers are extra header fields, written after the standard ones.
	Headers []Header
}

// messageIDPattern is the form of a Message-ID Bytes accepts: one
// dot-atom-ish left part and a domain, in angle brackets.
var messageIDPattern = regexp.MustCompile(`^<[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]+@[A-Za-z0-9.-]+>$`)

// headerNamePattern restricts extra header names to a safe subset of the
// RFC 5322 field-name characters.
var headerNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Bytes renders m as an RFC 5322 message with CRLF line endings: From, To,
// Subject, Date, Message-ID, MIME-Version, the extra headers, then either a
// multipart/alternative body with text/plain and text/html parts, or a
// single text/plain body. Each part is UTF-8, quoted-printable or base64,
// whichever is shorter.
//
// Bytes refuses, rather than sanitises, anything that could inject a header:
// a control character in a display name, the subject or an extra header
// gives ErrInvalidHeader, and a malformed address gives ErrInvalidAddress.
func (m Message) Bytes() ([]byte, error) {
	if err := checkAddress("From", m.From); err != nil {
		return nil, err
	}
	if err := checkAddress("To", m.To); err != nil {
		return nil, err
	}
	if err := checkHeaderValue("Subject", m.Subject); err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, fmt.Errorf("%w: the text part is empty", ErrInvalidBody)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		id = newMessageID(m.From.Email)
	} else if !messageIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%w: Message-ID is malformed", ErrInvalidHeader)
	}

	var b bytes.Buffer
	h := headerWriter{buf: &b}
	h.write("From", m.From.String())
	h.write("To", m.To.String())
	h.write("Subject", encodeSubject(m.Subject))
	h.write("Date", date.Format(time.RFC1123Z))
	h.write("Message-ID", id)
	h.write("MIME-Version", "1.0")
	for _, x := range m.Headers {
		name := textproto.CanonicalMIMEHeaderKey(x.Name)
		if !headerNamePattern.MatchString(x.Name) || reservedHeaders[name] {
			return nil, fmt.Errorf("%w: header name %q is not allowed", ErrInvalidHeader, x.Name)
		}
		if err := checkHeaderValue(name, x.Value); err != nil {
			return nil, err
		}
		h.write(name, mime.QEncoding.Encode("UTF-8", x.Value))
	}
	if h.err != nil {
		return nil, h.err
	}

	if m.HTML == "" {
		body, cte := encodeBody(m.Text)
		h.write("Content-Type", mime.FormatMediaType("text/plain", map[string]string{"charset": "UTF-8"}))
		h.write("Content-Transfer-Encoding", cte)
		if h.err != nil {
			return nil, h.err
		}
		b.WriteString("\r\n")
		b.Write(body)
		return b.Bytes(), nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h.write("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	if h.err != nil {
		return nil, h.err
	}
	for _, part := range []struct{ mediaType, content string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		enc, cte := encodeBody(part.content)
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(part.mediaType, map[string]string{"charset": "UTF-8"})},
			"Content-Transfer-Encoding": {cte},
		})
		if err != nil {
			return nil, fmt.Errorf("mail: compose %s part: %w", part.mediaType, err)
		}
		if _, err := w.Write(enc); err != nil {
			return nil, fmt.Errorf("mail: compose %s part: %w", part.mediaType, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: compose: %w", err)
	}
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// headerWriter writes header fields and remembers the first overlong line.
type headerWriter struct {
	buf *bytes.Buffer
	err error
}

// write writes "name: value" and CRLF. value may already be folded with
// CRLF + space; each resulting line must fit maxHeaderLine.
func (h *headerWriter) write(name, value string) {
	if h.err != nil {
		return
	}
	line := name + ": " + value
	for l := range strings.SplitSeq(line, "\r\n") {
		if len(l) > maxHeaderLine {
			h.err = fmt.Errorf("%w: %s is too long", ErrInvalidHeader, name)
			return
		}
	}
	h.buf.WriteString(line)
	h.buf.WriteString("\r\n")
}

// checkAddress validates a From or To address: a bare ASCII addr-spec that
// net/mail parses back to itself, and a display name without control
// characters.
func checkAddress(field string, a Address) error {
	if a.Email == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidAddress, field)
	}
	if err := checkEmail(a.Email); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidAddress, field, err)
	}
	if err := checkHeaderValue(field+" name", a.Name); err != nil {
		return err
	}
	return nil
}

// checkEmail reports whether addr is a bare ASCII addr-spec. The error does
// not repeat the address, which may be personal data.
func checkEmail(addr string) error {
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; c <= ' ' || c >= 0x7f {
			return errors.New("contains a space, control or non-ASCII character")
		}
	}
	parsed, err := netmail.ParseAddress(addr)
	if err != nil {
		return err
	}
	if parsed.Name != "" || parsed.Address != addr {
		return errors.New("not a bare address")
	}
	return nil
}

// checkHeaderValue refuses ASCII control characters other than tab, so no
// value can end a header line or start a new one.
func checkHeaderValue(field, v string) error {
	for _, r := range v {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return fmt.Errorf("%w: %s contains control character %U", ErrInvalidHeader, field, r)
		}
	}
	return nil
}

// encodeSubject B-encodes a subject that is not plain ASCII and folds the
// encoded words onto separate lines. Decoders ignore the folding whitespace
// between encoded words.
func encodeSubject(s string) string {
	enc := mime.BEncoding.Encode("UTF-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// newMessageID returns "<random@domain>" with the domain of from.
func newMessageID(from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return "<" + rand.Text() + "@" + domain + ">"
}

// base64LineLength is the length of base64 body lines (RFC 2045 allows 76).
const base64LineLength = 76

// encodeBody encodes s with CRLF line endings as quoted-printable or, when
// that is longer (mostly non-ASCII text such as Japanese), as base64. It
// returns the encoded body and the Content-Transfer-Encoding value.
func encodeBody(s string) ([]byte, string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")

	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write([]byte(s))
	_ = w.Close()

	crlf := strings.ReplaceAll(s, "\n", "\r\n")
	if qp.Len() <= base64.StdEncoding.EncodedLen(len(crlf))*(base64LineLength+2)/base64LineLength {
		return qp.Bytes(), "quoted-printable"
	}
	enc := base64.StdEncoding.EncodeToString([]byte(crlf))
	var b bytes.Buffer
	for len(enc) > base64LineLength {
		b.WriteString(enc[:base64LineLength])
		b.WriteString("\r\n")
		enc = enc[base64LineLength:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return b.Bytes(), "base64"
}
