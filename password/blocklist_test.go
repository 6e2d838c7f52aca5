package password

import (
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsCommon(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"123456", true},
		{"password", true},
		{"PASSWORD", true},
		{"PassWord", true},
		{"Ｐａｓｓｗｏｒｄ", true}, // full-width, NFKC gives "Password"
		{"password1", true},
		{"P@ssw0rd", true},
		{"pa$$w0rd", true},    // rank 35,375
		{"xpcrew", true},      // the last line
		{"Password1!", false}, // not on the list, which has "password1"
		{"Tr0ub4dor&3", false},
		{"password ", false},
		{"", false},
		{strings.Repeat("a", 200), false}, // refused by Normalize
	} {
		if got := IsCommon(tc.pw); got != tc.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func TestCommonSetComplete(t *testing.T) {
	set := commonSet()
	lines := strings.Split(strings.TrimSpace(commonPasswords), "\n")
	if len(lines) < 10000 {
		t.Fatalf("list has %d lines, want at least the 10,000 most common", len(lines))
	}
	if len(set) != len(lines) {
		t.Errorf("set has %d entries, list %d lines", len(set), len(lines))
	}
	for i, l := range lines {
		if _, ok := set[l]; !ok {
			t.Fatalf("line %d %q missing from the set", i+1, l)
		}
	}
}

func TestLoadCommon(t *testing.T) {
	got := loadCommon("Foo\r\nbar\n\n  baz  \nSTRAßE\nbar")
	want := map[string]struct{}{"foo": {}, "bar": {}, "baz": {}, "strasse": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loadCommon mismatch (-want +got):\n%s", diff)
	}
}

func TestIsCommonConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !IsCommon("Password") || IsCommon("Tr0ub4dor&3") {
				t.Error("IsCommon gave a wrong answer under concurrency")
			}
		})
	}
	wg.Wait()
}

// BenchmarkLoadCommon builds the set once per iteration and reports the heap
// it holds (heap-B) as well as the time to build it.
func BenchmarkLoadCommon(b *testing.B) {
	var keep map[string]struct{}
	var before, after runtime.MemStats
	for b.Loop() {
		keep = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		keep = loadCommon(commonPasswords)
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap-B")
	runtime.KeepAlive(keep)
}

func BenchmarkIsCommon(b *testing.B) {
	commonSet()
	for b.Loop() {
		IsCommon("Tr0ub4dor&3")
	}
}
