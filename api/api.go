// Package api is sekisho's HTTP API for the back ends of relying
// products: JSON over HTTPS, authenticated by client-credentials access
// tokens with a dedicated scope. It serves the legacy bridge: the
// product's back end changes a user's address by its own id, and looks up
// whether the user has migrated.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/gorilla/mux"

	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/op"
)

// Authenticator checks a request's bearer token for a scope (op.Provider).
type Authenticator interface {
	APIClient(r *http.Request, scope string) (clientID string, err error)
}

// Legacy is the legacy bridge (login.Flow).
type Legacy interface {
	LegacyAccount(ctx context.Context, legacyID string) (login.LegacyAccount, error)
	SetLegacyEmail(ctx context.Context, in login.LegacyEmailChange) (login.LegacyAccount, error)
}

// Handlers serve the API.
type Handlers struct {
	auth   Authenticator
	legacy Legacy
	log    *slog.Logger
}

// New returns the handlers.
func New(auth Authenticator, legacy Legacy, log *slog.Logger) *Handlers {
	return &Handlers{auth: auth, legacy: legacy, log: log}
}

// Routes of the API, matched against the escaped path (the router uses
// encoded paths): a legacy id is one percent-encoded segment, which may
// hold "%2F", "." or "..".
var (
	userRoute  = regexp.MustCompile(`^/api/legacy/users/[^/]+$`)
	emailRoute = regexp.MustCompile(`^/api/legacy/users/[^/]+/email$`)
)

// Mount adds the API's routes to r, which must match encoded paths
// (mux.Router.UseEncodedPath), so a legacy id holding "/" stays one
// segment and is never cleaned into another path.
func (h *Handlers) Mount(r *mux.Router) {
	r.HandleFunc("/api/legacy/users/{legacy_id}/email", h.setEmail).Methods(http.MethodPut)
	r.HandleFunc("/api/legacy/users/{legacy_id}", h.getUser).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/api/").HandlerFunc(h.noRoute)
}

// noRoute answers in JSON for any other /api/ path or method.
func (h *Handlers) noRoute(w http.ResponseWriter, r *http.Request) {
	allow := ""
	switch p := r.URL.EscapedPath(); {
	case userRoute.MatchString(p):
		allow = "GET, HEAD"
	case emailRoute.MatchString(p):
		allow = "PUT"
	}
	if allow == "" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such API endpoint"})
		return
	}
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request",
		"error_description": "method " + r.Method + " is not allowed here; use " + allow})
}

// legacyID is the path's legacy id, unescaped.
func legacyID(r *http.Request) (string, error) {
	id, err := url.PathUnescape(mux.Vars(r)["legacy_id"])
	if err != nil {
		return "", &errBadRequest{reason: "legacy_id is not a valid percent-encoded path segment"}
	}
	return id, nil
}

// LegacyUser is the API's view of an imported user.
type LegacyUser struct {
	LegacyID string `json:"legacy_id"`
	Subject  string `json:"sub"`
	// Organization is the code of the account's organization.
	Organization  string     `json:"organization"`
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	Migrated      bool       `json:"migrated"`
	MigratedAt    *time.Time `json:"migrated_at"`
}

func legacyUser(a login.LegacyAccount) LegacyUser {
	u := a.User
	return LegacyUser{LegacyID: u.LegacyID, Subject: u.ID, Organization: a.OrganizationCode, Email: u.Email,
		EmailVerified: u.EmailVerified, Migrated: u.MigratedAt != nil, MigratedAt: u.MigratedAt}
}

// EmailChange is the body of PUT /api/legacy/users/{legacy_id}/email.
type EmailChange struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
}

// getUser serves GET /api/legacy/users/{legacy_id}: the migration status.
func (h *Handlers) getUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	id, err := legacyID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.legacy.LegacyAccount(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, legacyUser(u))
}

// setEmail serves PUT /api/legacy/users/{legacy_id}/email.
func (h *Handlers) setEmail(w http.ResponseWriter, r *http.Request) {
	client, ok := h.authorize(w, r)
	if !ok {
		return
	}
	id, err := legacyID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in EmailChange
	if err := decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.legacy.SetLegacyEmail(r.Context(), login.LegacyEmailChange{LegacyID: id,
		Email: in.Email, Verified: *in.EmailVerified, ClientID: client})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, legacyUser(u))
}

func (h *Handlers) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	client, err := h.auth.APIClient(r, op.ScopeLegacyAPI)
	if err != nil {
		h.fail(w, r, err)
		return "", false
	}
	return client, true
}

// errBadRequest is a request the endpoint cannot take: a body that is not
// its JSON, or a path segment that is not percent-encoded.
type errBadRequest struct{ reason string }

func (e *errBadRequest) Error() string { return "api: " + e.reason }

// errTooLarge: the body is over limits.max_body_bytes.
var errTooLarge = errors.New("api: the body is too large")

// decode reads a JSON object strictly: unknown fields, trailing data and
// missing fields are refused.
func decode(r *http.Request, in *EmailChange) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return &errBadRequest{reason: "the body must be a JSON object with email and email_verified"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &errBadRequest{reason: "the body must hold one JSON object"}
	}
	switch {
	case in.Email == "":
		return &errBadRequest{reason: "email is required"}
	case in.EmailVerified == nil:
		return &errBadRequest{reason: "email_verified is required (true or false)"}
	}
	return nil
}

// apiError is an error response: an OAuth-style body (RFC 6749 §5.2,
// RFC 6750 §3.1), and for token errors a WWW-Authenticate challenge.
type apiError struct {
	status      int
	code        string
	description string
	challenge   bool // send WWW-Authenticate with the error code
}

// errorOf maps the errors callers decide on to responses, in one place.
func errorOf(err error) apiError {
	var bad *errBadRequest
	switch {
	case errors.Is(err, op.ErrNoToken):
		// RFC 6750 §3.1: no error code when the request carries no
		// authentication at all.
		return apiError{http.StatusUnauthorized, "", "a bearer access token is required", false}
	case errors.Is(err, op.ErrInvalidToken):
		return apiError{http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked", true}
	case errors.Is(err, op.ErrInsufficientScope):
		return apiError{http.StatusForbidden, "insufficient_scope",
			fmt.Sprintf("a client-credentials token with scope %s is required", op.ScopeLegacyAPI), true}
	case errors.As(err, &bad):
		return apiError{http.StatusBadRequest, "invalid_request", bad.reason, false}
	case errors.Is(err, errTooLarge):
		return apiError{http.StatusRequestEntityTooLarge, "invalid_request", "the body is too large", false}
	case errors.Is(err, login.ErrBadEmail):
		return apiError{http.StatusBadRequest, "invalid_request", "email is not a valid address", false}
	case errors.Is(err, login.ErrUnknownLegacyUser):
		return apiError{http.StatusNotFound, "not_found", "no user was imported with that legacy_id", false}
	case errors.Is(err, login.ErrEmailTaken):
		return apiError{http.StatusConflict, "email_taken", "the address belongs to another account", false}
	}
	return apiError{http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", false}
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := errorOf(err)
	if e.status >= 500 {
		h.log.ErrorContext(r.Context(), "api", "err", err)
	}
	if e.status == http.StatusUnauthorized || e.status == http.StatusForbidden {
		c := `Bearer realm="sekisho", scope="` + op.ScopeLegacyAPI + `"`
		if e.challenge {
			c += `, error="` + e.code + `"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	body := map[string]string{"error_description": e.description}
	if e.code != "" {
		body["error"] = e.code
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
