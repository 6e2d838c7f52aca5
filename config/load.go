package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads the YAML file at path, replaces every ${NAME} in its string
// values with the environment variable NAME, and decodes it strictly:
// every unknown key is reported, each with its line and the nearest known
// key. A relative branding.logo is made relative to the file's directory.
//
// Load neither applies environment overrides nor defaults nor validates;
// callers continue with ApplyEnv, ApplyDefaults and Validate, in that order.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	// Files the configuration names are read from its own directory.
	if c.Branding.Logo != "" && !filepath.IsAbs(c.Branding.Logo) {
		c.Branding.Logo = filepath.Join(filepath.Dir(path), c.Branding.Logo)
	}
	return c, nil
}

// parse decodes a configuration document, looking up ${NAME} references
// with lookup. It reports every unset variable and every unknown key (with
// a "did you mean") at once.
func parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, oneLine(err)
	}
	var c Config
	switch len(file.Docs) {
	case 0:
		return &c, nil
	case 1:
	default:
		return nil, errors.New("more than one YAML document")
	}
	body := file.Docs[0].Body
	if body == nil {
		return &c, nil
	}
	// Every unset variable and every unknown key at once; then the first
	// value of a wrong type, if the decoder meets one.
	var errs []error
	envErr := expandEnv(body, lookup)
	if envErr != nil {
		errs = append(errs, envErr.(interface{ Unwrap() []error }).Unwrap()...)
	}
	errs = append(errs, unknownKeys(body)...)
	if len(errs) > 0 {
		// An unset variable reads as "", which may not fit its field: a
		// type error then would only repeat it.
		if err := yaml.NodeToValue(body, &c); err != nil && envErr == nil {
			errs = append(errs, oneLine(err))
		}
		return nil, joinKeyErrors(errs)
	}
	if err := yaml.NodeToValue(body, &c, yaml.Strict()); err != nil {
		return nil, oneLine(err)
	}
	return &c, nil
}

// oneLine rewrites a go-yaml error, which spans several lines with a source
// excerpt, as "line L, column C: message" so that it reads well in a log.
func oneLine(err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil {
		pos := yerr.GetToken().Position
		return fmt.Errorf("line %d, column %d: %s", pos.Line, pos.Column, yerr.GetMessage())
	}
	return err
}

// envRef matches one ${NAME} reference.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} references in every string value (not key)
// under n, in place. It reports every unset variable at once, each with the
// key and line that refer to it.
func expandEnv(n ast.Node, lookup func(string) (string, bool)) error {
	var errs []error
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		switch n := n.(type) {
		case *ast.MappingNode:
			for _, mv := range n.Values {
				walk(mv)
			}
		case *ast.MappingValueNode:
			walk(n.Value)
		case *ast.SequenceNode:
			for _, v := range n.Values {
				walk(v)
			}
		case *ast.AnchorNode:
			walk(n.Value)
		case *ast.TagNode:
			walk(n.Value)
		case *ast.LiteralNode:
			walk(n.Value)
		case *ast.StringNode:
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
				name := envRef.FindStringSubmatch(ref)[1]
				v, ok := lookup(name)
				if !ok {
					errs = append(errs, fmt.Errorf("%s (line %d): environment variable %s is not set",
						keyPath(n), n.GetToken().Position.Line, name))
				}
				return v
			})
		}
	}
	walk(n)
	return errors.Join(errs...)
}

// keyPath turns a YAML path such as "$.clients[0].secret" into the key path
// used in error messages, "clients[0].secret".
func keyPath(n ast.Node) string {
	p := strings.TrimPrefix(strings.TrimPrefix(n.GetPath(), "$"), ".")
	if p == "" {
		return "(document)"
	}
	return p
}
