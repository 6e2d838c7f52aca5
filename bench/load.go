package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Op performs one unit of work (one request, or one whole sign-in) and
// reports how it went; the load loop times it.
type Op func(ctx context.Context, w *Worker) error

// Worker is one closed-loop virtual user: it runs Op again and again, each
// time as soon as the previous one returned.
type Worker struct {
	ID     int
	Client *http.Client    // this worker's own keep-alive connection
	Stop   <-chan struct{} // closed when the phase ends; only for waits inside an Op
	start  time.Time
}

// ResetClock restarts the latency clock of the current Op, for an Op that
// had to wait for something (a refresh token from the queue) that should not
// count as latency.
func (w *Worker) ResetClock() { w.start = time.Now() }

// errStopped is returned by an Op that gave up waiting because the phase
// ended; it is neither counted nor timed.
var errStopped = errors.New("bench: phase ended")

// StatusError is an unexpected HTTP status.
type StatusError struct {
	Step  string // what was being requested
	Code  int
	OAuth string // the OAuth "error" field, when the body had one
	Body  string // the start of the body
}

func (e *StatusError) Error() string {
	if e.OAuth != "" {
		return fmt.Sprintf("%s: HTTP %d %s", e.Step, e.Code, e.OAuth)
	}
	return fmt.Sprintf("%s: HTTP %d: %.120s", e.Step, e.Code, e.Body)
}

// CheckError is a 2xx response whose content was wrong (active:false, no
// token in a token response, a state mismatch ...).
type CheckError struct{ Msg string }

func (e *CheckError) Error() string { return e.Msg }

func checkErrorf(format string, args ...any) error {
	return &CheckError{Msg: fmt.Sprintf(format, args...)}
}

// counts classifies the outcomes of Ops.
type counts struct {
	OK       int64 `json:"ok"`
	Non2xx   int64 `json:"non_2xx"`
	Timeouts int64 `json:"timeouts"`
	Checks   int64 `json:"check_failures"` // 2xx with wrong content
	Other    int64 `json:"other_errors"`   // connection errors and the like
}

func (c counts) Errors() int64 { return c.Non2xx + c.Timeouts + c.Checks + c.Other }

func (c *counts) add(o counts) {
	c.OK += o.OK
	c.Non2xx += o.Non2xx
	c.Timeouts += o.Timeouts
	c.Checks += o.Checks
	c.Other += o.Other
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify counts err into c.
func (c *counts) classify(err error) {
	var se *StatusError
	var ce *CheckError
	switch {
	case err == nil:
		c.OK++
	case errors.As(err, &se):
		c.Non2xx++
	case isTimeout(err):
		c.Timeouts++
	case errors.As(err, &ce):
		c.Checks++
	default:
		c.Other++
	}
}

// phase is the outcome of running an Op with C workers for a while.
type phase struct {
	Elapsed   time.Duration
	Counts    counts
	Latencies []time.Duration // of every Op that got an answer (not timeouts), unsorted
	Errors    []string        // a few distinct error messages
}

const maxErrorSamples = 5

// runPhase runs op in a closed loop with one worker per client until d has
// passed (or ctx ends), then waits for the Ops in flight to finish.
func runPhase(ctx context.Context, op Op, clients []*http.Client, d time.Duration) phase {
	stop := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(stop) }) }
	timer := time.AfterFunc(d, end)
	defer timer.Stop()
	go func() {
		select {
		case <-ctx.Done():
			end()
		case <-stop:
		}
	}()

	type result struct {
		c    counts
		lat  []time.Duration
		errs []string
	}
	results := make([]result, len(clients))
	var wg sync.WaitGroup
	begin := time.Now()
	for i, cl := range clients {
		wg.Go(func() {
			w := &Worker{ID: i, Client: cl, Stop: stop}
			r := &results[i]
			r.lat = make([]time.Duration, 0, 1024)
			for {
				select {
				case <-stop:
					return
				default:
				}
				w.start = time.Now()
				err := op(ctx, w)
				lat := time.Since(w.start)
				if errors.Is(err, errStopped) || (err != nil && ctx.Err() != nil) {
					return // interrupted: neither counted nor timed
				}
				r.c.classify(err)
				if err == nil || !isTimeout(err) {
					r.lat = append(r.lat, lat)
				}
				if err != nil && len(r.errs) < maxErrorSamples {
					r.errs = append(r.errs, err.Error())
				}
			}
		})
	}
	wg.Wait()
	end()
	p := phase{Elapsed: time.Since(begin)}
	n := 0
	for _, r := range results {
		n += len(r.lat)
	}
	p.Latencies = make([]time.Duration, 0, n)
	for _, r := range results {
		p.Counts.add(r.c)
		p.Latencies = append(p.Latencies, r.lat...)
		for _, e := range r.errs {
			if len(p.Errors) < maxErrorSamples && !slices.Contains(p.Errors, e) {
				p.Errors = append(p.Errors, e)
			}
		}
	}
	return p
}

// newClients returns n HTTP clients, each with its own transport so that
// each worker holds exactly one keep-alive connection. They never follow
// redirects: the sign-in flow reads the Location headers itself.
func newClients(n int, timeout time.Duration) []*http.Client {
	cs := make([]*http.Client, n)
	for i := range cs {
		cs[i] = newClient(2, timeout)
	}
	return cs
}

func newClient(idle int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func closeClients(cs []*http.Client) {
	for _, c := range cs {
		c.CloseIdleConnections()
	}
}
