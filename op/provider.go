// Package op is sekisho's OpenID provider: the zitadel/oidc wiring, clients
// from configuration, signing keys, token issuance, and the protocol pieces
// the library leaves to us (our own discovery, `/authorize` pre-validation,
// RFC 9207 `iss` in authorization responses, end_session validation).
package op

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/storage"
)

// ErrorPages renders readable error pages for people (not OAuth JSON).
type ErrorPages interface {
	// RenderError writes a page with status in the request's language.
	// backURL, when not empty, is a link back to the application.
	RenderError(w http.ResponseWriter, r *http.Request, status int, messageKey, backURL string)
}

// Config is what New needs.
type Config struct {
	Config    *config.Config
	Store     storage.Storage
	Keys      *KeyManager
	Hasher    Hasher
	CryptoKey [32]byte
	Pages     ErrorPages
	LoginPath string // where the library sends browsers, e.g. "/login"
	Now       func() time.Time
	Logger    *slog.Logger
	// TokenIssued is called once per issued token response, by grant.
	TokenIssued func(grant string)
}

// Provider is the OpenID provider.
type Provider struct {
	zp      *zop.Provider
	opaque  *opaqueCodec
	storage *opStorage
	clients *Clients
	keys    *KeyManager
	pages   ErrorPages
	cors    *cors.Cors
	issuer  string
	// organizations: the sign-in mode names organizations, so
	// /authorize takes organization=CODE.
	organizations bool
	// dormantAfter is lifecycle.dormant_after (0: the lock is off): a
	// dormant account gets no token by refresh.
	dormantAfter time.Duration
	now          func() time.Time
	log          *slog.Logger

	discoMu      sync.Mutex
	discoVersion uint64
	disco        []byte
	discoETag    string
}

// New builds the provider.
func New(c Config) (*Provider, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TokenIssued == nil {
		c.TokenIssued = func(string) {}
	}
	clients, err := NewClients(c.Config, c.LoginPath)
	if err != nil {
		return nil, fmt.Errorf("op: clients: %w", err)
	}
	st := &opStorage{store: c.Store, clients: clients, keys: c.Keys, hasher: c.Hasher,
		lifetimes: c.Config.Lifetimes, now: c.Now, log: c.Logger, issued: c.TokenIssued}
	if w := c.Config.Refresh.ReuseWindow; !w.IsOff() {
		st.reuseWindow = w.D()
	}
	zcfg := &zop.Config{
		CryptoKey:                c.CryptoKey,
		CryptoKeyId:              opaqueKeyID,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English, language.Japanese},
		SupportedScopes:          supportedScopes(c.Config),
		DefaultLogoutRedirectURI: "",
	}
	// The library's router is not mounted (its endpoints are ours), so
	// its CORS and header options do not apply.
	var opts []zop.Option
	if strings.HasPrefix(c.Config.Issuer, "http://") {
		opts = append(opts, zop.WithAllowInsecure())
	}
	zp, err := zop.NewProvider(zcfg, st, zop.StaticIssuer(c.Config.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("op: new provider: %w", err)
	}
	opaque, err := newOpaqueCodec(c.CryptoKey)
	if err != nil {
		return nil, err
	}
	return &Provider{zp: zp, opaque: opaque, storage: st, clients: clients, keys: c.Keys, pages: c.Pages, cors: cors.New(*corsOptions(c.Config)),
		issuer: c.Config.Issuer, organizations: c.Config.Login.HasOrganization(), dormantAfter: c.Config.Lifecycle.DormantAfterD(), now: c.Now, log: c.Logger}, nil
}

// supportedScopes are the scopes a browser client may ask for at
// /authorize: the OpenID ones, organization and roles, `legacy` where a client gets legacy
// claims, and what authorization-code clients list, but never a scope
// only machine clients use (client_credentials), nor the legacy API's.
func supportedScopes(cfg *config.Config) []string {
	// organization and roles are this provider's own scopes: always
	// announced (as their claims are), whichever clients list them.
	out := []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess, ScopeOrganization, ScopeRoles}
	for _, c := range cfg.Clients {
		if !c.HasGrant(GrantAuthorizationCode) {
			continue
		}
		scopes := c.Scopes
		if c.LegacyClaims {
			scopes = append(slices.Clone(scopes), ScopeLegacy)
		}
		for _, s := range scopes {
			if s != ScopeLegacyAPI && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// corsOptions: only the origins clients registered, without credentials
// (the library's default would allow any origin, with credentials).
func corsOptions(cfg *config.Config) *cors.Options {
	allowed := map[string]bool{}
	for _, c := range cfg.Clients {
		for _, o := range c.AllowedOrigins {
			allowed[strings.TrimSuffix(o, "/")] = true
		}
	}
	return &cors.Options{
		AllowOriginFunc:  func(o string) bool { return allowed[o] },
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Accept"},
		AllowCredentials: false,
		MaxAge:           600,
	}
}

// Clients returns the configured clients.
func (p *Provider) Clients() *Clients { return p.clients }

// Issuer returns the issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// Endpoints returns the handlers of the protocol endpoints that clients
// call from their back ends or, with CORS for their registered origins,
// from browsers: token, introspection, revocation and userinfo.
func (p *Provider) Endpoints() map[string]http.Handler {
	return map[string]http.Handler{
		"/oauth/token":      p.cors.Handler(http.HandlerFunc(p.Token)),
		"/oauth/introspect": p.cors.Handler(http.HandlerFunc(p.Introspect)),
		"/revoke":           p.cors.Handler(http.HandlerFunc(p.Revoke)),
		"/userinfo":         p.cors.Handler(http.HandlerFunc(p.Userinfo)),
	}
}

// withIssuer puts the issuer into the context the library reads.
func (p *Provider) withIssuer(r *http.Request) *http.Request {
	return r.WithContext(zop.ContextWithIssuer(r.Context(), p.issuer))
}

// Respond sends the authorization response (the code) for a finished auth
// request, with `iss`.
func (p *Provider) Respond(w http.ResponseWriter, r *http.Request, a storage.AuthRequest) {
	if !clientRequest(a) {
		p.pages.RenderError(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	zop.AuthResponse(authRequest{a}, p.zp, newISSWriter(w, r, p.issuer), p.withIssuer(r))
}

// RedirectError sends an OAuth error for the auth request to the client's
// (already validated) redirect URI, with `state` and `iss`.
func (p *Provider) RedirectError(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, err *oidc.Error) {
	zop.AuthRequestError(newISSWriter(w, r, p.issuer), p.withIssuer(r), authRequest{a}, err, p.zp)
}

// issWriter adds `iss` to authorization responses (RFC 9207): a redirect
// carrying a `code` or an `error` in its query. The parameter is appended
// to the query as it stands, so nothing already in it is encoded again.
// A redirect answering a POST is a 303, so the browser follows it with a
// GET.
type issWriter struct {
	http.ResponseWriter
	issuer string
	post   bool
}

func newISSWriter(w http.ResponseWriter, r *http.Request, issuer string) *issWriter {
	return &issWriter{ResponseWriter: w, issuer: issuer, post: r.Method == http.MethodPost}
}

func (w *issWriter) WriteHeader(status int) {
	if status >= 300 && status < 400 {
		if loc := w.Header().Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				q := u.Query()
				if (q.Has("code") || q.Has("error")) && !q.Has("iss") {
					w.Header().Set("Location", appendQuery(loc, url.Values{"iss": {w.issuer}}))
				}
			}
		}
		if w.post && status == http.StatusFound {
			status = http.StatusSeeOther
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// appendQuery adds params to uri's query without touching what is there
// (a registered redirect URI keeps its exact form), before any fragment.
func appendQuery(uri string, params url.Values) string {
	base, frag, hasFrag := strings.Cut(uri, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	out := base + sep + params.Encode()
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// Discovery serves /.well-known/openid-configuration from bytes built once
// per key-set version, with an ETag.
func (p *Provider) Discovery(w http.ResponseWriter, r *http.Request) {
	body, etag, err := p.discovery(r.Context())
	if err != nil {
		p.log.ErrorContext(r.Context(), "build discovery", "err", err)
		http.Error(w, "discovery unavailable", http.StatusServiceUnavailable)
		return
	}
	serveJSON(w, r, body, etag, "public, max-age=300")
}

func (p *Provider) discovery(ctx context.Context) ([]byte, string, error) {
	_, _, version := p.keys.JWKS()
	p.discoMu.Lock()
	defer p.discoMu.Unlock()
	if p.disco != nil && p.discoVersion == version {
		return p.disco, p.discoETag, nil
	}
	d := zop.CreateDiscoveryConfig(zop.ContextWithIssuer(ctx, p.issuer), p.zp, p.storage)
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	// Our own values (see login.ACR*): an emailed code proves a mailbox,
	// not a device, so no NIST level is claimed.
	d.ACRValuesSupported = []string{"urn:sekisho:acr:pwd", "urn:sekisho:acr:pwd+email-otp", "urn:sekisho:acr:mfa", "urn:sekisho:acr:passkey",
		"urn:sekisho:acr:legacy"}
	d.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
		"at_hash", "c_hash", "sid", "name", "preferred_username", "email", "email_verified",
		ClaimOrgID, ClaimOrgCode, ClaimOrgName, ClaimRoles}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, "", err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "", err
	}
	m["authorization_response_iss_parameter_supported"] = true
	m["backchannel_logout_supported"] = true
	m["backchannel_logout_session_supported"] = true
	m["frontchannel_logout_supported"] = true
	m["frontchannel_logout_session_supported"] = true
	m["request_parameter_supported"] = false
	m["request_uri_parameter_supported"] = false
	m["claims_parameter_supported"] = false
	body, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	p.disco, p.discoVersion = body, version
	p.discoETag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	return p.disco, p.discoETag, nil
}

// JWKS serves the pre-serialised public key set.
func (p *Provider) JWKS(w http.ResponseWriter, r *http.Request) {
	body, etag, _ := p.keys.JWKS()
	serveJSON(w, r, body, etag, "public, max-age=60")
}

func serveJSON(w http.ResponseWriter, r *http.Request, body []byte, etag, cache string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag)
	h.Set("Access-Control-Allow-Origin", "*")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(body)
}

// ClientDisplay returns the client's name for pages and the link back to
// it; ok is false for an unknown client.
func (p *Provider) ClientDisplay(id string) (name i18n.Text, home string, ok bool) {
	c, ok := p.clients.Get(id)
	if !ok {
		return i18n.Text{}, "", false
	}
	return c.DisplayName(), c.HomeURL(), true
}

// RestartURL is where a person starts a sign-in to the client again
// (Client.RestartURL); "" for an unknown client.
func (p *Provider) RestartURL(clientID string) string {
	c, ok := p.clients.Get(clientID)
	if !ok {
		return ""
	}
	return c.RestartURL(p.issuer)
}

// ReturnURIAllowed reports whether uri is exactly one of the client's
// registered redirect or post-logout URIs (where a product's reset link
// may return).
func (p *Provider) ReturnURIAllowed(clientID, uri string) bool {
	c, ok := p.clients.Get(clientID)
	return ok && c.cfg.RegisteredURI(uri)
}
