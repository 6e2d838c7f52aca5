package e2e

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/migrations"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// beforeOrganizations is the last schema version without organizations
// (migration 13 adds them).
const beforeOrganizations = 12

// oldSchemaStore makes a database of the schema before organizations
// with one account holding pw, written as that version wrote it, then
// opens it with today's code and migrates it forward.
func oldSchemaStore(t *testing.T, driver, id, email, pw string) storage.Storage {
	t.Helper()
	var dsn, sqlDriver string
	var dialect goose.Dialect
	switch driver {
	case gormstore.DriverSQLite:
		dsn, sqlDriver, dialect = filepath.Join(t.TempDir(), "old.db"), "sqlite", goose.DialectSQLite3
	default:
		dsn, sqlDriver, dialect = gormstoretest.PostgresDSN(t), "pgx", goose.DialectPostgres
	}
	db, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := migrations.Dialect(driver)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), beforeOrganizations); err != nil {
		t.Fatal(err)
	}
	hash, err := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2).Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO users (id, email, email_lower, email_verified, name, password_hash,
		created_at, updated_at) VALUES ($1, $2, $2, TRUE, 'Old Timer', $3, $4, $4)`, id, email, hash, now); err != nil {
		t.Fatal(err)
	}
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate an old-schema database forward: %v", err)
	}
	return st
}

// TestUpgradeKeepsAccountsInDefault: a database of the schema before
// organizations, migrated forward, keeps its accounts, in the
// organization `default`: they sign in over HTTP as before in the email
// mode, and with the organization code `default` in the organization
// modes.
func TestUpgradeKeepsAccountsInDefault(t *testing.T) {
	const id, email, pw = "old-1", "old.timer@example.com", "Old-timer-pass-1!"
	for _, driver := range []string{gormstore.DriverSQLite, gormstore.DriverPostgres} {
		for _, mode := range []string{config.IdentifierEmail, config.IdentifierOrgEmail} {
			t.Run(driver+"/"+mode, func(t *testing.T) {
				st := oldSchemaStore(t, driver, id, email, pw)
				e := newEnv(t, st, withMode(mode))
				u, err := e.store.GetUser(t.Context(), id)
				if err != nil || u.Email != email || u.Name != "Old Timer" || !u.EmailVerified || u.OrganizationID != storage.DefaultOrganizationID {
					t.Fatalf("the old account after the migration: %+v, %v; want it kept, in the default organization", u, err)
				}
				o, err := e.store.GetOrganization(t.Context(), u.OrganizationID)
				if err != nil || o.Code != "default" {
					t.Fatalf("its organization: %+v, %v; want code default", o, err)
				}
				b := e.browser()
				a := newAuthz("web", webCB, "openid")
				tok := e.tokensFor(t, b.signInAs(t, b.get(a.url(e.cfg.Issuer)), "default", email, pw), a)
				if tok.IDTokenClaims.Subject != id {
					t.Errorf("signed in as %q, want the old account %q", tok.IDTokenClaims.Subject, id)
				}
			})
		}
	}
}
