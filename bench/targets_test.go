package bench

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// meetingReport is a PostgreSQL run that meets every target.
func meetingReport() *Report {
	rep := &Report{
		Storage: "postgres", Alg: "RS256", Argon2: DefaultArgon2, Machine: Machine{GOMAXPROCS: 2}, IdleRSSMiB: 30,
		Scenarios: []Result{
			{ID: "S3a", Concurrency: 32, ReqPerCPUSecond: 8000, ReqPerCPUSecondWithDB: 5000, ServerCPUSeconds: 10, PostgresCPUSeconds: 6},
			{ID: "S3b", Concurrency: 32, ReqPerCPUSecond: 950, ReqPerCPUSecondWithDB: 900},
			{ID: "S4a", Concurrency: 32, ReqPerCPUSecond: 6000, ReqPerCPUSecondWithDB: 4500,
				DB: &DBStats{Requests: 1000, PerRequest: pgCounters{XactCommit: 1, IdxScan: 1, TupFetched: 1}}},
			{ID: "S5", Concurrency: 32, ReqPerCPUSecond: 900, ReqPerCPUSecondWithDB: 700,
				DB: &DBStats{Requests: 1000, StatementsCounted: true, PerRequest: pgCounters{XactCommit: 1, IdxScan: 2, NTupIns: 2, NTupUpd: 1, Statements: 5}}},
			{ID: "S6", Concurrency: 8, RPSMedian: 45, ReqPerCPUSecond: 24, ReqPerCPUSecondWithDB: 23.5, RSSPeakMiB: 90},
			{ID: "S8", Concurrency: 2, RPSMedian: 50, ReqPerCPUSecond: 25},
			{ID: "S8-RS256", Concurrency: 2, RPSMedian: 1900, ReqPerCPUSecond: 1000},
		},
	}
	rep.Ratios = ratios(rep)
	return rep
}

func scenarioOf(rep *Report, id string) *Result { return resultsByID(rep.Scenarios)[id] }

func withoutScenario(rep *Report, id string) {
	rep.Scenarios = removeID(rep.Scenarios, id)
}

func removeID(rs []Result, id string) []Result {
	var out []Result
	for _, r := range rs {
		if r.ID != id {
			out = append(out, r)
		}
	}
	return out
}

func findTarget(ts []TargetResult, prefix string) (TargetResult, bool) {
	for _, t := range ts {
		if strings.HasPrefix(t.Target, prefix) {
			return t, true
		}
	}
	return TargetResult{}, false
}

func TestCheckTargetsAllMet(t *testing.T) {
	ts := checkTargets(meetingReport())
	if len(ts) != 10 {
		t.Fatalf("%d targets, want the 10 of issue 14", len(ts))
	}
	for _, tg := range ts {
		if tg.Status != statusMet {
			t.Errorf("%s: %s (%s), want met", tg.Target, tg.Status, tg.Detail)
		}
	}
	rep := meetingReport()
	rep.Targets = ts
	if got := rep.TargetsMissed(); len(got) != 0 {
		t.Errorf("TargetsMissed = %v", got)
	}
	if got := targetSummary(ts); got != "10 met" {
		t.Errorf("summary = %q", got)
	}
}

func TestCheckTargets(t *testing.T) {
	for _, tc := range []struct {
		name       string
		change     func(rep *Report)
		target     string // prefix of the target's name
		wantStatus string
		wantDetail string // substring
	}{
		{"opaque tokens below the bar", func(r *Report) { scenarioOf(r, "S3a").ReqPerCPUSecondWithDB = 3999 },
			"S3a", statusMissed, "3999 req/CPU-s server + database (server only 8000; database 38 % of the CPU), c=32"},
		{"server alone is not enough", func(r *Report) { scenarioOf(r, "S3a").ReqPerCPUSecondWithDB = 2000 },
			"S3a", statusMissed, "server only 8000"},
		{"a failed scenario's figures do not count", func(r *Report) { scenarioOf(r, "S3a").Failed = true },
			"S3a", statusMissed, "S3a FAILED its correctness checks"},
		{"setup failed", func(r *Report) { scenarioOf(r, "S3a").SetupError = "no token endpoint" },
			"S3a", statusMissed, "setup failed: no token endpoint"},
		{"not run", func(r *Report) { withoutScenario(r, "S3a") },
			"S3a", statusNotRun, "not in this run"},
		{"database CPU unknown", func(r *Report) { scenarioOf(r, "S3a").ReqPerCPUSecondWithDB = 0 },
			"S3a", statusNotMeasured, "database's CPU was not measured"},
		{"JWT far from the signing ceiling", func(r *Report) {
			scenarioOf(r, "S3b").ReqPerCPUSecondWithDB = 800
			r.Ratios = ratios(r)
		}, "S3b", statusMissed, "80 %: S3b 800, S8-RS256 1000"},
		{"JWT without its ceiling", func(r *Report) {
			withoutScenario(r, "S8-RS256")
			r.Ratios = ratios(r)
		}, "S3b", statusNotRun, "ceiling S8-RS256: not in this run"},
		{"JWT against ES256", func(r *Report) {
			r.Alg = "ES256"
			r.Scenarios = append(r.Scenarios, Result{ID: "S8-ES256", ReqPerCPUSecond: 1000})
			r.Ratios = ratios(r)
		}, "S3b client_credentials, JWT ≥ 85 % of the ES256", statusMet, "90 %: S3b 900, S8-ES256 1000"},
		{"slow refresh", func(r *Report) { scenarioOf(r, "S5").ReqPerCPUSecondWithDB = 400 },
			"S5 refresh ≥", statusMissed, "400 req/CPU-s"},
		{"too many statements", func(r *Report) { scenarioOf(r, "S5").DB.PerRequest.Statements = 8 },
			"S5 refresh ≤", statusMissed, "8.00 statements per refresh (pg_stat_statements)"},
		{"statements within the background noise", func(r *Report) { scenarioOf(r, "S5").DB.PerRequest.Statements = 5.04 },
			"S5 refresh ≤", statusMet, "5.04 statements"},
		{"proxy over the bar shows a miss", func(r *Report) {
			d := scenarioOf(r, "S5").DB
			d.StatementsCounted, d.PerRequest = false, pgCounters{IdxScan: 4, NTupIns: 2}
		}, "S5 refresh ≤", statusMissed, "proxy (pg_stat_statements is not loaded): 6.00 table accesses"},
		{"proxy under the bar cannot show it met", func(r *Report) {
			d := scenarioOf(r, "S5").DB
			d.StatementsCounted, d.PerRequest = false, pgCounters{IdxScan: 3, NTupIns: 2, NTupUpd: 1}
		}, "S5 refresh ≤", statusNotMeasured, "5.00 table accesses per refresh = 3.00 index scans + 0.00 seq scans + 2.00 rows inserted"},
		{"SQLite has no statistics", func(r *Report) { scenarioOf(r, "S5").DB = nil },
			"S5 refresh ≤", statusNotMeasured, "SQLite keeps none"},
		{"statistics not read", func(r *Report) { scenarioOf(r, "S5").DB = &DBStats{Note: "connection refused"} },
			"S5 refresh ≤", statusNotMeasured, "database statistics: connection refused"},
		{"introspection scans twice", func(r *Report) { scenarioOf(r, "S4a").DB.PerRequest.IdxScan = 2 },
			"S4a introspection, opaque: one", statusMissed, "2.00 index scans"},
		{"introspection scans a table", func(r *Report) { scenarioOf(r, "S4a").DB.PerRequest.SeqScan = 0.5 },
			"S4a introspection, opaque: one", statusMissed, "0.50 seq scans"},
		{"introspection writes", func(r *Report) { scenarioOf(r, "S4a").DB.PerRequest.NTupUpd = 1 },
			"S4a introspection, opaque: one", statusMissed, "1.00 rows written"},
		{"introspection counted as two statements", func(r *Report) {
			d := scenarioOf(r, "S4a").DB
			d.StatementsCounted, d.PerRequest.Statements = true, 2
		}, "S4a introspection, opaque: one", statusMissed, "2.00 statements"},
		{"sign-in short of the hash ceiling per CPU-second", func(r *Report) {
			scenarioOf(r, "S6").ReqPerCPUSecondWithDB = 20
			r.Ratios = ratios(r)
		}, "S6 sign-in ≥ 90", statusMissed, "80 %: S6 20.0, S8 25.0"},
		{"sign-in short in wall time", func(r *Report) {
			scenarioOf(r, "S6").RPSMedian = 40
			r.Ratios = ratios(r)
		}, "S6 sign-in ≥ 85", statusMissed, "80 %: S6 40.0, S8 50.0"},
		{"wall time at another concurrency says so", func(r *Report) { scenarioOf(r, "S6").Concurrency = 32 },
			"S6 sign-in ≥ 85", statusMet, "measured at c=32, the target is stated at c=8"},
		{"sign-in memory over the bound", func(r *Report) { scenarioOf(r, "S6").RSSPeakMiB = 150 },
			"S6 sign-in peak RSS", statusMissed, "peak 150.0 MiB, limit 100.0 = idle 30.0 + 2 × 19.0 + 32, at c=8"},
		{"sign-in memory not measured", func(r *Report) { scenarioOf(r, "S6").RSSPeakMiB = 0 },
			"S6 sign-in peak RSS", statusNotMeasured, "--server-pid"},
		{"idle RSS over", func(r *Report) { r.IdleRSSMiB = 45 },
			"idle RSS", statusMissed, "45.0 MiB after start"},
		{"idle RSS not measured", func(r *Report) { r.IdleRSSMiB = 0 },
			"idle RSS", statusNotMeasured, "not measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := meetingReport()
			tc.change(rep)
			got, ok := findTarget(checkTargets(rep), tc.target)
			if !ok {
				t.Fatalf("no target %q", tc.target)
			}
			if got.Status != tc.wantStatus || !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("%s: %s (%s); want %s with %q", got.Target, got.Status, got.Detail, tc.wantStatus, tc.wantDetail)
			}
		})
	}
}

func TestTargetsMissedAndSummary(t *testing.T) {
	rep := &Report{Targets: []TargetResult{
		{Target: "a", Status: statusMet},
		{Target: "b", Status: statusMissed},
		{Target: "c", Status: statusNotRun},
		{Target: "d", Status: statusMissed},
		{Target: "e", Status: statusNotMeasured},
	}}
	if diff := cmp.Diff([]string{"b", "d"}, rep.TargetsMissed()); diff != "" {
		t.Errorf("TargetsMissed (-want +got):\n%s", diff)
	}
	if got, want := targetSummary(rep.Targets), "1 met, 2 missed, 1 not measured, 1 not run"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}
