package login

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// Every answer of the flows falls into one of the few outcomes metrics
// know, wrapped or not.
func TestStepOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, OutcomeSuccess},
		{ErrInvalidCredentials, OutcomeFailure},
		{fmt.Errorf("verify: %w", ErrWrongCode), OutcomeFailure},
		{ErrNoAddress, OutcomeFailure},
		{fmt.Errorf("%w: bad signature", ErrPasskeyFailed), OutcomeFailure},
		{ErrPasskeyCloned, OutcomeFailure},
		{ErrCeremonyExpired, OutcomeExpired},
		{&LockedError{Mailed: true}, OutcomeLocked},
		{ErrTooManyCodes, OutcomeLimited},
		{ErrTooManyAttempts, OutcomeLimited},
		{ErrCodeExhausted, OutcomeLimited},
		{&CooldownError{Left: time.Second}, OutcomeLimited},
		{ErrExpired, OutcomeExpired},
		{ErrStepExpired, OutcomeExpired},
		{ErrCodeExpired, OutcomeExpired},
		{ErrInvitationExpired, OutcomeExpired},
		{ErrLegacyClosed, OutcomeExpired},
		{ErrPasswordMismatch, OutcomeRejected},
		{&PolicyError{}, OutcomeRejected},
		{ErrLegacyReset, OutcomeResetRequired},
		{ErrUnknownRequest, OutcomeError},
		{fmt.Errorf("load: %w", storage.ErrUnavailable), OutcomeError},
		{errors.New("anything else"), OutcomeError},
	} {
		if got := StepOutcome(tc.err); got != tc.want {
			t.Errorf("StepOutcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
