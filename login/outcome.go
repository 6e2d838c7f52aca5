package login

import "errors"

// Steps of a sign-in, as metrics name them (HandlerConfig.Outcome): each
// form a person submits on the way to a session.
const (
	StepPassword = "password"        // the sign-in form
	StepUnlock   = "unlock"          // the sign-in form, with an opened unlock link
	StepLegacy   = "legacy"          // the legacy product's sign-in form
	StepCode     = "code"            // the emailed sign-in code
	StepFactor   = "factor"          // a strong factor (authenticator app, recovery code)
	StepChange   = "change_password" // the password change required at sign-in
	StepReset    = "reset"           // the reset code with the new password
	StepInvite   = "invitation"      // an invitation's new password
	StepPasskey  = "passkey"         // a passwordless sign-in with a passkey
)

// Outcomes of a step, as metrics name them: a fixed, small set, whatever
// the flows answer.
const (
	OutcomeSuccess       = "success"        // the step passed (the sign-in goes on or completes)
	OutcomeFailure       = "failure"        // a wrong password or code, or an account that cannot go on (no address)
	OutcomeLocked        = "locked"         // a right password of a dormant-locked account
	OutcomeLimited       = "limited"        // too many attempts or codes
	OutcomeExpired       = "expired"        // the request, step, code or link expired
	OutcomeRejected      = "rejected"       // a new password refused (policy, confirmation)
	OutcomeResetRequired = "reset_required" // a right imported password on the unified form: the reset comes next
	OutcomeError         = "error"          // anything else (an unknown request, the database)
)

// StepOutcome names how a step ended from the flow's answer err.
func StepOutcome(err error) string {
	var locked *LockedError
	var policy *PolicyError
	var cooldown *CooldownError
	switch {
	case err == nil:
		return OutcomeSuccess
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrWrongCode), errors.Is(err, ErrNoAddress),
		errors.Is(err, ErrPasskeyFailed), errors.Is(err, ErrPasskeyCloned):
		return OutcomeFailure
	case errors.As(err, &locked):
		return OutcomeLocked
	case errors.Is(err, ErrTooManyCodes), errors.Is(err, ErrTooManyAttempts), errors.Is(err, ErrCodeExhausted),
		errors.As(err, &cooldown):
		return OutcomeLimited
	case errors.Is(err, ErrExpired), errors.Is(err, ErrStepExpired), errors.Is(err, ErrCodeExpired),
		errors.Is(err, ErrInvitationExpired), errors.Is(err, ErrLegacyClosed), errors.Is(err, ErrUnlockExpired),
		errors.Is(err, ErrCeremonyExpired):
		return OutcomeExpired
	case errors.Is(err, ErrPasswordMismatch), errors.As(err, &policy):
		return OutcomeRejected
	case errors.Is(err, ErrLegacyReset):
		return OutcomeResetRequired
	default:
		return OutcomeError
	}
}
