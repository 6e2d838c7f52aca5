package legacy

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/identifier"
)

// Record is one accepted line of an import file.
type Record struct {
	Line         int      // 1-based line number in the file (the header is line 1 in CSV)
	LegacyID     string   // required, trimmed, at most 255 characters, no control characters
	Email        string   // required, an address in its canonical form (identifier.Email)
	Name         string   // optional, in its canonical form (identifier.Name), no control characters
	PasswordHash string   // optional, trimmed; when set, Detect accepts it
	Roles        []string // from the ";"-separated "roles" field: trimmed, empty parts dropped, duplicates dropped, order kept; nil if none
	Lang         string   // optional: the user's language as a canonical BCP 47 tag ("ja", "en-US"), for mails
	// Organization is the code of the organization a new user joins, in
	// its canonical form (identifier.Username), or empty (the default
	// organization). The caller checks that it exists.
	Organization string
	// Username is the account name of a new user in its canonical form
	// (identifier.Username), or empty.
	Username string
	// Role is the member role of a new user (trimmed; the caller checks
	// that it is declared), or empty. Not Roles, the product's roles.
	Role string
}

// LineError is a line that cannot be imported.
type LineError struct {
	Line     int    // 1-based line number in the file
	LegacyID string // the line's legacy_id when it was read and valid, else ""
	Reason   string // short and readable; never contains a password hash
}

// Error returns "line 7: <reason>".
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ErrBadHeader is returned, wrapped with the details, by NewReader for a
// CSV file whose header row is missing, names an unknown column, names a
// column twice or lacks the legacy_id or email column.
var ErrBadHeader = errors.New("legacy: bad CSV header")

// Limits on an import file.
const (
	maxIDRunes    = 255
	maxEmailRunes = 254
	maxLangBytes  = 35
	// maxLineBytes bounds one JSON line or one CSV record, so that a file
	// with no line breaks (or a CSV quote never closed) cannot fill memory.
	maxLineBytes = 1 << 20
)

// column is a field of an import file.
type column int

const (
	colLegacyID column = iota
	colEmail
	colName
	colPasswordHash
	colRoles
	colLang
	colOrganization
	colUsername
	colRole
	numColumns
)

var columnNames = [numColumns]string{"legacy_id", "email", "name", "password_hash", "roles", "lang", "organization", "username", "role"}

// Reader reads records one at a time, in bounded memory: it holds one line
// (or one CSV record) of at most about 1 MiB.
type Reader struct {
	br   *bufio.Reader
	skip int   // lines skipped before the header or first JSON line
	err  error // sticky: io.EOF or a structural error

	// CSV
	csv     *csv.Reader
	limiter *recordLimiter
	index   [numColumns]int // position of each column in a row, or -1

	// JSON Lines
	jsonl bool
	line  int // the number of the last line read
	buf   []byte
}

// NewReader reads CSV with a header row, or JSON Lines: format is "csv",
// "jsonl", or "" to detect from the first non-blank byte ('{' means JSON
// Lines; an empty or blank input reads as JSON Lines with no records). The
// CSV header names the columns (legacy_id, email, name, password_hash,
// roles, lang, organization, username, role) in any order, case-insensitive, trimmed; an unknown or repeated
// column, or a missing legacy_id or email column, is an error wrapping
// ErrBadHeader. A UTF-8 BOM at the start is skipped.
func NewReader(r io.Reader, format string) (*Reader, error) {
	if format != "" && format != "csv" && format != "jsonl" {
		return nil, fmt.Errorf("legacy: unknown import format %q, want csv or jsonl", format)
	}
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	first, err := rd.skipBlank()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("legacy: read import file: %w", err)
	}
	if format == "" {
		format = "csv"
		if first == '{' || err == io.EOF {
			format = "jsonl"
		}
	}
	if format == "jsonl" {
		rd.jsonl = true
		rd.line = rd.skip
		return rd, nil
	}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// skipBlank skips a BOM and any blank lines and spaces before the first
// non-blank byte, which it returns without consuming. It counts the line
// breaks it skips, so that line numbers stay those of the file.
func (r *Reader) skipBlank() (byte, error) {
	if b, err := r.br.Peek(3); err == nil && string(b) == "\uFEFF" {
		r.br.Discard(3)
	}
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			r.skip++
		case ' ', '\t', '\r':
		default:
			return c, r.br.UnreadByte()
		}
	}
}

func (r *Reader) readHeader() error {
	r.limiter = &recordLimiter{r: r.br}
	r.csv = csv.NewReader(r.limiter)
	r.csv.ReuseRecord = true
	r.csv.TrimLeadingSpace = true
	header, err := r.csv.Read()
	r.limiter.start = r.csv.InputOffset()
	if err == io.EOF {
		return fmt.Errorf("%w: no header row", ErrBadHeader)
	}
	if err != nil {
		return fmt.Errorf("legacy: read CSV header: %w", err)
	}
	for c := range r.index {
		r.index[c] = -1
	}
	var unknown []string
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		c := column(slices.Index(columnNames[:], name))
		if c < 0 {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		if r.index[c] >= 0 {
			return fmt.Errorf("%w: column %q given twice", ErrBadHeader, name)
		}
		r.index[c] = i
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w: unknown columns %s (want %s)", ErrBadHeader,
			strings.Join(unknown, ", "), strings.Join(columnNames[:], ", "))
	}
	for _, c := range []column{colLegacyID, colEmail} {
		if r.index[c] < 0 {
			return fmt.Errorf("%w: missing column %q", ErrBadHeader, columnNames[c])
		}
	}
	// The header's length, set by the csv.Reader from the first row, is
	// the length every row must have.
	return nil
}

// Next returns the next record, io.EOF after the last, or a *LineError for
// a bad line (the caller reports it and calls Next again: reading continues
// with the following line). A structurally broken file (e.g. a CSV quote
// never closed, or a line over 1 MiB in CSV) ends with a non-LineError
// error, which Next then returns on every call.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	var rec Record
	var err error
	if r.jsonl {
		rec, err = r.nextJSON()
	} else {
		rec, err = r.nextCSV()
	}
	var lineErr *LineError
	if err != nil && !errors.As(err, &lineErr) {
		r.err = err
	}
	return rec, err
}

func (r *Reader) nextCSV() (Record, error) {
	for {
		row, err := r.csv.Read()
		r.limiter.start = r.csv.InputOffset()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			line := r.skip + pe.StartLine
			switch {
			case errors.Is(pe.Err, csv.ErrFieldCount):
				if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
					continue // a line of spaces
				}
				return Record{}, &LineError{Line: line, Reason: fmt.Sprintf("%d fields, want %d", len(row), r.csv.FieldsPerRecord)}
			case errors.Is(pe.Err, csv.ErrBareQuote):
				return Record{}, &LineError{Line: line, Reason: `bare " in unquoted field`}
			}
			return Record{}, fmt.Errorf("legacy: read CSV: %w", err)
		}
		if err != nil {
			if errors.Is(err, errRecordTooLong) {
				line, _ := r.csv.FieldPos(0)
				return Record{}, fmt.Errorf("legacy: read CSV: record after line %d: %w", r.skip+line, err)
			}
			return Record{}, fmt.Errorf("legacy: read CSV: %w", err)
		}
		line, _ := r.csv.FieldPos(0)
		var f fields
		for c := range numColumns {
			if i := r.index[c]; i >= 0 {
				f.values[c] = row[i]
			}
		}
		f.roles = splitRoles(f.values[colRoles])
		return f.record(r.skip + line)
	}
}

// errRecordTooLong stops a csv.Reader that reads one record of more than
// maxLineBytes.
var errRecordTooLong = fmt.Errorf("longer than %d bytes", maxLineBytes)

// recordLimiter feeds a csv.Reader and fails once it has fed more than
// maxLineBytes past start, the input offset of the current record.
type recordLimiter struct {
	r     io.Reader
	fed   int64
	start int64
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.fed-l.start > maxLineBytes {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.fed += int64(n)
	return n, err
}

// jsonRecord is one line of a JSON Lines file.
type jsonRecord struct {
	LegacyID     string          `json:"legacy_id"`
	Email        string          `json:"email"`
	Name         string          `json:"name"`
	PasswordHash string          `json:"password_hash"`
	Roles        json.RawMessage `json:"roles"` // a ";"-separated string or an array of strings
	Lang         string          `json:"lang"`
	Organization string          `json:"organization"`
	Username     string          `json:"username"`
	Role         string          `json:"role"`
}

func (r *Reader) nextJSON() (Record, error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		r.line++
		if tooLong {
			return Record{}, &LineError{Line: r.line, Reason: fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		f, reason := decodeJSONLine(line)
		if reason != "" {
			return Record{}, &LineError{Line: r.line, Reason: reason}
		}
		return f.record(r.line)
	}
}

// readLine returns the next line without its line break, or io.EOF when
// there is none. Of a line longer than maxLineBytes it keeps nothing and
// reports tooLong.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > maxLineBytes+2 { // room for "\r\n"
				tooLong, r.buf = true, r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(r.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return r.buf, tooLong, nil
		case err != nil:
			return nil, false, fmt.Errorf("legacy: read import file: %w", err)
		}
		return bytes.TrimSuffix(r.buf, []byte("\n")), tooLong, nil
	}
}

// decodeJSONLine decodes one non-blank JSON line, or returns the reason it
// cannot.
func decodeJSONLine(line []byte) (fields, string) {
	if !utf8.Valid(line) {
		return fields{}, "not valid UTF-8"
	}
	if line[0] != '{' {
		return fields{}, "not a JSON object"
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var jr jsonRecord
	if err := dec.Decode(&jr); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return fields{}, fmt.Sprintf("%s: want a string, got a JSON %s", te.Field, te.Value)
		}
		if _, ok := errors.AsType[*json.SyntaxError](err); ok || errors.Is(err, io.ErrUnexpectedEOF) {
			return fields{}, "bad JSON"
		}
		// Unknown fields come as `json: unknown field "x"`.
		return fields{}, strings.TrimPrefix(err.Error(), "json: ")
	}
	if dec.InputOffset() != int64(len(line)) {
		return fields{}, "more than one JSON value on the line"
	}
	f := fields{values: [numColumns]string{
		colLegacyID:     jr.LegacyID,
		colEmail:        jr.Email,
		colName:         jr.Name,
		colPasswordHash: jr.PasswordHash,
		colLang:         jr.Lang,
		colOrganization: jr.Organization,
		colUsername:     jr.Username,
		colRole:         jr.Role,
	}}
	roles := bytes.TrimSpace(jr.Roles)
	switch {
	case len(roles) == 0 || string(roles) == "null":
	case roles[0] == '"':
		var s string
		if err := json.Unmarshal(roles, &s); err != nil {
			return fields{}, "roles: want a string or an array of strings"
		}
		f.roles = splitRoles(s)
	default:
		if err := json.Unmarshal(roles, &f.roles); err != nil {
			return fields{}, "roles: want a string or an array of strings"
		}
	}
	return f, ""
}

// fields are the raw values of one line: the columns as read (empty if
// absent) and the roles before cleaning.
type fields struct {
	values [numColumns]string
	roles  []string
}

func splitRoles(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// record checks the fields of the line numbered line and returns the
// Record, or a *LineError with the first problem found.
func (f fields) record(line int) (Record, error) {
	fail := func(id, format string, args ...any) (Record, error) {
		return Record{}, &LineError{Line: line, LegacyID: id, Reason: fmt.Sprintf(format, args...)}
	}
	for c, v := range f.values {
		if !utf8.ValidString(v) {
			return fail("", "%s is not valid UTF-8", columnNames[c])
		}
	}
	rec := Record{
		Line:         line,
		LegacyID:     strings.TrimSpace(f.values[colLegacyID]),
		Email:        strings.TrimSpace(f.values[colEmail]),
		Name:         strings.TrimSpace(f.values[colName]),
		PasswordHash: strings.TrimSpace(f.values[colPasswordHash]),
	}
	switch {
	case rec.LegacyID == "":
		return fail("", "missing legacy_id")
	case utf8.RuneCountInString(rec.LegacyID) > maxIDRunes:
		return fail("", "legacy_id longer than %d characters", maxIDRunes)
	case hasControl(rec.LegacyID):
		return fail("", "control character in legacy_id")
	}
	id := rec.LegacyID
	switch {
	case rec.Email == "":
		return fail(id, "missing email")
	case utf8.RuneCountInString(rec.Email) > maxEmailRunes:
		return fail(id, "email longer than %d characters", maxEmailRunes)
	case utf8.RuneCountInString(rec.Name) > identifier.MaxNameLength:
		return fail(id, "name longer than %d characters", identifier.MaxNameLength)
	case hasControl(rec.Name):
		return fail(id, "control character in name")
	}
	email, err := identifier.Email(rec.Email)
	if err != nil {
		return fail(id, "bad email %q", rec.Email)
	}
	name, err := identifier.Name(rec.Name)
	if err != nil {
		return fail(id, "bad name")
	}
	rec.Email, rec.Name = email, name
	if l := strings.TrimSpace(f.values[colLang]); l != "" {
		tag, err := language.Parse(l)
		if err != nil || len(l) > maxLangBytes {
			return fail(id, "bad lang %q (want a language tag such as ja or en)", l)
		}
		rec.Lang = tag.String()
	}
	for _, c := range []struct {
		col  column
		dest *string
	}{{colOrganization, &rec.Organization}, {colUsername, &rec.Username}} {
		v := strings.TrimSpace(f.values[c.col])
		if v == "" {
			continue
		}
		canon, err := identifier.Username(v)
		if err != nil {
			return fail(id, "bad %s %q (at most %d characters, no spaces or control characters)", columnNames[c.col], v,
				identifier.MaxUsernameLength)
		}
		*c.dest = canon
	}
	if rec.Role = strings.TrimSpace(f.values[colRole]); hasControl(rec.Role) {
		return fail(id, "control character in role")
	}
	if rec.PasswordHash != "" {
		if _, err := Detect(rec.PasswordHash); err != nil {
			if fe, ok := errors.AsType[*formatError](err); ok {
				return fail(id, "unknown password hash format (%s)", fe.reason)
			}
			return fail(id, "unknown password hash format")
		}
	}
	for _, role := range f.roles {
		role = strings.TrimSpace(role)
		if !utf8.ValidString(role) {
			return fail(id, "role is not valid UTF-8")
		}
		if role != "" && !slices.Contains(rec.Roles, role) {
			rec.Roles = append(rec.Roles, role)
		}
	}
	return rec, nil
}

// plainAddress reports whether s is a bare address as net/mail parses it:
// no display name, no angle brackets, no comments.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
