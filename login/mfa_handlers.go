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
	// PasskeysOn: passkeys can be used with this issuer; Passkeys are
	// the user's, oldest first.
	PasskeysOn bool
	Passkeys   []storage.Passkey
	// ConfirmPasskey, when set, asks to confirm removing that passkey
	// (the last strong factor).
	ConfirmPasskey string
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
	mv := &MFAView{Factors: fs}
	return mv, h.passkeysView(r, acct, mv)
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
		mv.ConfirmRemoval = mv.ConfirmPasskey == ""
	case passkeyError(err).Key != "":
		v.Error = passkeyError(err)
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

// MFAStepView is the data of the second-factor step, of the enrolment a
// sign-in requires, and of the recovery codes shown after it.
type MFAStepView struct {
	AuthRequestID string
	MFAChallenge
	// Method is the form shown: MethodTOTP, MethodRecovery, MethodEnrol
	// (the passkey helper adds MethodPasskey).
	Method string
	Error  Msg
	// ContinueURL, with RecoveryCodes, goes on to the application.
	ContinueURL string
	UILocales   []string
}

// mfaMethod is the form a step shows first: the app's code, else a
// recovery code; an enrolment its own.
func mfaMethod(ch MFAChallenge, asked string) string {
	switch {
	case ch.Enrol != nil:
		return MethodEnrol
	case asked == MethodRecovery && ch.Recovery, asked == MethodTOTP && ch.TOTP, asked == MethodPasskey && ch.Passkey:
		return asked
	case ch.TOTP:
		return MethodTOTP
	case ch.Passkey:
		return MethodPasskey
	}
	return MethodRecovery
}

// showMFA shows the waiting step of ticket again.
func (h *Handlers) showMFA(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, ticket, method string, status int, e Msg) {
	ch, err := h.c.Flow.MFAChallengeOf(r.Context(), a, ticket, h.stepToken(r))
	if err != nil {
		h.stepError(w, r, a, err)
		return
	}
	h.c.Pages.MFAStep(w, r, status, MFAStepView{AuthRequestID: a.ID, MFAChallenge: ch, Method: mfaMethod(ch, method), Error: e,
		UILocales: a.UILocales})
}

// MFASubmit serves POST /login/mfa: a code of the authenticator app, a
// recovery code, or the first code of an app set up at sign-in; "show"
// switches the form (another method) and "lang" the language, without
// checking anything.
func (h *Handlers) MFASubmit(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	ticket, method := r.PostFormValue("ticket"), r.PostFormValue("method")
	if show := r.PostFormValue("show"); show != "" || switchingLanguage(r) {
		if show != "" {
			method = show
		}
		h.showMFA(w, r, a, ticket, method, http.StatusOK, Msg{})
		return
	}
	code := r.PostFormValue("code")
	if method == MethodPasskey {
		code = r.PostFormValue("credential")
	}
	res, err := h.c.Flow.VerifyMFA(r.Context(), a, MFAInput{Step: h.step(w, r, a), Method: method, Code: code,
		Ceremony: r.PostFormValue("ceremony"), Name: r.PostFormValue("name")})
	h.c.Outcome(StepFactor, StepOutcome(err))
	switch {
	case err == nil:
		h.finish(w, r, res)
	case errors.Is(err, ErrWrongTOTP):
		h.showMFA(w, r, a, ticket, method, http.StatusOK, Msg{Key: "mfa_step.error.code"})
	case errors.Is(err, ErrWrongCode):
		h.showMFA(w, r, a, ticket, method, http.StatusOK, Msg{Key: "mfa_step.error.recovery"})
	case passkeyError(err).Key != "":
		h.showMFA(w, r, a, ticket, method, http.StatusOK, passkeyError(err))
	case errors.Is(err, ErrTooManyAttempts):
		h.showMFA(w, r, a, ticket, method, http.StatusTooManyRequests, Msg{Key: "otp.error.too_many_attempts"})
	default:
		h.stepError(w, r, a, err)
	}
}
