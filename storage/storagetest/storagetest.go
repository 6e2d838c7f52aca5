// Package storagetest is the contract suite every storage.Storage
// implementation must pass. Backends run it from a few lines of test:
//
//	func TestSQLite(t *testing.T) {
//		storagetest.RunTests(t, func(t *testing.T) storage.Storage { return gormstoretest.NewSQLite(t) })
//	}
//
// Every subtest gets a fresh, empty store and uses fixed times, never the
// wall clock.
package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sekisho/sekisho/storage"
)

// RunTests runs the contract suite. newStore must return an empty,
// ready store and release it in t.Cleanup; it is called from parallel
// subtests.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Storage)
	}{
		{"Ping", testPing},
		{"DatabaseTime", testDatabaseTime},
		{"Users", testUsers},
		{"Organizations", testOrganizations},
		{"OrganizationBrand", testOrganizationBrand},
		{"MemberScoping", testMemberScoping},
		{"MemberList", testMemberList},
		{"MemberRules", testMemberRules},
		{"MemberLimit", testMemberLimit},
		{"MemberOperator", testMemberOperator},
		{"AccountList", testAccountList},
		{"AcceptInvitation", testAcceptInvitation},
		{"DormantList", testDormantList},
		{"MarkDormant", testMarkDormant},
		{"UnlockMembers", testUnlockMembers},
		{"CompleteLoginUnlocks", testCompleteLoginUnlocks},
		{"AlertRecipients", testAlertRecipients},
		{"MemberEnds", testMemberEnds},
		{"AuditOfMembers", testAuditOfMembers},
		{"UpdateUser", testUpdateUser},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"DeleteUser", testDeleteUser},
		{"TimeZone", testTimeZone},
		{"TimeComparison", testTimeComparison},
		{"AuthRequestRoundTrip", testAuthRequestRoundTrip},
		{"AuthRequestLookups", testAuthRequestLookups},
		{"UpdateAuthRequest", testUpdateAuthRequest},
		{"SetAuthCode", testSetAuthCode},
		{"CompleteLogin", testCompleteLogin},
		{"CompleteLoginUnknownRequest", testCompleteLoginUnknownRequest},
		{"CompleteLoginLastLogin", testCompleteLoginLastLogin},
		{"IssueTokens", testIssueTokens},
		{"IssueTokensAtomic", testIssueTokensAtomic},
		{"RefreshReuse", testRefreshReuse},
		{"RefreshGrant", testRefreshGrant},
		{"RevokeDuringRotation", testRevokeDuringRotation},
		{"ConcurrentCodeClaim", testConcurrentCodeClaim},
		{"ConcurrentRefreshRotation", testConcurrentRefreshRotation},
		{"AccessTokens", testAccessTokens},
		{"RefreshTokenRoundTrip", testRefreshTokenRoundTrip},
		{"RevokeRefreshFamily", testRevokeRefreshFamily},
		{"RevokeAuthRequestTokens", testRevokeAuthRequestTokens},
		{"Sessions", testSessions},
		{"RenewSession", testRenewSession},
		{"SessionOldCookieName", testSessionOldCookieName},
		{"SessionClients", testSessionClients},
		{"ActiveSessions", testActiveSessions},
		{"EndSession", testEndSession},
		{"EndSessionKeepOffline", testEndSessionKeepOffline},
		{"EndUserSessions", testEndUserSessions},
		{"EndExpiredSessions", testEndExpiredSessions},
		{"EndSessionConcurrent", testEndSessionConcurrent},
		{"LogoutDeliveries", testLogoutDeliveries},
		{"ClaimDeliveriesConcurrent", testClaimDeliveriesConcurrent},
		{"DeliveryFencing", testDeliveryFencing},
		{"RefreshDuringSignOut", testRefreshDuringSignOut},
		{"RenewEndedSession", testRenewEndedSession},
		{"MailOutbox", testMailOutbox},
		{"MailExpiry", testMailExpiry},
		{"OneTimeCodes", testOneTimeCodes},
		{"ChangePassword", testChangePassword},
		{"RenewCode", testRenewCode},
		{"ChangeEmail", testChangeEmail},
		{"CompleteLoginExtras", testCompleteLoginExtras},
		{"LegacyImport", testLegacyImport},
		{"LegacyImportMembers", testLegacyImportMembers},
		{"SigningKeys", testSigningKeys},
		{"SigningKeysAllRetired", testSigningKeysAllRetired},
		{"EnsureSigningKeyConcurrent", testEnsureSigningKeyConcurrent},
		{"AuditEvents", testAuditEvents},
		{"TakeAttempt", testTakeAttempt},
		{"TakeAttemptConcurrent", testTakeAttemptConcurrent},
		{"NoticeAtLimit", testNoticeAtLimit},
		{"CodeTries", testCodeTries},
		{"PasskeyHandles", testPasskeyHandles},
		{"Passkeys", testPasskeys},
		{"PasskeyCodes", testPasskeyCodes},
		{"UsePasskey", testUsePasskey},
		{"Ceremonies", testCeremonies},
		{"TOTP", testTOTP},
		{"GetFactors", testGetFactors},
		{"TOTPReplayConcurrent", testTOTPReplayConcurrent},
		{"RecoveryCodes", testRecoveryCodes},
		{"ResetFactors", testResetFactors},
		{"OrganizationMFAPolicy", testOrganizationMFAPolicy},
		{"DeleteExpired", testDeleteExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// t0 is the suite's "now". Times carry microseconds, the precision every
// backend must keep.
var t0 = time.Date(2025, 4, 1, 9, 0, 0, 123456000, time.UTC)

// errAbort is what update closures return to abort.
var errAbort = errors.New("storagetest: abort")

// cmpOpts treat nil and empty slices (and maps) as equal: backends need not
// tell them apart.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// diff fails the test when want and got differ.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// must fails the test now when err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails the test when err does not match target (nil: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// race runs fn n times at once and returns each run's error.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one run succeeded and every other failed
// with loss. It returns the winner's index.
func oneWinner(t *testing.T, errs []error, loss error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("runs %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loss):
			t.Errorf("run %d: error %v, want %v", i, err, loss)
		}
	}
	if winner < 0 {
		t.Fatalf("no run succeeded: %v", errs)
	}
	return winner
}

// Fixtures. Each returns a value with every field set, relative to t0.

func newUser(id, email string) storage.User {
	return storage.User{
		ID:                 id,
		OrganizationID:     storage.DefaultOrganizationID,
		Email:              email,
		EmailVerified:      true,
		Name:               "User " + id,
		PasswordHash:       "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		MustChangePassword: true,
		CreatedAt:          t0,
		UpdatedAt:          t0.Add(time.Minute),
	}
}

func newAuthRequest(id string) storage.AuthRequest {
	return storage.AuthRequest{
		ID:                  id,
		ClientID:            "client-1",
		RedirectURI:         "https://app.example.com/callback",
		Scopes:              []string{"openid", "email", "offline_access"},
		State:               "state-" + id,
		Nonce:               "nonce-" + id,
		ResponseType:        "code",
		ResponseMode:        "query",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		CreatedAt:           t0,
		ExpiresAt:           t0.Add(30 * time.Minute),
	}
}

func newAccessToken(id string) storage.AccessToken {
	return storage.AccessToken{
		ID:        id,
		ClientID:  "client-1",
		Subject:   "user-1",
		UserID:    "user-1",
		Audience:  []string{"client-1"},
		Scopes:    []string{"openid", "email"},
		SessionID: "session-1",
		CreatedAt: t0,
		ExpiresAt: t0.Add(time.Hour),
	}
}

func newRefreshToken(id, family string) storage.RefreshToken {
	return storage.RefreshToken{
		ID:              id,
		TokenHash:       "hash-" + id,
		FamilyID:        family,
		ClientID:        "client-1",
		UserID:          "user-1",
		SessionID:       "session-1",
		Scopes:          []string{"openid", "offline_access"},
		Audience:        []string{"client-1"},
		AMR:             []string{"pwd", "otp"},
		ACR:             "urn:sekisho:acr:mfa",
		AuthTime:        t0.Add(-time.Minute),
		CreatedAt:       t0,
		ExpiresAt:       t0.Add(24 * time.Hour),
		FamilyExpiresAt: t0.Add(30 * 24 * time.Hour),
	}
}

func newSession(id, userID string) storage.Session {
	return storage.Session{
		ID:                id,
		TokenHash:         "hash-" + id,
		UserID:            userID,
		AuthTime:          t0,
		AMR:               []string{"pwd"},
		ACR:               "urn:sekisho:acr:pwd",
		IP:                "192.0.2.1",
		UserAgent:         "Mozilla/5.0",
		CreatedAt:         t0,
		LastSeenAt:        t0,
		IdleExpiresAt:     t0.Add(2 * time.Hour),
		AbsoluteExpiresAt: t0.Add(24 * time.Hour),
	}
}

func newSigningKey(id string, created time.Time) storage.SigningKey {
	return storage.SigningKey{
		ID:                  id,
		Algorithm:           "RS256",
		PrivateKeyEncrypted: []byte("encrypted-" + id),
		PublicKey:           []byte{0x30, 0x82, 0x01, 0x22, byte(len(id))},
		CreatedAt:           created,
		ActivatesAt:         created,
	}
}

func testPing(t *testing.T, s storage.Storage) {
	must(t, s.Ping(t.Context()))
}

// testDatabaseTime: a database with a clock of its own reports it in UTC.
// The test databases run on this host, so it is this host's time (within
// a minute, for a loaded machine); the only test of the suite that reads
// the wall clock, because that is what the method is about.
func testDatabaseTime(t *testing.T, s storage.Storage) {
	before := time.Now()
	got, ok, err := s.DatabaseTime(t.Context())
	after := time.Now()
	must(t, err)
	if !ok {
		if !got.IsZero() {
			t.Errorf("DatabaseTime without a clock = %v, want the zero time", got)
		}
		return
	}
	if got.Location() != time.UTC || got.Before(before.Add(-time.Minute)) || got.After(after.Add(time.Minute)) {
		t.Errorf("DatabaseTime = %v, want this host's time (%v) in UTC", got, before)
	}
}
