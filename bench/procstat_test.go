package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// comm with a space and a ')' in it; utime 250, stime 50 ticks.
	line := "4242 (sek isho) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 1000000 5000 18446744073709551615\n"
	got, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Errorf("cpu = %v, want %v", got, want)
	}
	if _, err := parseProcStat("1 (short) S 1 2"); err == nil {
		t.Error("short line accepted")
	}
	if _, err := parseProcStat("no paren"); err == nil {
		t.Error("line without comm accepted")
	}
}

func TestParseStatus(t *testing.T) {
	s := "Name:\tsekisho\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nRssAnon:\t    8192 kB\nRssFile:\t   12288 kB\nThreads:\t8\n"
	m, err := parseStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 20*mib || m.HWM != 40*mib || m.Anon != 8*mib || m.File != 12*mib {
		t.Errorf("got %+v", m)
	}
	if _, err := parseStatus("Name:\tx\n"); err == nil {
		t.Error("status without VmRSS accepted")
	}
}

func TestParseCPULine(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	s := "cpu  100 10 50 9000 400 5 5 30 70 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
	got, err := parseCPULine(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := ticks(100 + 10 + 50 + 5 + 5); got != want {
		t.Errorf("busy = %v, want %v", got, want)
	}
}

func TestProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
	if m, err := procMem(os.Getpid()); err != nil || m.RSS == 0 {
		t.Errorf("procMem = %+v, %v", m, err)
	}
	if _, err := machineBusy(); err != nil {
		t.Error(err)
	}
}

func TestIsBackendOf(t *testing.T) {
	for title, want := range map[string]bool{
		"postgres: 15/main: postgres sekisho_bench_ab 127.0.0.1(44518) idle\x00": true,
		"postgres: postgres sekisho_bench_ab [local] UPDATE":                     true,
		"postgres: 15/main: postgres other_db 127.0.0.1(1) idle":                 false,
		"postgres: 15/main: walwriter":                                           false,
		"/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main":     false,
	} {
		if got := isBackendOf(title, "sekisho_bench_ab"); got != want {
			t.Errorf("isBackendOf(%q) = %v, want %v", title, got, want)
		}
	}
}
