package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"

	"github.com/sekisho/sekisho/password"
)

// scenario is one row of the benchmark: how to prepare it, the Op the load
// loop repeats, and the correctness checks that decide whether its figures
// count.
type scenario struct {
	ID        string
	Name      string
	SignIn    bool // runs at --signin-c instead of -c
	InProcess bool // S8: measures this process, not the server
	Setup     func(ctx context.Context, e *env) (*prepared, error)
}

// prepared is a scenario ready to run.
type prepared struct {
	Op Op
	// Checks runs after the load (may be nil). The generic "no errors"
	// check is added by the runner.
	Checks func(ctx context.Context) []Check
}

// Check is one correctness check of a scenario.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// scenarios is the table, in the order "all" runs them. S9 is not here: it
// reruns S3a, S5 and S6 against two replicas (see runS9).
var scenarios = []scenario{
	{ID: "S1", Name: "discovery GET", Setup: setupGET(func(e *env) string {
		return strings.TrimSuffix(e.base, "/") + "/.well-known/openid-configuration"
	})},
	{ID: "S2", Name: "JWKS GET", Setup: setupGET(func(e *env) string { return e.disc.JWKSURI })},
	{ID: "S3a", Name: "client_credentials, opaque", Setup: setupClientCredentials(func(e *env) client { return e.conf })},
	{ID: "S3b", Name: "client_credentials, JWT", Setup: setupClientCredentials(func(e *env) client { return e.jwt })},
	{ID: "S4a", Name: "introspection, opaque", Setup: setupIntrospection(func(e *env) client { return e.conf })},
	{ID: "S4b", Name: "introspection, JWT", Setup: setupIntrospection(func(e *env) client { return e.jwt })},
	{ID: "S5", Name: "refresh with rotation", Setup: setupRefresh},
	{ID: "S6", Name: "browser sign-in (PKCE)", SignIn: true, Setup: setupSignIn},
	{ID: "S7", Name: "userinfo", Setup: setupUserinfo},
	{ID: "S8", Name: "argon2id ceiling (in process)", InProcess: true, Setup: setupArgon2},
	{ID: "S8-RS256", Name: "RS256 signing ceiling (in process)", InProcess: true, Setup: setupSign(jose.RS256)},
	{ID: "S8-ES256", Name: "ES256 signing ceiling (in process)", InProcess: true, Setup: setupSign(jose.ES256)},
}

// checkedIDs are the scenarios whose runs must pass the correctness checks
// of the benchmark notes to count (S3–S6); the others are still marked
// FAILED when a request failed.
func isChecked(id string) bool {
	return strings.HasPrefix(id, "S3") || strings.HasPrefix(id, "S4") || id == "S5" || id == "S6"
}

func findScenario(id string) (scenario, bool) {
	for _, s := range scenarios {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return scenario{}, false
}

// setupGET is a plain GET that wants a 200.
func setupGET(target func(e *env) string) func(context.Context, *env) (*prepared, error) {
	return func(_ context.Context, e *env) (*prepared, error) {
		u := target(e)
		return &prepared{Op: func(ctx context.Context, w *Worker) error {
			_, err := get(ctx, w.Client, "GET", u, nil)
			return err
		}}, nil
	}
}

// sampler keeps a uniform random sample of k of the values it is given
// (reservoir sampling).
type sampler struct {
	mu    sync.Mutex
	k, n  int
	items []string
}

func newSampler(k int) *sampler { return &sampler{k: k} }

func (s *sampler) add(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if len(s.items) < s.k {
		s.items = append(s.items, v)
	} else if j := rand.IntN(s.n); j < s.k {
		s.items[j] = v
	}
}

func (s *sampler) sample() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.items...)
}

// tokensSample is how many issued access tokens are introspected after a
// scenario.
const tokensSample = 20

// checkActive introspects the sampled access tokens, which must all be
// active.
func checkActive(ctx context.Context, e *env, toks []string) Check {
	c := Check{Name: "sampled access tokens introspect as active"}
	if len(toks) == 0 {
		c.Detail = "no token was issued"
		return c
	}
	active := 0
	var last error
	for _, t := range toks {
		if err := introspect(ctx, e.setup, e.disc.IntrospectionEndpoint, e.conf, t); err != nil {
			last = err
		} else {
			active++
		}
	}
	c.OK = active == len(toks)
	c.Detail = fmt.Sprintf("%d/%d active", active, len(toks))
	if last != nil {
		c.Detail += "; " + last.Error()
	}
	return c
}

// jwtAlg returns the "alg" of a JWT's header, or "" if tok is not a JWT.
func jwtAlg(tok string) string {
	h, _, ok := strings.Cut(tok, ".")
	if !ok || strings.Count(tok, ".") != 2 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return hdr.Alg
}

// setupClientCredentials is S3: client_credentials with scope api.
func setupClientCredentials(pick func(e *env) client) func(context.Context, *env) (*prepared, error) {
	return func(_ context.Context, e *env) (*prepared, error) {
		cl := pick(e)
		s := newSampler(tokensSample)
		op := func(ctx context.Context, w *Worker) error {
			tr, err := token(ctx, w.Client, e.disc.TokenEndpoint, cl, url.Values{
				"grant_type": {"client_credentials"},
				"scope":      {"api"},
			})
			if err == nil {
				s.add(tr.AccessToken)
			}
			return err
		}
		checks := func(ctx context.Context) []Check {
			toks := s.sample()
			cs := []Check{checkActive(ctx, e, toks)}
			if cl.ID == e.jwt.ID && len(toks) > 0 {
				alg := jwtAlg(toks[0])
				cs = append(cs, Check{Name: "access token is a JWT signed with " + e.alg, OK: alg == e.alg, Detail: "alg " + alg})
			}
			return cs
		}
		return &prepared{Op: op, Checks: checks}, nil
	}
}

// setupIntrospection is S4: the confidential client (as resource server)
// introspects access tokens issued to cl; every answer must be active.
func setupIntrospection(pick func(e *env) client) func(context.Context, *env) (*prepared, error) {
	return func(ctx context.Context, e *env) (*prepared, error) {
		cl := pick(e)
		toks := make([]string, 8)
		for i := range toks {
			tr, err := token(ctx, e.setup, e.disc.TokenEndpoint, cl, url.Values{
				"grant_type": {"client_credentials"}, "scope": {"api"},
			})
			if err != nil {
				return nil, fmt.Errorf("minting a token for %s: %w", cl.ID, err)
			}
			toks[i] = tr.AccessToken
		}
		return &prepared{Op: func(ctx context.Context, w *Worker) error {
			return introspect(ctx, w.Client, e.disc.IntrospectionEndpoint, e.conf, toks[w.ID%len(toks)])
		}}, nil
	}
}

// chain is the current state of one refresh-token chain (one per user).
type chain struct {
	id      int
	refresh string
	access  string
}

// setupRefresh is S5: one refresh-token chain per user, minted by real
// sign-ins; the queue hands each current token to exactly one worker and
// takes back the rotated one.
func setupRefresh(ctx context.Context, e *env) (*prepared, error) {
	n := len(e.users)
	q := make(chan chain, n)
	err := parallel(n, e.opts.SignInConcurrency, func(i int) error {
		u := e.users[i]
		res, err := signIn(ctx, e.setup, e.disc, e.conf, e.redirectURI, "openid offline_access", u.Email, u.Password)
		if err != nil {
			return fmt.Errorf("sign-in of %s: %w", u.Email, err)
		}
		if res.Tokens.RefreshToken == "" {
			return fmt.Errorf("sign-in of %s: no refresh_token (scope %q)", u.Email, res.Tokens.Scope)
		}
		q <- chain{id: i, refresh: res.Tokens.RefreshToken, access: res.Tokens.AccessToken}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("minting refresh tokens: %w", err)
	}

	var broken, lost atomic.Int64
	var used atomic.Pointer[chain] // one rotated-away token, for the reuse test
	op := func(ctx context.Context, w *Worker) error {
		var c chain
		select {
		case c = <-q:
		case <-w.Stop:
			return errStopped
		case <-ctx.Done():
			return errStopped
		}
		w.ResetClock()
		tr, err := token(ctx, w.Client, e.disc.TokenEndpoint, e.conf, url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {c.refresh},
		})
		if err != nil {
			// Whatever happened, the token's state is unknown now: retire the
			// chain rather than risk a reuse.
			lost.Add(1)
			if isOAuthError(err, "invalid_grant") {
				broken.Add(1)
			}
			return err
		}
		if tr.RefreshToken == "" {
			lost.Add(1)
			return checkErrorf("refresh: no new refresh_token")
		}
		used.CompareAndSwap(nil, &c)
		q <- chain{id: c.id, refresh: tr.RefreshToken, access: tr.AccessToken}
		if tr.IDToken == "" {
			return checkErrorf("refresh: no id_token")
		}
		return nil
	}

	checks := func(ctx context.Context) []Check {
		cs := []Check{{
			Name:   "no broken chains (invalid_grant)",
			OK:     broken.Load() == 0,
			Detail: fmt.Sprintf("%d invalid_grant, %d of %d chains retired", broken.Load(), lost.Load(), n),
		}}
		var live []chain
		for len(q) > 0 {
			live = append(live, <-q)
		}
		var toks []string
		for _, c := range live[:min(len(live), tokensSample)] {
			toks = append(toks, c.access)
		}
		// Before the reuse test: revoking a family may revoke its access
		// tokens too.
		cs = append(cs, checkActive(ctx, e, toks))

		u := used.Load()
		if u == nil {
			return append(cs, Check{Name: "reuse of a rotated refresh token is refused", Detail: "no refresh succeeded"})
		}
		_, err := token(ctx, e.setup, e.disc.TokenEndpoint, e.conf, url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {u.refresh},
		})
		cs = append(cs, Check{Name: "reuse of a rotated refresh token is refused", OK: isOAuthError(err, "invalid_grant"), Detail: errDetail(err)})
		for _, c := range live {
			if c.id != u.id {
				continue
			}
			_, err := token(ctx, e.setup, e.disc.TokenEndpoint, e.conf, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {c.refresh},
			})
			cs = append(cs, Check{Name: "reuse revokes the chain's current token", OK: isOAuthError(err, "invalid_grant"), Detail: errDetail(err)})
		}
		return cs
	}
	return &prepared{Op: op, Checks: checks}, nil
}

func errDetail(err error) string {
	if err == nil {
		return "accepted (HTTP 200)"
	}
	return err.Error()
}

// setupSignIn is S6: the whole browser sign-in of the public PKCE client,
// one fresh browser per sign-in, users in turn.
func setupSignIn(_ context.Context, e *env) (*prepared, error) {
	s := newSampler(tokensSample)
	var first atomic.Pointer[signInResult]
	op := func(ctx context.Context, w *Worker) error {
		u := e.nextUser()
		res, err := signIn(ctx, w.Client, e.disc, e.public, e.redirectURI, "openid offline_access", u.Email, u.Password)
		if err == nil {
			s.add(res.Tokens.AccessToken)
			first.CompareAndSwap(nil, &res)
		}
		return err
	}
	checks := func(ctx context.Context) []Check {
		cs := []Check{checkActive(ctx, e, s.sample())}
		c := Check{Name: "an authorization code works only once"}
		if r := first.Load(); r == nil {
			c.Detail = "no sign-in succeeded"
		} else {
			_, err := token(ctx, e.setup, e.disc.TokenEndpoint, e.public, url.Values{
				"grant_type": {"authorization_code"}, "code": {r.Code},
				"redirect_uri": {e.redirectURI}, "code_verifier": {r.Verifier},
			})
			c.OK, c.Detail = isOAuthError(err, "invalid_grant"), errDetail(err)
		}
		return append(cs, c)
	}
	return &prepared{Op: op, Checks: checks}, nil
}

// setupUserinfo is S7: userinfo with the bearer access tokens of a few
// signed-in users.
func setupUserinfo(ctx context.Context, e *env) (*prepared, error) {
	toks := make([]string, min(len(e.users), 8))
	err := parallel(len(toks), e.opts.SignInConcurrency, func(i int) error {
		u := e.users[i]
		res, err := signIn(ctx, e.setup, e.disc, e.conf, e.redirectURI, "openid profile email", u.Email, u.Password)
		toks[i] = res.Tokens.AccessToken
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	return &prepared{Op: func(ctx context.Context, w *Worker) error {
		body, err := get(ctx, w.Client, "userinfo", e.disc.UserinfoEndpoint,
			http.Header{"Authorization": {"Bearer " + toks[w.ID%len(toks)]}})
		if err == nil && !bytes.Contains(body, []byte(`"sub"`)) {
			return checkErrorf("userinfo: no sub")
		}
		return err
	}}, nil
}

// setupArgon2 is S8: argon2id at the server's parameters in this process,
// as this build's server hashes (password.Hasher: its implementation, its
// gate of GOMAXPROCS slots and the memory it keeps between hashes), one
// worker per GOMAXPROCS; the ceiling for S6.
func setupArgon2(_ context.Context, e *env) (*prepared, error) {
	p := e.argon
	h := password.New(password.Params{MemoryKiB: p.MemoryKiB, Iterations: p.Iterations, Parallelism: p.Parallelism}, 0)
	return &prepared{Op: func(ctx context.Context, _ *Worker) error {
		_, err := h.Hash(ctx, "Bench-password-1!")
		return err
	}}, nil
}

// parallel runs fn(0..n-1) with at most conc at a time and returns the
// first error.
func parallel(n, conc int, fn func(i int) error) error {
	conc = max(1, conc)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}
