package gormstore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

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
