package password

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// Catalog keys of the rules of a Policy, in the order Check and Rules list
// them. The messages live in the UI catalogs (i18n/catalog); KeyTooShort and
// KeyTooLong take one argument, the number of characters.
const (
	KeyTooShort           = "password.policy.too_short"           // Args: MinLength
	KeyTooLong            = "password.policy.too_long"            // Args: MaxLength
	KeyNeedUpper          = "password.policy.need_upper"          // no Args
	KeyNeedLower          = "password.policy.need_lower"          // no Args
	KeyNeedDigit          = "password.policy.need_digit"          // no Args
	KeyNeedSymbol         = "password.policy.need_symbol"         // no Args
	KeyContainsIdentifier = "password.policy.contains_identifier" // no Args
	KeyCommon             = "password.policy.common"              // no Args
	KeySameAsCurrent      = "password.policy.same_as_current"     // no Args
)

// Names of the built-in policies, the values of password_policy.preset.
const (
	PresetDefault = "default"
	PresetNIST    = "nist"
)

// Bounds that Validate enforces on MaxLength: NIST SP 800-63B-4 asks that
// passwords of at least 64 characters be accepted, and MaxRunes is what
// Normalize and the Hasher accept.
const (
	leastMaxLength = 64
	mostMaxLength  = MaxRunes
)

// minContainedRunes is the shortest identifier (email, its local part, login
// id) that a password may not contain. A shorter identifier only may not be
// the whole password: refusing every password that contains "tom" or "ann"
// would refuse "tomorrow" and "banner" for no gain in security.
const minContainedRunes = 4

var (
	// ErrInvalidPolicy is wrapped by every *FieldError that Validate reports.
	ErrInvalidPolicy = errors.New("password: invalid policy")
	// ErrUnknownPreset is returned by PolicyPreset for a name it does not know.
	ErrUnknownPreset = errors.New("password: unknown policy preset")
)

// Policy is the set of rules a new password must satisfy. Lengths count
// Unicode characters (runes) of the NFKC-normalised password.
type Policy struct {
	MinLength int // at least 1
	MaxLength int // between 64 and MaxRunes (128)

	// Composition rules: at least one character of each kind required.
	// Upper and lower are cased letters (unicode.IsUpper, unicode.IsLower),
	// so letters without case, such as kana or kanji, satisfy neither.
	// Digit is unicode.IsDigit. Symbol is punctuation or a symbol
	// (unicode.IsPunct, unicode.IsSymbol): "!", "#", "€", "、"; a space,
	// a control or a combining mark is not a symbol.
	RequireUpper  bool
	RequireLower  bool
	RequireDigit  bool
	RequireSymbol bool

	// ForbidIdentifier refuses a password that equals, ignoring case, the
	// subject's email address, the local part of the email (before the
	// "@") or the login id, or that contains one of them when it is at
	// least 4 characters long; and a password whose core (core.go: the
	// password without the digits and symbols at its ends, substitutions
	// such as "0" for "o" undone) is one of the subject's context words:
	// the local part, the login id, the display name, the organization's
	// name or code, each also word by word (words of 4 or more letters).
	ForbidIdentifier bool
	// ForbidCurrent refuses the subject's current password (see
	// Subject.IsCurrent).
	ForbidCurrent bool
	// Blocklist refuses the common passwords of IsCommon, a password
	// whose core is one of them ("P@ssw0rd2024!"), and a password whose
	// core is the name of the service: "sekisho" or one of ServiceNames.
	Blocklist bool
	// ServiceNames are further names of the service that Blocklist
	// refuses as cores, such as the legacy product's name (legacy.name).
	ServiceNames []string
}

// ProductName is the product's own name, a core that Blocklist always
// refuses.
const ProductName = "sekisho"

// DefaultPolicy returns the policy the products served by sekisho ask of
// their users: 8 to 128 characters, at least one upper-case letter,
// lower-case letter, digit and symbol, and none of the identifier, current
// password or common password.
func DefaultPolicy() Policy {
	return Policy{
		MinLength:        8,
		MaxLength:        MaxRunes,
		RequireUpper:     true,
		RequireLower:     true,
		RequireDigit:     true,
		RequireSymbol:    true,
		ForbidIdentifier: true,
		ForbidCurrent:    true,
		Blocklist:        true,
	}
}

// NISTPolicy returns a policy after NIST SP 800-63B-4 §3.1.1.2 for a password
// that is the only authentication factor: at least 15 characters, up to 128,
// no composition rules, and a blocklist of common passwords and context
// words (the identifiers), plus the current password refused.
func NISTPolicy() Policy {
	return Policy{
		MinLength:        15,
		MaxLength:        MaxRunes,
		ForbidIdentifier: true,
		ForbidCurrent:    true,
		Blocklist:        true,
	}
}

// PolicyPreset returns the built-in policy called name: PresetDefault
// ("default") or PresetNIST ("nist"). Any other name gives an error wrapping
// ErrUnknownPreset that quotes it.
func PolicyPreset(name string) (Policy, error) {
	switch name {
	case PresetDefault:
		return DefaultPolicy(), nil
	case PresetNIST:
		return NISTPolicy(), nil
	}
	return Policy{}, fmt.Errorf("%w %q (want %q or %q)", ErrUnknownPreset, name, PresetDefault, PresetNIST)
}

// FieldError is one invalid field of a Policy. Field is the snake_case form
// of the Go field name ("min_length", "max_length"), so configuration code
// can prefix it with its own key path.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	return "password policy: " + e.Field + ": " + e.Message
}

// Unwrap returns ErrInvalidPolicy.
func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }

// Validate reports every invalid field of p at once, as errors.Join of
// *FieldError values (range over its Unwrap() []error to see each one), or
// returns nil.
func (p Policy) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if p.MinLength < 1 {
		add("min_length", "is %d, must be at least 1", p.MinLength)
	}
	if p.MaxLength < leastMaxLength {
		add("max_length", "is %d, must be at least %d", p.MaxLength, leastMaxLength)
	}
	if p.MaxLength > mostMaxLength {
		add("max_length", "is %d, must be at most %d", p.MaxLength, mostMaxLength)
	}
	if p.MinLength > p.MaxLength {
		add("min_length", "is %d, must not exceed max_length %d", p.MinLength, p.MaxLength)
	}
	return errors.Join(errs...)
}

// Rule is one requirement of a Policy as a message of the UI catalogs: Key is
// one of the Key… constants and Args are the message's arguments in the
// order of its fmt verbs (i18n.Printer.T(r.Key, r.Args...)).
type Rule struct {
	Key  string
	Args []any
}

// Violation is a Rule that a password breaks.
type Violation = Rule

// Subject is the account a password is chosen for. Its fields are the
// context words that ForbidIdentifier keeps out of the password; empty
// ones are skipped.
type Subject struct {
	Email   string
	LoginID string
	// Name is the account's display name.
	Name string
	// OrganizationName and OrganizationCode are those of the account's
	// organization (none yet: a hook for organizations).
	OrganizationName string
	OrganizationCode string
	// IsCurrent reports whether password is the account's current password,
	// typically by Hasher.Verify against the stored hash; it receives the
	// NFKC-normalised password. Nil skips the rule, as for a new account.
	IsCurrent func(password string) bool
}

// Rules lists the rules p enforces, in the order Check reports them, so that
// a form can show them before the user types.
func (p Policy) Rules() []Rule {
	var rs []Rule
	add := func(on bool, key string, args ...any) {
		if on {
			rs = append(rs, Rule{Key: key, Args: args})
		}
	}
	add(true, KeyTooShort, p.MinLength)
	add(true, KeyTooLong, p.maxRunes())
	add(p.RequireUpper, KeyNeedUpper)
	add(p.RequireLower, KeyNeedLower)
	add(p.RequireDigit, KeyNeedDigit)
	add(p.RequireSymbol, KeyNeedSymbol)
	add(p.ForbidIdentifier, KeyContainsIdentifier)
	add(p.Blocklist, KeyCommon)
	add(p.ForbidCurrent, KeySameAsCurrent)
	return rs
}

// Check returns every rule of p that password breaks, in the order of Rules,
// or nil if it is acceptable. The password is first normalised to NFKC, as
// Hash does, and lengths count its runes. A password that Normalize refuses
// (over MaxRunes characters or MaxBytes bytes) gives the one violation
// KeyTooLong, with no other rule checked. s.IsCurrent is called last, and
// only when ForbidCurrent is set.
func (p Policy) Check(password string, s Subject) []Violation {
	pw, err := Normalize(password)
	if err != nil {
		return []Violation{{Key: KeyTooLong, Args: []any{p.maxRunes()}}}
	}
	var vs []Violation
	add := func(broken bool, key string, args ...any) {
		if broken {
			vs = append(vs, Violation{Key: key, Args: args})
		}
	}
	n := utf8.RuneCountInString(pw)
	add(n < p.MinLength, KeyTooShort, p.MinLength)
	add(n > p.maxRunes(), KeyTooLong, p.maxRunes())

	var upper, lower, digit, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			symbol = true
		}
	}
	add(p.RequireUpper && !upper, KeyNeedUpper)
	add(p.RequireLower && !lower, KeyNeedLower)
	add(p.RequireDigit && !digit, KeyNeedDigit)
	add(p.RequireSymbol && !symbol, KeyNeedSymbol)

	folded := fold(pw)
	cs := cores(folded)
	add(p.ForbidIdentifier && (containsIdentifier(folded, s) || coreIsWord(cs, s.contextWords())), KeyContainsIdentifier)
	add(p.Blocklist && (isCommonFolded(folded) || coreIsCommon(cs) ||
		coreIsWord(cs, contextWords(append([]string{ProductName}, p.ServiceNames...)...))), KeyCommon)
	add(p.ForbidCurrent && s.IsCurrent != nil && s.IsCurrent(pw), KeySameAsCurrent)
	return vs
}

// maxRunes is the effective maximum length: MaxLength, or MaxRunes when
// MaxLength is unset or beyond what Normalize accepts.
func (p Policy) maxRunes() int {
	if p.MaxLength <= 0 || p.MaxLength > MaxRunes {
		return MaxRunes
	}
	return p.MaxLength
}

// contextWords are the words that a core of the subject's password may
// not be.
func (s Subject) contextWords() []string {
	local := strings.TrimSpace(s.Email)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	return contextWords(local, s.LoginID, s.Name, s.OrganizationName, s.OrganizationCode)
}

// containsIdentifier reports whether the folded password equals one of s's
// identifiers or contains one of at least minContainedRunes characters.
func containsIdentifier(folded string, s Subject) bool {
	email := strings.TrimSpace(s.Email)
	ids := []string{email, strings.TrimSpace(s.LoginID)}
	if at := strings.LastIndexByte(email, '@'); at > 0 {
		ids = append(ids, email[:at])
	}
	for _, id := range ids {
		id, err := Normalize(id)
		if err != nil || id == "" {
			// An identifier too long to normalise is longer than any
			// password that reaches here, so cannot be contained in it.
			continue
		}
		id = fold(id)
		if folded == id || utf8.RuneCountInString(id) >= minContainedRunes && strings.Contains(folded, id) {
			return true
		}
	}
	return false
}

// fold returns s case-folded, for comparisons that ignore case.
func fold(s string) string {
	return cases.Fold().String(s) // a Caser is not safe for concurrent use
}
