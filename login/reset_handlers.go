package login

import (
	"errors"
	"net/http"

	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// ForgotView is the data of the "forgot your password" form, which asks
// for the account as the sign-in form does.
type ForgotView struct {
	AuthRequestID string
	Account       AccountForm
	ErrorKey      string
	UILocales     []string
}

// ResetView is the data of the code and new-password form.
type ResetView struct {
	AuthRequestID string
	// Mode is the sign-in mode (Identify*): in the account-name mode the
	// code goes to the account's registered address, if it has one.
	Mode   string
	Ticket string
	// Code is the code typed, kept after a language switch and when
	// the password was refused.
	Code         string
	ErrorKey     string
	ValidMinutes int
	Violations   []password.Violation
	Rules        []password.Rule
	UILocales    []string
	// Account is the account the code was asked for as typed (the sign-in
	// form's account name or address), for password managers; the form
	// carries it (field "account").
	Account string
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
	h.c.Pages.Forgot(w, r, http.StatusOK, ForgotView{AuthRequestID: a.ID, Account: h.accountForm(a, h.c.Flow.hinted(a)),
		UILocales: a.UILocales})
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
	if switchingLanguage(r) {
		if r.PostFormValue("step") == "legacy" {
			h.c.Pages.Login(w, r, http.StatusOK, h.legacyResetView(r, a, postedName(r)))
			return
		}
		h.c.Pages.Forgot(w, r, http.StatusOK, ForgotView{AuthRequestID: a.ID, Account: h.accountForm(a, postedName(r)),
			UILocales: a.UILocales})
		return
	}
	lang := h.c.Pages.Lang(w, r, a.UILocales)
	started, err := h.c.Flow.StartReset(r.Context(), a, postedName(r), h.c.ClientIP(r), lang, h.stepToken(r))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	h.setStepCookie(w, started.StepToken)
	h.c.Pages.Reset(w, r, http.StatusOK, h.resetView(a, started.Ticket, managerName(h.c.Flow.Mode(), postedName(r))))
}

// resetView is the code and new-password form of a's reset.
func (h *Handlers) resetView(a storage.AuthRequest, ticket, account string) ResetView {
	return ResetView{AuthRequestID: a.ID, Mode: h.c.Flow.Mode(), Ticket: ticket, ValidMinutes: h.c.Flow.c.Reset.validMinutes(),
		Rules: h.c.Flow.c.Policy.Rules(), UILocales: a.UILocales, Account: account}
}

// ResetSubmit serves POST /reset/verify: the code and the new password.
func (h *Handlers) ResetSubmit(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.requestError(w, r, a, err)
		return
	}
	if switchingLanguage(r) {
		view := h.resetView(a, r.PostFormValue("ticket"), r.PostFormValue("account"))
		view.Code = typedCode(r)
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	}
	in := ResetInput{Step: h.step(w, r, a), Code: r.PostFormValue("code"),
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")}
	res, ended, err := h.c.Flow.Reset(r.Context(), a, in)
	h.c.Outcome(StepReset, StepOutcome(err))
	view := h.resetView(a, in.Ticket, r.PostFormValue("account"))
	var policy *PolicyError
	switch {
	case err == nil:
	case errors.Is(err, ErrCodeExhausted):
		h.c.Pages.Forgot(w, r, http.StatusOK, ForgotView{AuthRequestID: a.ID, Account: h.accountForm(a, AccountName{}),
			ErrorKey: "reset.error.exhausted", UILocales: a.UILocales})
		return
	case errors.Is(err, ErrWrongCode):
		view.ErrorKey = "reset.error.code"
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	case errors.Is(err, ErrPasswordMismatch):
		// The code was right: it stays in its field.
		view.ErrorKey, view.Code = "reset.error.mismatch", in.Code
		h.c.Pages.Reset(w, r, http.StatusOK, view)
		return
	case errors.As(err, &policy):
		view.Violations, view.Code = policy.Violations, in.Code
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
