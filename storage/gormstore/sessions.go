package gormstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sekisho/sekisho/storage"
)

func (s *Store) CreateSession(ctx context.Context, sess storage.Session) error {
	row := toSessionRow(sess)
	return wrap("create session", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.Session{}, wrap("get session", err)
	}
	return row.session(), nil
}

func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (storage.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Take(&row, "token_hash = ?", tokenHash).Error; err != nil {
		return storage.Session{}, wrap("get session by token hash", err)
	}
	return row.session(), nil
}

func (s *Store) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	res := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).Updates(map[string]any{
		"last_seen_at":    utc(now),
		"idle_expires_at": utc(idleExpiresAt),
	})
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = storage.ErrNotFound
	}
	return wrap("touch session", res.Error)
}

// createOrRenewSession inserts sess, or, when an active session of the
// same user has its id, gives that session sess's token and facts. When
// that session ended meanwhile, its sid is spent (the clients were told):
// the new session gets a fresh id. It returns the session's id.
func createOrRenewSession(tx *gorm.DB, sess storage.Session) (string, error) {
	row := toSessionRow(sess)
	row.OldCookieName = false // a sign-in's cookie goes out under the new name
	// Most sign-ins start a session: one INSERT, which does nothing when
	// the id is taken (a renewal, or a spent sid).
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil || res.RowsAffected > 0 {
		return row.ID, res.Error
	}
	res = tx.Model(&sessionRow{}).Where("id = ? AND user_id = ? AND ended_at IS NULL", row.ID, row.UserID).
		Updates(map[string]any{
			"token_hash": row.TokenHash, "auth_time": row.AuthTime, "amr": row.AMR, "acr": row.ACR,
			"ip": row.IP, "user_agent": row.UserAgent, "last_seen_at": row.LastSeenAt,
			"idle_expires_at": row.IdleExpiresAt, "absolute_expires_at": row.AbsoluteExpiresAt,
			"old_cookie_name": row.OldCookieName,
		})
	if res.Error != nil || res.RowsAffected > 0 {
		return row.ID, res.Error
	}
	var taken int64
	if err := tx.Model(&sessionRow{}).Where("id = ? AND user_id = ?", row.ID, row.UserID).Count(&taken).Error; err != nil {
		return "", err
	}
	if taken > 0 {
		row.ID = uuid.NewString()
	}
	return row.ID, tx.Create(&row).Error
}

// errNoSelector: a SessionEnd that selects nothing is a programming error.
var errNoSelector = errors.New("session end selects no sessions")

// EndSessions locks the selected sessions (PostgreSQL: the sweep skips rows
// another replica holds), so a session ends, and is announced, once.
func (s *Store) EndSessions(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error) {
	var out storage.SessionEndResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.endSessions(tx, e)
		return err
	})
	return out, wrap("end sessions", err)
}

func (s *Store) endSessions(tx *gorm.DB, e storage.SessionEnd) (storage.SessionEndResult, error) {
	var out storage.SessionEndResult
	now := utc(e.Now)
	q := tx.Model(&sessionRow{}).Where("ended_at IS NULL")
	switch {
	case e.SessionID != "":
		q = s.forUpdate(q.Where("id = ?", e.SessionID))
	case e.UserID != "":
		q = q.Where("user_id = ?", e.UserID)
		if e.KeepSessionID != "" {
			q = q.Where("id <> ?", e.KeepSessionID)
		}
		q = s.forUpdate(q.Order("created_at, id"))
	case e.Expired:
		q = s.skipLocked(q.Where("(idle_expires_at <= ? OR absolute_expires_at <= ?)", now, now).
			Order("idle_expires_at, id").Limit(limitOr(e.Limit, 100)))
	default:
		return out, errNoSelector
	}
	var rows []sessionRow
	if err := q.Find(&rows).Error; err != nil {
		return out, err
	}
	if len(rows) == 0 && e.SessionID != "" {
		found, err := exists(tx, "sessions", "id", e.SessionID)
		if err == nil && !found {
			err = storage.ErrNotFound
		}
		return out, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	if len(ids) > 0 {
		if err := tx.Model(&sessionRow{}).Where("id IN ?", ids).Update("ended_at", now).Error; err != nil {
			return out, err
		}
	}
	if err := revokeSessionTokens(tx, e, ids); err != nil {
		return out, err
	}
	clients, err := sessionClients(tx, ids)
	if err != nil {
		return out, err
	}
	var deliveries []logoutDeliveryRow
	for _, r := range rows {
		sess := r.session()
		sess.EndedAt = &now
		ended := storage.EndedSession{Session: sess, Clients: clients[r.ID]}
		out.Ended = append(out.Ended, ended)
		for _, c := range ended.Clients {
			uri, ok := e.Backchannel[c]
			if !ok || uri == "" {
				continue
			}
			w := storage.WorkState{Status: storage.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
			if !e.ClaimUntil.IsZero() {
				w.ClaimedUntil, w.Attempts = &e.ClaimUntil, 1
			}
			d := toLogoutDeliveryRow(storage.LogoutDelivery{ID: uuid.NewString(), SessionID: r.ID, UserID: r.UserID,
				ClientID: c, URI: uri, Reason: e.Reason, WorkState: w})
			if w.ClaimedUntil != nil {
				out.Claimed = append(out.Claimed, d.delivery())
			}
			deliveries = append(deliveries, d)
			out.Deliveries = append(out.Deliveries, d.ID)
		}
	}
	if len(deliveries) > 0 {
		if err := tx.Create(&deliveries).Error; err != nil {
			return out, err
		}
	}
	return out, nil
}

// revokeSessionTokens revokes the access tokens issued in the sessions and
// their refresh tokens, except those of e.KeepOffline clients; with
// e.RevokeAllTokens and e.UserID, every token the user holds.
func revokeSessionTokens(tx *gorm.DB, e storage.SessionEnd, ids []string) error {
	if e.RevokeAllTokens && e.UserID != "" {
		// Refresh tokens first: their families' locks (see revoke) make the
		// access tokens of rotations in flight visible to the second.
		if err := revoke(tx, e.Now, "refresh_tokens", "user_id = ?", e.UserID).Error; err != nil {
			return err
		}
		return revoke(tx, e.Now, "access_tokens", "user_id = ? AND user_id <> ''", e.UserID).Error
	}
	if len(ids) == 0 {
		return nil
	}
	// Every family of the sessions, kept offline ones included: a refresh
	// in flight then commits first, and the access token it issued in the
	// session is revoked below.
	if err := lockFamilies(tx, "session_id IN ?", ids); err != nil {
		return err
	}
	cond, args := "session_id IN ?", []any{ids}
	if len(e.KeepOffline) > 0 {
		cond, args = "session_id IN ? AND client_id NOT IN ?", []any{ids, e.KeepOffline}
	}
	if err := revoke(tx, e.Now, "refresh_tokens", cond, args...).Error; err != nil {
		return err
	}
	return revoke(tx, e.Now, "access_tokens", "session_id IN ? AND session_id <> ''", ids).Error
}

// sessionClients returns the clients recorded for each session, sorted.
func sessionClients(tx *gorm.DB, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ SessionID, ClientID string }
	if err := tx.Table("session_clients").Select("session_id, client_id").Where("session_id IN ?", ids).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SessionID] = append(out[r.SessionID], r.ClientID)
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out, nil
}

// recordSessionClient notes that client received tokens in the session,
// after locking the session row: a sign-out running at the same time
// either waits for this transaction (and then sees the client) or has
// ended the session first, and then no tokens are issued (ErrConflict).
func recordSessionClient(tx *gorm.DB, sessionID, clientID string, now time.Time) error {
	res := tx.Exec("UPDATE sessions SET last_seen_at = last_seen_at WHERE id = ? AND ended_at IS NULL", sessionID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return storage.ErrConflict
	}
	return tx.Exec("INSERT INTO session_clients (session_id, client_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		sessionID, clientID, utc(now)).Error
}

// ListUserSessions returns every session of the user, ended and expired
// ones included (callers check Active), oldest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]storage.Session, error) {
	var rows []sessionRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, wrap("list user sessions", err)
	}
	return convert(rows, sessionRow.session), nil
}

// ListActiveSessions reads the sessions, then their clients, in two
// queries (the account page's list of devices).
func (s *Store) ListActiveSessions(ctx context.Context, userID string, now time.Time) ([]storage.ActiveSession, error) {
	db := s.db.WithContext(ctx)
	now = utc(now)
	var rows []sessionRow
	if err := db.Where("user_id = ? AND ended_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?", userID, now, now).
		Order("last_seen_at DESC, id").Find(&rows).Error; err != nil {
		return nil, wrap("list active sessions", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []struct{ SessionID, ClientID string }
	if err := db.Table("session_clients").Select("session_id, client_id").Where("session_id IN ?", ids).
		Order("created_at DESC, client_id").Find(&links).Error; err != nil {
		return nil, wrap("list active sessions: clients", err)
	}
	clients := map[string][]string{}
	for _, l := range links {
		clients[l.SessionID] = append(clients[l.SessionID], l.ClientID)
	}
	out := make([]storage.ActiveSession, len(rows))
	for i, r := range rows {
		out[i] = storage.ActiveSession{Session: r.session(), Clients: clients[r.ID]}
	}
	return out, nil
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
