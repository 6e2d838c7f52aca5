package server

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestStartEmailScope: in the email sign-in mode an address belongs to
// one account of the deployment, so a start finding one address in two
// organizations is refused, naming them; an organization mode starts on
// the same data; once the clash is gone the email mode starts, and then
// keeps the address unique across organizations.
func TestStartEmailScope(t *testing.T) {
	for _, b := range []struct {
		name  string
		store func(testing.TB) storage.Storage
	}{
		{"sqlite", func(t testing.TB) storage.Storage { return gormstoretest.NewSQLite(t) }},
		{"postgres", func(t testing.TB) storage.Storage { return gormstoretest.NewPostgres(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.store(t)
			now := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
			// Another organization's account with the default one's
			// address can only be written under organization scope.
			if err := st.SetEmailScope(ctx, false); err != nil {
				t.Fatal(err)
			}
			hotel := storage.Organization{ID: uuid.NewString(), Code: "HOTEL-7", Name: "Hotel", TimeZone: "Asia/Tokyo",
				CreatedAt: now, UpdatedAt: now}
			if err := st.CreateOrganization(ctx, hotel); err != nil {
				t.Fatal(err)
			}
			add := func(orgID, email string) storage.User {
				u := storage.User{ID: uuid.NewString(), OrganizationID: orgID, Email: email, CreatedAt: now, UpdatedAt: now}
				if err := st.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				return u
			}
			add(storage.DefaultOrganizationID, "shared@example.com")
			clash := add(hotel.ID, "Shared@Example.com")

			start := func(identifier string) error {
				cfg := &config.Config{Issuer: "http://127.0.0.1:1",
					Secret:   base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
					Password: config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}}
				cfg.Login.Identifier = identifier
				cfg.ApplyDefaults()
				if err := cfg.Validate(); err != nil {
					t.Fatalf("config: %v", err)
				}
				_, err := New(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
				return err
			}
			err := start(config.IdentifierEmail)
			if err == nil || !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("email mode with a shared address: err = %v, want a conflict", err)
			}
			for _, want := range []string{"login.identifier", "default", "HOTEL-7", "s***@example.com"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not name %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "shared@example.com") {
				t.Errorf("the error shows the full address: %v", err)
			}
			for _, mode := range []string{config.IdentifierOrgEmail, config.IdentifierOrgUsername} {
				if err := start(mode); err != nil {
					t.Errorf("%s mode: %v", mode, err)
				}
			}

			// The clash resolved, the email mode starts and holds the
			// address for one account of the deployment.
			if err := st.DeleteUser(ctx, clash.ID, now); err != nil {
				t.Fatal(err)
			}
			if err := start(config.IdentifierEmail); err != nil {
				t.Fatalf("email mode without a clash: %v", err)
			}
			again := storage.User{ID: uuid.NewString(), OrganizationID: hotel.ID, Email: "shared@example.com", CreatedAt: now, UpdatedAt: now}
			if err := st.CreateUser(ctx, again); !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("a second account with the address in email mode: err = %v, want ErrAlreadyExists", err)
			}
		})
	}
}
