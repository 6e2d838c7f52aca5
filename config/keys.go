package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// UnknownKeyError is a key of the file that no configuration field takes.
type UnknownKeyError struct {
	Line, Column int
	Key          string // as written, "prot"
	Path         string // where, "smtp.prot"
	Suggestion   string // the nearest key at that level, or ""
	Hint         string // why the key is not read from the file, or ""
}

func (e *UnknownKeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d, column %d: unknown field %q", e.Line, e.Column, e.Key)
	if e.Path != e.Key {
		fmt.Fprintf(&b, " (%s)", e.Path)
	}
	switch {
	case e.Hint != "":
		b.WriteString(": " + e.Hint)
	case e.Suggestion != "":
		fmt.Fprintf(&b, "; did you mean %q?", e.Suggestion)
	}
	return b.String()
}

// topLevelHints explain keys people expect in the file that are read
// elsewhere.
var topLevelHints = map[string]string{
	"secret": "the secret is read from the environment only: set " + EnvSecret,
	"dev":    "development mode is the --dev flag of serve",
}

// unknownKeys walks the document under n against the Config struct tree
// and reports every key that no field takes, in document order, each with
// its line and the nearest key at its level (go-yaml's strict mode stops
// at the first one). Values whose type decodes itself (Duration) are not
// entered; type errors are left to the decoder.
func unknownKeys(n ast.Node) []error {
	var errs []error
	var walk func(n ast.Node, t reflect.Type, top bool)
	walk = func(n ast.Node, t reflect.Type, top bool) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if decodesItself(t) && (t.Kind() != reflect.Struct || mappingValues(n) == nil) {
			// A struct that also decodes from a scalar (Labels) is
			// still checked key by key when written as a mapping.
			return
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			walk(v.Value, t, top)
			return
		case *ast.TagNode:
			walk(v.Value, t, top)
			return
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			if seq, ok := n.(*ast.SequenceNode); ok {
				for _, el := range seq.Values {
					walk(el, t.Elem(), false)
				}
			}
		case reflect.Map:
			for _, mv := range mappingValues(n) {
				walk(mv.Value, t.Elem(), false)
			}
		case reflect.Struct:
			fields := yamlFields(t)
			for _, mv := range mappingValues(n) {
				if _, merge := mv.Key.(*ast.MergeKeyNode); merge {
					continue
				}
				key := keyName(mv.Key)
				if ft, ok := fields[key]; ok {
					walk(mv.Value, ft, false)
					continue
				}
				pos := mv.Key.GetToken().Position
				e := &UnknownKeyError{Line: pos.Line, Column: pos.Column, Key: key, Path: keyPath(mv.Value)}
				if top {
					e.Hint = topLevelHints[key]
				}
				if e.Hint == "" {
					e.Suggestion = nearest(key, fields)
				}
				errs = append(errs, e)
			}
		}
	}
	walk(n, reflect.TypeFor[Config](), true)
	return errs
}

// mappingValues returns the entries of a mapping (go-yaml may give a
// one-entry mapping as the entry itself); nil for anything else.
func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

func keyName(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.String()
}

// decodesItself reports whether values of t are decoded by their own
// method rather than field by field.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, m := range []string{"UnmarshalYAML", "UnmarshalText"} {
		if _, ok := p.MethodByName(m); ok {
			return true
		}
	}
	return false
}

// yamlFields maps the YAML keys of a struct to their field types, as the
// decoder names them: the yaml tag, else the lower-cased field name;
// inline structs contribute their own keys.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// nearest returns the key of fields closest to key by edit distance (case
// ignored), if it is close enough to be a likely misspelling: at most a
// third of the longer name, and at least one edit allowed.
func nearest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", -1
	for name := range fields {
		d := editDistance(strings.ToLower(key), name)
		if limit := max(1, max(len(key), len(name))/3); d > limit {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (with adjacent
// transpositions) between a and b, in bytes (keys are ASCII).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// keyErrors is the error of a document with problems at several keys:
// one per line under a count.
type keyErrors []error

func (e keyErrors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = "  " + err.Error()
	}
	return fmt.Sprintf("%d problems:\n%s", len(e), strings.Join(lines, "\n"))
}

func (e keyErrors) Unwrap() []error { return e }

// joinKeyErrors returns nil, the one error, or all of them as keyErrors.
func joinKeyErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return keyErrors(errs)
}
