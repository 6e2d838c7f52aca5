package login

import (
	"encoding/json"
	"errors"
	"net/http"
)

// A passkey ceremony in the browser (static/passkey.js): the page's form
// asks its begin URL (a same-origin fetch POST, under the server-wide
// cross-origin protection) for the options and a ceremony token, calls
// navigator.credentials, puts the token and the answer (JSON) in the
// form's hidden fields "ceremony" and "credential", and submits the form
// as any other: the answer is checked by that form's handler, which
// shows its page.

// ceremonyBegun is the JSON answer of a begin URL.
type ceremonyBegun struct {
	Ceremony string          `json:"ceremony,omitempty"`
	Options  json.RawMessage `json:"options,omitempty"`
	// Error is a fixed code ("expired", "not_recent", "off", "failed"):
	// the script then submits the form, whose handler explains.
	Error string `json:"error,omitempty"`
}

// passkeyBegun answers a begin URL: the options with the step cookie the
// ceremony is bound to, or an error code.
func (h *Handlers) passkeyBegun(w http.ResponseWriter, r *http.Request, c PasskeyCeremony, err error) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	status, body := http.StatusOK, ceremonyBegun{Ceremony: c.Token, Options: c.Options}
	switch {
	case err == nil:
		h.setStepCookie(w, c.StepToken)
	case errors.Is(err, ErrNotRecent), errors.Is(err, ErrMFAOff):
		status, body = http.StatusForbidden, ceremonyBegun{Error: "not_recent"}
	case errors.Is(err, ErrExpired), errors.Is(err, ErrUnknownRequest), errors.Is(err, ErrStepExpired), errors.Is(err, ErrNoFactor):
		status, body = http.StatusGone, ceremonyBegun{Error: "expired"}
	case errors.Is(err, ErrPasskeysOff):
		status, body = http.StatusNotFound, ceremonyBegun{Error: "off"}
	case errors.Is(err, ErrTooManyAttempts):
		status, body = http.StatusTooManyRequests, ceremonyBegun{Error: "expired"}
	default:
		h.c.Logger.ErrorContext(r.Context(), "begin passkey ceremony", "err", err)
		status, body = http.StatusInternalServerError, ceremonyBegun{Error: "failed"}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// passkeyAnswer reads a form's answer to a ceremony.
func (h *Handlers) passkeyAnswer(r *http.Request) PasskeyAnswer {
	return PasskeyAnswer{Ceremony: r.PostFormValue("ceremony"), Response: r.PostFormValue("credential"), StepToken: h.stepToken(r)}
}

// passkeyError is the message of a refused passkey answer; empty for an
// error a form cannot explain.
func passkeyError(err error) Msg {
	for _, e := range []struct {
		err error
		key string
	}{
		{ErrPasskeyFailed, "passkey.error.failed"}, {ErrCeremonyExpired, "passkey.error.expired"},
		{ErrPasskeyCloned, "passkey.error.cloned"}, {ErrPasskeyName, "passkey.error.name"},
		{ErrPasskeyExists, "passkey.error.exists"}, {ErrPasskeysOff, "mfa.error.state"},
	} {
		if errors.Is(err, e.err) {
			return Msg{Key: e.key}
		}
	}
	return Msg{}
}

// AccountPasskeyBegin serves POST /account/passkeys/begin (fetch): the
// options of a new passkey.
func (h *Handlers) AccountPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	c, err := h.c.Flow.BeginPasskeyRegistration(r.Context(), acct, h.stepToken(r))
	h.passkeyBegun(w, r, c, err)
}

// AccountPasskeyAdd serves POST /account/passkeys: the authenticator's
// answer and the passkey's name; the first strong factor shows its
// recovery codes, once.
func (h *Handlers) AccountPasskeyAdd(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	codes, err := h.c.Flow.FinishPasskeyRegistration(r.Context(), acct, r.PostFormValue("name"), h.passkeyAnswer(r), h.factorInput(w, r))
	h.factorPage(w, r, acct, MFAView{NewCodes: codes}, err, "passkey.added")
}

// AccountPasskeyRename serves POST /account/passkeys/rename (id, name).
func (h *Handlers) AccountPasskeyRename(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	err := h.c.Flow.RenamePasskey(r.Context(), acct, r.PostFormValue("id"), r.PostFormValue("name"))
	h.factorPage(w, r, acct, MFAView{}, err, "passkey.renamed")
}

// AccountPasskeyRemove serves POST /account/passkeys/remove (id; confirm=yes
// for the last strong factor).
func (h *Handlers) AccountPasskeyRemove(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, "/account")
	if !ok {
		return
	}
	id := r.PostFormValue("id")
	err := h.c.Flow.RemovePasskey(r.Context(), acct, id, h.factorInput(w, r))
	mv := MFAView{}
	if errors.Is(err, ErrConfirmRemoval) {
		mv.ConfirmPasskey = id
	}
	h.factorPage(w, r, acct, mv, err, "passkey.removed")
}

// PasskeySignInBegin serves POST /login/passkey/begin (fetch; id): the
// options of a passwordless sign-in.
func (h *Handlers) PasskeySignInBegin(w http.ResponseWriter, r *http.Request) {
	c, err := h.c.Flow.BeginPasskeySignIn(r.Context(), r.PostFormValue("id"), h.stepToken(r))
	h.passkeyBegun(w, r, c, err)
}

// PasskeySignIn serves POST /login/passkey: a passwordless sign-in's
// answer; it ends like the password form's.
func (h *Handlers) PasskeySignIn(w http.ResponseWriter, r *http.Request) {
	in := h.credentials(w, r)
	in.Organization, in.Email, in.Username, in.Password = "", "", "", ""
	res, err := h.c.Flow.PasskeySignIn(r.Context(), PasskeySignInInput{Credentials: in, Answer: h.passkeyAnswer(r)})
	h.c.Outcome(StepPasskey, StepOutcome(err))
	if m := passkeyError(err); m.Key != "" {
		h.showForm(w, r, http.StatusOK, res.Request, postedName(r), m.Key)
		return
	}
	h.signedIn(w, r, res, err, postedName(r))
}

// MFAPasskeyBegin serves POST /login/mfa/passkey/begin (fetch; id,
// ticket): the options of a passkey as the second factor.
func (h *Handlers) MFAPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.passkeyBegun(w, r, PasskeyCeremony{}, err)
		return
	}
	c, err := h.c.Flow.BeginPasskeyFactor(r.Context(), a, r.PostFormValue("ticket"), h.stepToken(r))
	h.passkeyBegun(w, r, c, err)
}

// MFAPasskeyEnrolBegin serves POST /login/mfa/passkey/enrol/begin
// (fetch; id, ticket): the options of a passkey registered in place of
// the authenticator app a sign-in requires.
func (h *Handlers) MFAPasskeyEnrolBegin(w http.ResponseWriter, r *http.Request) {
	a, err := h.c.Flow.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		h.passkeyBegun(w, r, PasskeyCeremony{}, err)
		return
	}
	c, err := h.c.Flow.BeginPasskeyEnrolment(r.Context(), a, r.PostFormValue("ticket"), h.stepToken(r))
	h.passkeyBegun(w, r, c, err)
}

// passkeysView is the account page's list of passkeys.
func (h *Handlers) passkeysView(r *http.Request, acct Account, mv *MFAView) error {
	if !h.c.Flow.PasskeysOn() {
		return nil
	}
	pks, err := h.c.Flow.Passkeys(r.Context(), acct.User.ID)
	mv.PasskeysOn, mv.Passkeys = true, pks
	return err
}
