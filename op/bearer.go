package op

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/storage"
)

// ScopeLegacyAPI lets a client-credentials token call the legacy bridge's
// API (change a user's address, look up a migration).
const ScopeLegacyAPI = "legacy_api"

// Errors of bearer-token authentication (RFC 6750 §3.1).
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("op: no bearer token")
	// ErrInvalidToken: the token is malformed, unknown, expired or
	// revoked.
	ErrInvalidToken = errors.New("op: invalid access token")
	// ErrInsufficientScope: the token is valid but does not grant the
	// scope (or is not a client-credentials token).
	ErrInsufficientScope = errors.New("op: the token does not grant the scope")
)

// APIClient authenticates a call to sekisho's own API: a bearer access
// token (JWT or opaque) issued by the client-credentials grant, still
// active, carrying scope, of a client that may still have the scope. It
// returns the client's id.
func (p *Provider) APIClient(r *http.Request, scope string) (string, error) {
	token, ok := bearerToken(r)
	if !ok {
		return "", ErrNoToken
	}
	ctx := zop.ContextWithIssuer(r.Context(), p.issuer)
	id, subject, ok := p.tokenID(ctx, token)
	if !ok {
		return "", ErrInvalidToken
	}
	at, err := p.storage.activeToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, errInactive):
		return "", ErrInvalidToken
	case err != nil:
		return "", fmt.Errorf("op: load access token: %w", err)
	case subject != "" && subject != at.Subject:
		// An opaque token names its subject too; a forged one does not
		// match the record.
		return "", ErrInvalidToken
	}
	c, ok := p.clients.Get(at.ClientID)
	if !ok || at.UserID != "" || !slices.Contains(at.Scopes, scope) || !c.IsScopeAllowed(scope) {
		return at.ClientID, ErrInsufficientScope
	}
	return at.ClientID, nil
}

// tokenID returns the record id and subject inside an opaque token, or
// the `jti` (and no subject) of a JWT whose signature, issuer and expiry
// check out.
func (p *Provider) tokenID(ctx context.Context, token string) (id, subject string, ok bool) {
	if s, err := p.opaque.open(token); err == nil {
		id, subject, ok = strings.Cut(s, ":")
		return id, subject, ok && validTokenID(id)
	}
	claims, err := zop.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, p.zp.AccessTokenVerifier(ctx))
	if err != nil || !validTokenID(claims.JWTID) {
		return "", "", false
	}
	return claims.JWTID, "", true
}

// bearerToken reads "Authorization: Bearer <token>" (the scheme is
// case-insensitive).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
