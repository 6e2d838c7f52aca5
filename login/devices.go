package login

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sekisho/sekisho/storage"
)

// ErrSessionGone: the session to sign out of has ended, is not the
// account's, or is the browser's own (which signs out at /logout).
var ErrSessionGone = errors.New("login: the session has ended")

// Device is one browser signed in to the account: a session that may
// still be used.
type Device struct {
	storage.ActiveSession
	// Current is the session of the browser asking.
	Current bool
}

// Devices lists the browsers signed in to the account: this one first,
// then the last used first.
func (f *Flow) Devices(ctx context.Context, acct Account) ([]Device, error) {
	sessions, err := f.c.Store.ListActiveSessions(ctx, acct.User.ID, f.c.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("login: list sessions: %w", err)
	}
	out := make([]Device, 0, len(sessions))
	for _, s := range sessions {
		if s.ID == acct.Session.ID {
			out = append([]Device{{ActiveSession: s, Current: true}}, out...)
		} else {
			out = append(out, Device{ActiveSession: s})
		}
	}
	return out, nil
}

// SignOutSession ends another of the account's sessions (a browser on
// another device), as a sign-out there would: its tokens are revoked
// (offline ones of keep_offline_tokens_on_logout clients excepted) and
// the clients that received tokens in it, and only those, are told by
// back-channel logout. The account's other sessions stay.
func (f *Flow) SignOutSession(ctx context.Context, acct Account, sessionID, ip string) (storage.SessionEndResult, error) {
	if sessionID == "" || sessionID == acct.Session.ID {
		return storage.SessionEndResult{}, ErrSessionGone
	}
	devices, err := f.c.Store.ListActiveSessions(ctx, acct.User.ID, f.c.Now().UTC())
	if err != nil {
		return storage.SessionEndResult{}, fmt.Errorf("login: list sessions: %w", err)
	}
	if !slices.ContainsFunc(devices, func(s storage.ActiveSession) bool { return s.ID == sessionID }) {
		return storage.SessionEndResult{}, ErrSessionGone
	}
	now := f.c.Now().UTC()
	res, err := f.c.Sessions.EndAndClaim(ctx, storage.SessionEnd{SessionID: sessionID, Now: now, Reason: storage.EndLogout})
	if err != nil {
		return res, fmt.Errorf("login: end session: %w", err)
	}
	if len(res.Ended) == 0 {
		return res, ErrSessionGone
	}
	f.audit(ctx, storage.AuditEvent{Type: "logout", OrganizationID: acct.User.OrganizationID, UserID: acct.User.ID, IP: ip, Outcome: "success", Detail: "device"}, now)
	return res, nil
}
