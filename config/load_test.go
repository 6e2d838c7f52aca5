package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/google/go-cmp/cmp"
)

// lookupMap is an environment for parse.
func lookupMap(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestParseStrict(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{
			name: "misspelled client key",
			yaml: "issuer: https://login.example.com\nclients: [{id: a, redirct_uris: [https://a.example.com/cb]}]\n",
			want: []string{"redirct_uris", "line 2,"},
		},
		{
			name: "misspelled key in block style",
			yaml: "issuer: https://login.example.com\nsmtp:\n  host: mail\n  prot: 25\n",
			want: []string{`unknown field "prot"`, "line 4,"},
		},
		{
			name: "unknown top-level key",
			yaml: "issuer: x\nlistne: :8080\n",
			want: []string{`"listne"`, "line 2,"},
		},
		{
			name: "secret is not read from the file",
			yaml: "secret: c2VjcmV0\n",
			want: []string{`unknown field "secret"`},
		},
		{
			name: "dev is not read from the file",
			yaml: "dev: true\n",
			want: []string{`unknown field "dev"`},
		},
		{
			name: "wrong type",
			yaml: "smtp:\n  port: many\n",
			want: []string{"line 2,"},
		},
		{
			name: "syntax error",
			yaml: "clients: [\n",
			want: []string{"line 1,"},
		},
		{
			name: "two documents",
			yaml: "listen: :1\n---\nlisten: :2\n",
			want: []string{"more than one YAML document"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.yaml), lookupMap(nil))
			if err == nil {
				t.Fatal("parse succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		c, err := parse([]byte(src), lookupMap(nil))
		if err != nil {
			t.Fatalf("parse(%q): %v", src, err)
		}
		if diff := cmp.Diff(&Config{}, c); diff != "" {
			t.Errorf("parse(%q) mismatch (-want +got):\n%s", src, diff)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr []string
	}{
		{in: "15m", want: 15 * time.Minute},
		{in: "90s", want: 90 * time.Second},
		{in: "720h", want: 720 * time.Hour},
		{in: `"1h30m"`, want: 90 * time.Minute},
		{in: "abc", wantErr: []string{"lifetimes.code", "line 2", `invalid duration "abc"`}},
		{in: "300", wantErr: []string{"lifetimes.code", "line 2", `invalid duration "300"`}},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "off", want: -1},
		{in: "d", wantErr: []string{`invalid duration "d"`}},
		{in: "1.5d", wantErr: []string{`invalid duration "1.5d"`}},
		{in: "1d-1h", wantErr: []string{`invalid duration "1d-1h"`}},
		{in: "Off", wantErr: []string{`invalid duration "Off"`}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := parse([]byte("lifetimes:\n  code: "+tc.in+"\n"), lookupMap(nil))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("parse succeeded with %v, want an error", c.Lifetimes.Code)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Lifetimes.Code.D(); got != tc.want {
				t.Errorf("lifetimes.code = %v, want %v", got, tc.want)
			}
		})
	}
}

// Durations print back the way they are read.
func TestDurationString(t *testing.T) {
	for _, tc := range []struct {
		d    Duration
		want string
	}{
		{Off, "off"},
		{Duration(90 * 24 * time.Hour), "90d"},
		{Duration(36 * time.Hour), "1d12h0m0s"},
		{Duration(15 * time.Minute), "15m0s"},
		{0, "0s"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", tc.d, got, tc.want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(tc.d.String())); err != nil || back != tc.d {
			t.Errorf("round trip of %q: %v, %v", tc.want, back, err)
		}
	}
}

func TestParseEnvSubstitution(t *testing.T) {
	env := map[string]string{
		"HOST":   "db.internal",
		"PASS":   "p@ss: #not a comment",
		"PORT":   "2525",
		"SECRET": "0123456789abcdef0123456789abcdef",
		"EMPTY":  "",
	}
	src := `database:
  dsn: postgres://sekisho:${PASS}@${HOST}/sekisho
smtp:
  port: ${PORT}
  password: "${PASS}"
  username: "${EMPTY}"
  from: |
    ${HOST} mailer
clients:
  - id: web
    secret: ${SECRET}
    redirect_uris: ["https://${HOST}/cb", $HOST, "$${NOT_A_REF"]
`
	c, err := parse([]byte(src), lookupMap(env))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Database: Database{DSN: "postgres://sekisho:p@ss: #not a comment@db.internal/sekisho"},
		SMTP:     SMTP{Port: 2525, Password: env["PASS"], From: "db.internal mailer\n"},
		Clients: []Client{{
			ID:           "web",
			Secret:       env["SECRET"],
			RedirectURIs: []string{"https://db.internal/cb", "$HOST", "$${NOT_A_REF"},
		}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEnvUnset(t *testing.T) {
	src := "issuer: https://login.example.com\nclients:\n  - id: web\n    secret: ${WEB_SECRET}\nsmtp:\n  password: ${SMTP_PASS}\n"
	_, err := parse([]byte(src), lookupMap(nil))
	if err == nil {
		t.Fatal("parse succeeded, want an error")
	}
	for _, w := range []string{
		"clients[0].secret (line 4): environment variable WEB_SECRET is not set",
		"smtp.password (line 6): environment variable SMTP_PASS is not set",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sekisho.yaml")
	if err := os.WriteFile(path, []byte("issuer: ${TEST_ISSUER}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ISSUER", "https://sso.example.com")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://sso.example.com" {
		t.Errorf("issuer = %q, want the environment's value", c.Issuer)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load(missing file) succeeded")
	}
}

// exampleEnv holds the variables testdata/example.yaml refers to.
var exampleEnv = map[string]string{
	"DATABASE_URL":       "postgres://sekisho@db/sekisho",
	"SMTP_PASSWORD":      "smtp-password",
	"SHOP_CLIENT_SECRET": strings.Repeat("s", 40),
}

// TestExample checks that testdata/example.yaml, the annotated reference,
// loads and validates.
func TestExample(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	loadValid(t, "testdata/example.yaml")
}

// TestDeployConfig checks that deploy/config.yaml, the configuration of
// `docker compose up`, loads and validates with the variables compose sets.
func TestDeployConfig(t *testing.T) {
	t.Setenv("SEKISHO_DATABASE_DSN", "postgres://sekisho:sekisho@postgres:5432/sekisho?sslmode=disable")
	t.Setenv("APP_CLIENT_SECRET", strings.Repeat("a", 44))
	loadValid(t, "../deploy/config.yaml")
}

// loadValid loads the file at path as start-up does, with testSecret as
// SEKISHO_SECRET, and fails the test unless it validates.
func loadValid(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyEnv(func(name string) string {
		if name == EnvSecret {
			return testSecret
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExampleCoversEveryKey keeps testdata/example.yaml complete: every key
// of the Config struct tree must appear in it.
func TestExampleCoversEveryKey(t *testing.T) {
	file := parseExample(t)
	index := regexp.MustCompile(`\[\d+\]`)
	var inFile []string
	ast.Walk(visitFunc(func(n ast.Node) {
		if mv, ok := n.(*ast.MappingValueNode); ok {
			p := strings.TrimPrefix(mv.Value.GetPath(), "$.")
			inFile = append(inFile, index.ReplaceAllString(p, "[]"))
		}
	}), file.Docs[0])

	var missing []string
	for _, key := range structKeys(reflect.TypeFor[Config](), "") {
		if !slices.Contains(inFile, key) {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		t.Errorf("testdata/example.yaml lacks keys: %s", strings.Join(missing, ", "))
	}
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor { f(n); return f }

// structKeys lists the YAML key paths of a struct type, with "[]" for list
// elements, such as "clients[].lifetimes.id_token".
func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		key := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			keys = append(keys, structKeys(ft.Elem(), key+"[].")...)
			continue
		}
		if ft.Kind() == reflect.Struct {
			keys = append(keys, structKeys(ft, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// TestParseUnknownKeys: every unknown key of the file is reported in one
// run, in document order, each with its line and column and the nearest
// key of its level when one is close; keys read elsewhere say where.
func TestParseUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // the lines of the error, in order
	}{
		{
			name: "three at once",
			yaml: `issuer: https://login.example.com
listne: ":8080"
smtp:
  host: mail.example.com
  prot: 25
clients:
  - id: a
    redirct_uris: [https://a.example.com/cb]
`,
			want: []string{
				"3 problems:",
				`  line 2, column 1: unknown field "listne"; did you mean "listen"?`,
				`  line 5, column 3: unknown field "prot" (smtp.prot); did you mean "port"?`,
				`  line 8, column 5: unknown field "redirct_uris" (clients[0].redirct_uris); did you mean "redirect_uris"?`,
			},
		},
		{
			name: "flow style, nested, and nothing near",
			yaml: "clients: [{id: a, lifetimes: {acess_token: 5m}}]\nlog: {levle: info, colour: true}\n",
			want: []string{
				"3 problems:",
				`  line 1, column 31: unknown field "acess_token" (clients[0].lifetimes.acess_token); did you mean "access_token"?`,
				`  line 2, column 7: unknown field "levle" (log.levle); did you mean "level"?`,
				`  line 2, column 20: unknown field "colour" (log.colour)`,
			},
		},
		{
			name: "keys read elsewhere",
			yaml: "secret: c2VjcmV0\ndev: true\n",
			want: []string{
				"2 problems:",
				`  line 1, column 1: unknown field "secret": the secret is read from the environment only: set SEKISHO_SECRET`,
				`  line 2, column 1: unknown field "dev": development mode is the --dev flag of serve`,
			},
		},
		{
			name: "case differs",
			yaml: "Issuer: https://login.example.com\n",
			want: []string{`line 1, column 1: unknown field "Issuer"; did you mean "issuer"?`},
		},
		{
			name: "unset variable and unknown key together",
			yaml: "issuer: ${NO_SUCH_VARIABLE}\nlisten: ':1'\nsmpt: {host: x}\n",
			want: []string{
				"2 problems:",
				"  issuer (line 1): environment variable NO_SUCH_VARIABLE is not set",
				`  line 3, column 1: unknown field "smpt"; did you mean "smtp"?`,
			},
		},
		{
			name: "unknown key and a wrong type",
			yaml: "listne: ':1'\nsmtp: {port: many}\n",
			want: []string{"2 problems:", `  line 1, column 1: unknown field "listne"; did you mean "listen"?`, "  line 2, column"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.yaml), lookupMap(nil))
			if err == nil {
				t.Fatal("parse succeeded, want an error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d: %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
	// Each unknown key is an *UnknownKeyError, for callers that list them.
	_, err := parse([]byte("listne: x\nsmtp: {prot: 1}\n"), lookupMap(nil))
	var ue *UnknownKeyError
	if !errors.As(err, &ue) || ue.Key != "listne" || ue.Line != 1 || ue.Suggestion != "listen" {
		t.Errorf("errors.As(%v) = %+v", err, ue)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"port", "port", 0}, {"prot", "port", 1}, {"listne", "listen", 1}, {"", "abc", 3}, {"smtp", "smpt", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestUnknownKeysAcceptsEveryKey: the annotated example, which holds
// every key, has no unknown key for the walk (it follows the decoder).
func TestUnknownKeysAcceptsEveryKey(t *testing.T) {
	file := parseExample(t)
	if errs := unknownKeys(file.Docs[0].Body); len(errs) > 0 {
		t.Errorf("unknown keys in example.yaml: %v", errs)
	}
}

// parseExample parses testdata/example.yaml into its syntax tree.
func parseExample(t *testing.T) *ast.File {
	t.Helper()
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	return file
}
