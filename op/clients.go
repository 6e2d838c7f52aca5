package op

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
)

// Client is a relying application from the configuration file, adapted to
// the library's op.Client.
type Client struct {
	cfg          config.Client
	lifetimes    config.Lifetimes
	loginPath    string
	secretDigest []byte // SHA-256 of the secret; nil for public clients
}

var _ zop.Client = (*Client)(nil)

// Clients is the set of configured clients, read-only after start-up.
type Clients struct {
	byID map[string]*Client
	list []*Client
}

// NewClients builds the registry. cfg must have been validated.
func NewClients(cfg *config.Config, loginPath string) (*Clients, error) {
	cs := &Clients{byID: make(map[string]*Client, len(cfg.Clients))}
	for _, c := range cfg.Clients {
		cl := &Client{cfg: c, lifetimes: cfg.Lifetimes, loginPath: loginPath}
		switch {
		case c.SecretSHA256 != "":
			d, err := hex.DecodeString(c.SecretSHA256)
			if err != nil {
				return nil, err
			}
			cl.secretDigest = d
		case c.Secret != "":
			d := sha256.Sum256([]byte(c.Secret))
			cl.secretDigest = d[:]
		}
		cs.byID[c.ID] = cl
		cs.list = append(cs.list, cl)
	}
	return cs, nil
}

// Get returns the client with the id.
func (cs *Clients) Get(id string) (*Client, bool) {
	c, ok := cs.byID[id]
	return c, ok
}

// All returns every client in configuration order.
func (cs *Clients) All() []*Client { return cs.list }

// Config returns the client's configuration.
func (c *Client) Config() config.Client { return c.cfg }

// DisplayName is what users see ("Sign in to continue to ..."), in each
// language: clients[].name, else the id.
func (c *Client) DisplayName() i18n.Text {
	return c.cfg.Name.Text().Or(i18n.Plain(c.cfg.ID))
}

// RestartURL is where a person starts a sign-in at the client again: its
// initiate_login_uri with iss (OpenID Connect Core §4, login initiated by
// a third party), else HomeURL.
func (c *Client) RestartURL(issuer string) string {
	if c.cfg.InitiateLoginURI == "" {
		return c.HomeURL()
	}
	u, err := url.Parse(c.cfg.InitiateLoginURI)
	if err != nil {
		return c.HomeURL()
	}
	q := u.Query()
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// HomeURL is where "go back to the application" points: the origin of the
// first redirect URI.
func (c *Client) HomeURL() string {
	if len(c.cfg.PostLogoutRedirectURIs) > 0 {
		return c.cfg.PostLogoutRedirectURIs[0]
	}
	if len(c.cfg.RedirectURIs) > 0 {
		return originOf(c.cfg.RedirectURIs[0])
	}
	return ""
}

// RedirectURIAllowed reports whether uri, as the request carries it, is
// one of the client's registered redirect URIs, compared as exact
// strings (never unescaped: "/%63b" is not "/cb"). A public (native)
// client's registered http loopback URI also matches on any port
// (RFC 8252 §7.3), with everything else exactly as registered.
func (c *Client) RedirectURIAllowed(uri string) bool {
	if slices.Contains(c.cfg.RedirectURIs, uri) {
		return true
	}
	if !c.cfg.Public() || strings.ContainsAny(uri, "%+") {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" || !loopback(u.Hostname()) {
		return false
	}
	for _, reg := range c.cfg.RedirectURIs {
		r, err := url.Parse(reg)
		if err == nil && r.Scheme == "http" && loopback(r.Hostname()) && r.Hostname() == u.Hostname() &&
			r.EscapedPath() == u.EscapedPath() && r.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// loopback reports whether host is a loopback IP literal or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckSecret compares the presented secret's SHA-256 digest with the
// configured one in constant time. Public clients never match.
func (c *Client) CheckSecret(secret string) bool {
	if c.secretDigest == nil {
		return false
	}
	d := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(d[:], c.secretDigest) == 1
}

// AccessTokenLifetime is the client's access-token lifetime.
func (c *Client) AccessTokenLifetime() time.Duration {
	return pick(c.cfg.Lifetimes.AccessToken, c.lifetimes.AccessToken)
}

// RefreshTokenLifetimes returns the idle and absolute refresh lifetimes.
func (c *Client) RefreshTokenLifetimes() (idle, absolute time.Duration) {
	return pick(c.cfg.Lifetimes.RefreshTokenIdle, c.lifetimes.RefreshTokenIdle),
		pick(c.cfg.Lifetimes.RefreshTokenAbsolute, c.lifetimes.RefreshTokenAbsolute)
}

func pick(own, global config.Duration) time.Duration {
	if own > 0 {
		return own.D()
	}
	return global.D()
}

func (c *Client) GetID() string                    { return c.cfg.ID }
func (c *Client) RedirectURIs() []string           { return c.cfg.RedirectURIs }
func (c *Client) PostLogoutRedirectURIs() []string { return c.cfg.PostLogoutRedirectURIs }

// ApplicationType: public clients are native or browser apps (loopback
// redirects on any port, private-use schemes); confidential ones are web.
func (c *Client) ApplicationType() zop.ApplicationType {
	if c.cfg.Public() {
		return zop.ApplicationTypeNative
	}
	return zop.ApplicationTypeWeb
}

func (c *Client) AuthMethod() oidc.AuthMethod {
	if c.cfg.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *Client) ResponseTypes() []oidc.ResponseType {
	if c.cfg.HasGrant(GrantAuthorizationCode) {
		return []oidc.ResponseType{oidc.ResponseTypeCode}
	}
	return nil
}

func (c *Client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.cfg.GrantTypes))
	for _, g := range c.cfg.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}

func (c *Client) LoginURL(id string) string { return c.loginPath + "?id=" + id }

func (c *Client) AccessTokenType() zop.AccessTokenType {
	if c.cfg.AccessTokenFormat == "opaque" {
		return zop.AccessTokenTypeBearer
	}
	return zop.AccessTokenTypeJWT
}

func (c *Client) IDTokenLifetime() time.Duration {
	return pick(c.cfg.Lifetimes.IDToken, c.lifetimes.IDToken)
}

// DevMode lets the library accept the http redirect URIs that configuration
// validation has already allowed (loopback, or --dev); matching stays exact.
func (c *Client) DevMode() bool { return true }

func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *Client) IsScopeAllowed(scope string) bool {
	return slices.Contains(c.cfg.Scopes, scope) || (scope == ScopeLegacy && c.cfg.LegacyClaims)
}

// IDTokenUserinfoClaimsAssertion puts profile and email claims into the ID
// token even when an access token is issued alongside.
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *Client) ClockSkew() time.Duration { return 0 }

// Grant type names as configured.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)
