package main

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// TestCommandsApplyEmailScope: a command opens the database in the scope
// of the configured sign-in mode, as the server does: the deployment-wide
// address key of the email mode is written in email mode and cleared in
// an organization mode (where addresses are unique per organization only).
func TestCommandsApplyEmailScope(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	emailCfg := writeConfig(t, cliConfig)
	dir := filepath.Dir(emailCfg)
	orgCfg := writeConfig(t, `issuer: http://localhost:8080
database: {driver: sqlite, dsn: `+filepath.Join(dir, "sekisho.db")+`}
password: {memory_kib: 8192, iterations: 1, parallelism: 1}
log: {level: error}
login: {identifier: organization+email}
`)
	if out, err := run(t, "S3cret-pass!\n", "user", "add", "--config", emailCfg, "--email", "ann@example.com", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	// The deployment-wide look-up finds an address only under the email
	// mode's key.
	global := func() bool {
		t.Helper()
		st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "sqlite", DSN: filepath.Join(dir, "sekisho.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.GetUserByEmail(t.Context(), "ann@example.com")
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !global() {
		t.Fatal("email mode: the address has no deployment-wide key")
	}
	if out, err := run(t, "", "migrate", "--config", orgCfg); err != nil {
		t.Fatalf("migrate (organization mode): %v\n%s", err, out)
	}
	if global() {
		t.Error("organization mode: the deployment-wide key stayed")
	}
	if out, err := run(t, "", "migrate", "--config", emailCfg); err != nil {
		t.Fatalf("migrate (email mode): %v\n%s", err, out)
	}
	if !global() {
		t.Error("email mode again: no deployment-wide key")
	}
}
