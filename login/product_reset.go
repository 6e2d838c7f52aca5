package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// responseModeReturn marks a sign-in started by a product's reset link:
// when it ends, the browser returns to the request's RedirectURI (one the
// client registered) instead of receiving an authorization code.
const responseModeReturn = "sekisho:return"

// returnsToProduct reports whether a was started by a product's reset
// link.
func returnsToProduct(a storage.AuthRequest) bool { return a.ResponseMode == responseModeReturn }

// ProductReset is a password reset a product starts for its user.
type ProductReset struct {
	ClientID  string
	LoginHint string // the address (or account name) filled in, or empty
	// Organization, in the organization sign-in modes, is the
	// organization code filled in, read-only, or empty.
	Organization string
	ReturnTo     string // where the browser goes once the reset is done
	UILocales    []string
}

// StartProductReset stores the sign-in behind a product's reset link and
// returns its id. The caller has checked that ReturnTo is one of the
// client's registered URIs.
func (f *Flow) StartProductReset(ctx context.Context, in ProductReset) (string, error) {
	return f.startReturning(ctx, storage.AuthRequest{ClientID: in.ClientID, RedirectURI: in.ReturnTo,
		ResponseMode: responseModeReturn, LoginHint: loginHint(in.LoginHint), Organization: in.Organization,
		UILocales: uiLocales(in.UILocales)})
}

// linkOrganization is the organization code a reset link names, in its
// canonical form: "" when the mode has none or the link names none;
// ErrBadOrganization when it cannot be an organization code.
func (f *Flow) linkOrganization(code string) (string, error) {
	if !f.HasOrganization() || code == "" {
		return "", nil
	}
	canonical, err := identifier.Username(code)
	if err != nil {
		return "", ErrBadOrganization
	}
	return canonical, nil
}

// ErrBadOrganization: a link's organization cannot be an organization
// code.
var ErrBadOrganization = errors.New("login: not an organization code")

// loginHint bounds a login_hint from a link: an address, or nothing.
func loginHint(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 254 {
		return ""
	}
	return s
}

// uiLocales keeps the first few well-formed language tags of a link's
// ui_locales.
func uiLocales(tags []string) []string {
	var out []string
	for _, t := range tags {
		if len(out) == 4 {
			break
		}
		if tag, err := language.Parse(t); err == nil && len(t) <= 35 {
			out = append(out, tag.String())
		}
	}
	return out
}

// startReset serves GET /reset without a sign-in: from a product
// (client_id, login_hint, return_to: afterwards the browser returns
// there), or on its own (login_hint: afterwards the account page). In the
// organization modes organization=CODE fills in the organization,
// read-only. It starts the sign-in the reset belongs to and opens its
// form.
func (h *Handlers) startReset(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	locales := strings.Fields(q.Get("ui_locales"))
	org, err := h.c.Flow.linkOrganization(q.Get("organization"))
	if err != nil {
		h.c.Pages.Error(w, r, http.StatusBadRequest, "error.invalid_request", "")
		return
	}
	var id string
	if clientID := q.Get("client_id"); clientID != "" {
		_, home, known := h.c.OP.ClientDisplay(clientID)
		switch {
		case !known:
			h.c.Pages.Error(w, r, http.StatusBadRequest, "error.unknown_client", "")
			return
		case !h.c.OP.ReturnURIAllowed(clientID, q.Get("return_to")):
			h.c.Pages.Error(w, r, http.StatusBadRequest, "error.bad_return_to", home)
			return
		}
		id, err = h.c.Flow.StartProductReset(r.Context(), ProductReset{ClientID: clientID, LoginHint: q.Get("login_hint"),
			Organization: org, ReturnTo: q.Get("return_to"), UILocales: locales})
	} else {
		id, err = h.c.Flow.startReturning(r.Context(), storage.AuthRequest{ClientID: AccountClient, RedirectURI: "/account",
			LoginHint: loginHint(q.Get("login_hint")), Organization: org, UILocales: uiLocales(locales)})
	}
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	http.Redirect(w, r, "/reset?id="+url.QueryEscape(id), http.StatusSeeOther)
}
