package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPGCountersArithmetic(t *testing.T) {
	a := pgCounters{XactCommit: 10, XactRollback: 2, IdxScan: 30, SeqScan: 1, NTupIns: 6, Statements: 40}
	b := pgCounters{XactCommit: 4, XactRollback: 2, IdxScan: 12, SeqScan: 1, NTupIns: 0, Statements: 16}

	if diff := cmp.Diff(pgCounters{XactCommit: 6, IdxScan: 18, NTupIns: 6, Statements: 24}, a.sub(b)); diff != "" {
		t.Errorf("sub (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pgCounters{XactCommit: 5, XactRollback: 1, IdxScan: 15, SeqScan: 0.5, NTupIns: 3, Statements: 20}, a.per(2)); diff != "" {
		t.Errorf("per (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pgCounters{XactCommit: 30, XactRollback: 6, IdxScan: 90, SeqScan: 3, NTupIns: 18, Statements: 120}, a.scale(3)); diff != "" {
		t.Errorf("scale (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pgCounters{}, a.per(0)); diff != "" {
		t.Errorf("per(0) (-want +got):\n%s", diff)
	}
	// minus stops at zero: an estimate taken away never makes a count negative.
	if diff := cmp.Diff(pgCounters{IdxScan: 3}, pgCounters{XactCommit: 3, IdxScan: 5}.minus(pgCounters{XactCommit: 10, IdxScan: 2})); diff != "" {
		t.Errorf("minus (-want +got):\n%s", diff)
	}
	if a.sub(b) == a {
		t.Error("sub changed its receiver in place")
	}
	if got := a.Transactions(); got != 12 {
		t.Errorf("Transactions = %v, want 12", got)
	}
	if got := a.TableAccesses(); got != 37 {
		t.Errorf("TableAccesses = %v, want 30 + 1 + 6", got)
	}
}

func TestNewDBStats(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	before := pgSnapshot{At: t0, Counters: pgCounters{XactCommit: 1000, IdxScan: 5000, NTupIns: 70, NTupUpd: 3}}
	// 20 s later: 500 refreshes of 3 transactions, 3 index scans, 2 inserts
	// and 1 update each, plus 4 transactions and 2 index scans a second of
	// background (queue polls).
	after := pgSnapshot{At: t0.Add(20 * time.Second), Counters: pgCounters{
		XactCommit: 1000 + 500*3 + 80, IdxScan: 5000 + 500*3 + 40, NTupIns: 70 + 500*2, NTupUpd: 3 + 500,
	}}
	background := pgCounters{XactCommit: 4, IdxScan: 2}

	for _, tc := range []struct {
		name       string
		statements bool
		want       *DBStats
	}{
		{"without pg_stat_statements", false, &DBStats{
			Requests: 500, Seconds: 20,
			Background: pgCounters{XactCommit: 80, IdxScan: 40},
			Total:      pgCounters{XactCommit: 1500, IdxScan: 1500, NTupIns: 1000, NTupUpd: 500},
			PerRequest: pgCounters{XactCommit: 3, IdxScan: 3, NTupIns: 2, NTupUpd: 1},
		}},
		{"with pg_stat_statements", true, &DBStats{
			Requests: 500, Seconds: 20,
			Background:        pgCounters{XactCommit: 80, IdxScan: 40},
			Total:             pgCounters{XactCommit: 1500, IdxScan: 1500, NTupIns: 1000, NTupUpd: 500},
			PerRequest:        pgCounters{XactCommit: 3, IdxScan: 3, NTupIns: 2, NTupUpd: 1},
			StatementsCounted: true,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newDBStats(before, after, background, 500, tc.statements)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("newDBStats (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no requests", func(t *testing.T) {
		got := newDBStats(before, after, background, 0, false)
		if diff := cmp.Diff(pgCounters{}, got.PerRequest); diff != "" {
			t.Errorf("per request (-want +got):\n%s", diff)
		}
	})
}

func TestRate(t *testing.T) {
	t0 := time.Now()
	got := rate(pgSnapshot{At: t0, Counters: pgCounters{XactCommit: 7}},
		pgSnapshot{At: t0.Add(10 * time.Second), Counters: pgCounters{XactCommit: 47, IdxScan: 20}})
	if diff := cmp.Diff(pgCounters{XactCommit: 4, IdxScan: 2}, got); diff != "" {
		t.Errorf("rate (-want +got):\n%s", diff)
	}
}

func TestSnapshotQuery(t *testing.T) {
	for _, tc := range []struct{ statements, flush bool }{{false, true}, {true, true}, {false, false}} {
		q := snapshotQuery(tc.statements, tc.flush)
		if !strings.HasSuffix(q, "FROM pg_stat_user_tables") {
			t.Errorf("snapshotQuery(%+v) = %q", tc, q)
		}
		if got := strings.HasPrefix(q, "SELECT pg_stat_force_next_flush(),"); got != tc.flush {
			t.Errorf("snapshotQuery(%+v) flushes: %v", tc, got)
		}
		if got := strings.Contains(q, "FROM pg_stat_statements"); got != tc.statements {
			t.Errorf("snapshotQuery(%+v) reads pg_stat_statements: %v", tc, got)
		}
		// Seven values besides the flush: what read scans.
		if got := strings.Count(q, "::float8"); got != 7 {
			t.Errorf("snapshotQuery(%+v) has %d values, want 7", tc, got)
		}
	}
}
