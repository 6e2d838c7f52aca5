package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// policyProblem explains, in English, the rules of the password policy a
// password broke.
func policyProblem(policy *login.PolicyError) error {
	en := i18n.NewPrinter(language.English)
	msgs := make([]string, len(policy.Violations))
	for i, r := range policy.Violations {
		msgs[i] = en.T(r.Key, r.Args...)
	}
	return fmt.Errorf("the password does not meet the password policy:\n  %s", strings.Join(msgs, "\n  "))
}

func newUserSetPasswordCmd() *cobra.Command {
	var fromStdin bool
	var lang string
	cmd := newAccountCmd("set-password", "Set an account's password (read from standard input) and end its sessions, as a reset does", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			if !fromStdin {
				return errors.New("pass --password-stdin and write the password to standard input")
			}
			if lang == "" {
				lang = mailLang(u, cfg)
			} else if !i18n.IsCode(lang) {
				return fmt.Errorf("--lang: %q is not one of en, ja", lang)
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, os.Stderr)})
			if err != nil {
				return err
			}
			ended, err := flow.SetPassword(ctx, u, pw, lang)
			var policy *login.PolicyError
			switch {
			case errors.As(err, &policy):
				return policyProblem(policy)
			case errors.Is(err, login.ErrInvited):
				return fmt.Errorf("user %s has an open invitation: they choose their password when they accept it (resend it from the console)", u.ID)
			case errors.Is(err, login.ErrNotMigrated):
				return fmt.Errorf("user %s was imported from the legacy product and has not migrated: their first sign-in sets the password by a mailed code", u.ID)
			case errors.Is(err, storage.ErrNotFound):
				return fmt.Errorf("user %s no longer exists", u.ID)
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "set the password of user %s (organization %s); ended %d session(s), %d back-channel logout deliveries queued\n",
				u.ID, org.Code, len(ended.Ended), len(ended.Deliveries))
			if u.Email != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "queued the \"password changed\" notice (the running server sends it)")
			}
			return nil
		})
	cmd.Use = "set-password --password-stdin"
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().StringVar(&lang, "lang", "", "language of the \"password changed\" mail (en, ja; default: the user's)")
	return cmd
}

func newUserRequirePasswordChangeCmd() *cobra.Command {
	return newAccountCmd("require-password-change", "Make an account choose a new password at its next sign-in", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			switch {
			case u.InvitedAt != nil:
				return fmt.Errorf("user %s has an open invitation: they choose their password when they accept it", u.ID)
			case u.MustChangePassword:
				fmt.Fprintf(cmd.OutOrStdout(), "user %s must change the password already: nothing changed\n", u.ID)
				return nil
			}
			now := time.Now().UTC()
			_, _, err := st.ChangeMember(ctx, storage.MemberChange{OrganizationID: org.ID, UserID: u.ID, Now: now,
				Update: func(u storage.User) (storage.User, error) {
					u.MustChangePassword, u.UpdatedAt = true, now
					return u, nil
				},
				Audit: []storage.AuditEvent{{ID: uuid.NewString(), Time: now, Type: "password_change_required", OrganizationID: org.ID,
					UserID: u.ID, Outcome: "success", Detail: "cli"}}})
			if err != nil {
				return changeError(err, u, cfg)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s (organization %s) must choose a new password at the next sign-in\n", u.ID, org.Code)
			return nil
		})
}

func newUserClearThrottleCmd() *cobra.Command {
	return newAccountCmd("clear-throttle", "Forget an account's counters of password attempts, wrong codes and mailed codes", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, os.Stderr)})
			if err != nil {
				return err
			}
			if err := flow.ClearThrottle(ctx, u, org); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cleared the attempt counters of user %s (organization %s); the counters of client addresses stay\n", u.ID, org.Code)
			return nil
		})
}
