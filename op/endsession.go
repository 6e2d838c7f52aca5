package op

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/i18n"
)

// ErrBadPostLogoutRedirect: post_logout_redirect_uri is not registered for
// the client (or no client is known). The caller shows an error page and
// never redirects there.
var ErrBadPostLogoutRedirect = errors.New("op: post_logout_redirect_uri is not registered")

// Param is one request parameter.
type Param struct{ Name, Value string }

// EndSession is a validated RP-initiated logout request.
type EndSession struct {
	// HintValid: id_token_hint was present, an ID token (not an access
	// token) signed by us (expired is fine) and consistent with
	// client_id. Without it the user must confirm the sign-out.
	HintValid bool
	UserID    string // sub of the hint
	SessionID string // sid of the hint
	ClientID  string
	// RedirectURI is the validated post_logout_redirect_uri with state,
	// or empty.
	RedirectURI string
	ClientName  i18n.Text
	// Params are the request's end_session parameters in a fixed order,
	// to be posted back by a confirmation form.
	Params []Param
}

// VerifyEndSession parses and validates an end_session request (GET or
// POST, OpenID Connect RP-Initiated Logout 1.0).
func (p *Provider) VerifyEndSession(r *http.Request) (EndSession, error) {
	r = p.withIssuer(r)
	req, err := zop.ParseEndSessionRequest(r, p.zp.Decoder())
	if err != nil {
		return EndSession{}, err
	}
	var es EndSession
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint"} {
		if v := r.Form.Get(k); v != "" {
			es.Params = append(es.Params, Param{Name: k, Value: v})
		}
	}
	clientID := req.ClientID
	if req.IdTokenHint != "" && !NotAnIDToken(req.IdTokenHint) {
		claims, err := zop.VerifyIDTokenHint[*oidc.IDTokenClaims](r.Context(), req.IdTokenHint, p.zp.IDTokenHintVerifier(r.Context()))
		if (err == nil || errors.As(err, &zop.IDTokenHintExpiredError{})) && claims != nil &&
			(clientID == "" || clientID == claims.GetAuthorizedParty()) {
			es.HintValid = true
			es.UserID = claims.GetSubject()
			es.SessionID = claims.SessionID
			if sid, ok := claims.Claims["sid"].(string); ok && es.SessionID == "" {
				es.SessionID = sid
			}
			clientID = claims.GetAuthorizedParty()
		}
	}
	var c *Client
	if clientID != "" {
		if cl, ok := p.clients.Get(clientID); ok {
			c = cl
			es.ClientID = c.GetID()
			es.ClientName = c.DisplayName()
		}
	}
	if req.PostLogoutRedirectURI != "" && c == nil {
		// No client to check it against (no client_id, and a hint that
		// is forged, foreign or unreadable): never redirect there, but
		// still let the user sign out on the confirmation page.
		es.Params = slices.DeleteFunc(es.Params, func(p Param) bool { return p.Name == "post_logout_redirect_uri" })
		return es, nil
	}
	if req.PostLogoutRedirectURI != "" {
		if zop.ValidateEndSessionPostLogoutRedirectURI(req.PostLogoutRedirectURI, c) != nil {
			return es, ErrBadPostLogoutRedirect
		}
		u, err := url.Parse(req.PostLogoutRedirectURI)
		if err != nil {
			return es, ErrBadPostLogoutRedirect
		}
		if req.State != "" {
			q := u.Query()
			q.Set("state", req.State)
			u.RawQuery = q.Encode()
		}
		es.RedirectURI = u.String()
	}
	return es, nil
}
