package op

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/identifier"
)

// Authorize serves /authorize (GET and POST). Before the library sees the
// request, it checks what the library would let through or answer
// wrongly:
//   - client_id and redirect_uri, each given once; an unknown client or a
//     redirect_uri that is not exactly a registered one (the raw value,
//     never unescaped again) gets a readable 400 page, never a redirect;
//   - from then on errors go to the redirect_uri with state and iss: a
//     parameter given twice (invalid_request), request_uri
//     (request_uri_not_supported), request (request_not_supported), a
//     response_type other than code (unsupported_response_type), a
//     code_challenge that is not 43-128 unreserved characters
//     (invalid_request), and an id_token_hint that is an access token
//     (login_required, as for any invalid hint), and an organization that
//     cannot be an organization code (invalid_request).
//
// organization=CODE (Auth0's convention) names the organization whose
// member signs in, in the organization sign-in modes (ignored in the
// email mode): the library's parsed request has no such field, so it
// travels through the request's context to CreateAuthRequest, which
// stores it with the request; the sign-in form then shows it read-only.
// Whether such an organization exists is not told before the password
// (an unknown one gets the ordinary failure answer).
//
// The library's authorize function then runs directly (not its router,
// whose CORS handling must not apply here). Every authorization response
// carries iss (RFC 9207), and a redirect answering a POST is a 303.
func (p *Provider) Authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.pages.RenderError(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	form := r.Form
	if len(form["client_id"]) > 1 {
		p.pages.RenderError(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	c, ok := p.clients.Get(form.Get("client_id"))
	if !ok {
		p.pages.RenderError(w, r, http.StatusBadRequest, "error.unknown_client", "")
		return
	}
	redirects := form["redirect_uri"]
	if len(redirects) != 1 || !c.RedirectURIAllowed(redirects[0]) {
		p.pages.RenderError(w, r, http.StatusBadRequest, "error.bad_redirect_uri", c.HomeURL())
		return
	}
	if e := authorizeParamsError(form); e != nil {
		p.redirectError(w, r, redirects[0], form.Get("state"), e)
		return
	}
	if hint := form.Get("id_token_hint"); hint != "" && NotAnIDToken(hint) {
		p.redirectError(w, r, redirects[0], form.Get("state"),
			oidc.ErrLoginRequired().WithDescription("the id_token_hint is not an ID token"))
		return
	}
	if code := form.Get("organization"); p.organizations && code != "" {
		canonical, err := identifier.Username(code)
		if err != nil {
			p.redirectError(w, r, redirects[0], form.Get("state"),
				oidc.ErrInvalidRequest().WithDescription("organization is not an organization code"))
			return
		}
		r = r.WithContext(withOrganization(r.Context(), canonical))
	}
	zop.Authorize(newISSWriter(w, r, p.issuer), p.withIssuer(r), p.zp)
}

// organizationKey carries the organization=CODE of an authorization
// request from Authorize to CreateAuthRequest.
type organizationKey struct{}

func withOrganization(ctx context.Context, code string) context.Context {
	return context.WithValue(ctx, organizationKey{}, code)
}

// organizationFrom is the organization code the request named, or "".
func organizationFrom(ctx context.Context) string {
	code, _ := ctx.Value(organizationKey{}).(string)
	return code
}

// authorizeParamsError checks the parameters of an authorization request
// whose client and redirect_uri are known to be good.
func authorizeParamsError(form url.Values) *oidc.Error {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if len(form[k]) > 1 {
			return oidc.ErrInvalidRequest().WithDescription("parameter %s is given more than once", k)
		}
	}
	switch rt := form.Get("response_type"); {
	case form.Has("request_uri"):
		return errRequestURINotSupported()
	case form.Has("request"):
		return oidc.ErrRequestNotSupported().WithDescription("request objects are not supported")
	case rt == "":
		return oidc.ErrInvalidRequest().WithDescription("response_type is missing")
	case rt != string(oidc.ResponseTypeCode):
		return errUnsupportedResponseType("only response_type=code is supported")
	case form.Has("response_mode") && form.Get("response_mode") != string(oidc.ResponseModeQuery):
		return oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	if cc := form.Get("code_challenge"); cc != "" && !pkceValue(cc) {
		return oidc.ErrInvalidRequest().WithDescription("code_challenge must be 43 to 128 unreserved characters")
	}
	return nil
}

// pkceValue reports whether s has the form of a code challenge or
// verifier (RFC 7636 §4.1-4.2): 43 to 128 unreserved characters.
func pkceValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// redirectError sends an OAuth error to a redirect URI that was checked
// against the client's registration, with state and iss, appended to the
// URI's query as it stands.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, e *oidc.Error) {
	params := url.Values{"error": {string(e.ErrorType)}, "iss": {p.issuer}}
	if e.Description != "" {
		params.Set("error_description", e.Description)
	}
	if state != "" {
		params.Set("state", state)
	}
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, appendQuery(redirectURI, params), status)
}

// NotAnIDToken reports whether a JWT offered where an ID token is
// expected (id_token_hint) is something else: a token whose header says
// at+jwt (RFC 9068 §4), or whose claims carry scope, or client_id without
// azp. Access tokens carry client_id (and now scope) and never azp; the
// library's ID tokens carry client_id too, but always beside azp. That
// also covers access tokens issued before they were typed at+jwt. It does
// not check the signature: the caller still verifies the token.
func NotAnIDToken(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	var header struct {
		Typ string `json:"typ"`
	}
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil && json.Unmarshal(raw, &header) == nil {
		typ := strings.ToLower(header.Typ)
		if typ == AccessTokenType || typ == "application/"+AccessTokenType {
			return true
		}
	}
	var claims map[string]json.RawMessage
	if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(raw, &claims) == nil {
		_, hasClient := claims["client_id"]
		_, hasAZP := claims["azp"]
		_, hasScope := claims["scope"]
		return hasScope || (hasClient && !hasAZP)
	}
	return false
}
