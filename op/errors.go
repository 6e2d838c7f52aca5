package op

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/sekisho/sekisho/storage"
)

// OAuth error codes the library has no constructor for. They are untyped
// constants: the library's error-code type is unexported.
const (
	errCodeTemporarilyUnavailable = "temporarily_unavailable"   // RFC 6749 §4.1.2.1
	errCodeUnsupportedResponse    = "unsupported_response_type" // RFC 6749 §4.1.2.1
	errCodeRequestURINotSupported = "request_uri_not_supported" // OIDC Core §3.1.2.6
	errCodeInvalidToken           = "invalid_token"             // RFC 6750 §3.1
	errCodeInsufficientScope      = "insufficient_scope"        // RFC 6750 §3.1
)

// Constructors for the codes above (like the library's oidc.Err*).
func errTemporarilyUnavailable() *oidc.Error {
	return &oidc.Error{ErrorType: errCodeTemporarilyUnavailable, Description: "the service is temporarily unavailable; try again later"}
}

func errUnsupportedResponseType(d string) *oidc.Error {
	return &oidc.Error{ErrorType: errCodeUnsupportedResponse, Description: d}
}

func errRequestURINotSupported() *oidc.Error {
	return &oidc.Error{ErrorType: errCodeRequestURINotSupported, Description: "request_uri is not supported"}
}

func errInvalidToken(d string) *oidc.Error {
	return &oidc.Error{ErrorType: errCodeInvalidToken, Description: d}
}

func errInsufficientScope(d string) *oidc.Error {
	return &oidc.Error{ErrorType: errCodeInsufficientScope, Description: d}
}

// errMethodNotAllowed is answered to a method the endpoint does not take.
var errMethodNotAllowed = errors.New("op: method not allowed")

// oauthError is the one mapping from what went wrong to what a client is
// told: the OAuth error and the HTTP status. A database that cannot be
// reached is "try again later" (503 temporarily_unavailable), so a
// relying party keeps its code or refresh token; an error of the
// library's or ours keeps its code and fixed description; anything else
// is a server_error without a description. Causes are never shown.
func oauthError(err error) (*oidc.Error, int) {
	var oe *oidc.Error
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		return errTemporarilyUnavailable(), http.StatusServiceUnavailable
	case errors.Is(err, errMethodNotAllowed):
		return oidc.ErrInvalidRequest().WithDescription("method not allowed"), http.StatusMethodNotAllowed
	case errors.As(err, &oe):
		out := &oidc.Error{ErrorType: oe.ErrorType, Description: oe.Description}
		switch oe.ErrorType {
		case oidc.InvalidClient:
			return out, http.StatusUnauthorized
		case oidc.ServerError:
			out.Description = ""
			return out, http.StatusInternalServerError
		case errCodeTemporarilyUnavailable:
			return out, http.StatusServiceUnavailable
		case errCodeInvalidToken:
			return out, http.StatusUnauthorized
		case errCodeInsufficientScope:
			return out, http.StatusForbidden
		}
		return out, http.StatusBadRequest
	}
	return oidc.ErrServerError(), http.StatusInternalServerError
}

// writeError answers a protocol endpoint's request with err as an OAuth
// JSON error (RFC 6749 §5.2). An invalid_client answer to a client that
// sent HTTP Basic credentials carries a Basic challenge (RFC 6749 §5.2);
// bearer-token endpoints pass a realm for their challenge (RFC 6750 §3).
// 5xx answers are logged with their cause at error level, 4xx at info.
func (p *Provider) writeError(w http.ResponseWriter, r *http.Request, err error, bearer bool) {
	e, status := oauthError(err)
	h := w.Header()
	switch {
	case bearer && status == http.StatusUnauthorized && e.ErrorType == errCodeInvalidToken:
		h.Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`", error="invalid_token"`)
	case bearer && status == http.StatusForbidden:
		h.Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`", error="insufficient_scope"`)
	case bearer && status == http.StatusBadRequest:
		h.Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`", error="invalid_request"`)
	case status == http.StatusUnauthorized && usedBasic(r):
		h.Set("WWW-Authenticate", `Basic realm="`+p.issuer+`"`)
	case status == http.StatusMethodNotAllowed:
		h.Set("Allow", allowed(r))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	p.log.Log(r.Context(), level, "protocol error", "route", r.URL.Path, "error", string(e.ErrorType), "status", status, "err", err)
	writeJSON(w, status, e)
}

// RefuseInput answers a protocol request that the server's edge refused
// (a body over the limit: 413; a NUL byte or invalid UTF-8: 400) with
// invalid_request.
func (p *Provider) RefuseInput(w http.ResponseWriter, r *http.Request, status int) {
	p.log.InfoContext(r.Context(), "protocol error", "route", r.URL.Path, "error", "invalid_request", "status", status)
	writeJSON(w, status, oidc.ErrInvalidRequest().WithDescription("the request is malformed or too large"))
}

// writeUnauthenticated answers a bearer-token request that carried no
// token: 401 with a bare challenge (RFC 6750 §3.1: no error code).
func (p *Provider) writeUnauthenticated(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`"`)
	// No error code, nor other error information (RFC 6750 §3.1).
	writeJSON(w, http.StatusUnauthorized, struct{}{})
}

func usedBasic(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}

// allowed names the methods of a protocol endpoint for a 405's Allow.
func allowed(r *http.Request) string {
	if r.URL.Path == "/userinfo" {
		return "GET, POST"
	}
	return "POST"
}

// writeJSON writes a protocol response: JSON, never cached (RFC 6749
// §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
