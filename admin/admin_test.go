package admin

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/storage"
)

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Aoi", "Aoi"},
		{"=SUM(A1)", "'=SUM(A1)"},
		{"+81 3", "'+81 3"},
		{"-1", "'-1"},
		{"@cmd", "'@cmd"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"＝全角", "＝全角"},
	} {
		if got := CSVCell(tc.in); got != tc.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMemberQueryClean(t *testing.T) {
	long := strings.Repeat("あ", maxSearch+10)
	for _, tc := range []struct {
		name string
		in   MemberQuery
		want MemberQuery
	}{
		{"defaults", MemberQuery{}, MemberQuery{Page: 1}},
		{"known filters", MemberQuery{Search: " aoi ", EmailState: storage.EmailRegistered, Status: storage.StatusInviteExpired, Page: 3},
			MemberQuery{Search: "aoi", EmailState: storage.EmailRegistered, Status: storage.StatusInviteExpired, Page: 3}},
		{"unknown filters", MemberQuery{EmailState: "x", Status: "frozen", Page: -2}, MemberQuery{Page: 1}},
		{"locked", MemberQuery{Status: "locked"}, MemberQuery{Status: "locked", Page: 1}},
		{"long search", MemberQuery{Search: long}, MemberQuery{Search: long[:maxSearch*len("あ")], Page: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.Clean()); diff != "" {
				t.Errorf("Clean (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCatalogKeys: every key the console builds at run time (states,
// kinds, notices, refusals) has a message; the catalog tests check that
// each language has the same keys.
func TestCatalogKeys(t *testing.T) {
	var keys []string
	for _, s := range []string{storage.StatusActive, storage.StatusInvited, storage.StatusInviteExpired, storage.StatusDisabled} {
		keys = append(keys, "admin.status."+s)
	}
	for _, s := range []string{storage.EmailRegistered, storage.EmailNotRegistered} {
		keys = append(keys, "admin.email_state."+s)
	}
	for _, k := range AuditKinds {
		keys = append(keys, "admin.audit.kind."+k)
	}
	for _, k := range notices {
		keys = append(keys, k)
	}
	for _, r := range refusals {
		keys = append(keys, r.key)
	}
	// The keys of every problem the flow reports.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range errorKey.FindAllStringSubmatch(string(src), -1) {
			keys = append(keys, m[1])
		}
	}
	if len(keys) < 60 {
		t.Fatalf("only %d keys found", len(keys))
	}
	for _, k := range keys {
		if !i18n.Has(k) {
			t.Errorf("no message for %q", k)
		}
	}
}

var errorKey = regexp.MustCompile(`"(admin\.error\.[a-z_]+)"`)
