package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// burst is how many requests the concurrent cases send at once: as many
// as arrive together when a limit is attacked.
const burst = 50

func at(t time.Time) *time.Time { return &t }

// testTakeAttempt walks one account-like limit (a growing delay), one
// cap (no delay, the rest of the window) and one taken with both.
func testTakeAttempt(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	acct := storage.Limit{Key: "acct", Free: 2, BaseDelay: time.Minute, MaxDelay: 4 * time.Minute, Window: time.Hour}
	ip := storage.Limit{Key: "ip", Free: 3, BaseDelay: time.Minute, MaxDelay: time.Minute, Window: time.Hour}
	capped := storage.Limit{Key: "cap", Free: 2, Window: time.Hour}
	win := t0.Add(time.Hour + time.Microsecond) // the first window is over
	steps := []struct {
		name   string
		now    time.Time
		limits []storage.Limit
		taken  bool
		want   map[string]storage.Counter
	}{
		{"first attempts are free", t0, []storage.Limit{acct, ip}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 1, WindowStart: t0, Last: t0},
			"ip":   {Key: "ip", Count: 1, WindowStart: t0, Last: t0},
		}},
		{"the last free one starts the delay; a key given twice counts once", t0, []storage.Limit{acct, ip, ip}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 2, WindowStart: t0, Last: t0, NextAllowedAt: at(t0.Add(time.Minute))},
			"ip":   {Key: "ip", Count: 2, WindowStart: t0, Last: t0},
		}},
		{"refused during the delay: nothing changes on any key", t0.Add(59 * time.Second), []storage.Limit{ip, acct}, false, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 2, WindowStart: t0, Last: t0, NextAllowedAt: at(t0.Add(time.Minute))},
			"ip":   {Key: "ip", Count: 2, WindowStart: t0, Last: t0},
		}},
		{"after the delay: doubled", t0.Add(time.Minute), []storage.Limit{acct, ip}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 3, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(3 * time.Minute))},
			"ip":   {Key: "ip", Count: 3, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(2 * time.Minute))},
		}},
		{"doubled again", t0.Add(3 * time.Minute), []storage.Limit{acct}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 4, WindowStart: t0, Last: t0.Add(3 * time.Minute), NextAllowedAt: at(t0.Add(7 * time.Minute))},
			"ip":   {Key: "ip", Count: 3, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(2 * time.Minute))},
		}},
		{"at most MaxDelay", t0.Add(7 * time.Minute), []storage.Limit{acct}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 5, WindowStart: t0, Last: t0.Add(7 * time.Minute), NextAllowedAt: at(t0.Add(11 * time.Minute))},
			"ip":   {Key: "ip", Count: 3, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(2 * time.Minute))},
		}},
		{"a window that is over starts again", win, []storage.Limit{acct, ip}, true, map[string]storage.Counter{
			"acct": {Key: "acct", Count: 1, WindowStart: win, Last: win},
			"ip":   {Key: "ip", Count: 1, WindowStart: win, Last: win},
		}},
		{"cap: first", t0, []storage.Limit{capped}, true, map[string]storage.Counter{
			"cap": {Key: "cap", Count: 1, WindowStart: t0, Last: t0},
		}},
		{"cap: the last one closes the window", t0.Add(time.Minute), []storage.Limit{capped}, true, map[string]storage.Counter{
			"cap": {Key: "cap", Count: 2, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(time.Hour))},
		}},
		{"cap: refused until the window is over", t0.Add(59 * time.Minute), []storage.Limit{capped}, false, map[string]storage.Counter{
			"cap": {Key: "cap", Count: 2, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(time.Hour))},
		}},
		{"cap: a refusing key leaves a new one uncreated", t0.Add(59 * time.Minute), []storage.Limit{{Key: "new", Free: 5, Window: time.Hour}, capped}, false, map[string]storage.Counter{
			"cap": {Key: "cap", Count: 2, WindowStart: t0, Last: t0.Add(time.Minute), NextAllowedAt: at(t0.Add(time.Hour))},
		}},
		{"cap: a new window", win, []storage.Limit{capped}, true, map[string]storage.Counter{
			"cap": {Key: "cap", Count: 1, WindowStart: win, Last: win},
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			taken, err := s.TakeAttempt(ctx, st.now, st.limits...)
			must(t, err)
			if taken != st.taken {
				t.Errorf("TakeAttempt = %v, want %v", taken, st.taken)
			}
			keys := []string{"new"}
			for k := range st.want {
				keys = append(keys, k)
			}
			got, err := s.GetCounters(ctx, keys)
			must(t, err)
			diff(t, "counters", st.want, got)
		})
	}

	t.Run("return", func(t *testing.T) {
		must(t, s.ReturnAttempt(ctx, "cap", "acct", "missing"))
		must(t, s.ReturnAttempt(ctx))
		got, err := s.GetCounters(ctx, []string{"cap", "acct"})
		must(t, err)
		want := map[string]storage.Counter{
			"cap":  {Key: "cap", Count: 0, WindowStart: win, Last: win},
			"acct": {Key: "acct", Count: 0, WindowStart: win, Last: win},
		}
		diff(t, "counters after ReturnAttempt", want, got)
		// Never below zero.
		must(t, s.ReturnAttempt(ctx, "cap"))
		if got, _ := s.GetCounters(ctx, []string{"cap"}); got["cap"].Count != 0 {
			t.Errorf("count after returning past zero = %d", got["cap"].Count)
		}
	})

	t.Run("a returned attempt lifts the delay", func(t *testing.T) {
		l := storage.Limit{Key: "ret", Free: 1, Window: time.Hour}
		for i, want := range []bool{true, false} {
			if ok, err := s.TakeAttempt(ctx, t0, l); err != nil || ok != want {
				t.Fatalf("take %d = %v, %v; want %v", i, ok, err, want)
			}
		}
		must(t, s.ReturnAttempt(ctx, "ret"))
		if ok, err := s.TakeAttempt(ctx, t0, l); err != nil || !ok {
			t.Errorf("take after the return = %v, %v; want taken", ok, err)
		}
	})

	t.Run("reset", func(t *testing.T) {
		must(t, s.ResetCounters(ctx, []string{"ip", "missing"}))
		must(t, s.ResetCounters(ctx, nil))
		got, err := s.GetCounters(ctx, []string{"ip", "acct"})
		must(t, err)
		if _, ok := got["ip"]; ok || len(got) != 1 {
			t.Errorf("GetCounters after reset = %v, want only acct", got)
		}
		// A reset key starts from nothing.
		if ok, err := s.TakeAttempt(ctx, win, ip); !ok || err != nil {
			t.Errorf("take after reset = %v, %v", ok, err)
		}
	})
	got, err := s.GetCounters(ctx, nil)
	must(t, err)
	diff(t, "GetCounters(nil)", map[string]storage.Counter{}, got)
}

// testTakeAttemptConcurrent: a burst takes exactly the free attempts,
// and takers of overlapping keys in opposite orders neither deadlock nor
// lose a count.
func testTakeAttemptConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, c := range []struct {
		name  string
		limit storage.Limit
	}{
		{"growing delay", storage.Limit{Key: "one", Free: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, Window: time.Hour}},
		{"cap", storage.Limit{Key: "cap", Free: 7, Window: time.Hour}},
	} {
		t.Run(c.name, func(t *testing.T) {
			taken := 0
			for _, ok := range takeRace(t, burst, func(int) (bool, error) { return s.TakeAttempt(ctx, t0, c.limit) }) {
				if ok {
					taken++
				}
			}
			if taken != c.limit.Free {
				t.Errorf("%d of %d concurrent attempts taken, want %d", taken, burst, c.limit.Free)
			}
			got, err := s.GetCounters(ctx, []string{c.limit.Key})
			must(t, err)
			if got[c.limit.Key].Count != c.limit.Free {
				t.Errorf("count = %d, want %d", got[c.limit.Key].Count, c.limit.Free)
			}
		})
	}
	t.Run("overlapping keys", func(t *testing.T) {
		a := storage.Limit{Key: "a", Free: 1000, Window: time.Hour}
		b := storage.Limit{Key: "b", Free: 1000, Window: time.Hour}
		oks := takeRace(t, burst, func(i int) (bool, error) {
			if i%2 == 1 {
				return s.TakeAttempt(ctx, t0, b, a)
			}
			return s.TakeAttempt(ctx, t0, a, b)
		})
		for i, ok := range oks {
			if !ok {
				t.Errorf("attempt %d refused", i)
			}
		}
		got, err := s.GetCounters(ctx, []string{"a", "b"})
		must(t, err)
		for _, k := range []string{"a", "b"} {
			if got[k].Count != burst {
				t.Errorf("counter %s = %d, want %d", k, got[k].Count, burst)
			}
		}
	})
}

// takeRace runs fn n times at once and returns whether each took.
func takeRace(t *testing.T, n int, fn func(i int) (bool, error)) []bool {
	t.Helper()
	oks := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		oks[i], err = fn(i)
		return err
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("attempt %d", i), err, nil)
	}
	return oks
}

func testNoticeAtLimit(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	l := storage.Limit{Key: "otp:fail:u1", Free: 3, Window: time.Hour}
	notice := func(now time.Time, id string) bool {
		t.Helper()
		wrote, err := s.NoticeAtLimit(ctx, l, now, newMail(id, now))
		must(t, err)
		_, err = s.GetMail(ctx, id)
		if wrote != (err == nil) {
			t.Errorf("NoticeAtLimit(%s) = %v, but the mail was written: %v", id, wrote, err == nil)
		}
		return wrote
	}
	if notice(t0, "none-yet") {
		t.Error("a notice for a counter that does not exist")
	}
	for range 2 {
		must2(t)(s.TakeAttempt(ctx, t0, l))
	}
	if notice(t0, "below") {
		t.Error("a notice below the limit")
	}
	must2(t)(s.TakeAttempt(ctx, t0, l))
	for i, err := range race(burst, func(i int) error {
		_, err := s.NoticeAtLimit(ctx, l, t0.Add(time.Minute), newMail(fmt.Sprintf("n-%d", i), t0))
		return err
	}) {
		wantErr(t, fmt.Sprintf("NoticeAtLimit #%d", i), err, nil)
	}
	ms, err := s.ListMail(ctx, storage.DeliveryFilter{Limit: 2 * burst})
	must(t, err)
	if len(ms) != 1 {
		t.Errorf("%d concurrent notices at the limit wrote %d mails, want 1", burst, len(ms))
	}
	if notice(t0.Add(2*time.Minute), "again") {
		t.Error("a second notice in one window")
	}
	// The window is over: the count starts again, and so may the notice.
	next := t0.Add(time.Hour + time.Second)
	if notice(next, "stale") {
		t.Error("a notice for a window that is over")
	}
	for range 3 {
		must2(t)(s.TakeAttempt(ctx, next, l))
	}
	if !notice(next, "next-window") {
		t.Error("no notice in the next window")
	}
}

// must2 fails the test when a take errs or is refused.
func must2(t *testing.T) func(bool, error) {
	return func(ok bool, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("take = %v, %v; want taken", ok, err)
		}
	}
}

// testCodeTries: a try is taken before the comparison, with the
// account's limit, and a tried claim accepts the try it took.
func testCodeTries(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, id := range []string{"a", "b", "burst", "claim"} {
		c := newCode(id, "u-"+id)
		c.Purpose = storage.PurposeLogin
		must(t, s.CreateCode(ctx, c, nil))
	}
	acct := storage.Limit{Key: "otp:fail:u", Free: 3, Window: time.Hour}
	try := func(id string) storage.CodeTryResult {
		t.Helper()
		res, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: id, MaxFailures: 5, Now: t0, Limit: &acct})
		must(t, err)
		return res
	}
	// Three tries over two codes reach the account's limit.
	for i, id := range []string{"a", "b", "a"} {
		res := try(id)
		if !res.Taken || res.Limited || res.Counter.Count != i+1 {
			t.Fatalf("try %d = %+v, want taken, counter %d", i+1, res, i+1)
		}
	}
	res := try("b")
	if res.Taken || !res.Limited || res.Code.Failures != 1 || res.Counter.Count != 3 {
		t.Errorf("try beyond the account's limit = %+v, want limited, code untouched", res)
	}
	if got, _ := s.GetCodeByTicket(ctx, "ticket-b"); got.Failures != 1 {
		t.Errorf("a limited try counted on the code: failures %d", got.Failures)
	}
	// An unusable code does not touch the limit.
	res, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "a", MaxFailures: 5, Now: t0.Add(time.Hour),
		Limit: &storage.Limit{Key: "untouched", Free: 3, Window: time.Hour}})
	must(t, err)
	if res.Taken || res.Limited {
		t.Errorf("try of an expired code = %+v", res)
	}
	if got, _ := s.GetCounters(ctx, []string{"untouched"}); len(got) != 0 {
		t.Errorf("an expired code's try created a counter: %v", got)
	}

	// A burst on one code: exactly MaxFailures taken, counted once each
	// under the limit too.
	wide := storage.Limit{Key: "otp:fail:wide", Free: 1000, Window: time.Hour}
	oks := takeRace(t, burst, func(int) (bool, error) {
		res, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "burst", MaxFailures: 5, Now: t0, Limit: &wide})
		return res.Taken, err
	})
	taken := 0
	for _, ok := range oks {
		if ok {
			taken++
		}
	}
	got, err := s.GetCounters(ctx, []string{wide.Key})
	must(t, err)
	if taken != 5 || got[wide.Key].Count != 5 {
		t.Errorf("%d concurrent tries: %d taken, counter %d; want 5 and 5", burst, taken, got[wide.Key].Count)
	}

	// The claim after a taken try, on the last allowed one.
	claim := storage.CodeClaim{ID: "claim", UserID: "u-claim", Purpose: storage.PurposeLogin, MaxFailures: 2, Tried: true}
	wantErr(t, "tried claim without a try", s.ClaimCode(ctx, claim, t0), storage.ErrAlreadyUsed)
	for range 2 {
		res, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "claim", MaxFailures: 2, Now: t0})
		must(t, err)
		if !res.Taken {
			t.Fatal("try not taken")
		}
	}
	untried := claim
	untried.Tried = false
	wantErr(t, "untried claim of an exhausted code", s.ClaimCode(ctx, untried, t0), storage.ErrAlreadyUsed)
	// A right code whose use failed gives its try back.
	must(t, s.ReturnCodeTry(ctx, "claim"))
	if got, _ := s.GetCodeByTicket(ctx, "ticket-claim"); got.Failures != 1 {
		t.Errorf("failures after ReturnCodeTry = %d, want 1", got.Failures)
	}
	res, err = s.TakeCodeTry(ctx, storage.CodeTry{ID: "claim", MaxFailures: 2, Now: t0})
	must(t, err)
	if !res.Taken || res.Code.Failures != 2 {
		t.Fatalf("try after the return = %+v", res)
	}
	must(t, s.ClaimCode(ctx, claim, t0))
	wantErr(t, "second claim", s.ClaimCode(ctx, claim, t0), storage.ErrAlreadyUsed)
	must(t, s.ReturnCodeTry(ctx, "claim")) // a used code keeps its count
	if got, _ := s.GetCodeByTicket(ctx, "ticket-claim"); got.Failures != 2 || got.UsedAt == nil {
		t.Errorf("used code after ReturnCodeTry = %+v", got)
	}
}
