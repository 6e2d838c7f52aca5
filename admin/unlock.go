package admin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/storage"
)

// maxUnlockSelection bounds the members one unlock names (a page lists
// PageSize; "all locked members" has no bound).
const maxUnlockSelection = 500

// idleBefore is the dormant rule's cutoff at now (zero: the lock is off).
func (f *Flow) idleBefore(now time.Time) time.Time {
	if f.c.DormantAfter <= 0 {
		return time.Time{}
	}
	return now.Add(-f.c.DormantAfter)
}

// UnlockDeadline is when an unlock by a at now ends: 24:00 of that day
// in the organization's time zone.
func (f *Flow) UnlockDeadline(a Actor, now time.Time) time.Time {
	return lifecycle.EndOfDay(now, a.Loc)
}

// UnlockRequest names the members an unlock is for: the selected ones,
// or all the organization's locked members.
type UnlockRequest struct {
	IDs []string
	All bool
}

// clean drops repeats and empty ids; a selection that is empty or too
// long is refused.
func (q UnlockRequest) clean() (UnlockRequest, error) {
	if q.All {
		return UnlockRequest{All: true}, nil
	}
	var ids []string
	for _, id := range q.IDs {
		if id != "" && len(id) <= 64 && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return q, problem("admin.error.unlock_none")
	case len(ids) > maxUnlockSelection:
		return q, problem("admin.error.unlock_too_many", maxUnlockSelection)
	}
	return UnlockRequest{IDs: ids}, nil
}

// UnlockPreview is what the confirmation of an unlock shows.
type UnlockPreview struct {
	Request UnlockRequest
	// Members are the selected members the unlock applies to: locked,
	// and within a's rank (all: the first page of them).
	Members []storage.Member
	// Count is how many members the unlock applies to.
	Count int
	// Until is the end of the unlock.
	Until time.Time
}

// PreviewUnlock lists what an unlock would do, changing nothing: an id
// that is not a member of a's organization is ErrNotFound; a member above
// a's rank is refused.
func (f *Flow) PreviewUnlock(ctx context.Context, a Actor, q UnlockRequest) (UnlockPreview, error) {
	q, err := q.clean()
	if err != nil {
		return UnlockPreview{Request: q}, err
	}
	now := f.c.Now()
	p := UnlockPreview{Request: q, Until: f.UnlockDeadline(a, now)}
	if q.All {
		page, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, Status: storage.StatusLocked,
			IdleBefore: f.idleBefore(now), Now: now, Limit: PageSize})
		if err != nil {
			return p, fmt.Errorf("admin: list locked members: %w", err)
		}
		for _, m := range page.Members {
			if f.mayActOn(a, m.Role) {
				p.Members = append(p.Members, m)
			}
		}
		p.Count = page.Total
		if above := f.rolesAbove(a); len(above) > 0 {
			// Locked members above a's rank stay locked: not counted.
			high, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, Status: storage.StatusLocked,
				Roles: above, IdleBefore: f.idleBefore(now), Now: now, Limit: 1})
			if err != nil {
				return p, fmt.Errorf("admin: count locked members: %w", err)
			}
			p.Count -= high.Total
		}
		return p, nil
	}
	for _, id := range q.IDs {
		m, err := f.Member(ctx, a, id)
		if err != nil {
			return p, err
		}
		if !m.MayAct {
			return p, problem("admin.error.forbidden")
		}
		if m.Status == storage.StatusLocked {
			p.Members = append(p.Members, m.Member)
		}
	}
	p.Count = len(p.Members)
	return p, nil
}

// Unlock lifts the dormant lock of the selected members, or of every
// locked member a may act on, until 24:00 of today in the organization's
// time zone, in one transaction with an account_unlocked event (by a) for
// each. The last sign-in does not move: without a sign-in by then the
// account is locked again. Members who are not locked are left alone; a
// selection naming another organization's member or one above a's rank
// changes nothing.
func (f *Flow) Unlock(ctx context.Context, a Actor, q UnlockRequest) ([]storage.User, error) {
	q, err := q.clean()
	if err != nil {
		return nil, err
	}
	now := f.c.Now().UTC()
	done, err := f.c.Store.UnlockMembers(ctx, storage.MemberUnlock{OrganizationID: a.Org.ID, UserIDs: q.IDs, All: q.All,
		IdleBefore: f.idleBefore(now), Now: now, Until: f.UnlockDeadline(a, now).UTC(), Guard: f.guard(a),
		Audit: a.event("account_unlocked", "", "administrator", now)})
	return done, refusal("unlock members", err)
}

// rolesAbove are the declared roles that rank above a (none for a
// platform administrator).
func (f *Flow) rolesAbove(a Actor) []string {
	var out []string
	for i, r := range f.c.Roles {
		if !a.Platform && i < a.Rank {
			out = append(out, r.Name)
		}
	}
	return out
}
