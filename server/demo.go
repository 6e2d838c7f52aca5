package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/templates"
)

// The built-in demo relying application (serve --dev only) lives under
// /demo/. It is an ordinary OpenID Connect client of this provider, built
// on zitadel/oidc's rp package: authorization code flow with PKCE and a
// nonce, the refresh_token grant, and RP-initiated logout.
//
// It talks to the provider over HTTP at cfg.Issuer (discovery, token
// endpoint, keys), exactly like an external application would, so /demo
// works only when the issuer URL reaches this process (in --dev the issuer
// follows the listen address, http://localhost:PORT). Discovery runs
// on the first /demo request that needs it, since the server is not yet
// listening when the routes are mounted; a failure is retried on the next
// request.
//
// The demo keeps its state in cookies scoped to /demo/, signed and
// encrypted with keys made at random for each process (a restart signs the
// demo out): the rp package's state and pkce cookies, a nonce cookie, and
// the demo session (ID token, refresh token and claims JSON).

const (
	demoPrefix        = "/demo/"
	demoSessionCookie = "sekisho_demo"
	demoNonceCookie   = "sekisho_demo_nonce"
	// demoMaxCookie bounds the encoded session cookie: browsers keep at
	// most 4096 bytes of name and value.
	demoMaxCookie = 4000
	// demoDiscoveryTimeout bounds the discovery (and keys) fetch when the
	// relying party is created.
	demoDiscoveryTimeout = 10 * time.Second
)

var demoScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess}

// demoClaimOrder lists the claims shown on the page, in order.
var demoClaimOrder = []string{"sub", "email", "email_verified", "name", "preferred_username",
	"amr", "acr", "sid", "auth_time", "iss", "aud"}

// demoErrorCode is the shape of an OAuth error code we are willing to echo.
var demoErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// demoApp is the demo relying application.
type demoApp struct {
	issuer        string
	clientID      string
	clientSecret  string
	redirectURI   string
	postLogoutURI string
	cookies       *httphelper.CookieHandler
	httpClient    *http.Client
	renderer      *templates.Renderer
	pg            *pages
	log           *slog.Logger

	mu    sync.Mutex
	party rp.RelyingParty // nil until discovery succeeded
}

// demoSession is the content of the demo session cookie.
type demoSession struct {
	IDToken      string          `json:"i"`
	RefreshToken string          `json:"r,omitempty"`
	Claims       json.RawMessage `json:"c,omitempty"`
}

type demoNonceKey struct{}

// mountDemo serves the built-in demo relying application (--dev only). The
// demo client is config.DevClientID; its redirect URI is
// cfg.Issuer+"/demo/callback" and its post-logout redirect URI
// cfg.Issuer+"/demo/", which must both be registered for the client.
func mountDemo(r *mux.Router, cfg *config.Config, renderer *templates.Renderer, pg *pages) error {
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	log := pg.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hashKey, encKey := make([]byte, 32), make([]byte, 32)
	if _, err := rand.Read(hashKey); err != nil {
		return err
	}
	if _, err := rand.Read(encKey); err != nil {
		return err
	}
	opts := []httphelper.CookieHandlerOpt{httphelper.WithPath(demoPrefix), httphelper.WithSameSite(http.SameSiteLaxMode)}
	if !strings.HasPrefix(issuer, "https://") {
		opts = append(opts, httphelper.WithUnsecure())
	}
	d := &demoApp{
		issuer:        issuer,
		clientID:      config.DevClientID,
		redirectURI:   issuer + demoPrefix + "callback",
		postLogoutURI: issuer + demoPrefix,
		cookies:       httphelper.NewCookieHandler(hashKey, encKey, opts...),
		httpClient:    &http.Client{Timeout: 15 * time.Second},
		renderer:      renderer,
		pg:            pg,
		log:           log,
	}
	if cl, ok := cfg.Client(config.DevClientID); ok {
		d.clientSecret = cl.Secret
	}

	r.Handle("/demo", http.RedirectHandler(demoPrefix, http.StatusMovedPermanently)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(demoPrefix, d.index).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(demoPrefix+"login", d.login).Methods(http.MethodGet)
	r.HandleFunc(demoPrefix+"callback", d.callback).Methods(http.MethodGet)
	r.HandleFunc(demoPrefix+"refresh", d.refresh).Methods(http.MethodPost)
	r.HandleFunc(demoPrefix+"logout", d.logout).Methods(http.MethodPost)
	return nil
}

// relyingParty returns the relying party, running discovery the first
// time it succeeds.
func (d *demoApp) relyingParty(ctx context.Context) (rp.RelyingParty, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.party != nil {
		return d.party, nil
	}
	ctx, cancel := context.WithTimeout(ctx, demoDiscoveryTimeout)
	defer cancel()
	p, err := rp.NewRelyingPartyOIDC(ctx, d.issuer, d.clientID, d.clientSecret, d.redirectURI, demoScopes,
		rp.WithPKCE(d.cookies),
		rp.WithHTTPClient(d.httpClient),
		// Our token endpoint takes client_secret_basic.
		rp.WithAuthStyle(oauth2.AuthStyleInHeader),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
			n, _ := ctx.Value(demoNonceKey{}).(string)
			return n
		})),
		rp.WithErrorHandler(d.callbackError),
		rp.WithUnauthorizedHandler(d.callbackFailed),
	)
	if err != nil {
		return nil, err
	}
	d.party = p
	return p, nil
}

// partyOrError returns the relying party, or renders an error and returns
// nil.
func (d *demoApp) partyOrError(w http.ResponseWriter, r *http.Request, sess *demoSession) rp.RelyingParty {
	p, err := d.relyingParty(r.Context())
	if err != nil {
		d.log.WarnContext(r.Context(), "demo: discovery", "issuer", d.issuer, "err", err)
		d.render(w, r, sess, "The demo could not reach the provider at "+d.issuer+
			" (the demo only works when the issuer URL reaches this server).")
		return nil
	}
	return p
}

// index serves GET /demo/: the claims when signed in, else the
// introduction.
func (d *demoApp) index(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, d.session(r), "")
}

// login serves GET /demo/login: start an authorization request.
func (d *demoApp) login(w http.ResponseWriter, r *http.Request) {
	p := d.partyOrError(w, r, nil)
	if p == nil {
		return
	}
	nonce := randomToken()
	if err := d.cookies.SetCookie(w, demoNonceCookie, nonce); err != nil {
		d.fail(w, r, nil, "demo: nonce cookie", err, "Sign-in could not start.")
		return
	}
	rp.AuthURLHandler(randomToken, p, rp.WithURLParam("nonce", nonce))(w, r)
}

// callback serves GET /demo/callback: exchange the code, verify the ID
// token (signature, issuer, audience, nonce, at_hash) and keep the tokens.
func (d *demoApp) callback(w http.ResponseWriter, r *http.Request) {
	p := d.partyOrError(w, r, nil)
	if p == nil {
		return
	}
	nonce, _ := d.cookies.CheckCookie(r, demoNonceCookie)
	d.cookies.DeleteCookie(w, demoNonceCookie)
	r = r.WithContext(context.WithValue(r.Context(), demoNonceKey{}, nonce))
	rp.CodeExchangeHandler(d.signedIn, p)(w, r)
}

func (d *demoApp) signedIn(w http.ResponseWriter, r *http.Request, tokens *oidc.Tokens[*oidc.IDTokenClaims], _ string, _ rp.RelyingParty) {
	claims, err := jwtPayload(tokens.IDToken)
	if err != nil {
		d.fail(w, r, nil, "demo: id token payload", err, "Sign-in failed: unreadable ID token.")
		return
	}
	sess := &demoSession{IDToken: tokens.IDToken, RefreshToken: tokens.RefreshToken, Claims: claims}
	if err := d.setSession(w, sess); err != nil {
		d.fail(w, r, nil, "demo: session cookie", err, "Sign-in succeeded but the tokens could not be kept.")
		return
	}
	http.Redirect(w, r, demoPrefix, http.StatusSeeOther)
}

// callbackError answers an error response of the authorization endpoint
// (such as error=login_required).
func (d *demoApp) callbackError(w http.ResponseWriter, r *http.Request, errorType, errorDesc, _ string) {
	d.log.InfoContext(r.Context(), "demo: authorization error", "error", errorType, "error_description", errorDesc)
	if !demoErrorCode.MatchString(errorType) {
		errorType = "unknown_error"
	}
	d.render(w, r, d.session(r), "Sign-in did not complete: the provider answered "+errorType+".")
}

// callbackFailed answers a callback that failed on our side (state or PKCE
// cookie missing, code exchange or ID token verification failed).
func (d *demoApp) callbackFailed(w http.ResponseWriter, r *http.Request, desc, _ string) {
	d.log.WarnContext(r.Context(), "demo: callback failed", "err", desc)
	d.render(w, r, d.session(r), "Sign-in failed. Please try again.")
}

// refresh serves POST /demo/refresh: redeem the refresh token and verify
// the new ID token.
func (d *demoApp) refresh(w http.ResponseWriter, r *http.Request) {
	sess := d.session(r)
	if sess == nil {
		http.Redirect(w, r, demoPrefix, http.StatusSeeOther)
		return
	}
	if sess.RefreshToken == "" {
		d.render(w, r, sess, "No refresh token was issued.")
		return
	}
	p := d.partyOrError(w, r, sess)
	if p == nil {
		return
	}
	// A refreshed ID token carries no nonce: the verifier expects none.
	tokens, err := rp.RefreshTokens[*oidc.IDTokenClaims](r.Context(), p, sess.RefreshToken, "", "")
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.ErrorType == oidc.InvalidGrant {
			d.cookies.DeleteCookie(w, demoSessionCookie)
			d.fail(w, r, nil, "demo: refresh", err, "The refresh token is no longer valid. Please sign in again.")
			return
		}
		d.fail(w, r, sess, "demo: refresh", err, "Refreshing the tokens failed.")
		return
	}
	next := *sess
	if tokens.RefreshToken != "" {
		next.RefreshToken = tokens.RefreshToken
	}
	if tokens.IDToken != "" {
		if tokens.IDTokenClaims.GetSubject() != claimString(sess.Claims, "sub") {
			d.fail(w, r, sess, "demo: refresh", errors.New("refreshed ID token has another subject"),
				"Refreshing the tokens failed.")
			return
		}
		claims, err := jwtPayload(tokens.IDToken)
		if err != nil {
			d.fail(w, r, sess, "demo: refreshed id token payload", err, "Refreshing the tokens failed.")
			return
		}
		next.IDToken, next.Claims = tokens.IDToken, claims
	}
	if err := d.setSession(w, &next); err != nil {
		d.fail(w, r, sess, "demo: session cookie", err, "The refreshed tokens could not be kept.")
		return
	}
	http.Redirect(w, r, demoPrefix, http.StatusSeeOther)
}

// logout serves POST /demo/logout: forget the tokens and send the browser
// to the provider's end_session endpoint (RP-initiated logout), which
// comes back to /demo/.
func (d *demoApp) logout(w http.ResponseWriter, r *http.Request) {
	sess := d.session(r)
	d.cookies.DeleteCookie(w, demoSessionCookie)
	if sess == nil {
		http.Redirect(w, r, demoPrefix, http.StatusSeeOther)
		return
	}
	p := d.partyOrError(w, r, nil)
	if p == nil {
		return
	}
	endpoint := p.GetEndSessionEndpoint()
	u, err := url.Parse(endpoint)
	if endpoint == "" || err != nil {
		d.fail(w, r, nil, "demo: end_session endpoint", fmt.Errorf("%q: %v", endpoint, err),
			"Signed out of the demo, but the provider has no usable end_session endpoint.")
		return
	}
	q := u.Query()
	q.Set("id_token_hint", sess.IDToken)
	q.Set("client_id", d.clientID)
	q.Set("post_logout_redirect_uri", d.postLogoutURI)
	q.Set("state", randomToken())
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// session reads the demo session cookie; nil when absent or invalid.
func (d *demoApp) session(r *http.Request) *demoSession {
	v, err := d.cookies.CheckCookie(r, demoSessionCookie)
	if err != nil {
		return nil
	}
	var s demoSession
	if err := json.Unmarshal([]byte(v), &s); err != nil || s.IDToken == "" {
		return nil
	}
	if len(s.Claims) == 0 { // left out by setSession to fit
		if s.Claims, err = jwtPayload(s.IDToken); err != nil {
			return nil
		}
	}
	return &s
}

// setSession stores s in the session cookie. The claims JSON repeats the
// ID token's payload, so when the cookie would be too large for browsers it
// is left out and session recomputes it.
func (d *demoApp) setSession(w http.ResponseWriter, s *demoSession) error {
	c, err := d.sessionCookie(*s)
	if err != nil || len(c.Name)+1+len(c.Value) > demoMaxCookie {
		s := *s
		s.Claims = nil
		c, err = d.sessionCookie(s)
	}
	if err != nil {
		return err
	}
	if n := len(c.Name) + 1 + len(c.Value); n > demoMaxCookie {
		return fmt.Errorf("session cookie of %d bytes is over %d", n, demoMaxCookie)
	}
	http.SetCookie(w, c)
	return nil
}

func (d *demoApp) sessionCookie(s demoSession) (*http.Cookie, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return d.cookies.CreateCookie(demoSessionCookie, string(b))
}

// fail logs err and renders msg, a short text without internal details.
func (d *demoApp) fail(w http.ResponseWriter, r *http.Request, sess *demoSession, what string, err error, msg string) {
	d.log.WarnContext(r.Context(), what, "err", err)
	d.render(w, r, sess, msg)
}

func (d *demoApp) render(w http.ResponseWriter, r *http.Request, sess *demoSession, errText string) {
	b := d.pg.base(w, r, nil)
	// Language links always lead back to the demo's home page.
	b.CurrentURL = &url.URL{Path: demoPrefix}
	page := templates.DemoPage{Base: b, Error: errText}
	if sess != nil {
		page.SignedIn = true
		page.Claims = demoClaims(sess.Claims)
		var buf bytes.Buffer
		if err := json.Indent(&buf, sess.Claims, "", "  "); err == nil {
			page.RawJSON = buf.String()
		}
	}
	d.pg.logErr(r, d.renderer.RenderDemo(w, page))
}

// demoClaims lists the claims of demoClaimOrder present in raw.
func demoClaims(raw json.RawMessage) []templates.Claim {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	var out []templates.Claim
	for _, name := range demoClaimOrder {
		v, ok := m[name]
		if !ok {
			continue
		}
		out = append(out, templates.Claim{Name: name, Value: formatClaim(name, v)})
	}
	return out
}

func formatClaim(name string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if name == "auth_time" {
			if sec, err := x.Int64(); err == nil {
				return time.Unix(sec, 0).UTC().Format(time.RFC3339)
			}
		}
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatClaim(name, e)
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func claimString(raw json.RawMessage, name string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// jwtPayload returns the compacted JSON payload of a (verified) JWT.
func jwtPayload(token string) (json.RawMessage, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWS compact serialization")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// randomToken returns 256 random bits as URL-safe text.
func randomToken() string {
	return rand.Text() + rand.Text()
}
