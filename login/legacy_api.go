package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/storage"
)

// ErrUnknownLegacyUser: no user was imported with that legacy id.
var ErrUnknownLegacyUser = errors.New("login: no user with that legacy id")

// LegacyUser returns the user imported with legacyID (for the product's
// back end: the migration status).
func (f *Flow) LegacyUser(ctx context.Context, legacyID string) (storage.User, error) {
	u, err := f.c.Store.GetUserByLegacyID(ctx, legacyID)
	if errors.Is(err, storage.ErrNotFound) {
		return u, ErrUnknownLegacyUser
	}
	if err != nil {
		return u, fmt.Errorf("login: load legacy user: %w", err)
	}
	return u, nil
}

// LegacyAccount is an imported user as the legacy API names it: with
// the code of the organization the account belongs to.
type LegacyAccount struct {
	storage.User
	OrganizationCode string
}

// LegacyAccount returns the user imported with legacyID and its
// organization's code.
func (f *Flow) LegacyAccount(ctx context.Context, legacyID string) (LegacyAccount, error) {
	u, err := f.LegacyUser(ctx, legacyID)
	if err != nil {
		return LegacyAccount{User: u}, err
	}
	return f.legacyAccount(ctx, u)
}

func (f *Flow) legacyAccount(ctx context.Context, u storage.User) (LegacyAccount, error) {
	o, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		return LegacyAccount{User: u}, fmt.Errorf("login: load the organization of a legacy user: %w", err)
	}
	return LegacyAccount{User: u, OrganizationCode: o.Code}, nil
}

// LegacyEmailChange is a change of address made by the legacy product's
// back end.
type LegacyEmailChange struct {
	LegacyID string
	Email    string
	Verified bool
	ClientID string // the API client, for the audit log
}

// SetLegacyEmail gives an imported user (migrated or not) the address
// the product says, at once: the product is the authority for its users'
// addresses, so no verification link is sent, and email_verified is what
// the product says. The old address gets the "address changed" notice,
// in the user's language, and the codes mailed to it stop working. An
// address of another account is ErrEmailTaken; nothing changes then.
// The account is returned with its organization's code.
func (f *Flow) SetLegacyEmail(ctx context.Context, in LegacyEmailChange) (LegacyAccount, error) {
	u, err := f.setLegacyEmail(ctx, in)
	if err != nil {
		return LegacyAccount{User: u}, err
	}
	return f.legacyAccount(ctx, u)
}

func (f *Flow) setLegacyEmail(ctx context.Context, in LegacyEmailChange) (storage.User, error) {
	email, err := parseEmail(in.Email)
	if err != nil {
		return storage.User{}, err
	}
	u, err := f.LegacyUser(ctx, in.LegacyID)
	if err != nil {
		return u, err
	}
	if u.Email == email && u.EmailVerified == in.Verified {
		return u, nil
	}
	now := f.c.Now().UTC()
	notice, err := f.emailChangeNotice(ctx, u.Lang, u, email, now)
	if err != nil {
		return u, err
	}
	detail := "unverified"
	if in.Verified {
		detail = "verified"
	}
	changed, err := f.c.Store.ChangeEmail(ctx, storage.EmailChange{UserID: u.ID, Email: email, Verified: in.Verified,
		Now: now, Mail: notice, Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "email_changed",
			UserID: u.ID, ClientID: in.ClientID, Outcome: "success", Detail: "legacy_api " + detail}})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return u, ErrEmailTaken
	case errors.Is(err, storage.ErrNotFound):
		return u, ErrUnknownLegacyUser
	case err != nil:
		return u, fmt.Errorf("login: change email: %w", err)
	}
	if notice != nil {
		f.c.Mailer.SendNow(ctx, notice.ID)
	}
	return changed, nil
}
