// Package progress reports how far a long command has got, on standard
// error: a bar with the count, the rate and the time left when that is a
// terminal, plain lines now and then when it is not (a log file, a pipe,
// a CI job). The command's warnings go through the same Reporter, so a
// warning is always a line of its own, never written into the bar; what
// the command prints on standard output (a table, JSON) never meets
// either.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Interval is the longest time between two plain lines while the work
// goes on; a line also comes at each quarter of a known total.
const Interval = 5 * time.Second

// Reporter reports one command's progress on w. It is safe for
// concurrent use (a logger may write warnings from another goroutine).
type Reporter struct {
	mu    sync.Mutex
	w     io.Writer
	what  string // the command, as lines name it: "legacy import"
	unit  string // what is counted: "lines", "users"
	total int64  // -1: unknown
	done  int64
	now   func() time.Time
	start time.Time
	// Plain lines: when the last came, and the last quarter reported.
	last    time.Time
	quarter int64
	bar     *progressbar.ProgressBar // nil: plain lines
}

// New starts reporting on w the progress of what (the command's name),
// counting unit, out of total (-1 when unknown): with a bar when w is a
// terminal, with plain lines otherwise.
func New(w io.Writer, what, unit string, total int64) *Reporter {
	return newReporter(w, what, unit, total, display{terminal: IsTerminal(w), now: time.Now, redraw: redraw})
}

// redraw is how often the bar is drawn again, at most.
const redraw = 100 * time.Millisecond

// display says how a Reporter writes: a bar (terminal) or plain lines,
// with which clock, and how often the bar is drawn again.
type display struct {
	terminal bool
	now      func() time.Time
	redraw   time.Duration
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newReporter(w io.Writer, what, unit string, total int64, d display) *Reporter {
	r := &Reporter{w: w, what: what, unit: unit, total: total, now: d.now, start: d.now()}
	r.last = r.start
	if d.terminal {
		r.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(d.redraw),
			// No spinner of its own: the bar is drawn only when the
			// Reporter, holding its lock, says so (Clear is not locked).
			progressbar.OptionSetSpinnerChangeInterval(0),
		)
	}
	return r
}

// SetTotal sets the total once it is known.
func (r *Reporter) SetTotal(total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total = total
	if r.bar != nil {
		r.bar.ChangeMax64(total)
	}
}

// Set records that done units are done (a count that only grows).
func (r *Reporter) Set(done int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = done
	if r.bar != nil {
		_ = r.bar.Set64(done)
		return
	}
	now := r.now()
	q := r.quarter
	if r.total > 0 && done < r.total {
		q = done * 4 / r.total // 25, 50 and 75%; the end has Finish's line
	}
	if q > r.quarter || now.Sub(r.last) >= Interval {
		r.quarter, r.last = q, now
		fmt.Fprintln(r.w, r.line(now))
	}
}

// Printf writes a warning: a line of its own, never inside the bar.
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintf(r.w, format+"\n", args...)
}

// Write writes p (whole lines, as a logger writes them) the way Printf
// does, so a Reporter can be a logger's output.
func (r *Reporter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	return r.w.Write(p)
}

// clear takes the bar off its line; it comes back at the next Set.
func (r *Reporter) clear() {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
}

// Finish ends the report with a line saying how much was done, how fast.
func (r *Reporter) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	elapsed := r.now().Sub(r.start)
	fmt.Fprintf(r.w, "%s: %d %s in %s (%s)\n", r.what, r.done, r.unit, elapsed.Round(time.Millisecond), r.rate(elapsed))
	r.bar = nil
}

// line is a plain progress line at now.
func (r *Reporter) line(now time.Time) string {
	elapsed := now.Sub(r.start)
	if r.total <= 0 {
		return fmt.Sprintf("%s: %d %s, %s", r.what, r.done, r.unit, r.rate(elapsed))
	}
	s := fmt.Sprintf("%s: %d/%d %s (%d%%), %s", r.what, r.done, r.total, r.unit, r.done*100/r.total, r.rate(elapsed))
	if r.done > 0 && r.done < r.total {
		left := time.Duration(float64(elapsed) * float64(r.total-r.done) / float64(r.done))
		s += fmt.Sprintf(", about %s left", max(left.Round(time.Second), time.Second))
	}
	return s
}

// rate is done per second over elapsed.
func (r *Reporter) rate(elapsed time.Duration) string {
	if elapsed <= 0 {
		return "- " + r.unit + "/s"
	}
	return fmt.Sprintf("%.0f %s/s", float64(r.done)/elapsed.Seconds(), r.unit)
}
