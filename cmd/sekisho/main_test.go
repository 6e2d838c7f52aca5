package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
)

// run executes the CLI in-process with stdin and returns its output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "sekisho.yaml")
	body = strings.ReplaceAll(body, "DIR", dir)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliConfig = `issuer: http://localhost:8080
database: {driver: sqlite, dsn: DIR/sekisho.db}
password: {memory_kib: 8192, iterations: 1, parallelism: 1}
log: {level: error}
`

func TestUserAndKeysCommands(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "Ann@Example.com", "--name", "Ann", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	// The policy knows the new account's name (and the product's).
	for _, pw := range []string{"Watanuki2024!", "Sekisho2024!"} {
		if _, err := run(t, pw+"\n", "user", "add", "--config", cfg, "--email", "kw@example.com", "--name", "Kei Watanuki", "--password-stdin"); err == nil ||
			!strings.Contains(err.Error(), "password policy") {
			t.Errorf("user add with password %q: %v, want refused by the policy", pw, err)
		}
	}
	if _, err := run(t, "x\n", "user", "add", "--config", cfg, "--email", "ann@example.com", "--password-stdin"); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate email (other case): %v", err)
	}
	out, err := run(t, "", "user", "list", "--config", cfg)
	// The address is stored in its canonical form: the domain in lower case.
	if err != nil || !strings.Contains(out, "Ann@example.com") || !strings.Contains(out, "not_registered") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if out, err := run(t, "", "user", "disable", "--config", cfg, "--email", "ann@example.com"); err != nil {
		t.Errorf("disable: %v %s", err, out)
	}
	if out, _ := run(t, "", "user", "list", "--config", cfg); !strings.Contains(out, "disabled") {
		t.Errorf("after disable: %s", out)
	}
	if _, err := run(t, "", "user", "delete", "--config", cfg, "--email", "nobody@example.com"); err == nil {
		t.Error("deleting an unknown user succeeded")
	}
	// On a database where nothing signs yet, the first key signs at once;
	// a later rotation waits for every replica to load it.
	for i, want := range []string{"published", "pending"} {
		if out, err := run(t, "", "keys", "rotate", "--config", cfg); err != nil || !strings.Contains(out, "new key") {
			t.Fatalf("keys rotate %d: %v %s", i, err, out)
		}
		out, err := run(t, "", "keys", "list", "--config", cfg)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != i+2 || !strings.Contains(lines[i+1], want) {
			t.Errorf("keys list after rotation %d: %v\n%s", i, err, out)
		}
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig+"clients:\n  - id: app\n    redirct_uris: [https://app.example/cb]\n")
	_, err := run(t, "", "migrate", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "redirct_uris") || !strings.Contains(err.Error(), "line") {
		t.Errorf("misspelled key: %v", err)
	}
	cfg = writeConfig(t, cliConfig+"clients:\n  - id: app\n    secret: short\n    redirect_uris: [https://app.example/cb]\n")
	if _, err := run(t, "", "migrate", "--config", cfg); err == nil || !strings.Contains(err.Error(), "clients[0].secret") {
		t.Errorf("short secret: %v", err)
	}
	t.Setenv("SEKISHO_SECRET", "")
	// The message says how to make one.
	if _, err := run(t, "", "migrate", "--config", writeConfig(t, cliConfig)); err == nil || !strings.Contains(err.Error(), "SEKISHO_SECRET") ||
		!strings.Contains(err.Error(), `export SEKISHO_SECRET="$(head -c 32 /dev/urandom | base64)"`) {
		t.Errorf("missing secret: %v", err)
	}
}

// TestConfigUnknownKeysAtOnce: one run of a command names every unknown
// key of the file, each with its line and a suggestion, and writes nothing.
func TestConfigUnknownKeysAtOnce(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig+"sesion: {idle_timeout: 1h}\nclients:\n  - id: app\n    redirct_uris: [https://app.example/cb]\n    scops: [openid]\n")
	_, err := run(t, "", "migrate", "--config", cfg)
	if err == nil {
		t.Fatal("migrate with unknown keys succeeded")
	}
	for _, want := range []string{
		cfg + ": 3 problems:",
		`line 5, column 1: unknown field "sesion"; did you mean "session"?`,
		`line 8, column 5: unknown field "redirct_uris" (clients[0].redirct_uris); did you mean "redirect_uris"?`,
		`line 9, column 5: unknown field "scops" (clients[0].scops); did you mean "scopes"?`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	if _, statErr := os.Stat(filepath.Join(filepath.Dir(cfg), "sekisho.db")); !os.IsNotExist(statErr) {
		t.Errorf("a database was made despite the bad file: %v", statErr)
	}
}

// user add refuses control characters and bad addresses before writing
// anything, stores the canonical address (a full-width variant cannot
// make a second account), and writes the user with its verification mail.
func TestUserAddInput(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	for _, tc := range []struct {
		name, email, userName, wantErr string
	}{
		{"CR LF in the name", "cr@example.com", "Eve\r\nBcc: x@example.com", "--name"},
		{"NUL in the name", "nul@example.com", "Eve\x00", "--name"},
		{"LF in the email", "lf@example.com\nBcc: x@example.com", "Eve", "--email"},
		{"not an address", "not-an-address", "Eve", "--email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", tc.email, "--name", tc.userName, "--password-stdin")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("user add: %v, want an error about %s", err, tc.wantErr)
			}
		})
	}
	if out, _ := run(t, "", "user", "list", "--config", cfg); strings.Contains(out, "example.com") {
		t.Errorf("refused users were stored:\n%s", out)
	}
	if out, _ := run(t, "", "outbox", "list", "--config", cfg); strings.Count(out, "verify_email") != 0 {
		t.Errorf("refused users got mails:\n%s", out)
	}
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "ｂｏｂ@ＥＸＡＭＰＬＥ.com", "--name", "Ｂｏｂ　Ｓｍｉｔｈ", "--password-stdin"); err != nil ||
		!strings.Contains(out, "bob@example.com") {
		t.Fatalf("full-width user add: %v\n%s", err, out)
	}
	if _, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "Bob@example.com", "--password-stdin"); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second account for the same address: %v", err)
	}
	out, _ := run(t, "", "user", "list", "--config", cfg)
	if !strings.Contains(out, "Bob Smith") {
		t.Errorf("user list: the name is not in its canonical form:\n%s", out)
	}
	if out, _ := run(t, "", "outbox", "list", "--config", cfg); strings.Count(out, "verify_email") != 1 {
		t.Errorf("want one verification mail in the outbox:\n%s", out)
	}
}

// The development secret is published in the source: every command that
// reads SEKISHO_SECRET refuses it outside --dev, naming the variable.
func TestDevSecretRefused(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", config.DevSecret)
	cfg := writeConfig(t, cliConfig)
	for _, args := range [][]string{
		{"serve", "--config", cfg},
		{"migrate", "--config", cfg},
		{"user", "list", "--config", cfg},
		{"outbox", "list", "--config", cfg},
		{"keys", "rotate", "--config", cfg},
	} {
		_, err := run(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "SEKISHO_SECRET: is the development secret") {
			t.Errorf("%s: %v, want SEKISHO_SECRET refused", strings.Join(args[:len(args)-2], " "), err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "sekisho.db")); !os.IsNotExist(err) {
		t.Errorf("a command opened the database before refusing the secret: %v", err)
	}
}
