package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
)

// MembersOptions configures the members benchmark: one organization
// filled with Members members, and the operator's list of it timed.
type MembersOptions struct {
	// Executable is the sekisho binary whose commands are timed.
	Executable  string
	Storage     string // sqlite | postgres
	PostgresURL string
	Members     int
	// Runs is how many times each measurement is taken (the median is
	// reported, after one untimed warm-up).
	Runs int
}

// membersOrg is the code of the benchmark's organization.
const membersOrg = "bench"

// MemberTiming is one measurement: its median and fastest run.
type MemberTiming struct {
	Name    string
	Command string // the command line, or the storage call
	Rows    int    // rows the page showed
	Median  time.Duration
	Min     time.Duration
}

// Members fills a fresh database (a SQLite file, or a new PostgreSQL
// database dropped afterwards) with an organization of o.Members members
// through `sekisho legacy import`, then times `sekisho user list`
// (first page, a middle page, a search; of the organization and of all
// organizations) as child processes, and storage ListMembers in this
// process, and prints a table on out. Progress goes to log.
func Members(ctx context.Context, o MembersOptions, out, log io.Writer) ([]MemberTiming, error) {
	if o.Members < 1 || o.Runs < 1 {
		return nil, errors.New("bench members: --members and --runs must be at least 1")
	}
	dir, err := os.MkdirTemp("", "sekisho-bench-members-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db := gormstore.Config{Driver: gormstore.DriverSQLite, DSN: filepath.Join(dir, "sekisho.db")}
	if o.Storage == "postgres" {
		pg, err := createDatabase(ctx, o.PostgresURL)
		if err != nil {
			return nil, err
		}
		defer pg.drop()
		db = gormstore.Config{Driver: gormstore.DriverPostgres, DSN: pg.DSN}
		fmt.Fprintf(log, "created database %s\n", pg.name)
	} else if o.Storage != "sqlite" {
		return nil, fmt.Errorf("--storage: want sqlite or postgres, got %q", o.Storage)
	}
	cfg := filepath.Join(dir, "sekisho.yaml")
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf(`issuer: http://%s
listen: %q
database: {driver: %s, dsn: %q}
log: {level: error}
login: {identifier: organization+username}
roles:
  - {name: owner, manage_members: true}
  - {name: staff}
`, listen, listen, db.Driver, db.DSN)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	// The same database in the email sign-in mode: its commands make
	// addresses unique across the deployment when they open it.
	emailCfg := filepath.Join(dir, "email.yaml")
	if err := os.WriteFile(emailCfg, []byte(strings.Replace(body, "organization+username", "email", 1)), 0o600); err != nil {
		return nil, err
	}
	secret := newSecret()
	var cliStdin func(stdin string, args ...string) (string, error)
	cli := func(args ...string) (string, error) {
		return cliStdin("", args...)
	}
	cliStdin = func(stdin string, args ...string) (string, error) {
		if args[0] != "--config" {
			args = append(args, "--config", cfg)
		}
		cmd := exec.CommandContext(ctx, o.Executable, args...)
		cmd.Env = childEnv(secret)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("sekisho %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), nil
	}

	if _, err := cli("org", "add", "--code", membersOrg, "--name", "Bench Hotel"); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "members.jsonl")
	if err := writeMembers(file, o.Members); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "importing %d members into organization %s (%s)\n", o.Members, membersOrg, o.Storage)
	t0 := time.Now()
	if _, err := cli("legacy", "import", "--file", file); err != nil {
		return nil, err
	}
	imported := time.Since(t0)
	fmt.Fprintf(log, "imported in %s\n", imported.Round(time.Millisecond))
	// One account of the default organization: the deployment has
	// Members+1 accounts, as in the figure.
	if _, err := cli("legacy", "import", "--file", writeOne(dir)); err != nil {
		return nil, err
	}
	if db.Driver == gormstore.DriverPostgres {
		// What autovacuum does within a minute of a bulk insert: fresh
		// statistics (without them the planner expects a hundred rows and
		// sorts on disk) and the visibility map (index-only scans).
		if err := vacuumAnalyze(ctx, db.DSN); err != nil {
			return nil, err
		}
	}

	middle := fmt.Sprint(o.Members / 2)
	search := fmt.Sprintf("member %05d", o.Members/10-1) // ten members
	var timings []MemberTiming
	// timeCLI times a command; its name leaves out the email mode's
	// --config.
	timeCLI := func(name string, args ...string) error {
		var rows int
		tm, err := measure(o.Runs, func() error {
			s, err := cli(args...)
			if slices.Contains(args, "--json") {
				rows = strings.Count(s, `"username":`)
			} else {
				rows = strings.Count(s, "\n") - 1 // the header
			}
			return err
		})
		if err != nil {
			return err
		}
		shown := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--config" || a == emailCfg })
		tm.Name, tm.Command, tm.Rows = name, "sekisho "+quoteArgs(shown), rows
		timings = append(timings, tm)
		fmt.Fprintf(log, "%s: %s\n", name, tm.Median.Round(time.Millisecond))
		return nil
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"a command that only opens the database", []string{"migrate"}},
		{"user list, first page", []string{"user", "list", "--organization", membersOrg}},
		{"user list, a middle page", []string{"user", "list", "--organization", membersOrg, "--offset", middle}},
		{"user list, a search", []string{"user", "list", "--organization", membersOrg, "--search", search}},
		{"user list --json, first page", []string{"user", "list", "--organization", membersOrg, "--json"}},
		{"user list, every organization, first page", []string{"user", "list"}},
		{"user list, every organization, a middle page", []string{"user", "list", "--offset", middle}},
	} {
		if err := timeCLI(c.name, c.args...); err != nil {
			return nil, err
		}
	}

	st, err := gormstore.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.SetEmailScope(ctx, false); err != nil {
		return nil, err
	}
	org, err := st.GetOrganizationByCode(ctx, membersOrg)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name, call string
		f          storage.MemberFilter
		all        bool
	}{
		{"ListMembers, first page", "ListMembers(Limit 50)", storage.MemberFilter{}, false},
		{"ListMembers, a middle page", "ListMembers(Limit 50, Offset " + middle + ")", storage.MemberFilter{Offset: o.Members / 2}, false},
		{"ListMembers, a search", fmt.Sprintf("ListMembers(Search %q)", search), storage.MemberFilter{Search: search}, false},
		{"ListMembers, status invited", "ListMembers(Status invited)", storage.MemberFilter{Status: storage.StatusInvited}, false},
		{"ListAccounts, first page", "ListAccounts(Limit 50)", storage.MemberFilter{}, true},
	} {
		var rows int
		tm, err := measure(o.Runs, func() error {
			f := c.f
			f.Now = time.Now()
			var p storage.MemberPage
			var err error
			if c.all {
				p, err = st.ListAccounts(ctx, f)
			} else {
				f.OrganizationID = org.ID
				p, err = st.ListMembers(ctx, f)
			}
			rows = len(p.Members)
			return err
		})
		if err != nil {
			return nil, err
		}
		tm.Name, tm.Command, tm.Rows = c.name, c.call, rows
		timings = append(timings, tm)
	}
	if err := timeConsole(ctx, o, cliStdin, cfg, dir, secret, listen, middle, search, &timings, log); err != nil {
		return nil, err
	}
	// Last, as it rewrites every account once (its untimed first run
	// fills the deployment-wide keys of the addresses).
	if err := timeCLI("a command that only opens the database, email mode", "--config", emailCfg, "migrate"); err != nil {
		return nil, err
	}
	analyzed := ""
	if db.Driver == gormstore.DriverPostgres {
		analyzed = ", VACUUM ANALYZE after the import"
	}
	fmt.Fprintf(out, "\n%d members in one organization, %s; import %s%s; median of %d runs (fastest)\n\n",
		o.Members, o.Storage, imported.Round(time.Millisecond), analyzed, o.Runs)
	fmt.Fprintln(out, "| measurement | command or call | rows | median | fastest |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	for _, tm := range timings {
		fmt.Fprintf(out, "| %s | `%s` | %d | %s | %s |\n", tm.Name, tm.Command, tm.Rows, roundMS(tm.Median), roundMS(tm.Min))
	}
	return timings, nil
}

// measure runs fn once untimed, then runs times, and returns the median
// and fastest.
func measure(runs int, fn func() error) (MemberTiming, error) {
	if err := fn(); err != nil {
		return MemberTiming{}, err
	}
	ds := make([]time.Duration, runs)
	for i := range ds {
		t0 := time.Now()
		if err := fn(); err != nil {
			return MemberTiming{}, err
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return MemberTiming{Median: ds[len(ds)/2], Min: ds[0]}, nil
}

func roundMS(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// quoteArgs writes args as a shell would need them.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if strings.ContainsAny(a, " \"'") {
			out[i] = "'" + a + "'"
		}
	}
	return strings.Join(out, " ")
}

// writeMembers writes an import file of n members of the benchmark's
// organization: account names, addresses and names.
func writeMembers(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"legacy_id":"b%06d","email":"m%06d@bench.example.com","name":"Member %06d","organization":%q,"username":"m%06d","role":"staff"}`+"\n",
			i, i, i, membersOrg, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeOne writes an import file of one account of the default
// organization.
func writeOne(dir string) string {
	p := filepath.Join(dir, "one.jsonl")
	_ = os.WriteFile(p, []byte(`{"legacy_id":"default-1","email":"one@bench.example.com","organization":"default","username":"one"}`+"\n"), 0o600)
	return p
}

// vacuumAnalyze runs VACUUM ANALYZE on the users table.
func vacuumAnalyze(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM ANALYZE users")
	return err
}

// consoleOwner is the benchmark organization's administrator.
const (
	consoleOwner    = "owner"
	consolePassword = "Kanri-bench-7742!"
)

// timeConsole adds an administrator to the organization, starts `sekisho
// serve` on the database, signs in to the console as a browser would, and
// times its members page (first page, a middle page, a search) and the
// CSV export of every member, each a whole HTTP request.
func timeConsole(ctx context.Context, o MembersOptions, cli func(stdin string, args ...string) (string, error), cfg, dir, secret,
	listen, middle, search string, timings *[]MemberTiming, log io.Writer) error {
	if _, err := cli(consolePassword+"\n", "user", "add", "--organization", membersOrg, "--username", consoleOwner, "--role", "owner",
		"--password-stdin"); err != nil {
		return err
	}
	srv, err := startServer(o.Executable, cfg, filepath.Join(dir, "serve.log"), secret, listen)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.waitReady(ctx, 30*time.Second); err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	if err := consoleSignIn(ctx, c, srv.url); err != nil {
		return err
	}
	page := middle2page(middle)
	for _, p := range []struct{ name, path string }{
		{"console members page, first page", "/admin/members"},
		{"console members page, a middle page", "/admin/members?page=" + page},
		{"console members page, a search", "/admin/members?q=" + url.QueryEscape(search)},
		{"console CSV export, every member", "/admin/members.csv"},
	} {
		var rows int
		tm, err := measure(o.Runs, func() error {
			b, err := getAll(ctx, c, srv.url+p.path)
			if strings.HasSuffix(p.path, ".csv") {
				rows = bytes.Count(b, []byte("\n")) - 1 // the header
			} else {
				rows = bytes.Count(b, []byte("<tr")) - 1
			}
			return err
		})
		if err != nil {
			return err
		}
		tm.Name, tm.Command, tm.Rows = p.name, "GET "+p.path, rows
		*timings = append(*timings, tm)
		fmt.Fprintf(log, "%s: %s\n", p.name, tm.Median.Round(time.Millisecond))
	}
	return nil
}

// middle2page is the console page (50 members a page) that shows the
// member at offset middle.
func middle2page(middle string) string {
	var n int
	_, _ = fmt.Sscan(middle, &n)
	return fmt.Sprint(n/50 + 1)
}

// consoleSignIn opens the console with c (a browser with a cookie jar),
// which sends it to the sign-in form, and signs in as the organization's
// administrator; it fails unless the console's members page follows.
func consoleSignIn(ctx context.Context, c *http.Client, base string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/members", nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f, err := parseLoginForm(string(page))
	if err != nil {
		return err
	}
	action, err := resolve(resp.Request.URL.String(), f.Action)
	if err != nil {
		return err
	}
	form := url.Values{}
	for k, v := range f.Hidden {
		form.Set(k, v)
	}
	form.Set("organization", membersOrg)
	form.Set("username", consoleOwner)
	form.Set("password", consolePassword)
	req, err = postForm(ctx, action, form, http.Header{"Origin": {base}})
	if err != nil {
		return err
	}
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/admin/members" {
		return checkErrorf("console sign-in: HTTP %d at %s: %.200s", resp.StatusCode, resp.Request.URL.Path, pageText(body))
	}
	return nil
}

// getAll GETs u and reads the whole body; it fails unless the status is
// 200.
func getAll(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = statusError("GET "+u, resp.StatusCode, b)
	}
	return b, err
}
