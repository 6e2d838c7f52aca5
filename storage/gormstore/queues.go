package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// The work tables (logout_deliveries, mail_outbox) share the columns id,
// status, attempts, next_attempt_at, claimed_until, last_error,
// updated_at and finished_at, and one set of operations.

// claimDue claims pending rows that are due, or named in ids, whose lease
// is not running (and that match the extra conditions): it sets the
// lease, counts an attempt and returns the claimed rows into dest. On
// PostgreSQL the candidate rows are read with FOR UPDATE SKIP LOCKED, so
// replicas claim different rows.
func (s *Store) claimDue(ctx context.Context, table string, c storage.DeliveryClaim, dest any, extra ...func(*gorm.DB) *gorm.DB) error {
	t := utc(c.Now)
	return s.tx(ctx, func(tx *gorm.DB) error {
		q := tx.Table(table).Select("id").
			Where("status = ? AND (claimed_until IS NULL OR claimed_until <= ?)", storage.DeliveryPending, t).Scopes(extra...)
		if len(c.IDs) > 0 {
			q = q.Where("id IN ?", c.IDs)
		} else {
			q = q.Where("next_attempt_at <= ?", t).Order("next_attempt_at, id")
		}
		var ids []string
		if err := s.skipLocked(q.Limit(limitOr(c.Limit, 100))).Find(&ids).Error; err != nil || len(ids) == 0 {
			return err
		}
		err := tx.Table(table).Where("id IN ?", ids).Updates(map[string]any{
			"claimed_until": utc(c.Lease),
			"attempts":      gorm.Expr("attempts + 1"),
			"updated_at":    t,
		}).Error
		if err != nil {
			return err
		}
		return tx.Table(table).Where("id IN ?", ids).Order("next_attempt_at, id").Find(dest).Error
	})
}

// finishWork records the outcome of an attempt; extra columns are set
// too when the row was delivered. ErrNotFound when there is no such row,
// ErrConflict when the attempt's claim no longer holds.
func (s *Store) finishWork(ctx context.Context, table, id string, o storage.DeliveryOutcome, onDelivered map[string]any) error {
	now := utc(o.Now)
	set := map[string]any{"claimed_until": nil, "last_error": o.Error, "updated_at": now}
	switch {
	case o.Delivered:
		set["status"], set["finished_at"] = storage.DeliveryDelivered, now
		for k, v := range onDelivered {
			set[k] = v
		}
	case o.Final:
		set["status"], set["finished_at"] = storage.DeliveryFailed, now
	default:
		set["next_attempt_at"] = utc(o.NextAttemptAt)
	}
	q := s.db.WithContext(ctx).Table(table).Where("id = ?", id)
	if !o.ClaimedUntil.IsZero() {
		q = q.Where("status = ? AND claimed_until = ?", storage.DeliveryPending, utc(o.ClaimedUntil))
	}
	res := q.Updates(set)
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	found, err := exists(s.db.WithContext(ctx), table, "id", id)
	switch {
	case err != nil:
		return err
	case found:
		return storage.ErrConflict
	default:
		return storage.ErrNotFound
	}
}

// getWork reads one row of a work table.
func getWork[R any](ctx context.Context, s *Store, id string) (R, error) {
	var row R
	err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error
	return row, err
}

// listWork reads rows of a work table, newest first.
func listWork[R any](ctx context.Context, s *Store, f storage.DeliveryFilter) ([]R, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id").Limit(limitOr(f.Limit, 100))
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var rows []R
	err := q.Find(&rows).Error
	return rows, err
}

func (s *Store) ClaimLogoutDeliveries(ctx context.Context, c storage.DeliveryClaim) ([]storage.LogoutDelivery, error) {
	var rows []logoutDeliveryRow
	if err := s.claimDue(ctx, "logout_deliveries", c, &rows); err != nil {
		return nil, wrap("claim logout deliveries", err)
	}
	return convert(rows, logoutDeliveryRow.delivery), nil
}

func (s *Store) FinishLogoutDelivery(ctx context.Context, id string, o storage.DeliveryOutcome) error {
	return wrap("finish logout delivery", s.finishWork(ctx, "logout_deliveries", id, o, nil))
}

func (s *Store) GetLogoutDelivery(ctx context.Context, id string) (storage.LogoutDelivery, error) {
	row, err := getWork[logoutDeliveryRow](ctx, s, id)
	return row.delivery(), wrap("get logout delivery", err)
}

func (s *Store) ListLogoutDeliveries(ctx context.Context, f storage.DeliveryFilter) ([]storage.LogoutDelivery, error) {
	rows, err := listWork[logoutDeliveryRow](ctx, s, f)
	return convert(rows, logoutDeliveryRow.delivery), wrap("list logout deliveries", err)
}

func (s *Store) LogoutQueue(ctx context.Context) (storage.QueueStats, error) {
	st, err := s.queueStats(ctx, "logout_deliveries")
	return st, wrap("logout delivery queue", err)
}

// queueStats counts a work table's rows by status and reads the creation
// time of its oldest pending row (the index on status keeps both cheap
// while few rows are pending).
func (s *Store) queueStats(ctx context.Context, table string) (storage.QueueStats, error) {
	db := s.db.WithContext(ctx)
	var counts []struct {
		Status string
		N      int
	}
	if err := db.Table(table).Select("status, COUNT(*) AS n").Group("status").Find(&counts).Error; err != nil {
		return storage.QueueStats{}, err
	}
	out := storage.QueueStats{ByStatus: make(map[string]int, len(counts))}
	for _, c := range counts {
		out.ByStatus[c.Status] = c.N
	}
	var oldest []struct{ CreatedAt time.Time }
	err := db.Table(table).Select("created_at").Where("status = ?", storage.DeliveryPending).
		Order("created_at").Limit(1).Find(&oldest).Error
	if err != nil {
		return storage.QueueStats{}, err
	}
	if len(oldest) == 1 {
		out.OldestPending = fromDB(oldest[0].CreatedAt)
	}
	return out, nil
}

// EnqueueMail writes a pending mail, due at once unless NextAttemptAt
// says later.
func (s *Store) EnqueueMail(ctx context.Context, ms ...storage.OutboxMail) error {
	return wrap("enqueue mail", s.tx(ctx, func(tx *gorm.DB) error {
		for _, m := range ms {
			if err := enqueueMail(tx, m); err != nil {
				return err
			}
		}
		return nil
	}))
}

func enqueueMail(tx *gorm.DB, m storage.OutboxMail) error {
	if m.Status == "" {
		m.Status = storage.DeliveryPending
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	row := toMailRow(m)
	return tx.Create(&row).Error
}

// ClaimMail never claims a mail that expired at c.Now.
func (s *Store) ClaimMail(ctx context.Context, c storage.DeliveryClaim) ([]storage.OutboxMail, error) {
	var rows []mailRow
	notExpired := func(q *gorm.DB) *gorm.DB { return q.Where("(expires_at IS NULL OR expires_at > ?)", utc(c.Now)) }
	if err := s.claimDue(ctx, "mail_outbox", c, &rows, notExpired); err != nil {
		return nil, wrap("claim mail", err)
	}
	return convert(rows, mailRow.mail), nil
}

// ExpireMail finishes expired mails with one conditional UPDATE: a row
// another caller finished first no longer matches, so each is counted
// once.
func (s *Store) ExpireMail(ctx context.Context, now time.Time) (int, error) {
	t := utc(now)
	res := s.db.WithContext(ctx).Model(&mailRow{}).
		Where("status = ? AND expires_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)", storage.DeliveryPending, t, t).
		Updates(map[string]any{"status": storage.DeliveryExpired, "finished_at": t, "updated_at": t, "claimed_until": nil, "body": nil})
	return int(res.RowsAffected), wrap("expire mail", res.Error)
}

// FinishMail drops the body of a delivered mail.
func (s *Store) FinishMail(ctx context.Context, id string, o storage.DeliveryOutcome) error {
	return wrap("finish mail", s.finishWork(ctx, "mail_outbox", id, o, map[string]any{"body": nil}))
}

func (s *Store) GetMail(ctx context.Context, id string) (storage.OutboxMail, error) {
	row, err := getWork[mailRow](ctx, s, id)
	return row.mail(), wrap("get mail", err)
}

func (s *Store) ListMail(ctx context.Context, f storage.DeliveryFilter) ([]storage.OutboxMail, error) {
	rows, err := listWork[mailRow](ctx, s, f)
	return convert(rows, mailRow.mail), wrap("list mail", err)
}

func (s *Store) MailQueue(ctx context.Context) (storage.QueueStats, error) {
	st, err := s.queueStats(ctx, "mail_outbox")
	return st, wrap("mail queue", err)
}

func (s *Store) RetryMail(ctx context.Context, id string, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		t := utc(now)
		res := tx.Model(&mailRow{}).Where("id = ? AND status NOT IN ?", id, []string{storage.DeliveryDelivered, storage.DeliveryExpired}).Updates(map[string]any{
			"status": storage.DeliveryPending, "next_attempt_at": t, "finished_at": nil, "updated_at": t, "attempts": 0,
		})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		found, err := exists(tx, "mail_outbox", "id", id)
		switch {
		case err != nil:
			return err
		case found:
			return storage.ErrConflict
		default:
			return storage.ErrNotFound
		}
	})
	return wrap("retry mail", err)
}
