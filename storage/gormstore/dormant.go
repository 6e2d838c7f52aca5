package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// lockedRule is the dormant rule in SQL over a users row (@idle: now
// minus lifecycle.dormant_after; @now): an enabled account that is not
// invited, idle since @idle or earlier (the later of its creation and its
// last interactive sign-in), whose administrator's unlock, if any, is
// over. It agrees with lifecycle.Dormant.
const lockedRule = `(NOT users.disabled AND users.invited_at IS NULL AND users.created_at <= @idle
AND (users.last_login_at IS NULL OR users.last_login_at <= @idle)
AND (users.unlocked_until IS NULL OR users.unlocked_until <= @now))`

func (s *Store) MarkDormant(ctx context.Context, d storage.DormantSweep) (storage.DormantResult, error) {
	var out storage.DormantResult
	args := map[string]any{"idle": utc(d.IdleBefore), "now": utc(d.Now)}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = storage.DormantResult{}
		cleared := tx.Model(&userRow{}).Where("users.dormant_at IS NOT NULL AND NOT "+lockedRule, args).
			Update("dormant_at", nil)
		if cleared.Error != nil {
			return fmt.Errorf("clear marks: %w", cleared.Error)
		}
		out.Cleared = int(cleared.RowsAffected)
		var rows []userRow
		q := tx.Model(&userRow{}).Where("users.dormant_at IS NULL AND "+lockedRule, args).
			Order("users.created_at, users.id").Limit(limitOr(d.Limit, 100))
		if err := s.skipLocked(q).Find(&rows).Error; err != nil {
			return fmt.Errorf("find dormant accounts: %w", err)
		}
		now := utc(d.Now)
		for _, r := range rows {
			res := tx.Model(&userRow{}).Where("id = ? AND dormant_at IS NULL", r.ID).Update("dormant_at", now)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			r.DormantAt = &now
			u := r.user()
			if d.End != nil {
				e := *d.End
				e.UserID, e.RevokeAllTokens, e.Now = u.ID, true, d.Now
				ended, err := s.endSessions(tx, e)
				if err != nil {
					return fmt.Errorf("end sessions: %w", err)
				}
				out.Ended.Ended = append(out.Ended.Ended, ended.Ended...)
				out.Ended.Deliveries = append(out.Ended.Deliveries, ended.Deliveries...)
				out.Ended.Claimed = append(out.Ended.Claimed, ended.Claimed...)
			}
			if err := createAuditEvent(tx, eventOf(d.Audit, u, d.Now)); err != nil {
				return err
			}
			out.Marked = append(out.Marked, u)
		}
		return nil
	})
	return out, wrap("mark dormant", err)
}

func (s *Store) SetAlertRecipients(ctx context.Context, orgID string, userIDs []string, audit []storage.AuditEvent) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockOrganization(tx, orgID); err != nil {
			return err
		}
		if len(userIDs) > 0 {
			var n int64
			if err := tx.Model(&userRow{}).Where("organization_id = ? AND id IN ?", orgID, userIDs).Count(&n).Error; err != nil {
				return err
			}
			if int(n) != len(uniq(userIDs)) {
				return storage.ErrNotFound
			}
		}
		q := tx.Model(&userRow{}).Where("organization_id = ? AND dormant_alerts", orgID)
		if len(userIDs) > 0 {
			q = q.Where("id NOT IN ?", userIDs)
		}
		if err := q.Update("dormant_alerts", false).Error; err != nil {
			return err
		}
		if len(userIDs) > 0 {
			if err := tx.Model(&userRow{}).Where("organization_id = ? AND id IN ? AND NOT dormant_alerts", orgID, userIDs).
				Update("dormant_alerts", true).Error; err != nil {
				return err
			}
		}
		for _, e := range audit {
			if err := createAuditEvent(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("set alert recipients", err)
}

// uniq is ids without repeats.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Store) UnlockMembers(ctx context.Context, u storage.MemberUnlock) ([]storage.User, error) {
	var out []storage.User
	args := map[string]any{"idle": utc(u.IdleBefore), "now": utc(u.Now)}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = nil
		if _, err := s.lockOrganization(tx, u.OrganizationID); err != nil {
			return err
		}
		var rows []userRow
		q := s.forUpdate(tx).Where("organization_id = ?", u.OrganizationID)
		ids := uniq(u.UserIDs)
		switch {
		case u.All:
			q = q.Where(lockedRule, args)
		case len(ids) == 0:
			return nil
		default:
			q = q.Where("id IN ?", ids)
		}
		if err := q.Order("id").Find(&rows).Error; err != nil {
			return err
		}
		if !u.All && len(rows) != len(ids) {
			return storage.ErrNotFound
		}
		if u.Guard != nil && !u.Guard.Operator {
			rank, platform, err := s.guardRank(tx, u.OrganizationID, u.Guard)
			if err != nil {
				return err
			}
			kept := rows[:0]
			for _, r := range rows {
				if rr, _, ok := u.Guard.Rank(r.Role); !platform && ok && rr < rank {
					if !u.All {
						return storage.ErrForbidden
					}
					continue
				}
				kept = append(kept, r)
			}
			rows = kept
		}
		ids = ids[:0]
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		// Only the accounts the rule locks now: the others are left alone.
		var locked []userRow
		if err := tx.Where("id IN ?", ids).Where(lockedRule, args).Order("id").Find(&locked).Error; err != nil {
			return err
		}
		until := utc(u.Until)
		for _, r := range locked {
			res := tx.Model(&userRow{}).Where("id = ?", r.ID).Updates(map[string]any{"unlocked_until": until, "dormant_at": nil})
			if res.Error != nil {
				return res.Error
			}
			r.UnlockedUntil, r.DormantAt = &until, nil
			m := r.user()
			if err := createAuditEvent(tx, eventOf(u.Audit, m, u.Now)); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, wrap("unlock members", err)
}

// eventOf is the event ev about account u: a new id, u's ids, and now
// when ev has no time.
func eventOf(ev storage.AuditEvent, u storage.User, now time.Time) storage.AuditEvent {
	ev.ID = ""
	if ev.Time.IsZero() {
		ev.Time = now
	}
	ev.UserID, ev.OrganizationID = u.ID, u.OrganizationID
	return ev
}
