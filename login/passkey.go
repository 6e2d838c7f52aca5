package login

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Passkeys (WebAuthn, github.com/go-webauthn/webauthn). The relying party
// is the issuer: its host is the RP ID (a DNS name: browsers refuse an
// IP address), scheme://host[:port] the one origin. Attestation "none";
// credentials are discoverable (resident keys). Every ceremony is two
// requests: begin stores the library's session data (CreateCeremony) and
// gives the browser a random token (kept as a keyed hash) and the options;
// the answer comes back with the token and is checked once (ClaimCeremony:
// single use, expiring, of its purpose, from the browser whose step
// cookie began it), on any replica.

// ceremonyTTL is how long a ceremony's answer is accepted.
const ceremonyTTL = 5 * time.Minute

// ceremonyKind is the hash domain of ceremony tokens.
const ceremonyKind = "ceremony"

// passkeyNameMax bounds a passkey's name (characters).
const passkeyNameMax = 64

// Errors of passkeys.
var (
	// ErrPasskeysOff: the issuer's host cannot be a relying party id
	// (an IP address), so passkeys are not offered.
	ErrPasskeysOff = errors.New("login: passkeys are not available")
	// ErrPasskeyFailed: the authenticator's answer was not accepted (a
	// wrong signature, origin or challenge, a credential not the
	// account's, user verification missing where required).
	ErrPasskeyFailed = errors.New("login: the passkey's answer was refused")
	// ErrPasskeyCloned: the answer's signature counter did not move
	// forward (or the credential changed its backup eligibility): a
	// cloned authenticator. Refused and audited (passkey_cloned).
	ErrPasskeyCloned = errors.New("login: the passkey's counter went back")
	// ErrCeremonyExpired: the ceremony is unknown, used, expired, of
	// another purpose or begun in another browser.
	ErrCeremonyExpired = errors.New("login: the passkey request expired or was used")
	// ErrPasskeyName: a name that is empty, too long or has control
	// characters.
	ErrPasskeyName = errors.New("login: not a valid passkey name")
	// ErrPasskeyExists: the credential is registered already.
	ErrPasskeyExists = errors.New("login: the passkey is registered already")
)

// EventPasskeyCloned is the audit event of a refused cloned credential.
const EventPasskeyCloned = "passkey_cloned"

// newRelyingParty is the WebAuthn relying party of issuer, or an error
// when its host cannot be one (no issuer, an IP address).
func newRelyingParty(issuer, name string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("login: passkeys: issuer %q has no host", issuer)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return nil, fmt.Errorf("login: passkeys: the issuer's host %s is an IP address, not a DNS name", u.Hostname())
	}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: name, RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation})
}

// PasskeysOn reports whether passkeys can be used with this issuer.
func (f *Flow) PasskeysOn() bool { return f.rp != nil }

// PasskeyCeremony is a ceremony begun: the token the answer must bring,
// the options for navigator.credentials (JSON), and the browser's step
// cookie it is bound to (new when the browser had none: the handler sets
// it).
type PasskeyCeremony struct {
	Token     string
	Options   json.RawMessage
	StepToken string
}

// PasskeyAnswer is the browser's answer to a ceremony.
type PasskeyAnswer struct {
	Ceremony string // the ceremony's token
	// Response is the PublicKeyCredential as JSON (base64url fields).
	Response  string
	StepToken string
}

// passkeyUser is an account as the library sees it.
type passkeyUser struct {
	handle        []byte
	name, display string
	creds         []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.display }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyUser loads u with its passkeys and its user handle (made and
// stored first when create is set and u has none).
func (f *Flow) passkeyUser(ctx context.Context, u storage.User, create bool) (*passkeyUser, error) {
	var handle []byte
	var err error
	if create {
		handle, err = f.c.Store.EnsurePasskeyHandle(ctx, u.ID, []byte(rand.Text()), f.c.Now().UTC())
	} else {
		handle, err = f.c.Store.GetPasskeyHandle(ctx, u.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("login: passkey handle: %w", err)
	}
	pks, err := f.c.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("login: list passkeys: %w", err)
	}
	name := f.managerName(u)
	display := u.Name
	if display == "" {
		display = name
	}
	pu := &passkeyUser{handle: handle, name: name, display: display}
	for _, p := range pks {
		pu.creds = append(pu.creds, credentialOf(p))
	}
	return pu, nil
}

// credentialOf is a stored passkey as the library's credential.
func credentialOf(p storage.Passkey) webauthn.Credential {
	c := webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: "none",
		Flags:         webauthn.CredentialFlags{UserPresent: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount, Attachment: protocol.AuthenticatorAttachment(p.Attachment)}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// startCeremony stores a ceremony's session data, bound to the browser's
// step cookie (made when it has none), and returns its token and options.
func (f *Flow) startCeremony(ctx context.Context, purpose, userID, authRequestID string, sd *webauthn.SessionData, options any,
	stepToken string) (PasskeyCeremony, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: passkey session: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: passkey options: %w", err)
	}
	browser := f.bindStep(&stepToken)
	token, now := secret.RandomToken(32), f.c.Now().UTC()
	c := storage.WebAuthnCeremony{ID: uuid.NewString(), TokenHash: f.c.Hasher.Hash(ceremonyKind, token), UserID: userID,
		Purpose: purpose, SessionData: data, AuthRequestID: authRequestID, BrowserHash: browser, CreatedAt: now,
		ExpiresAt: now.Add(ceremonyTTL)}
	if err := f.c.Store.CreateCeremony(ctx, c); err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: store passkey ceremony: %w", err)
	}
	return PasskeyCeremony{Token: token, Options: opts, StepToken: stepToken}, nil
}

// claimCeremony uses the ceremony an answer names, once: it must be of
// purpose and begun in the browser whose step cookie the answer brings.
func (f *Flow) claimCeremony(ctx context.Context, in PasskeyAnswer, purpose string) (storage.WebAuthnCeremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if in.Ceremony == "" || in.StepToken == "" {
		return storage.WebAuthnCeremony{}, sd, ErrCeremonyExpired
	}
	c, err := f.c.Store.ClaimCeremony(ctx, storage.CeremonyClaim{TokenHash: f.c.Hasher.Hash(ceremonyKind, in.Ceremony),
		Purpose: purpose, BrowserHash: f.c.Hasher.Hash(stepKind, in.StepToken), Now: f.c.Now().UTC()})
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrAlreadyUsed):
		return c, sd, ErrCeremonyExpired
	case err != nil:
		return c, sd, fmt.Errorf("login: claim passkey ceremony: %w", err)
	}
	if err := json.Unmarshal(c.SessionData, &sd); err != nil {
		return c, sd, fmt.Errorf("login: passkey session: %w", err)
	}
	return c, sd, nil
}

// passkeyName is a passkey's name in its canonical form, or ErrPasskeyName.
func passkeyName(s string) (string, error) {
	n, err := identifier.Name(s)
	if err != nil || n == "" || utf8.RuneCountInString(n) > passkeyNameMax {
		return "", ErrPasskeyName
	}
	return n, nil
}

// BeginPasskeyRegistration begins adding a passkey to acct: a
// discoverable credential with user verification, none of the account's
// own again.
func (f *Flow) BeginPasskeyRegistration(ctx context.Context, acct Account, stepToken string) (PasskeyCeremony, error) {
	if f.rp == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	if err := f.factorChange(ctx, acct); err != nil {
		return PasskeyCeremony{}, err
	}
	return f.beginRegistration(ctx, acct.User, "", stepToken)
}

// BeginPasskeyEnrolment begins registering a passkey in place of the
// authenticator app a sign-in requires (the enrolment step ticket, in the
// browser that started it).
func (f *Flow) BeginPasskeyEnrolment(ctx context.Context, a storage.AuthRequest, ticket, stepToken string) (PasskeyCeremony, error) {
	if f.rp == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	c, err := f.mfaTicket(ctx, a, ticket, stepToken)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if c.Purpose != storage.PurposeMFAEnrol {
		return PasskeyCeremony{}, ErrStepExpired
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: load user: %w", err)
	}
	return f.beginRegistration(ctx, u, a.ID, stepToken)
}

// beginRegistration begins registering a passkey of u (for the sign-in
// authRequestID, or the account page).
func (f *Flow) beginRegistration(ctx context.Context, u storage.User, authRequestID, stepToken string) (PasskeyCeremony, error) {
	pu, err := f.passkeyUser(ctx, u, true)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	creation, sd, err := f.rp.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired}),
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: begin passkey registration: %w", err)
	}
	return f.startCeremony(ctx, storage.CeremonyRegister, u.ID, authRequestID, sd, creation, stepToken)
}

// FinishPasskeyRegistration checks the authenticator's answer and stores
// the passkey under name. It returns the recovery codes to show once
// when it is the user's first strong factor (nil otherwise); the user is
// mailed, the change audited.
func (f *Flow) FinishPasskeyRegistration(ctx context.Context, acct Account, name string, in PasskeyAnswer, fi FactorInput) ([]string, error) {
	if f.rp == nil {
		return nil, ErrPasskeysOff
	}
	if err := f.factorChange(ctx, acct); err != nil {
		return nil, err
	}
	codes, _, err := f.registerPasskey(ctx, acct.User, name, "", "", in, fi)
	return codes, err
}

// registerPasskey checks the answer of a registration begun for u (and
// the sign-in authRequestID of clientID, or the account page: both
// empty), stores the passkey named name, mails and audits it, and
// returns the recovery codes of a first strong factor and what the
// registration proved (hwk or swk, user).
func (f *Flow) registerPasskey(ctx context.Context, u storage.User, name, authRequestID, clientID string, in PasskeyAnswer,
	fi FactorInput) ([]string, []string, error) {
	name, err := passkeyName(name)
	if err != nil {
		return nil, nil, err
	}
	now := f.c.Now().UTC()
	c, sd, err := f.claimCeremony(ctx, in, storage.CeremonyRegister)
	if err != nil {
		return nil, nil, err
	}
	if c.UserID != u.ID || c.AuthRequestID != authRequestID {
		return nil, nil, ErrCeremonyExpired
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(in.Response))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPasskeyFailed, err)
	}
	pu, err := f.passkeyUser(ctx, u, false)
	if err != nil {
		return nil, nil, err
	}
	cred, err := f.rp.CreateCredential(pu, sd, parsed)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPasskeyFailed, err)
	}
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	fc, err := f.factorMail(ctx, u, templates.FactorPasskey, templates.FactorAdded, fi, now)
	if err != nil {
		return nil, nil, err
	}
	p := storage.Passkey{ID: uuid.NewString(), UserID: u.ID, Name: name, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AAGUID: cred.Authenticator.AAGUID, BackupEligible: cred.Flags.BackupEligible,
		BackupState: cred.Flags.BackupState, Attachment: string(cred.Authenticator.Attachment), CreatedAt: now}
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	// A first strong factor brings its recovery codes, in one transaction.
	var codes []string
	change := storage.PasskeyChange{Passkey: p, Mail: fc.Mail, Audit: f.factorEvent(u, "mfa_enrol", "passkey", clientID, fi.IP, now)}
	if !fs.Strong() {
		var stored []storage.RecoveryCode
		codes, stored = f.newRecoveryCodes()
		change.Codes = &storage.FactorChange{Now: now, RecoveryCodes: stored}
	}
	err = f.c.Store.CreatePasskey(ctx, change)
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return nil, nil, ErrPasskeyExists
	case err != nil:
		return nil, nil, fmt.Errorf("login: store passkey: %w", err)
	}
	f.sendNow(ctx, fc.Mail)
	amr := []string{AMRHardwareKey}
	if cred.Flags.BackupEligible {
		amr = []string{AMRSoftwareKey}
	}
	if cred.Flags.UserVerified {
		amr = append(amr, AMRUserPresence)
	}
	return codes, amr, nil
}

// Passkeys lists the user's passkeys, oldest first.
func (f *Flow) Passkeys(ctx context.Context, userID string) ([]storage.Passkey, error) {
	pks, err := f.c.Store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("login: list passkeys: %w", err)
	}
	return pks, nil
}

// RenamePasskey names one of acct's passkeys (ErrNoFactor: none with id).
func (f *Flow) RenamePasskey(ctx context.Context, acct Account, id, name string) error {
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	err = f.c.Store.RenamePasskey(ctx, acct.User.ID, id, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ErrNoFactor
	case err != nil:
		return fmt.Errorf("login: rename passkey: %w", err)
	}
	return nil
}

// RemovePasskey removes one of acct's passkeys. When it is the last
// strong factor, in.Confirmed must be set (ErrConfirmRemoval), and the
// recovery codes go with it. Mailed and audited.
func (f *Flow) RemovePasskey(ctx context.Context, acct Account, id string, in FactorInput) error {
	if !f.RecentEnough(acct) {
		return ErrNotRecent
	}
	u, now := acct.User, f.c.Now().UTC()
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	pks, err := f.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	var p *storage.Passkey
	for i := range pks {
		if pks[i].ID == id {
			p = &pks[i]
		}
	}
	if p == nil {
		return ErrNoFactor
	}
	last := fs.count() == 1
	if last && !in.Confirmed {
		return ErrConfirmRemoval
	}
	fc, err := f.factorMail(ctx, u, templates.FactorPasskey, templates.FactorRemoved, in, now)
	if err != nil {
		return err
	}
	change := storage.PasskeyChange{Passkey: *p, Mail: fc.Mail, Audit: f.factorEvent(u, "mfa_remove", "passkey", "", in.IP, now)}
	if last {
		// The recovery codes go with the last strong factor.
		change.Codes = &storage.FactorChange{Now: now, DropRecoveryCodes: true}
	}
	err = f.c.Store.DeletePasskey(ctx, change)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ErrNoFactor
	case err != nil:
		return fmt.Errorf("login: remove passkey: %w", err)
	}
	f.sendNow(ctx, fc.Mail)
	return nil
}

// passkeyUse is an assertion the library accepted: the passkey, and what
// its use proved (amr).
type passkeyUse struct {
	passkey storage.Passkey
	amr     []string
}

// usePasskey records an accepted assertion of u's credential (one
// conditional update: the counter only moves forward); a cloned
// authenticator is refused (ErrPasskeyCloned) and audited.
func (f *Flow) usePasskey(ctx context.Context, u storage.User, parsed *protocol.ParsedCredentialAssertionData, clientID, ip string,
	now time.Time) (passkeyUse, error) {
	p, err := f.c.Store.GetPasskeyByCredentialID(ctx, parsed.RawID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && p.UserID != u.ID):
		return passkeyUse{}, ErrPasskeyFailed
	case err != nil:
		return passkeyUse{}, fmt.Errorf("login: load passkey: %w", err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	p, err = f.c.Store.UsePasskey(ctx, storage.PasskeyUse{ID: p.ID, SignCount: parsed.Response.AuthenticatorData.Counter,
		BackupEligible: flags.HasBackupEligible(), BackupState: flags.HasBackupState(), Now: now})
	switch {
	case errors.Is(err, storage.ErrConflict):
		f.audit(ctx, storage.AuditEvent{Type: EventPasskeyCloned, OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: clientID,
			IP: ip, Outcome: "failure", Detail: p.ID}, now)
		f.c.Logger.WarnContext(ctx, "passkey refused: its signature counter did not move forward", "user_id", u.ID, "passkey_id", p.ID)
		return passkeyUse{}, ErrPasskeyCloned
	case errors.Is(err, storage.ErrNotFound):
		return passkeyUse{}, ErrPasskeyFailed
	case err != nil:
		return passkeyUse{}, fmt.Errorf("login: use passkey: %w", err)
	}
	amr := []string{AMRHardwareKey}
	if p.BackupEligible {
		amr = []string{AMRSoftwareKey} // a synced passkey: not bound to one device
	}
	if flags.HasUserVerified() {
		amr = append(amr, AMRUserPresence)
	}
	return passkeyUse{passkey: p, amr: amr}, nil
}

// maxPasskeyBegins bounds the passwordless ceremonies one sign-in (auth
// request) may begin: a page load, the button and retries need a few.
const maxPasskeyBegins = 30

// BeginPasskeySignIn begins a passwordless sign-in for the auth request
// id: a discoverable credential (the authenticator names the account),
// with user verification; ErrTooManyAttempts beyond maxPasskeyBegins.
func (f *Flow) BeginPasskeySignIn(ctx context.Context, id, stepToken string) (PasskeyCeremony, error) {
	if f.rp == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	a, err := f.request(ctx, id)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	// Anyone may ask, and each ceremony is a row: a sign-in gets a
	// bounded number (counted atomically, on any replica).
	ok, err := f.withinHourlyCap(ctx, "passkey_begin:"+a.ID, maxPasskeyBegins, f.c.Now().UTC())
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if !ok {
		return PasskeyCeremony{}, ErrTooManyAttempts
	}
	assertion, sd, err := f.rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: begin passkey sign-in: %w", err)
	}
	return f.startCeremony(ctx, storage.CeremonyLogin, "", a.ID, sd, assertion, stepToken)
}

// PasskeySignInInput is the answer of a passwordless sign-in, with the
// browser's cookies (Credentials without the account and password).
type PasskeySignInInput struct {
	Credentials
	Answer PasskeyAnswer
}

// PasskeySignIn finishes a passwordless sign-in: the assertion names the
// account by its user handle; a cloned credential is refused. Then it
// goes on like a password sign-in: a disabled account or one of an
// organization the request does not admit gets ErrInvalidCredentials, a
// dormant-locked one the lock's answer, and the sign-in counts as
// interactive. amr: hwk or swk, user, mfa.
func (f *Flow) PasskeySignIn(ctx context.Context, in PasskeySignInInput) (SignedIn, error) {
	if f.rp == nil {
		return SignedIn{}, ErrPasskeysOff
	}
	in.StepToken = in.Answer.StepToken
	t, err := f.attempt(ctx, in.Credentials)
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	// The throttle of passkey answers is the client address's; its
	// "account" slot is the address's own passkey bucket.
	t.limits[0].Key = "login:passkey:" + f.c.Hasher.Hash("throttle", in.IP)
	if err := t.take(); err != nil {
		return SignedIn{Request: t.a}, err
	}
	if !t.taken {
		return t.fail("", "throttled")
	}
	c, sd, err := f.claimCeremony(ctx, in.Answer, storage.CeremonyLogin)
	if err == nil && c.AuthRequestID != t.a.ID {
		err = ErrCeremonyExpired
	}
	if err != nil {
		f.audit(ctx, storage.AuditEvent{Type: "login", ClientID: t.a.ClientID, IP: in.IP, Outcome: "failure", Detail: "passkey_ceremony"}, t.now)
		return SignedIn{Request: t.a}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(in.Answer.Response))
	if err != nil {
		return t.passkeyRefused("", err)
	}
	var u storage.User
	lookup := func(_, handle []byte) (webauthn.User, error) {
		id, err := f.c.Store.GetUserIDByPasskeyHandle(ctx, handle)
		if err != nil {
			return nil, err
		}
		if u, err = f.c.Store.GetUser(ctx, id); err != nil {
			return nil, err
		}
		return f.passkeyUser(ctx, u, false)
	}
	if _, _, err := f.rp.ValidatePasskeyLogin(lookup, sd, parsed); err != nil {
		return t.passkeyRefused(u.ID, err)
	}
	use, err := f.usePasskey(ctx, u, parsed, t.a.ClientID, in.IP, t.now)
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	t.name = AccountName{Email: u.Email, Username: u.Username}
	if reason, err := t.proved(u, true); reason != "" || err != nil {
		return t.refuse(u, reason, err)
	}
	if u.InvitedAt != nil {
		return t.fail(u.ID, "invited")
	}
	t.amr = mergeAMR(use.amr, AMRMFA)
	return t.succeed(u, "")
}

// passkeyRefused records an assertion the library refused and answers
// ErrPasskeyFailed.
func (t *attempt) passkeyRefused(userID string, err error) (SignedIn, error) {
	e := t.audit
	e.UserID, e.Outcome, e.Detail = userID, "failure", "passkey_refused"
	t.f.audit(t.ctx, e, t.now)
	t.f.c.Logger.InfoContext(t.ctx, "passkey answer refused", "user_id", userID, "err", err)
	return SignedIn{Request: t.a}, ErrPasskeyFailed
}

// BeginPasskeyFactor begins the passkey of the second-factor step ticket
// (the browser that started it, stepToken): an assertion limited to the
// account's passkeys, user verification preferred.
func (f *Flow) BeginPasskeyFactor(ctx context.Context, a storage.AuthRequest, ticket, stepToken string) (PasskeyCeremony, error) {
	if f.rp == nil {
		return PasskeyCeremony{}, ErrPasskeysOff
	}
	c, err := f.mfaTicket(ctx, a, ticket, stepToken)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if c.Purpose != storage.PurposeMFA {
		return PasskeyCeremony{}, ErrStepExpired
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: load user: %w", err)
	}
	pu, err := f.passkeyUser(ctx, u, false)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(pu.creds) == 0) {
		return PasskeyCeremony{}, ErrNoFactor
	}
	if err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, sd, err := f.rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("login: begin passkey factor: %w", err)
	}
	return f.startCeremony(ctx, storage.CeremonySecondFactor, u.ID, a.ID, sd, assertion, stepToken)
}

// usePasskeyFactor checks the passkey answering u's second-factor step
// for a and returns what it proved (hwk or swk, user when verified).
func (f *Flow) usePasskeyFactor(ctx context.Context, a storage.AuthRequest, u storage.User, in MFAInput, now time.Time) ([]string, error) {
	ans := PasskeyAnswer{Ceremony: in.Ceremony, Response: in.Code, StepToken: in.StepToken}
	c, sd, err := f.claimCeremony(ctx, ans, storage.CeremonySecondFactor)
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID || c.AuthRequestID != a.ID {
		return nil, ErrCeremonyExpired
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(strings.TrimSpace(in.Code)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPasskeyFailed, err)
	}
	pu, err := f.passkeyUser(ctx, u, false)
	if err != nil {
		return nil, err
	}
	if _, err := f.rp.ValidateLogin(pu, sd, parsed); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPasskeyFailed, err)
	}
	use, err := f.usePasskey(ctx, u, parsed, a.ClientID, in.IP, now)
	if err != nil {
		return nil, err
	}
	return use.amr, nil
}

// dropPendingTOTP removes the authenticator app an enrolment at sign-in
// set up and a passkey replaced (never a confirmed one).
func (f *Flow) dropPendingTOTP(ctx context.Context, userID string) {
	t, err := f.c.Store.GetTOTP(ctx, userID)
	if err != nil || t.Confirmed() {
		return
	}
	if err := f.c.Store.DeleteTOTP(ctx, storage.FactorChange{UserID: userID, Now: f.c.Now().UTC()}); err != nil &&
		!errors.Is(err, storage.ErrNotFound) {
		f.c.Logger.WarnContext(ctx, "remove the authenticator app a passkey replaced", "user_id", userID, "err", err)
	}
}
