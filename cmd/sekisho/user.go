package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// withStore loads the configuration, opens the database and runs fn.
func withStore(cmd *cobra.Command, fn func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error) error {
	cfg, err := loadConfig(cmd, false)
	if err != nil {
		return err
	}
	st, err := openStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cmd.Context(), st, cfg)
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage user accounts"}
	cmd.AddCommand(newUserAddCmd(), newUserListCmd(),
		newUserStateCmd("disable", "Disable an account and end its sessions and tokens"),
		newUserStateCmd("enable", "Enable a disabled account"),
		newUserStateCmd("delete", "Delete an account, its sessions and tokens"))
	return cmd
}

func newUserAddCmd() *cobra.Command {
	var email, name string
	var fromStdin, mustChange, verified bool
	var lang string
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a user (the password is read from standard input)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fromStdin {
				return errors.New("pass --password-stdin and write the password to standard input")
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				if _, err := st.GetUserByEmail(ctx, email); err == nil {
					return fmt.Errorf("a user with the email %s already exists", strings.TrimSpace(email))
				}
				policy, err := server.PasswordPolicy(cfg)
				if err != nil {
					return err
				}
				if v := policy.Check(pw, password.Subject{Email: email, Name: name}); len(v) > 0 {
					en := i18n.NewPrinter(language.English)
					msgs := make([]string, len(v))
					for i, r := range v {
						msgs[i] = en.T(r.Key, r.Args...)
					}
					return fmt.Errorf("the password does not meet the password policy:\n  %s", strings.Join(msgs, "\n  "))
				}
				pw, _ = password.Normalize(pw)
				p := passwordParams(cfg)
				hash, err := password.New(p, 1).Hash(ctx, pw)
				if err != nil {
					return err
				}
				now := time.Now().UTC()
				u := storage.User{ID: uuid.NewString(), Email: strings.TrimSpace(email), Name: name, EmailVerified: verified,
					PasswordHash: hash, MustChangePassword: mustChange, CreatedAt: now, UpdatedAt: now}
				if cmd.Flags().Changed("lang") {
					u.Lang = lang
				}
				if err := st.CreateUser(ctx, u); err != nil {
					if errors.Is(err, storage.ErrAlreadyExists) {
						return fmt.Errorf("a user with the email %s already exists", u.Email)
					}
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s)\n", u.ID, u.Email)
				if verified {
					return nil
				}
				flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, os.Stderr)})
				if err != nil {
					return err
				}
				if err := flow.SendVerificationLink(ctx, u, lang); err != nil {
					return fmt.Errorf("queue the verification link: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "queued a verification link to %s (the running server sends it)\n", u.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "email address (the sign-in name)")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&mustChange, "must-change-password", false, "ask for a new password at the next sign-in")
	cmd.Flags().BoolVar(&verified, "email-verified", false, "mark the address verified (no verification link is sent)")
	cmd.Flags().StringVar(&lang, "lang", "en", "the user's language for mails (en, ja)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

// readPassword reads the password from r; one trailing newline is dropped.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), 4096))
	if err != nil {
		return "", err
	}
	pw := string(b)
	pw = strings.TrimSuffix(pw, "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", errors.New("empty password on standard input")
	}
	return pw, nil
}

func newUserListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, _ *config.Config) error {
				users, err := st.ListUsers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tVERIFIED\tDISABLED\tCREATED")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%t\t%s\n", u.ID, u.Email, u.Name, u.EmailVerified, u.Disabled,
						u.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
}

func newUserStateCmd(action, short string) *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   action,
		Short: short,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				u, err := userByEmail(ctx, st, email)
				if err != nil {
					return err
				}
				now := time.Now().UTC()
				// Sessions end with deliveries written, which a running
				// server sends: every client hears of it.
				end := storage.SessionEnd{UserID: u.ID, Now: now, RevokeAllTokens: true}
				switch action {
				case "delete":
					end.Reason = storage.EndDeleted
					if _, err = cliLogout(st, cfg).End(ctx, end); err == nil {
						err = st.DeleteUser(ctx, u.ID, now)
					}
				default:
					_, err = st.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
						u.Disabled, u.UpdatedAt = action == "disable", now
						return u, nil
					})
					if err == nil && action == "disable" {
						end.Reason = storage.EndDisabled
						_, err = cliLogout(st, cfg).End(ctx, end)
					}
				}
				if err != nil {
					return err
				}
				_ = st.AddAuditEvent(ctx, storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "user_" + action,
					UserID: u.ID, Outcome: "success", Detail: "cli"})
				fmt.Fprintf(cmd.OutOrStdout(), "%s user %s\n", map[string]string{"disable": "disabled", "enable": "enabled", "delete": "deleted"}[action], u.ID)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the user's email")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}
