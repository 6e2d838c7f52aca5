package login

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// unlockCookie keeps an opened unlock link's token for the sign-in forms
// (Path=/login), so the token leaves the address bar (and the Referer)
// at once, as invitation links do.
const unlockCookie = "sekisho_unlock"

// UnlockPage serves GET /unlock?token=…, the link of the
// identity-confirmation mail: a usable link moves into a cookie and the
// browser goes to the sign-in page (the legacy product's form for an
// account that has not migrated, during the window), which says that
// signing in unlocks the account; an expired, used or replaced one gets
// a page saying to sign in again for a new mail, and nothing changes.
func (h *Handlers) UnlockPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	opened, err := h.c.Flow.OpenUnlockLink(r.Context(), token, h.c.Pages.Lang(w, r, nil))
	switch {
	case errors.Is(err, ErrUnlockExpired):
		h.c.Pages.Message(w, r, http.StatusGone, MessageView{TitleKey: "unlock.expired_title", Message: Msg{Key: "unlock.expired"},
			LinkURL: "/account", LinkLabel: "unlock.sign_in"})
		return
	case err != nil:
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	maxAge := int(time.Until(opened.ExpiresAt) / time.Second)
	http.SetCookie(w, &http.Cookie{Name: h.hostPathCookie(unlockCookie), Value: token, Path: "/login", MaxAge: max(maxAge, 1),
		HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode})
	form := "/login"
	if opened.Legacy {
		form = "/login/legacy"
	}
	http.Redirect(w, r, form+"?id="+url.QueryEscape(opened.AuthRequestID), http.StatusSeeOther)
}

// unlockToken is the opened unlock link's token the browser holds, or "".
func (h *Handlers) unlockToken(r *http.Request) string {
	return h.cookie(r, h.hostPathCookie(unlockCookie))
}

// unlockNotice is the notice of the sign-in form when the browser holds
// a usable unlock link, and the address the link was mailed to.
func (h *Handlers) unlockNotice(r *http.Request) (notice, email string) {
	if tok := h.unlockToken(r); tok != "" {
		if email, ok := h.c.Flow.UnlockLinkAccount(r.Context(), tok); ok {
			return "unlock.notice", email
		}
	}
	return "", ""
}

// clearUnlock drops the unlock cookie once a sign-in completed (the link
// is spent).
func (h *Handlers) clearUnlock(w http.ResponseWriter, r *http.Request) {
	if h.unlockToken(r) != "" {
		http.SetCookie(w, &http.Cookie{Name: h.hostPathCookie(unlockCookie), Value: "", Path: "/login", MaxAge: -1,
			HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode})
	}
}

// lockedPage answers a right password of a locked account: why it is
// locked and what happens next (a mail was sent, the mail cap is
// reached, or whom to contact).
func (h *Handlers) lockedPage(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, le *LockedError) {
	v := MessageView{TitleKey: "locked.title", Message: Msg{Key: "locked.body"}, UILocales: a.UILocales}
	switch {
	case le.NoAddress && len(le.Administrators) > 0:
		v.Detail, v.Names = Msg{Key: "locked.contact_admins"}, le.Administrators
	case le.NoAddress:
		v.Detail = Msg{Key: "locked.contact_admins_unnamed"}
	case le.Limited:
		v.Detail = Msg{Key: "locked.mail_limit", Args: []any{le.MaskedEmail}}
	default:
		v.Detail = Msg{Key: "locked.mailed", Args: []any{le.MaskedEmail, le.ValidHours}}
	}
	h.c.Pages.Message(w, r, http.StatusForbidden, v)
}
