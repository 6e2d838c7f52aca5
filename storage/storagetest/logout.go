package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// signedIn creates an active session of user and, for each client, a
// redeemed code with an access and a refresh token issued in it (which
// records the client with the session).
func signedIn(t *testing.T, s storage.Storage, sessionID, user string, clients ...string) {
	t.Helper()
	sess := newSession(sessionID, user)
	sess.IdleExpiresAt = t0.Add(10 * time.Hour)
	must(t, s.CreateSession(t.Context(), sess))
	for _, c := range clients {
		issueIn(t, s, sessionID, user, c, t0)
	}
}

// issueIn redeems a code of client in the session at now, with an access
// and a refresh token (which records the client with the session).
func issueIn(t *testing.T, s storage.Storage, sessionID, user, client string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	ar := newAuthRequest("ar-" + sessionID + "-" + client)
	ar.ClientID, ar.UserID, ar.SessionID, ar.AuthTime, ar.CompletedAt = client, user, sessionID, t0, new(t0)
	ar.CodeHash, ar.CodeExpiresAt = "code-"+ar.ID, now.Add(time.Minute)
	must(t, s.CreateAuthRequest(ctx, ar))
	at := newAccessToken("at-" + sessionID + "-" + client)
	at.ClientID, at.UserID, at.Subject, at.SessionID, at.AuthRequestID = client, user, user, sessionID, ar.ID
	rt := newRefreshToken("rt-"+sessionID+"-"+client, "f-"+sessionID+"-"+client)
	rt.ClientID, rt.UserID, rt.SessionID, rt.AuthRequestID = client, user, sessionID, ar.ID
	must(t, s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: ar.ID, AccessToken: at, RefreshToken: &rt, Now: now}))
}

// testActiveSessions: the account page's devices are the user's usable
// sessions, the last used first, each with its clients, the latest
// first; ended and expired sessions and other users' are left out.
func testActiveSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	signedIn(t, s, "d1", "u1", "app-a")
	issueIn(t, s, "d1", "u1", "app-b", t0.Add(time.Minute))
	must(t, s.TouchSession(ctx, "d1", t0.Add(30*time.Minute), t0.Add(3*time.Hour)))
	must(t, s.CreateSession(ctx, newSession("d2", "u1")))
	must(t, s.TouchSession(ctx, "d2", t0.Add(10*time.Minute), t0.Add(2*time.Hour)))
	signedIn(t, s, "d3", "u1", "app-a")
	if _, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "d3", Now: t0.Add(time.Minute), Reason: storage.EndLogout}); err != nil {
		t.Fatal(err)
	}
	idle := newSession("d4", "u1")
	idle.IdleExpiresAt = now
	must(t, s.CreateSession(ctx, idle))
	old := newSession("d5", "u1")
	old.AbsoluteExpiresAt = now.Add(-time.Second)
	must(t, s.CreateSession(ctx, old))
	signedIn(t, s, "d6", "u2", "app-a")

	get := func(id string) storage.Session {
		sess, err := s.GetSession(ctx, id)
		must(t, err)
		return sess
	}
	got, err := s.ListActiveSessions(ctx, "u1", now)
	must(t, err)
	diff(t, "ListActiveSessions(u1)", []storage.ActiveSession{
		{Session: get("d1"), Clients: []string{"app-b", "app-a"}},
		{Session: get("d2")},
	}, got)
	got, err = s.ListActiveSessions(ctx, "nobody", now)
	must(t, err)
	diff(t, "ListActiveSessions(nobody)", []storage.ActiveSession(nil), got)
}

// deliveriesOf returns the deliveries named by ids, as client:sid:sub:uri
// strings, sorted.
func deliveriesOf(t *testing.T, s storage.Storage, ids []string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		d, err := s.GetLogoutDelivery(t.Context(), id)
		must(t, err)
		if d.Status != storage.DeliveryPending || d.Attempts != 0 {
			t.Errorf("new delivery %s: status %q attempts %d, want pending, 0", id, d.Status, d.Attempts)
		}
		out = append(out, d.ClientID+":"+d.SessionID+":"+d.UserID+":"+d.URI+":"+d.Reason)
	}
	slices.Sort(out)
	return out
}

var backchannel = map[string]string{"app-a": "https://a.example/bcl", "app-b": "https://b.example/bcl"}

func testRenewSession(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a")
	now := t0.Add(time.Hour)
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar-again")))
	renewed := newSession("s1", "u1")
	renewed.TokenHash, renewed.AuthTime, renewed.AMR, renewed.ACR = "hash-renewed", now, []string{"pwd", "otp"}, "acr-2"
	renewed.LastSeenAt, renewed.IdleExpiresAt, renewed.AbsoluteExpiresAt = now, now.Add(time.Hour), now.Add(24*time.Hour)
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar-again", UserID: "u1", SessionID: "s1",
		AuthTime: now, Now: now, NewSession: &renewed}))
	got, err := s.GetSessionByTokenHash(ctx, "hash-renewed")
	must(t, err)
	want := renewed
	want.CreatedAt = t0 // the session is the same one
	diff(t, "renewed session", want, got)
	_, err = s.GetSessionByTokenHash(ctx, "hash-s1")
	wantErr(t, "old token hash", err, storage.ErrNotFound)
	checkAccessRevoked(t, s, "at-s1-app-a", nil) // the clients' tokens stay

	// Another user's session of the same id is never renewed.
	other := newSession("s1", "u2")
	other.TokenHash = "hash-other"
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar-other")))
	err = s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar-other", UserID: "u2", SessionID: "s1", Now: now, NewSession: &other})
	wantErr(t, "CompleteLogin(other user, same id)", err, storage.ErrAlreadyExists)
}

func testSessionClients(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-b", "app-a", "app-a2")
	// A second code of the same client in the session records it once.
	ar := newAuthRequest("ar-second")
	ar.ClientID, ar.UserID, ar.SessionID, ar.CompletedAt = "app-a", "u1", "s1", new(t0)
	ar.CodeHash, ar.CodeExpiresAt = "code-second", t0.Add(time.Minute)
	must(t, s.CreateAuthRequest(ctx, ar))
	at := newAccessToken("at-second")
	at.ClientID, at.SessionID = "app-a", "s1"
	must(t, s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar-second", AccessToken: at, Now: t0}))

	res, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: t0.Add(time.Hour), Reason: storage.EndLogout})
	must(t, err)
	if len(res.Ended) != 1 {
		t.Fatalf("ended %d sessions, want 1", len(res.Ended))
	}
	diff(t, "clients of s1", []string{"app-a", "app-a2", "app-b"}, res.Ended[0].Clients)

	// A code of an ended session issues nothing.
	ar.ID, ar.CodeHash = "ar-late", "code-late"
	must(t, s.CreateAuthRequest(ctx, ar))
	at.ID = "at-late"
	err = s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar-late", AccessToken: at, Now: t0.Add(2 * time.Hour)})
	wantErr(t, "IssueTokens(ended session)", err, storage.ErrConflict)
	_, err = s.GetAccessToken(ctx, "at-late")
	wantErr(t, "GetAccessToken(at-late)", err, storage.ErrNotFound)
	a, err := s.GetAuthRequest(ctx, "ar-late")
	must(t, err)
	if a.CodeUsedAt != nil {
		t.Error("code of an ended session was claimed")
	}
}

func testEndSession(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a", "app-b", "app-c")
	signedIn(t, s, "s2", "u1", "app-a")

	now := t0.Add(time.Hour)
	res, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout, Backchannel: backchannel})
	must(t, err)
	if len(res.Ended) != 1 || res.Ended[0].ID != "s1" || res.Ended[0].UserID != "u1" {
		t.Fatalf("ended = %+v, want s1 of u1", res.Ended)
	}
	diff(t, "ended session's EndedAt", &now, res.Ended[0].EndedAt)
	diff(t, "deliveries", []string{"app-a:s1:u1:https://a.example/bcl:logout", "app-b:s1:u1:https://b.example/bcl:logout"},
		deliveriesOf(t, s, res.Deliveries))
	checkSessionEnded(t, s, "s1", &now)
	for _, c := range []string{"app-a", "app-b", "app-c"} {
		checkAccessRevoked(t, s, "at-s1-"+c, &now)
		checkRefreshRevoked(t, s, "hash-rt-s1-"+c, &now)
	}
	checkSessionEnded(t, s, "s2", nil)
	checkAccessRevoked(t, s, "at-s2-app-a", nil)
	checkRefreshRevoked(t, s, "hash-rt-s2-app-a", nil)

	// Ending it again changes and announces nothing.
	res, err = s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now.Add(time.Hour), Reason: storage.EndLogout, Backchannel: backchannel})
	must(t, err)
	if len(res.Ended) != 0 || len(res.Deliveries) != 0 {
		t.Errorf("second end = %+v, want nothing", res)
	}
	checkSessionEnded(t, s, "s1", &now)

	_, err = s.EndSessions(ctx, storage.SessionEnd{SessionID: "nope", Now: now})
	wantErr(t, "EndSessions(missing)", err, storage.ErrNotFound)
	_, err = s.EndSessions(ctx, storage.SessionEnd{Now: now})
	if err == nil {
		t.Error("EndSessions without a selector: no error")
	}
}

func testEndSessionKeepOffline(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a", "app-b")
	now := t0.Add(time.Hour)
	_, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout, KeepOffline: []string{"app-b"}})
	must(t, err)
	checkRefreshRevoked(t, s, "hash-rt-s1-app-a", &now)
	checkRefreshRevoked(t, s, "hash-rt-s1-app-b", nil)
	checkAccessRevoked(t, s, "at-s1-app-b", &now)
}

func testEndUserSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a")
	signedIn(t, s, "s2", "u1", "app-a", "app-b")
	signedIn(t, s, "expired", "u1")
	must(t, s.TouchSession(ctx, "expired", t0, t0.Add(time.Minute)))
	signedIn(t, s, "other", "u2", "app-a")
	// A token of u1 outside any session (an older session's offline token).
	rt := newRefreshToken("rt-offline", "f-offline")
	rt.UserID, rt.SessionID = "u1", "gone"
	at := newAccessToken("at-offline")
	at.UserID, at.SessionID = "u1", "gone"
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))

	now := t0.Add(3 * time.Hour)
	res, err := s.EndSessions(ctx, storage.SessionEnd{UserID: "u1", Now: now, Reason: storage.EndPasswordReset,
		RevokeAllTokens: true, KeepOffline: []string{"app-a"}, Backchannel: backchannel})
	must(t, err)
	var ended []string
	for _, e := range res.Ended {
		ended = append(ended, e.ID)
	}
	slices.Sort(ended)
	diff(t, "ended sessions", []string{"expired", "s1", "s2"}, ended)
	diff(t, "deliveries", []string{
		"app-a:s1:u1:https://a.example/bcl:password_reset",
		"app-a:s2:u1:https://a.example/bcl:password_reset",
		"app-b:s2:u1:https://b.example/bcl:password_reset",
	}, deliveriesOf(t, s, res.Deliveries))
	for _, id := range []string{"s1-app-a", "s2-app-a", "s2-app-b", "offline"} {
		checkAccessRevoked(t, s, "at-"+id, &now)
		checkRefreshRevoked(t, s, "hash-rt-"+id, &now) // RevokeAllTokens overrides KeepOffline
	}
	checkSessionEnded(t, s, "other", nil)
	checkAccessRevoked(t, s, "at-other-app-a", nil)

	res, err = s.EndSessions(ctx, storage.SessionEnd{UserID: "u1", Now: now, Backchannel: backchannel})
	must(t, err)
	if len(res.Ended) != 0 || len(res.Deliveries) != 0 {
		t.Errorf("second end = %+v, want nothing", res)
	}
}

func testEndExpiredSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(5 * time.Hour)
	for i, x := range []struct {
		id             string
		idle, absolute time.Time
	}{
		{"idle", now.Add(-time.Minute), now.Add(time.Hour)},
		{"absolute", now.Add(time.Hour), now},
		{"alive", now.Add(time.Second), now.Add(time.Hour)},
		{"idle-older", now.Add(-time.Hour), now.Add(time.Hour)},
	} {
		signedIn(t, s, x.id, fmt.Sprintf("u%d", i), "app-a")
		must(t, s.TouchSession(ctx, x.id, t0, x.idle))
		if x.absolute != (time.Time{}) {
			// absolute expiry is fixed at creation; recreate through renewal
			sess, err := s.GetSession(ctx, x.id)
			must(t, err)
			sess.AbsoluteExpiresAt = x.absolute
			must(t, s.CreateAuthRequest(ctx, newAuthRequest("renew-"+x.id)))
			must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "renew-" + x.id, UserID: sess.UserID,
				SessionID: x.id, Now: t0, NewSession: &sess}))
		}
	}
	res, err := s.EndSessions(ctx, storage.SessionEnd{Expired: true, Limit: 2, Now: now, Reason: storage.EndTimeout, Backchannel: backchannel})
	must(t, err)
	var ended []string
	for _, e := range res.Ended {
		ended = append(ended, e.ID)
	}
	diff(t, "first batch (oldest idle expiry first)", []string{"idle-older", "idle"}, ended)
	if len(res.Deliveries) != 2 {
		t.Errorf("deliveries = %d, want 2", len(res.Deliveries))
	}
	res, err = s.EndSessions(ctx, storage.SessionEnd{Expired: true, Limit: 2, Now: now, Reason: storage.EndTimeout, Backchannel: backchannel})
	must(t, err)
	ended = ended[:0]
	for _, e := range res.Ended {
		ended = append(ended, e.ID)
	}
	diff(t, "second batch", []string{"absolute"}, ended)
	checkSessionEnded(t, s, "alive", nil)
	checkAccessRevoked(t, s, "at-idle-app-a", &now)
}

// testEndSessionConcurrent ends one session from several goroutines (or
// replicas): it is announced once.
func testEndSessionConcurrent(t *testing.T, s storage.Storage) {
	signedIn(t, s, "s1", "u1", "app-a", "app-b")
	var mu sync.Mutex
	var deliveries []string
	errs := race(6, func(i int) error {
		e := storage.SessionEnd{SessionID: "s1", Now: t0.Add(time.Hour), Reason: storage.EndLogout, Backchannel: backchannel}
		if i%2 == 1 {
			e = storage.SessionEnd{Expired: true, Now: t0.Add(48 * time.Hour), Reason: storage.EndTimeout, Backchannel: backchannel}
		}
		res, err := s.EndSessions(t.Context(), e)
		mu.Lock()
		deliveries = append(deliveries, res.Deliveries...)
		mu.Unlock()
		return err
	})
	for _, err := range errs {
		must(t, err)
	}
	if len(deliveries) != 2 {
		t.Errorf("concurrent ends wrote %d deliveries, want 2", len(deliveries))
	}
}

func testLogoutDeliveries(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a", "app-b")
	signedIn(t, s, "s2", "u2", "app-a")
	now := t0.Add(time.Hour)
	r1, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout, Backchannel: backchannel})
	must(t, err)
	r2, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s2", Now: now.Add(time.Second), Reason: storage.EndLogout, Backchannel: backchannel})
	must(t, err)
	lease := now.Add(10 * time.Minute)
	queue, err := s.LogoutQueue(ctx)
	must(t, err)
	diff(t, "queue", storage.QueueStats{ByStatus: map[string]int{storage.DeliveryPending: 3}, OldestPending: now}, queue)

	// Claim by id: only those, an attempt counted, leased.
	got, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{IDs: r2.Deliveries, Now: now, Lease: lease})
	must(t, err)
	if len(got) != 1 || got[0].ID != r2.Deliveries[0] || got[0].Attempts != 1 || got[0].ClaimedUntil == nil || !got[0].ClaimedUntil.Equal(lease) {
		t.Fatalf("claim by id = %+v", got)
	}
	// A leased delivery is not claimed again, by id or as due.
	again, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{IDs: r2.Deliveries, Now: now, Lease: lease})
	must(t, err)
	if len(again) != 0 {
		t.Errorf("leased delivery claimed again: %+v", again)
	}
	due, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{Now: now.Add(2 * time.Second), Lease: lease, Limit: 1})
	must(t, err)
	if len(due) != 1 || !slices.Contains(r1.Deliveries, due[0].ID) {
		t.Fatalf("due claim = %+v, want one of s1's", due)
	}
	// Retry later: not due before NextAttemptAt.
	retryAt := now.Add(time.Minute)
	must(t, s.FinishLogoutDelivery(ctx, due[0].ID, storage.DeliveryOutcome{Now: now, NextAttemptAt: retryAt, Error: "HTTP 503"}))
	d, err := s.GetLogoutDelivery(ctx, due[0].ID)
	must(t, err)
	if d.Status != storage.DeliveryPending || d.LastError != "HTTP 503" || d.ClaimedUntil != nil || !d.NextAttemptAt.Equal(retryAt) {
		t.Errorf("after retry outcome: %+v", d)
	}
	rest, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{Now: now.Add(30 * time.Second), Lease: lease})
	must(t, err)
	if len(rest) != 1 || rest[0].ID == due[0].ID {
		t.Fatalf("claim before retry time = %+v, want only the other s1 delivery", rest)
	}
	// Expired lease: claimable again (a worker died).
	late, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{IDs: r2.Deliveries, Now: lease, Lease: lease.Add(time.Minute)})
	must(t, err)
	if len(late) != 1 || late[0].Attempts != 2 {
		t.Fatalf("claim after lease = %+v, want attempt 2", late)
	}

	must(t, s.FinishLogoutDelivery(ctx, late[0].ID, storage.DeliveryOutcome{Now: lease, Delivered: true}))
	must(t, s.FinishLogoutDelivery(ctx, rest[0].ID, storage.DeliveryOutcome{Now: lease, Final: true, Error: "HTTP 400"}))
	wantErr(t, "FinishLogoutDelivery(missing)", s.FinishLogoutDelivery(ctx, "nope", storage.DeliveryOutcome{Now: lease}), storage.ErrNotFound)
	d, err = s.GetLogoutDelivery(ctx, late[0].ID)
	must(t, err)
	if d.Status != storage.DeliveryDelivered || d.FinishedAt == nil || !d.FinishedAt.Equal(lease) {
		t.Errorf("delivered: %+v", d)
	}
	// Finished deliveries are never claimed.
	none, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{IDs: []string{late[0].ID, rest[0].ID}, Now: lease.Add(time.Hour), Lease: lease.Add(2 * time.Hour)})
	must(t, err)
	if len(none) != 0 {
		t.Errorf("finished deliveries claimed: %+v", none)
	}

	// The queue: one delivery of s1 still pending since s1 ended.
	queue, err = s.LogoutQueue(ctx)
	must(t, err)
	diff(t, "queue", storage.QueueStats{ByStatus: map[string]int{storage.DeliveryPending: 1, storage.DeliveryDelivered: 1,
		storage.DeliveryFailed: 1}, OldestPending: now}, queue)
	failed, err := s.ListLogoutDeliveries(ctx, storage.DeliveryFilter{Status: storage.DeliveryFailed})
	must(t, err)
	if len(failed) != 1 || failed[0].LastError != "HTTP 400" || failed[0].ClientID == "" {
		t.Errorf("failed list = %+v", failed)
	}
	all, err := s.ListLogoutDeliveries(ctx, storage.DeliveryFilter{})
	must(t, err)
	if len(all) != 3 || all[0].SessionID != "s2" {
		t.Errorf("list = %d deliveries, first of %q; want 3, newest (s2) first", len(all), all[0].SessionID)
	}

	// Finished deliveries go a week after they finished.
	_, err = s.DeleteExpired(ctx, lease.Add(6*24*time.Hour))
	must(t, err)
	if all, _ := s.ListLogoutDeliveries(ctx, storage.DeliveryFilter{}); len(all) != 3 {
		t.Errorf("after 6 days: %d deliveries, want 3", len(all))
	}
	_, err = s.DeleteExpired(ctx, lease.Add(8*24*time.Hour))
	must(t, err)
	all, err = s.ListLogoutDeliveries(ctx, storage.DeliveryFilter{})
	must(t, err)
	if len(all) != 1 || all[0].Status != storage.DeliveryPending {
		t.Errorf("after 8 days: %+v, want only the pending one", all)
	}
}

// testClaimDeliveriesConcurrent: workers claiming at once never share a
// delivery.
func testClaimDeliveriesConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	clients := make([]string, 12)
	bc := map[string]string{}
	for i := range clients {
		clients[i] = fmt.Sprintf("app-%02d", i)
		bc[clients[i]] = "https://" + clients[i] + ".example/bcl"
	}
	signedIn(t, s, "s1", "u1", clients...)
	now := t0.Add(time.Hour)
	res, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout, Backchannel: bc})
	must(t, err)
	if len(res.Deliveries) != 12 {
		t.Fatalf("deliveries = %d, want 12", len(res.Deliveries))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	errs := race(4, func(int) error {
		for {
			got, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{Now: now, Lease: now.Add(time.Minute), Limit: 2})
			if err != nil || len(got) == 0 {
				return err
			}
			mu.Lock()
			for _, d := range got {
				seen[d.ID]++
			}
			mu.Unlock()
		}
	})
	for _, err := range errs {
		must(t, err)
	}
	if len(seen) != 12 {
		t.Errorf("claimed %d distinct deliveries, want 12", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times", id, n)
		}
	}
}

// testDeliveryFencing: an outcome is recorded only under the claim it was
// made in, and a sign-out can claim its own deliveries as it writes them.
func testDeliveryFencing(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a")
	now := t0.Add(time.Hour)
	lease := now.Add(time.Minute)
	res, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout,
		Backchannel: backchannel, ClaimUntil: lease})
	must(t, err)
	if len(res.Claimed) != 1 || res.Claimed[0].Attempts != 1 || res.Claimed[0].ClaimedUntil == nil || !res.Claimed[0].ClaimedUntil.Equal(lease) {
		t.Fatalf("claimed = %+v, want one delivery claimed until %v", res.Claimed, lease)
	}
	if got, _ := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{Now: now, Lease: lease}); len(got) != 0 {
		t.Errorf("a poller took a delivery the sign-out claimed: %+v", got)
	}
	// The first claimer's lease runs out; a second claimer delivers.
	second := lease.Add(time.Minute)
	got, err := s.ClaimLogoutDeliveries(ctx, storage.DeliveryClaim{Now: lease, Lease: second})
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("claim after the lease = %d rows, want 1", len(got))
	}
	must(t, s.FinishLogoutDelivery(ctx, got[0].ID, storage.DeliveryOutcome{Now: lease, Delivered: true, ClaimedUntil: second}))
	// The first claimer's late outcome changes nothing.
	err = s.FinishLogoutDelivery(ctx, got[0].ID, storage.DeliveryOutcome{Now: lease, Final: true, Error: "HTTP 400", ClaimedUntil: lease})
	wantErr(t, "stale FinishLogoutDelivery", err, storage.ErrConflict)
	d, err := s.GetLogoutDelivery(ctx, got[0].ID)
	must(t, err)
	if d.Status != storage.DeliveryDelivered || d.LastError != "" {
		t.Errorf("after a stale outcome: %+v, want delivered", d)
	}
}

// testRenewEndedSession: a sign-in that meant to renew a session which
// ended meanwhile gets a new sid; the spent one is never brought back.
func testRenewEndedSession(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	signedIn(t, s, "s1", "u1", "app-a")
	now := t0.Add(time.Hour)
	_, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: "s1", Now: now, Reason: storage.EndLogout})
	must(t, err)
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar-renew")))
	sess := newSession("s1", "u1")
	sess.TokenHash = "hash-fresh"
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar-renew", UserID: "u1", SessionID: "s1", Now: now, NewSession: &sess}))
	a, err := s.GetAuthRequest(ctx, "ar-renew")
	must(t, err)
	if a.SessionID == "s1" || a.SessionID == "" {
		t.Fatalf("auth request session = %q, want a new sid", a.SessionID)
	}
	fresh, err := s.GetSessionByTokenHash(ctx, "hash-fresh")
	must(t, err)
	if fresh.ID != a.SessionID || !fresh.Active(now) {
		t.Errorf("new session = %+v, want active with the auth request's sid", fresh)
	}
	checkSessionEnded(t, s, "s1", &now)
}

// testRefreshDuringSignOut: a refresh racing a sign-out never leaves
// working tokens in the ended session.
func testRefreshDuringSignOut(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for i := range 20 {
		sid := fmt.Sprintf("s%d", i)
		signedIn(t, s, sid, "u1", "app-a")
		next := newRefreshToken("next-"+sid, "f-"+sid+"-app-a")
		next.SessionID, next.ClientID, next.UserID = sid, "app-a", "u1"
		at := newAccessToken("at-next-" + sid)
		at.SessionID, at.ClientID, at.UserID = sid, "app-a", "u1"
		now := t0.Add(time.Minute)
		errs := race(2, func(j int) error {
			if j == 0 {
				return s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: "hash-rt-" + sid + "-app-a", AccessToken: at, RefreshToken: &next, Now: now})
			}
			_, err := s.EndSessions(ctx, storage.SessionEnd{SessionID: sid, Now: now, Reason: storage.EndLogout})
			return err
		})
		must(t, errs[1])
		if errs[0] != nil {
			wantErr(t, "rotation", errs[0], storage.ErrAlreadyUsed)
			continue
		}
		if got, err := s.GetAccessToken(ctx, at.ID); err != nil || got.Active(now) {
			t.Errorf("%s: the access token of a refresh racing the sign-out is active (%v)", sid, err)
		}
		if got, err := s.GetRefreshToken(ctx, next.TokenHash); err != nil || got.Active(now) {
			t.Errorf("%s: the refresh token of a refresh racing the sign-out is active (%v)", sid, err)
		}
	}
}
