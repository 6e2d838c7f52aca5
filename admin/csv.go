package admin

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/storage"
)

// utf8BOM starts the file, so that spreadsheet software reads Japanese
// as UTF-8.
const utf8BOM = "\uFEFF"

// exportBatch is how many members one query of the export reads (a
// variable for the test that crosses batches).
var exportBatch = 5000

// ExportMembers writes the members the query matches (every page) as CSV
// with the list's columns, headers and values in lang, times in the
// organization's time zone: UTF-8 with a BOM, cells that a spreadsheet
// would read as a formula quoted with an apostrophe.
func (f *Flow) ExportMembers(ctx context.Context, a Actor, q MemberQuery, lang string, w io.Writer) error {
	q = q.Clean()
	p := i18n.NewPrinter(language.Make(lang))
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := []string{p.T("admin.members.name")}
	if f.ByUsername() {
		header = append(header, p.T("admin.members.username"))
	}
	header = append(header, p.T("admin.members.email"), p.T("admin.members.email_state"), p.T("admin.members.role"),
		p.T("admin.members.status"), p.T("admin.members.last_login"))
	if err := cw.Write(header); err != nil {
		return err
	}
	now := f.c.Now()
	for offset := 0; ; offset += exportBatch {
		page, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, Search: q.Search,
			EmailState: q.EmailState, Status: q.Status, IdleBefore: f.idleBefore(now), Now: now, Limit: exportBatch, Offset: offset})
		if err != nil {
			return fmt.Errorf("admin: export members: %w", err)
		}
		for _, m := range page.Members {
			row := []string{m.Name}
			if f.ByUsername() {
				row = append(row, m.Username)
			}
			last := ""
			if m.LastLoginAt != nil {
				last = m.LastLoginAt.In(a.Loc).Format("2006-01-02 15:04")
			}
			row = append(row, m.Email, p.T("admin.email_state."+m.EmailState), f.RoleLabel(m.Role, lang),
				p.T("admin.status."+m.Status), last)
			for i := range row {
				row[i] = CSVCell(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page.Members) < exportBatch {
			return nil
		}
	}
}

// CSVCell protects a cell from CSV injection (OWASP): a value a
// spreadsheet would run as a formula, starting with =, +, -, @, a tab or
// a carriage return, gets a leading apostrophe.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
