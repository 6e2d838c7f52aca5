package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/op"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// cliLogout ends sessions from the command line: the deliveries it writes
// are sent by the running server's workers.
func cliLogout(st storage.Storage, cfg *config.Config) *op.Logout {
	return op.NewLogout(op.LogoutConfig{Store: st, Config: cfg})
}

func newSessionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "See and end users' SSO sessions"}
	cmd.AddCommand(newSessionListCmd(), newSessionRevokeCmd())
	return cmd
}

func newSessionListCmd() *cobra.Command {
	return newAccountCmd("list", "List a user's sessions", "user",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, _ *config.Config, u storage.User, _ storage.Organization) error {
			sessions, err := st.ListUserSessions(ctx, u.ID)
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SID\tSTATE\tSIGNED IN\tLAST SEEN\tIP\tBROWSER")
			for _, s := range sessions {
				state := "active"
				switch {
				case s.EndedAt != nil:
					state = "ended " + s.EndedAt.Format(time.RFC3339)
				case !s.Active(now):
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.40s\n", s.ID, state, s.AuthTime.Format(time.RFC3339),
					s.LastSeenAt.Format(time.RFC3339), s.IP, s.UserAgent)
			}
			return tw.Flush()
		})
}

func newSessionRevokeCmd() *cobra.Command {
	return newAccountCmd("revoke", "End every session of a user, revoke all their tokens and notify every client", "user",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			now := time.Now().UTC()
			res, err := cliLogout(st, cfg).End(ctx, storage.SessionEnd{UserID: u.ID, Now: now,
				Reason: storage.EndRevoked, RevokeAllTokens: true})
			if err != nil {
				return err
			}
			_ = st.AddAuditEvent(ctx, storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "sessions_revoked",
				OrganizationID: org.ID, UserID: u.ID, Outcome: "success", Detail: "cli"})
			fmt.Fprintf(cmd.OutOrStdout(), "ended %d session(s) of user %s; %d back-channel logout deliveries queued\n",
				len(res.Ended), u.ID, len(res.Deliveries))
			return nil
		})
}

func newLogoutDeliveriesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "logout-deliveries", Short: "See back-channel logout deliveries"}
	var status string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List back-channel logout deliveries, newest first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, _ *config.Config) error {
				if err := checkStatus(status, deliveryStates); err != nil {
					return err
				}
				ds, err := st.ListLogoutDeliveries(ctx, storage.DeliveryFilter{Status: status, Limit: limit})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCLIENT\tSTATUS\tATTEMPTS\tREASON\tCREATED\tNEXT/FINISHED\tLAST ERROR")
				for _, d := range ds {
					when := d.NextAttemptAt
					if d.FinishedAt != nil {
						when = *d.FinishedAt
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%.60s\n", d.ID, d.ClientID, d.Status, d.Attempts, d.Reason,
						d.CreatedAt.Format(time.RFC3339), when.Format(time.RFC3339), d.LastError)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&status, "status", "", "only deliveries in this state: pending, delivered or failed")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.AddCommand(list)
	return cmd
}

func newOutboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "See and resend mails in the outbox"}
	var status string
	var limit int
	var showAddresses bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List mails, newest first (bodies are never shown; addresses masked unless --show-addresses)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, _ *config.Config) error {
				if err := checkStatus(status, mailStates); err != nil {
					return err
				}
				ms, err := st.ListMail(ctx, storage.DeliveryFilter{Status: status, Limit: limit})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTO\tTEMPLATE\tSTATUS\tATTEMPTS\tCREATED\tNEXT/FINISHED\tLAST ERROR")
				for _, m := range ms {
					when := m.NextAttemptAt
					if m.FinishedAt != nil {
						when = *m.FinishedAt
					}
					to := m.Recipient
					if !showAddresses {
						to = login.MaskEmail(to)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.60s\n", m.ID, to, m.Template, m.Status, m.Attempts,
						m.CreatedAt.Format(time.RFC3339), when.Format(time.RFC3339), m.LastError)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&status, "status", "", "only mails in this state: pending, delivered, failed or expired")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	list.Flags().BoolVar(&showAddresses, "show-addresses", false, "show recipients in full (they are personal data: a***@example.com otherwise)")
	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Send a failed (or waiting) mail again now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, _ *config.Config) error {
				err := st.RetryMail(ctx, args[0], time.Now().UTC())
				switch {
				case errors.Is(err, storage.ErrNotFound):
					return fmt.Errorf("no mail with the id %s", args[0])
				case errors.Is(err, storage.ErrConflict):
					if m, err := st.GetMail(ctx, args[0]); err == nil && m.Status == storage.DeliveryExpired {
						return fmt.Errorf("mail %s expired unsent: the code or link it carried no longer works", args[0])
					}
					return fmt.Errorf("mail %s was delivered already", args[0])
				case err != nil:
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "mail %s will be sent again by the running server\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}

// deliveryStates are the states of logout deliveries; mails may also
// have expired.
var (
	deliveryStates = []string{storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed}
	mailStates     = append(slices.Clone(deliveryStates), storage.DeliveryExpired)
)

// checkStatus accepts "" and the given states.
func checkStatus(status string, states []string) error {
	if status == "" || slices.Contains(states, status) {
		return nil
	}
	return fmt.Errorf("--status must be one of %s", strings.Join(states, ", "))
}
