package gormstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/sekisho/sekisho/storage"
)

// IssueTokens claims with one conditional UPDATE, so of several
// transactions (in any process) claiming the same code or refresh token
// exactly one changes the row; the others see ErrAlreadyUsed. A code or
// refresh token that does not exist gives ErrNotFound. A code exchange
// records the client with the session (for single logout); when that
// session has ended, nothing is issued and the error is ErrConflict.
func (s *Store) IssueTokens(ctx context.Context, t storage.TokenIssue) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(t.Now)
		// A code exchange locks its session first (the order EndSessions
		// takes too), so a sign-out either sees these tokens or ends the
		// session before they exist. A refresh needs no session lock: its
		// family's lock (below) serialises it with a sign-out, which takes
		// the locks of its sessions' families before it revokes.
		if sid := t.AccessToken.SessionID; sid != "" && t.ClaimCodeOf != "" {
			if err := recordSessionClient(tx, sid, t.AccessToken.ClientID, t.Now); err != nil {
				return err
			}
		}
		if t.RotateFromHash != "" || t.Reuse != nil {
			family := t.AccessToken.RefreshFamilyID
			if t.RefreshToken != nil {
				family = t.RefreshToken.FamilyID
			}
			if err := lockFamily(tx, family); err != nil {
				return err
			}
		}
		if t.RotateFromHash != "" && t.Reuse == nil && t.ClaimCodeOf == "" && t.RefreshToken != nil &&
			tx.Dialector.Name() == DriverPostgres {
			return rotate(tx, t, now)
		}
		if t.ClaimCodeOf != "" {
			res := tx.Exec("UPDATE auth_requests SET code_used_at = ? WHERE id = ? AND code_used_at IS NULL", now, t.ClaimCodeOf)
			if err := claimed(tx, res, "auth_requests", "id", t.ClaimCodeOf); err != nil {
				return err
			}
		}
		if t.RotateFromHash != "" {
			successor := ""
			if t.RefreshToken != nil {
				successor = t.RefreshToken.TokenHash
			}
			res := tx.Exec("UPDATE refresh_tokens SET used_at = ?, successor_hash = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL",
				now, successor, t.RotateFromHash)
			if err := claimed(tx, res, "refresh_tokens", "token_hash", t.RotateFromHash); err != nil {
				return err
			}
		}
		if r := t.Reuse; r != nil {
			if t.RefreshToken != nil {
				return errReuseWithRefresh
			}
			var ids []string
			err := tx.Raw(reusable, r.TokenHash, r.SuccessorHash, r.ClientID, utc(r.RotatedAfter), now, now).Scan(&ids).Error
			if err != nil {
				return err
			}
			if len(ids) != 1 {
				return storage.ErrAlreadyUsed
			}
		}
		access := toAccessTokenRow(t.AccessToken)
		if err := tx.Create(&access).Error; err != nil {
			return err
		}
		if t.RefreshToken != nil {
			refresh := toRefreshTokenRow(*t.RefreshToken)
			return tx.Create(&refresh).Error
		}
		return nil
	})
	return wrap("issue tokens", err)
}

// reusable counts (0 or 1) a rotated refresh token that may be presented
// again: rotated by the client within the window, not revoked, and its
// successor still usable.
// The family's lock (lockFamily) keeps a revocation from passing it.
const reusable = `SELECT p.id FROM refresh_tokens p JOIN refresh_tokens s ON s.token_hash = p.successor_hash
WHERE p.token_hash = ? AND p.successor_hash = ? AND p.client_id = ? AND p.used_at >= ? AND p.revoked_at IS NULL
AND s.used_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > ? AND s.family_expires_at > ?`

var errReuseWithRefresh = errors.New("a reuse issues no refresh token")

// rotate is a refresh's rotation on PostgreSQL in one statement (after
// the family's lock): the claim of the presented token, and the INSERTs
// of the new access token and successor, which insert only when the
// claim changed the row. Three statements were three round trips, and
// the database's CPU per refresh went mostly to round trips.
func rotate(tx *gorm.DB, t storage.TokenIssue, now time.Time) error {
	a, r := toAccessTokenRow(t.AccessToken), toRefreshTokenRow(*t.RefreshToken)
	var n int
	err := tx.Raw(rotation, now, r.TokenHash, t.RotateFromHash,
		a.ID, a.ClientID, a.Subject, a.UserID, a.Audience, a.Scopes, a.SessionID, a.RefreshFamilyID, a.AuthRequestID,
		a.CreatedAt, a.ExpiresAt, a.RevokedAt,
		r.ID, r.TokenHash, r.FamilyID, r.ClientID, r.UserID, r.SessionID, r.AuthRequestID, r.Scopes, r.Audience, r.AMR,
		r.ACR, r.AuthTime, r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt, r.UsedAt, r.RevokedAt, r.SuccessorHash).Row().Scan(&n)
	if err != nil {
		if tr, ok := tx.Dialector.(gorm.ErrorTranslator); ok {
			err = tr.Translate(err) // a duplicate is ErrAlreadyExists, as from Create
		}
		return err
	}
	if n == 1 {
		return nil
	}
	return unclaimed(tx, "refresh_tokens", "token_hash", t.RotateFromHash)
}

// rotation: see rotate. A data-modifying WITH runs once whatever reads
// it; the parameters of a SELECT list carry their column's type.
const rotation = `WITH claimed AS (
  UPDATE refresh_tokens SET used_at = ?, successor_hash = ?
  WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL RETURNING 1
), access AS (
  INSERT INTO access_tokens (id, client_id, subject, user_id, audience, scopes, session_id, refresh_family_id,
    auth_request_id, created_at, expires_at, revoked_at)
  SELECT ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text,
    ?::timestamptz, ?::timestamptz, ?::timestamptz FROM claimed
), successor AS (
  INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, session_id, auth_request_id, scopes,
    audience, amr, acr, auth_time, created_at, expires_at, family_expires_at, used_at, revoked_at, successor_hash)
  SELECT ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text,
    ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::text FROM claimed
)
SELECT count(*) FROM claimed`

// claimed interprets a conditional claim: one row changed is a win; none is
// ErrAlreadyUsed when the row exists and ErrNotFound when it does not.
func claimed(tx, res *gorm.DB, table, column, value string) error {
	if res.Error != nil || res.RowsAffected == 1 {
		return res.Error
	}
	return unclaimed(tx, table, column, value)
}

// unclaimed is the error of a claim that changed no row.
func unclaimed(tx *gorm.DB, table, column, value string) error {
	found, err := exists(tx, table, column, value)
	switch {
	case err != nil:
		return err
	case found:
		return storage.ErrAlreadyUsed
	default:
		return storage.ErrNotFound
	}
}

// CreateAccessToken is one INSERT. On PostgreSQL its commit does not wait
// for the write-ahead log to reach the disk (synchronous_commit off, for
// this statement's transaction only): the flush on every commit was about
// half of the database's CPU per client_credentials token. A crash of the
// database can lose the tokens of its last fraction of a second (up to
// three times wal_writer_delay); such a token then introspects inactive
// and its client asks for another, as at expiry. A later durable commit
// (a revocation, any other write) flushes the log with everything before
// it, so nothing written after the token outlives it.
func (s *Store) CreateAccessToken(ctx context.Context, t storage.AccessToken) error {
	q := insertAccessToken
	if s.driver == DriverPostgres {
		q += " RETURNING set_config('synchronous_commit', 'off', true)"
	}
	err := s.db.WithContext(ctx).Exec(q, t.ID, t.ClientID, t.Subject, t.UserID, stringList(t.Audience),
		stringList(t.Scopes), t.SessionID, t.RefreshFamilyID, t.AuthRequestID, utc(t.CreatedAt), utc(t.ExpiresAt),
		utcPtr(t.RevokedAt)).Error
	return wrap("create access token", err)
}

// insertAccessToken is the machine token's INSERT, written out: a token
// is the hot path of client_credentials, and gorm's Create reflected on
// the row each time.
const insertAccessToken = `INSERT INTO access_tokens (id, client_id, subject, user_id, audience, scopes, session_id,
refresh_family_id, auth_request_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	var row accessTokenRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.AccessToken{}, wrap("get access token", err)
	}
	return row.accessToken(), nil
}

// RevokeAccessToken keeps the first revocation time of a token revoked
// before; ErrNotFound when there is no such token.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := revoke(tx, now, "access_tokens", "id = ?", id)
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		found, err := exists(tx, "access_tokens", "id", id)
		if err == nil && !found {
			err = storage.ErrNotFound
		}
		return err
	})
	return wrap("revoke access token", err)
}

func (s *Store) GetRefreshToken(ctx context.Context, tokenHash string) (storage.RefreshToken, error) {
	var row refreshTokenRow
	if err := s.db.WithContext(ctx).Take(&row, "token_hash = ?", tokenHash).Error; err != nil {
		return storage.RefreshToken{}, wrap("get refresh token", err)
	}
	return row.refreshToken(), nil
}

// refreshGrantQuery is the joined read of a refresh grant, its columns
// named after the row types (built once).
var refreshGrantQuery = sync.OnceValues(func() (string, error) {
	var parts []string
	for _, m := range []struct {
		alias string
		model any
	}{{"t", &refreshTokenRow{}}, {"u", &userRow{}}, {"o", &organizationRow{}}} {
		cols, err := selectAs(m.alias, m.model)
		if err != nil {
			return "", err
		}
		parts = append(parts, cols)
	}
	return `SELECT ` + strings.Join(parts, ", ") + `
FROM refresh_tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = u.organization_id
WHERE t.token_hash = ?`, nil
})

// selectAs lists the columns of model's table under alias, each renamed
// alias_column (the embeddedPrefix of a scanned struct).
func selectAs(alias string, model any) (string, error) {
	sch, err := schema.Parse(model, &schemaCache, schema.NamingStrategy{})
	if err != nil {
		return "", err
	}
	cols := make([]string, len(sch.DBNames))
	for i, c := range sch.DBNames {
		cols[i] = alias + "." + c + " AS " + alias + "_" + c
	}
	return strings.Join(cols, ", "), nil
}

var schemaCache sync.Map

// GetRefreshGrant reads the token, its user and the user's organization
// with one joined query.
func (s *Store) GetRefreshGrant(ctx context.Context, tokenHash string) (storage.RefreshGrant, error) {
	var row struct {
		Token refreshTokenRow `gorm:"embedded;embeddedPrefix:t_"`
		User  userRow         `gorm:"embedded;embeddedPrefix:u_"`
		Org   organizationRow `gorm:"embedded;embeddedPrefix:o_"`
	}
	query, err := refreshGrantQuery()
	if err == nil {
		err = s.db.WithContext(ctx).Raw(query, tokenHash).Scan(&row).Error
	}
	if err == nil && row.Token.ID == "" {
		err = gorm.ErrRecordNotFound
	}
	if err != nil {
		return storage.RefreshGrant{}, wrap("get refresh grant", err)
	}
	return storage.RefreshGrant{Token: row.Token.refreshToken(), User: row.User.user(), Organization: row.Org.organization()}, nil
}

func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := revoke(tx, now, "refresh_tokens", "family_id = ?", familyID).Error; err != nil {
			return err
		}
		return revoke(tx, now, "access_tokens", "refresh_family_id = ? AND refresh_family_id <> ''", familyID).Error
	})
	return wrap("revoke refresh family", err)
}

// RevokeAuthRequestTokens revokes the tokens issued from the auth request
// and, through their families, the tokens refreshed from them.
func (s *Store) RevokeAuthRequestTokens(ctx context.Context, authRequestID string, now time.Time) error {
	const families = "SELECT family_id FROM refresh_tokens WHERE auth_request_id = ? AND family_id <> ''"
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Refresh tokens first: their families' locks make the access
		// tokens of rotations in flight visible to the second statement.
		if err := revoke(tx, now, "refresh_tokens", "auth_request_id = ? OR family_id IN ("+families+")", authRequestID, authRequestID).Error; err != nil {
			return err
		}
		return revoke(tx, now, "access_tokens", "(auth_request_id = ? AND auth_request_id <> '') OR "+
			"(refresh_family_id IN ("+families+") AND refresh_family_id <> '')", authRequestID, authRequestID).Error
	})
	return wrap("revoke auth request tokens", err)
}

// revoke sets revoked_at on the rows of table (access_tokens or
// refresh_tokens) that match cond and are not revoked yet.
func revoke(tx *gorm.DB, now time.Time, table, cond string, args ...any) *gorm.DB {
	if table == "refresh_tokens" {
		if err := lockFamilies(tx, "revoked_at IS NULL AND ("+cond+")", args...); err != nil {
			tx.AddError(err)
			return tx
		}
	}
	return tx.Table(table).Where("revoked_at IS NULL").Where("("+cond+")", args...).Update("revoked_at", utc(now))
}

// familyLockClass is the first key of the PostgreSQL advisory locks that
// serialise a refresh-token family's rotations and revocations (the
// second key is a hash of the family id).
const familyLockClass = 0x5e4b

// lockFamilies takes, for the rest of the transaction, the lock of every
// family that has a refresh token matching cond, in a fixed order (no
// deadlock). A rotation takes its family's lock before it rotates, so a
// revocation waits for rotations in flight and its later statements see
// the successors they inserted; a rotation that comes later waits, then
// finds its token revoked. A single UPDATE could not do this under READ
// COMMITTED: its snapshot predates a successor committed while it waits.
// SQLite has one writer at a time: nothing to lock.
func lockFamilies(tx *gorm.DB, cond string, args ...any) error {
	if tx.Dialector.Name() != DriverPostgres {
		return nil
	}
	return tx.Exec(`SELECT pg_advisory_xact_lock(?, hashtext(f.family_id)) FROM
(SELECT DISTINCT family_id FROM refresh_tokens WHERE `+cond+` ORDER BY family_id) f`,
		append([]any{familyLockClass}, args...)...).Error
}

// lockFamily is lockFamilies for one family id.
func lockFamily(tx *gorm.DB, familyID string) error {
	if tx.Dialector.Name() != DriverPostgres || familyID == "" {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", familyLockClass, familyID).Error
}
