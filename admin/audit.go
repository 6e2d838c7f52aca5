package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// AuditKinds are the kinds of events the audit page filters on, in the
// order its list shows them: the sign-in flows' and the console's. Each
// has the catalog key "admin.audit.kind.<kind>".
var AuditKinds = []string{
	"login", "logout", "password_reset_requested", "password_reset", "password_changed", "password_check",
	"email_change_requested", "email_verified", "email_changed", "otp_setting",
	"member_added", "invitation_sent", "invitation_accepted", "name_changed", "username_changed", "role_changed",
	"password_change_required", "password_reset_sent", "sessions_revoked", "throttle_cleared", "user_disable", "user_enable", "user_delete",
	"organization_updated", "account_dormant", "dormant_signin_attempt", "unlock_link_sent", "account_unlocked", "dormant_alert_sent",
	"dormant_alert_recipient",
}

// AuditQuery is what the audit page shows: the events about or by one
// member (empty: all), of one kind (empty: all), a page (1-based).
type AuditQuery struct {
	Member string
	Kind   string
	Page   int
}

// AuditEntry is one event as the page shows it: the actor and the member
// by name (empty when the account is gone or not the organization's).
type AuditEntry struct {
	storage.AuditEvent
	ActorName  string
	MemberName string
	// MemberExists: the member is still in the organization (their page
	// can be linked).
	MemberExists bool
	// Platform: the actor is not a member of the organization (a platform
	// administrator).
	Platform bool
}

// AuditList is a page of the organization's events, newest first.
type AuditList struct {
	Query   AuditQuery
	Entries []AuditEntry
	// MemberName names the member filtered on, when they exist.
	MemberName string
	HasNext    bool
}

// Audit lists a page of the events of a's organization, newest first.
// Accounts are shown by name, never by address: an event's detail holds no
// full address either.
func (f *Flow) Audit(ctx context.Context, a Actor, q AuditQuery) (AuditList, error) {
	q.Page = max(q.Page, 1)
	if !slices.Contains(AuditKinds, q.Kind) {
		q.Kind = ""
	}
	if len(q.Member) > 64 {
		q.Member = ""
	}
	events, err := f.c.Store.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: a.Org.ID, Member: q.Member, Type: q.Kind,
		Limit: PageSize + 1, Offset: (q.Page - 1) * PageSize})
	if err != nil {
		return AuditList{}, fmt.Errorf("admin: list audit events: %w", err)
	}
	out := AuditList{Query: q, HasNext: len(events) > PageSize}
	events = events[:min(len(events), PageSize)]
	names := map[string]*storage.User{}
	name := func(id string) (*storage.User, error) {
		if id == "" {
			return nil, nil
		}
		if u, ok := names[id]; ok {
			return u, nil
		}
		u, err := f.c.Store.GetMember(ctx, a.Org.ID, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			names[id] = nil
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("admin: load member: %w", err)
		}
		names[id] = &u
		return &u, nil
	}
	for _, e := range events {
		e.Time = e.Time.In(a.Loc)
		entry := AuditEntry{AuditEvent: e}
		actor, err := name(e.ActorID)
		if err != nil {
			return out, err
		}
		if actor != nil {
			entry.ActorName = displayName(*actor)
		} else {
			entry.Platform = e.ActorID != ""
		}
		member, err := name(e.UserID)
		if err != nil {
			return out, err
		}
		if member != nil {
			entry.MemberName, entry.MemberExists = displayName(*member), true
		} else if e.Type == "user_delete" {
			entry.MemberName = e.Detail
		}
		out.Entries = append(out.Entries, entry)
	}
	if q.Member != "" {
		if m, err := name(q.Member); err != nil {
			return out, err
		} else if m != nil {
			out.MemberName = displayName(*m)
		}
	}
	return out, nil
}

// displayName is how the console names a member: the name, else the
// account name, else the masked address.
func displayName(u storage.User) string {
	switch {
	case u.Name != "":
		return u.Name
	case u.Username != "":
		return u.Username
	}
	return identifier.Mask(u.Email)
}
