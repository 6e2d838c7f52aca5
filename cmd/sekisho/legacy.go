package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/legacy"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/progress"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func newLegacyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "legacy", Short: "Import and migrate the users of a legacy product"}
	cmd.AddCommand(newLegacyImportCmd(), newLegacyStatusCmd(), newLegacyRemindCmd())
	return cmd
}

// importTally counts what an import did, and lists the rejected lines.
type importTally struct {
	created, updated, unchanged, rejected int
	rejections                            []rejection
}

// rejection is a rejected line of an import.
type rejection struct {
	Line     int    `json:"line"`
	LegacyID string `json:"legacy_id"`
	Reason   string `json:"reason"`
}

// importJSON is legacy import's --json output.
type importJSON struct {
	DryRun     bool        `json:"dry_run"`
	Created    int         `json:"created"`
	Updated    int         `json:"updated"`
	Unchanged  int         `json:"unchanged"`
	Rejected   int         `json:"rejected"`
	Rejections []rejection `json:"rejections"`
}

func (t importTally) accepted() int { return t.created + t.updated + t.unchanged }

func newLegacyImportCmd() *cobra.Command {
	var file, format, organization string
	var dryRun, asJSON bool
	var batch int
	cmd := &cobra.Command{
		Use:   "import --file F",
		Short: "Import users from CSV (with a header) or JSON Lines",
		Long: `Import users from CSV (with a header) or JSON Lines: legacy_id and email
required, name, password_hash, roles (";"-separated) and lang (a
language tag for mails, such as ja) optional. A new user joins the
organization whose code is in the organization column (default: the
default organization), with the account name in username and the member
role in role (a declared role; default: the lowest); a user imported
before stays where it is. An unknown organization or role rejects the
line.
With --organization C the import targets that organization: lines
without an organization join it, lines naming another are rejected. In
the organization sign-in modes every line must have its organization
(the column or --organization), and in organization+username mode its
account name; new members beyond the organization's member limit are
rejected. A rejected line writes nothing and is listed with its number
on standard error, with the progress; the summary goes to standard
output (as JSON with --json, the rejected lines included).
Exit status: 0 when every line was accepted, 2 when some were rejected,
1 when nothing could be imported.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				rep := progress.New(cmd.ErrOrStderr(), "legacy import", "lines", countLines(file))
				t, err := importUsers(ctx, st, cfg, importOptions{format: format, organization: organization, batch: batch, dryRun: dryRun},
					f, rep)
				rep.Finish()
				if err != nil {
					return err
				}
				if asJSON {
					err = writeJSON(cmd.OutOrStdout(), importJSON{DryRun: dryRun, Created: t.created, Updated: t.updated,
						Unchanged: t.unchanged, Rejected: t.rejected, Rejections: append([]rejection{}, t.rejections...)})
				} else {
					what := "imported"
					if dryRun {
						what = "would import (dry run, nothing written)"
					}
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: created %d, updated %d, unchanged %d, rejected %d\n",
						what, t.created, t.updated, t.unchanged, t.rejected)
				}
				if err != nil {
					return err
				}
				switch {
				case t.accepted() == 0:
					return &exitError{code: 1, msg: "nothing could be imported"}
				case t.rejected > 0:
					return &exitError{code: 2, msg: fmt.Sprintf("%d line(s) rejected (listed on standard error)", t.rejected)}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the file to import")
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from the first character)")
	cmd.Flags().StringVar(&organization, "organization", "", "the organization the import targets (code)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would happen without writing")
	cmd.Flags().IntVar(&batch, "batch", 1000, "users written per transaction")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON, the rejected lines included")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// countLines counts the lines of the file at path (a last line without
// a newline counts), the total of an import's progress; -1 when it is
// not a regular file that can be read twice (a pipe).
func countLines(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	var n int64
	last := byte('\n')
	buf := make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return -1
		}
	}
	if last != '\n' {
		n++
	}
	return n
}

// importStore is what an import needs of the storage.
type importStore interface {
	ImportLegacyUsers(ctx context.Context, users []storage.LegacyUser, now time.Time, dryRun bool) ([]storage.ImportResult, error)
	GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error)
}

// importOptions are legacy import's flags.
type importOptions struct {
	format string
	// organization is the code of the organization the import targets
	// ("": each line's own, the default one where a line names none).
	organization string
	batch        int
	dryRun       bool
}

// importUsers reads r and writes its users in batches. Rejected lines
// are reported on rep with their line numbers (and kept in the tally),
// and so is the progress: the lines read. Memory grows only with the ids,
// emails and account names seen (to reject repeats), the organizations
// named and the rejections.
func importUsers(ctx context.Context, st importStore, cfg *config.Config, opt importOptions, r io.Reader,
	rep *progress.Reporter) (importTally, error) {
	var t importTally
	var target *storage.Organization
	if opt.organization != "" {
		o, err := st.GetOrganizationByCode(ctx, opt.organization)
		if errors.Is(err, storage.ErrNotFound) {
			return t, fmt.Errorf("--organization: no organization %q", opt.organization)
		} else if err != nil {
			return t, err
		}
		target = &o
	}
	rd, err := legacy.NewReader(r, opt.format)
	if err != nil {
		return t, err
	}
	size, dryRun := opt.batch, opt.dryRun
	if size < 1 {
		size = 1000
	}
	seenID := map[string]int{}                 // legacy id → its first line
	seenEmail := map[string]string{}           // organization (in the organization modes) and email key → legacy id
	seenUsername := map[string]string{}        // organization and account name key → legacy id
	orgs := map[string]*storage.Organization{} // code key → organization (nil when unknown)
	reject := func(line int, id, reason string) {
		t.rejected++
		t.rejections = append(t.rejections, rejection{Line: line, LegacyID: id, Reason: reason})
		if id != "" {
			reason = fmt.Sprintf("legacy_id %q: %s", id, reason)
		}
		rep.Printf("line %d: rejected: %s", line, reason)
	}
	var users []storage.LegacyUser
	var lines []int
	flush := func() error {
		if len(users) == 0 {
			return nil
		}
		res, err := st.ImportLegacyUsers(ctx, users, time.Now().UTC(), dryRun)
		if err != nil {
			return err
		}
		for i, r := range res {
			switch r.Outcome {
			case storage.ImportCreated:
				t.created++
			case storage.ImportUpdated:
				t.updated++
			case storage.ImportUnchanged:
				t.unchanged++
			default:
				reject(lines[i], r.LegacyID, r.Reason)
			}
		}
		users, lines = users[:0], lines[:0]
		return nil
	}
	for {
		rec, err := rd.Next()
		var le *legacy.LineError
		switch {
		case errors.Is(err, io.EOF):
			return t, flush()
		case errors.As(err, &le):
			rep.Set(int64(le.Line))
			reject(le.Line, le.LegacyID, le.Reason)
			continue
		case err != nil:
			return t, err
		}
		rep.Set(int64(rec.Line))
		if first, ok := seenID[rec.LegacyID]; ok {
			reject(rec.Line, rec.LegacyID, fmt.Sprintf("repeats the legacy_id of line %d", first))
			continue
		}
		seenID[rec.LegacyID] = rec.Line
		org := target
		if rec.Organization != "" {
			key := identifier.UsernameKey(rec.Organization)
			o, ok := orgs[key]
			if !ok {
				found, err := st.GetOrganizationByCode(ctx, rec.Organization)
				switch {
				case err == nil:
					o = &found
				case !errors.Is(err, storage.ErrNotFound):
					return t, err
				}
				orgs[key] = o
			}
			switch {
			case o == nil:
				reject(rec.Line, rec.LegacyID, fmt.Sprintf("unknown organization %q", rec.Organization))
				continue
			case target != nil && o.ID != target.ID:
				reject(rec.Line, rec.LegacyID, fmt.Sprintf("organization %q is not the one the import targets (%s)", rec.Organization, target.Code))
				continue
			}
			org = o
		}
		orgID, limit := storage.DefaultOrganizationID, 0
		switch {
		case org != nil:
			orgID, limit = org.ID, memberLimit(cfg, *org)
		case cfg.Login.HasOrganization():
			reject(rec.Line, rec.LegacyID, "no organization: give the organization column or --organization")
			continue
		}
		if cfg.Login.Identifier == config.IdentifierOrgUsername && rec.Username == "" {
			reject(rec.Line, rec.LegacyID, "no account name: the organization+username sign-in mode needs the username column")
			continue
		}
		role := rec.Role
		if role == "" {
			role = cfg.DefaultRole()
		} else if p := roleProblem(cfg, role); p != "" {
			reject(rec.Line, rec.LegacyID, "role "+p)
			continue
		}
		emailKey := identifier.Key(rec.Email)
		if cfg.Login.HasOrganization() {
			emailKey = orgID + "\x00" + emailKey
		}
		if other, ok := seenEmail[emailKey]; ok {
			reject(rec.Line, rec.LegacyID, fmt.Sprintf("the email is also that of legacy_id %q in this file", other))
			continue
		}
		if rec.Username != "" {
			key := orgID + "\x00" + identifier.UsernameKey(rec.Username)
			if other, ok := seenUsername[key]; ok {
				reject(rec.Line, rec.LegacyID, fmt.Sprintf("the account name is also that of legacy_id %q in this file", other))
				continue
			}
			seenUsername[key] = rec.LegacyID
		}
		seenEmail[emailKey] = rec.LegacyID
		users = append(users, storage.LegacyUser{LegacyID: rec.LegacyID, Email: rec.Email, Name: rec.Name,
			PasswordHash: rec.PasswordHash, Roles: rec.Roles, Lang: rec.Lang, OrganizationID: orgID, Username: rec.Username, Role: role,
			Limit: limit})
		lines = append(lines, rec.Line)
		if len(users) >= size {
			if err := flush(); err != nil {
				return t, err
			}
		}
	}
}

func newLegacyStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Count imported, migrated and remaining users",
		Long: `Count imported, migrated and remaining users, and among the remaining
ones those whose imported password hash costs more to verify than sekisho
accepts (hash_over_bounds): they cannot sign in with the product's
password and must reset it (send them "legacy remind" or a reset link).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, _ *config.Config) error {
				imported, migrated, err := st.CountLegacyUsers(ctx)
				if err != nil {
					return err
				}
				over, err := countOverBounds(ctx, st)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d\nmigrated %d\nremaining %d\nhash_over_bounds %d\n",
					imported, migrated, imported-migrated, over)
				return nil
			})
		},
	}
}

// countOverBounds counts the users who have not migrated and whose
// imported hash is over the cost bounds (imported when they were higher),
// so that sign-in no longer verifies it.
func countOverBounds(ctx context.Context, st storage.Storage) (int, error) {
	n, after := 0, ""
	for {
		users, err := st.ListUnmigrated(ctx, after, 1000)
		if err != nil || len(users) == 0 {
			return n, err
		}
		after = users[len(users)-1].ID
		for _, u := range users {
			if _, err := legacy.Detect(u.LegacyHash); errors.Is(err, legacy.ErrOverBounds) {
				n++
			}
		}
	}
}

func newLegacyRemindCmd() *cobra.Command {
	var subjects []string
	var defaultLang, clientID, returnTo string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "remind --subject-template T",
		Short: "Queue a reminder to set a unified password to every user not yet migrated",
		Long: `Queue a reminder mail, through the outbox, to every imported user who
has not migrated yet (disabled accounts are skipped): once per user per
run, in the user's language (the import's lang column, else
--default-lang). The mail links to the password reset; the running
server sends the mails.

--subject-template is a Go text/template with {{.Name}}, {{.Email}},
{{.Product}} (legacy.name) and {{.Deadline}} (the end of the migration
window as a date, or empty). Prefix it with "ja=" or "en=" for one
language; give it once per language, or once without a prefix for all.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tmpl, err := login.ParseSubjectTemplates(subjects)
			if err != nil {
				return fmt.Errorf("--subject-template: %w", err)
			}
			if cmd.Flags().Changed("default-lang") && !i18n.IsCode(defaultLang) {
				return fmt.Errorf("--default-lang: %q is not one of en, ja", defaultLang)
			}
			return withStore(cmd, func(ctx context.Context, st *gormstore.Store, cfg *config.Config) error {
				if !cmd.Flags().Changed("default-lang") {
					defaultLang = cfg.UI.DefaultLanguage
				}
				if !cfg.Legacy.Enabled {
					return errors.New("legacy.enabled is false in the configuration: there is no legacy product to remind of")
				}
				if (clientID == "") != (returnTo == "") {
					return errors.New("--client and --return-to go together")
				}
				if clientID != "" {
					c, ok := cfg.Client(clientID)
					if !ok {
						return fmt.Errorf("--client: no client %q in the configuration", clientID)
					}
					if !c.RegisteredURI(returnTo) {
						return fmt.Errorf("--return-to: %q is not a redirect or post-logout URI of client %s", returnTo, clientID)
					}
				}
				imported, migrated, err := st.CountLegacyUsers(ctx)
				if err != nil {
					return err
				}
				// The flow's warnings (a reminder that cannot be composed)
				// go through the progress report, each on a line of its own.
				rep := progress.New(cmd.ErrOrStderr(), "legacy remind", "users", int64(imported-migrated))
				flow, err := server.CLIFlow(server.Options{Config: cfg, Store: st, Logger: newLogger(cfg, rep)})
				if err != nil {
					return err
				}
				res, err := flow.RemindUnmigrated(ctx, login.Reminder{Subjects: tmpl, DefaultLang: defaultLang,
					ClientID: clientID, ReturnTo: returnTo, DryRun: dryRun,
					Progress: func(n int) { rep.Set(int64(n)) }})
				rep.Finish()
				if err != nil {
					return err
				}
				what := "queued"
				if dryRun {
					what = "would queue (dry run, nothing written)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %d reminder(s); skipped %d disabled account(s)\n", what, res.Queued, res.Disabled)
				if !dryRun && res.Queued > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "the running server sends them")
				}
				if len(res.Failed) > 0 {
					return &exitError{code: 2, msg: fmt.Sprintf("%d reminder(s) could not be composed (user ids: %s)",
						len(res.Failed), strings.Join(res.Failed, ", "))}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&subjects, "subject-template", nil, `subject of the mail (text/template); "ja=..." or "en=..." for one language`)
	cmd.Flags().StringVar(&defaultLang, "default-lang", "", "language for users without one (en, ja; default: ui.default_language)")
	cmd.Flags().StringVar(&clientID, "client", "", "link to that client's reset (with --return-to) instead of the account page")
	cmd.Flags().StringVar(&returnTo, "return-to", "", "where the browser returns after the reset (a registered URI of --client)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count without queueing")
	_ = cmd.MarkFlagRequired("subject-template")
	return cmd
}
