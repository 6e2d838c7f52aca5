package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// Settings is what the settings page shows.
type Settings struct {
	Org storage.Organization
	// Members counts the organization's members; Limit is the member
	// limit in force (0: none), the deployment's when the organization
	// has none of its own (FromDeployment).
	Members        int
	Limit          int
	FromDeployment bool
	// Editable: a may change the name and time zone (the highest role,
	// or a platform administrator); LimitEditable: a may change the
	// member limit (a platform administrator only).
	Editable, LimitEditable bool
}

// Settings loads the settings page of a's organization.
func (f *Flow) Settings(ctx context.Context, a Actor) (Settings, error) {
	p, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, Now: f.c.Now(), Limit: 1})
	if err != nil {
		return Settings{}, fmt.Errorf("admin: count members: %w", err)
	}
	return Settings{Org: a.Org, Members: p.Total, Limit: f.limit(a), FromDeployment: a.Org.MaxMembers == 0 && f.c.MaxMembers > 0,
		Editable: f.MayEditSettings(a), LimitEditable: a.Platform}, nil
}

// SettingsInput is the organization form.
type SettingsInput struct {
	Name, TimeZone string
	// MaxMembers is read only from a platform administrator ("" or "0":
	// the deployment's limit).
	MaxMembers string
}

// UpdateSettings changes the organization's name and time zone (and, for
// a platform administrator, its member limit) and records who did it.
func (f *Flow) UpdateSettings(ctx context.Context, a Actor, in SettingsInput) (storage.Organization, error) {
	if !f.MayEditSettings(a) {
		return a.Org, problem("admin.error.settings_forbidden")
	}
	name, err := identifier.Name(in.Name)
	if err != nil || name == "" {
		return a.Org, fieldProblem("name", "admin.error.org_name")
	}
	tz := strings.TrimSpace(in.TimeZone)
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return a.Org, fieldProblem("time_zone", "admin.error.time_zone")
	}
	limit := a.Org.MaxMembers
	if a.Platform {
		s := strings.TrimSpace(in.MaxMembers)
		if s == "" {
			s = "0"
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10_000_000 {
			return a.Org, fieldProblem("max_members", "admin.error.max_members")
		}
		limit = n
	}
	now := f.c.Now().UTC()
	o, err := f.c.Store.UpdateOrganization(ctx, a.Org.ID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		var changed []string
		if o.Name != name {
			changed = append(changed, "name")
		}
		if o.TimeZone != tz {
			changed = append(changed, "time_zone")
		}
		if o.MaxMembers != limit {
			changed = append(changed, "max_members")
		}
		if len(changed) == 0 {
			return o, nil, nil
		}
		o.Name, o.TimeZone, o.MaxMembers, o.UpdatedAt = name, tz, limit, now
		return o, []storage.AuditEvent{a.event("organization_updated", "", strings.Join(changed, ", "), now)}, nil
	})
	if err != nil {
		return a.Org, fmt.Errorf("admin: update organization: %w", err)
	}
	return o, nil
}
