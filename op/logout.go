package op

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/outbox"
	"github.com/sekisho/sekisho/storage"
)

// BackchannelLogoutEvent is the member of a logout token's `events` claim
// (OpenID Connect Back-Channel Logout 1.0, section 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenType is the `typ` header of logout tokens.
const LogoutTokenType = "logout+jwt"

// LogoutStore is what single logout needs from storage.
type LogoutStore interface {
	EndSessions(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error)
	ClaimLogoutDeliveries(ctx context.Context, c storage.DeliveryClaim) ([]storage.LogoutDelivery, error)
	FinishLogoutDelivery(ctx context.Context, id string, o storage.DeliveryOutcome) error
}

// LogoutConfig configures NewLogout.
type LogoutConfig struct {
	Store   LogoutStore
	Config  *config.Config // issuer, clients and the logout section
	Keys    *KeyManager
	Clients *Clients
	// HTTP sends the deliveries; nil means a client that never follows
	// redirects. Its own timeout, if any, is kept.
	HTTP   *http.Client
	Now    func() time.Time
	Logger *slog.Logger
	// Outcome is called once per attempt: "delivered", "retry", "failed".
	Outcome func(outcome string)
}

// Logout ends sessions and tells the clients: back-channel logout tokens
// from a database outbox (any replica delivers, with retries), and the
// front-channel iframe URLs for the sign-out page.
type Logout struct {
	c      LogoutConfig
	lc     config.Logout
	issuer string
	bc     map[string]string
	keep   []string
	queue  *outbox.Queue[storage.LogoutDelivery]
}

// NewLogout returns the single-logout service.
func NewLogout(c LogoutConfig) *Logout {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	client := *c.HTTP
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.HTTP = &client
	l := &Logout{c: c, lc: c.Config.Logout, issuer: c.Config.Issuer, bc: map[string]string{}}
	l.queue = outbox.New(outbox.Config[storage.LogoutDelivery]{
		Name: "logout", Claim: c.Store.ClaimLogoutDeliveries, Send: l.post, Finish: c.Store.FinishLogoutDelivery,
		ID:       func(d storage.LogoutDelivery) string { return d.ID },
		Attempts: func(d storage.LogoutDelivery) int { return d.Attempts },
		Parallel: l.lc.Parallel, RetryDelay: l.lc.RetryDelay.D(), MaxAttempts: l.lc.MaxAttempts,
		AttemptTimeout: l.lc.DeliveryTimeout.D(), Now: c.Now, Logger: c.Logger, Outcome: c.Outcome,
	})
	for _, cl := range c.Config.Clients {
		if cl.BackchannelLogoutURI != "" {
			l.bc[cl.ID] = cl.BackchannelLogoutURI
		}
		if cl.KeepOfflineTokensOnLogout {
			l.keep = append(l.keep, cl.ID)
		}
	}
	return l
}

// End ends the sessions e selects, as EndSessions does, filling in who
// hears of it from the configuration: deliveries for every client with a
// back-channel URI, and offline tokens kept for the clients that ask,
// unless e revokes every token.
func (l *Logout) End(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error) {
	return l.end(ctx, l.Prepare(e))
}

func (l *Logout) end(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error) {
	res, err := l.c.Store.EndSessions(ctx, e)
	if err != nil {
		return res, fmt.Errorf("op: end sessions: %w", err)
	}
	return res, nil
}

// Prepare fills in e what the configuration says (back-channel URIs,
// clients keeping offline tokens, the time), for callers that end sessions
// inside a transaction of their own (CompleteLogin).
func (l *Logout) Prepare(e storage.SessionEnd) storage.SessionEnd {
	if e.Now.IsZero() {
		e.Now = l.c.Now().UTC()
	}
	e.Backchannel = l.bc
	if !e.RevokeAllTokens {
		e.KeepOffline = l.keep
	}
	return e
}

// FrontchannelURLs returns the front-channel logout URLs of the clients
// that received tokens in the ended sessions, with `iss` and `sid` for
// clients that require them.
func (l *Logout) FrontchannelURLs(ended []storage.EndedSession) []string {
	var out []string
	if l.c.Clients == nil {
		return nil
	}
	for _, s := range ended {
		for _, id := range s.Clients {
			c, ok := l.c.Clients.Get(id)
			if !ok || c.cfg.FrontchannelLogoutURI == "" {
				continue
			}
			u, err := url.Parse(c.cfg.FrontchannelLogoutURI)
			if err != nil {
				continue
			}
			if c.cfg.FrontchannelLogoutSessionRequired {
				q := u.Query()
				q.Set("iss", l.issuer)
				q.Set("sid", s.ID)
				u.RawQuery = q.Encode()
			}
			out = append(out, u.String())
		}
	}
	return out
}

// EndAndClaim ends sessions as End does, writing their deliveries
// already claimed for this process, so Deliver can send them at once
// without a poller of another replica taking them first.
func (l *Logout) EndAndClaim(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error) {
	e = l.Prepare(e)
	e.ClaimUntil = e.Now.Add(l.queue.Lease())
	return l.end(ctx, e)
}

// Deliver sends the deliveries of res now, in parallel, and waits until
// they are all answered or logout.wait has passed (or ctx ends). What is
// not done by then continues in the background.
func (l *Logout) Deliver(ctx context.Context, res storage.SessionEndResult) {
	if len(res.Claimed) > 0 {
		l.queue.SendClaimed(ctx, res.Claimed, res.Claimed[0].ClaimedUntil.UTC(), l.lc.Wait.D())
		return
	}
	l.queue.DeliverNow(ctx, res.Deliveries, l.lc.Wait.D())
}

// Run delivers due deliveries and ends expired sessions until ctx ends,
// then waits for attempts in flight.
func (l *Logout) Run(ctx context.Context) {
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		t := time.NewTicker(l.lc.ExpirySweepInterval.D())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				l.EndExpired(ctx)
			}
		}
	}()
	l.queue.Run(ctx, l.lc.PollInterval.D())
	<-swept
}

// EndExpired ends (and announces) the sessions whose idle or absolute
// time ran out, in batches.
func (l *Logout) EndExpired(ctx context.Context) {
	const batch = 100
	for ctx.Err() == nil {
		res, err := l.End(ctx, storage.SessionEnd{Expired: true, Limit: batch, Reason: storage.EndTimeout})
		if err != nil {
			if ctx.Err() == nil {
				l.c.Logger.WarnContext(ctx, "end expired sessions", "err", err)
			}
			return
		}
		if len(res.Ended) > 0 {
			l.c.Logger.InfoContext(ctx, "ended expired sessions", "sessions", len(res.Ended), "deliveries", len(res.Deliveries))
		}
		if len(res.Ended) < batch {
			return
		}
	}
}

// post sends one logout token. Network errors, timeouts, 5xx and 429 are
// worth retrying; any other answer but 2xx (3xx included: redirects are
// not followed) is final.
func (l *Logout) post(ctx context.Context, d storage.LogoutDelivery) error {
	token, err := l.LogoutToken(d)
	if err != nil {
		return err
	}
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URI, strings.NewReader(body))
	if err != nil {
		return outbox.Final(fmt.Errorf("bad logout URI: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := l.c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("POST: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	default:
		return fmt.Errorf("%w: HTTP %d", outbox.ErrFinal, resp.StatusCode)
	}
}

// logoutClaims are the claims of a logout token (Back-Channel Logout 1.0,
// section 2.4): never a nonce.
type logoutClaims struct {
	Issuer    string              `json:"iss"`
	Subject   string              `json:"sub"`
	Audience  string              `json:"aud"`
	IssuedAt  int64               `json:"iat"`
	ExpiresAt int64               `json:"exp"`
	JWTID     string              `json:"jti"`
	SessionID string              `json:"sid"`
	Events    map[string]struct{} `json:"events"`
}

// LogoutToken signs a fresh logout token for d (new jti, iat and exp on
// every call) with the provider's current signing key.
func (l *Logout) LogoutToken(d storage.LogoutDelivery) (string, error) {
	now := l.c.Now()
	claims := logoutClaims{
		Issuer: l.issuer, Subject: d.UserID, Audience: d.ClientID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(l.lc.TokenLifetime.D()).Unix(),
		JWTID: uuid.NewString(), SessionID: d.SessionID,
		Events: map[string]struct{}{BackchannelLogoutEvent: {}},
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return l.c.Keys.Sign(payload, LogoutTokenType)
}
