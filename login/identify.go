package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// Sign-in modes (login.identifier): what the forms ask for to name an
// account.
const (
	// IdentifyEmail: the email address, unique across the deployment.
	IdentifyEmail = "email"
	// IdentifyOrgUsername: the organization code and the account name,
	// unique within the organization; the address is optional.
	IdentifyOrgUsername = "organization+username"
	// IdentifyOrgEmail: the organization code and the email address,
	// unique within the organization.
	IdentifyOrgEmail = "organization+email"
)

// ErrNoAddress: the password was right, but the next step needs a mail
// and the account has no registered address (an account-name account
// without a verified email): the administrators can add one.
var ErrNoAddress = errors.New("login: the account has no registered email address")

// AccountName is what a form names an account with. Which fields count
// depends on the sign-in mode: Email alone, or Organization with
// Username or Email.
type AccountName struct {
	Organization string
	Email        string
	Username     string
}

// managerName is what the sign-in form's autocomplete="username" field
// holds for the account n names in mode, so that a password manager saves
// a new password for the account it fills in: the account name in the
// account-name mode, else the address.
func managerName(mode string, n AccountName) string {
	if mode == IdentifyOrgUsername {
		return n.Username
	}
	return n.Email
}

// managerName is managerName for u in the flow's mode.
func (f *Flow) managerName(u storage.User) string {
	return managerName(f.Mode(), AccountName{Email: u.Email, Username: u.Username})
}

// Mode is the sign-in mode (Identify*).
func (f *Flow) Mode() string {
	if f.c.Identifier == "" {
		return IdentifyEmail
	}
	return f.c.Identifier
}

// HasOrganization reports whether people name their organization.
func (f *Flow) HasOrganization() bool { return f.Mode() != IdentifyEmail }

// ByUsername reports whether people sign in with an account name.
func (f *Flow) ByUsername() bool { return f.Mode() == IdentifyOrgUsername }

// named completes what a form sent with what the request fixes: an
// authorization request naming an organization (organization=) wins
// over the form's field, which the page shows read-only. Fields the mode
// does not use are dropped.
func (f *Flow) named(a storage.AuthRequest, n AccountName) AccountName {
	if !f.HasOrganization() {
		return AccountName{Email: n.Email}
	}
	if a.Organization != "" {
		n.Organization = a.Organization
	}
	if f.ByUsername() {
		n.Email = ""
	} else {
		n.Username = ""
	}
	return n
}

// accountKey is the one normalised form of the account a form names,
// under which its attempts are counted: the address (identifier.Key) in
// the email mode; the organization code and the account name or address
// otherwise, so that two organizations' accounts never share a count.
func (f *Flow) accountKey(n AccountName) string {
	switch f.Mode() {
	case IdentifyEmail:
		return identifier.Key(n.Email)
	case IdentifyOrgUsername:
		return identifier.UsernameKey(n.Organization) + "\x00" + identifier.UsernameKey(n.Username)
	}
	return identifier.UsernameKey(n.Organization) + "\x00" + identifier.Key(n.Email)
}

// lookup finds the account a form names, in the organization it names:
// storage.ErrNotFound for an unknown organization or account (one answer
// for both). org is the named organization when it exists.
func (f *Flow) lookup(ctx context.Context, n AccountName) (u storage.User, org storage.Organization, err error) {
	if !f.HasOrganization() {
		u, err = f.c.Store.GetUserByEmail(ctx, strings.TrimSpace(n.Email))
		return u, org, err
	}
	if strings.TrimSpace(n.Organization) == "" {
		return u, org, storage.ErrNotFound
	}
	if org, err = f.c.Store.GetOrganizationByCode(ctx, n.Organization); err != nil {
		return u, org, err
	}
	if f.ByUsername() {
		u, err = f.c.Store.GetMemberByUsername(ctx, org.ID, n.Username)
	} else {
		u, err = f.c.Store.GetMemberByEmail(ctx, org.ID, strings.TrimSpace(n.Email))
	}
	return u, org, err
}

// nameOf is how the forms name u: its address, or its organization's
// code with its account name or address.
func (f *Flow) nameOf(ctx context.Context, u storage.User) (AccountName, error) {
	if !f.HasOrganization() {
		return AccountName{Email: u.Email}, nil
	}
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		return AccountName{}, fmt.Errorf("login: load organization: %w", err)
	}
	n := AccountName{Organization: org.Code, Email: u.Email}
	if f.ByUsername() {
		n.Email, n.Username = "", u.Username
	}
	return n, nil
}

// NameOf is how the forms name u (for a form that posts it on).
func (f *Flow) NameOf(ctx context.Context, u storage.User) (AccountName, error) {
	return f.nameOf(ctx, u)
}

// mailable reports whether mails may go to u's address: any address in
// the email modes (it is how the account is named, and a code proves
// it); in the account-name mode, where an address is optional and typed
// by an administrator, only a verified one, or the address of an
// imported account that has not migrated (the legacy product's, which
// its reset migrates).
func (f *Flow) mailable(u storage.User) bool {
	return u.Email != "" && (u.EmailVerified || !f.ByUsername() || u.Imported())
}

// admits reports whether a may be answered for u: the organization the
// request names (organization=), if any, is u's, and u's organization is
// one the client is limited to (clients[].organizations), if it is
// limited.
func (f *Flow) admits(ctx context.Context, a storage.AuthRequest, u storage.User) (bool, error) {
	var limit []string
	if f.c.ClientOrganizations != nil {
		limit = f.c.ClientOrganizations(a.ClientID)
	}
	named := f.HasOrganization() && a.Organization != ""
	if !named && len(limit) == 0 {
		return true, nil
	}
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		return false, fmt.Errorf("login: load organization: %w", err)
	}
	key := identifier.UsernameKey(org.Code)
	if named && identifier.UsernameKey(a.Organization) != key {
		return false, nil
	}
	return len(limit) == 0 || slices.ContainsFunc(limit, func(c string) bool { return identifier.UsernameKey(c) == key }), nil
}
