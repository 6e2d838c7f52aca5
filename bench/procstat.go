package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc (`getconf
// CLK_TCK`): 100 on every Linux architecture Go supports.
const clockTicks = 100

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// parseProcStat returns utime+stime from the text of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("procstat: no ')' in stat line")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("procstat: %d fields after comm, want at least 13", len(f))
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: stime: %w", err)
	}
	return ticks(ut + st), nil
}

// procCPU is the CPU time (user+system) a process has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// memInfo is what /proc/<pid>/status says about a process's memory.
type memInfo struct {
	RSS uint64 // VmRSS, bytes
	HWM uint64 // VmHWM (peak RSS), bytes
	// Anon and File split RSS (RssAnon, RssFile; 0 on kernels before
	// 4.5): the process's own memory, and the pages of files it maps (the
	// binary's code and read-only data, shared and dropped by the kernel
	// under pressure).
	Anon, File uint64
}

// parseStatus reads VmRSS and VmHWM (given in kB), and RssAnon and
// RssFile where the kernel gives them, from /proc/<pid>/status.
func parseStatus(s string) (memInfo, error) {
	var m memInfo
	var found int
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		var dst *uint64
		switch key {
		case "VmRSS":
			dst = &m.RSS
			found++
		case "VmHWM":
			dst = &m.HWM
			found++
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("procstat: %s: %w", key, err)
		}
		*dst = kb * 1024
	}
	if found < 2 {
		return m, errors.New("procstat: VmRSS or VmHWM missing")
	}
	return m, nil
}

func procMem(pid int) (memInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, err
	}
	return parseStatus(string(b))
}

// resetPeakRSS sets a process's VmHWM back to its current RSS (Linux 4.0+;
// we may do it to our own child processes).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// parseCPULine returns the busy time from the aggregate "cpu" line of
// /proc/stat: user+nice+system+irq+softirq. Idle and iowait are not busy,
// steal is time the hypervisor gave to other machines, and guest time is
// already inside user and nice.
func parseCPULine(s string) (time.Duration, error) {
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 8 {
			return 0, errors.New("procstat: short cpu line")
		}
		var busy uint64
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal, guest, guest_nice
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procstat: cpu line: %w", err)
			}
			busy += n
		}
		return ticks(busy), nil
	}
	return 0, errors.New("procstat: no cpu line")
}

// machineBusy is the CPU time all processes on the machine have used.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseCPULine(string(b))
}

// selfCPU is this process's own CPU time (the load generator).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU sums the CPU time of the local PostgreSQL processes: with a
// database name, only the backends connected to it (their process title is
// "postgres: <cluster>: <user> <database> <client> <state>"), else all of
// them. Backends that exit between two samples are missed, so it is a lower
// bound.
func postgresCPU(database string) time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	for _, d := range dirs {
		c, err := os.ReadFile(d + "/comm")
		if err != nil || string(bytes.TrimSpace(c)) != "postgres" {
			continue
		}
		if database != "" {
			cmd, err := os.ReadFile(d + "/cmdline")
			if err != nil || !isBackendOf(string(cmd), database) {
				continue
			}
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		if t, err := parseProcStat(string(b)); err == nil {
			total += t
		}
	}
	return total
}

// isBackendOf reports whether a PostgreSQL process title is that of a
// backend connected to database.
func isBackendOf(title, database string) bool {
	// "postgres: 15/main: user db ...", or without a cluster name
	// "postgres: user db ...".
	f := strings.Fields(strings.ReplaceAll(title, "\x00", " "))
	return len(f) >= 4 && f[0] == "postgres:" && slices.Contains(f[2:4], database)
}

// cpuModel is the first "model name" in /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
