package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// logoutRP is a relying party's back-channel logout endpoint: it answers
// 503 to the first failFirst requests, then 200, and keeps the tokens it
// accepted.
type logoutRP struct {
	ts        *httptest.Server
	failFirst int

	mu       sync.Mutex
	attempts int
	tokens   []string
}

func newLogoutRP(t *testing.T, failFirst int) *logoutRP {
	t.Helper()
	r := &logoutRP{failFirst: failFirst}
	r.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/bcl" ||
			req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST to /bcl", http.StatusBadRequest)
			return
		}
		token := req.PostFormValue("logout_token")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if r.attempts <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.tokens = append(r.tokens, token)
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *logoutRP) received() (tokens []string, attempts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...), r.attempts
}

// waitTokens waits (bounded) until the endpoint has accepted n tokens.
func (r *logoutRP) waitTokens(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		tokens, attempts := r.received()
		if len(tokens) >= n {
			return tokens
		}
		if time.Now().After(deadline) {
			t.Fatalf("back-channel endpoint accepted %d tokens after %d attempts, want %d", len(tokens), attempts, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle waits a few worker polls, so a duplicate delivery would show.
func settle() { time.Sleep(300 * time.Millisecond) }

const (
	bcaCB = "http://127.0.0.1/bc-a/callback"
	bcbCB = "http://127.0.0.1/bc-b/callback"
	fccCB = "http://127.0.0.1:9/fc-c/callback"
	fcBye = "http://127.0.0.1/fc-c/signed-out"
)

var logoutCallbacks = map[string]string{"bc-a": bcaCB, "bc-b": bcbCB, "fc-c": fccCB}

// logoutClients registers three applications: two with back-channel
// logout, one with front-channel logout; and short worker intervals.
func logoutClients(a, b *logoutRP, frontchannel string) func(*config.Config) {
	return func(cfg *config.Config) {
		app := func(id, cb string) config.Client {
			return config.Client{ID: id, Name: config.Labels{JA: strings.ToUpper(id), EN: strings.ToUpper(id)}, Secret: webSecret, RedirectURIs: []string{cb},
				GrantTypes: []string{"authorization_code", "refresh_token"},
				Scopes:     []string{"openid", "profile", "email", "offline_access"}, AccessTokenFormat: "jwt"}
		}
		ca, cb, cc := app("bc-a", bcaCB), app("bc-b", bcbCB), app("fc-c", fccCB)
		ca.BackchannelLogoutURI, ca.BackchannelLogoutSessionRequired = a.ts.URL+"/bcl", true
		cb.BackchannelLogoutURI = b.ts.URL + "/bcl"
		cc.FrontchannelLogoutURI, cc.FrontchannelLogoutSessionRequired = frontchannel, true
		cc.PostLogoutRedirectURIs = []string{fcBye}
		cfg.Clients = append(cfg.Clients, ca, cb, cc)
		cfg.Logout = config.Logout{Wait: config.Duration(5 * time.Second), DeliveryTimeout: config.Duration(2 * time.Second),
			RetryDelay: config.Duration(100 * time.Millisecond), MaxAttempts: 5, Parallel: 4,
			PollInterval: config.Duration(50 * time.Millisecond), ExpirySweepInterval: config.Duration(100 * time.Millisecond),
			TokenLifetime: config.Duration(2 * time.Minute)}
	}
}

// signInApps signs the browser in to each client in turn (the first with
// the form, the others by SSO) and returns each client's tokens.
func (e *env) signInApps(t *testing.T, b *browser, email, pw string, clients ...string) map[string]*oidc.Tokens[*oidc.IDTokenClaims] {
	t.Helper()
	out := map[string]*oidc.Tokens[*oidc.IDTokenClaims]{}
	for i, c := range clients {
		a := newAuthz(c, logoutCallbacks[c], "openid offline_access")
		p := b.get(a.url(e.cfg.Issuer))
		if i == 0 {
			p = b.signIn(p, email, pw)
		}
		tok, err := e.exchange(t, e.rp(c, webSecret, logoutCallbacks[c], "openid", "offline_access"), e.code(t, p, a), a)
		if err != nil {
			t.Fatalf("%s: code exchange: %v", c, err)
		}
		if tok.RefreshToken == "" {
			t.Fatalf("%s: no refresh token", c)
		}
		out[c] = tok
	}
	return out
}

func sidOf(tok *oidc.Tokens[*oidc.IDTokenClaims]) string {
	s, _ := tok.IDTokenClaims.Claims["sid"].(string)
	return s
}

// verifyLogoutToken checks a logout token as a relying party must
// (Back-Channel Logout 1.0, section 2.6) against the provider's JWKS and
// returns its jti.
func (e *env) verifyLogoutToken(t *testing.T, raw, clientID, sid, sub string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != "logout+jwt" {
		t.Errorf("typ = %q, want logout+jwt", typ)
	}
	resp, err := http.Get(e.cfg.Issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		t.Fatalf("kid %q is not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var c struct {
		Iss    string                    `json:"iss"`
		Aud    oidc.Audience             `json:"aud"`
		Sub    string                    `json:"sub"`
		Sid    string                    `json:"sid"`
		Iat    int64                     `json:"iat"`
		Exp    int64                     `json:"exp"`
		Jti    string                    `json:"jti"`
		Nonce  *string                   `json:"nonce"`
		Events map[string]map[string]any `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	ev, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]
	switch {
	case c.Iss != e.cfg.Issuer:
		t.Errorf("iss = %q", c.Iss)
	case len(c.Aud) != 1 || c.Aud[0] != clientID:
		t.Errorf("aud = %v, want %s", c.Aud, clientID)
	case c.Sid != sid || sid == "":
		t.Errorf("sid = %q, want %q", c.Sid, sid)
	case c.Sub != sub:
		t.Errorf("sub = %q, want %q", c.Sub, sub)
	case !ok || len(ev) != 0:
		t.Errorf("events = %v", c.Events)
	case c.Nonce != nil:
		t.Error("logout token has a nonce")
	case c.Jti == "" || c.Iat == 0 || c.Exp <= c.Iat:
		t.Errorf("jti %q iat %d exp %d", c.Jti, c.Iat, c.Exp)
	}
	return c.Jti
}

// TestSingleLogout: three applications, one sign-out, everyone hears of it.
func TestSingleLogout(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 2)
		frontchannel := "http://127.0.0.1:9/fc-c/logout?app=c"
		e := newEnv(t, newStore(t), logoutClients(rpA, rpB, frontchannel))
		e.run()
		b := e.browser()
		toks := e.signInApps(t, b, e.user.Email, userPass, "bc-a", "bc-b", "fc-c")
		sid := sidOf(toks["fc-c"])
		if sid == "" || sidOf(toks["bc-a"]) != sid || sidOf(toks["bc-b"]) != sid {
			t.Fatalf("sids differ across one SSO session: %q %q %q", sidOf(toks["bc-a"]), sidOf(toks["bc-b"]), sid)
		}

		// Sign out from the front-channel application.
		q := url.Values{"id_token_hint": {toks["fc-c"].IDToken}, "post_logout_redirect_uri": {fcBye}, "state": {"st-1"}}
		p := b.get(e.cfg.Issuer + "/end_session?" + q.Encode())
		// rpA answers at once: the page waited for it.
		if got, _ := rpA.received(); len(got) != 1 {
			t.Errorf("the sign-out page answered before the back-channel delivery: %d tokens", len(got))
		}
		if p.status != http.StatusOK || p.doc == nil {
			t.Fatalf("sign-out page: status %d: %.300s", p.status, p.body)
		}
		frames := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "iframe") })
		if len(frames) != 1 {
			t.Fatalf("%d iframes, want 1 (fc-c)", len(frames))
		}
		src, err := url.Parse(htmltest.Attr(frames[0], "src"))
		if err != nil || src.Host != "127.0.0.1:9" || src.Query().Get("iss") != e.cfg.Issuer ||
			src.Query().Get("sid") != sid || src.Query().Get("app") != "c" {
			t.Errorf("front-channel iframe src = %v", src)
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://127.0.0.1:9") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("sign-out page CSP = %q", csp)
		}
		cont := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "continue" })
		if len(cont) != 1 || htmltest.Attr(cont[0], "href") != fcBye+"?state=st-1" {
			t.Errorf("continue link = %v", cont)
		}

		// Both back-channel applications get exactly one valid token; rpB
		// only on its third attempt.
		jtis := map[string]bool{}
		for _, x := range []struct {
			rp       *logoutRP
			client   string
			attempts int
		}{{rpA, "bc-a", 1}, {rpB, "bc-b", 3}} {
			x.rp.waitTokens(t, 1)
			settle()
			tokens, attempts := x.rp.received()
			if len(tokens) != 1 || attempts != x.attempts {
				t.Errorf("%s: %d tokens accepted after %d attempts, want 1 after %d", x.client, len(tokens), attempts, x.attempts)
			}
			jti := e.verifyLogoutToken(t, tokens[0], x.client, sid, e.user.ID)
			if jtis[jti] {
				t.Errorf("jti %s reused", jti)
			}
			jtis[jti] = true
		}
		for c, tok := range toks {
			if status, m := e.tokenPost(t, c, webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
				t.Errorf("%s: refresh after sign-out: %d %v, want invalid_grant", c, status, m)
			}
			if e.introspect(t, tok.AccessToken) {
				t.Errorf("%s: access token (JWT) still active after sign-out", c)
			}
		}
		a := newAuthz("bc-a", bcaCB, "openid")
		if p := b.get(a.url(e.cfg.Issuer)); !p.hasLoginForm() {
			t.Errorf("after sign-out: status %d without the login form", p.status)
		}
		ds, err := e.store.ListLogoutDeliveries(t.Context(), storage.DeliveryFilter{})
		if err != nil || len(ds) != 2 || ds[0].Status != storage.DeliveryDelivered || ds[1].Status != storage.DeliveryDelivered {
			t.Errorf("deliveries = %+v (%v), want 2 delivered", ds, err)
		}
		if m := b.get(e.cfg.Issuer + "/metrics"); !strings.Contains(m.body, `sekisho_logout_deliveries{status="delivered"} 2`) ||
			!strings.Contains(m.body, `sekisho_logout_deliveries_total{outcome="retry"} 2`) {
			t.Errorf("metrics lack the deliveries: %.2000s", m.body)
		}
	})
}

// TestLogoutBadHint: a hint the provider did not sign asks the user, and
// signs nobody out.
func TestLogoutBadHint(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		rpA := newLogoutRP(t, 0)
		e := newEnv(t, newStore(t), logoutClients(rpA, newLogoutRP(t, 0), "http://127.0.0.1:9/fc"), func(c *config.Config) {
			c.Clients[len(c.Clients)-3].Lifetimes.IDToken = config.Duration(3 * time.Second) // bc-a
		})
		e.run()
		b := e.browser()
		toks := e.signInApps(t, b, e.user.Email, userPass, "bc-a")
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
		claims, _ := json.Marshal(map[string]any{"iss": e.cfg.Issuer, "sub": e.user.ID, "aud": "bc-a", "azp": "bc-a",
			"sid": sidOf(toks["bc-a"]), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		jws, _ := signer.Sign(claims)
		foreign, _ := jws.CompactSerialize()
		for name, hint := range map[string]string{"foreign key": foreign, "garbage": "not.a.jwt"} {
			// With a post_logout_redirect_uri but no client_id, nothing
			// says whose URI it is: confirmation, never a redirect.
			for _, q := range []url.Values{{"id_token_hint": {hint}}, {"id_token_hint": {hint}, "post_logout_redirect_uri": {fcBye}}} {
				p := b.get(e.cfg.Issuer + "/end_session?" + q.Encode())
				if p.status != http.StatusOK || !p.hasForm("/end_session") || p.header.Get("Location") != "" {
					t.Errorf("%s %v: status %d, want the confirmation page", name, q, p.status)
				}
			}
		}
		settle()
		if got, _ := rpA.received(); len(got) != 0 {
			t.Errorf("a bad hint sent %d logout tokens", len(got))
		}
		a := newAuthz("bc-a", bcaCB, "openid")
		e.code(t, b.get(a.url(e.cfg.Issuer)), a) // still signed in

		// An expired ID token is still a valid hint: signed out at once.
		// (The library checks expiry with the wall clock: wait it out.)
		time.Sleep(time.Until(toks["bc-a"].IDTokenClaims.GetExpiration()) + 1100*time.Millisecond)
		p := b.get(e.cfg.Issuer + "/end_session?" + url.Values{"id_token_hint": {toks["bc-a"].IDToken}}.Encode())
		if p.status != http.StatusOK || p.hasForm("/end_session") {
			t.Errorf("expired hint: status %d, want the signed-out page", p.status)
		}
		rpA.waitTokens(t, 1)
	})
}

// TestEverySessionEndNotifies: timeouts, another user signing in in the
// same browser, and an operator's revocation all reach the clients; the
// same user signing in again keeps the sid and tells nobody.
func TestEverySessionEndNotifies(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		rpA := newLogoutRP(t, 0)
		e := newEnv(t, newStore(t), logoutClients(rpA, newLogoutRP(t, 0), "http://127.0.0.1:9/fc"))
		e.run()
		want := 0

		// The same user again (prompt=login): same sid, nothing sent.
		b := e.browser()
		first := e.signInApps(t, b, e.user.Email, userPass, "bc-a")["bc-a"]
		a := newAuthz("bc-a", bcaCB, "openid")
		a.extra.Set("prompt", "login")
		tok, err := e.exchange(t, e.rp("bc-a", webSecret, bcaCB, "openid"), e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a), a)
		if err != nil {
			t.Fatal(err)
		}
		if sidOf(tok) != sidOf(first) {
			t.Errorf("re-authentication changed the sid: %q → %q", sidOf(first), sidOf(tok))
		}
		settle()
		if got, _ := rpA.received(); len(got) != want {
			t.Fatalf("re-authentication sent %d logout tokens", len(got))
		}

		// Another user in the same browser: the first user's session ends.
		a = newAuthz("bc-a", bcaCB, "openid")
		a.extra.Set("prompt", "login")
		e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.other.Email, otherPass), a)
		want++
		got := rpA.waitTokens(t, want)
		e.verifyLogoutToken(t, got[want-1], "bc-a", sidOf(first), e.user.ID)
		if status, _ := e.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}); status == http.StatusOK {
			t.Error("the replaced session's refresh token still works")
		}

		// An operator ends all of alice's sessions (two browsers).
		var sids []string
		for range 2 {
			sids = append(sids, sidOf(e.signInApps(t, e.browser(), e.user.Email, userPass, "bc-a")["bc-a"]))
		}
		res, err := e.srv.Logout().End(t.Context(), storage.SessionEnd{UserID: e.user.ID, Reason: storage.EndRevoked, RevokeAllTokens: true})
		if err != nil || len(res.Ended) != 2 {
			t.Fatalf("revoke: %d sessions ended (%v), want 2", len(res.Ended), err)
		}
		want += 2
		got = rpA.waitTokens(t, want)
		seen := map[string]bool{}
		for _, raw := range got[want-2:] {
			jws, _ := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
			var c struct{ Sid string }
			_ = json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c)
			seen[c.Sid] = true
			e.verifyLogoutToken(t, raw, "bc-a", c.Sid, e.user.ID)
		}
		if !seen[sids[0]] || !seen[sids[1]] {
			t.Errorf("revocation announced sids %v, want %v", seen, sids)
		}

		// An idle timeout: the sweep ends the session and tells bc-a.
		timedOut := sidOf(e.signInApps(t, e.browser(), e.user.Email, userPass, "bc-a")["bc-a"])
		e.clock.add(e.cfg.Session.Idle.D() + time.Minute)
		want++
		got = rpA.waitTokens(t, want)
		e.verifyLogoutToken(t, got[want-1], "bc-a", timedOut, e.user.ID)
		settle()
		if got, _ := rpA.received(); len(got) != want {
			t.Errorf("%d logout tokens in all, want %d", len(got), want)
		}
	})
}

// TestSingleLogoutTwoReplicas: with two provider instances on one
// PostgreSQL database, both running delivery workers, each client hears of
// a sign-out once, retries included.
func TestSingleLogoutTwoReplicas(t *testing.T) {
	dsn := gormstoretest.PostgresDSN(t)
	open := func() *gormstore.Store { return openPostgres(t, dsn) }
	rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 2)
	a := newEnv(t, open(), logoutClients(rpA, rpB, "http://127.0.0.1:9/fc"))
	b := a.second(open())
	a.run()
	b.run()
	br := a.browser()
	toks := a.signInApps(t, br, a.user.Email, userPass, "bc-a", "bc-b")
	// Sign out on the second replica (same cookie: one issuer host name
	// would route either way).
	q := url.Values{"id_token_hint": {toks["bc-a"].IDToken}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, b.ts.URL+"/end_session?"+q.Encode(), nil)
	for _, c := range br.c.Jar.Cookies(mustURL(t, a.cfg.Issuer)) {
		req.AddCookie(c)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-out on replica 2: status %d", resp.StatusCode)
	}
	rpA.waitTokens(t, 1)
	rpB.waitTokens(t, 1)
	time.Sleep(time.Second) // many polls of both replicas
	for _, x := range []struct {
		rp       *logoutRP
		attempts int
	}{{rpA, 1}, {rpB, 3}} {
		if tokens, attempts := x.rp.received(); len(tokens) != 1 || attempts != x.attempts {
			t.Errorf("%d tokens after %d attempts, want 1 after %d", len(tokens), attempts, x.attempts)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestKeepOfflineTokens: a client that keeps offline tokens on sign-out
// can still refresh; its access token from the session cannot be used; an
// operator's revocation takes the offline token too.
func TestKeepOfflineTokens(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), logoutClients(newLogoutRP(t, 0), newLogoutRP(t, 0), "http://127.0.0.1:9/fc"),
			func(c *config.Config) { c.Clients[len(c.Clients)-2].KeepOfflineTokensOnLogout = true }) // bc-b
		b := e.browser()
		toks := e.signInApps(t, b, e.user.Email, userPass, "bc-a", "bc-b")
		p := b.get(e.cfg.Issuer + "/end_session?" + url.Values{"id_token_hint": {toks["bc-a"].IDToken}}.Encode())
		if p.status != http.StatusOK {
			t.Fatalf("sign-out: status %d", p.status)
		}
		refresh := func(client, rt string) (int, map[string]any) {
			return e.tokenPost(t, client, webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		}
		if status, _ := refresh("bc-a", toks["bc-a"].RefreshToken); status == http.StatusOK {
			t.Error("bc-a's refresh token survived the sign-out")
		}
		if e.introspect(t, toks["bc-b"].AccessToken) {
			t.Error("bc-b's access token from the ended session is active")
		}
		status, m := refresh("bc-b", toks["bc-b"].RefreshToken)
		if status != http.StatusOK {
			t.Fatalf("bc-b's offline token after sign-out: %d %v", status, m)
		}
		if _, err := e.srv.Logout().End(t.Context(), storage.SessionEnd{UserID: e.user.ID, Reason: storage.EndRevoked, RevokeAllTokens: true}); err != nil {
			t.Fatal(err)
		}
		if status, _ := refresh("bc-b", m["refresh_token"].(string)); status == http.StatusOK {
			t.Error("an operator's revocation left bc-b's offline token working")
		}
	})
}
