// Package gormstore implements storage.Storage with gorm on SQLite (the
// pure-Go github.com/glebarez/sqlite driver) and PostgreSQL. The schema
// comes from the goose migrations in package migrations; Migrate applies
// them.
//
// SQLite runs in WAL mode with a busy timeout and one connection, so
// concurrent writers queue instead of failing with SQLITE_BUSY. Times are
// stored in UTC with microsecond precision on both databases, and every
// returned time is in UTC.
package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sekisho/sekisho/migrations"
	"github.com/sekisho/sekisho/storage"
)

// Drivers accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

const (
	defaultPostgresMaxOpenConns = 20
	sqliteBusyTimeout           = 10 * time.Second
	slowQueryThreshold          = 500 * time.Millisecond

	// migrationLockID is the PostgreSQL advisory lock that serialises
	// Migrate across processes; signingKeyLockID serialises
	// EnsureSigningKey. Both are arbitrary constants private to sekisho.
	migrationLockID  int64 = 0x5e4b_1540_0001
	signingKeyLockID int64 = 0x5e4b_1540_0002
)

// Config says which database to open.
type Config struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is a file path for SQLite (its directory is created when
	// missing) and a PostgreSQL URL or keyword/value string otherwise.
	DSN string
	// MaxOpenConns bounds the PostgreSQL pool (default 20). SQLite always
	// uses one connection.
	MaxOpenConns int
	// Logger receives slow-query warnings (never SQL parameters). Nil
	// discards them.
	Logger *slog.Logger
}

// Store is the gorm implementation of storage.Storage. It is safe for
// concurrent use.
type Store struct {
	db     *gorm.DB
	sqlDB  *sql.DB
	driver string
	// globalEmails: addresses are unique across the deployment (the
	// "email" sign-in mode, the default); see SetEmailScope.
	globalEmails bool
}

var _ storage.Storage = (*Store)(nil)

// Open connects to the database described by cfg. It does not migrate:
// call Migrate before use.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var dialector gorm.Dialector
	switch cfg.Driver {
	case DriverSQLite:
		dsn, err := sqliteDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("gormstore: open: %w", err)
		}
		dialector = sqlite.Open(dsn)
	case DriverPostgres:
		dialector = postgres.Open(cfg.DSN)
	default:
		return nil, fmt.Errorf("gormstore: open: unknown driver %q (want %q or %q)", cfg.Driver, DriverSQLite, DriverPostgres)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 slowQueryLogger{log: logger, threshold: slowQueryThreshold},
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("gormstore: open %s: %w", cfg.Driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("gormstore: open %s: %w", cfg.Driver, err)
	}
	if cfg.Driver == DriverSQLite {
		// One connection serialises writers (and readers) in this
		// process; the busy timeout covers other processes.
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = defaultPostgresMaxOpenConns
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	s := &Store{db: db, sqlDB: sqlDB, driver: cfg.Driver, globalEmails: true}
	if err := s.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("gormstore: open %s: %w", cfg.Driver, err)
	}
	return s, nil
}

// sqliteDSN turns a file path (optionally "file:"-prefixed, optionally
// with query parameters) into a glebarez DSN with sekisho's pragmas, and
// creates the file's directory.
func sqliteDSN(dsn string) (string, error) {
	if dsn == "" {
		return "", errors.New("sqlite needs a file path")
	}
	path, query, _ := strings.Cut(dsn, "?")
	file := strings.TrimPrefix(path, "file:")
	if file != ":memory:" && !strings.HasPrefix(file, ":memory:") {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return "", fmt.Errorf("create database directory: %w", err)
		}
	}
	// busy_timeout first: switching to WAL needs a lock.
	params := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		// BEGIN IMMEDIATE: a transaction takes the write lock up front,
		// so a read-then-write transaction never fails to upgrade its
		// lock when another process writes.
		"_txlock=immediate",
	}
	if query != "" {
		params = append(params, query)
	}
	return path + "?" + strings.Join(params, "&"), nil
}

// Migrate applies the pending migrations. On PostgreSQL a session advisory
// lock makes concurrent callers (replicas starting together) wait for each
// other, so every migration is applied once.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := migrations.Dialect(s.driver)
	if err != nil {
		return fmt.Errorf("gormstore: migrate: %w", err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithGoMigrations(renormalizeEmails(s.driver))}
	if s.driver == DriverPostgres {
		dialect = goose.DialectPostgres
		// Poll every second for up to 10 minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 600))
		if err != nil {
			return fmt.Errorf("gormstore: migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("gormstore: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("gormstore: migrate: %w", err)
	}
	return nil
}

// Pool is the store's connection pool, for its figures (sql.DBStats,
// in the metrics); queries go through the Store's methods.
func (s *Store) Pool() *sql.DB { return s.sqlDB }

// Driver is the database's driver, DriverSQLite or DriverPostgres.
func (s *Store) Driver() string { return s.driver }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// DatabaseTime reads PostgreSQL's now(). SQLite has no clock of its own.
func (s *Store) DatabaseTime(ctx context.Context) (time.Time, bool, error) {
	if s.driver != DriverPostgres {
		return time.Time{}, false, nil
	}
	var t time.Time
	if err := s.db.WithContext(ctx).Raw("SELECT now()").Scan(&t).Error; err != nil {
		return time.Time{}, false, wrap("database time", err)
	}
	return t.UTC(), true, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if err := s.sqlDB.Close(); err != nil {
		return fmt.Errorf("gormstore: close: %w", err)
	}
	return nil
}

// wrap names the operation and translates gorm's errors into the storage
// sentinels; nil stays nil.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		err = storage.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		err = storage.ErrAlreadyExists
	case unavailable(err):
		// The cause (host, port, user, database name) goes to the log
		// only through the wrapping callers choose; the sentinel is what
		// they decide on.
		return fmt.Errorf("gormstore: %s: %w (%w)", op, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("gormstore: %s: %w", op, err)
}

// unavailable reports whether err means the database cannot do work for
// now, as opposed to refusing this statement: no connection, a lost one,
// a server shutting down or out of connections, or SQLite locked past
// its busy timeout.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: shutting down or
		// starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.ErrUnexpectedEOF), pgconn.SafeToRetry(err):
		return true
	}
	msg := err.Error()
	// database/sql does not export its "closed" error; SQLite reports a
	// lock it waited for in vain as SQLITE_BUSY; pgx reports a connection
	// it closed after a failure as "conn closed".
	return strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "SQLITE_BUSY") ||
		strings.Contains(msg, "database is locked") || strings.Contains(msg, "conn closed")
}

// tx runs fn in one transaction bound to ctx.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// forUpdate locks the rows a query reads until the transaction ends. On
// SQLite the transaction already holds the database's write lock.
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.driver == DriverPostgres {
		return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return tx
}

// skipLocked locks the rows a query reads and skips rows another
// transaction holds, so workers on several replicas claim different rows.
// SQLite has one writer at a time: nothing to skip.
func (s *Store) skipLocked(tx *gorm.DB) *gorm.DB {
	if s.driver == DriverPostgres {
		return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
	}
	return tx
}

// exists reports whether a row of table has the given value in column. It
// tells "not found" from "already used" after a conditional update that
// changed nothing.
func exists(tx *gorm.DB, table, column string, value any) (bool, error) {
	var n int64
	err := tx.Table(table).Where(clause.Eq{Column: clause.Column{Name: column}, Value: value}).Count(&n).Error
	return n > 0, err
}
