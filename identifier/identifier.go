// Package identifier normalises and validates what people type to name an
// account: email addresses and display names. It is the one place where
// such input is made canonical, so that storage, throttle keys and hourly
// caps agree on what "the same address" means, and full-width or other
// look-alike forms cannot make a second account.
//
// Email addresses: surrounding white space is trimmed; the local part goes
// through the PRECIS UsernameCasePreserved profile (RFC 8265: width
// folding, NFC) and must then be an ASCII dot-atom (RFC 5322), because the
// mail transport does not speak SMTPUTF8; the domain goes through IDNA
// lookup (UTS #46), which folds width and case and yields the ASCII
// (A-label) form. Addresses are compared through Key, a lower-cased copy.
//
// Display names go through the PRECIS Nickname profile (RFC 8266: spaces
// mapped and collapsed, NFKC, no control characters).
//
// Account names (the username of an organization's member) and
// organization codes (a facility code, a customer login ID) go through
// the PRECIS UsernameCasePreserved profile (width folding, NFC, no spaces
// or controls) after NFKC, and are compared through a lower-cased key.
package identifier

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Limits of the forms.
const (
	// MaxEmailLength is the longest address (RFC 5321 forward-path less
	// the angle brackets), counted after normalisation.
	MaxEmailLength = 254
	// maxLocalLength is the longest local part (RFC 5321 §4.5.3.1.1).
	maxLocalLength = 64
	// MaxUsernameLength is the longest account name or organization
	// code, in characters.
	MaxUsernameLength = 64
	// MaxNameLength is the longest display name, in characters.
	MaxNameLength = 255
	// maxInputBytes bounds what is looked at before normalising.
	maxInputBytes = 1024
)

// Errors callers decide on.
var (
	// ErrBadEmail: not an address sekisho can store and mail. The error
	// never repeats the input, which is personal data.
	ErrBadEmail = errors.New("identifier: not a valid email address")
	// ErrBadName: a display name that is too long or holds control or
	// other disallowed characters.
	ErrBadName = errors.New("identifier: not a valid name")
	// ErrBadUsername: an account name or organization code that is empty,
	// too long, or holds spaces, controls or other disallowed characters.
	ErrBadUsername = errors.New("identifier: not a valid account name or code")
)

// lookup is the IDNA profile for domains people type: UTS #46 mapping
// (width and case folded), STD3 host names, the Bidi rule.
var lookup = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true), idna.ValidateLabels(true),
	idna.VerifyDNSLength(true), idna.Transitional(false))

// Email returns the canonical form of an address as a person typed it, or
// ErrBadEmail. The canonical form keeps the local part's case (some mail
// servers honour it) and writes the domain in lower-case ASCII.
func Email(s string) (string, error) {
	if len(s) > maxInputBytes || !utf8.ValidString(s) {
		return "", ErrBadEmail
	}
	s = trimEdges(s)
	if hasControl(s) {
		return "", ErrBadEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		// A full-width at sign also counts: PRECIS would fold it, but it
		// must be found first.
		if at = strings.LastIndex(s, "＠"); at <= 0 || at == len(s)-len("＠") {
			return "", ErrBadEmail
		}
		s = s[:at] + "@" + s[at+len("＠"):]
	}
	local, domain := s[:at], s[at+1:]
	local, err := precis.UsernameCasePreserved.String(local)
	if err != nil || !dotAtom(local) || len(local) > maxLocalLength {
		return "", ErrBadEmail
	}
	// A fully qualified name's final dot names the same domain.
	domain, err = lookup.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || domain == "" || strings.HasSuffix(domain, ".") {
		return "", ErrBadEmail
	}
	out := local + "@" + domain
	if len(out) > MaxEmailLength {
		return "", ErrBadEmail
	}
	return out, nil
}

// trimEdges trims white space and the invisible characters a paste may
// bring along (zero-width space, byte-order mark) from both ends.
func trimEdges(s string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "\u200b\ufeff"))
}

// Key is the form under which addresses are compared and stored for
// look-up: the canonical form lower-cased (made in Go, since SQLite and
// PostgreSQL fold case differently). Input that is not a valid address
// gets a key of its own, trimmed and lower-cased, which matches no stored
// account but still names the attempt consistently (throttle keys).
func Key(s string) string {
	if e, err := Email(s); err == nil {
		return strings.ToLower(e)
	}
	return strings.ToLower(trimEdges(s))
}

// Same reports whether two inputs name the same address.
func Same(a, b string) bool { return Key(a) == Key(b) }

// Name returns the canonical form of a display name: empty stays empty
// (a name is optional); otherwise ErrBadName when it holds control
// characters or is longer than MaxNameLength characters.
func Name(s string) (string, error) {
	if len(s) > maxInputBytes || !utf8.ValidString(s) || hasControl(s) {
		return "", ErrBadName
	}
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	n, err := precis.Nickname.String(s)
	if err != nil || utf8.RuneCountInString(n) > MaxNameLength {
		return "", ErrBadName
	}
	return n, nil
}

// Username returns the canonical form of an account name or organization
// code, or ErrBadUsername.
func Username(s string) (string, error) {
	if len(s) > maxInputBytes || !utf8.ValidString(s) {
		return "", ErrBadUsername
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	if s == "" || hasControl(s) {
		return "", ErrBadUsername
	}
	u, err := precis.UsernameCasePreserved.String(s)
	if err != nil || utf8.RuneCountInString(u) > MaxUsernameLength {
		return "", ErrBadUsername
	}
	return u, nil
}

// UsernameKey is the form under which account names and organization
// codes are compared: the canonical form lower-cased. Input that is not
// valid gets a key of its own (trimmed, NFKC, lower-cased) that matches
// nothing stored but still names an attempt consistently.
func UsernameKey(s string) string {
	if u, err := Username(s); err == nil {
		return strings.ToLower(u)
	}
	return strings.ToLower(strings.TrimSpace(norm.NFKC.String(strings.ToValidUTF8(s, ""))))
}

// Mask hides most of an address for pages, logs and operator output:
// "a***@example.com".
func Mask(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}

// hasControl reports whether s holds a C0 or C1 control character or
// DEL (CR, LF and NUL included), which no name or address may carry.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return true
		}
	}
	return false
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII atext: no
// quoted local parts, no leading, trailing or doubled dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}
