package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
)

// Hasher computes the keyed hashes under which codes and tokens are
// stored, and the successor of a refresh token (secret.Keys does both).
type Hasher interface {
	Hash(kind, value string) string
	Successor(refreshToken string) string
}

// Hash kinds.
const (
	hashCode    = "code"
	hashRefresh = "refresh"
)

// refreshIDPrefix marks a refresh token id handed to the library's
// revocation (access token ids are UUIDs and never carry it).
const refreshIDPrefix = "rt."

// opStorage adapts storage.Storage to the library's op.Storage and the
// optional capabilities sekisho offers.
type opStorage struct {
	store     storage.Storage
	clients   *Clients
	keys      *KeyManager
	hasher    Hasher
	lifetimes config.Lifetimes
	// reuseWindow is refresh.reuse_window; 0 when off (strict rotation).
	reuseWindow time.Duration
	now         func() time.Time
	log         *slog.Logger
	issued      func(grant string)
}

var (
	_ zop.Storage                   = (*opStorage)(nil)
	_ zop.ClientCredentialsStorage  = (*opStorage)(nil)
	_ zop.CanSetUserinfoFromRequest = (*opStorage)(nil)
)

func (s *opStorage) client(id string) (*Client, error) {
	c, ok := s.clients.Get(id)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return c, nil
}

// CreateAuthRequest stores the request after the checks the library leaves
// to us: PKCE with S256 only (required unless a confidential client opted
// out), and the query response mode only (RFC 9207 `iss` is added there).
func (s *opStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintUserID string) (zop.AuthRequest, error) {
	c, err := s.client(req.ClientID)
	if err != nil {
		return nil, err
	}
	switch {
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge == "" && c.cfg.PKCERequired():
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge (PKCE with S256) is required")
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery:
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	now := s.now().UTC()
	a := storage.AuthRequest{
		ID:                  uuid.NewString(),
		ClientID:            req.ClientID,
		RedirectURI:         req.RedirectURI,
		Scopes:              req.Scopes,
		State:               req.State,
		Nonce:               req.Nonce,
		ResponseType:        string(req.ResponseType),
		ResponseMode:        string(req.ResponseMode),
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt:              req.Prompt,
		LoginHint:           req.LoginHint,
		HintUserID:          hintUserID,
		Organization:        organizationFrom(ctx),
		ACRValues:           req.ACRValues,
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.lifetimes.AuthRequest.D()),
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		a.MaxAge = &d
	}
	for _, t := range req.UILocales {
		a.UILocales = append(a.UILocales, t.String())
	}
	if err := s.store.CreateAuthRequest(ctx, a); err != nil {
		return nil, fmt.Errorf("op: create auth request: %w", err)
	}
	return authRequest{a}, nil
}

func (s *opStorage) AuthRequestByID(ctx context.Context, id string) (zop.AuthRequest, error) {
	a, err := s.store.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.now().Before(a.ExpiresAt) {
		return nil, oidc.ErrInvalidRequest().WithDescription("the sign-in request expired")
	}
	if !clientRequest(a) {
		return nil, oidc.ErrInvalidRequest().WithDescription("not an authorization request")
	}
	return authRequest{a}, nil
}

// clientRequest reports whether a came through /authorize: the
// provider's own sign-ins (the account page, a product's reset link)
// carry another response mode and never get a code.
func clientRequest(a storage.AuthRequest) bool {
	return a.ResponseMode == "" || a.ResponseMode == string(oidc.ResponseModeQuery)
}

// AuthRequestByCode finds the request of an unexpired code. It does not
// claim the code: that happens when tokens are created, after client
// authentication and PKCE have passed.
func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (zop.AuthRequest, error) {
	a, err := s.store.GetAuthRequestByCode(ctx, s.hasher.Hash(hashCode, code))
	if err != nil {
		return nil, err
	}
	if !s.now().Before(a.CodeExpiresAt) {
		return nil, errCodeExpired
	}
	return authRequest{a}, nil
}

func (s *opStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.store.SetAuthCode(ctx, id, s.hasher.Hash(hashCode, code), s.now().UTC().Add(s.lifetimes.Code.D()))
}

// DeleteAuthRequest keeps the row: a replayed code must still find it so
// the tokens of the first use can be revoked. The sweep removes it once
// the code has expired.
func (s *opStorage) DeleteAuthRequest(context.Context, string) error { return nil }

func (s *opStorage) CreateAccessToken(ctx context.Context, req zop.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := s.issue(ctx, req, "")
	return id, exp, err
}

func (s *opStorage) CreateAccessAndRefreshTokens(ctx context.Context, req zop.TokenRequest, current string) (string, string, time.Time, error) {
	return s.issue(ctx, req, current)
}

// tokenPlan is what one token response writes, decided before anything
// is written, so that the response can be built (and anything that could
// fail, such as loading the user, can fail) before the code is claimed
// or the refresh token rotated: a client told to try again still holds a
// usable grant.
type tokenPlan struct {
	req        zop.TokenRequest
	issue      storage.TokenIssue
	presented  string // the refresh token presented, if any
	newRefresh string // the refresh token to hand out, if any
	grant      string
}

// plan decides the tokens of req (current: the presented refresh token).
func (s *opStorage) plan(ctx context.Context, req zop.TokenRequest, current string) (*tokenPlan, error) {
	now := s.now().UTC()
	var clientID string
	switch r := req.(type) {
	case authRequest:
		clientID = r.ClientID
	case *refreshRequest:
		clientID = r.ClientID
	case *clientCredentialsRequest:
		clientID = r.clientID
	default:
		return nil, fmt.Errorf("op: unexpected token request %T", req)
	}
	c, err := s.client(clientID)
	if err != nil {
		return nil, err
	}
	p := &tokenPlan{req: req, presented: current}
	p.issue = storage.TokenIssue{Now: now, AccessToken: storage.AccessToken{
		ID:        uuid.NewString(),
		ClientID:  clientID,
		Subject:   req.GetSubject(),
		Audience:  req.GetAudience(),
		Scopes:    req.GetScopes(),
		CreatedAt: now,
		ExpiresAt: now.Add(c.AccessTokenLifetime()),
	}}
	issue := &p.issue
	switch r := req.(type) {
	case *clientCredentialsRequest:
		p.grant = GrantClientCredentials
	case authRequest:
		p.grant = GrantAuthorizationCode
		issue.ClaimCodeOf = r.ID
		issue.AccessToken.UserID = r.UserID
		issue.AccessToken.SessionID = r.SessionID
		issue.AccessToken.AuthRequestID = r.ID
		if current == "" && s.wantsRefresh(r, c) {
			idle, abs := c.RefreshTokenLifetimes()
			p.newRefresh = secret.RandomToken(32)
			issue.RefreshToken = &storage.RefreshToken{
				ID: uuid.NewString(), TokenHash: s.hasher.Hash(hashRefresh, p.newRefresh), FamilyID: uuid.NewString(),
				ClientID: r.ClientID, UserID: r.UserID, SessionID: r.SessionID, AuthRequestID: r.ID,
				Scopes: r.Scopes, Audience: r.GetAudience(), AMR: r.AMR, ACR: r.ACR, AuthTime: r.AuthTime,
				CreatedAt: now, ExpiresAt: minTime(now.Add(idle), now.Add(abs)), FamilyExpiresAt: now.Add(abs),
			}
			issue.AccessToken.RefreshFamilyID = issue.RefreshToken.FamilyID
		}
	case *refreshRequest:
		p.grant = GrantRefreshToken
		issue.AccessToken.RefreshFamilyID = r.FamilyID
		// The successor is derived from the presented token, so a reuse
		// within the window hands out the same one.
		p.newRefresh = s.hasher.Successor(current)
		issue.AccessToken.UserID = r.UserID
		issue.AccessToken.SessionID = r.SessionID
		issue.AccessToken.AuthRequestID = r.AuthRequestID
		if r.reuse {
			issue.Reuse = s.reuseOf(r, current, now)
			break
		}
		idle, _ := c.RefreshTokenLifetimes()
		issue.RotateFromHash = s.hasher.Hash(hashRefresh, current)
		next := r.RefreshToken
		next.ID = uuid.NewString()
		next.TokenHash = s.hasher.Hash(hashRefresh, p.newRefresh)
		// A narrower scope asked for narrows this response's access and
		// ID tokens only: the successor keeps the grant's scope (RFC 6749
		// §6).
		next.Scopes = r.RefreshToken.Scopes
		next.CreatedAt = now
		next.ExpiresAt = minTime(now.Add(idle), r.FamilyExpiresAt)
		next.UsedAt, next.RevokedAt, next.SuccessorHash = nil, nil, ""
		issue.RefreshToken = &next
	}
	return p, nil
}

// commit writes a plan in one transaction: claim the code or rotate the
// refresh token, then the new tokens. A code or refresh token used before
// is a replay (what it issued is revoked), unless the refresh token was
// rotated moments ago by the same client (the reuse window).
func (s *opStorage) commit(ctx context.Context, p *tokenPlan) error {
	issue := p.issue
	if p.grant == GrantClientCredentials {
		if err := s.store.CreateAccessToken(ctx, issue.AccessToken); err != nil {
			return fmt.Errorf("op: create access token: %w", err)
		}
		s.issued(p.grant)
		return nil
	}
	err := s.store.IssueTokens(ctx, issue)
	if r, ok := p.req.(*refreshRequest); ok && errors.Is(err, storage.ErrAlreadyUsed) && issue.RotateFromHash != "" && s.reuseAllowed(ctx, r.RefreshToken) {
		// Another request rotated the token since it was loaded (a
		// relying party refreshing in parallel): within the window it
		// shares that rotation's successor, the one planned here too.
		issue.RotateFromHash, issue.RefreshToken, issue.Reuse = "", nil, s.reuseOf(r, p.presented, issue.Now)
		err = s.store.IssueTokens(ctx, issue)
	}
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return s.replayed(ctx, p.req, issue.Now)
	case errors.Is(err, storage.ErrNotFound):
		// The code's or token's row went (expiry sweep) between look-up
		// and claim.
		return oidc.ErrInvalidGrant().WithDescription("the grant expired")
	case errors.Is(err, storage.ErrConflict):
		// The user signed out between sign-in and code exchange.
		return oidc.ErrInvalidGrant().WithDescription("the session ended")
	case err != nil:
		return fmt.Errorf("op: issue tokens: %w", err)
	}
	s.issued(p.grant)
	return nil
}

// issue plans and commits (the library's token creation).
func (s *opStorage) issue(ctx context.Context, req zop.TokenRequest, current string) (string, string, time.Time, error) {
	p, err := s.plan(ctx, req, current)
	if err == nil {
		err = s.commit(ctx, p)
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return p.issue.AccessToken.ID, p.newRefresh, p.issue.AccessToken.ExpiresAt, nil
}

// wantsRefresh mirrors the library's rule for issuing a refresh token.
func (s *opStorage) wantsRefresh(a authRequest, c *Client) bool {
	return c.cfg.HasGrant(GrantRefreshToken) && slices.Contains(a.Scopes, oidc.ScopeOfflineAccess)
}

// replayed handles a code or refresh token presented a second time: what
// the first use issued is revoked (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
func (s *opStorage) replayed(ctx context.Context, req zop.TokenRequest, now time.Time) error {
	var err error
	var kind, clientID, userID string
	switch r := req.(type) {
	case authRequest:
		kind, clientID, userID = "code_replay", r.ClientID, r.UserID
		err = s.store.RevokeAuthRequestTokens(ctx, r.ID, now)
	case *refreshRequest:
		kind, clientID, userID = "refresh_reuse", r.ClientID, r.UserID
		err = s.store.RevokeRefreshFamily(ctx, r.FamilyID, now)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "revoke after replay", "err", err)
	}
	s.log.WarnContext(ctx, "replayed grant; revoked what it issued", "kind", kind, "client_id", clientID)
	s.audit(ctx, storage.AuditEvent{Type: kind, UserID: userID, ClientID: clientID, Outcome: "failure"})
	return oidc.ErrInvalidGrant().WithDescription("the grant was already used")
}

func (s *opStorage) audit(ctx context.Context, e storage.AuditEvent) {
	e.ID = uuid.NewString()
	e.Time = s.now().UTC()
	if err := s.store.AddAuditEvent(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "write audit event", "type", e.Type, "err", err)
	}
}

// TokenRequestByRefreshToken loads an active refresh token. A token that
// was already used is a replay, and its whole family is revoked, unless
// the same client presents it again within the reuse window after its
// rotation and its successor is the one derived from it: then the
// request re-issues from that rotation (the storage checks that the
// successor is still usable).
func (s *opStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (zop.RefreshTokenRequest, error) {
	// One read for the token, its account and organization: the token
	// response needs all three.
	g, err := s.store.GetRefreshGrant(ctx, s.hasher.Hash(hashRefresh, token))
	if err != nil {
		return nil, err
	}
	rt := g.Token
	now := s.now().UTC()
	req := &refreshRequest{RefreshToken: rt, scopes: rt.Scopes, user: &g.User, org: &g.Organization}
	if rt.UsedAt != nil && rt.RevokedAt == nil {
		if s.reuseAllowed(ctx, rt) && now.Sub(*rt.UsedAt) <= s.reuseWindow &&
			rt.SuccessorHash == s.hasher.Hash(hashRefresh, s.hasher.Successor(token)) && now.Before(rt.FamilyExpiresAt) {
			req.reuse = true
			return req, nil
		}
		return nil, s.replayed(ctx, req, now)
	}
	if !rt.Active(now) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token is not active")
	}
	return req, nil
}

// reuseAllowed reports whether the reuse window applies to rt in this
// request: it is on, and the authenticated client is the token's.
func (s *opStorage) reuseAllowed(ctx context.Context, rt storage.RefreshToken) bool {
	return s.reuseWindow > 0 && clientIDFrom(ctx) == rt.ClientID
}

// reuseOf describes a reuse of the presented token for storage: rotated
// within the window, by its client, into the successor derived from it.
func (s *opStorage) reuseOf(r *refreshRequest, presented string, now time.Time) *storage.RefreshReuse {
	return &storage.RefreshReuse{TokenHash: s.hasher.Hash(hashRefresh, presented),
		SuccessorHash: s.hasher.Hash(hashRefresh, s.hasher.Successor(presented)),
		ClientID:      r.ClientID, RotatedAfter: now.Add(-s.reuseWindow)}
}

// TerminateSession is not reached: /end_session is our own handler.
func (s *opStorage) TerminateSession(context.Context, string, string) error { return nil }

func (s *opStorage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	h := s.hasher.Hash(hashRefresh, token)
	rt, err := s.store.GetRefreshToken(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", zop.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return rt.UserID, refreshIDPrefix + h, nil
}

// RevokeToken revokes an access token (by id) or a refresh token's whole
// family. Unknown tokens succeed silently (RFC 7009 §2.2); a token of
// another client is refused.
func (s *opStorage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	now := s.now().UTC()
	if h, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok {
		rt, err := s.store.GetRefreshToken(ctx, h)
		if err != nil {
			return revokeLookupError(err)
		}
		if rt.ClientID != clientID {
			return oidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
		}
		if err := s.store.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	if !validTokenID(tokenOrID) {
		return nil // not one of ours (RFC 7009 §2.2)
	}
	at, err := s.store.GetAccessToken(ctx, tokenOrID)
	if err != nil {
		return revokeLookupError(err)
	}
	if at.ClientID != clientID {
		return oidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
	}
	if err := s.store.RevokeAccessToken(ctx, at.ID, now); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func revokeLookupError(err error) *oidc.Error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return oidc.ErrServerError().WithParent(err)
}

func (s *opStorage) SigningKey(context.Context) (zop.SigningKey, error) { return s.keys.SigningKey() }

func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return s.keys.Algorithms(), nil
}

func (s *opStorage) KeySet(context.Context) ([]zop.Key, error) { return s.keys.KeySet(), nil }

func (s *opStorage) GetClientByClientID(_ context.Context, id string) (zop.Client, error) {
	return s.client(id)
}

func (s *opStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, err := s.client(id)
	if err != nil || !c.CheckSecret(secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the library; claims come from
// SetUserinfoFromRequest.
func (s *opStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest sets the ID token's user claims, plus `sid` and,
// for refreshed tokens, `acr` (which the library only takes from auth
// requests).
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req zop.IDTokenRequest, scopes []string) error {
	if err := s.setUserinfo(ctx, ui, req.GetSubject(), req.GetClientID(), scopes); err != nil {
		return err
	}
	switch r := req.(type) {
	case authRequest:
		if r.SessionID != "" {
			ui.AppendClaims("sid", r.SessionID)
		}
	case *refreshRequest:
		if r.SessionID != "" {
			ui.AppendClaims("sid", r.SessionID)
		}
		if r.ACR != "" {
			ui.AppendClaims("acr", r.ACR)
		}
	}
	return nil
}

func (s *opStorage) setUserinfo(ctx context.Context, ui *oidc.UserInfo, userID, clientID string, scopes []string) error {
	u, ok := ctx.Value(userKey{}).(storage.User)
	if !ok || u.ID != userID {
		var err error
		if u, err = s.store.GetUser(ctx, userID); err != nil {
			return fmt.Errorf("op: load user: %w", err)
		}
	}
	if u.Disabled {
		return oidc.ErrAccessDenied().WithDescription("the account is disabled")
	}
	ui.Subject = u.ID
	for _, sc := range scopes {
		if err := s.memberClaims(ctx, ui, u, sc); err != nil {
			return err
		}
		switch sc {
		case oidc.ScopeProfile:
			ui.Name = u.Name
			// The account name, when the account has one (the name people
			// sign in with in the organization+username mode).
			ui.PreferredUsername = u.Email
			if u.Username != "" {
				ui.PreferredUsername = u.Username
			}
		case oidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = oidc.Bool(u.EmailVerified)
		case ScopeLegacy:
			if c, err := s.client(clientID); err == nil && c.cfg.LegacyClaims && u.LegacyID != "" {
				ui.AppendClaims("legacy_id", u.LegacyID)
			}
		}
	}
	return nil
}

// memberClaims sets the claims of the member's organization (scope
// organization: org_id, org_code, org_name) and role (scope roles:
// roles, the one role the member holds now, or an empty list when they
// hold none), read when the claims are made: a refreshed token carries
// the role of the moment.
func (s *opStorage) memberClaims(ctx context.Context, ui *oidc.UserInfo, u storage.User, scope string) error {
	switch scope {
	case ScopeOrganization:
		org, ok := ctx.Value(orgKey{}).(storage.Organization)
		if !ok || org.ID != u.OrganizationID {
			var err error
			if org, err = s.store.GetOrganization(ctx, u.OrganizationID); err != nil {
				return fmt.Errorf("op: load organization: %w", err)
			}
		}
		ui.AppendClaims(ClaimOrgID, org.ID)
		ui.AppendClaims(ClaimOrgCode, org.Code)
		ui.AppendClaims(ClaimOrgName, org.Name)
	case ScopeRoles:
		roles := []string{}
		if u.Role != "" {
			roles = append(roles, u.Role)
		}
		ui.AppendClaims(ClaimRoles, roles)
	}
	return nil
}

// Scopes and claims of organizations and roles. A client receives them
// when it lists the scope in clients[].scopes.
const (
	ScopeOrganization = "organization"
	ScopeRoles        = "roles"
	ClaimOrgID        = "org_id"
	ClaimOrgCode      = "org_code"
	ClaimOrgName      = "org_name"
	ClaimRoles        = "roles"
)

// ScopeLegacy asks for the user's id in the legacy product (`legacy_id`),
// for clients with legacy_claims.
const ScopeLegacy = "legacy"

// errCodeExpired: the authorization code's lifetime is over.
var errCodeExpired = errors.New("op: code expired")

// errInactive: the access token's record is revoked, expired or its
// session ended.
var errInactive = errors.New("op: access token is not active")

// validTokenID: access token ids are UUIDs. Anything else (the library
// also decrypts legacy AES-CFB tokens, which carry no integrity check, so
// a crafted string yields arbitrary bytes) is not looked up.
func validTokenID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// activeToken loads the access token's record: revoked, expired and
// session-ended tokens (JWTs included) are not active.
func (s *opStorage) activeToken(ctx context.Context, id string) (storage.AccessToken, error) {
	if !validTokenID(id) {
		return storage.AccessToken{}, storage.ErrNotFound
	}
	at, err := s.store.GetAccessToken(ctx, id)
	if err != nil {
		return at, err
	}
	if !at.Active(s.now()) {
		return at, errInactive
	}
	return at, nil
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, _, _ string) error {
	at, err := s.activeToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if at.UserID == "" {
		return oidc.ErrInvalidRequest().WithDescription("the token has no user")
	}
	return s.setUserinfo(ctx, ui, at.UserID, at.ClientID, at.Scopes)
}

func (s *opStorage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _, _ string) error {
	at, err := s.activeToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if at.UserID != "" {
		ui := new(oidc.UserInfo)
		if err := s.setUserinfo(ctx, ui, at.UserID, at.ClientID, at.Scopes); err != nil {
			return err
		}
		resp.SetUserInfo(ui)
		resp.Username = ui.PreferredUsername
	}
	resp.Subject = at.Subject
	resp.Scope = at.Scopes
	resp.ClientID = at.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(at.CreatedAt)
	resp.Audience = at.Audience
	resp.JWTID = at.ID
	return nil
}

func (s *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

var errUnsupported = errors.New("op: not supported")

func (s *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

func (s *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

func (s *opStorage) Health(ctx context.Context) error { return s.store.Ping(ctx) }

// ClientCredentials authenticates an API client for the client_credentials
// grant.
func (s *opStorage) ClientCredentials(_ context.Context, id, secret string) (zop.Client, error) {
	c, ok := s.clients.Get(id)
	if !ok || !c.CheckSecret(secret) {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if !c.cfg.HasGrant(GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client_credentials is not allowed for this client")
	}
	return c, nil
}

// ClientCredentialsTokenRequest allows only scopes from the client's list.
func (s *opStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (zop.TokenRequest, error) {
	c, err := s.client(id)
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		if !c.IsScopeAllowed(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %s is not allowed for this client", sc)
		}
	}
	return &clientCredentialsRequest{clientID: id, scopes: scopes}, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
