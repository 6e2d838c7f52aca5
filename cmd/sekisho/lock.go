package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// idleBefore is the dormant rule's cutoff at now (zero: the lock is off).
func idleBefore(cfg *config.Config, now time.Time) time.Time {
	if d := cfg.Lifecycle.DormantAfterD(); d > 0 {
		return now.Add(-d)
	}
	return time.Time{}
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func newUserUnlockCmd() *cobra.Command {
	var acct accountFlags
	var allDormant bool
	cmd := &cobra.Command{
		Use: "unlock (--id ID | --email E | --username U --organization C | --organization C --all-dormant)",
		Short: "Lift the dormant lock of an account, or of every locked account of an organization, until 24:00 today " +
			"in the organization's time zone",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			named := 0
			for _, v := range []string{acct.id, acct.email, acct.username} {
				if v != "" {
					named++
				}
			}
			switch {
			case allDormant && acct.org == "":
				return errors.New("--all-dormant needs --organization: it unlocks the locked accounts of one organization")
			case allDormant && named > 0:
				return errors.New("--all-dormant names no account: drop --id, --email and --username")
			case !allDormant && named != 1:
				return errors.New("name one account with --id, --email or --username (or use --organization C --all-dormant)")
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				if cfg.Lifecycle.DormantAfterD() <= 0 {
					return errors.New("lifecycle.dormant_after is off: no account is locked")
				}
				var org storage.Organization
				var u storage.User
				var err error
				if allDormant {
					org, err = findOrganization(ctx, st, acct.org)
				} else {
					u, org, err = acct.find(ctx, st, cfg)
				}
				if err != nil {
					return err
				}
				return unlock(ctx, cmd, st, cfg, org, u)
			})
		},
	}
	f := cmd.Flags()
	acct.emailFlag = "email"
	f.StringVar(&acct.id, "id", "", "the account's id")
	f.StringVar(&acct.email, "email", "", "the account's email")
	f.StringVar(&acct.username, "username", "", "the account's name in its organization (with --organization)")
	f.StringVar(&acct.org, "organization", "", "the code of the account's organization (with --all-dormant: the organization whose "+
		"locked accounts to unlock)")
	f.BoolVar(&allDormant, "all-dormant", false, "unlock every locked account of --organization")
	cmd.MarkFlagsMutuallyExclusive("id", "email", "username")
	return cmd
}

// unlock lifts the lock of u (zero: of every locked member of org) until
// 24:00 today in org's time zone, with account_unlocked (by the operator)
// for each, in one transaction.
func unlock(ctx context.Context, cmd *cobra.Command, st storage.Storage, cfg *config.Config, org storage.Organization, u storage.User) error {
	now := time.Now().UTC()
	loc := location(org)
	until := lifecycle.EndOfDay(now, loc)
	req := storage.MemberUnlock{OrganizationID: org.ID, All: u.ID == "", IdleBefore: idleBefore(cfg, now), Now: now, Until: until.UTC(),
		Guard: operatorGuard(cfg), Audit: storage.AuditEvent{Type: "account_unlocked", Outcome: "success", Detail: "cli"}}
	if u.ID != "" {
		req.UserIDs = []string{u.ID}
	}
	done, err := st.UnlockMembers(ctx, req)
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	out := cmd.OutOrStdout()
	deadline := until.In(loc).Format(time.RFC3339)
	switch {
	case u.ID != "" && len(done) == 0:
		fmt.Fprintf(out, "user %s is not locked: nothing changed\n", u.ID)
	case u.ID != "":
		fmt.Fprintf(out, "unlocked user %s until %s (24:00 in %s); without a sign-in by then it is locked again\n", u.ID, deadline, org.TimeZone)
	default:
		fmt.Fprintf(out, "unlocked %d account(s) of organization %s until %s (24:00 in %s)\n", len(done), org.Code, deadline, org.TimeZone)
	}
	return nil
}

// maxBackdate bounds backdate-login --days.
const maxBackdate = 3650

func newUserBackdateLoginCmd() *cobra.Command {
	var days int
	var dev bool
	var acct *accountFlags
	cmd := &cobra.Command{
		Use:   "backdate-login --dev --days N (--id ID | --email E | --username U --organization C)",
		Short: "Development only: move an account's last sign-in (and creation) N days back, to see the dormant lock without waiting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !dev {
				return errors.New("backdate-login is for development only: run it with --dev (on the database of `sekisho serve --dev`, " +
					"or with --config and --dev on a test database)")
			}
			if days < 1 || days > maxBackdate {
				return fmt.Errorf("--days must be 1 to %d", maxBackdate)
			}
			cfg, err := loadConfig(cmd, true)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg, newLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			u, org, err := acct.find(ctx, st, cfg)
			if err != nil {
				return err
			}
			at := time.Now().UTC().AddDate(0, 0, -days)
			after, err := st.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
				if u.CreatedAt.After(at) {
					u.CreatedAt = at
				}
				u.LastLoginAt, u.UnlockedUntil = &at, nil
				return u, nil
			})
			if err != nil {
				return err
			}
			locked := lifecycle.Locked(after, time.Now(), cfg.Lifecycle.DormantAfterD())
			fmt.Fprintf(cmd.OutOrStdout(), "user %s last signed in %s (%d days ago); locked now: %s\n", u.ID,
				at.In(location(org)).Format(time.RFC3339), days, yesNo(locked))
			return nil
		},
	}
	acct = addAccountFlags(cmd, "email")
	cmd.Flags().IntVar(&days, "days", 0, "how many days ago the last sign-in was (e.g. 91 with lifecycle.dormant_after 90d)")
	cmd.Flags().BoolVar(&dev, "dev", false, "required: this command is for development only")
	return cmd
}
