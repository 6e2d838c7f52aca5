package gormstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// Rows mirror the tables of migrations/*/00001_init.sql. Every time column
// opts out of gorm's automatic timestamps: times come from the caller's
// clock.

// stringList is a list field, stored as a JSON array in a TEXT column on
// both databases. Nil and empty are stored as "[]" and read back as nil.
type stringList []string

func (l stringList) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

func (l *stringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("stringList: cannot scan %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("stringList: %w", err)
	}
	if len(out) == 0 {
		out = nil
	}
	*l = out
	return nil
}

// utc is the form every time takes on its way into the database: UTC (so
// SQLite's text compares in time order) with microseconds (PostgreSQL's
// precision), so both databases return what they were given.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utcPtr is utc for optional times.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// fromDB is the form every time takes on its way out: the database may
// return another location (pgx uses time.Local).
func fromDB(t time.Time) time.Time { return t.UTC() }

func fromDBPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

type userRow struct {
	ID                 string `gorm:"primaryKey"`
	OrganizationID     string
	Username           string
	UsernameKey        string
	Email              string
	EmailLower         string
	EmailUnique        *string
	EmailVerified      bool
	Name               string
	PasswordHash       string
	Disabled           bool
	MustChangePassword bool
	OTPEnabled         bool `gorm:"column:otp_enabled"`
	LegacyID           *string
	LegacyHash         string
	MigratedAt         *time.Time
	Roles              stringList
	Lang               string
	Role               string
	LastLoginAt        *time.Time
	InvitedAt          *time.Time
	PlatformAdmin      bool
	DormantAt          *time.Time
	UnlockedUntil      *time.Time
	DormantAlerts      bool
	CreatedAt          time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt          time.Time `gorm:"autoUpdateTime:false"`
}

func (userRow) TableName() string { return "users" }

// toUserRow is the row of u; globalEmails says whether addresses are
// unique across the deployment (email_unique holds the key then).
func toUserRow(u storage.User, globalEmails bool) userRow {
	if u.OrganizationID == "" {
		u.OrganizationID = storage.DefaultOrganizationID
	}
	email, key := "", ""
	if strings.TrimSpace(u.Email) != "" {
		email, key = canonicalEmail(u.Email), emailKey(u.Email)
	}
	var unique *string
	if globalEmails {
		unique = nullString(key)
	}
	username, usernameKey := "", ""
	if strings.TrimSpace(u.Username) != "" {
		username, usernameKey = canonicalUsername(u.Username), identifier.UsernameKey(u.Username)
	}
	return userRow{
		ID:                 u.ID,
		OrganizationID:     u.OrganizationID,
		Username:           username,
		UsernameKey:        usernameKey,
		Email:              email,
		EmailLower:         key,
		EmailUnique:        unique,
		EmailVerified:      u.EmailVerified,
		Name:               u.Name,
		PasswordHash:       u.PasswordHash,
		Disabled:           u.Disabled,
		MustChangePassword: u.MustChangePassword,
		OTPEnabled:         u.OTPEnabled,
		LegacyID:           nullString(u.LegacyID),
		LegacyHash:         u.LegacyHash,
		MigratedAt:         utcPtr(u.MigratedAt),
		Roles:              stringList(u.Roles),
		Lang:               u.Lang,
		Role:               u.Role,
		LastLoginAt:        utcPtr(u.LastLoginAt),
		InvitedAt:          utcPtr(u.InvitedAt),
		PlatformAdmin:      u.PlatformAdmin,
		DormantAt:          utcPtr(u.DormantAt),
		UnlockedUntil:      utcPtr(u.UnlockedUntil),
		DormantAlerts:      u.DormantAlerts,
		CreatedAt:          utc(u.CreatedAt),
		UpdatedAt:          utc(u.UpdatedAt),
	}
}

// nullString stores "" as NULL (a unique column that is optional).
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (r userRow) user() storage.User {
	u := storage.User{
		ID:                 r.ID,
		OrganizationID:     r.OrganizationID,
		Username:           r.Username,
		Email:              r.Email,
		EmailVerified:      r.EmailVerified,
		Name:               r.Name,
		PasswordHash:       r.PasswordHash,
		Disabled:           r.Disabled,
		MustChangePassword: r.MustChangePassword,
		OTPEnabled:         r.OTPEnabled,
		LegacyHash:         r.LegacyHash,
		MigratedAt:         fromDBPtr(r.MigratedAt),
		Roles:              []string(r.Roles),
		Lang:               r.Lang,
		Role:               r.Role,
		LastLoginAt:        fromDBPtr(r.LastLoginAt),
		InvitedAt:          fromDBPtr(r.InvitedAt),
		PlatformAdmin:      r.PlatformAdmin,
		DormantAt:          fromDBPtr(r.DormantAt),
		UnlockedUntil:      fromDBPtr(r.UnlockedUntil),
		DormantAlerts:      r.DormantAlerts,
		CreatedAt:          fromDB(r.CreatedAt),
		UpdatedAt:          fromDB(r.UpdatedAt),
	}
	if r.LegacyID != nil {
		u.LegacyID = *r.LegacyID
	}
	return u
}

type authRequestRow struct {
	ID                  string `gorm:"primaryKey"`
	ClientID            string
	RedirectURI         string
	Scopes              stringList
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              stringList
	MaxAgeNS            *int64 `gorm:"column:max_age_ns"`
	LoginHint           string
	Organization        string
	HintUserID          string
	UILocales           stringList `gorm:"column:ui_locales"`
	ACRValues           stringList `gorm:"column:acr_values"`
	BrowserHash         string
	CreatedAt           time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt           time.Time
	UserID              string
	SessionID           string
	AuthTime            time.Time
	AMR                 stringList `gorm:"column:amr"`
	ACR                 string     `gorm:"column:acr"`
	CompletedAt         *time.Time
	CodeHash            string
	CodeExpiresAt       time.Time
	CodeUsedAt          *time.Time
}

func (authRequestRow) TableName() string { return "auth_requests" }

func toAuthRequestRow(a storage.AuthRequest) authRequestRow {
	var maxAge *int64
	if a.MaxAge != nil {
		ns := int64(*a.MaxAge)
		maxAge = &ns
	}
	return authRequestRow{
		ID:                  a.ID,
		ClientID:            a.ClientID,
		RedirectURI:         a.RedirectURI,
		Scopes:              a.Scopes,
		State:               a.State,
		Nonce:               a.Nonce,
		ResponseType:        a.ResponseType,
		ResponseMode:        a.ResponseMode,
		CodeChallenge:       a.CodeChallenge,
		CodeChallengeMethod: a.CodeChallengeMethod,
		Prompt:              a.Prompt,
		MaxAgeNS:            maxAge,
		LoginHint:           a.LoginHint,
		Organization:        a.Organization,
		HintUserID:          a.HintUserID,
		UILocales:           a.UILocales,
		ACRValues:           a.ACRValues,
		BrowserHash:         a.BrowserHash,
		CreatedAt:           utc(a.CreatedAt),
		ExpiresAt:           utc(a.ExpiresAt),
		UserID:              a.UserID,
		SessionID:           a.SessionID,
		AuthTime:            utc(a.AuthTime),
		AMR:                 a.AMR,
		ACR:                 a.ACR,
		CompletedAt:         utcPtr(a.CompletedAt),
		CodeHash:            a.CodeHash,
		CodeExpiresAt:       utc(a.CodeExpiresAt),
		CodeUsedAt:          utcPtr(a.CodeUsedAt),
	}
}

func (r authRequestRow) authRequest() storage.AuthRequest {
	var maxAge *time.Duration
	if r.MaxAgeNS != nil {
		d := time.Duration(*r.MaxAgeNS)
		maxAge = &d
	}
	return storage.AuthRequest{
		ID:                  r.ID,
		ClientID:            r.ClientID,
		RedirectURI:         r.RedirectURI,
		Scopes:              r.Scopes,
		State:               r.State,
		Nonce:               r.Nonce,
		ResponseType:        r.ResponseType,
		ResponseMode:        r.ResponseMode,
		CodeChallenge:       r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt:              r.Prompt,
		MaxAge:              maxAge,
		LoginHint:           r.LoginHint,
		Organization:        r.Organization,
		HintUserID:          r.HintUserID,
		UILocales:           r.UILocales,
		ACRValues:           r.ACRValues,
		BrowserHash:         r.BrowserHash,
		CreatedAt:           fromDB(r.CreatedAt),
		ExpiresAt:           fromDB(r.ExpiresAt),
		UserID:              r.UserID,
		SessionID:           r.SessionID,
		AuthTime:            fromDB(r.AuthTime),
		AMR:                 r.AMR,
		ACR:                 r.ACR,
		CompletedAt:         fromDBPtr(r.CompletedAt),
		CodeHash:            r.CodeHash,
		CodeExpiresAt:       fromDB(r.CodeExpiresAt),
		CodeUsedAt:          fromDBPtr(r.CodeUsedAt),
	}
}

type accessTokenRow struct {
	ID              string `gorm:"primaryKey"`
	ClientID        string
	Subject         string
	UserID          string
	Audience        stringList
	Scopes          stringList
	SessionID       string
	RefreshFamilyID string
	AuthRequestID   string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt       time.Time
	RevokedAt       *time.Time
}

func (accessTokenRow) TableName() string { return "access_tokens" }

func toAccessTokenRow(t storage.AccessToken) accessTokenRow {
	return accessTokenRow{
		ID:              t.ID,
		ClientID:        t.ClientID,
		Subject:         t.Subject,
		UserID:          t.UserID,
		Audience:        t.Audience,
		Scopes:          t.Scopes,
		SessionID:       t.SessionID,
		RefreshFamilyID: t.RefreshFamilyID,
		AuthRequestID:   t.AuthRequestID,
		CreatedAt:       utc(t.CreatedAt),
		ExpiresAt:       utc(t.ExpiresAt),
		RevokedAt:       utcPtr(t.RevokedAt),
	}
}

func (r accessTokenRow) accessToken() storage.AccessToken {
	return storage.AccessToken{
		ID:              r.ID,
		ClientID:        r.ClientID,
		Subject:         r.Subject,
		UserID:          r.UserID,
		Audience:        r.Audience,
		Scopes:          r.Scopes,
		SessionID:       r.SessionID,
		RefreshFamilyID: r.RefreshFamilyID,
		AuthRequestID:   r.AuthRequestID,
		CreatedAt:       fromDB(r.CreatedAt),
		ExpiresAt:       fromDB(r.ExpiresAt),
		RevokedAt:       fromDBPtr(r.RevokedAt),
	}
}

type refreshTokenRow struct {
	ID              string `gorm:"primaryKey"`
	TokenHash       string
	FamilyID        string
	ClientID        string
	UserID          string
	SessionID       string
	AuthRequestID   string
	Scopes          stringList
	Audience        stringList
	AMR             stringList `gorm:"column:amr"`
	ACR             string     `gorm:"column:acr"`
	AuthTime        time.Time
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt       time.Time
	FamilyExpiresAt time.Time
	UsedAt          *time.Time
	RevokedAt       *time.Time
	SuccessorHash   string
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func toRefreshTokenRow(t storage.RefreshToken) refreshTokenRow {
	return refreshTokenRow{
		ID:              t.ID,
		TokenHash:       t.TokenHash,
		FamilyID:        t.FamilyID,
		ClientID:        t.ClientID,
		UserID:          t.UserID,
		SessionID:       t.SessionID,
		AuthRequestID:   t.AuthRequestID,
		Scopes:          t.Scopes,
		Audience:        t.Audience,
		AMR:             t.AMR,
		ACR:             t.ACR,
		AuthTime:        utc(t.AuthTime),
		CreatedAt:       utc(t.CreatedAt),
		ExpiresAt:       utc(t.ExpiresAt),
		FamilyExpiresAt: utc(t.FamilyExpiresAt),
		UsedAt:          utcPtr(t.UsedAt),
		RevokedAt:       utcPtr(t.RevokedAt),
		SuccessorHash:   t.SuccessorHash,
	}
}

func (r refreshTokenRow) refreshToken() storage.RefreshToken {
	return storage.RefreshToken{
		ID:              r.ID,
		TokenHash:       r.TokenHash,
		FamilyID:        r.FamilyID,
		ClientID:        r.ClientID,
		UserID:          r.UserID,
		SessionID:       r.SessionID,
		AuthRequestID:   r.AuthRequestID,
		Scopes:          r.Scopes,
		Audience:        r.Audience,
		AMR:             r.AMR,
		ACR:             r.ACR,
		AuthTime:        fromDB(r.AuthTime),
		CreatedAt:       fromDB(r.CreatedAt),
		ExpiresAt:       fromDB(r.ExpiresAt),
		FamilyExpiresAt: fromDB(r.FamilyExpiresAt),
		UsedAt:          fromDBPtr(r.UsedAt),
		RevokedAt:       fromDBPtr(r.RevokedAt),
		SuccessorHash:   r.SuccessorHash,
	}
}

type sessionRow struct {
	ID                string `gorm:"primaryKey"`
	TokenHash         string
	UserID            string
	AuthTime          time.Time
	AMR               stringList `gorm:"column:amr"`
	ACR               string     `gorm:"column:acr"`
	IP                string     `gorm:"column:ip"`
	UserAgent         string
	CreatedAt         time.Time `gorm:"autoCreateTime:false"`
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	EndedAt           *time.Time
	OldCookieName     bool
}

func (sessionRow) TableName() string { return "sessions" }

func toSessionRow(s storage.Session) sessionRow {
	return sessionRow{
		ID:                s.ID,
		TokenHash:         s.TokenHash,
		UserID:            s.UserID,
		AuthTime:          utc(s.AuthTime),
		AMR:               s.AMR,
		ACR:               s.ACR,
		IP:                s.IP,
		UserAgent:         s.UserAgent,
		CreatedAt:         utc(s.CreatedAt),
		LastSeenAt:        utc(s.LastSeenAt),
		IdleExpiresAt:     utc(s.IdleExpiresAt),
		AbsoluteExpiresAt: utc(s.AbsoluteExpiresAt),
		EndedAt:           utcPtr(s.EndedAt),
		OldCookieName:     s.OldCookieName,
	}
}

func (r sessionRow) session() storage.Session {
	return storage.Session{
		ID:                r.ID,
		TokenHash:         r.TokenHash,
		UserID:            r.UserID,
		AuthTime:          fromDB(r.AuthTime),
		AMR:               r.AMR,
		ACR:               r.ACR,
		IP:                r.IP,
		UserAgent:         r.UserAgent,
		CreatedAt:         fromDB(r.CreatedAt),
		LastSeenAt:        fromDB(r.LastSeenAt),
		IdleExpiresAt:     fromDB(r.IdleExpiresAt),
		AbsoluteExpiresAt: fromDB(r.AbsoluteExpiresAt),
		EndedAt:           fromDBPtr(r.EndedAt),
		OldCookieName:     r.OldCookieName,
	}
}

type signingKeyRow struct {
	ID                  string `gorm:"primaryKey"`
	Algorithm           string
	PrivateKeyEncrypted []byte
	PublicKey           []byte
	CreatedAt           time.Time `gorm:"autoCreateTime:false"`
	ActivatesAt         time.Time
	RetiresAt           *time.Time
}

func (signingKeyRow) TableName() string { return "signing_keys" }

func toSigningKeyRow(k storage.SigningKey) signingKeyRow {
	return signingKeyRow{
		ID:                  k.ID,
		Algorithm:           k.Algorithm,
		PrivateKeyEncrypted: k.PrivateKeyEncrypted,
		PublicKey:           k.PublicKey,
		CreatedAt:           utc(k.CreatedAt),
		ActivatesAt:         utc(k.ActivatesAt),
		RetiresAt:           utcPtr(k.RetiresAt),
	}
}

func (r signingKeyRow) signingKey() storage.SigningKey {
	return storage.SigningKey{
		ID:                  r.ID,
		Algorithm:           r.Algorithm,
		PrivateKeyEncrypted: r.PrivateKeyEncrypted,
		PublicKey:           r.PublicKey,
		CreatedAt:           fromDB(r.CreatedAt),
		ActivatesAt:         fromDB(r.ActivatesAt),
		RetiresAt:           fromDBPtr(r.RetiresAt),
	}
}

type auditEventRow struct {
	ID             string `gorm:"primaryKey"`
	Time           time.Time
	Type           string
	OrganizationID string
	ActorID        string
	UserID         string
	ClientID       string
	IP             string `gorm:"column:ip"`
	Outcome        string
	Detail         string
}

func (auditEventRow) TableName() string { return "audit_events" }

func toAuditEventRow(e storage.AuditEvent) auditEventRow {
	return auditEventRow{
		ID:             e.ID,
		Time:           utc(e.Time),
		Type:           e.Type,
		OrganizationID: e.OrganizationID,
		ActorID:        e.ActorID,
		UserID:         e.UserID,
		ClientID:       e.ClientID,
		IP:             e.IP,
		Outcome:        e.Outcome,
		Detail:         e.Detail,
	}
}

func (r auditEventRow) auditEvent() storage.AuditEvent {
	return storage.AuditEvent{
		ID:             r.ID,
		Time:           fromDB(r.Time),
		Type:           r.Type,
		OrganizationID: r.OrganizationID,
		ActorID:        r.ActorID,
		UserID:         r.UserID,
		ClientID:       r.ClientID,
		IP:             r.IP,
		Outcome:        r.Outcome,
		Detail:         r.Detail,
	}
}

type counterRow struct {
	Key           string `gorm:"primaryKey"`
	Count         int
	WindowStart   time.Time
	Last          time.Time
	NextAllowedAt *time.Time
	NoticeAt      *time.Time
}

func (counterRow) TableName() string { return "counters" }

func (r counterRow) counter() storage.Counter {
	return storage.Counter{
		Key:           r.Key,
		Count:         r.Count,
		WindowStart:   fromDB(r.WindowStart),
		Last:          fromDB(r.Last),
		NextAllowedAt: fromDBPtr(r.NextAllowedAt),
		NoticeAt:      fromDBPtr(r.NoticeAt),
	}
}

// workRow holds the columns every work table shares.
type workRow struct {
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	LastError     string
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
	FinishedAt    *time.Time
}

func toWorkRow(w storage.WorkState) workRow {
	return workRow{
		Status:        w.Status,
		Attempts:      w.Attempts,
		NextAttemptAt: utc(w.NextAttemptAt),
		ClaimedUntil:  utcPtr(w.ClaimedUntil),
		LastError:     w.LastError,
		CreatedAt:     utc(w.CreatedAt),
		UpdatedAt:     utc(w.UpdatedAt),
		FinishedAt:    utcPtr(w.FinishedAt),
	}
}

func (r workRow) state() storage.WorkState {
	return storage.WorkState{
		Status:        r.Status,
		Attempts:      r.Attempts,
		NextAttemptAt: fromDB(r.NextAttemptAt),
		ClaimedUntil:  fromDBPtr(r.ClaimedUntil),
		LastError:     r.LastError,
		CreatedAt:     fromDB(r.CreatedAt),
		UpdatedAt:     fromDB(r.UpdatedAt),
		FinishedAt:    fromDBPtr(r.FinishedAt),
	}
}

type logoutDeliveryRow struct {
	ID        string `gorm:"primaryKey"`
	SessionID string
	UserID    string
	ClientID  string
	URI       string `gorm:"column:uri"`
	Reason    string
	Work      workRow `gorm:"embedded"`
}

func (logoutDeliveryRow) TableName() string { return "logout_deliveries" }

func toLogoutDeliveryRow(d storage.LogoutDelivery) logoutDeliveryRow {
	return logoutDeliveryRow{ID: d.ID, SessionID: d.SessionID, UserID: d.UserID, ClientID: d.ClientID, URI: d.URI,
		Reason: d.Reason, Work: toWorkRow(d.WorkState)}
}

func (r logoutDeliveryRow) delivery() storage.LogoutDelivery {
	return storage.LogoutDelivery{ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, ClientID: r.ClientID, URI: r.URI,
		Reason: r.Reason, WorkState: r.Work.state()}
}

type mailRow struct {
	ID        string `gorm:"primaryKey"`
	Recipient string
	Subject   string
	Template  string
	Body      []byte
	ExpiresAt *time.Time
	Work      workRow `gorm:"embedded"`
}

func (mailRow) TableName() string { return "mail_outbox" }

func toMailRow(m storage.OutboxMail) mailRow {
	return mailRow{ID: m.ID, Recipient: m.Recipient, Subject: m.Subject, Template: m.Template, Body: m.Body,
		ExpiresAt: utcPtr(m.ExpiresAt), Work: toWorkRow(m.WorkState)}
}

func (r mailRow) mail() storage.OutboxMail {
	return storage.OutboxMail{ID: r.ID, Recipient: r.Recipient, Subject: r.Subject, Template: r.Template, Body: r.Body,
		ExpiresAt: fromDBPtr(r.ExpiresAt), WorkState: r.Work.state()}
}

type codeRow struct {
	ID            string `gorm:"primaryKey"`
	Purpose       string
	UserID        string
	AuthRequestID string
	TicketHash    string
	CodeHash      string
	Email         string
	AMR           stringList `gorm:"column:amr"`
	ACR           string     `gorm:"column:acr"`
	BrowserHash   string
	Failures      int
	Sends         int
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	SentAt        time.Time
	ExpiresAt     time.Time
	UsedAt        *time.Time
}

func (codeRow) TableName() string { return "one_time_codes" }

func toCodeRow(c storage.OneTimeCode) codeRow {
	return codeRow{
		ID:            c.ID,
		Purpose:       c.Purpose,
		UserID:        c.UserID,
		AuthRequestID: c.AuthRequestID,
		TicketHash:    c.TicketHash,
		CodeHash:      c.CodeHash,
		Email:         c.Email,
		AMR:           stringList(c.AMR),
		ACR:           c.ACR,
		BrowserHash:   c.BrowserHash,
		Failures:      c.Failures,
		Sends:         c.Sends,
		CreatedAt:     utc(c.CreatedAt),
		SentAt:        utc(c.SentAt),
		ExpiresAt:     utc(c.ExpiresAt),
		UsedAt:        utcPtr(c.UsedAt),
	}
}

func (r codeRow) code() storage.OneTimeCode {
	return storage.OneTimeCode{
		ID:            r.ID,
		Purpose:       r.Purpose,
		UserID:        r.UserID,
		AuthRequestID: r.AuthRequestID,
		TicketHash:    r.TicketHash,
		CodeHash:      r.CodeHash,
		Email:         r.Email,
		AMR:           []string(r.AMR),
		ACR:           r.ACR,
		BrowserHash:   r.BrowserHash,
		Failures:      r.Failures,
		Sends:         r.Sends,
		CreatedAt:     fromDB(r.CreatedAt),
		SentAt:        fromDB(r.SentAt),
		ExpiresAt:     fromDB(r.ExpiresAt),
		UsedAt:        fromDBPtr(r.UsedAt),
	}
}

type deviceRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	TokenHash  string
	CreatedAt  time.Time `gorm:"autoCreateTime:false"`
	LastSeenAt time.Time
	OTPAt      *time.Time `gorm:"column:otp_at"`
	ExpiresAt  time.Time
}

func (deviceRow) TableName() string { return "devices" }

func toDeviceRow(d storage.Device) deviceRow {
	return deviceRow{ID: d.ID, UserID: d.UserID, TokenHash: d.TokenHash, CreatedAt: utc(d.CreatedAt),
		LastSeenAt: utc(d.LastSeenAt), OTPAt: utcPtr(d.OTPAt), ExpiresAt: utc(d.ExpiresAt)}
}

func (r deviceRow) device() storage.Device {
	return storage.Device{ID: r.ID, UserID: r.UserID, TokenHash: r.TokenHash, CreatedAt: fromDB(r.CreatedAt),
		LastSeenAt: fromDB(r.LastSeenAt), OTPAt: fromDBPtr(r.OTPAt), ExpiresAt: fromDB(r.ExpiresAt)}
}
