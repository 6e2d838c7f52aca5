package login

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/text/language"

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
	LoginHint string // the address filled in, or empty
	ReturnTo  string // where the browser goes once the reset is done
	UILocales []string
}

// StartProductReset stores the sign-in behind a product's reset link and
// returns its id. The caller has checked that ReturnTo is one of the
// client's registered URIs.
func (f *Flow) StartProductReset(ctx context.Context, in ProductReset) (string, error) {
	return f.startReturning(ctx, storage.AuthRequest{ClientID: in.ClientID, RedirectURI: in.ReturnTo,
		ResponseMode: responseModeReturn, LoginHint: loginHint(in.LoginHint), UILocales: uiLocales(in.UILocales)})
}

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
// there), or on its own (login_hint: afterwards the account page). It
// starts the sign-in the reset belongs to and opens its form.
func (h *Handlers) startReset(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	locales := strings.Fields(q.Get("ui_locales"))
	var id string
	var err error
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
			ReturnTo: q.Get("return_to"), UILocales: locales})
	} else {
		id, err = h.c.Flow.startReturning(r.Context(), storage.AuthRequest{ClientID: AccountClient, RedirectURI: "/account",
			LoginHint: loginHint(q.Get("login_hint")), UILocales: uiLocales(locales)})
	}
	if err != nil {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	http.Redirect(w, r, "/reset?id="+url.QueryEscape(id), http.StatusSeeOther)
}
