package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// DemoStore is what EnsureDemo needs of the storage.
type DemoStore interface {
	CreateOrganization(ctx context.Context, o storage.Organization) error
	GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error)
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	GetMemberByEmail(ctx context.Context, orgID, email string) (storage.User, error)
	GetMemberByUsername(ctx context.Context, orgID, username string) (storage.User, error)
	AddMember(ctx context.Context, m storage.NewMember) error
}

// EnsureDemo creates, once, the data of `serve --dev`: the demo
// organization (config.DevOrgCode), its administrator in the highest
// declared role, and the demo user in the lowest; both with a verified
// address and an account name, so they sign in in every identifier mode.
// A demo user that exists already (a database from before organizations)
// stays where it is. Passwords are hashed with the configured argon2id
// parameters.
func EnsureDemo(ctx context.Context, cfg *config.Config, st DemoStore) error {
	now := time.Now().UTC()
	org, err := st.GetOrganizationByCode(ctx, config.DevOrgCode)
	if errors.Is(err, storage.ErrNotFound) {
		org = storage.Organization{ID: uuid.NewString(), Code: config.DevOrgCode, Name: config.DevOrgName,
			TimeZone: cfg.Organizations.DefaultTimeZone, CreatedAt: now, UpdatedAt: now}
		if err = st.CreateOrganization(ctx, org); errors.Is(err, storage.ErrAlreadyExists) {
			org, err = st.GetOrganizationByCode(ctx, config.DevOrgCode)
		}
	}
	if err != nil {
		return fmt.Errorf("server: demo organization: %w", err)
	}
	hasher := password.New(password.Params{MemoryKiB: cfg.Password.MemoryKiB, Iterations: cfg.Password.Iterations,
		Parallelism: cfg.Password.Parallelism}, 1)
	for _, d := range []struct {
		email, username, name, password, role string
	}{
		{config.DevAdminEmail, config.DevAdminUsername, config.DevAdminName, config.DevAdminPassword, cfg.TopRole()},
		{config.DevUserEmail, config.DevUserUsername, "Demo User", config.DevUserPassword, cfg.DefaultRole()},
	} {
		exists, err := demoAccountExists(ctx, st, org.ID, d.email, d.username)
		if err != nil {
			return fmt.Errorf("server: demo account: %w", err)
		}
		if exists {
			continue
		}
		hash, err := hasher.Hash(ctx, d.password)
		if err != nil {
			return err
		}
		u := storage.User{ID: uuid.NewString(), OrganizationID: org.ID, Email: d.email, EmailVerified: true, Username: d.username,
			Name: d.name, Role: d.role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		err = st.AddMember(ctx, storage.NewMember{User: u, Audit: []storage.AuditEvent{{ID: uuid.NewString(), Time: now,
			Type: "user_added", OrganizationID: org.ID, UserID: u.ID, Outcome: "success", Detail: "dev"}}})
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("server: demo account: %w", err)
		}
	}
	return nil
}

// demoAccountExists reports whether a demo account is there: by its
// address in the deployment (the email mode) or in the organization, or
// by its account name.
func demoAccountExists(ctx context.Context, st DemoStore, orgID, email, username string) (bool, error) {
	for _, get := range []func() (storage.User, error){
		func() (storage.User, error) { return st.GetUserByEmail(ctx, email) },
		func() (storage.User, error) { return st.GetMemberByEmail(ctx, orgID, email) },
		func() (storage.User, error) { return st.GetMemberByUsername(ctx, orgID, username) },
	} {
		_, err := get()
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}
