package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"
)

// S9Result compares S3a, S5 and S6 on one replica and on two, both behind
// the same round-robin proxy, on one PostgreSQL database.
type S9Result struct {
	One    []Result           `json:"one_replica"`
	Two    []Result           `json:"two_replicas"`
	Factor map[string]float64 `json:"factor,omitempty"` // rps median, two / one
	Error  string             `json:"error,omitempty"`
}

// Failed reports whether S9 could not run or one of its rows failed.
func (s *S9Result) Failed() bool {
	if s.Error != "" {
		return true
	}
	for _, r := range append(append([]Result(nil), s.One...), s.Two...) {
		if r.Failed {
			return true
		}
	}
	return false
}

var s9Scenarios = []string{"S3a", "S5", "S6"}

// roundRobin is a reverse proxy that sends each request to the next backend.
type roundRobin struct {
	backends atomic.Pointer[[]*url.URL]
	n        atomic.Uint64
	proxy    *httputil.ReverseProxy
}

func newRoundRobin(maxConns int) *roundRobin {
	rr := &roundRobin{}
	rr.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			bs := *rr.backends.Load()
			r.SetURL(bs[rr.n.Add(1)%uint64(len(bs))])
			r.Out.Host = r.In.Host // the issuer's host, as a real load balancer keeps it
		},
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        2 * maxConns,
			MaxIdleConnsPerHost: maxConns,
			DisableCompression:  true,
		},
	}
	return rr
}

func (rr *roundRobin) set(urls ...string) {
	bs := make([]*url.URL, len(urls))
	for i, u := range urls {
		bs[i], _ = url.Parse(u)
	}
	rr.backends.Store(&bs)
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) { rr.proxy.ServeHTTP(w, r) }

// runS9 starts a round-robin proxy (the issuer's address) and two server
// processes on the benchmark's database, and runs S3a, S5 and S6 first with
// one replica behind the proxy, then with both.
func runS9(ctx context.Context, h *harness, o *Options, logf func(string, ...any)) (*S9Result, error) {
	if h == nil {
		return nil, errors.New("S9 needs the benchmark to start the servers")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rr := newRoundRobin(o.Concurrency + 16)
	srv := &http.Server{Handler: rr, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	issuer := "http://" + ln.Addr().String()

	var procs []*serverProc
	defer func() {
		for _, p := range procs {
			if err := p.stop(); err != nil {
				logf("S9 replica: %v", err)
			}
		}
	}()
	start := func(i int) (*serverProc, error) {
		listen, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg, err := h.writeConfig(fmt.Sprintf("replica%d.yaml", i), issuer, listen)
		if err != nil {
			return nil, err
		}
		p, err := startServer(o.Executable, cfg, filepath.Join(h.dir, fmt.Sprintf("replica%d.log", i)), h.secret, listen)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		if err := p.waitReady(ctx, 60*time.Second); err != nil {
			return nil, err
		}
		logf("S9 replica %d: pid %d at %s", i, p.pid(), p.url)
		return p, nil
	}

	res := &S9Result{Factor: map[string]float64{}}
	run := func(label string) ([]Result, error) {
		e := &env{opts: o, base: issuer, setup: newClient(64, o.Timeout), alg: o.Alg, argon: DefaultArgon2,
			localPG: isLoopbackURL(o.PostgresURL), pgDatabase: h.pg.name, pgStats: h.stats}
		e.dbCPU = dbCPUFor(o.Storage, e.localPG)
		defer e.setup.CloseIdleConnections()
		for _, p := range procs {
			e.pids = append(e.pids, p.pid())
		}
		h.fill(e)
		var err error
		if e.disc, err = fetchDiscovery(ctx, e.setup, issuer); err != nil {
			return nil, err
		}
		e.redirectURI = issuer + redirectPath
		var rs []Result
		for _, id := range s9Scenarios {
			sc, _ := findScenario(id)
			sc.ID = "S9 " + sc.ID + " " + label
			logf("%s ...", sc.ID)
			r := runScenario(ctx, e, sc)
			logf("%s", summaryLine(r))
			rs = append(rs, r)
		}
		return rs, nil
	}

	a, err := start(1)
	if err != nil {
		return nil, err
	}
	rr.set(a.url)
	if res.One, err = run("×1"); err != nil {
		return nil, err
	}
	b, err := start(2)
	if err != nil {
		return nil, err
	}
	rr.set(a.url, b.url)
	if res.Two, err = run("×2"); err != nil {
		return nil, err
	}
	for i, id := range s9Scenarios {
		if i < len(res.One) && i < len(res.Two) {
			res.Factor[id] = ratio(res.Two[i].RPSMedian, res.One[i].RPSMedian)
		}
	}
	return res, nil
}
