package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/progress"
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
	cmd.AddCommand(newUserAddCmd(), newUserListCmd(), newUserShowCmd(), newUserSetEmailCmd(), newUserSetRoleCmd(),
		newUserStateCmd("disable", "Disable an account and end its sessions and tokens"),
		newUserStateCmd("enable", "Enable a disabled account"),
		newUserStateCmd("delete", "Delete an account, its sessions and tokens"),
		newUserSetPasswordCmd(), newUserRequirePasswordChangeCmd(), newUserClearThrottleCmd(), newUserUnlockCmd(), newUserBackdateLoginCmd())
	return cmd
}

func newUserAddCmd() *cobra.Command {
	var email, name, username, orgCode, role string
	var fromStdin, mustChange, verified, invite bool
	var lang string
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a user (the password is read from standard input, or an invitation is mailed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case invite && (fromStdin || mustChange || verified):
				return errors.New("--invite mails a link where the member chooses a password: it goes without --password-stdin, --must-change-password and --email-verified")
			case invite && email == "":
				return errors.New("--invite needs --email: the invitation is mailed there")
			case !invite && !fromStdin:
				return errors.New("pass --password-stdin and write the password to standard input, or --invite to mail an invitation")
			case verified && email == "":
				return errors.New("--email-verified needs --email")
			}
			var pw string
			var err error
			if !invite {
				if pw, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				switch {
				case cfg.Login.ByUsername() && username == "":
					return fmt.Errorf("--username is required: members sign in with an account name (login.identifier %s)", cfg.Login.Identifier)
				case !cfg.Login.ByUsername() && email == "":
					return fmt.Errorf("--email is required: members sign in with their address (login.identifier %s)", cfg.Login.Identifier)
				}
				org := storage.Organization{ID: storage.DefaultOrganizationID}
				if orgCode != "" {
					if org, err = findOrganization(ctx, st, orgCode); err != nil {
						return err
					}
				} else if org, err = st.GetOrganization(ctx, storage.DefaultOrganizationID); err != nil {
					return err
				}
				if !cmd.Flags().Changed("role") {
					role = cfg.DefaultRole()
				} else if err := checkRole(cfg, role); err != nil {
					return err
				}
				flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, os.Stderr)})
				if err != nil {
					return err
				}
				if !cmd.Flags().Changed("lang") {
					// No language of its own: its mails follow
					// ui.default_language, now and after it changes.
					lang = ""
				}
				u, err := flow.AddUser(ctx, login.NewUser{Organization: org, Limit: memberLimit(cfg, org), Email: email,
					Username: username, Name: name, Password: pw, Role: role, Verified: verified, MustChangePassword: mustChange, Invite: invite, Lang: lang})
				var policy *login.PolicyError
				switch {
				case errors.Is(err, login.ErrBadEmail):
					return errors.New("--email is not a valid email address")
				case errors.Is(err, login.ErrBadUsername):
					return fmt.Errorf("--username must be 1 to %d characters without spaces or control characters", identifier.MaxUsernameLength)
				case errors.Is(err, login.ErrBadName):
					return fmt.Errorf("--name must be at most %d characters, without control characters", identifier.MaxNameLength)
				case errors.As(err, &policy):
					return policyProblem(policy)
				case errors.Is(err, login.ErrEmailTaken) && cfg.Login.HasOrganization():
					return fmt.Errorf("an account with the email %s already exists in organization %s", u.Email, org.Code)
				case errors.Is(err, login.ErrEmailTaken):
					return fmt.Errorf("a user with the email %s already exists", u.Email)
				case errors.Is(err, login.ErrUsernameTaken):
					return fmt.Errorf("an account with the name %s already exists in organization %s", u.Username, org.Code)
				case errors.Is(err, storage.ErrAlreadyExists):
					return errors.New("the email or account name was taken by another account meanwhile")
				case errors.Is(err, storage.ErrMemberLimit):
					return fmt.Errorf("organization %s has as many members as it may (%d): raise it with `sekisho org set %s --max-members N`",
						org.Code, memberLimit(cfg, org), org.Code)
				case err != nil:
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s) in organization %s\n", u.ID, accountName(u), org.Code)
				switch {
				case invite:
					fmt.Fprintf(cmd.OutOrStdout(), "queued an invitation to %s, valid %s (the running server sends it)\n", u.Email, cfg.Invitation.Lifetime)
				case u.Email != "" && !verified:
					fmt.Fprintf(cmd.OutOrStdout(), "queued a verification link to %s (the running server sends it)\n", u.Email)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "email address (optional with --username in the organization+username mode)")
	f.StringVar(&username, "username", "", "account name in the organization (required in the organization+username mode)")
	f.StringVar(&orgCode, "organization", "", "code of the organization the account joins (default: the default organization)")
	f.StringVar(&role, "role", "", "the member's role, one of the declared roles (default: the lowest)")
	f.StringVar(&name, "name", "", "display name")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	f.BoolVar(&mustChange, "must-change-password", false, "ask for a new password at the next sign-in")
	f.BoolVar(&verified, "email-verified", false, "mark the address verified (no verification link is sent)")
	f.BoolVar(&invite, "invite", false, "mail an invitation to --email instead of setting a password")
	f.StringVar(&lang, "lang", "", "the user's language for mails (en, ja; default: ui.default_language)")
	return cmd
}

// accountName is how an account is named in output: its account name
// and address, as far as it has them.
func accountName(u storage.User) string {
	switch {
	case u.Username != "" && u.Email != "":
		return u.Username + ", " + u.Email
	case u.Username != "":
		return u.Username
	}
	return u.Email
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

// Member states the list filters on.
var (
	memberStatuses = []string{storage.StatusActive, storage.StatusLocked, storage.StatusInvited, storage.StatusInviteExpired,
		storage.StatusDisabled}
	emailStates = []string{storage.EmailRegistered, storage.EmailNotRegistered}
)

// maxPage bounds --limit.
const maxPage = 1000

// orgRef names a member's organization in --json output.
type orgRef struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

// memberJSON is an account in --json output. Times of the member's
// activity are in the organization's time zone; null when there is none.
type memberJSON struct {
	ID                 string  `json:"id"`
	Organization       orgRef  `json:"organization"`
	Username           string  `json:"username"`
	Email              string  `json:"email"`
	EmailVerified      bool    `json:"email_verified"`
	EmailState         string  `json:"email_state"`
	PendingEmail       string  `json:"pending_email"`
	Name               string  `json:"name"`
	Role               string  `json:"role"`
	Status             string  `json:"status"`
	MustChangePassword bool    `json:"must_change_password"`
	OTPEnabled         bool    `json:"otp_enabled"`
	PlatformAdmin      bool    `json:"platform_admin"`
	LegacyID           string  `json:"legacy_id"`
	MigratedAt         *string `json:"migrated_at"`
	LastLoginAt        *string `json:"last_login_at"`
	InvitedAt          *string `json:"invited_at"`
	Lang               string  `json:"lang"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

// zoned formats t in loc (RFC 3339); nil stays nil.
func zoned(t *time.Time, loc *time.Location) *string {
	if t == nil {
		return nil
	}
	s := t.In(loc).Format(time.RFC3339)
	return &s
}

// location is the organization's time zone (UTC when it cannot be
// loaded).
func location(o storage.Organization) *time.Location {
	if loc, err := time.LoadLocation(o.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

func toMemberJSON(m storage.Member, o storage.Organization) memberJSON {
	loc := location(o)
	return memberJSON{ID: m.ID, Organization: orgRef{ID: o.ID, Code: o.Code}, Username: m.Username, Email: m.Email,
		EmailVerified: m.EmailVerified, EmailState: m.EmailState, PendingEmail: m.PendingEmail, Name: m.Name, Role: m.Role,
		Status: m.Status, MustChangePassword: m.MustChangePassword, OTPEnabled: m.OTPEnabled, PlatformAdmin: m.PlatformAdmin,
		LegacyID: m.LegacyID, MigratedAt: zoned(m.MigratedAt, loc), LastLoginAt: zoned(m.LastLoginAt, loc),
		InvitedAt: zoned(m.InvitedAt, loc), Lang: m.Lang, CreatedAt: m.CreatedAt.In(loc).Format(time.RFC3339),
		UpdatedAt: m.UpdatedAt.In(loc).Format(time.RFC3339)}
}

// lastSignIn is the member's last interactive sign-in in the
// organization's time zone, or "never".
func lastSignIn(m storage.Member, o storage.Organization) string {
	if m.LastLoginAt == nil {
		return "never"
	}
	return m.LastLoginAt.In(location(o)).Format("2006-01-02 15:04 MST")
}

// memberPageJSON is user list's --json output.
type memberPageJSON struct {
	Total   int          `json:"total"`
	Offset  int          `json:"offset"`
	Limit   int          `json:"limit"`
	Members []memberJSON `json:"members"`
}

func newUserListCmd() *cobra.Command {
	var f storage.MemberFilter
	var orgCode string
	var asJSON, listAll bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List accounts, a page at a time or all of them (of one organization, or of all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listAll && (cmd.Flags().Changed("limit") || cmd.Flags().Changed("offset")) {
				return errors.New("--all lists every match: it goes without --limit and --offset")
			}
			if err := checkStatus(f.Status, memberStatuses); err != nil {
				return err
			}
			if f.EmailState != "" && !slices.Contains(emailStates, f.EmailState) {
				return fmt.Errorf("--email-state must be one of %s", strings.Join(emailStates, ", "))
			}
			if f.Limit < 1 || f.Limit > maxPage {
				return fmt.Errorf("--limit must be 1 to %d", maxPage)
			}
			if f.Offset < 0 {
				return errors.New("--offset must not be negative")
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				orgs := map[string]storage.Organization{}
				f.Now = time.Now().UTC()
				f.IdleBefore = idleBefore(cfg, f.Now)
				list := st.ListAccounts
				if orgCode != "" {
					o, err := findOrganization(ctx, st, orgCode)
					if err != nil {
						return err
					}
					orgs[o.ID], f.OrganizationID = o, o.ID
					list = st.ListMembers
				} else {
					all, err := st.ListOrganizations(ctx)
					if err != nil {
						return err
					}
					for _, o := range all {
						orgs[o.ID] = o
					}
				}
				var page storage.MemberPage
				var err error
				if listAll {
					page.Members, page.Total, err = readPages(cmd.ErrOrStderr(), "user list", "members",
						func(offset, limit int) ([]storage.Member, int, error) {
							f.Offset, f.Limit = offset, limit
							p, err := list(ctx, f)
							return p.Members, p.Total, err
						}, func(m storage.Member) string { return m.ID })
					f.Offset, f.Limit = 0, len(page.Members)
				} else {
					page, err = list(ctx, f)
				}
				if err != nil {
					return err
				}
				if asJSON {
					out := memberPageJSON{Total: page.Total, Offset: f.Offset, Limit: f.Limit, Members: make([]memberJSON, len(page.Members))}
					for i, m := range page.Members {
						out.Members[i] = toMemberJSON(m, orgs[m.OrganizationID])
					}
					return writeJSON(cmd.OutOrStdout(), out)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tORGANIZATION\tUSERNAME\tEMAIL\tEMAIL STATE\tNAME\tROLE\tSTATUS\tLAST SIGN-IN")
				for _, m := range page.Members {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, orgs[m.OrganizationID].Code, dash(m.Username), dash(m.Email),
						m.EmailState, dash(m.Name), dash(m.Role), m.Status, lastSignIn(m, orgs[m.OrganizationID]))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				pageNote(cmd.ErrOrStderr(), f.Offset, len(page.Members), page.Total)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&orgCode, "organization", "", "only this organization's members (default: every organization)")
	fl.StringVar(&f.Search, "search", "", "part of the name, account name or email")
	fl.StringVar(&f.Status, "status", "", "only members in this status: "+strings.Join(memberStatuses, ", "))
	fl.StringVar(&f.EmailState, "email-state", "", "only members whose address is registered (verified, no change waiting) or not_registered")
	fl.IntVar(&f.Limit, "limit", 50, fmt.Sprintf("members per page (at most %d)", maxPage))
	fl.IntVar(&f.Offset, "offset", 0, "members to skip (the page starts after them)")
	fl.BoolVar(&asJSON, "json", false, "print JSON: {total, offset, limit, members: [...]}")
	fl.BoolVar(&listAll, "all", false, fmt.Sprintf("every match, read %d at a time, with progress on standard error", maxPage))
	return cmd
}

// readPages reads every item of a paged list, maxPage at a time from
// the start, reporting the progress on stderr as what, counting unit.
// page returns the items from offset and the number of all matches (-1
// when the list does not count them). An item an earlier page held (the
// list moved while it was read) is not listed twice.
func readPages[T any](stderr io.Writer, what, unit string, page func(offset, limit int) ([]T, int, error),
	id func(T) string) ([]T, int, error) {
	rep := progress.New(stderr, what, unit, -1)
	defer rep.Finish()
	var out []T
	seen := map[string]bool{}
	for offset := 0; ; {
		items, total, err := page(offset, maxPage)
		if err != nil {
			return out, total, err
		}
		if offset == 0 && total >= 0 {
			rep.SetTotal(int64(total))
		}
		for _, it := range items {
			if k := id(it); !seen[k] {
				seen[k] = true
				out = append(out, it)
			}
		}
		rep.Set(int64(len(out)))
		offset += len(items)
		if len(items) < maxPage || (total >= 0 && offset >= total) {
			return out, total, nil
		}
	}
}

// pageNote says which part of the list was shown and how to get the
// next page.
func pageNote(w io.Writer, offset, n, total int) {
	switch {
	case n == 0:
		fmt.Fprintf(w, "no members shown (%d match)\n", total)
	case offset+n < total:
		fmt.Fprintf(w, "members %d-%d of %d; next page: --offset %d\n", offset+1, offset+n, total, offset+n)
	default:
		fmt.Fprintf(w, "members %d-%d of %d\n", offset+1, offset+n, total)
	}
}

// dash shows an empty value as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// memberStates loads u with its states.
func memberStates(ctx context.Context, st storage.Storage, cfg *config.Config, u storage.User, org storage.Organization) (storage.Member, error) {
	now := time.Now().UTC()
	p, err := st.ListMembers(ctx, storage.MemberFilter{OrganizationID: org.ID, UserID: u.ID, IdleBefore: idleBefore(cfg, now), Now: now})
	if err != nil {
		return storage.Member{}, err
	}
	if len(p.Members) != 1 {
		return storage.Member{}, fmt.Errorf("user %s no longer exists", u.ID)
	}
	return p.Members[0], nil
}

func newUserShowCmd() *cobra.Command {
	var asJSON bool
	cmd := newAccountCmd("show", "Show an account: organization, role, states, last sign-in", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			m, err := memberStates(ctx, st, cfg, u, org)
			if err != nil {
				return err
			}
			j := toMemberJSON(m, org)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), j)
			}
			role := dash(m.Role)
			for _, r := range cfg.Roles {
				if r.Name == m.Role {
					role = fmt.Sprintf("%s (%s / %s)", r.Name, r.Labels.EN, r.Labels.JA)
				}
			}
			email := dash(m.Email)
			if m.Email != "" {
				email += fmt.Sprintf(" (verified: %s)", yesNo(m.EmailVerified))
			}
			rows := [][2]string{
				{"id", m.ID},
				{"organization", fmt.Sprintf("%s (%s), time zone %s", org.Code, org.Name, org.TimeZone)},
				{"username", dash(m.Username)},
				{"email", email},
				{"email state", strings.ReplaceAll(m.EmailState, "_", " ")},
			}
			if m.PendingEmail != "" {
				rows = append(rows, [2]string{"pending email", m.PendingEmail + " (waits for its verification link)"})
			}
			rows = append(rows, [][2]string{
				{"name", dash(m.Name)},
				{"role", role},
				{"status", m.Status},
				{"last sign-in", lastSignIn(m, org)},
				{"unlocked until", dash(deref(zoned(m.UnlockedUntil, location(org))))},
				{"must change password", yesNo(m.MustChangePassword)},
				{"emailed sign-in code", map[bool]string{true: "on", false: "off"}[m.OTPEnabled]},
				{"platform administrator", yesNo(m.PlatformAdmin)},
			}...)
			if j.InvitedAt != nil {
				rows = append(rows, [2]string{"invited", *j.InvitedAt})
			}
			if m.LegacyID != "" {
				migrated := "not yet"
				if j.MigratedAt != nil {
					migrated = *j.MigratedAt
				}
				rows = append(rows, [2]string{"legacy id", m.LegacyID}, [2]string{"migrated", migrated})
			}
			rows = append(rows, [2]string{"language", dash(m.Lang)}, [2]string{"created", j.CreatedAt}, [2]string{"updated", j.UpdatedAt})
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, kv := range rows {
				fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
			}
			return tw.Flush()
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newUserSetEmailCmd() *cobra.Command {
	var newEmail, lang string
	cmd := newAccountCmd("set-email", "Change an account's address: a verification link goes to it, and it replaces the old one when opened", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			if lang == "" {
				lang = mailLang(u, cfg)
			} else if !i18n.IsCode(lang) {
				return fmt.Errorf("--lang: %q is not one of en, ja", lang)
			}
			flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, os.Stderr)})
			if err != nil {
				return err
			}
			addr, err := flow.RequestEmailChange(ctx, u, newEmail, lang)
			switch {
			case errors.Is(err, login.ErrBadEmail):
				return errors.New("--new-email is not a valid email address")
			case errors.Is(err, login.ErrSameEmail):
				return fmt.Errorf("user %s has the address %s already", u.ID, addr)
			case errors.Is(err, login.ErrEmailTaken) && cfg.Login.HasOrganization():
				return fmt.Errorf("another account of organization %s has the address %s", org.Code, addr)
			case errors.Is(err, login.ErrEmailTaken):
				return fmt.Errorf("another account has the address %s", addr)
			case errors.Is(err, login.ErrTooManyCodes):
				return fmt.Errorf("user %s was sent as many verification links as an hour allows: try again later", u.ID)
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued a verification link to %s for user %s (the running server sends it)\n", addr, u.ID)
			if u.Email != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "the account keeps %s until the link is opened\n", u.Email)
			}
			return nil
		})
	cmd.Use = "set-email --new-email E"
	cmd.Flags().StringVar(&newEmail, "new-email", "", "the new address")
	cmd.Flags().StringVar(&lang, "lang", "", "language of the mail (en, ja; default: the user's, else ui.default_language)")
	_ = cmd.MarkFlagRequired("new-email")
	return cmd
}

// mailLang is the language of mails to u sent without a browser: the
// account's, else ui.default_language.
func mailLang(u storage.User, cfg *config.Config) string {
	return i18n.CodeOr(u.Lang, cfg.UI.DefaultLanguage)
}

func newUserSetRoleCmd() *cobra.Command {
	var role string
	cmd := newAccountCmd("set-role --role R", "Give an account another role (the last holder of the highest role keeps it)", "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			if err := checkRole(cfg, role); err != nil {
				return err
			}
			if u.Role == role {
				fmt.Fprintf(cmd.OutOrStdout(), "user %s holds the role %s already: nothing changed\n", u.ID, role)
				return nil
			}
			now := time.Now().UTC()
			_, _, err := st.ChangeMember(ctx, storage.MemberChange{OrganizationID: org.ID, UserID: u.ID, Guard: operatorGuard(cfg), Now: now,
				Update: func(u storage.User) (storage.User, error) {
					u.Role, u.UpdatedAt = role, now
					return u, nil
				},
				Audit: []storage.AuditEvent{{ID: uuid.NewString(), Time: now, Type: "role_changed", OrganizationID: org.ID, UserID: u.ID,
					Outcome: "success", Detail: fmt.Sprintf("cli: %s -> %s", dash(u.Role), role)}}})
			if err != nil {
				return changeError(err, u, cfg)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s (organization %s) now holds the role %s\n", u.ID, org.Code, role)
			return nil
		})
	cmd.Flags().StringVar(&role, "role", "", "the new role, one of the declared roles")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newUserStateCmd(action, short string) *cobra.Command {
	return newAccountCmd(action, short, "email",
		func(ctx context.Context, cmd *cobra.Command, st *gormstore.Store, cfg *config.Config, u storage.User, org storage.Organization) error {
			now := time.Now().UTC()
			// The member changes with its sessions' end and the deliveries
			// that tell every client (the running server sends them), in
			// one transaction; the last holder of the highest role is
			// neither disabled nor deleted.
			c := storage.MemberChange{OrganizationID: org.ID, UserID: u.ID, Guard: operatorGuard(cfg), Now: now,
				Audit: []storage.AuditEvent{{ID: uuid.NewString(), Time: now, Type: "user_" + action, OrganizationID: org.ID,
					UserID: u.ID, Outcome: "success", Detail: "cli"}}}
			end := storage.SessionEnd{UserID: u.ID, Now: now, RevokeAllTokens: true}
			switch action {
			case "delete":
				end.Reason = storage.EndDeleted
				c.Delete = true
			default:
				c.Update = func(u storage.User) (storage.User, error) {
					u.Disabled, u.UpdatedAt = action == "disable", now
					return u, nil
				}
				end.Reason = storage.EndDisabled
			}
			if action != "enable" {
				end = cliLogout(st, cfg).Prepare(end)
				c.End = &end
			}
			_, res, err := st.ChangeMember(ctx, c)
			if err != nil {
				return changeError(err, u, cfg)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s user %s", map[string]string{"disable": "disabled", "enable": "enabled", "delete": "deleted"}[action], u.ID)
			if c.End != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "; ended %d session(s), %d back-channel logout deliveries queued", len(res.Ended), len(res.Deliveries))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		})
}
