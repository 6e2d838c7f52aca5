package storage

import (
	"context"
	"time"
)

// Purposes of WebAuthn ceremonies.
const (
	CeremonyRegister     = "register"      // a passkey registered on the account page
	CeremonyLogin        = "login"         // passwordless sign-in (discoverable credential)
	CeremonySecondFactor = "second_factor" // a passkey after the password
	CeremonyStepUp       = "step_up"       // a passkey again for a stronger acr
)

// Passkey is a registered WebAuthn credential of a user.
type Passkey struct {
	ID     string
	UserID string
	// Name is the user's name for it ("MacBook", "Phone").
	Name         string
	CredentialID []byte
	// PublicKey is the COSE public key the authenticator returned.
	PublicKey []byte
	// SignCount is the authenticator's signature counter as last seen.
	SignCount uint32
	AAGUID    []byte
	// Transports the authenticator named (usb, nfc, ble, internal, hybrid).
	Transports []string
	// BackupEligible (BE) never changes for a credential; BackupState (BS)
	// follows the authenticator: a synced passkey is eligible.
	BackupEligible bool
	BackupState    bool
	// Attachment is "platform", "cross-platform" or empty.
	Attachment string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// WebAuthnCeremony is the server side of a registration or assertion
// between its two requests. The browser holds a random token; TokenHash is
// its keyed hash.
type WebAuthnCeremony struct {
	ID        string
	TokenHash string
	// UserID is the account the ceremony is for, or empty for a
	// discoverable sign-in (the authenticator names the account).
	UserID  string
	Purpose string // Ceremony*
	// SessionData is the library's session data (JSON): the challenge and
	// what the answer must match.
	SessionData   []byte
	AuthRequestID string
	// BrowserHash binds the ceremony to the browser's step cookie (keyed
	// hash), or is empty when the browser had none.
	BrowserHash string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// CeremonyClaim names a ceremony to use: its token hash, the purpose and
// browser it must have, at Now.
type CeremonyClaim struct {
	TokenHash   string
	Purpose     string
	BrowserHash string
	Now         time.Time
}

// PasskeyUse is the input of UsePasskey: what an assertion reported.
type PasskeyUse struct {
	ID             string
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
	Now            time.Time
}

// PasskeyChange is the input of CreatePasskey and DeletePasskey: the
// credential, and the mail and audit event written with the change.
type PasskeyChange struct {
	Passkey Passkey
	Mail    *OutboxMail
	Audit   *AuditEvent
	// Codes, when set, changes the user's recovery codes in the same
	// transaction (a first strong factor's new set; the last one's drop).
	Codes *FactorChange
}

// PasskeyStore keeps passkeys, the users' WebAuthn handles and the
// ceremonies in flight.
type PasskeyStore interface {
	// EnsurePasskeyHandle returns the user's WebAuthn user handle, storing
	// handle as it when the user has none yet (concurrent callers all get
	// the one stored). ErrNotFound when there is no such user.
	EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte, now time.Time) ([]byte, error)
	// GetPasskeyHandle returns the user's handle; ErrNotFound when none.
	GetPasskeyHandle(ctx context.Context, userID string) ([]byte, error)
	// GetUserIDByPasskeyHandle returns the account a handle names.
	GetUserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error)

	// CreatePasskey stores c.Passkey and writes c.Mail and c.Audit (when
	// set), in one transaction. ErrAlreadyExists when the credential id
	// is registered already (to anyone).
	CreatePasskey(ctx context.Context, c PasskeyChange) error
	// ListPasskeys returns the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// GetPasskeyByCredentialID returns the passkey with that credential id.
	GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// RenamePasskey names the user's passkey; ErrNotFound when the user
	// has no passkey with that id.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey c.Passkey.ID (c.Passkey.UserID)
	// and writes c.Mail and c.Audit, in one transaction; ErrNotFound when
	// there is none.
	DeletePasskey(ctx context.Context, c PasskeyChange) error
	// UsePasskey records an assertion, in one conditional UPDATE: the
	// counter moves to u.SignCount, BackupState and LastUsedAt to u's,
	// only when the counter went forward (u.SignCount greater than the
	// stored one; both zero for authenticators without a counter) and the
	// backup eligibility is the stored one. ErrConflict, and nothing
	// changed, when it did not (a cloned authenticator, a credential that
	// changed its nature); ErrNotFound when there is no such passkey. It
	// returns the passkey after the change.
	UsePasskey(ctx context.Context, u PasskeyUse) (Passkey, error)

	// CreateCeremony stores a ceremony in flight.
	CreateCeremony(ctx context.Context, c WebAuthnCeremony) error
	// ClaimCeremony uses a ceremony once, in one conditional UPDATE: it
	// must be unused, not expired at c.Now, of c.Purpose and bound to
	// c.BrowserHash (empty matches a ceremony bound to no browser). It
	// returns the ceremony; ErrAlreadyUsed when it exists but cannot be
	// used (used, expired, another purpose or browser), ErrNotFound when
	// there is none.
	ClaimCeremony(ctx context.Context, c CeremonyClaim) (WebAuthnCeremony, error)
}
