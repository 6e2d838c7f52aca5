// Package bench is `sekisho bench`: it starts a sekisho server (or targets
// one), seeds clients and users, drives each scenario of
// notes/benchmark.md with a closed-loop load generator, checks that the
// answers were right, and reports throughput, latency and the CPU and
// memory the server used.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Options are the command's flags.
type Options struct {
	Storage           string // sqlite | postgres
	PostgresURL       string // admin connection; a fresh database is created on it
	Scenarios         string // "all" or a comma-separated list of ids (S3 = S3a,S3b)
	Alg               string // RS256 | ES256
	Concurrency       int
	SignInConcurrency int
	Warmup, Duration  time.Duration
	Runs              int
	Users             int
	Timeout           time.Duration // per HTTP request
	Out               string        // JSON report path ("" for none)
	Markdown          bool          // Markdown table (else aligned text) on stdout
	// DBStats reads PostgreSQL's statistics of the benchmark database
	// around each scenario's runs (it waits for them to be flushed).
	DBStats bool
	// Check compares the run with the targets of the performance issue.
	Check bool

	// Target is an already running server; the benchmark then neither
	// starts nor seeds one, and expects the fixtures: clients
	// bench-confidential (opaque), bench-jwt and bench-public with
	// ClientSecret, redirect URI <issuer>/bench/callback, and users
	// bench-user-000@bench.example.com ... with UserPassword.
	Target    string
	ServerPID int // with Target: the server process to measure, if local
	// Pprof, when set, is the operator listener (metrics.listen) of the
	// server the benchmark starts: /debug/pprof/ there profiles a run.
	Pprof        string
	ClientSecret string
	UserPassword string

	Executable string // the sekisho binary to start
}

// DefaultArgon2 are the argon2id parameters the benchmark configures (those
// of the benchmark notes: m=19 MiB, t=2, p=1).
var DefaultArgon2 = argonParams{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

// Report is the whole result, written as JSON.
type Report struct {
	Started  time.Time   `json:"started"`
	Machine  Machine     `json:"machine"`
	Storage  string      `json:"storage"`
	Alg      string      `json:"alg"`
	Target   string      `json:"target"`
	Argon2   argonParams `json:"argon2"`
	Settings Settings    `json:"settings"`
	// IdleRSSMiB is the server's RSS after start-up and seeding.
	IdleRSSMiB float64 `json:"idle_rss_mib,omitempty"`
	// IdleAnonMiB and IdleFileMiB split it: the server's own memory, and
	// the pages of its binary (and other files) it has touched.
	IdleAnonMiB float64 `json:"idle_rss_anon_mib,omitempty"`
	IdleFileMiB float64 `json:"idle_rss_file_mib,omitempty"`
	// DatabaseCPU says what the "server + database" figures count.
	DatabaseCPU string `json:"database_cpu"`
	// DBStats says where the per-request database statistics come from,
	// or why there are none.
	DBStats   string    `json:"db_stats"`
	Scenarios []Result  `json:"scenarios"`
	S9        *S9Result `json:"s9,omitempty"`
	// Ratios compare scenarios with their in-process ceilings.
	Ratios []Ratio `json:"ratios,omitempty"`
	// Targets is the --check verdict.
	Targets []TargetResult `json:"targets,omitempty"`
	Failed  bool           `json:"failed"`
	Notes   []string       `json:"notes,omitempty"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	NProc      int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Model      string `json:"model"`
	GoVersion  string `json:"go_version"`
}

// Settings are the load settings.
type Settings struct {
	Concurrency       int     `json:"concurrency"`
	SignInConcurrency int     `json:"signin_concurrency"`
	WarmupSeconds     float64 `json:"warmup_seconds"`
	DurationSeconds   float64 `json:"duration_seconds"`
	Runs              int     `json:"runs"`
	Users             int     `json:"users"`
}

// parseScenarios turns the --scenario value into scenario ids, in table
// order, and says whether S9 was asked for.
func parseScenarios(v string) (ids []string, s9 bool, err error) {
	want := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case strings.EqualFold(f, "all"):
			for _, s := range scenarios {
				want[s.ID] = true
			}
		case strings.EqualFold(f, "S9"):
			s9 = true
		case strings.EqualFold(f, "S3") || strings.EqualFold(f, "S4"):
			want[strings.ToUpper(f)+"a"], want[strings.ToUpper(f)+"b"] = true, true
		default:
			s, ok := findScenario(f)
			if !ok {
				return nil, false, fmt.Errorf("unknown scenario %q (want all, S1, S2, S3, S3a, S3b, S4, S4a, S4b, S5, S6, S7, S8, S8-RS256, S8-ES256, S9)", f)
			}
			want[s.ID] = true
		}
	}
	for _, s := range scenarios {
		if want[s.ID] {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 && !s9 {
		return nil, false, errors.New("no scenario selected")
	}
	return ids, s9, nil
}

func (o *Options) validate() error {
	var errs []error
	if o.Storage != "sqlite" && o.Storage != "postgres" {
		errs = append(errs, fmt.Errorf("--storage: want sqlite or postgres, got %q", o.Storage))
	}
	if o.Alg != "RS256" && o.Alg != "ES256" {
		errs = append(errs, fmt.Errorf("--alg: want RS256 or ES256, got %q", o.Alg))
	}
	if o.Concurrency < 1 || o.SignInConcurrency < 1 {
		errs = append(errs, errors.New("-c and --signin-c must be at least 1"))
	}
	if o.Runs < 1 || o.Duration <= 0 || o.Warmup < 0 {
		errs = append(errs, errors.New("--runs must be at least 1, --duration positive, --warmup not negative"))
	}
	if o.Users < 1 {
		errs = append(errs, errors.New("--users must be at least 1"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, errors.New("--timeout must be positive"))
	}
	if o.Target != "" && !isLoopbackURL(o.Target) {
		errs = append(errs, fmt.Errorf("--target: want a loopback URL such as http://127.0.0.1:8080, got %q", o.Target))
	}
	if o.Target != "" && (o.ClientSecret == "" || o.UserPassword == "") {
		errs = append(errs, errors.New("--target needs --client-secret and --user-password (the fixtures the target was configured with)"))
	}
	return errors.Join(errs...)
}

// Run runs the benchmark, printing progress to log and the table to out.
// The report is returned even when a scenario FAILED (Report.Failed).
func Run(ctx context.Context, o Options, out, log io.Writer) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ids, wantS9, err := parseScenarios(o.Scenarios)
	if err != nil {
		return nil, err
	}
	if wantS9 && (o.Storage != "postgres" || o.Target != "") {
		return nil, errors.New("S9 (two replicas) needs --storage postgres and no --target")
	}
	logf := func(format string, args ...any) { fmt.Fprintf(log, "bench: "+format+"\n", args...) }
	ids, added := withCeilings(ids, o.Alg)
	if len(added) > 0 {
		logf("adding %s: the in-process ceilings the selected scenarios are compared with", strings.Join(added, ", "))
	}
	rep := &Report{
		Started: time.Now().UTC(),
		Machine: Machine{NProc: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Model: cpuModel(), GoVersion: runtime.Version()},
		Storage: o.Storage, Alg: o.Alg, Target: o.Target, Argon2: DefaultArgon2,
		Settings: Settings{
			Concurrency: o.Concurrency, SignInConcurrency: o.SignInConcurrency,
			WarmupSeconds: o.Warmup.Seconds(), DurationSeconds: o.Duration.Seconds(), Runs: o.Runs, Users: o.Users,
		},
	}

	e := &env{opts: &o, setup: newClient(64, o.Timeout), alg: o.Alg, argon: DefaultArgon2}
	defer e.setup.CloseIdleConnections()

	var h *harness
	var statsErr error
	if o.Target == "" {
		h, err = startHarness(ctx, &o, logf)
		if h != nil {
			defer h.close(logf)
		}
		if err != nil {
			return nil, err
		}
		e.base, e.pids = h.main.url, []int{h.main.pid()}
		if h.pg != nil && isLoopbackURL(o.PostgresURL) {
			e.localPG, e.pgDatabase = true, h.pg.name
		}
		if h.pg != nil && o.DBStats {
			logf("database statistics: counting the idle server's background work (%s), then each scenario waits %s before and after its runs for PostgreSQL to flush its counters",
				statsFlushDelay+backgroundSample, statsFlushDelay)
			if h.stats, statsErr = openPGStats(ctx, h.pg); statsErr != nil {
				logf("no database statistics: %v", statsErr)
			}
			e.pgStats = h.stats
		}
		h.fill(e)
	} else {
		rep.Target = o.Target
		e.base = strings.TrimSuffix(o.Target, "/")
		if o.ServerPID > 0 {
			e.pids = []int{o.ServerPID}
		}
		e.localPG = o.Storage == "postgres" && isLoopbackURL(o.PostgresURL)
		fx := fixtures{ConfSecret: o.ClientSecret, JWTSecret: o.ClientSecret}
		for i := range o.Users {
			fx.Users = append(fx.Users, user{Email: userEmail(i), Password: o.UserPassword})
		}
		fillFixtures(e, fx)
	}
	if e.disc, err = fetchDiscovery(ctx, e.setup, e.base); err != nil {
		return nil, err
	}
	e.redirectURI = strings.TrimSuffix(e.disc.Issuer, "/") + redirectPath
	e.dbCPU = dbCPUFor(o.Storage, e.localPG)
	rep.DatabaseCPU = describeDBCPU(e)
	rep.DBStats = describeDBStats(&o, e, statsErr)
	if len(e.pids) > 0 {
		m := sumMemInfo(e.pids)
		rep.IdleRSSMiB, rep.IdleAnonMiB, rep.IdleFileMiB = float64(m.RSS)/mib, float64(m.Anon)/mib, float64(m.File)/mib
	}

	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		sc, _ := findScenario(id)
		logf("%s %s ...", sc.ID, sc.Name)
		r := runScenario(ctx, e, sc)
		logf("%s", summaryLine(r))
		rep.Scenarios = append(rep.Scenarios, r)
	}
	if wantS9 && ctx.Err() == nil {
		if err := h.stopMain(); err != nil {
			logf("stopping the main server: %v", err)
		}
		rep.S9, err = runS9(ctx, h, &o, logf)
		if err != nil {
			rep.S9 = &S9Result{Error: err.Error()}
		}
	}
	if ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "interrupted: "+ctx.Err().Error())
	}

	rep.Failed = ctx.Err() != nil
	for _, r := range rep.Scenarios {
		rep.Failed = rep.Failed || r.Failed
	}
	if rep.S9 != nil {
		rep.Failed = rep.Failed || rep.S9.Failed()
	}
	rep.Ratios = ratios(rep)
	if o.Check {
		rep.Targets = checkTargets(rep)
	}

	if o.Out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return rep, err
		}
		if err := os.WriteFile(o.Out, append(b, '\n'), 0o644); err != nil {
			return rep, err
		}
		logf("wrote %s", o.Out)
	}
	writeTable(out, rep, o.Markdown)
	return rep, nil
}

// describeDBCPU says what the "server + database" CPU figures count.
func describeDBCPU(e *env) string {
	switch {
	case e.dbCPU == dbCPUInServer:
		return "SQLite runs inside the server process: server + database is the server's own CPU"
	case e.dbCPU == dbCPUBackends && e.pgDatabase != "":
		return "the server plus the PostgreSQL backends of database " + e.pgDatabase + " (from /proc)"
	case e.dbCPU == dbCPUBackends:
		return "the server plus every local PostgreSQL process (with --target the database is not known)"
	}
	return "not measured: PostgreSQL is not on this machine"
}

// describeDBStats says where the database statistics come from (statsErr:
// why they could not be read).
func describeDBStats(o *Options, e *env, statsErr error) (stats string) {
	switch {
	case o.Storage == "sqlite":
		stats = "n/a: SQLite keeps no statistics"
	case o.Target != "":
		stats = "n/a: with --target the benchmark database is not known"
	case !o.DBStats:
		stats = "off (--db-stats=false)"
	case e.pgStats == nil:
		stats = fmt.Sprintf("not read: %v", statsErr)
	case e.pgStats.statements:
		stats = "pg_stat_database, pg_stat_user_tables and pg_stat_statements of database " + e.pgStats.name
	default:
		stats = "pg_stat_database and pg_stat_user_tables of database " + e.pgStats.name +
			" (pg_stat_statements is not loaded: statements are not counted, table accesses stand in)"
	}
	if e.pgStats != nil {
		bg := e.pgStats.background
		stats += fmt.Sprintf("; the idle server's background work (%.1f tx/s, %.1f table accesses/s) is taken away",
			bg.Transactions(), bg.TableAccesses())
	}
	return stats
}

// fillFixtures sets the clients and users of e.
func fillFixtures(e *env, fx fixtures) {
	e.conf = newOAuthClient(confClientID, fx.ConfSecret)
	e.jwt = newOAuthClient(jwtClientID, fx.JWTSecret)
	e.public = newOAuthClient(publicClientID, "")
	e.users = fx.Users
}

// harness is the server(s) the benchmark started and what they need.
type harness struct {
	o       *Options
	dir     string
	secret  string
	fx      fixtures
	driver  string
	dsn     string
	pg      *pgDatabase
	stats   *pgStats // nil: not read
	main    *serverProc
	stopped bool
}

func startHarness(ctx context.Context, o *Options, logf func(string, ...any)) (*harness, error) {
	dir, err := os.MkdirTemp("", "sekisho-bench-*")
	if err != nil {
		return nil, err
	}
	h := &harness{o: o, dir: dir, secret: newSecret(), fx: newFixtures(o.Users), driver: o.Storage}
	if o.Storage == "postgres" {
		if h.pg, err = createDatabase(ctx, o.PostgresURL); err != nil {
			return h, err
		}
		h.dsn = h.pg.DSN
		logf("created database %s", h.pg.name)
	} else {
		h.dsn = filepath.Join(dir, "sekisho.db")
	}
	listen, err := freePort()
	if err != nil {
		return h, err
	}
	cfg, err := h.writeConfig("sekisho.yaml", "http://"+listen, listen)
	if err != nil {
		return h, err
	}
	if h.main, err = startServer(o.Executable, cfg, filepath.Join(dir, "server.log"), h.secret, listen); err != nil {
		return h, err
	}
	if err := h.main.waitReady(ctx, 60*time.Second); err != nil {
		return h, err
	}
	logf("server pid %d ready at %s; seeding %d users", h.main.pid(), h.main.url, o.Users)
	t0 := time.Now()
	if err := seedUsers(ctx, o.Executable, cfg, h.secret, h.fx.Users); err != nil {
		return h, err
	}
	logf("seeded %d users in %s", o.Users, time.Since(t0).Round(time.Millisecond))
	return h, nil
}

func (h *harness) fill(e *env) { fillFixtures(e, h.fx) }

// writeConfig writes a configuration file for one server process.
func (h *harness) writeConfig(name, issuer, listen string) (string, error) {
	c := serverConfig{Issuer: issuer, Listen: listen, Driver: h.driver, DSN: h.dsn, Alg: h.o.Alg, Argon: DefaultArgon2, Fixtures: h.fx}
	if name == "sekisho.yaml" { // the main server, not a replica of S9
		c.Operator = h.o.Pprof
	}
	path := filepath.Join(h.dir, name)
	return path, os.WriteFile(path, []byte(c.yaml()), 0o600)
}

func (h *harness) stopMain() error {
	if h.main == nil || h.stopped {
		return nil
	}
	h.stopped = true
	return h.main.stop()
}

// close stops the server, drops the database and removes the files (kept,
// with the server log, when the server misbehaved).
func (h *harness) close(logf func(string, ...any)) {
	keep := false
	if err := h.stopMain(); err != nil {
		logf("%v", err)
		keep = true
	}
	if h.stats != nil {
		h.stats.close()
	}
	if h.pg != nil {
		if err := h.pg.drop(); err != nil {
			logf("dropping database %s: %v", h.pg.name, err)
		}
	}
	if keep {
		logf("kept %s (configuration and server log)", h.dir)
		return
	}
	_ = os.RemoveAll(h.dir)
}
