// Package gormstoretest opens migrated gormstore.Store values for tests of
// any package: a SQLite file in a temporary directory, or a fresh
// PostgreSQL database created from TEST_DATABASE_URL and dropped when the
// test ends.
package gormstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/sekisho/sekisho/storage/gormstore"
)

// EnvDatabaseURL names the variable holding a PostgreSQL URL whose user
// may create databases (the "postgres" database is a fine target).
const EnvDatabaseURL = "TEST_DATABASE_URL"

// TestPoolSize bounds each test store's PostgreSQL pool: test packages
// run in parallel against one server (max_connections is 100 by default),
// and a few connections serve 50 concurrent requests well enough.
const TestPoolSize = 8

// NewSQLite returns a migrated store on a fresh SQLite file, closed when
// the test ends.
func NewSQLite(t testing.TB) *gormstore.Store {
	t.Helper()
	return open(t, gormstore.Config{
		Driver: gormstore.DriverSQLite,
		DSN:    filepath.Join(t.TempDir(), "sekisho.db"),
	})
}

// NewPostgres returns a migrated store on a fresh PostgreSQL database (see
// PostgresDSN), closed when the test ends.
func NewPostgres(t testing.TB) *gormstore.Store {
	t.Helper()
	return open(t, gormstore.Config{
		Driver:       gormstore.DriverPostgres,
		DSN:          PostgresDSN(t),
		MaxOpenConns: TestPoolSize,
	})
}

func open(t testing.TB, cfg gormstore.Config) *gormstore.Store {
	t.Helper()
	ctx := t.Context()
	s, err := gormstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// PostgresDSN creates an empty database named sekisho_test_<random> on the
// server at TEST_DATABASE_URL, returns its DSN and drops it (WITH (FORCE))
// when the test ends. When the variable is empty or the server does not
// answer, the test is skipped — or fails when CI=true, so CI cannot pass
// without PostgreSQL.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		skipOrFail(t, EnvDatabaseURL+" is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("gormstoretest: %s: %v", EnvDatabaseURL, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		skipOrFail(t, fmt.Sprintf("PostgreSQL at %s does not answer: %v", EnvDatabaseURL, err))
	}

	name := "sekisho_test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("gormstoretest: create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("gormstoretest: drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("gormstoretest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("gormstoretest: %s: %v", EnvDatabaseURL, err)
	}
	return dsn
}

// withDatabase returns dsn (a URL or a keyword/value string) pointing at
// database name.
func withDatabase(dsn, name string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " dbname=" + name, nil // the last dbname wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("gormstoretest: " + reason + " (CI=true: PostgreSQL is required)")
	}
	t.Skip("gormstoretest: " + reason)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
