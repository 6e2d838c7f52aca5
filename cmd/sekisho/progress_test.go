package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// runSplit runs a command with standard output and standard error
// apart (neither a terminal).
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// decodeJSON decodes all of out into v: one JSON value and nothing else.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("standard output is not the JSON value: %v\n%.500s", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on standard output:\n%.500s", out)
	}
}

// stderrLines checks that every line of stderr is one of the patterns
// (whole lines: no bar, no carriage return, nothing run together) and
// counts the lines of each.
func stderrLines(t *testing.T, stderr string, patterns ...string) []int {
	t.Helper()
	if !strings.HasSuffix(stderr, "\n") {
		t.Errorf("standard error does not end a line: %q", stderr)
	}
	counts := make([]int, len(patterns))
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile("^" + p + "$")
	}
next:
	for line := range strings.SplitSeq(strings.TrimSuffix(stderr, "\n"), "\n") {
		for i, re := range res {
			if re.MatchString(line) {
				counts[i]++
				continue next
			}
		}
		t.Errorf("unexpected line on standard error: %q", line)
	}
	return counts
}

// progressLine matches a plain progress line of what, counting unit,
// with a known total.
func progressLine(what, unit string, total int) string {
	return fmt.Sprintf(`%s: \d+/%d %s \(\d+%%\), \d+ %s/s(, about \S+ left)?`, what, total, unit, unit)
}

// finalLine matches the last line of what's progress.
func finalLine(what, unit string, n int) string {
	return fmt.Sprintf(`%s: %d %s in \S+ \(\d+ %s/s\)`, what, n, unit, unit)
}

// TestLongCommandsProgress: with standard error not a terminal, legacy
// import, legacy remind, user list --all and audit list --all report
// their progress as plain lines there, each a whole line, with the
// warnings (rejected lines) between them; standard output holds only the
// result, valid JSON with --json, on both databases.
func TestLongCommandsProgress(t *testing.T) {
	const users = 1200
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newCLIEnv(t, backend, "email", "legacy: {enabled: true, name: Old Shop}\n")
			var b strings.Builder
			b.WriteString("legacy_id,email,name\n")
			for i := range users {
				fmt.Fprintf(&b, "u%d,user%d@example.com,User %d\n", i, i, i)
				if i%500 == 0 {
					fmt.Fprintf(&b, "bad%d,not-an-email,\n", i) // lines 3, 504, 1005
				}
			}
			lines := users + 4 // the header, the users and three bad lines
			file := writeFile(t, "users.csv", b.String())

			stdout, stderr, err := runSplit(t, "legacy", "import", "--config", e.cfg, "--file", file, "--batch", "300", "--json")
			if exitCode(err) != 2 {
				t.Fatalf("import: exit %d (%v)\n%s", exitCode(err), err, stderr)
			}
			var res importJSON
			decodeJSON(t, stdout, &res)
			if res.Created != users || res.Rejected != 3 || len(res.Rejections) != 3 || res.Rejections[1].Line != 504 ||
				res.Rejections[1].LegacyID != "bad500" || res.Rejections[1].Reason == "" {
				t.Errorf("import summary = %+v", res)
			}
			got := stderrLines(t, stderr, `line \d+: rejected: legacy_id "bad\d+": .+`,
				progressLine("legacy import", "lines", lines), finalLine("legacy import", "lines", lines))
			if got[0] != 3 || got[1] < 3 || got[2] != 1 {
				t.Errorf("import: %d rejections, %d progress lines, %d last lines; want 3, at least 3 (each quarter), 1\n%s",
					got[0], got[1], got[2], stderr)
			}

			stdout, stderr, err = runSplit(t, "user", "list", "--config", e.cfg, "--all", "--json")
			if err != nil {
				t.Fatalf("user list --all: %v\n%s", err, stderr)
			}
			var page memberPageJSON
			decodeJSON(t, stdout, &page)
			ids := map[string]bool{}
			for _, m := range page.Members {
				ids[m.ID] = true
			}
			if page.Total != users || len(page.Members) != users || len(ids) != users || page.Offset != 0 || page.Limit != users {
				t.Errorf("user list --all: total %d, offset %d, limit %d, %d members (%d ids); want %d",
					page.Total, page.Offset, page.Limit, len(page.Members), len(ids), users)
			}
			got = stderrLines(t, stderr, progressLine("user list", "members", users), finalLine("user list", "members", users))
			if !strings.Contains(stderr, fmt.Sprintf("user list: 1000/%d members (83%%)", users)) || got[1] != 1 {
				t.Errorf("user list --all: progress\n%s", stderr)
			}
			// The table: every member, the note of what was shown after
			// the progress.
			stdout, stderr, err = runSplit(t, "user", "list", "--config", e.cfg, "--all")
			if err != nil || strings.Count(stdout, "@example.com") != users ||
				!strings.HasSuffix(stderr, fmt.Sprintf("members 1-%d of %d\n", users, users)) {
				t.Errorf("user list --all: %v, %d addresses\n%s", err, strings.Count(stdout, "@example.com"), stderr)
			}
			e.refused(t, "--all lists every match", "", "user", "list", "--all", "--limit", "5")

			stdout, stderr, err = runSplit(t, "audit", "list", "--config", e.cfg, "--all", "--json")
			if err != nil {
				t.Fatalf("audit list --all: %v\n%s", err, stderr)
			}
			var events []auditJSON
			decodeJSON(t, stdout, &events)
			if got := stderrLines(t, stderr, finalLine("audit list", "events", len(events))); got[0] != 1 {
				t.Errorf("audit list --all: progress\n%s", stderr)
			}
			e.refused(t, "--all lists every match", "", "audit", "list", "--all", "--offset", "5")

			stdout, stderr, err = runSplit(t, "legacy", "remind", "--config", e.cfg, "--subject-template", "{{.Product}}: set your password")
			if err != nil || stdout != fmt.Sprintf("queued %d reminder(s); skipped 0 disabled account(s)\nthe running server sends them\n", users) {
				t.Fatalf("remind: %v\n%s\n%s", err, stdout, stderr)
			}
			// Batches of 500: 41% and 83% passed (and a line every 5 s of
			// a slow run), then the end.
			got = stderrLines(t, stderr, progressLine("legacy remind", "users", users), finalLine("legacy remind", "users", users))
			if got[0] < 2 || got[1] != 1 {
				t.Errorf("remind: progress\n%s", stderr)
			}
		})
	}
}
