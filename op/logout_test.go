package op

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// endedWith signs user in to clientID in a new session and ends it,
// returning the delivery written for the client.
func endedWith(t *testing.T, st storage.Storage, l *Logout, clientID string, now time.Time) storage.LogoutDelivery {
	t.Helper()
	ctx := t.Context()
	sid := "sid-" + strings.ReplaceAll(t.Name(), "/", "-")
	if err := st.CreateSession(ctx, storage.Session{ID: sid, TokenHash: "h-" + sid, UserID: "user-1", AuthTime: now,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ar := storage.AuthRequest{ID: "ar-" + sid, ClientID: clientID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		UserID: "user-1", SessionID: sid, CompletedAt: &now, CodeHash: "c-" + sid, CodeExpiresAt: now.Add(time.Minute)}
	if err := st.CreateAuthRequest(ctx, ar); err != nil {
		t.Fatal(err)
	}
	if err := st.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: ar.ID, Now: now, AccessToken: storage.AccessToken{
		ID: "at-" + sid, ClientID: clientID, Subject: "user-1", UserID: "user-1", SessionID: sid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	res, err := l.End(ctx, storage.SessionEnd{SessionID: sid, Now: now, Reason: storage.EndLogout})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 1 {
		t.Fatalf("deliveries = %v, want 1", res.Deliveries)
	}
	d, err := st.GetLogoutDelivery(ctx, res.Deliveries[0])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBackchannelDelivery drives one attempt against client endpoints that
// answer in every way the specification and the network allow.
func TestBackchannelDelivery(t *testing.T) {
	st := gormstoretest.NewSQLite(t)
	sealer, err := secret.Parse(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	km := NewKeyManager(KeyManagerConfig{Store: st, Sealer: sealer, Algorithm: "ES256", RefreshInterval: 10 * time.Second, Now: clk.now})
	if err := km.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var redirected atomic.Int32
	var mu sync.Mutex
	received := map[string][]string{}
	handlers := map[string]http.HandlerFunc{
		"ok":         func(w http.ResponseWriter, r *http.Request) {},
		"no-content": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
		"redirect":   func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
		"bad":        func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
		"busy":       func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) },
		"down":       func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		"garbage": func(w http.ResponseWriter, r *http.Request) {
			conn, buf, _ := http.NewResponseController(w).Hijack()
			_, _ = buf.WriteString("HTTP/1.1 2oo OK\r\n\r\n")
			_ = buf.Flush()
			_ = conn.Close()
		},
		"slow": func(w http.ResponseWriter, r *http.Request) { <-release },
	}
	mux := http.NewServeMux()
	for name, h := range handlers {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			received[name] = append(received[name], r.PostFormValue("logout_token"))
			mu.Unlock()
			h(w, r)
		})
	}
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
	})
	rp := httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	t.Cleanup(func() { close(release) })

	cfg := &config.Config{Issuer: "https://sso.example.com"}
	for name := range handlers {
		cfg.Clients = append(cfg.Clients, config.Client{ID: name, BackchannelLogoutURI: rp.URL + "/" + name})
	}
	cfg.ApplyDefaults()
	cfg.Logout.Wait = config.Duration(300 * time.Millisecond)
	cfg.Logout.DeliveryTimeout = config.Duration(time.Second)
	cfg.Logout.RetryDelay = config.Duration(time.Minute)
	cfg.Logout.MaxAttempts = 3
	outcomes := map[string]int{}
	l := NewLogout(LogoutConfig{Store: st, Config: cfg, Keys: km, Now: clk.now, Outcome: func(o string) {
		mu.Lock()
		outcomes[o]++
		mu.Unlock()
	}})

	tests := []struct {
		client     string
		wantStatus string
		retried    bool
	}{
		{"ok", storage.DeliveryDelivered, false},
		{"no-content", storage.DeliveryDelivered, false},
		{"redirect", storage.DeliveryFailed, false},
		{"bad", storage.DeliveryFailed, false},
		{"busy", storage.DeliveryPending, true},
		{"down", storage.DeliveryPending, true},
		{"garbage", storage.DeliveryPending, true},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			now := clk.now()
			d := endedWith(t, st, l, tt.client, now)
			l.Deliver(t.Context(), storage.SessionEndResult{Deliveries: []string{d.ID}})
			got, err := st.GetLogoutDelivery(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.Attempts != 1 {
				t.Fatalf("status %q after %d attempts (last error %q), want %q after 1", got.Status, got.Attempts, got.LastError, tt.wantStatus)
			}
			if tt.retried && (got.NextAttemptAt.Sub(now) < time.Minute-time.Second || got.LastError == "") {
				t.Errorf("retry at %v (error %q), want about a minute after %v with the error", got.NextAttemptAt, got.LastError, now)
			}
			mu.Lock()
			tokens := received[tt.client]
			mu.Unlock()
			if len(tokens) != 1 {
				t.Fatalf("client received %d requests, want 1", len(tokens))
			}
			checkLogoutToken(t, km, tokens[0], cfg.Issuer, tt.client, d)
		})
	}

	t.Run("slow client does not hold the sign-out", func(t *testing.T) {
		d := endedWith(t, st, l, "slow", clk.now())
		done := make(chan struct{})
		go func() {
			l.Deliver(t.Context(), storage.SessionEndResult{Deliveries: []string{d.ID}})
			close(done)
		}()
		// The handler blocks until release is closed (at cleanup), so
		// Deliver can only return through its own bound.
		<-done
		got, _ := st.GetLogoutDelivery(t.Context(), d.ID)
		if got.Status != storage.DeliveryPending || got.ClaimedUntil == nil {
			t.Errorf("slow delivery = %+v, want pending and claimed while in flight", got)
		}
	})

	t.Run("retries end in failure after max_attempts", func(t *testing.T) {
		d := endedWith(t, st, l, "down", clk.now())
		for i := 1; i <= 3; i++ {
			l.Deliver(t.Context(), storage.SessionEndResult{Deliveries: []string{d.ID}})
			clk.add(time.Hour)
		}
		got, _ := st.GetLogoutDelivery(t.Context(), d.ID)
		if got.Status != storage.DeliveryFailed || got.Attempts != 3 || got.LastError != "HTTP 503" {
			t.Errorf("after 3 failures: %+v, want failed after 3 attempts with HTTP 503", got)
		}
		mu.Lock()
		tokens := received["down"]
		mu.Unlock()
		seen := map[string]bool{}
		for _, tok := range tokens[len(tokens)-3:] {
			jti := checkLogoutToken(t, km, tok, cfg.Issuer, "down", d)
			if seen[jti] {
				t.Errorf("jti %s sent twice: each attempt must sign a fresh token", jti)
			}
			seen[jti] = true
		}
	})

	if n := redirected.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
	if outcomes["delivered"] < 2 || outcomes["failed"] < 3 || outcomes["retry"] < 3 {
		t.Errorf("outcomes = %v", outcomes)
	}
}

// checkLogoutToken verifies a logout token against the key set and
// returns its jti.
func checkLogoutToken(t *testing.T, km *KeyManager, raw, issuer, clientID string, d storage.LogoutDelivery) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("parse logout token: %v", err)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); typ != LogoutTokenType {
		t.Errorf("typ = %q, want %q", typ, LogoutTokenType)
	}
	body, _, _ := km.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	events, _ := c["events"].(map[string]any)
	ev, ok := events[BackchannelLogoutEvent].(map[string]any)
	if c["iss"] != issuer || c["aud"] != clientID || c["sub"] != d.UserID || c["sid"] != d.SessionID || !ok || len(ev) != 0 {
		t.Errorf("claims = %v", c)
	}
	if _, has := c["nonce"]; has {
		t.Error("logout token carries a nonce")
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if iat == 0 || exp-iat != 120 {
		t.Errorf("iat %v exp %v, want exp = iat + 2m", iat, exp)
	}
	jti, _ := c["jti"].(string)
	if jti == "" {
		t.Error("no jti")
	}
	return jti
}
