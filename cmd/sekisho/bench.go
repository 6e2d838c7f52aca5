package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/bench"
)

func newBenchCmd() *cobra.Command {
	o := bench.Options{
		Storage:           "sqlite",
		PostgresURL:       benchPostgresURL(),
		Scenarios:         "all",
		Alg:               "RS256",
		Concurrency:       32,
		SignInConcurrency: 8,
		Warmup:            3 * time.Second,
		Duration:          15 * time.Second,
		Runs:              3,
		Users:             64,
		Timeout:           10 * time.Second,
		Markdown:          true,
		DBStats:           true,
		ClientSecret:      os.Getenv("SEKISHO_BENCH_CLIENT_SECRET"),
		UserPassword:      os.Getenv("SEKISHO_BENCH_USER_PASSWORD"),
	}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a sekisho server (started here, or --target)",
		Long: `bench starts a sekisho server on a loopback port with a fresh SQLite file or
PostgreSQL database, seeds clients and users, and drives the scenarios of the
benchmark notes with a closed-loop load generator:

  S1 discovery   S2 JWKS   S3a/S3b client_credentials (opaque / JWT)
  S4a/S4b introspection (opaque / JWT)   S5 refresh with rotation
  S6 browser sign-in (PKCE)   S7 userinfo
  S8 argon2id, S8-RS256 and S8-ES256 signing: ceilings measured in process
  S9 two replicas behind a round-robin (postgres only, only when named)

It prints a table (rps, latency percentiles, errors, requests per
CPU-second of the server and of the server with its database, peak RSS)
and writes JSON to --out. A scenario that fails its correctness checks is
marked FAILED and the command exits non-zero.

Selecting S3b or S6 adds the in-process ceiling it is compared with, and
the report gives each one's ratio to its ceiling.

On PostgreSQL the report gives the database's own statistics per request
(transactions, scans, rows written; statements where pg_stat_statements is
loaded).

--check also judges the run against the targets of issue 14 and exits
non-zero when one is missed. It is for use by hand and in closing notes,
never as a timed test in CI.`,
		Example: `  sekisho bench --storage sqlite --out bench.json
  sekisho bench --storage postgres --scenario S3a,S5,S9 --duration 10s
  sekisho bench --storage sqlite --duration 3s --runs 1 --warmup 1s --users 8
  sekisho bench --storage postgres --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Executable == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				o.Executable = exe
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Run(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var errs []error
			if rep.Failed {
				errs = append(errs, errors.New("bench: one or more scenarios FAILED"))
			}
			if missed := rep.TargetsMissed(); len(missed) > 0 {
				errs = append(errs, fmt.Errorf("bench --check: %d of %d targets missed", len(missed), len(rep.Targets)))
			}
			return errors.Join(errs...)
		},
	}
	benchDatabaseFlags(cmd, &o.Storage, &o.PostgresURL)
	f := cmd.Flags()
	f.StringVar(&o.Scenarios, "scenario", o.Scenarios, "all, or a comma-separated list: S1,S2,S3a,S3b,S4a,S4b,S5,S6,S7,S8,S9 (S3, S4 name both)")
	f.StringVar(&o.Alg, "alg", o.Alg, "signing algorithm: RS256 or ES256")
	f.IntVarP(&o.Concurrency, "concurrency", "c", o.Concurrency, "connections (closed-loop workers)")
	f.IntVar(&o.SignInConcurrency, "signin-c", o.SignInConcurrency, "connections for the browser sign-in (S6)")
	f.DurationVar(&o.Warmup, "warmup", o.Warmup, "warm-up before the measured runs")
	f.DurationVar(&o.Duration, "duration", o.Duration, "length of each run")
	f.IntVar(&o.Runs, "runs", o.Runs, "measured runs per scenario")
	f.IntVar(&o.Users, "users", o.Users, "users to seed (one refresh-token chain each in S5)")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "timeout of each HTTP request")
	f.StringVar(&o.Out, "out", "bench.json", `JSON report ("" for none)`)
	f.BoolVar(&o.Markdown, "markdown", o.Markdown, "print the table as Markdown (--markdown=false: aligned text)")
	f.BoolVar(&o.DBStats, "db-stats", o.DBStats, "postgres: read the database's statistics around each scenario's runs (adds 21 s at the start and 2 × 11 s per scenario)")
	f.BoolVar(&o.Check, "check", false, "judge the run against the targets of issue 14; exit non-zero when one is missed")
	f.StringVar(&o.Target, "target", "", "benchmark this running server instead of starting one (loopback)")
	f.StringVar(&o.Pprof, "pprof", "", "serve the started server's /metrics and /debug/pprof/ on this loopback address (metrics.listen), to profile a run")
	f.StringVar(&o.Executable, "server", "", "the sekisho binary to start and seed (default: this one), to compare an older build with the same benchmark")
	cmd.AddCommand(newBenchMembersCmd())
	f.IntVar(&o.ServerPID, "server-pid", 0, "with --target: the server's pid, to measure its CPU and memory")
	f.StringVar(&o.ClientSecret, "client-secret", o.ClientSecret, "with --target: secret of bench-confidential and bench-jwt (default $SEKISHO_BENCH_CLIENT_SECRET)")
	f.StringVar(&o.UserPassword, "user-password", o.UserPassword, "with --target: password of the bench-user-NNN@bench.example.com users (default $SEKISHO_BENCH_USER_PASSWORD)")
	return cmd
}

func newBenchMembersCmd() *cobra.Command {
	o := bench.MembersOptions{Storage: "sqlite", PostgresURL: benchPostgresURL(), Members: 50000, Runs: 5}
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Time the operator's member list on an organization of 50,000 members",
		Long: `bench members fills a fresh SQLite file or PostgreSQL database with one
organization of --members members (through legacy import), then times
"sekisho user list" as a child process (first page, a middle page, a
search; of the organization and of every organization) and storage
ListMembers in this process, and prints a Markdown table of the medians.`,
		Example: `  sekisho bench members --storage sqlite
  sekisho bench members --storage postgres --members 50000 --runs 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			o.Executable = exe
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = bench.Members(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	benchDatabaseFlags(cmd, &o.Storage, &o.PostgresURL)
	f := cmd.Flags()
	f.IntVar(&o.Members, "members", o.Members, "members of the organization")
	f.IntVar(&o.Runs, "runs", o.Runs, "timed runs of each measurement (after one warm-up)")
	return cmd
}

// benchPostgresURL is where benchmarks create their PostgreSQL database
// by default: $TEST_DATABASE_URL, else the local server.
func benchPostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// benchDatabaseFlags registers --storage and --postgres-url.
func benchDatabaseFlags(cmd *cobra.Command, storage, postgresURL *string) {
	f := cmd.Flags()
	f.StringVar(storage, "storage", *storage, "sqlite or postgres")
	f.StringVar(postgresURL, "postgres-url", *postgresURL, "PostgreSQL server to create the benchmark database on (default $TEST_DATABASE_URL)")
}
