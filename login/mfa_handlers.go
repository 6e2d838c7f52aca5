package login

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sekisho/sekisho/storage"
)

// MFAView is the account page's "Authenticator app" and recovery-code
// section; nil when strong factors are off for the user.
type MFAView struct {
	Factors Factors
	// Enrol, when set, is an authenticator app waiting for its first code.
	Enrol *TOTPEnrolment
	// NewCodes are recovery codes to show once.
	NewCodes []string
	// ConfirmRemoval asks to confirm removing the last strong factor.
	ConfirmRemoval bool
}

// mfaView loads the section of acct (nil when the policy is off).
func (h *Handlers) mfaView(r *http.Request, acct Account) (*MFAView, error) {
	if h.c.Flow.MFAPolicy(r.Context(), acct.User) == MFAOff {
		return nil, nil
	}
	fs, err := h.c.Flow.Factors(r.Context(), acct.User.ID)
	if err != nil {
		return nil, err
	}
	return &MFAView{Factors: fs}, nil
}

// factorPage shows the account page after a change of factors, at its
// section; a session older than mfa.max_age signs in again first.
func (h *Handlers) factorPage(w http.ResponseWriter, r *http.Request, acct Account, mv MFAView, err error, notice string) {
	v := AccountView{Section: "mfa"}
	switch {
	case errors.Is(err, ErrNotRecent):
		id, err := h.c.Flow.StartFactorSignIn(r.Context(), "/account", nil)
		if err != nil {
			h.requestError(w, r, storage.AuthRequest{}, err)
			return
		}
		http.Redirect(w, r, "/login?id="+url.QueryEscape(id), http.StatusSeeOther)
		return
	case errors.Is(err, ErrWrongTOTP):
		v.Error = Msg{Key: "mfa.error.wrong_code"}
		if e, perr := h.c.Flow.PendingTOTP(r.Context(), acct.User); perr == nil {
			mv.Enrol = &e
		}
	case errors.Is(err, ErrConfirmRemoval):
		mv.ConfirmRemoval = true
	case errors.Is(err, ErrFactorExists), errors.Is(err, ErrNoEnrolment), errors.Is(err, ErrNoFactor), errors.Is(err, ErrMFAOff):
		v.Error = Msg{Key: "mfa.error.state"}
	case err != nil:
		h.requestError(w, r, storage.AuthRequest{}, err)
		return
	case notice != "":
		v.Notice = Msg{Key: notice}
	}
	v.MFA = &mv
	h.showAccount(w, r, http.StatusOK, acct, v)
}

func (h *Handlers) factorInput(w http.ResponseWriter, r *http.Request) FactorInput {
	return FactorInput{IP: h.c.ClientIP(r), Lang: h.c.Pages.Lang(w, r, nil), Confirmed: r.PostFormValue("confirm") == "yes"}
}

// AccountTOTPStart serves POST /account/mfa/totp: a new authenticator app,
// shown as a QR code, waiting for its first code.
func (h *Handlers) AccountTOTPStart(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	e, err := h.c.Flow.StartTOTP(r.Context(), acct)
	h.factorPage(w, r, acct, MFAView{Enrol: &e}, err, "")
}

// AccountTOTPConfirm serves POST /account/mfa/totp/confirm: the first
// code; the first strong factor shows its recovery codes, once.
func (h *Handlers) AccountTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	codes, err := h.c.Flow.ConfirmTOTP(r.Context(), acct, r.PostFormValue("code"), h.factorInput(w, r))
	h.factorPage(w, r, acct, MFAView{NewCodes: codes}, err, "mfa.totp_added")
}

// AccountTOTPRemove serves POST /account/mfa/totp/remove (confirm=yes
// for the last strong factor).
func (h *Handlers) AccountTOTPRemove(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	err := h.c.Flow.RemoveTOTP(r.Context(), acct, h.factorInput(w, r))
	h.factorPage(w, r, acct, MFAView{}, err, "mfa.totp_removed")
}

// AccountRecoveryCodes serves POST /account/mfa/recovery: ten new
// recovery codes, shown once; the old ones stop working.
func (h *Handlers) AccountRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	codes, err := h.c.Flow.RegenerateRecoveryCodes(r.Context(), acct, h.factorInput(w, r))
	h.factorPage(w, r, acct, MFAView{NewCodes: codes}, err, "mfa.recovery_renewed")
}
