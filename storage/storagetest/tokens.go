package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// issuedRequest creates an auth request whose code was issued and not yet
// redeemed.
func issuedRequest(t *testing.T, s storage.Storage, id string) storage.AuthRequest {
	t.Helper()
	a := newAuthRequest(id)
	a.UserID, a.SessionID, a.AuthTime, a.CompletedAt = "user-1", "session-1", t0, new(t0)
	a.CodeHash, a.CodeExpiresAt = "code-"+id, t0.Add(time.Minute)
	must(t, s.CreateAuthRequest(t.Context(), a))
	if err := s.CreateSession(t.Context(), newSession("session-1", "user-1")); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatal(err)
	}
	return a
}

func testIssueTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	issuedRequest(t, s, "ar1")
	now := t0.Add(10 * time.Second)

	at1 := newAccessToken("at1")
	at1.AuthRequestID, at1.RefreshFamilyID = "ar1", "f1"
	rt1 := newRefreshToken("rt1", "f1")
	rt1.AuthRequestID = "ar1"
	must(t, s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar1", AccessToken: at1, RefreshToken: &rt1, Now: now}))

	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	diff(t, "CodeUsedAt", &now, got.CodeUsedAt)
	gotAT, err := s.GetAccessToken(ctx, "at1")
	must(t, err)
	diff(t, "access token", at1, gotAT)
	gotRT, err := s.GetRefreshToken(ctx, rt1.TokenHash)
	must(t, err)
	diff(t, "refresh token", rt1, gotRT)

	// Rotation: rt1 → rt2.
	later := now.Add(time.Hour)
	at2 := newAccessToken("at2")
	at2.RefreshFamilyID = "f1"
	rt2 := newRefreshToken("rt2", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: rt1.TokenHash, AccessToken: at2, RefreshToken: &rt2, Now: later}))
	gotRT, err = s.GetRefreshToken(ctx, rt1.TokenHash)
	must(t, err)
	diff(t, "rotated UsedAt", &later, gotRT.UsedAt)
	if gotRT.Active(later) {
		t.Error("used refresh token is still Active")
	}

	// A revoked link cannot be rotated either.
	rt3 := newRefreshToken("rt3", "f3")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("at3"), RefreshToken: &rt3, Now: now}))
	must(t, s.RevokeRefreshFamily(ctx, "f3", now))

	tests := []struct {
		name  string
		issue storage.TokenIssue
		want  error
	}{
		{"code replay", storage.TokenIssue{ClaimCodeOf: "ar1"}, storage.ErrAlreadyUsed},
		{"unknown auth request", storage.TokenIssue{ClaimCodeOf: "nope"}, storage.ErrNotFound},
		{"used refresh token", storage.TokenIssue{RotateFromHash: rt1.TokenHash}, storage.ErrAlreadyUsed},
		{"revoked refresh token", storage.TokenIssue{RotateFromHash: rt3.TokenHash}, storage.ErrAlreadyUsed},
		{"unknown refresh token", storage.TokenIssue{RotateFromHash: "nope"}, storage.ErrNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("fail-%d", i)
			rt := newRefreshToken(id, id)
			tt.issue.AccessToken, tt.issue.RefreshToken, tt.issue.Now = newAccessToken(id), &rt, later
			wantErr(t, "IssueTokens", s.IssueTokens(ctx, tt.issue), tt.want)
			_, err := s.GetAccessToken(ctx, id)
			wantErr(t, "access token of a failed issue", err, storage.ErrNotFound)
			_, err = s.GetRefreshToken(ctx, rt.TokenHash)
			wantErr(t, "refresh token of a failed issue", err, storage.ErrNotFound)
		})
	}

	t.Run("client credentials", func(t *testing.T) {
		at := storage.AccessToken{ID: "cc1", ClientID: "machine", Subject: "machine", Scopes: []string{"api"}, CreatedAt: now, ExpiresAt: later}
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, Now: now}))
		got, err := s.GetAccessToken(ctx, "cc1")
		must(t, err)
		diff(t, "access token", at, got)
	})
}

// testIssueTokensAtomic checks that a failed insert undoes the claim.
func testIssueTokensAtomic(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	issuedRequest(t, s, "ar1")
	rt := newRefreshToken("rt1", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("taken"), RefreshToken: &rt, Now: t0}))

	err := s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar1", AccessToken: newAccessToken("taken"), Now: t0})
	wantErr(t, "IssueTokens(duplicate access token)", err, storage.ErrAlreadyExists)
	dup := newRefreshToken("rt2", "f2")
	dup.TokenHash = rt.TokenHash
	err = s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: rt.TokenHash, AccessToken: newAccessToken("at2"), RefreshToken: &dup, Now: t0})
	wantErr(t, "IssueTokens(duplicate refresh hash)", err, storage.ErrAlreadyExists)

	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	diff(t, "CodeUsedAt after a failed issue", (*time.Time)(nil), got.CodeUsedAt)
	gotRT, err := s.GetRefreshToken(ctx, rt.TokenHash)
	must(t, err)
	diff(t, "UsedAt after a failed issue", (*time.Time)(nil), gotRT.UsedAt)
	_, err = s.GetAccessToken(ctx, "at2")
	wantErr(t, "GetAccessToken(at2)", err, storage.ErrNotFound)

	// The code is still redeemable.
	must(t, s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: "ar1", AccessToken: newAccessToken("at3"), Now: t0}))
}

const racers = 16

func testConcurrentCodeClaim(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	issuedRequest(t, s, "ar1")
	errs := race(racers, func(i int) error {
		rt := newRefreshToken(fmt.Sprintf("rt%d", i), fmt.Sprintf("f%d", i))
		return s.IssueTokens(ctx, storage.TokenIssue{
			ClaimCodeOf:  "ar1",
			AccessToken:  newAccessToken(fmt.Sprintf("at%d", i)),
			RefreshToken: &rt,
			Now:          t0.Add(time.Duration(i) * time.Millisecond),
		})
	})
	winner := oneWinner(t, errs, storage.ErrAlreadyUsed)
	checkOnlyWinnerWrote(t, s, winner)
}

func testConcurrentRefreshRotation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	parent := newRefreshToken("parent", "f")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("parent-at"), RefreshToken: &parent, Now: t0}))
	errs := race(racers, func(i int) error {
		rt := newRefreshToken(fmt.Sprintf("rt%d", i), "f")
		return s.IssueTokens(ctx, storage.TokenIssue{
			RotateFromHash: parent.TokenHash,
			AccessToken:    newAccessToken(fmt.Sprintf("at%d", i)),
			RefreshToken:   &rt,
			Now:            t0.Add(time.Duration(i) * time.Millisecond),
		})
	})
	winner := oneWinner(t, errs, storage.ErrAlreadyUsed)
	checkOnlyWinnerWrote(t, s, winner)
	got, err := s.GetRefreshToken(ctx, parent.TokenHash)
	must(t, err)
	diff(t, "parent UsedAt", new(t0.Add(time.Duration(winner)*time.Millisecond)), got.UsedAt)
}

// checkOnlyWinnerWrote checks that of the racers' tokens (at<i>, rt<i>)
// only the winner's exist.
func checkOnlyWinnerWrote(t *testing.T, s storage.Storage, winner int) {
	t.Helper()
	for i := range racers {
		var want error
		if i != winner {
			want = storage.ErrNotFound
		}
		_, err := s.GetAccessToken(t.Context(), fmt.Sprintf("at%d", i))
		wantErr(t, fmt.Sprintf("GetAccessToken(at%d)", i), err, want)
		_, err = s.GetRefreshToken(t.Context(), fmt.Sprintf("hash-rt%d", i))
		wantErr(t, fmt.Sprintf("GetRefreshToken(rt%d)", i), err, want)
	}
}

func testAccessTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	at := newAccessToken("at1")
	at.RefreshFamilyID, at.AuthRequestID = "f1", "ar1"
	must(t, s.CreateAccessToken(ctx, at))
	wantErr(t, "CreateAccessToken(duplicate)", s.CreateAccessToken(ctx, at), storage.ErrAlreadyExists)

	got, err := s.GetAccessToken(ctx, "at1")
	must(t, err)
	diff(t, "GetAccessToken", at, got)
	if !got.Active(t0) || got.Active(at.ExpiresAt) {
		t.Error("Active wrong around ExpiresAt")
	}
	_, err = s.GetAccessToken(ctx, "nope")
	wantErr(t, "GetAccessToken(missing)", err, storage.ErrNotFound)

	first, second := t0.Add(time.Minute), t0.Add(2*time.Minute)
	must(t, s.RevokeAccessToken(ctx, "at1", first))
	must(t, s.RevokeAccessToken(ctx, "at1", second)) // idempotent
	checkAccessRevoked(t, s, "at1", &first)
	wantErr(t, "RevokeAccessToken(missing)", s.RevokeAccessToken(ctx, "nope", first), storage.ErrNotFound)
}

func testRefreshTokenRoundTrip(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	full := newRefreshToken("full", "f1")
	full.AuthRequestID = "ar1"
	full.UsedAt, full.RevokedAt = new(t0.Add(time.Minute)), new(t0.Add(2*time.Minute))
	bare := storage.RefreshToken{ID: "bare", TokenHash: "hash-bare", FamilyID: "f2", ClientID: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), FamilyExpiresAt: t0.Add(time.Hour)}
	for _, rt := range []storage.RefreshToken{full, bare} {
		t.Run(rt.ID, func(t *testing.T) {
			must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("at-" + rt.ID), RefreshToken: &rt, Now: t0}))
			got, err := s.GetRefreshToken(ctx, rt.TokenHash)
			must(t, err)
			diff(t, "GetRefreshToken", rt, got)
		})
	}
	_, err := s.GetRefreshToken(ctx, "nope")
	wantErr(t, "GetRefreshToken(missing)", err, storage.ErrNotFound)
}

func testRevokeRefreshFamily(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	// Family f1: rt1 (used) → rt2, with an access token from each step;
	// family f2 is another login of the same user.
	for _, link := range []struct{ rt, at, family string }{{"rt1", "at1", "f1"}, {"rt2", "at2", "f1"}, {"rt3", "at3", "f2"}} {
		rt := newRefreshToken(link.rt, link.family)
		at := newAccessToken(link.at)
		at.RefreshFamilyID = link.family
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))
	}
	must(t, s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: "hash-rt1", AccessToken: newAccessToken("unrelated"), Now: t0}))

	now := t0.Add(time.Hour)
	must(t, s.RevokeRefreshFamily(ctx, "f1", now))
	must(t, s.RevokeRefreshFamily(ctx, "f1", now.Add(time.Hour))) // idempotent
	must(t, s.RevokeRefreshFamily(ctx, "unknown", now))
	checkRefreshRevoked(t, s, "hash-rt1", &now)
	checkRefreshRevoked(t, s, "hash-rt2", &now)
	checkAccessRevoked(t, s, "at1", &now)
	checkAccessRevoked(t, s, "at2", &now)
	checkRefreshRevoked(t, s, "hash-rt3", nil)
	checkAccessRevoked(t, s, "at3", nil)
	checkAccessRevoked(t, s, "unrelated", nil)
}

func testRevokeAuthRequestTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, ar := range []string{"ar1", "ar2"} {
		issuedRequest(t, s, ar)
		rt := newRefreshToken("rt-"+ar, "f-"+ar)
		rt.AuthRequestID = ar
		at := newAccessToken("at-" + ar)
		at.AuthRequestID, at.RefreshFamilyID = ar, rt.FamilyID
		must(t, s.IssueTokens(ctx, storage.TokenIssue{ClaimCodeOf: ar, AccessToken: at, RefreshToken: &rt, Now: t0}))
		// A refresh: the new tokens name only the family.
		next := newRefreshToken("rt2-"+ar, "f-"+ar)
		nextAT := newAccessToken("at2-" + ar)
		nextAT.RefreshFamilyID = rt.FamilyID
		must(t, s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: rt.TokenHash, AccessToken: nextAT, RefreshToken: &next, Now: t0}))
	}

	now := t0.Add(time.Minute)
	must(t, s.RevokeAuthRequestTokens(ctx, "ar1", now))
	must(t, s.RevokeAuthRequestTokens(ctx, "unknown", now))
	for _, tt := range []struct {
		ar   string
		want *time.Time
	}{{"ar1", &now}, {"ar2", nil}} {
		checkAccessRevoked(t, s, "at-"+tt.ar, tt.want)
		checkAccessRevoked(t, s, "at2-"+tt.ar, tt.want)
		checkRefreshRevoked(t, s, "hash-rt-"+tt.ar, tt.want)
		checkRefreshRevoked(t, s, "hash-rt2-"+tt.ar, tt.want)
	}
}

// testRefreshReuse: a rotated token names its successor, and a reuse
// issues an access token only while the rotation is recent, by the same
// client, and the successor is still usable.
func testRefreshReuse(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	rt1 := newRefreshToken("rt1", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("at1"), RefreshToken: &rt1, Now: t0}))
	rotated := t0.Add(time.Minute)
	rt2 := newRefreshToken("rt2", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: rt1.TokenHash, AccessToken: newAccessToken("at2"),
		RefreshToken: &rt2, Now: rotated}))
	got, err := s.GetRefreshToken(ctx, rt1.TokenHash)
	must(t, err)
	diff(t, "SuccessorHash of the rotated token", rt2.TokenHash, got.SuccessorHash)

	reuse := func(r storage.RefreshReuse, id string, now time.Time) error {
		at := newAccessToken(id)
		at.RefreshFamilyID = "f1"
		return s.IssueTokens(ctx, storage.TokenIssue{Reuse: &r, AccessToken: at, Now: now})
	}
	ok := storage.RefreshReuse{TokenHash: rt1.TokenHash, SuccessorHash: rt2.TokenHash, ClientID: "client-1", RotatedAfter: rotated.Add(-10 * time.Second)}
	tests := []struct {
		name   string
		modify func(*storage.RefreshReuse)
		want   error
	}{
		{"another client", func(r *storage.RefreshReuse) { r.ClientID = "client-2" }, storage.ErrAlreadyUsed},
		{"another successor", func(r *storage.RefreshReuse) { r.SuccessorHash = "hash-other" }, storage.ErrAlreadyUsed},
		{"rotated before the window", func(r *storage.RefreshReuse) { r.RotatedAfter = rotated.Add(time.Second) }, storage.ErrAlreadyUsed},
		{"an unrotated token", func(r *storage.RefreshReuse) { r.TokenHash = rt2.TokenHash }, storage.ErrAlreadyUsed},
		{"within the window", func(*storage.RefreshReuse) {}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.modify(&r)
			id := fmt.Sprintf("reuse-%d", i)
			wantErr(t, "IssueTokens(reuse)", reuse(r, id, rotated.Add(time.Second)), tt.want)
			_, err := s.GetAccessToken(ctx, id)
			if tt.want != nil {
				wantErr(t, "access token of a refused reuse", err, storage.ErrNotFound)
			} else {
				must(t, err)
			}
		})
	}
	// The successor's own rotation ends the grace of its parent.
	rt3 := newRefreshToken("rt3", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: rt2.TokenHash, AccessToken: newAccessToken("at3"),
		RefreshToken: &rt3, Now: rotated.Add(2 * time.Second)}))
	wantErr(t, "reuse after the successor rotated", reuse(ok, "late", rotated.Add(3*time.Second)), storage.ErrAlreadyUsed)
	// A reuse never brings a refresh token of its own.
	rt4 := newRefreshToken("rt4", "f1")
	err = s.IssueTokens(ctx, storage.TokenIssue{Reuse: &storage.RefreshReuse{TokenHash: rt2.TokenHash, SuccessorHash: rt3.TokenHash,
		ClientID: "client-1", RotatedAfter: t0}, AccessToken: newAccessToken("at4"), RefreshToken: &rt4, Now: rotated.Add(3 * time.Second)})
	if err == nil {
		t.Error("IssueTokens accepted a reuse with a refresh token")
	}
}

// testRevokeDuringRotation: a family revoked while its newest token is
// being rotated leaves no live token behind (the successor the rotation
// inserts is revoked too), however the two interleave.
func testRevokeDuringRotation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for round := range 20 {
		family := fmt.Sprintf("f%d", round)
		first := newRefreshToken(family+"-0", family)
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken(family + "-at0"), RefreshToken: &first, Now: t0}))
		errs := race(2, func(i int) error {
			if i == 1 {
				return s.RevokeRefreshFamily(ctx, family, t0.Add(time.Second))
			}
			prev := first
			for n := 1; n <= 5; n++ {
				next := newRefreshToken(fmt.Sprintf("%s-%d", family, n), family)
				at := newAccessToken(fmt.Sprintf("%s-at%d", family, n))
				at.RefreshFamilyID = family
				err := s.IssueTokens(ctx, storage.TokenIssue{RotateFromHash: prev.TokenHash, AccessToken: at, RefreshToken: &next, Now: t0})
				if errors.Is(err, storage.ErrAlreadyUsed) {
					return nil // revoked: the rotation stops
				}
				if err != nil {
					return err
				}
				prev = next
			}
			return nil
		})
		for _, err := range errs {
			must(t, err)
		}
		for n := 0; n <= 5; n++ {
			rt, err := s.GetRefreshToken(ctx, fmt.Sprintf("hash-%s-%d", family, n))
			if errors.Is(err, storage.ErrNotFound) {
				break
			}
			must(t, err)
			if rt.RevokedAt == nil {
				t.Fatalf("round %d: refresh token %d of the revoked family is live", round, n)
			}
			at, err := s.GetAccessToken(ctx, fmt.Sprintf("%s-at%d", family, n))
			if err == nil && n > 0 && at.RevokedAt == nil {
				t.Fatalf("round %d: access token %d of the revoked family is live", round, n)
			}
		}
	}
}

// testRefreshGrant: a refresh token is read with its account and the
// account's organization.
func testRefreshGrant(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	org := newOrg(t, s, "o1", "hotel")
	u := newMember("user-1", "o1", "alice@example.com", "front01", "staff")
	must(t, s.AddMember(ctx, storage.NewMember{User: u}))
	rt := newRefreshToken("rt1", "f1")
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("at1"), RefreshToken: &rt, Now: t0}))
	g, err := s.GetRefreshGrant(ctx, rt.TokenHash)
	must(t, err)
	wantUser, err := s.GetUser(ctx, "user-1")
	must(t, err)
	diff(t, "grant token", rt, g.Token)
	diff(t, "grant user", wantUser, g.User)
	diff(t, "grant organization", org, g.Organization)
	_, err = s.GetRefreshGrant(ctx, "hash-nope")
	wantErr(t, "GetRefreshGrant(unknown)", err, storage.ErrNotFound)
	// A token whose account is gone is no grant.
	orphan := newRefreshToken("rt2", "f2")
	orphan.UserID = "nobody"
	must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: newAccessToken("at2"), RefreshToken: &orphan, Now: t0}))
	_, err = s.GetRefreshGrant(ctx, orphan.TokenHash)
	wantErr(t, "GetRefreshGrant(orphan)", err, storage.ErrNotFound)
}
