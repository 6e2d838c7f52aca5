package templates

import (
	"html/template"
	"slices"
	"strings"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/password"
)

// KeyPasswordMismatch is the error of a confirmation that differs from the
// new password. Pages show it under the confirmation field rather than
// above the form.
const KeyPasswordMismatch = "reset.error.mismatch"

// NewPasswordFields are a form's new-password and confirmation fields
// (template "new_password"). Under the first field stands a short summary
// of the rules; after a refused password, only the rules it broke stand
// there instead, and the field is described by them. A mismatch is said
// under the confirmation field. The render methods fill them in.
type NewPasswordFields struct {
	// ID and ConfirmID are the inputs' ids ("password", "confirm").
	ID, ConfirmID string
	// Label is the catalog key of the first field's label.
	Label string
	// Rules are the policy's rules (summed up); Violations those the
	// refused password broke.
	Rules, Violations []Message
	Mismatch          bool
	// Focus gives the first field autofocus; Optional leaves both
	// fields not required.
	Focus, Optional bool
}

// newPasswordFields are the fields of a form with the usual ids whose
// error is errKey: a mismatch moves from errKey to the confirmation field
// (the returned key is then empty).
func newPasswordFields(rules, violations []Message, errKey string) (NewPasswordFields, string) {
	f := NewPasswordFields{ID: "password", ConfirmID: "confirm", Label: "reset.new_password", Rules: rules, Violations: violations}
	if errKey == KeyPasswordMismatch {
		f.Mismatch, errKey = true, ""
	}
	return f, errKey
}

// passwordFuncs are the template functions of page's password fields:
// ruleSummary, and scripted, which tells the layout whether the page
// loads forms.js.
func passwordFuncs(p i18n.Printer, page string) template.FuncMap {
	scripted := slices.Contains(scriptPages, page)
	return template.FuncMap{
		"ruleSummary": func(rules []Message) string { return ruleSummary(p, rules) },
		"scripted":    func() bool { return scripted },
	}
}

// summaryKinds are the composition rules, with the catalog key of the kind
// of character each asks for, in the order of the summary.
var summaryKinds = []struct{ rule, kind string }{
	{password.KeyNeedUpper, "password.summary.upper"},
	{password.KeyNeedLower, "password.summary.lower"},
	{password.KeyNeedDigit, "password.summary.digit"},
	{password.KeyNeedSymbol, "password.summary.symbol"},
}

// ruleSummary sums the rules of a password policy up in a sentence or
// three (template function ruleSummary): the length and the kinds of
// character asked for, then what may not be used. "Not the current
// password" is left to the error: it goes without saying.
func ruleSummary(p i18n.Printer, rules []Message) string {
	if len(rules) == 0 {
		return ""
	}
	has := make(map[string]Message, len(rules))
	for _, r := range rules {
		has[r.Key] = r
	}
	var kinds []string
	for _, k := range summaryKinds {
		if _, ok := has[k.rule]; ok {
			kinds = append(kinds, p.T(k.kind))
		}
	}
	minLen, maxLen := max(ruleArg(has[password.KeyTooShort]), 1), ruleArg(has[password.KeyTooLong])
	if maxLen == 0 {
		maxLen = password.MaxRunes
	}
	var sentences []string
	if len(kinds) == 0 {
		sentences = append(sentences, p.T("password.summary.length", minLen, maxLen))
	} else {
		sentences = append(sentences, p.T("password.summary.length_kinds", minLen, maxLen, joinList(p, kinds)))
	}
	if _, ok := has[password.KeyContainsIdentifier]; ok {
		sentences = append(sentences, p.T("password.summary.identifier"))
	}
	if _, ok := has[password.KeyCommon]; ok {
		sentences = append(sentences, p.T("password.summary.common"))
	}
	var b strings.Builder
	for i, s := range sentences {
		// Japanese sentences follow each other without a space.
		if i > 0 && !strings.HasSuffix(sentences[i-1], "。") {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// ruleArg is the number a length rule carries, or 0.
func ruleArg(m Message) int {
	if len(m.Args) > 0 {
		if n, ok := m.Args[0].(int); ok {
			return n
		}
	}
	return 0
}

// joinList joins items as a list in p's language: "a, b and c", "a・b・c".
func joinList(p i18n.Printer, items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], p.T("password.summary.list_sep")) + p.T("password.summary.list_last") + items[len(items)-1]
}
