package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// MemberFactors are a member's strong factors as the console shows them.
type MemberFactors struct {
	// TOTP: an authenticator app is set up (confirmed).
	TOTP bool
	// Passkeys are the names of the member's passkeys.
	Passkeys []string
	// RecoveryCodes counts the unused recovery codes.
	RecoveryCodes int
}

// Any reports whether the member has anything a reset would remove.
func (m MemberFactors) Any() bool { return m.TOTP || len(m.Passkeys) > 0 || m.RecoveryCodes > 0 }

// Factors reads the strong factors of a member Member loaded (in the
// actor's organization).
func (f *Flow) Factors(ctx context.Context, m MemberDetail) (MemberFactors, error) {
	return f.factorsOf(ctx, m.ID)
}

func (f *Flow) factorsOf(ctx context.Context, userID string) (MemberFactors, error) {
	var out MemberFactors
	t, err := f.c.Store.GetTOTP(ctx, userID)
	switch {
	case err == nil:
		out.TOTP = t.Confirmed()
	case !errors.Is(err, storage.ErrNotFound):
		return out, fmt.Errorf("admin: authenticator app: %w", err)
	}
	pks, err := f.c.Store.ListPasskeys(ctx, userID)
	if err != nil {
		return out, fmt.Errorf("admin: passkeys: %w", err)
	}
	for _, p := range pks {
		out.Passkeys = append(out.Passkeys, p.Name)
	}
	if out.RecoveryCodes, err = f.c.Store.CountRecoveryCodes(ctx, userID); err != nil {
		return out, fmt.Errorf("admin: recovery codes: %w", err)
	}
	return out, nil
}

// ResetFactors removes a member's authenticator app, passkeys and
// recovery codes (a member who lost them all), audited as mfa_reset and
// mailed to the member. Under mfa.policy required they set up a factor
// again at their next sign-in; their password and sessions stay.
func (f *Flow) ResetFactors(ctx context.Context, a Actor, id string) error {
	_, _, err := f.act(ctx, a, id, "reset factors", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		fs, err := f.factorsOf(ctx, m.ID)
		if err != nil {
			return storage.MemberChange{}, err
		}
		if !fs.Any() {
			return storage.MemberChange{}, problem("admin.error.no_factors")
		}
		c := storage.MemberChange{ResetFactors: true, Audit: []storage.AuditEvent{a.event("mfa_reset", m.ID, "administrator", now)}}
		if m.Email != "" && (m.EmailVerified || !f.ByUsername()) {
			notice, err := f.c.Mailer.Compose(f.lang(a, m), templates.MailFactorChanged, mail.Address{Name: m.Name, Email: m.Email},
				&templates.FactorChangedMail{Kind: templates.FactorAll, Action: templates.FactorReset, Time: now.In(a.Loc)})
			if err != nil {
				return c, fmt.Errorf("admin: factor reset notice: %w", err)
			}
			c.Mails = []storage.OutboxMail{notice}
		}
		return c, nil
	})
	return err
}
