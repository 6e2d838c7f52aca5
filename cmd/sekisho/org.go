package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func newOrgCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organizations (the companies, facilities or customer accounts members belong to)"}
	cmd.AddCommand(newOrgAddCmd(), newOrgSetCmd(), newOrgListCmd(), newOrgShowCmd())
	return cmd
}

// orgInput is what org add and org set take.
type orgInput struct {
	code, name, timeZone string
	maxMembers           int
}

// addFlags registers the flags of what an organization has.
func (in *orgInput) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&in.name, "name", "", "the display name")
	f.StringVar(&in.timeZone, "time-zone", "", "IANA time zone (when added: organizations.default_time_zone)")
	f.IntVar(&in.maxMembers, "max-members", 0, "member limit of this organization (0: the deployment's organizations.max_members)")
}

// check validates what was given, in the canonical forms.
func (in *orgInput) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("code") {
		code, err := identifier.Username(in.code)
		if err != nil {
			return fmt.Errorf("--code must be 1 to %d characters without spaces or control characters", identifier.MaxUsernameLength)
		}
		in.code = code
	}
	if cmd.Flags().Changed("name") {
		name, err := identifier.Name(in.name)
		if err != nil || name == "" {
			return fmt.Errorf("--name must be 1 to %d characters without control characters", identifier.MaxNameLength)
		}
		in.name = name
	}
	if cmd.Flags().Changed("time-zone") {
		if err := checkTimeZone(in.timeZone); err != nil {
			return err
		}
	}
	if in.maxMembers < 0 {
		return errors.New("--max-members must not be negative (0: the deployment's organizations.max_members)")
	}
	return nil
}

// checkTimeZone accepts IANA time zone names.
func checkTimeZone(tz string) error {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return fmt.Errorf("--time-zone %q is not an IANA time zone name such as Asia/Tokyo or UTC", tz)
	}
	return nil
}

func newOrgAddCmd() *cobra.Command {
	var in orgInput
	cmd := &cobra.Command{
		Use:   "add --code C --name N",
		Short: "Add an organization",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := in.check(cmd); err != nil {
				return err
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				if !cmd.Flags().Changed("time-zone") {
					in.timeZone = cfg.Organizations.DefaultTimeZone
				}
				now := time.Now().UTC()
				o := storage.Organization{ID: uuid.NewString(), Code: in.code, Name: in.name, TimeZone: in.timeZone,
					MaxMembers: in.maxMembers, CreatedAt: now, UpdatedAt: now}
				err := st.CreateOrganization(ctx, o)
				if errors.Is(err, storage.ErrAlreadyExists) {
					return fmt.Errorf("an organization with the code %q exists already (codes compare case- and width-insensitively)", in.code)
				}
				if err != nil {
					return err
				}
				_ = st.AddAuditEvent(ctx, storage.AuditEvent{Time: now, Type: "organization_created", OrganizationID: o.ID,
					Outcome: "success", Detail: "cli"})
				fmt.Fprintf(cmd.OutOrStdout(), "created organization %s (id %s, time zone %s)\n", o.Code, o.ID, o.TimeZone)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&in.code, "code", "", "the code people type to sign in (a facility code, a customer login ID)")
	in.addFlags(cmd)
	_ = cmd.MarkFlagRequired("code")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newOrgSetCmd() *cobra.Command {
	var in orgInput
	var b orgBrandInput
	var mfaPolicy string
	cmd := &cobra.Command{
		Use:   "set CODE [--name N] [--time-zone TZ] [--max-members N] [--mfa-policy P] [--brand-name N] [--logo FILE | --no-logo]",
		Short: "Change an organization's name, time zone, member limit, second-factor policy or brand (name and logo on its pages)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := in.check(cmd); err != nil {
				return err
			}
			if err := b.check(cmd); err != nil {
				return err
			}
			switch mfaPolicy {
			case "", "deployment", config.MFAOff, config.MFAOptional, config.MFARequired:
			default:
				return fmt.Errorf("--mfa-policy %q: want off, optional, required or deployment (the deployment's mfa.policy)", mfaPolicy)
			}
			if !cmd.Flags().Changed("name") && !cmd.Flags().Changed("time-zone") && !cmd.Flags().Changed("max-members") &&
				!cmd.Flags().Changed("mfa-policy") && !b.changed(cmd) {
				return errors.New("nothing to change: give --name, --time-zone, --max-members, --mfa-policy, --brand-name, --logo or --no-logo")
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				o, err := findOrganization(ctx, st, args[0])
				if err != nil {
					return err
				}
				now := time.Now().UTC()
				if b.logoChanged(cmd) {
					if err := st.SetOrganizationLogo(ctx, o.ID, b.logo, b.logoType, b.logoHash, storage.AuditEvent{Time: now,
						Type: "organization_changed", OrganizationID: o.ID, Outcome: "success", Detail: "cli: logo"}); err != nil {
						return err
					}
				}
				o, err = st.UpdateOrganization(ctx, o.ID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
					b.apply(cmd, &o)
					if cmd.Flags().Changed("name") {
						o.Name = in.name
					}
					if cmd.Flags().Changed("time-zone") {
						o.TimeZone = in.timeZone
					}
					if cmd.Flags().Changed("max-members") {
						o.MaxMembers = in.maxMembers
					}
					if cmd.Flags().Changed("mfa-policy") {
						o.MFAPolicy = strings.TrimPrefix(mfaPolicy, "deployment")
					}
					o.UpdatedAt = now
					return o, []storage.AuditEvent{{Time: now, Type: "organization_changed", OrganizationID: o.ID,
						Outcome: "success", Detail: "cli"}}, nil
				})
				if err != nil {
					return err
				}
				policy := o.MFAPolicy
				if policy == "" {
					policy = cfg.MFA.Policy + " (the deployment's)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "organization %s: name %q, time zone %s, member limit %s, second factors %s, brand %s\n", o.Code, o.Name,
					o.TimeZone, limitText(memberLimit(cfg, o)), policy, brandText(o))
				return nil
			})
		},
	}
	in.addFlags(cmd)
	b.addFlags(cmd)
	cmd.Flags().StringVar(&mfaPolicy, "mfa-policy", "", "the organization's own mfa.policy: off, optional, required, or deployment (follow the deployment's); the strictest of it, the deployment's and the client's applies")
	return cmd
}

// memberLimit is the member limit in force for o (0: none).
func memberLimit(cfg *config.Config, o storage.Organization) int {
	if o.MaxMembers > 0 {
		return o.MaxMembers
	}
	return cfg.Organizations.MaxMembers
}

func limitText(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}

// orgJSON is an organization in --json output.
type orgJSON struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	// MaxMembers is the organization's own limit (0: the deployment's);
	// MemberLimit the one in force (0: none).
	MaxMembers  int `json:"max_members"`
	MemberLimit int `json:"member_limit"`
	// BrandName is the organization's own brand name (empty: the
	// deployment's); LogoType its own logo's media type (empty: none).
	BrandName struct {
		JA string `json:"ja"`
		EN string `json:"en"`
	} `json:"brand_name"`
	LogoType  string    `json:"logo_type"`
	Members   *int      `json:"members,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toOrgJSON(cfg *config.Config, o storage.Organization) orgJSON {
	j := orgJSON{ID: o.ID, Code: o.Code, Name: o.Name, TimeZone: o.TimeZone, MaxMembers: o.MaxMembers,
		MemberLimit: memberLimit(cfg, o), LogoType: o.LogoType, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	j.BrandName.JA, j.BrandName.EN = o.BrandNameJA, o.BrandNameEN
	return j
}

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newOrgListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List organizations, by code",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				orgs, err := st.ListOrganizations(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					out := make([]orgJSON, len(orgs))
					for i, o := range orgs {
						out[i] = toOrgJSON(cfg, o)
					}
					return writeJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CODE\tNAME\tTIME ZONE\tMEMBER LIMIT\tID\tCREATED")
				for _, o := range orgs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Code, o.Name, o.TimeZone, limitText(memberLimit(cfg, o)), o.ID,
						o.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newOrgShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show CODE",
		Short: "Show an organization and its number of members",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				o, err := findOrganization(ctx, st, args[0])
				if err != nil {
					return err
				}
				p, err := st.ListMembers(ctx, storage.MemberFilter{OrganizationID: o.ID, Limit: 1})
				if err != nil {
					return err
				}
				j := toOrgJSON(cfg, o)
				j.Members = &p.Total
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), j)
				}
				own := ""
				if o.MaxMembers == 0 && j.MemberLimit > 0 {
					own = " (organizations.max_members)"
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				for _, kv := range [][2]string{
					{"code", o.Code}, {"name", o.Name}, {"id", o.ID}, {"time zone", o.TimeZone},
					{"members", strconv.Itoa(p.Total)}, {"member limit", limitText(j.MemberLimit) + own}, {"brand", brandText(o)},
					{"created", o.CreatedAt.Format(time.RFC3339)}, {"updated", o.UpdatedAt.Format(time.RFC3339)},
				} {
					fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Grant and revoke platform administration (every organization, in the console)"}
	cmd.AddCommand(newAdminSetCmd(true), newAdminSetCmd(false))
	return cmd
}

// newAdminSetCmd builds admin grant (grant) and admin revoke.
func newAdminSetCmd(grant bool) *cobra.Command {
	use, short, event := "revoke", "Make a platform administrator an ordinary account again", "platform_admin_revoked"
	if grant {
		use, short, event = "grant", "Make an account a platform administrator, who administers every organization in the console",
			"platform_admin_granted"
	}
	return newAccountCmd(use, short, "email", func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config,
		u storage.User, org storage.Organization) error {
		if u.PlatformAdmin == grant {
			fmt.Fprintf(cmd.OutOrStdout(), "user %s is %s a platform administrator: nothing changed\n", u.ID,
				map[bool]string{true: "already", false: "not"}[grant])
			return nil
		}
		now := time.Now().UTC()
		_, _, err := st.ChangeMember(ctx, storage.MemberChange{OrganizationID: org.ID, UserID: u.ID, Now: now,
			Update: func(u storage.User) (storage.User, error) {
				u.PlatformAdmin, u.UpdatedAt = grant, now
				return u, nil
			},
			Audit: []storage.AuditEvent{{ID: uuid.NewString(), Time: now, Type: event, OrganizationID: org.ID, UserID: u.ID,
				Outcome: "success", Detail: "cli"}}})
		if err != nil {
			return changeError(err, u, cfg)
		}
		what := "is no longer"
		if grant {
			what = "is now"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "user %s (organization %s) %s a platform administrator\n", u.ID, org.Code, what)
		return nil
	})
}
