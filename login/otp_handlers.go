package login

import (
	"errors"
	"net/http"

	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// OTPView is the data of the emailed sign-in step.
type OTPView struct {
	AuthRequestID string
	Challenge
	// Code is the code typed before a language switch.
	Code      string
	Error     Msg
	Resent    bool
	UILocales []string
}

// ChangeView is the data of the forced password change.
type ChangeView struct {
	AuthRequestID string
	Ticket        string
	ErrorKey      string
	Violations    []password.Violation
	Rules         []password.Rule
	UILocales     []string
	// Account names the account for password managers; the form carries
	// it (field "account") from the page that started the step.
	Account string
}

// Msg is a catalog key with its arguments.
type Msg struct {
	Key  string
	Args []any
}

func (h *Handlers) changeView(a storage.AuthRequest, ticket, account string) ChangeView {
	return ChangeView{AuthRequestID: a.ID, Ticket: ticket, Rules: h.c.Flow.c.Policy.Rules(), UILocales: a.UILocales, Account: account}
}

// step reads what a step's form brings from the browser.
func (h *Handlers) step(w http.ResponseWriter, r *http.Request, a storage.AuthRequest) Step {
	return Step{Ticket: r.PostFormValue("ticket"), IP: h.c.ClientIP(r), UserAgent: r.UserAgent(),
		SessionToken: h.sessionToken(w, r), DeviceToken: h.cookie(r, DeviceCookie), StepToken: h.stepToken(r),
		Lang: h.c.Pages.Lang(w, r, a.UILocales)}
}

// getStep is step for a page opened with GET (no form): the browser's
// cookies and address.
func (h *Handlers) getStep(w http.ResponseWriter, r *http.Request, a storage.AuthRequest) Step {
	return Step{IP: h.c.ClientIP(r), UserAgent: r.UserAgent(), SessionToken: h.sessionToken(w, r),
		DeviceToken: h.cookie(r, DeviceCookie), StepToken: h.stepToken(r), Lang: h.c.Pages.Lang(w, r, a.UILocales)}
}

// OTPSubmit serves POST /login/otp: the emailed code.
func (h *Handlers) OTPSubmit(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	if switchingLanguage(r) {
		h.showOTP(w, r, a, r.PostFormValue("ticket"), http.StatusOK, Msg{}, typedCode(r))
		return
	}
	st := h.step(w, r, a)
	ticket := st.Ticket
	res, err := h.c.Flow.VerifyOTP(r.Context(), a, OTPInput{Step: st, Code: r.PostFormValue("code")})
	h.c.Outcome(StepCode, StepOutcome(err))
	switch {
	case err == nil:
		h.finish(w, r, res)
	case errors.Is(err, ErrWrongCode):
		h.showOTP(w, r, a, ticket, http.StatusOK, Msg{Key: "otp.error.code"}, "")
	case errors.Is(err, ErrCodeExpired):
		h.showOTP(w, r, a, ticket, http.StatusOK, Msg{Key: "otp.error.expired"}, "")
	case errors.Is(err, ErrTooManyAttempts):
		h.showOTP(w, r, a, ticket, http.StatusTooManyRequests, Msg{Key: "otp.error.too_many_attempts"}, "")
	default:
		h.stepError(w, r, a, err)
	}
}

// OTPResend serves POST /login/otp/resend: a new code by mail.
func (h *Handlers) OTPResend(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	ch, err := h.c.Flow.Resend(r.Context(), a, r.PostFormValue("ticket"), h.stepToken(r), h.c.Pages.Lang(w, r, a.UILocales))
	var cool *CooldownError
	view := OTPView{AuthRequestID: a.ID, Challenge: ch, UILocales: a.UILocales}
	switch {
	case err == nil:
		view.Resent = true
		h.c.Pages.OTP(w, r, http.StatusOK, view)
	case errors.As(err, &cool):
		view.Error = Msg{Key: "otp.error.cooldown", Args: []any{cool.Seconds()}}
		h.c.Pages.OTP(w, r, http.StatusTooManyRequests, view)
	case errors.Is(err, ErrTooManyCodes):
		view.Error = Msg{Key: "otp.error.send_limit"}
		h.c.Pages.OTP(w, r, http.StatusTooManyRequests, view)
	default:
		h.stepError(w, r, a, err)
	}
}

// ChangeSubmit serves POST /login/password: the forced password change.
func (h *Handlers) ChangeSubmit(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	if switchingLanguage(r) {
		h.c.Pages.ChangePassword(w, r, http.StatusOK, h.changeView(a, r.PostFormValue("ticket"), r.PostFormValue("account")))
		return
	}
	st := h.step(w, r, a)
	res, ended, err := h.c.Flow.ForcedChange(r.Context(), a, ChangeInput{Step: st,
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")})
	h.c.Outcome(StepChange, StepOutcome(err))
	view := h.changeView(a, st.Ticket, r.PostFormValue("account"))
	var policy *PolicyError
	switch {
	case err == nil:
		h.c.Notifier.Deliver(r.Context(), ended)
		h.finish(w, r, res)
	case errors.Is(err, ErrPasswordMismatch):
		view.ErrorKey = "reset.error.mismatch"
		h.c.Pages.ChangePassword(w, r, http.StatusOK, view)
	case errors.As(err, &policy):
		view.Violations = policy.Violations
		h.c.Pages.ChangePassword(w, r, http.StatusOK, view)
	default:
		h.stepError(w, r, a, err)
	}
}

// showOTP shows the emailed step of ticket again, with message m and the
// code typed before a language switch.
func (h *Handlers) showOTP(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, ticket string, status int, m Msg, code string) {
	ch, err := h.c.Flow.ChallengeOf(r.Context(), a, ticket, h.stepToken(r))
	if err != nil {
		h.stepError(w, r, a, err)
		return
	}
	h.c.Pages.OTP(w, r, status, OTPView{AuthRequestID: a.ID, Challenge: ch, Code: code, Error: m, UILocales: a.UILocales})
}

// stepError answers a step that cannot go on: back to the sign-in form
// with the reason, or an error page.
func (h *Handlers) stepError(w http.ResponseWriter, r *http.Request, a storage.AuthRequest, err error) {
	switch {
	case errors.Is(err, ErrCodeExhausted):
		h.showForm(w, r, http.StatusOK, a, AccountName{}, "otp.error.exhausted")
	case errors.Is(err, ErrStepExpired):
		h.showForm(w, r, http.StatusOK, a, AccountName{}, "change.error.expired")
	default:
		h.requestError(w, r, a, err)
	}
}
