package op

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/storage"
)

// authRequest adapts a stored auth request to the library.
type authRequest struct{ storage.AuthRequest }

var _ zop.AuthRequest = authRequest{}

func (a authRequest) GetID() string                      { return a.ID }
func (a authRequest) GetACR() string                     { return a.ACR }
func (a authRequest) GetAMR() []string                   { return a.AMR }
func (a authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a authRequest) GetClientID() string                { return a.ClientID }
func (a authRequest) GetNonce() string                   { return a.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a authRequest) GetScopes() []string                { return a.Scopes }
func (a authRequest) GetState() string                   { return a.State }
func (a authRequest) GetSubject() string                 { return a.UserID }
func (a authRequest) Done() bool                         { return a.AuthRequest.Done() }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.ResponseType) }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }

func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethod(a.CodeChallengeMethod)}
}

// refreshRequest adapts a stored refresh token to the library.
type refreshRequest struct {
	storage.RefreshToken
	scopes []string
	// reuse: the token was rotated moments ago by this client; the
	// response re-issues from that rotation (same successor).
	reuse bool
	// user and org, when set, are the account and its organization, read
	// with the token.
	user *storage.User
	org  *storage.Organization
}

var _ zop.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.Audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// clientCredentialsRequest is a token request of an API client: the client
// is the subject.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

var _ zop.TokenRequest = (*clientCredentialsRequest)(nil)

func (c *clientCredentialsRequest) GetSubject() string    { return c.clientID }
func (c *clientCredentialsRequest) GetAudience() []string { return []string{c.clientID} }
func (c *clientCredentialsRequest) GetScopes() []string   { return c.scopes }
