package bench

import (
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestWithCeilings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ids       []string
		alg       string
		want, add []string
	}{
		{"nothing bound", []string{"S1", "S3a", "S5"}, "RS256", []string{"S1", "S3a", "S5"}, nil},
		{"JWT, RS256", []string{"S3a", "S3b"}, "RS256", []string{"S3a", "S3b", "S8-RS256"}, []string{"S8-RS256"}},
		{"JWT, ES256", []string{"S3b"}, "ES256", []string{"S3b", "S8-ES256"}, []string{"S8-ES256"}},
		{"sign-in and JWT", []string{"S6", "S3b"}, "RS256", []string{"S3b", "S6", "S8", "S8-RS256"}, []string{"S8", "S8-RS256"}},
		{"ceiling already there", []string{"S6", "S8"}, "RS256", []string{"S6", "S8"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, added := withCeilings(tc.ids, tc.alg)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.add, added); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRatios(t *testing.T) {
	s3b := Result{ID: "S3b", RPSMedian: 1000, ReqPerCPUSecond: 900, ReqPerCPUSecondWithDB: 720}
	s6 := Result{ID: "S6", RPSMedian: 45, ReqPerCPUSecond: 25, ReqPerCPUSecondWithDB: 24}
	s8 := Result{ID: "S8", RPSMedian: 50, ReqPerCPUSecond: 25}
	rs256 := Result{ID: "S8-RS256", RPSMedian: 1800, ReqPerCPUSecond: 900}
	es256 := Result{ID: "S8-ES256", RPSMedian: 28000, ReqPerCPUSecond: 14000}

	for _, tc := range []struct {
		name    string
		alg     string
		results []Result
		want    []Ratio
	}{
		{"postgres, RS256", "RS256", []Result{s3b, s6, s8, rs256, es256}, []Ratio{
			{Scenario: "S3b", Ceiling: "S8-RS256", Basis: basisCPUWithDB, Value: 720, CeilingValue: 900, Ratio: 0.8},
			{Scenario: "S3b", Ceiling: "S8-RS256", Basis: basisCPUServer, Value: 900, CeilingValue: 900, Ratio: 1},
			{Scenario: "S6", Ceiling: "S8", Basis: basisCPUWithDB, Value: 24, CeilingValue: 25, Ratio: 0.96},
			{Scenario: "S6", Ceiling: "S8", Basis: basisCPUServer, Value: 25, CeilingValue: 25, Ratio: 1},
			{Scenario: "S6", Ceiling: "S8", Basis: basisWall, Value: 45, CeilingValue: 50, Ratio: 0.9},
		}},
		{"ES256 compares with its own ceiling", "ES256", []Result{s3b, rs256, es256}, []Ratio{
			{Scenario: "S3b", Ceiling: "S8-ES256", Basis: basisCPUWithDB, Value: 720, CeilingValue: 14000, Ratio: 720.0 / 14000},
			{Scenario: "S3b", Ceiling: "S8-ES256", Basis: basisCPUServer, Value: 900, CeilingValue: 14000, Ratio: 900.0 / 14000},
		}},
		{"SQLite: one CPU figure, one ratio", "RS256", []Result{
			{ID: "S3b", ReqPerCPUSecond: 720, ReqPerCPUSecondWithDB: 720}, rs256,
		}, []Ratio{
			{Scenario: "S3b", Ceiling: "S8-RS256", Basis: basisCPUWithDB, Value: 720, CeilingValue: 900, Ratio: 0.8},
		}},
		{"database CPU not measured", "RS256", []Result{{ID: "S3b", ReqPerCPUSecond: 720}, rs256}, []Ratio{
			{Scenario: "S3b", Ceiling: "S8-RS256", Basis: basisCPUServer, Value: 720, CeilingValue: 900, Ratio: 0.8},
		}},
		{"no ceiling", "RS256", []Result{s3b, s6}, nil},
		{"ceiling setup failed", "RS256", []Result{s6, {ID: "S8", SetupError: "boom"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ratios(&Report{Alg: tc.alg, Scenarios: tc.results})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ratios (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetupSign signs once with a P-256 key (an RSA-2048 key would take
// too long to generate here).
func TestSetupSign(t *testing.T) {
	p, err := setupSign(jose.ES256)(t.Context(), &env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Op(t.Context(), &Worker{ID: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := setupSign("PS512")(t.Context(), &env{}); err == nil {
		t.Error("an algorithm the server does not use was accepted")
	}
	if n := len(tokenClaims()); n < 150 || n > 600 {
		t.Errorf("payload of %d bytes, want the size of an access token's claims", n)
	}
}
