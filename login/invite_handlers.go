package login

import (
	"errors"
	"net/http"
	"time"

	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// InviteView is the data of the invitation page: the member chooses a
// password.
type InviteView struct {
	OrganizationName string
	Email, Username  string // what the member signs in with
	ErrorKey         string
	Violations       []password.Violation
	Rules            []password.Rule
}

// inviteCookie keeps an invitation link's token while its page is open,
// so the token leaves the address bar (and the Referer) at once.
const inviteCookie = "sekisho_invite"

// InvitePage serves GET /invite: with ?token= (the mailed link), the
// token moves into a short-lived cookie and the browser comes back
// without it; then the page asks for the password.
func (h *Handlers) InvitePage(w http.ResponseWriter, r *http.Request) {
	if token := r.URL.Query().Get("token"); r.URL.Query().Has("token") {
		inv, err := h.c.Flow.Invitation(r.Context(), token)
		if err != nil {
			h.inviteError(w, r, err)
			return
		}
		maxAge := int(time.Until(inv.Code.ExpiresAt) / time.Second)
		http.SetCookie(w, &http.Cookie{Name: h.hostPathCookie(inviteCookie), Value: token, Path: "/invite", MaxAge: max(maxAge, 1),
			HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/invite", http.StatusSeeOther)
		return
	}
	inv, err := h.c.Flow.Invitation(r.Context(), h.cookie(r, h.hostPathCookie(inviteCookie)))
	if err != nil {
		h.inviteError(w, r, err)
		return
	}
	h.c.Pages.Invite(w, r, http.StatusOK, h.inviteView(inv))
}

// hostPathCookie is the name of a cookie with a path of its own: under
// https it has the __Secure- prefix (the __Host- prefix needs Path=/).
func (h *Handlers) hostPathCookie(name string) string {
	if h.c.Secure {
		return "__Secure-" + name
	}
	return name
}

func (h *Handlers) inviteView(inv Invitation) InviteView {
	return InviteView{OrganizationName: inv.Organization.Name, Email: inv.User.Email, Username: inv.User.Username,
		Rules: h.c.Flow.NewAccountRules()}
}

// InviteSubmit serves POST /invite: the password; on success the member
// is signed in and lands on /account.
func (h *Handlers) InviteSubmit(w http.ResponseWriter, r *http.Request) {
	name := h.hostPathCookie(inviteCookie)
	token := h.cookie(r, name)
	res, err := h.c.Flow.AcceptInvitation(r.Context(), InvitationInput{Token: token,
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm"),
		IP: h.c.ClientIP(r), UserAgent: r.UserAgent(), SessionToken: h.sessionToken(w, r), DeviceToken: h.cookie(r, DeviceCookie),
		Lang: h.c.Pages.Lang(w, r, nil)})
	h.c.Outcome(StepInvite, StepOutcome(err))
	var policy *PolicyError
	switch {
	case err == nil:
	case errors.Is(err, ErrPasswordMismatch), errors.As(err, &policy):
		inv, ierr := h.c.Flow.Invitation(r.Context(), token)
		if ierr != nil {
			h.inviteError(w, r, ierr)
			return
		}
		v := h.inviteView(inv)
		if policy != nil {
			v.Violations = policy.Violations
		} else {
			v.ErrorKey = "reset.error.mismatch"
		}
		h.c.Pages.Invite(w, r, http.StatusOK, v)
		return
	default:
		h.inviteError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: name, Path: "/invite", MaxAge: -1, HttpOnly: true, Secure: h.c.Secure, SameSite: http.SameSiteLaxMode})
	h.finish(w, r, res)
}

// inviteError answers an invitation that cannot be used with a page that
// sends the member to their administrator.
func (h *Handlers) inviteError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, ErrInvitationExpired) {
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	}
	h.c.Pages.Message(w, r, http.StatusGone, MessageView{TitleKey: "invite.expired_title", Message: Msg{Key: "invite.expired"}})
}
