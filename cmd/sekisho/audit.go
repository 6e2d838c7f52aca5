package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "See audit events"}
	cmd.AddCommand(newAuditListCmd())
	return cmd
}

// auditJSON is an audit event in --json output; the time is in the
// organization's time zone when --organization is given, else UTC.
type auditJSON struct {
	ID           string  `json:"id"`
	Time         string  `json:"time"`
	Kind         string  `json:"kind"`
	Organization *orgRef `json:"organization"`
	UserID       string  `json:"user_id"`
	ActorID      string  `json:"actor_id"`
	ClientID     string  `json:"client_id"`
	IP           string  `json:"ip"`
	Outcome      string  `json:"outcome"`
	Detail       string  `json:"detail"`
}

// parseSince reads --since: an RFC 3339 time, or a duration back from
// now ("24h", "7d").
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var d config.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil || d.IsOff() || d < 0 {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2025-04-01T00:00:00+09:00) or a duration back from now (24h, 7d)", s)
	}
	return now.Add(-d.D()), nil
}

// auditUser resolves --user: an account id as it is (the events of a
// deleted account stay), an address or an account name by the rule of
// accountFlags.
func auditUser(ctx context.Context, st storage.Storage, cfg *config.Config, user, orgCode string) (string, error) {
	if _, err := uuid.Parse(user); err == nil {
		return user, nil
	}
	a := &accountFlags{org: orgCode, emailFlag: "user"}
	switch {
	case strings.Contains(user, "@"):
		a.email = user
	case orgCode == "":
		return "", fmt.Errorf("--user %q: an account name needs --organization", user)
	default:
		a.username = user
	}
	u, _, err := a.find(ctx, st, cfg)
	return u.ID, err
}

func newAuditListCmd() *cobra.Command {
	var f storage.AuditFilter
	var orgCode, user, since string
	var asJSON, listAll bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listAll && (cmd.Flags().Changed("limit") || cmd.Flags().Changed("offset")) {
				return fmt.Errorf("--all lists every match: it goes without --limit and --offset")
			}
			if f.Limit < 1 || f.Limit > maxPage {
				return fmt.Errorf("--limit must be 1 to %d", maxPage)
			}
			if f.Offset < 0 {
				return fmt.Errorf("--offset must not be negative")
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				f.Since = t
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				loc := time.UTC
				orgs := map[string]storage.Organization{}
				all, err := st.ListOrganizations(ctx)
				if err != nil {
					return err
				}
				for _, o := range all {
					orgs[o.ID] = o
				}
				if orgCode != "" {
					o, err := findOrganization(ctx, st, orgCode)
					if err != nil {
						return err
					}
					f.OrganizationID, loc = o.ID, location(o)
				}
				if user != "" {
					if f.UserID, err = auditUser(ctx, st, cfg, user, orgCode); err != nil {
						return err
					}
				}
				var events []storage.AuditEvent
				if listAll {
					// Events written meanwhile push older ones to later pages.
					events, _, err = readPages(cmd.ErrOrStderr(), "audit list", "events", func(offset, limit int) ([]storage.AuditEvent, int, error) {
						f.Offset, f.Limit = offset, limit
						page, err := st.ListAuditEvents(ctx, f)
						return page, -1, err
					}, func(e storage.AuditEvent) string { return e.ID })
				} else {
					events, err = st.ListAuditEvents(ctx, f)
				}
				if err != nil {
					return err
				}
				if asJSON {
					out := make([]auditJSON, len(events))
					for i, e := range events {
						out[i] = auditJSON{ID: e.ID, Time: e.Time.In(loc).Format(time.RFC3339), Kind: e.Type, UserID: e.UserID,
							ActorID: e.ActorID, ClientID: e.ClientID, IP: e.IP, Outcome: e.Outcome, Detail: e.Detail}
						if o, ok := orgs[e.OrganizationID]; ok {
							out[i].Organization = &orgRef{ID: o.ID, Code: o.Code}
						}
					}
					return writeJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tKIND\tORGANIZATION\tUSER\tACTOR\tCLIENT\tIP\tOUTCOME\tDETAIL")
				for _, e := range events {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.60s\n", e.Time.In(loc).Format(time.RFC3339), e.Type,
						dash(orgs[e.OrganizationID].Code), dash(e.UserID), dash(e.ActorID), dash(e.ClientID), dash(e.IP), dash(e.Outcome),
						e.Detail)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if !listAll && len(events) == f.Limit {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d events shown; older ones: --offset %d\n", len(events), f.Offset+len(events))
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&orgCode, "organization", "", "only events of this organization (times in its time zone)")
	fl.StringVar(&user, "user", "", "only events of this account: its id, email or account name (with --organization as for user show)")
	fl.StringVar(&f.Type, "kind", "", "only events of this kind (login, login_failed, user_added, role_changed, ...)")
	fl.StringVar(&since, "since", "", "only events at or after this time: RFC 3339, or a duration back from now (24h, 7d)")
	fl.IntVar(&f.Limit, "limit", 100, fmt.Sprintf("events per page (at most %d)", maxPage))
	fl.IntVar(&f.Offset, "offset", 0, "events to skip")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.BoolVar(&listAll, "all", false, fmt.Sprintf("every match, read %d at a time, with progress on standard error", maxPage))
	return cmd
}
