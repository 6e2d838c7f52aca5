package login

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// ACR and AMR values of strong factors (see README "Second factors and
// step-up"). AMR values follow RFC 8176.
const (
	// ACRMFA: a password and a strong factor (authenticator app, passkey
	// as a second factor, recovery code), or a passkey with user
	// verification alone.
	ACRMFA = "urn:sekisho:acr:mfa"
	// ACRPasskey: the sign-in used a passkey (passwordless with user
	// verification, or as the second factor).
	ACRPasskey = "urn:sekisho:acr:passkey"

	AMRMFA          = "mfa"  // two factors
	AMRHardwareKey  = "hwk"  // a passkey bound to its device
	AMRSoftwareKey  = "swk"  // a synced (backup-eligible) passkey
	AMRUserPresence = "user" // the authenticator verified the user
)

// MFA policies (mfa.policy, an organization's own, clients[].mfa).
const (
	MFAOff      = "off"
	MFAOptional = "optional"
	MFARequired = "required"
)

// mfaRank orders the policies: the strictest applies.
func mfaRank(p string) int {
	switch p {
	case MFARequired:
		return 2
	case MFAOptional:
		return 1
	}
	return 0
}

// stricter is the stricter of two policies ("" is no opinion).
func stricter(a, b string) string {
	if b == "" || mfaRank(a) >= mfaRank(b) && a != "" {
		return a
	}
	return b
}

// TOTPSealer seals authenticator-app secrets with a key derived from
// SEKISHO_SECRET (secret.Keys).
type TOTPSealer interface {
	SealTOTP(plaintext []byte) ([]byte, error)
	OpenTOTP(ciphertext []byte) ([]byte, error)
}

// MFAConfig configures strong factors.
type MFAConfig struct {
	// Policy is the deployment's mfa.policy (empty: optional).
	Policy string
	// ClientRequires reports whether a client requires a strong factor
	// (clients[].mfa: required). Nil: none does.
	ClientRequires func(clientID string) bool
	// Issuer names the deployment in authenticator apps (branding.name).
	Issuer string
	// MaxAge is how recent a sign-in /account needs to change factors.
	MaxAge time.Duration
	Sealer TOTPSealer
}

// The authenticator-app parameters (RFC 6238): 30-second steps, six
// digits, SHA-1 (what every app reads from a QR code), one step either
// side of the server's clock accepted.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
)

// Recovery codes: ten, each ten characters from an alphabet without look-
// alike letters, shown as two groups of five.
const (
	recoveryCount    = 10
	recoveryLen      = 10
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryKind     = "recovery"
)

// Errors of strong factors.
var (
	// ErrMFAOff: strong factors are off for the user.
	ErrMFAOff = errors.New("login: strong factors are off")
	// ErrFactorExists: the user has an authenticator app already.
	ErrFactorExists = errors.New("login: an authenticator app is set up already")
	// ErrNoEnrolment: no enrolment waits for its first code.
	ErrNoEnrolment = errors.New("login: no authenticator app waits for confirmation")
	// ErrWrongTOTP: the code is not the app's (or was used before).
	ErrWrongTOTP = errors.New("login: wrong authenticator code")
	// ErrConfirmRemoval: removing the last strong factor needs a
	// confirmation.
	ErrConfirmRemoval = errors.New("login: confirm removing the last strong factor")
	// ErrNoFactor: the user has no strong factor (recovery codes need one).
	ErrNoFactor = errors.New("login: no strong factor")
	// ErrNotRecent: the change needs a more recent sign-in.
	ErrNotRecent = errors.New("login: sign in again to change factors")
)

// MFAPolicy is the policy that applies to u: the stricter of the
// deployment's and u's organization's.
func (f *Flow) MFAPolicy(ctx context.Context, u storage.User) string {
	p := f.c.MFA.Policy
	if p == "" {
		p = MFAOptional
	}
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		f.c.Logger.WarnContext(ctx, "mfa policy: load organization", "err", err)
		return p
	}
	return stricter(p, org.MFAPolicy)
}

// requestMFAPolicy is the policy of a sign-in of u for a: the client's
// requirement raises it.
func (f *Flow) requestMFAPolicy(ctx context.Context, a storage.AuthRequest, u storage.User) string {
	p := f.MFAPolicy(ctx, u)
	if f.c.MFA.ClientRequires != nil && f.c.MFA.ClientRequires(a.ClientID) {
		p = MFARequired
	}
	return p
}

// Factors are a user's strong factors.
type Factors struct {
	TOTP *storage.TOTPFactor // confirmed authenticator app, or nil
	// PendingTOTP: an enrolment waits for its first code.
	PendingTOTP bool
	// Passkeys counts the user's passkeys (the passkey flow fills it).
	Passkeys      int
	RecoveryCodes int // unused recovery codes
}

// Strong reports whether the user has a strong factor to sign in with
// (recovery codes alone are a way back, not a factor to enrol).
func (fs Factors) Strong() bool { return fs.TOTP != nil || fs.Passkeys > 0 }

// count is how many strong factors the user has.
func (fs Factors) count() int {
	n := fs.Passkeys
	if fs.TOTP != nil {
		n++
	}
	return n
}

// Factors loads u's strong factors, in one read.
func (f *Flow) Factors(ctx context.Context, userID string) (Factors, error) {
	uf, err := f.c.Store.GetFactors(ctx, userID)
	if err != nil {
		return Factors{}, fmt.Errorf("login: load second factors: %w", err)
	}
	fs := Factors{Passkeys: uf.Passkeys, RecoveryCodes: uf.RecoveryCodes}
	switch t := uf.TOTP; {
	case t != nil && t.Confirmed():
		fs.TOTP = t
	case t != nil:
		fs.PendingTOTP = true
	}
	return fs, nil
}

// TOTPEnrolment is an authenticator app waiting for its first code: what
// the page shows to add it to an app.
type TOTPEnrolment struct {
	// QR is the otpauth URI as a PNG QR code, as a data: URL.
	QR string
	// Secret is the shared secret (base32) in groups of four, for typing.
	Secret string
	// URI is the otpauth:// URI (for an app on the same device).
	URI string
}

// RecentEnough reports whether acct's sign-in is recent enough to change
// factors (mfa.max_age).
func (f *Flow) RecentEnough(acct Account) bool {
	return f.c.MFA.MaxAge <= 0 || f.c.Now().Sub(acct.Session.AuthTime) <= f.c.MFA.MaxAge
}

// StartFactorSignIn is the sign-in a change of factors needs when the
// session is older than mfa.max_age: it returns to returnTo.
func (f *Flow) StartFactorSignIn(ctx context.Context, returnTo string, uiLocales []string) (string, error) {
	return f.StartRecentSignIn(ctx, returnTo, f.c.MFA.MaxAge, uiLocales)
}

// factorChange checks that acct may change its factors now.
func (f *Flow) factorChange(ctx context.Context, acct Account) error {
	if f.MFAPolicy(ctx, acct.User) == MFAOff {
		return ErrMFAOff
	}
	if !f.RecentEnough(acct) {
		return ErrNotRecent
	}
	return nil
}

// StartTOTP begins adding an authenticator app to u: a new secret,
// sealed and stored unconfirmed (in place of an enrolment not finished).
func (f *Flow) StartTOTP(ctx context.Context, acct Account) (TOTPEnrolment, error) {
	if err := f.factorChange(ctx, acct); err != nil {
		return TOTPEnrolment{}, err
	}
	return f.startTOTP(ctx, acct.User)
}

func (f *Flow) startTOTP(ctx context.Context, u storage.User) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: f.issuer(), AccountName: f.totpAccount(u), Period: totpPeriod,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: new authenticator secret: %w", err)
	}
	sealed, err := f.c.MFA.Sealer.SealTOTP([]byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: seal authenticator secret: %w", err)
	}
	err = f.c.Store.CreateTOTP(ctx, storage.TOTPFactor{ID: uuid.NewString(), UserID: u.ID, SecretSealed: sealed, CreatedAt: f.c.Now().UTC()})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return TOTPEnrolment{}, ErrFactorExists
	case err != nil:
		return TOTPEnrolment{}, fmt.Errorf("login: store authenticator app: %w", err)
	}
	return enrolmentOf(key)
}

// PendingTOTP shows the enrolment waiting for its first code again (after
// a wrong code, in another language).
func (f *Flow) PendingTOTP(ctx context.Context, u storage.User) (TOTPEnrolment, error) {
	t, err := f.c.Store.GetTOTP(ctx, u.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && t.Confirmed()):
		return TOTPEnrolment{}, ErrNoEnrolment
	case err != nil:
		return TOTPEnrolment{}, fmt.Errorf("login: load authenticator app: %w", err)
	}
	sec, err := f.c.MFA.Sealer.OpenTOTP(t.SecretSealed)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: open authenticator secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: f.issuer(), AccountName: f.totpAccount(u), Period: totpPeriod,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, Secret: mustBase32(string(sec))})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: authenticator key: %w", err)
	}
	return enrolmentOf(key)
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// mustBase32 decodes a secret pquerna/otp encoded (unpadded base32).
func mustBase32(s string) []byte {
	b, err := base32NoPad.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

func enrolmentOf(key *otp.Key) (TOTPEnrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("login: QR code: %w", err)
	}
	return TOTPEnrolment{QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
		Secret: groupSecret(key.Secret()), URI: key.URL()}, nil
}

// groupSecret writes a base32 secret in groups of four, for typing.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// issuer names the deployment in authenticator apps.
func (f *Flow) issuer() string {
	if f.c.MFA.Issuer != "" {
		return f.c.MFA.Issuer
	}
	return "sekisho"
}

// totpAccount names u in authenticator apps: the address, else the
// organization's code and the account name.
func (f *Flow) totpAccount(u storage.User) string {
	if u.Email != "" {
		return u.Email
	}
	return f.managerName(u)
}

// totpStep checks code against the sealed secret at now, one step either
// side accepted, and returns the step it belongs to.
func (f *Flow) totpStep(sealed []byte, code string, now time.Time) (int64, bool, error) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != int(totpDigits) {
		return 0, false, nil
	}
	sec, err := f.c.MFA.Sealer.OpenTOTP(sealed)
	if err != nil {
		return 0, false, fmt.Errorf("login: open authenticator secret: %w", err)
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(string(sec), time.Unix((step+d)*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false, fmt.Errorf("login: authenticator code: %w", err)
		}
		if secret.Equal(want, code) {
			return step + d, true, nil
		}
	}
	return 0, false, nil
}

// FactorInput is what a change of factors brings from the browser.
type FactorInput struct {
	IP, Lang string
	// Confirmed: the user confirmed removing the last strong factor.
	Confirmed bool
	left      int // recovery codes left, for the mail of a used one
}

// ConfirmTOTP confirms the waiting authenticator app with its first code
// and returns the recovery codes to show once, when it is the user's
// first strong factor (nil otherwise). The user is mailed, the change
// audited.
func (f *Flow) ConfirmTOTP(ctx context.Context, acct Account, code string, in FactorInput) ([]string, error) {
	if err := f.factorChange(ctx, acct); err != nil {
		return nil, err
	}
	return f.confirmTOTP(ctx, acct.User, code, in, "")
}

func (f *Flow) confirmTOTP(ctx context.Context, u storage.User, code string, in FactorInput, clientID string) ([]string, error) {
	now := f.c.Now().UTC()
	t, err := f.c.Store.GetTOTP(ctx, u.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && t.Confirmed()):
		return nil, ErrNoEnrolment
	case err != nil:
		return nil, fmt.Errorf("login: load authenticator app: %w", err)
	}
	step, ok, err := f.totpStep(t.SecretSealed, code, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrWrongTOTP
	}
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	c, err := f.factorMail(ctx, u, templates.FactorTOTP, templates.FactorAdded, in, now)
	if err != nil {
		return nil, err
	}
	c.Audit = f.factorEvent(u, "mfa_enrol", "totp", clientID, in.IP, now)
	var codes []string
	if !fs.Strong() {
		codes, c.RecoveryCodes = f.newRecoveryCodes()
	}
	err = f.c.Store.ConfirmTOTP(ctx, t.ID, step, c)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed) || errors.Is(err, storage.ErrNotFound):
		return nil, ErrWrongTOTP
	case err != nil:
		return nil, fmt.Errorf("login: confirm authenticator app: %w", err)
	}
	f.sendNow(ctx, c.Mail)
	return codes, nil
}

// RemoveTOTP removes the user's authenticator app. When it is the last
// strong factor, in.Confirmed must be set (ErrConfirmRemoval), and the
// recovery codes go with it.
func (f *Flow) RemoveTOTP(ctx context.Context, acct Account, in FactorInput) error {
	if !f.RecentEnough(acct) {
		return ErrNotRecent
	}
	u, now := acct.User, f.c.Now().UTC()
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	if fs.TOTP == nil && !fs.PendingTOTP {
		return ErrNoFactor
	}
	last := fs.TOTP != nil && fs.count() == 1
	if last && !in.Confirmed {
		return ErrConfirmRemoval
	}
	c := storage.FactorChange{UserID: u.ID, Now: now, DropRecoveryCodes: last}
	if fs.TOTP != nil {
		if c, err = f.factorMail(ctx, u, templates.FactorTOTP, templates.FactorRemoved, in, now); err != nil {
			return err
		}
		c.DropRecoveryCodes = last
		c.Audit = f.factorEvent(u, "mfa_remove", "totp", "", in.IP, now)
	}
	err = f.c.Store.DeleteTOTP(ctx, c)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: remove authenticator app: %w", err)
	}
	f.sendNow(ctx, c.Mail)
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes with ten new
// ones (the old set stops working) and returns them, to show once.
func (f *Flow) RegenerateRecoveryCodes(ctx context.Context, acct Account, in FactorInput) ([]string, error) {
	if err := f.factorChange(ctx, acct); err != nil {
		return nil, err
	}
	u, now := acct.User, f.c.Now().UTC()
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !fs.Strong() {
		return nil, ErrNoFactor
	}
	c, err := f.factorMail(ctx, u, templates.FactorRecovery, templates.FactorRenewed, in, now)
	if err != nil {
		return nil, err
	}
	c.Audit = f.factorEvent(u, "mfa_enrol", "recovery", "", in.IP, now)
	var codes []string
	codes, c.RecoveryCodes = f.newRecoveryCodes()
	if err := f.c.Store.ReplaceRecoveryCodes(ctx, c); err != nil {
		return nil, fmt.Errorf("login: replace recovery codes: %w", err)
	}
	f.sendNow(ctx, c.Mail)
	return codes, nil
}

// newRecoveryCodes makes a set of recovery codes: as shown, and as stored.
func (f *Flow) newRecoveryCodes() ([]string, []storage.RecoveryCode) {
	shown := make([]string, recoveryCount)
	stored := make([]storage.RecoveryCode, recoveryCount)
	for i := range shown {
		b := make([]byte, recoveryLen)
		for j := range b {
			b[j] = recoveryAlphabet[randIntn(len(recoveryAlphabet))]
		}
		shown[i] = string(b[:recoveryLen/2]) + "-" + string(b[recoveryLen/2:])
		stored[i] = storage.RecoveryCode{ID: uuid.NewString(), CodeHash: f.c.Hasher.Hash(recoveryKind, normalRecovery(shown[i]))}
	}
	return shown, stored
}

// normalRecovery is a typed recovery code as it is hashed: lower case,
// without spaces and dashes.
func normalRecovery(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// randIntn is a uniform random number below n (n ≤ 256), from crypto/rand.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// factorMail is the change's mail to u (none when u has no address mails
// may go to).
func (f *Flow) factorMail(ctx context.Context, u storage.User, kind, action string, in FactorInput, now time.Time) (storage.FactorChange, error) {
	c := storage.FactorChange{UserID: u.ID, Now: now}
	if !f.mailable(u) {
		return c, nil
	}
	lang := in.Lang
	if lang == "" {
		lang = u.Lang
	}
	m, err := f.c.Mailer.Compose(lang, templates.MailFactorChanged, mail.Address{Name: u.Name, Email: u.Email},
		&templates.FactorChangedMail{Kind: kind, Action: action, Time: now.In(f.Zone(ctx, u)), IP: in.IP, Left: in.left})
	if err != nil {
		return c, err
	}
	c.Mail = &m
	return c, nil
}

// factorEvent is the audit event of a change of u's factors.
func (f *Flow) factorEvent(u storage.User, typ, detail, clientID, ip string, now time.Time) *storage.AuditEvent {
	return &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: typ, OrganizationID: u.OrganizationID, UserID: u.ID,
		ClientID: clientID, IP: ip, Outcome: "success", Detail: detail}
}

// hasAMR reports whether amr holds any of vs.
func hasAMR(amr []string, vs ...string) bool {
	return slices.ContainsFunc(amr, func(v string) bool { return slices.Contains(vs, v) })
}
