package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/sekisho/sekisho/storage"
)

// ACRLegacy marks a sign-in with the legacy product's password, so the
// application knows it was one.
const ACRLegacy = "urn:sekisho:acr:legacy"

// ErrLegacyClosed: the migration window has ended (or the bridge is off);
// the legacy form is closed and the reset is the way in.
var ErrLegacyClosed = errors.New("login: the legacy sign-in is closed")

// WantsLegacy reports whether the request asks for the legacy form
// (acr_values=urn:sekisho:acr:legacy).
func WantsLegacy(a storage.AuthRequest) bool { return slices.Contains(a.ACRValues, ACRLegacy) }

// LegacyLogin signs an imported user who has not migrated in with the
// legacy product's password, during the migration window. Everything else
// (a migrated user's old password included) is ErrInvalidCredentials,
// throttled and timed like the unified form. The emailed step, a forced
// change and the dormant lock (a *LockedError after the right password;
// the unlock link's sign-in unlocks) apply as there.
func (f *Flow) LegacyLogin(ctx context.Context, in Credentials) (SignedIn, error) {
	t, err := f.attempt(ctx, in)
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	if !f.LegacyWindow() {
		return SignedIn{Request: t.a}, ErrLegacyClosed
	}
	if err := t.take(); err != nil {
		return SignedIn{Request: t.a}, err
	}
	if !t.taken {
		f.c.Passwords.VerifyDummy(ctx, in.Password)
		return t.fail("", "legacy_throttled")
	}
	u, refused, err := t.account()
	switch {
	case err != nil:
		return SignedIn{}, err
	case refused == "unknown_organization" || refused == "unknown_account":
		return t.fail("", "legacy_"+refused)
	case refused != "":
		return t.refuse(u, refused, nil)
	case !u.Imported():
		// Migrated (or native): the product's password no longer works.
		return t.fail(u.ID, "legacy_not_imported")
	}
	ok, err := t.legacyPassword(u)
	if err != nil {
		return SignedIn{}, err
	}
	if reason, err := t.proved(u, ok); reason != "" || err != nil {
		return t.refuse(u, "legacy_"+reason, err)
	}
	return t.succeed(u, ACRLegacy)
}

// LegacyPage serves GET /login/legacy?id=…: the legacy product's sign-in
// form during the window, or the page saying it has closed.
func (h *Handlers) LegacyPage(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	if !h.c.Flow.LegacyWindow() {
		h.legacyClosed(w, r, a)
		return
	}
	h.c.Pages.Login(w, r, http.StatusOK, h.legacyView(r, a, h.c.Flow.hinted(a), ""))
}

// LegacySubmit serves POST /login/legacy.
func (h *Handlers) LegacySubmit(w http.ResponseWriter, r *http.Request) {
	if switchingLanguage(r) {
		a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
		if err != nil {
			h.requestError(w, r, a, err)
			return
		}
		h.c.Pages.Login(w, r, http.StatusOK, h.legacyView(r, a, postedName(r), ""))
		return
	}
	in := h.credentials(w, r)
	res, err := h.c.Flow.LegacyLogin(r.Context(), in)
	var locked *LockedError
	h.c.Outcome(StepLegacy, StepOutcome(err))
	switch {
	case err == nil:
		h.finish(w, r, res)
	case errors.Is(err, ErrInvalidCredentials):
		h.c.Pages.Login(w, r, http.StatusOK, h.legacyView(r, res.Request, in.name(), h.invalidKey()))
	case errors.Is(err, ErrNoAddress):
		h.c.Pages.Login(w, r, http.StatusForbidden, h.legacyView(r, res.Request, in.name(), "login.error.no_address"))
	case errors.Is(err, ErrLegacyClosed):
		h.legacyClosed(w, r, res.Request)
	case errors.Is(err, ErrTooManyCodes):
		h.c.Pages.Login(w, r, http.StatusTooManyRequests, h.legacyView(r, res.Request, in.name(), "otp.error.send_limit"))
	case errors.As(err, &locked):
		h.lockedPage(w, r, res.Request, locked)
	default:
		h.requestError(w, r, res.Request, err)
	}
}

// legacyView is the legacy product's form's view (with the notice of an
// opened unlock link, as on the unified form).
func (h *Handlers) legacyView(r *http.Request, a storage.AuthRequest, n AccountName, errKey string) LoginView {
	v := h.formView(r, a, n, errKey)
	v.LegacyForm, v.LegacyName = true, h.c.Flow.LegacyName()
	return v
}

// legacyClosed explains that the migration period has ended and offers
// the reset.
func (h *Handlers) legacyClosed(w http.ResponseWriter, r *http.Request, a storage.AuthRequest) {
	h.c.Pages.Message(w, r, http.StatusGone, MessageView{TitleKey: "legacy.closed_title",
		Message: Msg{Key: "legacy.closed", Args: []any{h.c.Flow.LegacyName()}},
		LinkURL: "/reset?id=" + url.QueryEscape(a.ID), LinkLabel: "legacy.notice_link", UILocales: a.UILocales})
}

// legacyInvite follows a legacy sign-in: set a unified password now (the
// reset, which migrates), or later (the sign-in continues). The reset
// form posts the account's name as the mode asks for it.
func (h *Handlers) legacyInvite(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, n AccountName) {
	h.c.Pages.Message(w, r, http.StatusOK, MessageView{TitleKey: "legacy.invite_title",
		Message: Msg{Key: "legacy.invite"}, LinkURL: "/login?id=" + url.QueryEscape(a.ID), LinkLabel: "legacy.later",
		FormAction: "/reset", FormLabel: "legacy.set_now", UILocales: a.UILocales,
		FormHidden: append([][2]string{{"id", a.ID}}, h.accountForm(a, n).Hidden()...)})
}
