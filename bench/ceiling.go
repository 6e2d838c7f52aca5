package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// The in-process ceilings: what one core of this machine can do of the
// work a scenario cannot avoid, measured in this process (getrusage) in the
// same run. A scenario's figure divided by its ceiling's is how close the
// server comes to the machine's limit.
const (
	argonCeilingID = "S8"
	signCeilingID  = "S8-" // + the algorithm: S8-RS256, S8-ES256
)

// signCeiling is the id of the signing ceiling of alg.
func signCeiling(alg string) string { return signCeilingID + alg }

// withCeilings adds to ids the ceilings the selected scenarios are compared
// with: argon2id (S8) for the sign-in (S6), the signing ceiling of alg for
// the JWT access tokens (S3b). The order stays that of the scenario table.
func withCeilings(ids []string, alg string) (out, added []string) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for id, ceiling := range map[string]string{"S6": argonCeilingID, "S3b": signCeiling(alg)} {
		if want[id] && !want[ceiling] {
			want[ceiling] = true
			added = append(added, ceiling)
		}
	}
	for _, s := range scenarios {
		if want[s.ID] {
			out = append(out, s.ID)
		}
	}
	slices.Sort(added)
	return out, added
}

// tokenClaims is a payload the size of a JWT access token of S3b: the
// claims zitadel/oidc writes for client_credentials.
func tokenClaims() []byte {
	now := time.Now().Unix()
	b, _ := json.Marshal(map[string]any{
		"iss": "http://127.0.0.1:43210", "sub": jwtClientID, "aud": []string{jwtClientID},
		"client_id": jwtClientID, "scope": "api", "jti": uuid.NewString(),
		"iat": now, "nbf": now, "exp": now + 3600,
	})
	return b
}

// setupSign is an S8-<alg> ceiling: compact JWS signatures of a token-sized
// payload with a key of the size the server generates (RSA-2048, P-256),
// one signer per worker, one worker per GOMAXPROCS.
func setupSign(alg jose.SignatureAlgorithm) func(context.Context, *env) (*prepared, error) {
	return func(context.Context, *env) (*prepared, error) {
		var key crypto.Signer
		var err error
		switch alg {
		case jose.RS256:
			key, err = rsa.GenerateKey(rand.Reader, 2048)
		case jose.ES256:
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		default:
			err = fmt.Errorf("no key for %s", alg)
		}
		if err != nil {
			return nil, err
		}
		signers := make([]jose.Signer, runtime.GOMAXPROCS(0))
		for i := range signers {
			signers[i], err = jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: "bench"}},
				(&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				return nil, err
			}
		}
		payload := tokenClaims()
		return &prepared{Op: func(_ context.Context, w *Worker) error {
			jws, err := signers[w.ID%len(signers)].Sign(payload)
			if err == nil {
				_, err = jws.CompactSerialize()
			}
			return err
		}}, nil
	}
}

// The bases on which a scenario is compared with its ceiling.
const (
	basisCPUWithDB = "per CPU-second, server + database"
	basisCPUServer = "per CPU-second, server only"
	basisWall      = "per second, wall time"
)

// Ratio compares a scenario with the in-process ceiling it is bound by.
type Ratio struct {
	Scenario     string  `json:"scenario"`
	Ceiling      string  `json:"ceiling"`
	Basis        string  `json:"basis"`
	Value        float64 `json:"value"`
	CeilingValue float64 `json:"ceiling_value"`
	Ratio        float64 `json:"ratio"`
}

// ceilingPair is a scenario bound by a ceiling.
type ceilingPair struct {
	scenario, ceiling string
	wall              bool // compared in wall time too
}

// ceilingPairs are the scenarios bound by a ceiling: S3b by the signature
// of its algorithm, S6 by argon2id (in wall time too, as the issue states
// the sign-in target).
func ceilingPairs(alg string) []ceilingPair {
	return []ceilingPair{
		{scenario: "S3b", ceiling: signCeiling(alg)},
		{scenario: "S6", ceiling: argonCeilingID, wall: true},
	}
}

// pairOf is the ceiling pair of scenario (the zero pair if it has none).
func pairOf(alg, scenario string) ceilingPair {
	for _, p := range ceilingPairs(alg) {
		if p.scenario == scenario {
			return p
		}
	}
	return ceilingPair{}
}

// ratios compares each scenario of rep bound by a ceiling with that
// ceiling, measured in the same run. A figure that was not measured, or a
// scenario or ceiling that failed, gives no ratio.
func ratios(rep *Report) []Ratio {
	byID := resultsByID(rep.Scenarios)
	var out []Ratio
	for _, p := range ceilingPairs(rep.Alg) {
		s, c := byID[p.scenario], byID[p.ceiling]
		if s == nil || c == nil || s.SetupError != "" || c.SetupError != "" {
			continue
		}
		add := func(basis string, v, cv float64) {
			if v > 0 && cv > 0 {
				out = append(out, Ratio{Scenario: p.scenario, Ceiling: p.ceiling, Basis: basis, Value: v, CeilingValue: cv, Ratio: v / cv})
			}
		}
		add(basisCPUWithDB, s.ReqPerCPUSecondWithDB, c.ReqPerCPUSecond)
		if s.ReqPerCPUSecond != s.ReqPerCPUSecondWithDB { // the same figure on SQLite
			add(basisCPUServer, s.ReqPerCPUSecond, c.ReqPerCPUSecond)
		}
		if p.wall {
			add(basisWall, s.RPSMedian, c.RPSMedian)
		}
	}
	return out
}

// findRatio returns the ratio of scenario on basis, if there is one.
func findRatio(rs []Ratio, scenario, basis string) (Ratio, bool) {
	for _, r := range rs {
		if r.Scenario == scenario && r.Basis == basis {
			return r, true
		}
	}
	return Ratio{}, false
}

// resultsByID indexes results by scenario id.
func resultsByID(rs []Result) map[string]*Result {
	m := make(map[string]*Result, len(rs))
	for i := range rs {
		m[rs[i].ID] = &rs[i]
	}
	return m
}
