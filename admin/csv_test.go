package admin

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestExportCrossesBatches: the export reads the members in batches and
// writes every one exactly once, in the list's order, whatever the batch
// size, on SQLite and PostgreSQL.
func TestExportCrossesBatches(t *testing.T) {
	defer func(n int) { exportBatch = n }(exportBatch)
	exportBatch = 7
	for _, tc := range []struct {
		name string
		open func(testing.TB) storage.Storage
	}{
		{"sqlite", func(t testing.TB) storage.Storage { return gormstoretest.NewSQLite(t) }},
		{"postgres", func(t testing.TB) storage.Storage { return gormstoretest.NewPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			ctx := t.Context()
			now := time.Now().UTC()
			org := storage.Organization{ID: "5b8f0f7e-3f4e-4c1a-9a57-1d1f3e0b6a01", Code: "hotel", Name: "Hotel", TimeZone: "UTC",
				CreatedAt: now, UpdatedAt: now}
			if err := st.CreateOrganization(ctx, org); err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 3*7 + 2 {
				u := storage.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), OrganizationID: org.ID,
					Email: fmt.Sprintf("m%02d@hotel.example", i), Name: fmt.Sprintf("Member %02d", i), EmailVerified: true,
					PasswordHash: "x", CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
				if err := st.AddMember(ctx, storage.NewMember{User: u}); err != nil {
					t.Fatal(err)
				}
				want = append(want, u.Email)
			}
			f := NewFlow(Config{Store: st, Identifier: config.IdentifierOrgEmail})
			var buf bytes.Buffer
			if err := f.ExportMembers(ctx, Actor{Org: org, Loc: time.UTC}, MemberQuery{}, "en", &buf); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte(utf8BOM)))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[1])
			}
			if !slices.Equal(got, want) {
				t.Errorf("exported %d members %v, want %d %v", len(got), got, len(want), want)
			}
		})
	}
}
