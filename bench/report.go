package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// fmtRPS formats a rate: no decimals from 100 up, one below.
func fmtRPS(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// fmtMs formats milliseconds, switching to seconds from 1 s.
func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f ms", v)
	}
}

func fmtErrors(c counts) string {
	if c.Errors() == 0 {
		return "0"
	}
	var parts []string
	for _, p := range []struct {
		n    int64
		what string
	}{{c.Non2xx, "non-2xx"}, {c.Timeouts, "timeouts"}, {c.Checks, "bad answers"}, {c.Other, "other"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return fmt.Sprintf("%d (%s)", c.Errors(), strings.Join(parts, ", "))
}

func status(r Result) string {
	if r.Failed {
		return "FAILED"
	}
	return "ok"
}

// orDash formats a positive v with f, and anything else as "—" (not
// measured).
func orDash(v float64, f func(float64) string) string {
	if v > 0 {
		return f(v)
	}
	return "—"
}

// row is one table row: scenario, c, rps median [min–max], p50, p95, p99,
// errors, req/CPU-s of the server, of the server and database, peak RSS
// MiB, status.
func row(r Result) []string {
	if r.SetupError != "" {
		return []string{r.ID + " " + r.Name, fmt.Sprint(r.Concurrency), "—", "—", "—", "—", "setup failed", "—", "—", "—", "FAILED"}
	}
	all := r.Total
	all.add(r.Warmup)
	return []string{
		r.ID + " " + r.Name,
		fmt.Sprint(r.Concurrency),
		fmt.Sprintf("%s [%s–%s]", fmtRPS(r.RPSMedian), fmtRPS(r.RPSMin), fmtRPS(r.RPSMax)),
		fmtMs(r.P50Ms), fmtMs(r.P95Ms), fmtMs(r.P99Ms),
		fmtErrors(all),
		orDash(r.ReqPerCPUSecond, fmtRPS), orDash(r.ReqPerCPUSecondWithDB, fmtRPS),
		orDash(r.RSSPeakMiB, func(v float64) string { return fmt.Sprintf("%.1f", v) }),
		status(r),
	}
}

var header = []string{"scenario", "c", "rps median [min–max]", "p50", "p95", "p99", "errors", "req/CPU-s server", "req/CPU-s server+db", "peak RSS MiB", "status"}

// fmtPer formats a count per request: "0" for none, else two decimals.
func fmtPer(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.2f", v)
}

// dbRow is one row of the database statistics per request.
func dbRow(r Result) []string {
	d := r.DB
	if d.Note != "" {
		return []string{r.ID, fmt.Sprint(d.Requests), "not read: " + d.Note, "", "", "", "", "", "", "", "", "", ""}
	}
	p := d.PerRequest
	stmts := "n/a"
	if d.StatementsCounted {
		stmts = fmtPer(p.Statements)
	}
	return []string{
		r.ID, fmt.Sprint(d.Requests),
		fmtPer(p.Transactions()), fmtPer(p.XactRollback), stmts, fmtPer(p.TableAccesses()),
		fmtPer(p.IdxScan), fmtPer(p.SeqScan),
		fmtPer(p.NTupIns), fmt.Sprintf("%s (%s)", fmtPer(p.NTupUpd), fmtPer(p.NTupHotUpd)), fmtPer(p.NTupDel),
		fmtPer(p.TupFetched), fmtPer(p.TupReturned),
	}
}

var dbHeader = []string{"scenario", "requests", "tx", "rollbacks", "statements", "table accesses", "index scans", "seq scans",
	"rows inserted", "updated (HOT)", "deleted", "tuples fetched", "tuples returned"}

// ratioRow is one comparison of a scenario with its ceiling.
func ratioRow(r Ratio) []string {
	return []string{r.Scenario, r.Basis, fmtRPS(r.Value), r.Ceiling + " " + fmtRPS(r.CeilingValue), fmt.Sprintf("%.0f %%", 100*r.Ratio)}
}

var ratioHeader = []string{"scenario", "basis", "scenario figure", "ceiling figure", "ratio"}

func targetRow(t TargetResult) []string { return []string{t.Target, t.Status, t.Detail} }

var targetHeader = []string{"target", "status", "figures"}

func cpuRow(r Result) []string {
	return []string{
		r.ID,
		fmt.Sprintf("%.2f", r.ServerCPUSeconds),
		fmt.Sprintf("%.2f", r.GeneratorCPUSeconds),
		fmt.Sprintf("%.2f", r.OtherCPUSeconds),
		fmt.Sprintf("%.2f", r.PostgresCPUSeconds),
		fmt.Sprintf("%.1f / %.1f", r.RSSStartMiB, r.RSSEndMiB),
	}
}

var cpuHeader = []string{"scenario", "server CPU-s", "generator CPU-s", "other CPU-s", "postgres backends CPU-s (in other)", "RSS start / end MiB"}

// table writes rows as Markdown or as aligned text.
func table(w io.Writer, markdown bool, head []string, rows [][]string) {
	if markdown {
		fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
		fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(head)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// writeTable prints the report for people.
func writeTable(w io.Writer, rep *Report, markdown bool) {
	all := append([]Result(nil), rep.Scenarios...)
	if rep.S9 != nil {
		all = append(append(all, rep.S9.One...), rep.S9.Two...)
	}
	var rows, cpu [][]string
	for _, r := range all {
		rows = append(rows, row(r))
		if r.SetupError == "" {
			cpu = append(cpu, cpuRow(r))
		}
	}
	target := "started by the benchmark"
	if rep.Target != "" {
		target = rep.Target
	}
	fmt.Fprintf(w, "\nsekisho bench · storage %s · %s · server %s\n", rep.Storage, rep.Alg, target)
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s · %s\n", rep.Machine.NProc, rep.Machine.GOMAXPROCS, rep.Machine.Model, rep.Machine.GoVersion)
	fmt.Fprintf(w, "argon2id: m=%d KiB, t=%d, p=%d · c=%d, sign-in c=%d · warm-up %gs, %d × %gs · %d users\n",
		rep.Argon2.MemoryKiB, rep.Argon2.Iterations, rep.Argon2.Parallelism,
		rep.Settings.Concurrency, rep.Settings.SignInConcurrency, rep.Settings.WarmupSeconds,
		rep.Settings.Runs, rep.Settings.DurationSeconds, rep.Settings.Users)
	if rep.IdleRSSMiB > 0 {
		fmt.Fprintf(w, "server idle RSS: %.1f MiB", rep.IdleRSSMiB)
		if rep.IdleAnonMiB > 0 {
			fmt.Fprintf(w, " (anonymous %.1f MiB, file pages of the binary and others %.1f MiB)", rep.IdleAnonMiB, rep.IdleFileMiB)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "req/CPU-s server: per CPU-second of the server process (in-process ceilings S8…: of the benchmark process)\n")
	fmt.Fprintf(w, "req/CPU-s server+db: %s\n", rep.DatabaseCPU)
	fmt.Fprintln(w)
	table(w, markdown, header, rows)
	fmt.Fprintln(w)
	table(w, markdown, cpuHeader, cpu)

	if len(rep.Ratios) > 0 {
		fmt.Fprintln(w, "\nScenarios against their in-process ceilings (measured in this run):")
		fmt.Fprintln(w)
		var rs [][]string
		for _, r := range rep.Ratios {
			rs = append(rs, ratioRow(r))
		}
		table(w, markdown, ratioHeader, rs)
	}

	var db [][]string
	for _, r := range all {
		if r.DB != nil {
			db = append(db, dbRow(r))
		}
	}
	if len(db) > 0 {
		fmt.Fprintf(w, "\nDatabase statistics per request (S6: per sign-in), over the measured runs: %s\n\n", rep.DBStats)
		table(w, markdown, dbHeader, db)
	} else {
		fmt.Fprintf(w, "\nDatabase statistics per request: %s\n", rep.DBStats)
	}

	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\nTargets of issue 14 (--check; storage %s):\n\n", rep.Storage)
		var ts [][]string
		for _, t := range rep.Targets {
			ts = append(ts, targetRow(t))
		}
		table(w, markdown, targetHeader, ts)
	}

	var notes []string
	if rep.S9 != nil {
		if rep.S9.Error != "" {
			notes = append(notes, "S9 FAILED: "+rep.S9.Error)
		}
		for _, id := range s9Scenarios {
			if f, ok := rep.S9.Factor[id]; ok {
				notes = append(notes, fmt.Sprintf("S9 scaling factor %s: ×%.2f (two replicas / one, rps median)", id, f))
			}
		}
	}
	for _, r := range all {
		if r.SetupError != "" {
			notes = append(notes, fmt.Sprintf("%s setup failed: %s", r.ID, r.SetupError))
		}
		for _, c := range r.Checks {
			if !c.OK {
				notes = append(notes, fmt.Sprintf("%s check failed: %s: %s", r.ID, c.Name, c.Detail))
			}
		}
		if r.Failed {
			for _, e := range r.Errors {
				notes = append(notes, fmt.Sprintf("%s error: %s", r.ID, e))
			}
		}
	}
	notes = append(notes, rep.Notes...)
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	if rep.Failed {
		fmt.Fprintln(w, "\nRESULT: FAILED (a scenario failed its checks; its figures do not count)")
	} else {
		fmt.Fprintln(w, "\nRESULT: all checks passed")
	}
	if len(rep.Targets) > 0 {
		verdict := "all targets judged were met"
		if len(rep.TargetsMissed()) > 0 {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "CHECK: %s (%s)\n", verdict, targetSummary(rep.Targets))
	}
}

// summaryLine is the progress line after a scenario.
func summaryLine(r Result) string {
	if r.SetupError != "" {
		return fmt.Sprintf("%s setup FAILED: %s", r.ID, r.SetupError)
	}
	s := fmt.Sprintf("%s: %s rps [%s–%s], p50 %s, p99 %s, errors %s, req/CPU-s %s",
		r.ID, fmtRPS(r.RPSMedian), fmtRPS(r.RPSMin), fmtRPS(r.RPSMax), fmtMs(r.P50Ms), fmtMs(r.P99Ms),
		fmtErrors(r.Total), fmtRPS(r.ReqPerCPUSecond))
	if r.ReqPerCPUSecondWithDB > 0 {
		s += " (server+db " + fmtRPS(r.ReqPerCPUSecondWithDB) + ")"
	}
	if r.Failed {
		s += " — FAILED"
	}
	return s
}
