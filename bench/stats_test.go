package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{95, 95 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.9, 100 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0, 1 * time.Millisecond},
		{0.5, 1 * time.Millisecond},
	} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}

	twenty := d[:20]
	if got := percentile(twenty, 95); got != 19*time.Millisecond { // rank ceil(0.95*20) = 19
		t.Errorf("percentile(1..20, 95) = %v, want 19ms", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	one := []time.Duration{7}
	for _, p := range []float64{1, 50, 99, 100} {
		if got := percentile(one, p); got != 7 {
			t.Errorf("percentile([7], %v) = %v", p, got)
		}
	}
	if got := percentile([]time.Duration{1, 2}, 50); got != 1 {
		t.Errorf("percentile([1 2], 50) = %v, want 1 (nearest rank)", got)
	}
}

func TestMedianMinMax(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := median(xs); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if xs[0] != 3 {
		t.Error("median sorted its argument")
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v, want 2.5", got)
	}
	if got := median(nil); got != 0 {
		t.Errorf("median(nil) = %v", got)
	}
	if lo, hi := minMax([]float64{5, -1, 9, 2}); lo != -1 || hi != 9 {
		t.Errorf("minMax = %v, %v", lo, hi)
	}
	if lo, hi := minMax(nil); lo != 0 || hi != 0 {
		t.Errorf("minMax(nil) = %v, %v", lo, hi)
	}
	if ratio(1, 0) != 0 || ratio(6, 3) != 2 {
		t.Error("ratio")
	}
}

func TestCountsClassify(t *testing.T) {
	var c counts
	c.classify(nil)
	c.classify(&StatusError{Code: 500})
	c.classify(checkErrorf("active:false"))
	c.classify(timeoutErr{})
	c.classify(errStopped) // not expected here, counted as other
	want := counts{OK: 1, Non2xx: 1, Checks: 1, Timeouts: 1, Other: 1}
	if c != want {
		t.Errorf("counts = %+v, want %+v", c, want)
	}
	if c.Errors() != 4 {
		t.Errorf("Errors() = %d, want 4", c.Errors())
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestSampler(t *testing.T) {
	s := newSampler(20)
	for i := range 1000 {
		s.add(string(rune('a' + i%26)))
	}
	if got := len(s.sample()); got != 20 {
		t.Errorf("sample size %d, want 20", got)
	}
	s = newSampler(20)
	s.add("x")
	if got := s.sample(); len(got) != 1 || got[0] != "x" {
		t.Errorf("sample = %v", got)
	}
}

func TestParseScenarios(t *testing.T) {
	ids, s9, err := parseScenarios("all")
	if err != nil || s9 || len(ids) != len(scenarios) {
		t.Errorf("all: %v %v %v", ids, s9, err)
	}
	ids, s9, err = parseScenarios("s5, S3,S9,s1")
	if err != nil || !s9 {
		t.Fatalf("list: %v %v", s9, err)
	}
	want := []string{"S1", "S3a", "S3b", "S5"}
	if len(ids) != len(want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Errorf("ids = %v, want %v", ids, want)
		}
	}
	if _, _, err := parseScenarios("S10"); err == nil {
		t.Error("S10 accepted")
	}
	if _, _, err := parseScenarios(""); err == nil {
		t.Error("empty accepted")
	}
}
