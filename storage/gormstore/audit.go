package gormstore

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sekisho/sekisho/storage"
)

const defaultAuditLimit = 100

// AddAuditEvent inserts e, with a new UUID when e.ID is empty.
func (s *Store) AddAuditEvent(ctx context.Context, e storage.AuditEvent) error {
	return wrap("add audit event", createAuditEvent(s.db.WithContext(ctx), e))
}

func createAuditEvent(db *gorm.DB, e storage.AuditEvent) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.OrganizationID == "" && e.UserID != "" {
		// The event of an account belongs to its organization.
		var orgs []string
		if err := db.Model(&userRow{}).Where("id = ?", e.UserID).Limit(1).Pluck("organization_id", &orgs).Error; err != nil {
			return err
		}
		if len(orgs) == 1 {
			e.OrganizationID = orgs[0]
		}
	}
	row := toAuditEventRow(e)
	return db.Create(&row).Error
}

func (s *Store) ListAuditEvents(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	q := s.db.WithContext(ctx).Model(&auditEventRow{})
	if f.OrganizationID != "" {
		q = q.Where(map[string]any{"organization_id": f.OrganizationID})
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", utc(f.Since))
	}
	if f.UserID != "" {
		q = q.Where(map[string]any{"user_id": f.UserID})
	}
	if f.Member != "" {
		q = q.Where("(user_id = ? OR actor_id = ?)", f.Member, f.Member)
	}
	if f.Type != "" {
		q = q.Where(map[string]any{"type": f.Type})
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	var rows []auditEventRow
	err := q.Order(clause.OrderBy{Columns: []clause.OrderByColumn{
		{Column: clause.Column{Name: "time"}, Desc: true},
		{Column: clause.Column{Name: "id"}, Desc: true},
	}}).Limit(limit).Offset(max(f.Offset, 0)).Find(&rows).Error
	if err != nil {
		return nil, wrap("list audit events", err)
	}
	return convert(rows, auditEventRow.auditEvent), nil
}
