package login

import (
	"errors"
	"net/http"

	"github.com/sekisho/sekisho/password"
)

// ForgotView is the data of the "forgot your password" email form.
type ForgotView struct {
	AuthRequestID string
	Email         string
	ErrorKey      string
	UILocales     []string
}

// ResetView is the data of the code and new-password form.
type ResetView struct {
	AuthRequestID string
	Ticket        string
	ErrorKey      string
	ValidMinutes  int
	Violations    []password.Violation
	Rules         []password.Rule
	UILocales     []string
}

// ForgotPage serves GET /reset?id=…: the email form. Without an id it
// starts a reset of its own (startReset).
func (h *Handlers) ForgotPage(w http.ResponseWriter, r *http.Request) {
	if !r.URL.Query().Has("id") {
		h.startReset(w, r)
		return
	}
	a, err := h.c.Flow.Request(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	h.c.Pages.Forgot(w, r, http.StatusOK, ForgotView{AuthRequestID: a.ID, Email: a.LoginHint, UILocales: a.UILocales})
}

// ForgotSubmit serves POST /reset: sends a code if the account exists,
// and answers alike either way.
func (h *Handlers) ForgotSubmit(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	a, err := h.c.Flow.Request(r.Context(), id)
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	lang := h.c.Pages.Lang(w, r, a.UILocales)
	started, err := h.c.Flow.StartReset(r.Context(), a, r.PostFormValue("email"), h.c.ClientIP(r), lang, h.stepToken(r))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	h.setStepCookie(w, started.StepToken)
	h.c.Pages.Reset(w, r, http.StatusOK, ResetView{AuthRequestID: id, Ticket: started.Ticket,
		ValidMinutes: h.c.Flow.c.Reset.validMinutes(), Rules: h.c.Flow.c.Policy.Rules(), UILocales: a.UILocales})
}

// ResetSubmit serves POST /reset/verify: the code and the new password.
func (h *Handlers) ResetSubmit(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	in := ResetInput{Step: h.step(w, r, a), Code: r.PostFormValue("code"),
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")}
	res, ended, err := h.c.Flow.Reset(r.Context(), a, in)
	view := ResetView{AuthRequestID: a.ID, Ticket: in.Ticket, ValidMinutes: h.c.Flow.c.Reset.validMinutes(),
		Rules: h.c.Flow.c.Policy.Rules(), UILocales: a.UILocales}
	var policy *PolicyError
	switch {
	case err == nil:
	case errors.Is(err, ErrCodeExhausted):
		h.c.Pages.Forgot(w, r, http.StatusOK, ForgotView{AuthRequestID: a.ID, ErrorKey: "reset.error.exhausted", UILocales: a.UILocales})
		return
	case errors.Is(err, ErrWrongCode):
		view.ErrorKey = "reset.error.code"
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	case errors.Is(err, ErrPasswordMismatch):
		view.ErrorKey = "reset.error.mismatch"
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	case errors.As(err, &policy):
		view.Violations = policy.Violations
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	default:
		h.requestError(w, r, a, err)
		return
	}
	// Every session of the user ended: tell their clients now.
	h.c.Notifier.Deliver(r.Context(), ended)
	h.finish(w, r, res)
}
