package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func exitCode(err error) int {
	var ex *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ex):
		return ex.code
	default:
		return 1
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLegacyImportCommand: a file with good and bad lines, its re-import,
// a dry run, a file with nothing importable, and the status.
func TestLegacyImportCommand(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "native@example.com", "--password-stdin", "--email-verified"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("old-pass"), 4)
	if err != nil {
		t.Fatal(err)
	}
	csv := strings.Join([]string{
		"legacy_id,email,name,password_hash,roles",
		fmt.Sprintf("1001,aoi@example.com,Aoi,%s,admin;staff", bc), // 2: good
		"1002,ren@example.com,Ren,,",                               // 3: good, no hash
		",nobody@example.com,,,",                                   // 4: missing legacy_id
		"1004,not-an-email,,,",                                     // 5: bad email
		"1001,aoi2@example.com,,,",                                 // 6: repeated legacy_id
		"1006,x@example.com,,md5$abc$def,",                         // 7: unknown hash format
		"1007,Native@Example.com,,,",                               // 8: a native account's email
		"1008,REN@example.com,,,",                                  // 9: repeats line 3's email
	}, "\n") + "\n"
	file := writeFile(t, "users.csv", csv)

	out, err := run(t, "", "legacy", "import", "--config", cfg, "--file", file, "--dry-run")
	if exitCode(err) != 2 || !strings.Contains(out, "created 2, updated 0, unchanged 0, rejected 6") || !strings.Contains(out, "dry run") {
		t.Errorf("dry run: exit %d\n%s", exitCode(err), out)
	}
	if out, _ := run(t, "", "legacy", "status", "--config", cfg); !strings.Contains(out, "imported 0") {
		t.Errorf("a dry run wrote users:\n%s", out)
	}
	out, err = run(t, "", "legacy", "import", "--config", cfg, "--file", file)
	if exitCode(err) != 2 || !strings.Contains(out, "created 2, updated 0, unchanged 0, rejected 6") {
		t.Fatalf("import: exit %d\n%s", exitCode(err), out)
	}
	for _, line := range []string{"line 4:", "line 5:", "line 6:", "line 7:", "line 8:", "line 9:"} {
		if !strings.Contains(out, line) {
			t.Errorf("no rejection for %s\n%s", line, out)
		}
	}
	if strings.Contains(out, "line 2:") || strings.Contains(out, "line 3:") || strings.Contains(out, string(bc)) {
		t.Errorf("good lines rejected, or a hash printed:\n%s", out)
	}
	// The same file again: nothing changes.
	out, err = run(t, "", "legacy", "import", "--config", cfg, "--file", file)
	if exitCode(err) != 2 || !strings.Contains(out, "created 0, updated 0, unchanged 2, rejected 6") {
		t.Errorf("re-import: exit %d\n%s", exitCode(err), out)
	}
	// A later JSON Lines file updates a name; everything accepted: exit 0.
	jsonl := writeFile(t, "later.jsonl", `{"legacy_id":"1002","email":"ren@example.com","name":"Ren K","roles":["staff"]}`+"\n")
	out, err = run(t, "", "legacy", "import", "--config", cfg, "--file", jsonl)
	if exitCode(err) != 0 || !strings.Contains(out, "updated 1") {
		t.Errorf("update: exit %d\n%s", exitCode(err), out)
	}
	// Nothing importable: exit 1.
	bad := writeFile(t, "bad.csv", "legacy_id,email\n,\n")
	if _, err := run(t, "", "legacy", "import", "--config", cfg, "--file", bad); exitCode(err) != 1 {
		t.Errorf("nothing importable: exit %d", exitCode(err))
	}
	if out, err := run(t, "", "legacy", "status", "--config", cfg); err != nil || !strings.Contains(out, "imported 2\nmigrated 0\nremaining 2\nhash_over_bounds 0\n") {
		t.Errorf("status: %v\n%s", err, out)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(filepath.Dir(cfg), "sekisho.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	aoi, err := st.GetUserByLegacyID(t.Context(), "1001")
	if err != nil || aoi.LegacyHash != string(bc) || strings.Join(aoi.Roles, ";") != "admin;staff" || aoi.ID == "1001" {
		t.Errorf("imported user: %+v %v", aoi, err)
	}
	if n, _ := st.GetUserByEmail(t.Context(), "native@example.com"); n.LegacyID != "" {
		t.Error("the native account was linked")
	}

	// Users imported when the cost bounds were higher (bcrypt up to 16,
	// argon2id up to 1 GiB) are counted: they must reset their password.
	over := []storage.LegacyUser{
		{LegacyID: "2001", Email: "sora@example.com", PasswordHash: "$2b$14$" + strings.TrimPrefix(string(bc), "$2a$04$")},
		{LegacyID: "2002", Email: "yui@example.com",
			PasswordHash: "$argon2id$v=19$m=1048576,t=4,p=4$c2VraXNoby1zYWx0LTE2Yg$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32))},
	}
	if _, err := st.ImportLegacyUsers(t.Context(), over, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", "legacy", "status", "--config", cfg); err != nil || !strings.Contains(out, "imported 4\nmigrated 0\nremaining 4\nhash_over_bounds 2\n") {
		t.Errorf("status with hashes over the bounds: %v\n%s", err, out)
	}
}

// TestLegacyImportLarge: 100,000 users (10,000 under the race detector)
// import in batches, with progress (each quarter, and the end).
func TestLegacyImportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large import")
	}
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	cfg := writeConfig(t, cliConfig)
	var b strings.Builder
	b.WriteString("legacy_id,email,name\n")
	for i := range largeImport {
		fmt.Fprintf(&b, "u%d,user%d@example.com,User %d\n", i, i, i)
	}
	file := writeFile(t, "large.csv", b.String())
	out, err := run(t, "", "legacy", "import", "--config", cfg, "--file", file, "--batch", fmt.Sprint(largeImport/20))
	if err != nil || !strings.Contains(out, fmt.Sprintf("created %d, updated 0, unchanged 0, rejected 0", largeImport)) ||
		strings.Count(out, "legacy import: ") < 4 {
		t.Errorf("large import: %v\n%.500s", err, out)
	}
}

// TestLegacyRemindCommand: reminders are queued in the outbox for the
// users not yet migrated, once per run; bad flags and a configuration
// without the bridge queue nothing.
func TestLegacyRemindCommand(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	withBridge := cliConfig + "legacy: {enabled: true, name: Old Shop}\n" +
		"clients:\n  - {id: shop, secret: shop-secret-0123456789-0123456789-abc, redirect_uris: [\"https://shop.example.com/cb\"], grant_types: [authorization_code]}\n"
	cfg := writeConfig(t, withBridge)
	file := writeFile(t, "users.jsonl", `{"legacy_id":"1","email":"aoi@example.com","lang":"ja"}`+"\n"+
		`{"legacy_id":"2","email":"ren@example.com"}`+"\n")
	if out, err := run(t, "", "legacy", "import", "--config", cfg, "--file", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", cfg, "--email", "native@example.com", "--password-stdin", "--email-verified"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(filepath.Dir(cfg), "sekisho.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	queued := func() []storage.OutboxMail {
		t.Helper()
		m, err := st.ListMail(t.Context(), storage.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	subject := []string{"--subject-template", "ja=【{{.Product}}】パスワード設定のお願い", "--subject-template", "{{.Product}}: set your password"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subject", nil, "subject-template"},
		{"bad template", []string{"--subject-template", "{{.Nope}}"}, "subject-template"},
		{"two for one language", []string{"--subject-template", "en=a", "--subject-template", "en=b"}, "two subject templates"},
		{"bad default language", append([]string{"--default-lang", "fr"}, subject...), "default-lang"},
		{"client without return_to", append([]string{"--client", "shop"}, subject...), "go together"},
		{"unregistered return_to", append([]string{"--client", "shop", "--return-to", "https://evil.example/"}, subject...), "not a redirect"},
	} {
		out, err := run(t, "", append([]string{"legacy", "remind", "--config", cfg}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("%s: %v\n%s", tc.name, err, out)
		}
	}
	if out, err := run(t, "", append([]string{"legacy", "remind", "--config", writeConfig(t, cliConfig)}, subject...)...); err == nil ||
		!strings.Contains(err.Error(), "legacy.enabled") {
		t.Errorf("without the bridge: %v\n%s", err, out)
	}
	if out, err := run(t, "", append([]string{"legacy", "remind", "--config", cfg, "--dry-run"}, subject...)...); err != nil ||
		!strings.Contains(out, "would queue (dry run, nothing written) 2 reminder(s)") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	if m := queued(); len(m) != 0 {
		t.Fatalf("refused runs or a dry run queued %d mail(s)", len(m))
	}
	out, err := run(t, "", append([]string{"legacy", "remind", "--config", cfg, "--client", "shop", "--return-to", "https://shop.example.com/cb"}, subject...)...)
	if err != nil || !strings.Contains(out, "queued 2 reminder(s)") {
		t.Fatalf("remind: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, m := range queued() {
		if m.Template != "legacy_reminder" || m.Status != storage.DeliveryPending {
			t.Errorf("queued %+v", m)
		}
		got[m.Recipient] = m.Subject
	}
	// ren has no language of their own: --default-lang, whose default is
	// ui.default_language (ja, the configuration leaves it out).
	want := map[string]string{"aoi@example.com": "【Old Shop】パスワード設定のお願い", "ren@example.com": "【Old Shop】パスワード設定のお願い"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reminders = %v, want %v", got, want)
	}
	// --default-lang en: ren's reminder in English, aoi's still in theirs.
	if out, err := run(t, "", append([]string{"legacy", "remind", "--config", cfg, "--default-lang", "en"}, subject...)...); err != nil {
		t.Fatalf("remind --default-lang en: %v\n%s", err, out)
	}
	subjects := map[string][]string{}
	for _, m := range queued() {
		subjects[m.Recipient] = append(subjects[m.Recipient], m.Subject)
	}
	if !slices.Contains(subjects["ren@example.com"], "Old Shop: set your password") ||
		slices.Contains(subjects["aoi@example.com"], "Old Shop: set your password") {
		t.Errorf("after --default-lang en: %v", subjects)
	}
}
