package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func newClock() *fakeClock               { return &fakeClock{t: time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)} }
func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

// lines splits what was written into lines.
func lines(b *bytes.Buffer) []string {
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// step moves the clock by after, then reports done (and warns).
type step struct {
	after time.Duration
	done  int64
	warn  string
}

// Not on a terminal: a line at each quarter of the total and at least
// every Interval, warnings as lines of their own, and a last line with
// the count, the time and the rate.
func TestPlainLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int64
		steps []step
		want  []string
	}{
		{
			name:  "known total",
			total: 1000,
			steps: []step{
				{time.Second, 100, ""}, // 10%: nothing yet
				{time.Second, 250, ""}, // 25%
				{time.Second, 300, "line 301: rejected: bad email"},
				{time.Second, 400, ""},     // nothing: no quarter, 2 s since the last line
				{4 * time.Second, 450, ""}, // 6 s since the last line
				{time.Second, 800, ""},     // 50% and 75% passed at once: one line
				{time.Second, 1000, ""},    // the end: Finish says it
			},
			want: []string{
				"legacy import: 250/1000 lines (25%), 125 lines/s, about 6s left",
				"line 301: rejected: bad email",
				"legacy import: 450/1000 lines (45%), 56 lines/s, about 10s left",
				"legacy import: 800/1000 lines (80%), 89 lines/s, about 2s left",
				"legacy import: 1000 lines in 10s (100 lines/s)",
			},
		},
		{
			name:  "unknown total",
			total: -1,
			steps: []step{
				{time.Second, 1000, ""},
				{4 * time.Second, 5000, ""}, // 5 s
				{time.Second, 6000, ""},
			},
			want: []string{
				"legacy import: 5000 lines, 1000 lines/s",
				"legacy import: 6000 lines in 6s (1000 lines/s)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			c := newClock()
			r := newReporter(&b, "legacy import", "lines", tc.total, display{now: c.now})
			for _, s := range tc.steps {
				c.add(s.after)
				r.Set(s.done)
				if s.warn != "" {
					r.Printf("%s", s.warn)
				}
			}
			r.Finish()
			if d := cmp.Diff(tc.want, lines(&b)); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			if strings.Contains(b.String(), "\r") {
				t.Errorf("a carriage return in plain lines: %q", b.String())
			}
		})
	}
}

// A total learnt after the start (the first page of a list) counts from
// then on.
func TestSetTotal(t *testing.T) {
	var b bytes.Buffer
	c := newClock()
	r := newReporter(&b, "user list", "members", -1, display{now: c.now})
	r.SetTotal(4000)
	c.add(time.Second)
	r.Set(1000)
	r.Finish()
	want := []string{"user list: 1000/4000 members (25%), 1000 members/s, about 3s left", "user list: 1000 members in 1s (1000 members/s)"}
	if d := cmp.Diff(want, lines(&b)); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}

// On a terminal: a bar redrawn in place with the count, the rate and the
// time left; a warning (or a log record) takes the bar off its line
// first, so it starts a line of its own; the end is a plain line.
func TestBar(t *testing.T) {
	var b bytes.Buffer
	r := newReporter(&b, "legacy remind", "users", 200, display{terminal: true, now: time.Now}) // drawn at every Set
	r.Set(50)
	r.Set(100)
	mark := b.Len()
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{ReplaceAttr: noTime})).Warn("compose reminder", "user_id", "u-1")
	r.Printf("skipped %d", 1)
	after := b.String()[mark:]
	r.Set(200)
	r.Finish()
	out := b.String()

	if !strings.Contains(out, "\r") || !strings.Contains(out, "legacy remind") || !strings.Contains(out, "100/200") ||
		!strings.Contains(out, "users/s") {
		t.Errorf("no bar with the count and rate: %q", out)
	}
	// The bar's line is blanked ("\r" and spaces, then "\r") before each
	// warning, and each warning ends its line.
	for _, w := range []string{"level=WARN msg=\"compose reminder\" user_id=u-1\n", "skipped 1\n"} {
		i := strings.Index(after, w)
		if i < 1 || after[i-1] != '\r' {
			t.Errorf("warning %q not on a line of its own: %q", w, after)
		}
	}
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "\rlegacy remind: 200 users in ") {
		t.Errorf("no last line after the bar: %q", out)
	}
}
