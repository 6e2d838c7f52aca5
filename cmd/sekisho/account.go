package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// findOrganization finds an organization by the code an operator typed.
func findOrganization(ctx context.Context, st storage.OrganizationStore, code string) (storage.Organization, error) {
	o, err := st.GetOrganizationByCode(ctx, code)
	if errors.Is(err, storage.ErrNotFound) {
		return o, fmt.Errorf("no organization with the code %q (see `sekisho org list`)", code)
	}
	return o, err
}

// accountFlags name one account on the command line: by --id, or by its
// email or account name. In the organization sign-in modes an address
// is unique only within its organization, so --email and --username
// need --organization there and are looked up inside it, never across
// organizations. In the email mode --email alone finds the account
// (addresses are unique in the deployment); --organization, when given,
// narrows every look-up to that organization.
type accountFlags struct {
	id, email, username, org string
	emailFlag                string // the name of the email flag: "email", or "user" for the session commands
}

// addAccountFlags registers the flags on cmd; emailFlag names the email
// flag.
func addAccountFlags(cmd *cobra.Command, emailFlag string) *accountFlags {
	a := &accountFlags{emailFlag: emailFlag}
	f := cmd.Flags()
	f.StringVar(&a.id, "id", "", "the account's id")
	f.StringVar(&a.email, emailFlag, "", "the account's email")
	f.StringVar(&a.username, "username", "", "the account's name in its organization (with --organization)")
	f.StringVar(&a.org, "organization", "", "the code of the account's organization (required with --"+emailFlag+
		" in the organization sign-in modes, and with --username)")
	cmd.MarkFlagsOneRequired("id", emailFlag, "username")
	cmd.MarkFlagsMutuallyExclusive("id", emailFlag, "username")
	return a
}

// find looks the account up by the rule above and returns it with its
// organization.
func (a *accountFlags) find(ctx context.Context, st storage.Storage, cfg *config.Config) (storage.User, storage.Organization, error) {
	var org storage.Organization
	var err error
	if a.org != "" {
		if org, err = findOrganization(ctx, st, a.org); err != nil {
			return storage.User{}, org, err
		}
	}
	var u storage.User
	var what string
	switch {
	case a.id != "":
		what = "id " + a.id
		if a.org != "" {
			u, err = st.GetMember(ctx, org.ID, a.id)
		} else {
			u, err = st.GetUser(ctx, a.id)
		}
	case a.username != "":
		if a.org == "" {
			return u, org, errors.New("--username needs --organization: account names are unique only within an organization")
		}
		what = "account name " + a.username
		u, err = st.GetMemberByUsername(ctx, org.ID, a.username)
	default:
		what = "email " + a.email
		switch {
		case a.org != "":
			u, err = st.GetMemberByEmail(ctx, org.ID, a.email)
		case cfg.Login.HasOrganization():
			return u, org, fmt.Errorf("--%s needs --organization: with login.identifier %s an address is unique only within its organization",
				a.emailFlag, cfg.Login.Identifier)
		default:
			u, err = st.GetUserByEmail(ctx, a.email)
		}
	}
	switch {
	case errors.Is(err, storage.ErrNotFound) && a.org != "":
		return u, org, fmt.Errorf("no account with the %s in organization %s", what, org.Code)
	case errors.Is(err, storage.ErrNotFound):
		return u, org, fmt.Errorf("no user with the %s", what)
	case err != nil:
		return u, org, err
	}
	if a.org == "" {
		if org, err = st.GetOrganization(ctx, u.OrganizationID); err != nil {
			return u, org, fmt.Errorf("the organization of user %s: %w", u.ID, err)
		}
	}
	return u, org, nil
}

// operatorGuard lets an operator change a member: no rank rule, but the
// last holder of the highest role stays.
func operatorGuard(cfg *config.Config) *storage.MemberGuard {
	return &storage.MemberGuard{Operator: true, Rank: cfg.Rank, TopRole: cfg.TopRole()}
}

// changeError explains a refused member change.
func changeError(err error, u storage.User, cfg *config.Config) error {
	switch {
	case errors.Is(err, storage.ErrLastOwner):
		return fmt.Errorf("user %s is the last active %s of the organization: give the role to another member first", u.ID, cfg.TopRole())
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("user %s no longer exists", u.ID)
	}
	return err
}

// checkRole refuses a role the configuration does not declare.
func checkRole(cfg *config.Config, role string) error {
	if p := roleProblem(cfg, role); p != "" {
		return errors.New("--role " + p)
	}
	return nil
}

// roleProblem says why role is not a declared one, or "".
func roleProblem(cfg *config.Config, role string) string {
	if _, _, ok := cfg.Rank(role); ok {
		return ""
	}
	if len(cfg.Roles) == 0 {
		return fmt.Sprintf("%q: the configuration declares no roles (roles:)", role)
	}
	names := make([]string, len(cfg.Roles))
	for i, r := range cfg.Roles {
		names[i] = r.Name
	}
	return fmt.Sprintf("%q is not a declared role (%s)", role, strings.Join(names, ", "))
}

// accountRun is the work of a command on one account.
type accountRun func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User,
	org storage.Organization) error

// newAccountCmd builds a command that acts on the one account its
// accountFlags name (emailFlag names the email flag).
func newAccountCmd(use, short, emailFlag string, run accountRun) *cobra.Command {
	var acct *accountFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				u, org, err := acct.find(ctx, st, cfg)
				if err != nil {
					return err
				}
				return run(ctx, cmd, st, cfg, u, org)
			})
		},
	}
	acct = addAccountFlags(cmd, emailFlag)
	return cmd
}
