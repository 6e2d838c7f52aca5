package bench

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// env is what the scenarios run against: one server (or a round-robin over
// replicas), its fixtures, and how to measure it.
type env struct {
	opts        *Options
	base        string // where discovery is fetched
	disc        *discovery
	setup       *http.Client // for setup and checks, not for the load
	pids        []int        // server processes to measure (none: not measured)
	localPG     bool         // sum the CPU of local "postgres" processes
	pgDatabase  string       // ... only of the backends of this database, if set
	dbCPU       dbCPUMode    // how "server + database" is counted
	pgStats     *pgStats     // the database's own statistics (nil: not read)
	conf, jwt   client       // confidential clients: opaque and JWT access tokens
	public      client       // public PKCE client
	redirectURI string
	users       []user
	alg         string
	argon       argonParams
	next        atomic.Uint64
}

type user struct{ Email, Password string }

func (e *env) nextUser() user {
	return e.users[int(e.next.Add(1)%uint64(len(e.users)))]
}

// argonParams are the argon2id parameters of the server's password hashes.
type argonParams struct {
	MemoryKiB   uint32 `json:"memory_kib"`
	Iterations  uint32 `json:"iterations"`
	Parallelism uint8  `json:"parallelism"`
}

// cpuSample is the CPU time used so far by each party.
type cpuSample struct {
	server, self, machine, postgres time.Duration
}

func (e *env) sampleCPU() cpuSample {
	var s cpuSample
	for _, pid := range e.pids {
		if t, err := procCPU(pid); err == nil {
			s.server += t
		}
	}
	s.self = selfCPU()
	s.machine, _ = machineBusy()
	if e.localPG {
		s.postgres = postgresCPU(e.pgDatabase)
	}
	return s
}

// dbCPUMode is how the CPU of the server's database is counted in the
// "server + database" figure.
type dbCPUMode int

const (
	dbCPUUnknown  dbCPUMode = iota // PostgreSQL on another machine: not measured
	dbCPUInServer                  // SQLite runs inside the server process
	dbCPUBackends                  // local PostgreSQL: its backends, from /proc
)

func dbCPUFor(storage string, localPG bool) dbCPUMode {
	switch {
	case storage == "sqlite":
		return dbCPUInServer
	case localPG:
		return dbCPUBackends
	}
	return dbCPUUnknown
}

// withDB is the CPU time of the server and its database, if it is known.
func (m dbCPUMode) withDB(server, postgres time.Duration) (time.Duration, bool) {
	switch m {
	case dbCPUInServer:
		return server, true
	case dbCPUBackends:
		return server + postgres, true
	}
	return 0, false
}

// perCPU is ok operations per CPU-second: of the server (of this process
// for an in-process scenario), and of the server with its database (0 when
// that is not known or does not apply).
func (e *env) perCPU(sc scenario, ok int64, server, self, postgres time.Duration) (perServer, withDB float64) {
	if sc.InProcess {
		return ratio(float64(ok), self.Seconds()), 0
	}
	if d, known := e.dbCPU.withDB(server, postgres); known {
		withDB = ratio(float64(ok), d.Seconds())
	}
	return ratio(float64(ok), server.Seconds()), withDB
}

// RunStats is one measured run of a scenario.
type RunStats struct {
	Seconds          float64 `json:"seconds"`
	counts                   // flattened into the JSON
	RPS              float64 `json:"rps"`
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	ReqPerCPUSecond  float64 `json:"req_per_cpu_second"`
	// ReqPerCPUSecondWithDB counts the database's CPU too (see
	// Report.DatabaseCPU); 0 when not measured.
	ReqPerCPUSecondWithDB float64 `json:"req_per_cpu_second_with_db,omitempty"`
	GeneratorCPUSeconds   float64 `json:"generator_cpu_seconds"`
	OtherCPUSeconds       float64 `json:"other_cpu_seconds"`
	PostgresCPUSeconds    float64 `json:"postgres_cpu_seconds,omitempty"` // its backends (part of other)
}

// Result is one scenario's figures.
type Result struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Concurrency int        `json:"concurrency"`
	Runs        []RunStats `json:"runs"`

	RPSMedian float64 `json:"rps_median"`
	RPSMin    float64 `json:"rps_min"`
	RPSMax    float64 `json:"rps_max"`
	P50Ms     float64 `json:"p50_ms"`
	P95Ms     float64 `json:"p95_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`

	Total  counts `json:"total"`  // over the measured runs
	Warmup counts `json:"warmup"` // during the warm-up

	// ReqPerCPUSecond is successful Ops per CPU-second of the server (of
	// this process for the in-process ceilings, S8...).
	ReqPerCPUSecond float64 `json:"req_per_cpu_second"`
	// ReqPerCPUSecondWithDB is per CPU-second of the server and its
	// database (see Report.DatabaseCPU); 0 when not measured.
	ReqPerCPUSecondWithDB float64 `json:"req_per_cpu_second_with_db,omitempty"`
	ServerCPUSeconds      float64 `json:"server_cpu_seconds"`
	GeneratorCPUSeconds   float64 `json:"generator_cpu_seconds"`
	// OtherCPUSeconds is the machine's busy time minus server and
	// generator: PostgreSQL, and whatever else runs here.
	OtherCPUSeconds    float64 `json:"other_cpu_seconds"`
	PostgresCPUSeconds float64 `json:"postgres_cpu_seconds,omitempty"`

	RSSStartMiB float64 `json:"rss_start_mib,omitempty"`
	RSSEndMiB   float64 `json:"rss_end_mib,omitempty"`
	RSSPeakMiB  float64 `json:"rss_peak_mib,omitempty"`

	// DB is the database's own statistics over the measured runs
	// (PostgreSQL only).
	DB *DBStats `json:"db_stats,omitempty"`

	Checks     []Check  `json:"checks,omitempty"`
	Errors     []string `json:"error_samples,omitempty"`
	SetupError string   `json:"setup_error,omitempty"`
	Failed     bool     `json:"failed"`
}

const mib = 1 << 20

// runScenario prepares sc, warms up, runs it opts.Runs times and checks it.
func runScenario(ctx context.Context, e *env, sc scenario) Result {
	o := e.opts
	conc := o.Concurrency
	switch {
	case sc.SignIn:
		conc = o.SignInConcurrency
	case sc.InProcess:
		conc = runtime.GOMAXPROCS(0)
	}
	r := Result{ID: sc.ID, Name: sc.Name, Concurrency: conc}
	p, err := sc.Setup(ctx, e)
	if err != nil {
		r.SetupError, r.Failed = err.Error(), true
		return r
	}
	clients := make([]*http.Client, conc)
	if !sc.InProcess {
		clients = newClients(conc, o.Timeout)
		defer closeClients(clients)
	}

	if o.Warmup > 0 {
		w := runPhase(ctx, p.Op, clients, o.Warmup)
		r.Warmup = w.Counts
		r.Errors = w.Errors
	}

	var db *dbWindow
	if !sc.InProcess {
		db = beginDBWindow(ctx, e.pgStats, len(e.pids))
	}
	var mem *memWatch
	if !sc.InProcess && len(e.pids) > 0 {
		mem = watchMemory(e.pids)
	}
	var lat []time.Duration
	var rps []float64
	var srv, self, other, pg time.Duration
	for range o.Runs {
		if ctx.Err() != nil {
			break
		}
		before := e.sampleCPU()
		ph := runPhase(ctx, p.Op, clients, o.Duration)
		after := e.sampleCPU()
		rs := RunStats{Seconds: ph.Elapsed.Seconds(), counts: ph.Counts}
		rs.RPS = float64(ph.Counts.OK) / ph.Elapsed.Seconds()
		dSrv, dSelf := after.server-before.server, after.self-before.self
		dOther := max(0, after.machine-before.machine-dSrv-dSelf)
		dPG := max(0, after.postgres-before.postgres) // a backend that exited takes its time with it
		rs.ServerCPUSeconds, rs.GeneratorCPUSeconds = dSrv.Seconds(), dSelf.Seconds()
		rs.OtherCPUSeconds, rs.PostgresCPUSeconds = dOther.Seconds(), dPG.Seconds()
		rs.ReqPerCPUSecond, rs.ReqPerCPUSecondWithDB = e.perCPU(sc, ph.Counts.OK, dSrv, dSelf, dPG)
		r.Runs = append(r.Runs, rs)
		r.Total.add(ph.Counts)
		lat = append(lat, ph.Latencies...)
		rps = append(rps, rs.RPS)
		srv, self, other, pg = srv+dSrv, self+dSelf, other+dOther, pg+dPG
		for _, m := range ph.Errors {
			if len(r.Errors) < maxErrorSamples && !slices.Contains(r.Errors, m) {
				r.Errors = append(r.Errors, m)
			}
		}
	}
	if mem != nil {
		start, end, peak := mem.stop()
		r.RSSStartMiB, r.RSSEndMiB, r.RSSPeakMiB = float64(start)/mib, float64(end)/mib, float64(peak)/mib
	}
	r.DB = db.end(ctx, r.Total.OK+r.Total.Errors())

	r.RPSMedian = median(rps)
	r.RPSMin, r.RPSMax = minMax(rps)
	slices.Sort(lat)
	r.P50Ms, r.P95Ms, r.P99Ms = ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99))
	if len(lat) > 0 {
		r.MaxMs = ms(lat[len(lat)-1])
	}
	r.ServerCPUSeconds, r.GeneratorCPUSeconds = srv.Seconds(), self.Seconds()
	r.OtherCPUSeconds, r.PostgresCPUSeconds = other.Seconds(), pg.Seconds()
	r.ReqPerCPUSecond, r.ReqPerCPUSecondWithDB = e.perCPU(sc, r.Total.OK, srv, self, pg)

	if !sc.InProcess {
		all := r.Total
		all.add(r.Warmup)
		r.Checks = append(r.Checks, Check{
			Name: "no failed requests (warm-up included)",
			OK:   all.Errors() == 0 && all.OK > 0,
			Detail: fmt.Sprintf("%d ok, %d non-2xx, %d timeouts, %d bad answers, %d other",
				all.OK, all.Non2xx, all.Timeouts, all.Checks, all.Other),
		})
	}
	if p.Checks != nil && ctx.Err() == nil {
		r.Checks = append(r.Checks, p.Checks(ctx)...)
	}
	for _, c := range r.Checks {
		if !c.OK {
			r.Failed = true
		}
	}
	if len(r.Runs) < o.Runs {
		r.Failed = true // interrupted
	}
	return r
}

// memWatch follows the summed RSS of some processes: at the start, the end,
// and the peak (VmHWM after resetting it, and a 100 ms sampler as a fallback
// where the reset is not allowed).
type memWatch struct {
	pids    []int
	start   uint64
	hwmOK   bool
	done    chan struct{}
	wg      sync.WaitGroup
	sampled atomic.Uint64
}

func sumMem(pids []int) (rss, hwm uint64) {
	m := sumMemInfo(pids)
	return m.RSS, m.HWM
}

// sumMemInfo adds up the memory of pids.
func sumMemInfo(pids []int) memInfo {
	var sum memInfo
	for _, pid := range pids {
		if m, err := procMem(pid); err == nil {
			sum.RSS += m.RSS
			sum.HWM += m.HWM
			sum.Anon += m.Anon
			sum.File += m.File
		}
	}
	return sum
}

func watchMemory(pids []int) *memWatch {
	m := &memWatch{pids: pids, done: make(chan struct{}), hwmOK: true}
	for _, pid := range pids {
		if resetPeakRSS(pid) != nil {
			m.hwmOK = false
		}
	}
	m.start, _ = sumMem(pids)
	m.sampled.Store(m.start)
	m.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
				if rss, _ := sumMem(m.pids); rss > m.sampled.Load() {
					m.sampled.Store(rss)
				}
			}
		}
	})
	return m
}

func (m *memWatch) stop() (start, end, peak uint64) {
	close(m.done)
	m.wg.Wait()
	end, hwm := sumMem(m.pids)
	peak = max(m.sampled.Load(), end)
	if m.hwmOK {
		peak = max(peak, hwm)
	}
	return m.start, end, peak
}
