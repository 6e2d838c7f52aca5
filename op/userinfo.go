package op

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/storage"
)

// Userinfo serves /userinfo (GET and POST, OIDC Core §5.3): the bearer
// token comes in the Authorization header, or in a POST body
// (RFC 6750 §2.2); never in the query (RFC 6750 §2.3, RFC 9700 §4.3.2).
// A missing token gets a bare challenge; a made-up, revoked, expired or
// non-access token gets 401 invalid_token; a token without the openid
// scope (a client-credentials token) 403 insufficient_scope.
func (p *Provider) Userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		p.writeError(w, r, errMethodNotAllowed, true)
		return
	}
	r = p.withIssuer(r)
	if r.URL.Query().Has("access_token") {
		p.writeError(w, r, oidc.ErrInvalidRequest().WithDescription("the access token must not be sent in the query"), true)
		return
	}
	token, ok, err := userinfoToken(r)
	switch {
	case err != nil:
		p.writeError(w, r, err, true)
		return
	case !ok:
		p.writeUnauthenticated(w)
		return
	}
	at, err := p.bearer(r.Context(), token)
	if err != nil {
		p.writeError(w, r, err, true)
		return
	}
	if at.UserID == "" || !slices.Contains(at.Scopes, oidc.ScopeOpenID) {
		p.writeError(w, r, errInsufficientScope("the token was not issued for userinfo (scope openid)"), true)
		return
	}
	ui := new(oidc.UserInfo)
	err = p.storage.setUserinfo(r.Context(), ui, at.UserID, at.ClientID, at.Scopes)
	var oe *oidc.Error
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.As(err, &oe):
		// The account was deleted or disabled after the token was issued.
		p.writeError(w, r, errInvalidToken("the token's account is no longer active"), true)
		return
	case err != nil:
		p.writeError(w, r, err, true)
		return
	}
	writeJSON(w, http.StatusOK, ui)
}

// userinfoToken reads the bearer token of a userinfo request: from the
// header, or from a form-encoded POST body, not both.
func userinfoToken(r *http.Request) (string, bool, error) {
	header, inHeader := bearerToken(r)
	if r.Method != http.MethodPost {
		return header, inHeader, nil
	}
	form, err := postForm(r)
	if err != nil {
		return "", false, err
	}
	body := form.Get("access_token")
	if inHeader && body != "" {
		return "", false, oidc.ErrInvalidRequest().WithDescription("the access token must be sent one way only")
	}
	if inHeader {
		return header, true, nil
	}
	return body, body != "", nil
}

// bearer loads the active record of an access token (JWT or opaque):
// errInvalidToken when the token is not one of ours, not an access token,
// revoked, expired or of an ended session; storage errors as they are.
func (p *Provider) bearer(ctx context.Context, token string) (storage.AccessToken, error) {
	id, subject, ok := p.tokenID(ctx, token)
	if !ok {
		return storage.AccessToken{}, errInvalidToken("the access token is not valid")
	}
	at, err := p.storage.activeToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, errInactive):
		return at, errInvalidToken("the access token is not active")
	case err != nil:
		return at, fmt.Errorf("op: load access token: %w", err)
	case subject != "" && subject != at.Subject:
		// An opaque token names its subject too; a forged one does not
		// match the record.
		return at, errInvalidToken("the access token is not valid")
	}
	return at, nil
}

// Introspect serves /oauth/introspect (POST only, RFC 7662). The caller
// authenticates as a confidential client; it may introspect the access
// tokens issued to itself and to the clients it lists in introspect_for.
// Any other token, and every unknown, revoked or expired one, is
// {"active": false}. A database that cannot be reached is 503.
func (p *Provider) Introspect(w http.ResponseWriter, r *http.Request) {
	p.servePost(w, r, func(r *http.Request) (any, error) { return p.introspect(r) })
}

func (p *Provider) introspect(r *http.Request) (*oidc.IntrospectionResponse, error) {
	form, err := postForm(r)
	if err != nil {
		return nil, err
	}
	caller, err := p.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	if caller.cfg.Public() {
		return nil, oidc.ErrInvalidClient().WithDescription("a public client cannot introspect tokens")
	}
	token := form.Get("token")
	if token == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("token is missing")
	}
	inactive := &oidc.IntrospectionResponse{}
	at, err := p.bearer(r.Context(), token)
	var oe *oidc.Error
	switch {
	case errors.As(err, &oe):
		return inactive, nil
	case err != nil:
		return nil, err
	case at.ClientID != caller.GetID() && !slices.Contains(caller.cfg.IntrospectFor, at.ClientID):
		return inactive, nil
	}
	resp := &oidc.IntrospectionResponse{Active: true, Subject: at.Subject, Scope: at.Scopes, ClientID: at.ClientID,
		TokenType: oidc.BearerToken, Expiration: oidc.FromTime(at.ExpiresAt), IssuedAt: oidc.FromTime(at.CreatedAt),
		Audience: at.Audience, JWTID: at.ID, Issuer: p.issuer}
	if at.UserID != "" {
		ui := new(oidc.UserInfo)
		err := p.storage.setUserinfo(r.Context(), ui, at.UserID, at.ClientID, at.Scopes)
		switch {
		case errors.Is(err, storage.ErrNotFound), errors.As(err, &oe):
			return inactive, nil
		case err != nil:
			return nil, err
		}
		resp.SetUserInfo(ui)
		resp.Username = ui.PreferredUsername
	}
	return resp, nil
}

// Revoke serves /revoke (POST only, RFC 7009). Revoking an access token
// revokes it; a refresh token, its whole family. Unknown tokens succeed
// silently; a token issued to another client is refused.
func (p *Provider) Revoke(w http.ResponseWriter, r *http.Request) {
	p.servePost(w, r, func(r *http.Request) (any, error) { return struct{}{}, p.revoke(r) })
}

func (p *Provider) revoke(r *http.Request) error {
	form, err := postForm(r)
	if err != nil {
		return err
	}
	c, err := p.authenticateClient(r, form)
	if err != nil {
		return err
	}
	token := form.Get("token")
	if token == "" {
		return oidc.ErrInvalidRequest().WithDescription("token is missing")
	}
	// The hint only says which kind to look for first (RFC 7009 §2.1):
	// a token not found as that kind is looked for as the other.
	ctx := r.Context()
	refreshFirst := form.Get("token_type_hint") != "access_token"
	for _, refresh := range []bool{refreshFirst, !refreshFirst} {
		if refresh {
			_, id, err := p.storage.GetRefreshTokenInfo(ctx, c.GetID(), token)
			if err == nil {
				return oidcErr(p.storage.RevokeToken(ctx, id, "", c.GetID()))
			}
			if !isInvalidRefresh(err) {
				return err
			}
			continue
		}
		if id, _, ok := p.tokenID(ctx, token); ok {
			return oidcErr(p.storage.RevokeToken(ctx, id, "", c.GetID()))
		}
	}
	return nil // not one of ours (RFC 7009 §2.2)
}

// oidcErr turns a possibly nil *oidc.Error into an error that is nil when
// it is (a nil pointer in an interface is not a nil error).
func oidcErr(e *oidc.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func isInvalidRefresh(err error) bool { return errors.Is(err, zop.ErrInvalidRefreshToken) }
