package storage

import (
	"context"
	"time"
)

// Purposes of the one-time tickets of strong factors (OneTimeCode rows
// with no mailed code: CodeHash is a random value nobody knows).
const (
	// PurposeMFA is the second-factor step of a sign-in (or a step-up):
	// the ticket binds the step to the browser and the auth request, and
	// counts its wrong codes.
	PurposeMFA = "mfa"
	// PurposeMFAEnrol is the enrolment of an authenticator app that a
	// sign-in requires (mfa.policy required) before it may finish.
	PurposeMFAEnrol = "mfa_enrol"
)

// TOTPFactor is a user's authenticator app (RFC 6238). A user has at most
// one; it counts as a factor once confirmed with a first code.
type TOTPFactor struct {
	ID     string
	UserID string
	// SecretSealed is the shared secret sealed by the caller with a key
	// derived from SEKISHO_SECRET: it must be read back, so it cannot be
	// hashed.
	SecretSealed []byte
	// ConfirmedAt is when the user proved the app with a first code; nil
	// while the enrolment waits for it.
	ConfirmedAt *time.Time
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	// LastStep is the last time step (Unix time / 30 s) whose code was
	// accepted; a code of this step or an earlier one is refused.
	LastStep int64
}

// Confirmed reports whether the factor may be used to sign in.
func (f TOTPFactor) Confirmed() bool { return f.ConfirmedAt != nil }

// RecoveryCode is one single-use recovery code, stored as a keyed hash.
type RecoveryCode struct {
	ID        string
	UserID    string
	CodeHash  string
	CreatedAt time.Time
	UsedAt    *time.Time
}

// FactorChange is what goes with a change of a user's strong factors, in
// its transaction.
type FactorChange struct {
	UserID string
	Now    time.Time
	// RecoveryCodes, when not nil, replace the user's recovery codes (the
	// old set is void), created at Now.
	RecoveryCodes []RecoveryCode
	// DropRecoveryCodes removes the user's recovery codes (the last strong
	// factor went).
	DropRecoveryCodes bool
	Mail              *OutboxMail
	Audit             *AuditEvent
}

// MFAStore keeps authenticator apps and recovery codes. Every use of a
// code is one atomic conditional UPDATE, so a code is accepted once
// whichever replica sees it first.
type MFAStore interface {
	// CreateTOTP stores f, unconfirmed, in place of the user's unconfirmed
	// one (an enrolment started again). ErrAlreadyExists, and nothing
	// changed, when the user has a confirmed authenticator app.
	CreateTOTP(ctx context.Context, f TOTPFactor) error
	// GetTOTP returns the user's authenticator app, confirmed or not;
	// ErrNotFound when there is none.
	GetTOTP(ctx context.Context, userID string) (TOTPFactor, error)
	// ConfirmTOTP confirms the unconfirmed factor id of c.UserID with the
	// code of step, recording the step as used, and applies c (recovery
	// codes, mail, audit), in one transaction. ErrAlreadyUsed when the
	// factor is confirmed already or step is not after its LastStep;
	// ErrNotFound when there is no such factor.
	ConfirmTOTP(ctx context.Context, id string, step int64, c FactorChange) error
	// UseTOTPStep accepts a code of step for the user's confirmed factor:
	// one conditional UPDATE that moves LastStep to step only when step is
	// after it. ErrAlreadyUsed when it is not (a replay, here or on another
	// replica); ErrNotFound when the user has no confirmed factor.
	UseTOTPStep(ctx context.Context, userID string, step int64, now time.Time) error
	// DeleteTOTP removes the user's authenticator app and applies c, in one
	// transaction; ErrNotFound, and nothing written, when there is none.
	DeleteTOTP(ctx context.Context, c FactorChange) error
	// ReplaceRecoveryCodes applies c, whose RecoveryCodes replace the
	// user's (regeneration: the old set stops working).
	ReplaceRecoveryCodes(ctx context.Context, c FactorChange) error
	// UseRecoveryCode marks the user's unused code with the hash used (one
	// conditional UPDATE) and applies c, in one transaction.
	// ErrAlreadyUsed when it was used before; ErrNotFound when the user has
	// no such code.
	UseRecoveryCode(ctx context.Context, codeHash string, c FactorChange) error
	// CountRecoveryCodes counts the user's unused recovery codes.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// GetFactors returns the user's authenticator app (confirmed or not),
	// number of passkeys and number of unused recovery codes, in one read:
	// what every sign-in asks before the factor step.
	GetFactors(ctx context.Context, userID string) (UserFactors, error)
}

// UserFactors is a user's second factors, as GetFactors reads them.
type UserFactors struct {
	TOTP          *TOTPFactor // confirmed or not; nil when there is none
	Passkeys      int
	RecoveryCodes int // unused
}
