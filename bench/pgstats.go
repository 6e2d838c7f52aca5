package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// pgCounters are cumulative statistics PostgreSQL keeps for one database:
// pg_stat_database for the database, and pg_stat_user_tables summed over
// its tables. As a difference between two snapshots they count what
// happened in between; divided by the requests, what one request costs.
type pgCounters struct {
	// pg_stat_database: transactions, and rows of every table (the
	// catalogs included).
	XactCommit   float64 `json:"xact_commit"`
	XactRollback float64 `json:"xact_rollback"`
	TupInserted  float64 `json:"tup_inserted"`
	TupUpdated   float64 `json:"tup_updated"`
	TupDeleted   float64 `json:"tup_deleted"`
	TupFetched   float64 `json:"tup_fetched"`
	TupReturned  float64 `json:"tup_returned"`
	// pg_stat_user_tables, summed over sekisho's tables.
	IdxScan    float64 `json:"idx_scan"`
	SeqScan    float64 `json:"seq_scan"`
	NTupIns    float64 `json:"n_tup_ins"`
	NTupUpd    float64 `json:"n_tup_upd"`
	NTupDel    float64 `json:"n_tup_del"`
	NTupHotUpd float64 `json:"n_tup_hot_upd"`
	// Statements are pg_stat_statements calls, where it is loaded (see
	// DBStats.StatementsCounted).
	Statements float64 `json:"statements,omitempty"`
}

// fields are the counters in declaration order, for the arithmetic below.
func (c *pgCounters) fields() []*float64 {
	return []*float64{
		&c.XactCommit, &c.XactRollback, &c.TupInserted, &c.TupUpdated, &c.TupDeleted, &c.TupFetched, &c.TupReturned,
		&c.IdxScan, &c.SeqScan, &c.NTupIns, &c.NTupUpd, &c.NTupDel, &c.NTupHotUpd, &c.Statements,
	}
}

// each returns c with f applied to every counter.
func (c pgCounters) each(f func(i int, v float64) float64) pgCounters {
	for i, p := range c.fields() {
		*p = f(i, *p)
	}
	return c
}

// sub is c - o, counter by counter.
func (c pgCounters) sub(o pgCounters) pgCounters {
	of := o.fields()
	return c.each(func(i int, v float64) float64 { return v - *of[i] })
}

// per is c divided by n (all zero for no n).
func (c pgCounters) per(n float64) pgCounters {
	return c.each(func(_ int, v float64) float64 { return ratio(v, n) })
}

// scale is c times k.
func (c pgCounters) scale(k float64) pgCounters {
	return c.each(func(_ int, v float64) float64 { return v * k })
}

// minus is c - o, with counters that would go below zero at zero: for
// taking away an estimate.
func (c pgCounters) minus(o pgCounters) pgCounters {
	return c.sub(o).each(func(_ int, v float64) float64 { return max(v, 0) })
}

// Transactions are commits and rollbacks.
func (c pgCounters) Transactions() float64 { return c.XactCommit + c.XactRollback }

// TableAccesses is the proxy for the statement count where
// pg_stat_statements is not loaded: every statement that reads, updates or
// deletes scans a table at least once (index or sequential scan), and an
// INSERT scans none but adds rows. It over-counts joins, foreign-key checks
// and multi-row inserts, and does not see BEGIN, COMMIT or statements that
// touch no table (SELECT now()).
func (c pgCounters) TableAccesses() float64 { return c.IdxScan + c.SeqScan + c.NTupIns }

// pgSnapshot is the statistics of the benchmark database at one moment.
type pgSnapshot struct {
	At       time.Time
	Counters pgCounters
}

// DBStats are the benchmark database's own statistics over a scenario's
// measured runs, as totals and per request (per sign-in for S6), without
// the server's background work.
type DBStats struct {
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"` // between the two snapshots
	// Background is the idle server's counts (per second, measured at
	// the start) times Seconds: taken away from Total.
	Background        pgCounters `json:"background"`
	Total             pgCounters `json:"total"`
	PerRequest        pgCounters `json:"per_request"`
	StatementsCounted bool       `json:"statements_counted"` // pg_stat_statements is loaded
	Note              string     `json:"note,omitempty"`     // why there are no figures
}

// newDBStats is the difference of two snapshots without the background
// (counts per second), in total and per request.
func newDBStats(before, after pgSnapshot, background pgCounters, requests int64, statements bool) *DBStats {
	secs := after.At.Sub(before.At).Seconds()
	d := &DBStats{Requests: requests, Seconds: secs, StatementsCounted: statements,
		Background: background.scale(secs)}
	d.Total = after.Counters.sub(before.Counters).minus(d.Background)
	d.PerRequest = d.Total.per(float64(requests))
	return d
}

// rate is what happened between two snapshots, per second.
func rate(before, after pgSnapshot) pgCounters {
	return after.Counters.sub(before.Counters).per(after.At.Sub(before.At).Seconds())
}

// statsFlushDelay is how long after the load stops every backend has
// written its counters to the shared statistics. PostgreSQL 15 flushes a
// busy backend's counters at most once a second, and an idle one's
// PGSTAT_IDLE_INTERVAL (10 s) after it went idle with some pending;
// pg_stat_force_next_flush() flushes only the backend that calls it.
const statsFlushDelay = 11 * time.Second

// pgStats reads the statistics of the benchmark database: pg_stat_database
// through the admin connection (another database, so those reads count
// nowhere here), the rest through one session on the benchmark database,
// whose own counts cancel out between two snapshots (see read).
type pgStats struct {
	admin      *sql.DB
	db         *sql.DB
	conn       *sql.Conn
	name       string
	statements bool // pg_stat_statements is loaded and installed here
	query      string
	background pgCounters // of the idle server, per second
}

// backgroundSample is how long the idle server's background work (queue
// polls, key refreshes) is counted at the start, to be taken away from
// each scenario's counts.
const backgroundSample = 10 * time.Second

// openPGStats connects to the benchmark database, and measures the
// background work of the idle server (which takes statsFlushDelay +
// backgroundSample). If the PostgreSQL server preloads pg_stat_statements,
// it installs the extension there to count statements.
func openPGStats(ctx context.Context, p *pgDatabase) (*pgStats, error) {
	db, err := sql.Open("pgx", p.DSN)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s for its statistics: %w", p.name, err)
	}
	s := &pgStats{admin: p.admin, db: db, conn: conn, name: p.name}
	// pg_stat_force_next_flush() is new in PostgreSQL 15; before, the
	// statistics collector has the counts within half a second, well
	// inside the wait.
	var version int
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		s.close()
		return nil, fmt.Errorf("reading the version of PostgreSQL: %w", err)
	}
	var preload string
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('shared_preload_libraries')").Scan(&preload); err == nil &&
		strings.Contains(preload, "pg_stat_statements") {
		if _, err := conn.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err == nil {
			s.statements = true
		}
	}
	s.query = snapshotQuery(s.statements, version >= 150000)
	// The first read loads this session's catalog caches; later ones,
	// whose catalog reads cancel out, do not.
	if _, err := s.read(ctx); err != nil {
		s.close()
		return nil, err
	}
	before, err := s.settled(ctx)
	if err == nil {
		err = sleepCtx(ctx, backgroundSample)
	}
	var after pgSnapshot
	if err == nil {
		after, err = s.read(ctx)
	}
	if err != nil {
		s.close()
		return nil, fmt.Errorf("measuring the idle server's background: %w", err)
	}
	s.background = rate(before, after)
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshotQuery flushes this session's counters at the end of the
// statement (PostgreSQL 15+), and sums pg_stat_user_tables, and
// pg_stat_statements calls except this query's own.
func snapshotQuery(statements, flush bool) string {
	q := "SELECT NULL,"
	if flush {
		q = "SELECT pg_stat_force_next_flush(),"
	}
	q += `
  coalesce(sum(idx_scan), 0)::float8, coalesce(sum(seq_scan), 0)::float8,
  coalesce(sum(n_tup_ins), 0)::float8, coalesce(sum(n_tup_upd), 0)::float8,
  coalesce(sum(n_tup_del), 0)::float8, coalesce(sum(n_tup_hot_upd), 0)::float8`
	if statements {
		q += `,
  (SELECT coalesce(sum(calls), 0)::float8 FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT LIKE '%pg\_stat%')`
	} else {
		q += `, 0::float8`
	}
	return q + "\nFROM pg_stat_user_tables"
}

// read takes a snapshot now, without waiting for the server's backends.
//
// The session's statement flushes its own counts as it ends, and
// pg_stat_database is read after it, so each snapshot includes the
// statement that took it: the same reads each time, which cancel out.
func (s *pgStats) read(ctx context.Context) (pgSnapshot, error) {
	snap := pgSnapshot{At: time.Now()}
	c := &snap.Counters
	var flushed any // pg_stat_force_next_flush() returns void
	if err := s.conn.QueryRowContext(ctx, s.query).Scan(&flushed,
		&c.IdxScan, &c.SeqScan, &c.NTupIns, &c.NTupUpd, &c.NTupDel, &c.NTupHotUpd, &c.Statements); err != nil {
		return snap, fmt.Errorf("reading pg_stat_user_tables of %s: %w", s.name, err)
	}
	if err := s.admin.QueryRowContext(ctx, `SELECT xact_commit::float8, xact_rollback::float8,
  tup_inserted::float8, tup_updated::float8, tup_deleted::float8, tup_fetched::float8, tup_returned::float8
FROM pg_stat_database WHERE datname = $1`, s.name).Scan(
		&c.XactCommit, &c.XactRollback, &c.TupInserted, &c.TupUpdated, &c.TupDeleted, &c.TupFetched, &c.TupReturned); err != nil {
		return snap, fmt.Errorf("reading pg_stat_database of %s: %w", s.name, err)
	}
	return snap, nil
}

// settled waits until the server's backends have flushed what they did
// up to now, then takes a snapshot. The server's background work (queue
// polls, key refreshes: a few statements a second) goes on meanwhile and is
// counted; newDBStats takes it away.
func (s *pgStats) settled(ctx context.Context) (pgSnapshot, error) {
	if err := sleepCtx(ctx, statsFlushDelay); err != nil {
		return pgSnapshot{}, err
	}
	return s.read(ctx)
}

func (s *pgStats) close() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	_ = s.db.Close()
}

// dbWindow measures the database statistics around a scenario's measured
// runs.
type dbWindow struct {
	s       *pgStats
	servers int // server processes, each with its background work
	before  pgSnapshot
	err     error
}

// beginDBWindow waits for the warm-up's counts to land and takes the first
// snapshot; s may be nil (SQLite, or a database we do not know).
func beginDBWindow(ctx context.Context, s *pgStats, servers int) *dbWindow {
	if s == nil {
		return nil
	}
	w := &dbWindow{s: s, servers: max(servers, 1)}
	w.before, w.err = s.settled(ctx)
	return w
}

// end takes the second snapshot and returns the difference over requests.
func (w *dbWindow) end(ctx context.Context, requests int64) *DBStats {
	if w == nil {
		return nil
	}
	if w.err == nil {
		after, err := w.s.settled(ctx)
		if err == nil {
			return newDBStats(w.before, after, w.s.background.scale(float64(w.servers)), requests, w.s.statements)
		}
		w.err = err
	}
	if errors.Is(w.err, context.Canceled) {
		return &DBStats{Requests: requests, Note: "interrupted"}
	}
	return &DBStats{Requests: requests, Note: w.err.Error()}
}
