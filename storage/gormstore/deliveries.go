package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// claimDue claims rows of a work table (columns id, status, attempts,
// next_attempt_at, claimed_until, updated_at): pending rows that are due,
// or named in ids, whose lease is not running. It sets the lease, counts
// an attempt and returns the claimed ids. On PostgreSQL the candidate rows
// are read with FOR UPDATE SKIP LOCKED, so replicas claim different rows.
func (s *Store) claimDue(tx *gorm.DB, table string, ids []string, now, lease time.Time, limit int) ([]string, error) {
	t := utc(now)
	q := tx.Table(table).Select("id").
		Where("status = ? AND (claimed_until IS NULL OR claimed_until <= ?)", storage.DeliveryPending, t)
	if len(ids) > 0 {
		q = q.Where("id IN ?", ids)
	} else {
		q = q.Where("next_attempt_at <= ?", t).Order("next_attempt_at, id")
	}
	var claimed []string
	if err := s.skipLocked(q.Limit(limitOr(limit, 100))).Find(&claimed).Error; err != nil || len(claimed) == 0 {
		return nil, err
	}
	err := tx.Table(table).Where("id IN ?", claimed).Updates(map[string]any{
		"claimed_until": utc(lease),
		"attempts":      gorm.Expr("attempts + 1"),
		"updated_at":    t,
	}).Error
	return claimed, err
}

func (s *Store) ClaimLogoutDeliveries(ctx context.Context, c storage.DeliveryClaim) ([]storage.LogoutDelivery, error) {
	var rows []logoutDeliveryRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		ids, err := s.claimDue(tx, "logout_deliveries", c.IDs, c.Now, c.Lease, c.Limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		return tx.Where("id IN ?", ids).Order("next_attempt_at, id").Find(&rows).Error
	})
	if err != nil {
		return nil, wrap("claim logout deliveries", err)
	}
	return convert(rows, logoutDeliveryRow.delivery), nil
}

// FinishLogoutDelivery: ErrNotFound when there is no such delivery.
func (s *Store) FinishLogoutDelivery(ctx context.Context, id string, o storage.DeliveryOutcome) error {
	now := utc(o.Now)
	set := map[string]any{"claimed_until": nil, "last_error": o.Error, "updated_at": now}
	switch {
	case o.Delivered:
		set["status"], set["finished_at"] = storage.DeliveryDelivered, now
	case o.Final:
		set["status"], set["finished_at"] = storage.DeliveryFailed, now
	default:
		set["next_attempt_at"] = utc(o.NextAttemptAt)
	}
	res := s.db.WithContext(ctx).Model(&logoutDeliveryRow{}).Where("id = ?", id).Updates(set)
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = storage.ErrNotFound
	}
	return wrap("finish logout delivery", res.Error)
}

func (s *Store) GetLogoutDelivery(ctx context.Context, id string) (storage.LogoutDelivery, error) {
	var row logoutDeliveryRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.LogoutDelivery{}, wrap("get logout delivery", err)
	}
	return row.delivery(), nil
}

func (s *Store) ListLogoutDeliveries(ctx context.Context, f storage.DeliveryFilter) ([]storage.LogoutDelivery, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id").Limit(limitOr(f.Limit, 100))
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var rows []logoutDeliveryRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, wrap("list logout deliveries", err)
	}
	return convert(rows, logoutDeliveryRow.delivery), nil
}

func (s *Store) CountLogoutDeliveries(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Status string
		N      int
	}
	err := s.db.WithContext(ctx).Model(&logoutDeliveryRow{}).Select("status, COUNT(*) AS n").Group("status").Find(&rows).Error
	if err != nil {
		return nil, wrap("count logout deliveries", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
