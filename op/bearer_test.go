package op

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestActiveTokenIDs: ids that cannot be ours are never looked up, so a
// crafted token (the library still decrypts unauthenticated AES-CFB
// tokens into arbitrary bytes) is "not found" on both databases, not a
// database error.
func TestActiveTokenIDs(t *testing.T) {
	for name, open := range map[string]func(testing.TB) storage.Storage{
		"sqlite":   func(t testing.TB) storage.Storage { return gormstoretest.NewSQLite(t) },
		"postgres": func(t testing.TB) storage.Storage { return gormstoretest.NewPostgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := time.Now().UTC()
			at := storage.AccessToken{ID: uuid.NewString(), ClientID: "api", Subject: "api", Scopes: []string{"legacy_api"},
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := st.CreateAccessToken(t.Context(), at); err != nil {
				t.Fatal(err)
			}
			s := &opStorage{store: st, now: time.Now}
			for _, id := range []string{"\xff\xfe\x00", "not-a-uuid", "", uuid.NewString(), at.ID + "x"} {
				if _, err := s.activeToken(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("activeToken(%q) = %v, want ErrNotFound", id, err)
				}
			}
			if got, err := s.activeToken(t.Context(), at.ID); err != nil || got.ID != at.ID {
				t.Errorf("activeToken(stored) = %+v, %v", got, err)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/api/legacy/users/1", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got, ok := bearerToken(r)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
