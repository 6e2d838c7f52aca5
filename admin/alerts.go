package admin

import (
	"context"
	"fmt"
	"slices"

	"github.com/sekisho/sekisho/storage"
)

// maxAlertCandidates bounds the members the alert setting lists.
const maxAlertCandidates = 200

// alertRoles are the roles that may manage members: their holders may
// receive the alerts of sign-in attempts on locked accounts.
func (f *Flow) alertRoles() []string {
	var out []string
	for _, r := range f.c.Roles {
		if r.ManageMembers {
			out = append(out, r.Name)
		}
	}
	return out
}

// AlertChoice is a member the alert setting lists, and whether they
// receive the alerts now.
type AlertChoice struct {
	storage.Member
	Chosen bool
}

// AlertChoices lists who may receive the alerts of sign-in attempts on
// locked accounts of a's organization (the active members whose role
// may manage members, and whoever receives them now), recipients marked.
func (f *Flow) AlertChoices(ctx context.Context, a Actor) ([]AlertChoice, error) {
	now := f.c.Now()
	var out []AlertChoice
	seen := map[string]bool{}
	for _, filter := range []storage.MemberFilter{
		{OrganizationID: a.Org.ID, DormantAlerts: true, Now: now, Limit: maxAlertCandidates},
		{OrganizationID: a.Org.ID, Roles: f.alertRoles(), Status: storage.StatusActive, Now: now, Limit: maxAlertCandidates},
	} {
		if filter.Roles == nil && !filter.DormantAlerts {
			continue // no role may manage members
		}
		p, err := f.c.Store.ListMembers(ctx, filter)
		if err != nil {
			return nil, fmt.Errorf("admin: list alert recipients: %w", err)
		}
		for _, m := range p.Members {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, AlertChoice{Member: m, Chosen: m.DormantAlerts})
			}
		}
	}
	return out, nil
}

// SetAlertRecipients makes the members ids (chosen among AlertChoices)
// a's organization's recipients of the alerts, and no one else, with an
// event (by a) for each member added or removed, in one transaction. An
// id that is not among the choices is refused, nothing changed. It
// reports whether anything changed.
func (f *Flow) SetAlertRecipients(ctx context.Context, a Actor, ids []string) (bool, error) {
	if len(ids) > maxAlertCandidates {
		return false, problem("admin.error.alert_recipients")
	}
	choices, err := f.AlertChoices(ctx, a)
	if err != nil {
		return false, err
	}
	var chosen []string
	for _, id := range ids {
		if !slices.ContainsFunc(choices, func(c AlertChoice) bool { return c.ID == id }) {
			return false, problem("admin.error.alert_recipients")
		}
		if !slices.Contains(chosen, id) {
			chosen = append(chosen, id)
		}
	}
	now := f.c.Now().UTC()
	var audit []storage.AuditEvent
	for _, c := range choices {
		switch want := slices.Contains(chosen, c.ID); {
		case want && !c.Chosen:
			audit = append(audit, a.event("dormant_alert_recipient", c.ID, "added", now))
		case !want && c.Chosen:
			audit = append(audit, a.event("dormant_alert_recipient", c.ID, "removed", now))
		}
	}
	if len(audit) == 0 {
		return false, nil
	}
	return true, refusal("set alert recipients", f.c.Store.SetAlertRecipients(ctx, a.Org.ID, chosen, audit))
}
