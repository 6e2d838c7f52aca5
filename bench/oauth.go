package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// maxBody bounds what we read of any response.
const maxBody = 1 << 20

// discovery is the part of the OpenID provider metadata the benchmark uses.
type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// tokenResponse is a successful answer of the token endpoint.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

// client is a registered OAuth client the benchmark authenticates as.
type client struct {
	ID     string
	Secret string // empty for a public client
	basic  string // precomputed Authorization header
}

func newOAuthClient(id, secret string) client {
	c := client{ID: id, Secret: secret}
	if secret != "" {
		// RFC 6749 §2.3.1: form-encode, then Basic.
		cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
		c.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	}
	return c
}

// authenticate adds client authentication to a token or introspection
// request: HTTP Basic for a confidential client, client_id in the form for
// a public one.
func (c client) authenticate(h http.Header, form url.Values) {
	if c.basic != "" {
		h.Set("Authorization", c.basic)
	} else {
		form.Set("client_id", c.ID)
	}
}

// do sends req and returns the status, headers and (bounded) body, always
// draining and closing the body so the connection is reused.
func do(c *http.Client, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, resp.Header, body, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, body, nil
}

func statusError(step string, code int, body []byte) *StatusError {
	e := &StatusError{Step: step, Code: code, Body: string(body)}
	var oe struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &oe) == nil {
		e.OAuth = oe.Error
	}
	return e
}

// isOAuthError reports whether err is an HTTP error answer with the given
// OAuth error code (such as invalid_grant).
func isOAuthError(err error, code string) bool {
	var se *StatusError
	return errors.As(err, &se) && se.OAuth == code
}

// get fetches url and wants 200.
func get(ctx context.Context, c *http.Client, step, u string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	code, _, body, err := do(c, req)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, statusError(step, code, body)
	}
	return body, nil
}

func postForm(ctx context.Context, u string, form url.Values, header http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// token posts a grant to the token endpoint as cl and wants a 200 with an
// access token.
func token(ctx context.Context, c *http.Client, endpoint string, cl client, form url.Values) (tokenResponse, error) {
	var tr tokenResponse
	h := http.Header{}
	cl.authenticate(h, form)
	req, err := postForm(ctx, endpoint, form, h)
	if err != nil {
		return tr, err
	}
	code, _, body, err := do(c, req)
	if err != nil {
		return tr, err
	}
	if code != http.StatusOK {
		return tr, statusError("token "+form.Get("grant_type"), code, body)
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return tr, checkErrorf("token %s: bad JSON: %v", form.Get("grant_type"), err)
	}
	if tr.AccessToken == "" {
		return tr, checkErrorf("token %s: no access_token", form.Get("grant_type"))
	}
	return tr, nil
}

// introspect asks whether tok is active, authenticating as cl, and returns
// a CheckError when it is not.
func introspect(ctx context.Context, c *http.Client, endpoint string, cl client, tok string) error {
	form := url.Values{"token": {tok}}
	h := http.Header{}
	cl.authenticate(h, form)
	req, err := postForm(ctx, endpoint, form, h)
	if err != nil {
		return err
	}
	code, _, body, err := do(c, req)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return statusError("introspect", code, body)
	}
	var r struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return checkErrorf("introspect: bad JSON: %v", err)
	}
	if !r.Active {
		return checkErrorf("introspect: active:false")
	}
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkce returns a fresh S256 code verifier and its challenge.
func pkce() (verifier, challenge string) {
	verifier = randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// signInResult is what a complete browser sign-in yields.
type signInResult struct {
	Tokens   tokenResponse
	Code     string // the (now used) authorization code
	Verifier string
}

// signIn runs the whole browser flow as a fresh browser (no cookies):
// authorize → login page → password POST → redirects → code → token.
func signIn(ctx context.Context, c *http.Client, d *discovery, cl client, redirectURI, scope, email, password string) (signInResult, error) {
	var res signInResult
	verifier, challenge := pkce()
	state := randomString(12)
	q := url.Values{
		"client_id":             {cl.ID},
		"redirect_uri":          {redirectURI},
		"response_type":         {"code"},
		"scope":                 {scope},
		"state":                 {state},
		"nonce":                 {randomString(12)},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	authURL := d.AuthorizationEndpoint + "?" + q.Encode()
	loc, err := redirect(ctx, c, "authorize", authURL, nil)
	if err != nil {
		return res, err
	}
	if isUnder(loc, redirectURI) {
		return res, checkErrorf("authorize: redirected to the client at once: %.200s", loc)
	}

	page, err := get(ctx, c, "login page", loc, nil)
	if err != nil {
		return res, err
	}
	f, err := parseLoginForm(string(page))
	if err != nil {
		return res, err
	}
	action, err := resolve(loc, f.Action)
	if err != nil {
		return res, err
	}
	form := url.Values{}
	for k, v := range f.Hidden {
		form.Set(k, v)
	}
	form.Set("email", email)
	form.Set("password", password)
	req, err := postForm(ctx, action, form, http.Header{"Origin": {origin(d.Issuer)}})
	if err != nil {
		return res, err
	}
	loc, err = redirectReq(c, "login POST", req, loc)
	if err != nil {
		return res, err
	}
	// The OP may answer through its own callback endpoint first.
	for hops := 0; !isUnder(loc, redirectURI); hops++ {
		if hops == 5 {
			return res, checkErrorf("sign-in: too many redirects, last %.200s", loc)
		}
		if loc, err = redirect(ctx, c, "callback", loc, nil); err != nil {
			return res, err
		}
	}
	code, err := parseCallback(loc, redirectURI, state, d.Issuer)
	if err != nil {
		return res, err
	}
	res.Code, res.Verifier = code, verifier
	res.Tokens, err = token(ctx, c, d.TokenEndpoint, cl, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	})
	return res, err
}

// redirect GETs u and wants a 302 or 303, returning the absolute Location.
func redirect(ctx context.Context, c *http.Client, step, u string, header http.Header) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return redirectReq(c, step, req, u)
}

func redirectReq(c *http.Client, step string, req *http.Request, base string) (string, error) {
	code, h, body, err := do(c, req)
	if err != nil {
		return "", err
	}
	if code != http.StatusFound && code != http.StatusSeeOther {
		if code == http.StatusOK {
			// A form shown again (wrong password) or an error page.
			return "", checkErrorf("%s: HTTP 200 instead of a redirect: %.200s", step, pageText(body))
		}
		return "", statusError(step, code, body)
	}
	loc := h.Get("Location")
	if loc == "" {
		return "", checkErrorf("%s: redirect without Location", step)
	}
	return resolve(base, loc)
}

// loginForm is the sign-in form of the login page.
type loginForm struct {
	Action string
	Hidden map[string]string // hidden inputs, name → value
}

var (
	reForm  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form\s*>`)
	reInput = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	reAttr  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
	reTags  = regexp.MustCompile(`(?s)<[^>]*>`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range reAttr.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// parseLoginForm finds the POST form that has a password field and returns
// its action and hidden inputs.
func parseLoginForm(page string) (loginForm, error) {
	for _, fm := range reForm.FindAllStringSubmatch(page, -1) {
		fa := attrs(fm[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		f := loginForm{Action: fa["action"], Hidden: map[string]string{}}
		hasPassword := false
		for _, in := range reInput.FindAllStringSubmatch(fm[2], -1) {
			ia := attrs(in[1])
			switch {
			case ia["name"] == "password":
				hasPassword = true
			case strings.EqualFold(ia["type"], "hidden") && ia["name"] != "":
				f.Hidden[ia["name"]] = ia["value"]
			}
		}
		if hasPassword {
			return f, nil
		}
	}
	return loginForm{}, checkErrorf("login page: no POST form with a password field")
}

// pageText is a short plain-text rendering of an HTML page for messages.
func pageText(b []byte) string {
	s := reTags.ReplaceAllString(string(b), " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// resolve makes ref absolute against base.
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", checkErrorf("bad URL %q: %v", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

// isUnder reports whether loc is redirectURI plus a query or fragment.
func isUnder(loc, redirectURI string) bool {
	if !strings.HasPrefix(loc, redirectURI) {
		return false
	}
	rest := loc[len(redirectURI):]
	return rest == "" || rest[0] == '?' || rest[0] == '#'
}

// parseCallback reads the authorization response from the Location that
// sends the browser back to the client: it wants a code, the state we sent
// and, when present, the issuer (RFC 9207).
func parseCallback(loc, redirectURI, state, issuer string) (string, error) {
	if !isUnder(loc, redirectURI) {
		return "", checkErrorf("callback: %.200s is not under %s", loc, redirectURI)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", checkErrorf("callback: %v", err)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", checkErrorf("callback: error=%s %s", e, q.Get("error_description"))
	}
	if got := q.Get("state"); got != state {
		return "", checkErrorf("callback: state %q, want %q", got, state)
	}
	if iss := q.Get("iss"); iss != "" && issuer != "" && iss != issuer {
		return "", checkErrorf("callback: iss %q, want %q", iss, issuer)
	}
	code := q.Get("code")
	if code == "" {
		return "", checkErrorf("callback: no code")
	}
	return code, nil
}

// origin is scheme://host of a URL.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}

func fetchDiscovery(ctx context.Context, c *http.Client, base string) (*discovery, error) {
	body, err := get(ctx, c, "discovery", strings.TrimSuffix(base, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, err
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	for name, v := range map[string]string{
		"authorization_endpoint": d.AuthorizationEndpoint, "token_endpoint": d.TokenEndpoint,
		"introspection_endpoint": d.IntrospectionEndpoint, "userinfo_endpoint": d.UserinfoEndpoint,
		"jwks_uri": d.JWKSURI,
	} {
		if v == "" {
			return nil, fmt.Errorf("discovery: no %s", name)
		}
	}
	return &d, nil
}
