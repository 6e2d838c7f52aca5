package legacy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is what Next gave for one line: a record (Reason "") or a
// *LineError.
type result struct {
	Line     int
	LegacyID string
	Reason   string
}

// readAll reads r to the end and returns the records and the line errors
// in order, failing the test on any other error.
func readAll(t *testing.T, r *Reader) ([]Record, []result) {
	t.Helper()
	var recs []Record
	var all []result
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, all
		}
		if le, ok := errors.AsType[*LineError](err); ok {
			all = append(all, result{le.Line, le.LegacyID, le.Reason})
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
		all = append(all, result{rec.Line, rec.LegacyID, ""})
	}
}

func newReader(t *testing.T, input, format string) *Reader {
	t.Helper()
	r, err := NewReader(strings.NewReader(input), format)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

func TestReadGoodCSV(t *testing.T) {
	django := buildDjango(t, "correct horse", "seasalt0123", 1000)
	argon := buildArgon2id("correct horse", []byte("sekisho-salt-16b"), 1, 64, 1, 32)
	input := "\uFEFFEmail, Roles ,Legacy_ID , name,PASSWORD_HASH, Lang\r\n" +
		`ada@example.com,admin; staff;;admin,u1,"Lovelace, Ada",` + django + ",ja-jp\r\n" +
		`bob@example.com,,u2,,"` + argon + `",` + "\r\n" +
		"\r\n" +
		` carol@example.com , staff , u3 , "Carol ""C"" Jones",, en ` + "\n" +
		`dan@example.com,"ops;` + "\n" + `staff",u4,Dan,,` + "\n" +
		"eve@example.com,,u5,Ève Ünicode,,"
	for _, format := range []string{"csv", ""} {
		t.Run("format="+format, func(t *testing.T) {
			recs, all := readAll(t, newReader(t, input, format))
			want := []Record{
				{Line: 2, LegacyID: "u1", Email: "ada@example.com", Name: "Lovelace, Ada", PasswordHash: django, Roles: []string{"admin", "staff"}, Lang: "ja-JP"},
				{Line: 3, LegacyID: "u2", Email: "bob@example.com", PasswordHash: argon},
				{Line: 5, LegacyID: "u3", Email: "carol@example.com", Name: `Carol "C" Jones`, Roles: []string{"staff"}, Lang: "en"},
				{Line: 6, LegacyID: "u4", Email: "dan@example.com", Name: "Dan", Roles: []string{"ops", "staff"}},
				{Line: 8, LegacyID: "u5", Email: "eve@example.com", Name: "Ève Ünicode"},
			}
			if diff := cmp.Diff(want, recs); diff != "" {
				t.Errorf("records (-want +got):\n%s\nall: %v", diff, all)
			}
		})
	}
}

func TestReadGoodJSONL(t *testing.T) {
	argon := buildArgon2id("correct horse", []byte("sekisho-salt-16b"), 1, 64, 1, 32)
	input := "\uFEFF" +
		`{"legacy_id":" u1 ","email":"ada@example.com","name":"Ada","roles":"admin; staff;;admin","password_hash":"` + argon + `"}` + "\n" +
		"\n" +
		`  {"email":"bob@example.com","legacy_id":"u2","roles":["staff"," admin ","staff",""]}  ` + "\r\n" +
		`{"legacy_id":"u3","email":"carol@example.com","roles":null,"name":null,"password_hash":""}` + "\n" +
		"   \n" +
		`{"legacy_id":"u4","email":"dan@example.com","roles":[],"lang":"ja"}`
	for _, format := range []string{"jsonl", ""} {
		t.Run("format="+format, func(t *testing.T) {
			recs, all := readAll(t, newReader(t, input, format))
			want := []Record{
				{Line: 1, LegacyID: "u1", Email: "ada@example.com", Name: "Ada", PasswordHash: argon, Roles: []string{"admin", "staff"}},
				{Line: 3, LegacyID: "u2", Email: "bob@example.com", Roles: []string{"staff", "admin"}},
				{Line: 4, LegacyID: "u3", Email: "carol@example.com"},
				{Line: 6, LegacyID: "u4", Email: "dan@example.com", Lang: "ja"},
			}
			if diff := cmp.Diff(want, recs); diff != "" {
				t.Errorf("records (-want +got):\n%s\nall: %v", diff, all)
			}
		})
	}
}

func TestReadBadLines(t *testing.T) {
	zeroIter := strings.Replace(buildPBKDF2(t, "pw", []byte("sekisho-salt-16b"), 1000, 32), "i=1000", "i=0", 1)
	for _, tc := range []struct {
		name, format, input string
		want                []result
	}{
		{
			name:   "csv",
			format: "csv",
			input: strings.Join([]string{
				"legacy_id,email,name,password_hash,roles",
				"u1,a@example.com,,,",
				",b@example.com,,,",
				"u3,,,,",
				"u4,not-an-email,,,",
				"u5,Ada <ada@example.com>,,,",
				"u6,f@example.com,,md5$abc,",
				"u7,g@example.com,,,,extra",
				"u8,h@example.com,,,",
				"u9,i@example.com," + strings.Repeat("é", 256) + ",,",
				"u10,j@example.com,\"tab\there\",,",
				"u11,k@example.com,,\"" + zeroIter + "\",", // PHC hashes hold commas
				`u12,l@example.com,a"b,,`,
				"u13,m@example.com,,,",
				`u14,n@example.com,,,"admin;`,
				`staff"`,
				"u15,,,,",
				"u16,o@example.com",
				"u17,p@example.com,,,",
			}, "\n"),
			want: []result{
				{2, "u1", ""},
				{3, "", "missing legacy_id"},
				{4, "u3", "missing email"},
				{5, "u4", `bad email "not-an-email"`},
				{6, "u5", `bad email "Ada <ada@example.com>"`},
				{7, "u6", "unknown password hash format (unrecognised prefix)"},
				{8, "", "6 fields, want 5"},
				{9, "u8", ""},
				{10, "u9", "name longer than 255 characters"},
				{11, "u10", "control character in name"},
				{12, "u11", "unknown password hash format (pbkdf2-sha256: 0 iterations)"},
				{13, "", `bare " in unquoted field`},
				{14, "u13", ""},
				{15, "u14", ""},
				{17, "u15", "missing email"},
				{18, "", "2 fields, want 5"},
				{19, "u17", ""},
			},
		},
		{
			name:   "jsonl",
			format: "jsonl",
			input: strings.Join([]string{
				`{"legacy_id":"u1","email":"a@example.com"}`,
				`not json`,
				`{"legacy_id":"u3","email":"c@example.com","extra":1}`,
				`{"legacy_id":"u4"}`,
				``,
				`{"legacy_id":5,"email":"f@example.com"}`,
				`[1,2]`,
				`{"legacy_id":"u8","email":"h@example.com"`,
				`{"legacy_id":"u9","email":"i@example.com","roles":5}`,
				`{"legacy_id":"u10","email":"j@example.com"} {"legacy_id":"u10"}`,
				`{"legacy_id":"u11","email":"k@example.com"}`,
				`{"legacy_id":"u12","email":"l@example.com","password_hash":"md5$abc"}`,
				`{"legacy_id":"","email":"m@example.com"}`,
				`{"legacy_id":"u14","email":"bad@"}`,
				"{\"legacy_id\":\"u15\",\"email\":\"o@example.com\",\"name\":\"\xff\"}",
				`{"legacy_id":"u16","email":"p@example.com","password_hash":"` + zeroIter + `"}`,
				`{"legacy_id":"u17","email":"q@example.com"}`,
				`{"legacy_id":"u18","email":"r@example.com","lang":"not a tag"}`,
			}, "\n"),
			want: []result{
				{1, "u1", ""},
				{2, "", "not a JSON object"},
				{3, "", `unknown field "extra"`},
				{4, "u4", "missing email"},
				{6, "", "legacy_id: want a string, got a JSON number"},
				{7, "", "not a JSON object"},
				{8, "", "bad JSON"},
				{9, "", "roles: want a string or an array of strings"},
				{10, "", "more than one JSON value on the line"},
				{11, "u11", ""},
				{12, "u12", "unknown password hash format (unrecognised prefix)"},
				{13, "", "missing legacy_id"},
				{14, "u14", `bad email "bad@"`},
				{15, "", "not valid UTF-8"},
				{16, "u16", "unknown password hash format (pbkdf2-sha256: 0 iterations)"},
				{17, "u17", ""},
				{18, "u18", `bad lang "not a tag" (want a language tag such as ja or en)`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := readAll(t, newReader(t, tc.input, tc.format))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			for _, r := range got {
				if strings.Contains(r.Reason, "$") {
					t.Errorf("line %d: reason %q may quote a password hash", r.Line, r.Reason)
				}
			}
		})
	}
}

func TestLineErrorString(t *testing.T) {
	err := error(&LineError{Line: 7, LegacyID: "u7", Reason: "missing email"})
	if got, want := err.Error(), "line 7: missing email"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestReadDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        []result
	}{
		{"csv", "legacy_id,email\nu1,a@example.com\n", []result{{2, "u1", ""}}},
		{"csv after blank lines", "\n \r\n\tlegacy_id,email\nu1,a@example.com\n", []result{{4, "u1", ""}}},
		{"csv with BOM", "\uFEFFlegacy_id,email\nu1,a@example.com\n", []result{{2, "u1", ""}}},
		{"jsonl", `{"legacy_id":"u1","email":"a@example.com"}`, []result{{1, "u1", ""}}},
		{"jsonl after blank lines", "\n\n  " + `{"legacy_id":"u1","email":"a@example.com"}`, []result{{3, "u1", ""}}},
		{"jsonl with BOM", "\uFEFF" + `{"legacy_id":"u1","email":"a@example.com"}`, []result{{1, "u1", ""}}},
		{"empty", "", nil},
		{"blank", "\n\n \n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := readAll(t, newReader(t, tc.input, ""))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input, format string
		badHeader           bool
		contains            string
	}{
		{"missing email column", "legacy_id,name\nu1,Ada\n", "csv", true, `missing column "email"`},
		{"missing legacy_id column", "email\na@example.com\n", "", true, `missing column "legacy_id"`},
		{"unknown columns", "legacy_id,email,Phone, fax \n", "csv", true, `unknown columns "phone", "fax"`},
		{"repeated column", "legacy_id,email,EMAIL\n", "csv", true, `column "email" given twice`},
		{"no header", "", "csv", true, "no header row"},
		{"unknown format", "legacy_id,email\n", "xml", false, `unknown import format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.input), tc.format)
			if err == nil {
				t.Fatal("NewReader succeeded, want an error")
			}
			if got := errors.Is(err, ErrBadHeader); got != tc.badHeader {
				t.Errorf("errors.Is(%v, ErrBadHeader) = %v, want %v", err, got, tc.badHeader)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
}

// TestReadBrokenFile checks that a file that cannot be read on ends with an
// error that is not a *LineError, and keeps returning it.
func TestReadBrokenFile(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		good        int // records before the error
	}{
		{"quote never closed", "legacy_id,email,name\nu1,a@example.com,\nu2,b@example.com,\"Bob\nu3,c@example.com,\n", 1},
		{"record over 1 MiB", "legacy_id,email,name\nu1,a@example.com,\nu2,b@example.com,\"" + strings.Repeat("x", 2<<20) + "\"\nu3,c@example.com,\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, tc.input, "csv")
			good := 0
			var err error
			for err == nil {
				_, err = r.Next()
				if err == nil {
					good++
				}
			}
			if _, ok := errors.AsType[*LineError](err); ok || err == io.EOF {
				t.Fatalf("after %d records: Next = %v, want a structural error", good, err)
			}
			if good != tc.good {
				t.Errorf("read %d records before the error, want %d", good, tc.good)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("Next after the error = %v, want %v again", again, err)
			}
		})
	}
}

func TestReadLongJSONLine(t *testing.T) {
	input := `{"legacy_id":"u1","email":"a@example.com","name":"` + strings.Repeat("x", 2<<20) + `"}` + "\n" +
		`{"legacy_id":"u2","email":"b@example.com"}`
	_, got := readAll(t, newReader(t, input, "jsonl"))
	want := []result{
		{1, "", "line longer than 1048576 bytes"},
		{2, "u2", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestReadStreams reads 100,000 CSV lines through a pipe, so that the
// Reader sees the file as it is written.
func TestReadStreams(t *testing.T) {
	const n = 100_000
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		fmt.Fprintln(w, "legacy_id,email,name,roles")
		for i := range n {
			fmt.Fprintf(w, "id%d,user%d@example.com,User %d,member\n", i, i, i)
		}
		pw.CloseWithError(w.Flush())
	}()
	defer pr.Close()

	r, err := NewReader(pr, "")
	if err != nil {
		t.Fatal(err)
	}
	count, last := 0, 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d records: %v", count, err)
		}
		count++
		last = rec.Line
	}
	if count != n || last != n+1 {
		t.Errorf("read %d records, last on line %d; want %d, line %d", count, last, n, n+1)
	}
}

// TestReadMemberColumns: organization, username and role, in CSV and
// JSON Lines alike; codes and names in their canonical forms, bad ones
// rejected with a reason.
func TestReadMemberColumns(t *testing.T) {
	for _, tc := range []struct {
		name, format, input string
	}{
		{"csv", "csv", "legacy_id,email,Organization,USERNAME,role\n" +
			"u1,a@example.com,Ｈ－１２３４ , front01,admin\n" +
			"u2,b@example.com,,,\n" +
			"u3,c@example.com,hotel,front desk,staff\n" +
			"u4,d@example.com,,night01,\"st\u0007aff\"\n" +
			"u5,e@example.com,\"h o t e l\",,staff\n"},
		{"jsonl", "jsonl", `{"legacy_id":"u1","email":"a@example.com","organization":"Ｈ－１２３４ ","username":" front01","role":"admin"}` + "\n" +
			`{"legacy_id":"u2","email":"b@example.com"}` + "\n" +
			`{"legacy_id":"u3","email":"c@example.com","organization":"hotel","username":"front desk","role":"staff"}` + "\n" +
			`{"legacy_id":"u4","email":"d@example.com","username":"night01","role":"st\u0007aff"}` + "\n" +
			`{"legacy_id":"u5","email":"e@example.com","organization":"h o t e l","role":"staff"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, all := readAll(t, newReader(t, tc.input, tc.format))
			type member struct{ LegacyID, Organization, Username, Role string }
			var got []member
			for _, r := range recs {
				got = append(got, member{r.LegacyID, r.Organization, r.Username, r.Role})
			}
			want := []member{{"u1", "H-1234", "front01", "admin"}, {"u2", "", "", ""}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
			var reasons []string
			for _, r := range all {
				if r.Reason != "" {
					reasons = append(reasons, r.LegacyID+": "+r.Reason)
				}
			}
			wantReasons := []string{
				`u3: bad username "front desk" (at most 64 characters, no spaces or control characters)`,
				"u4: control character in role",
				`u5: bad organization "h o t e l" (at most 64 characters, no spaces or control characters)`,
			}
			if d := cmp.Diff(wantReasons, reasons); d != "" {
				t.Errorf("rejections (-want +got):\n%s", d)
			}
		})
	}
}
