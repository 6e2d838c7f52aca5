package op

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/storage"
)

// AccessTokenType is the JWS typ of JWT access tokens (RFC 9068 §2.1), so
// that no access token can pass where an ID token is expected.
const AccessTokenType = "at+jwt"

// clientIDKey carries the authenticated client's id from the token
// handler to the storage adapter (the refresh-token reuse window applies
// to the same client only).
type clientIDKey struct{}

func withClientID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientIDKey{}, id)
}

func clientIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientIDKey{}).(string)
	return id
}

// userKey carries the account a token response was checked for, so the
// ID token's claims need no second read.
type userKey struct{}

func withUser(ctx context.Context, u storage.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// orgKey carries the account's organization, read with a refresh token.
type orgKey struct{}

func withMemberOrganization(ctx context.Context, o storage.Organization) context.Context {
	return context.WithValue(ctx, orgKey{}, o)
}

// Token serves /oauth/token (POST only): the client authenticates first,
// whatever the grant, then the grant is checked and redeemed.
func (p *Provider) Token(w http.ResponseWriter, r *http.Request) {
	p.servePost(w, r, func(r *http.Request) (any, error) { return p.token(r) })
}

// servePost serves a protocol endpoint that takes POST only: fn's answer
// as JSON, or its error through the one error mapping.
func (p *Provider) servePost(w http.ResponseWriter, r *http.Request, fn func(*http.Request) (any, error)) {
	if r.Method != http.MethodPost {
		p.writeError(w, r, errMethodNotAllowed, false)
		return
	}
	resp, err := fn(p.withIssuer(r))
	if err != nil {
		p.writeError(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) token(r *http.Request) (*oidc.AccessTokenResponse, error) {
	form, err := postForm(r)
	if err != nil {
		return nil, err
	}
	c, err := p.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	grant := form.Get("grant_type")
	switch grant {
	case "":
		return nil, oidc.ErrInvalidRequest().WithDescription("grant_type is missing")
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
	default:
		return nil, oidc.ErrUnsupportedGrantType().WithDescription("grant_type %s is not supported", grant)
	}
	if !c.cfg.HasGrant(grant) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use grant_type %s", grant)
	}
	ctx := withClientID(r.Context(), c.GetID())
	switch grant {
	case GrantAuthorizationCode:
		return p.codeExchange(ctx, c, form)
	case GrantRefreshToken:
		return p.refreshExchange(ctx, c, form)
	default:
		return p.clientCredentials(ctx, c, form)
	}
}

// postForm returns the parameters of a protocol POST: from the body only
// (RFC 6749 §3.2), each at most once.
func postForm(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("the body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, oidc.ErrInvalidRequest().WithDescription("parameter %s is given more than once", k)
		}
	}
	return r.PostForm, nil
}

// authenticateClient identifies the client of a token, introspection or
// revocation request: client_secret_basic, client_secret_post, or a
// public client's bare client_id. Exactly one method may be used.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, error) {
	basicID, basicSecret, basic := r.BasicAuth()
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	assertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	methods := 0
	for _, used := range []bool{basic, formSecret != "", assertion} {
		if used {
			methods++
		}
	}
	if methods > 1 {
		return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must use one method")
	}
	failed := oidc.ErrInvalidClient().WithDescription("client authentication failed")
	switch {
	case assertion:
		return nil, oidc.ErrInvalidClient().WithDescription("client assertions are not supported")
	case basic:
		// RFC 6749 §2.3.1: both parts are form-encoded first.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, failed
		}
		if formID != "" && formID != id {
			return nil, oidc.ErrInvalidRequest().WithDescription("client_id differs from the authenticated client")
		}
		c, ok := p.clients.Get(id)
		if !ok || !c.CheckSecret(secret) {
			return nil, failed
		}
		return c, nil
	case formSecret != "":
		c, ok := p.clients.Get(formID)
		if !ok || !c.CheckSecret(formSecret) {
			return nil, failed
		}
		return c, nil
	case formID == "":
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication is required")
	}
	c, ok := p.clients.Get(formID)
	if !ok || !c.cfg.Public() {
		return nil, failed
	}
	return c, nil
}

func (p *Provider) codeExchange(ctx context.Context, c *Client, form url.Values) (*oidc.AccessTokenResponse, error) {
	code := form.Get("code")
	if code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code is missing")
	}
	req, err := p.storage.AuthRequestByCode(ctx, code)
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, errCodeExpired):
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid or expired")
	case err != nil:
		// The database's trouble, not the grant's: the client keeps it.
		return nil, err
	}
	a := req.(authRequest)
	switch {
	case a.ClientID != c.GetID():
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	case form.Get("redirect_uri") != a.RedirectURI:
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri differs from the authorization request")
	}
	verifier := form.Get("code_verifier")
	switch ch := a.GetCodeChallenge(); {
	case ch != nil && verifier == "":
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier is required")
	case ch != nil && !oidc.VerifyCodeChallenge(ch, verifier):
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier does not match the code_challenge")
	case ch == nil && verifier != "":
		return nil, oidc.ErrInvalidGrant().WithDescription("the authorization request had no code_challenge")
	}
	return p.tokenResponse(ctx, a, c, code, "")
}

func (p *Provider) refreshExchange(ctx context.Context, c *Client, form url.Values) (*oidc.AccessTokenResponse, error) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("refresh_token is missing")
	}
	req, err := p.storage.TokenRequestByRefreshToken(ctx, token)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid or expired")
	case err != nil:
		return nil, err
	}
	rr := req.(*refreshRequest)
	if rr.ClientID != c.GetID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was issued to another client")
	}
	if err := zop.ValidateRefreshTokenScopes(strings.Fields(form.Get("scope")), rr); err != nil {
		return nil, oidc.ErrInvalidScope().WithDescription("scope exceeds what the refresh token grants")
	}
	return p.tokenResponse(ctx, rr, c, "", token)
}

func (p *Provider) clientCredentials(ctx context.Context, c *Client, form url.Values) (*oidc.AccessTokenResponse, error) {
	req, err := p.storage.ClientCredentialsTokenRequest(ctx, c.GetID(), strings.Fields(form.Get("scope")))
	if err != nil {
		return nil, err
	}
	plan, err := p.storage.plan(ctx, req, "")
	if err != nil {
		return nil, err
	}
	at, err := p.accessToken(req, c, plan.issue.AccessToken.ID, plan.issue.AccessToken.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if err := p.storage.commit(ctx, plan); err != nil {
		return nil, err
	}
	return &oidc.AccessTokenResponse{AccessToken: at, TokenType: oidc.BearerToken,
		ExpiresIn: p.expiresIn(plan.issue.AccessToken.ExpiresAt), Scope: req.GetScopes()}, nil
}

// tokenResponse issues what a code or refresh token grants: the access
// token, a refresh token when the grant calls for one, and an ID token
// when openid was asked for. Everything is built before the code is
// claimed or the refresh token rotated (the last step), so a failure
// (the database gone while the user is loaded) leaves the grant usable
// for the client's retry. A disabled or deleted account gets
// invalid_grant and nothing is claimed, and so does a dormant account
// (lifecycle.dormant_after) presenting a refresh token.
func (p *Provider) tokenResponse(ctx context.Context, req zop.IDTokenRequest, c *Client, code, refresh string) (*oidc.AccessTokenResponse, error) {
	var u storage.User
	var err error
	rr, isRefresh := req.(*refreshRequest)
	if isRefresh && rr.user != nil && rr.user.ID == req.GetSubject() {
		u = *rr.user // read with the token
		ctx = withMemberOrganization(ctx, *rr.org)
	} else {
		u, err = p.storage.store.GetUser(ctx, req.GetSubject())
	}
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && u.Disabled:
		return nil, oidc.ErrInvalidGrant().WithDescription("the account is not active")
	case err == nil && isRefresh && lifecycle.Locked(u, p.now(), p.dormantAfter):
		// Dormant by the rule, whether or not the sweep has marked it:
		// the user read with the token decides, no further query.
		return nil, oidc.ErrInvalidGrant().WithDescription("the account is locked")
	case err != nil:
		return nil, fmt.Errorf("op: load user: %w", err)
	}
	ctx = withUser(ctx, u)
	plan, err := p.storage.plan(ctx, req, refresh)
	if err != nil {
		return nil, err
	}
	exp := plan.issue.AccessToken.ExpiresAt
	at, err := p.accessToken(req, c, plan.issue.AccessToken.ID, exp)
	if err != nil {
		return nil, err
	}
	resp := &oidc.AccessTokenResponse{AccessToken: at, RefreshToken: plan.newRefresh, TokenType: oidc.BearerToken,
		ExpiresIn: p.expiresIn(exp), Scope: req.GetScopes()}
	if slices.Contains(req.GetScopes(), oidc.ScopeOpenID) {
		resp.IDToken, err = zop.CreateIDToken(ctx, p.issuer, req, c.IDTokenLifetime(), at, code, p.storage, c)
		if err != nil {
			return nil, fmt.Errorf("op: id token: %w", err)
		}
	}
	if err := p.storage.commit(ctx, plan); err != nil {
		return nil, err
	}
	return resp, nil
}

// accessToken encodes the stored access token id: encrypted (opaque) or
// as a JWT of type at+jwt (RFC 9068) with client_id and scope.
func (p *Provider) accessToken(req zop.TokenRequest, c *Client, id string, exp time.Time) (string, error) {
	if c.AccessTokenType() == zop.AccessTokenTypeBearer {
		return p.opaque.seal(id + ":" + req.GetSubject())
	}
	claims := oidc.NewAccessTokenClaims(p.issuer, req.GetSubject(), req.GetAudience(), exp, id, c.GetID(), 0)
	claims.IssuedAt = oidc.FromTime(p.now())
	claims.NotBefore = claims.IssuedAt
	claims.Scopes = req.GetScopes()
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("op: access token claims: %w", err)
	}
	return p.keys.Sign(payload, AccessTokenType)
}

func (p *Provider) expiresIn(exp time.Time) uint64 {
	return uint64(max(exp.Sub(p.now()), 0) / time.Second)
}
