package gormstore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/sekisho/sekisho/migrations"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
	"github.com/sekisho/sekisho/storage/storagetest"
)

func TestSQLite(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Storage { return gormstoretest.NewSQLite(t) })
}

func TestPostgres(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Storage { return gormstoretest.NewPostgres(t) })
}

func TestOpenSQLiteCreatesDirectory(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "a", "b", "sekisho.db")
	s, err := gormstore.Open(t.Context(), gormstore.Config{Driver: gormstore.DriverSQLite, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A second Migrate has nothing to do.
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	if _, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "mysql", DSN: "x"}); err == nil {
		t.Fatal("Open(mysql) succeeded, want error")
	}
}

// TestPostgresConcurrentMigrate starts two stores on one fresh database and
// migrates both at once, as two replicas starting together would.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := gormstoretest.PostgresDSN(t)
	ctx := t.Context()
	stores := make([]*gormstore.Store, 2)
	for i := range stores {
		s, err := gormstore.Open(ctx, gormstore.Config{Driver: gormstore.DriverPostgres, DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id = 1").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Errorf("migration 1 recorded %d times, want 1", applied)
	}
	if err := stores[0].Ping(ctx); err != nil {
		t.Error(err)
	}
}

// A database that cannot be reached is reported as storage.ErrUnavailable,
// whatever the driver says, so callers can answer "try again later".
func TestUnavailable(t *testing.T) {
	t.Run("sqlite closed", func(t *testing.T) {
		s := gormstoretest.NewSQLite(t)
		s.Close()
		if _, err := s.GetUser(t.Context(), "x"); !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("GetUser on a closed store: %v, want ErrUnavailable", err)
		}
	})
	t.Run("postgres cut off", func(t *testing.T) {
		s, outage := gormstoretest.NewPostgresWithOutage(t)
		if _, err := s.GetUser(t.Context(), "00000000-0000-0000-0000-000000000000"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("before the outage: %v, want ErrNotFound", err)
		}
		outage.Cut()
		_, err := s.GetUser(t.Context(), "00000000-0000-0000-0000-000000000000")
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("during the outage: %v, want ErrUnavailable", err)
		}
		if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("Ping during the outage: %v, want ErrUnavailable", err)
		}
		outage.Restore()
		if _, err := s.GetUser(t.Context(), "00000000-0000-0000-0000-000000000000"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after the outage: %v, want ErrNotFound", err)
		}
	})
}

// upgradeCase is a database migrated up to an older version, with
// rows written by that version, then opened and migrated by today's code.
type upgradeCase struct {
	name, driver, sqlDriver string
	dialect                 goose.Dialect
	dsn                     func(t *testing.T) string
}

var upgradeCases = []upgradeCase{
	{"sqlite", gormstore.DriverSQLite, "sqlite", goose.DialectSQLite3,
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "sekisho.db") }},
	{"postgres", gormstore.DriverPostgres, "pgx", goose.DialectPostgres,
		func(t *testing.T) string { return gormstoretest.PostgresDSN(t) }},
}

// migrateUpTo creates the database of tc migrated up to version and
// returns a raw connection to it (closed when the test ends) and its DSN.
func migrateUpTo(t *testing.T, tc upgradeCase, version int64) (*sql.DB, string) {
	t.Helper()
	dsn := tc.dsn(t)
	db, err := sql.Open(tc.sqlDriver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys, err := migrations.Dialect(tc.driver)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(tc.dialect, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

// openMigrated opens dsn with today's code and migrates it to the end.
func openMigrated(t *testing.T, tc upgradeCase, dsn string) (*gormstore.Store, error) {
	t.Helper()
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: tc.driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, st.Migrate(t.Context())
}

// TestMigrationOldCookieName: migration 00009 marks the sessions open at
// the upgrade, and only those, as ones whose cookie may still carry the
// old name.
func TestMigrationOldCookieName(t *testing.T) {
	for _, tc := range upgradeCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			db, dsn := migrateUpTo(t, tc, 8)
			now := time.Now().UTC().Truncate(time.Microsecond)
			for _, s := range []struct {
				id    string
				ended any
			}{{"open", nil}, {"ended", now}} {
				_, err := db.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, auth_time, created_at, last_seen_at,
					idle_expires_at, absolute_expires_at, ended_at) VALUES ($1, $2, 'u1', $3, $3, $3, $4, $4, $5)`,
					s.id, "hash-"+s.id, now, now.Add(time.Hour), s.ended)
				if err != nil {
					t.Fatal(err)
				}
			}
			st, err := openMigrated(t, tc, dsn)
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]bool{"open": true, "ended": false} {
				if s, err := st.GetSession(ctx, id); err != nil || s.OldCookieName != want {
					t.Errorf("session %s after the migration: OldCookieName %v, %v; want %v", id, s.OldCookieName, err, want)
				}
			}
			fresh := storage.Session{ID: "fresh", TokenHash: "hash-fresh", UserID: "u1", AuthTime: now, CreatedAt: now,
				LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}
			if err := st.CreateSession(ctx, fresh); err != nil {
				t.Fatal(err)
			}
			if s, err := st.GetSession(ctx, "fresh"); err != nil || s.OldCookieName {
				t.Errorf("a session begun after the migration: OldCookieName %v, %v", s.OldCookieName, err)
			}
		})
	}
}

// TestMigrationRenormalizesEmails: migration 12 rewrites addresses stored
// before the one normaliser in their canonical form, so a full-width
// variant no longer stands beside its ASCII twin; when two accounts would
// collide it changes nothing and names them.
func TestMigrationRenormalizesEmails(t *testing.T) {
	insert := func(t *testing.T, db *sql.DB, id, email string) {
		t.Helper()
		now := time.Now().UTC()
		_, err := db.ExecContext(t.Context(), `INSERT INTO users (id, email, email_lower, name, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, '', '', $4, $4)`, id, email, strings.ToLower(strings.TrimSpace(email)), now)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range upgradeCases {
		t.Run(tc.name, func(t *testing.T) {
			db, dsn := migrateUpTo(t, tc, 11)
			insert(t, db, "u1", "ａｌｉｃｅ@ＥＸＡＭＰＬＥ.com")
			insert(t, db, "u2", "Bob@Example.COM")
			insert(t, db, "u3", "carol@example.com")
			st, err := openMigrated(t, tc, dsn)
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"u1": "alice@example.com", "u2": "Bob@example.com", "u3": "carol@example.com"} {
				u, err := st.GetUser(t.Context(), id)
				if err != nil || u.Email != want {
					t.Errorf("user %s after the migration: %q, %v; want %q", id, u.Email, err, want)
				}
			}
			if u, err := st.GetUserByEmail(t.Context(), "ALICE@example.com"); err != nil || u.ID != "u1" {
				t.Errorf("look-up of the renormalised address: %v, %v", u.ID, err)
			}
		})
		t.Run(tc.name+" collision", func(t *testing.T) {
			db, dsn := migrateUpTo(t, tc, 11)
			insert(t, db, "u1", "alice@example.com")
			insert(t, db, "u2", "ａｌｉｃｅ@example.com")
			insert(t, db, "u3", "ＢＯＢ@example.com")
			_, err := openMigrated(t, tc, dsn)
			if err == nil || !strings.Contains(err.Error(), "u1, u2") || strings.Contains(err.Error(), "u3") {
				t.Fatalf("migration with two accounts for one address: %v, want an error naming u1, u2", err)
			}
			var email string
			if err := db.QueryRowContext(t.Context(), "SELECT email FROM users WHERE id = 'u3'").Scan(&email); err != nil || email != "ＢＯＢ@example.com" {
				t.Errorf("a refused migration changed u3: %q, %v", email, err)
			}
		})
	}
}

// TestDatabaseTimeByDriver: PostgreSQL has a clock of its own; SQLite runs
// on this process's.
func TestDatabaseTimeByDriver(t *testing.T) {
	for name, tc := range map[string]struct {
		open func(testing.TB) *gormstore.Store
		ok   bool
	}{
		"sqlite":   {gormstoretest.NewSQLite, false},
		"postgres": {gormstoretest.NewPostgres, true},
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok, err := tc.open(t).DatabaseTime(t.Context()); err != nil || ok != tc.ok {
				t.Errorf("DatabaseTime: ok %v, %v; want ok %v", ok, err, tc.ok)
			}
		})
	}
}

// A machine token's commit skips the log flush for its own transaction
// only: the connection it used commits durably again afterwards, and the
// token reads back at once.
func TestPostgresLazyTokenCommitStaysLocal(t *testing.T) {
	s := gormstoretest.NewPostgres(t)
	ctx := t.Context()
	s.Pool().SetMaxOpenConns(1) // the next statement runs on the same connection
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := storage.AccessToken{ID: "lazy-1", ClientID: "svc", Subject: "svc", Scopes: []string{"a", "b"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateAccessToken(ctx, at); err != nil {
		t.Fatal(err)
	}
	var setting string
	if err := s.Pool().QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "on" {
		t.Errorf("synchronous_commit after CreateAccessToken = %q, want on", setting)
	}
	got, err := s.GetAccessToken(ctx, at.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.Equal(at.ExpiresAt) || strings.Join(got.Scopes, " ") != "a b" {
		t.Errorf("GetAccessToken = %+v, want %+v", got, at)
	}
}
