// Package lifecycle decides when an account is dormant: locked after a
// period without an interactive sign-in, as the notices of B2B platforms
// promise their users, and when an administrator's unlock runs out.
//
// The period counts from the last interactive sign-in (a typed password,
// a completed reset or invitation: User.LastLoginAt) or from the
// account's creation, whichever is later. SSO reuse, refreshes and a
// remembered device do not count. An administrator's unlock lasts until
// 24:00 of that day in the organization's time zone without moving the
// clock: a sign-in before then moves LastLoginAt and so ends the lock for
// good; otherwise the account is dormant again at that moment.
package lifecycle

import (
	"time"

	"github.com/sekisho/sekisho/storage"
)

// Account is what the rule looks at.
type Account struct {
	CreatedAt     time.Time
	LastLoginAt   *time.Time
	UnlockedUntil *time.Time
}

// Of is the part of u the rule looks at.
func Of(u storage.User) Account {
	return Account{CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt, UnlockedUntil: u.UnlockedUntil}
}

// Locked reports whether u is locked at now by the rule with the period
// after (≤ 0: the lock is off): dormant, enabled and not invited (an
// invited account cannot sign in anyway, a disabled one is refused as
// such).
func Locked(u storage.User, now time.Time, after time.Duration) bool {
	return !u.Disabled && u.InvitedAt == nil && Dormant(Of(u), now, after)
}

// Since is when the idle period started: the later of the last
// interactive sign-in and the creation.
func (a Account) Since() time.Time {
	if a.LastLoginAt != nil && a.LastLoginAt.After(a.CreatedAt) {
		return *a.LastLoginAt
	}
	return a.CreatedAt
}

// Dormant reports whether the account is locked at now after a period of
// after without an interactive sign-in (after ≤ 0: the lock is off).
func Dormant(a Account, now time.Time, after time.Duration) bool {
	if after <= 0 || now.Sub(a.Since()) < after {
		return false
	}
	return a.UnlockedUntil == nil || !now.Before(*a.UnlockedUntil)
}

// DormantSince is when the account became (or becomes) dormant: the end
// of its idle period.
func DormantSince(a Account, after time.Duration) time.Time {
	return a.Since().Add(after)
}

// EndOfDay is 24:00 of t's day in loc: the next midnight there, as an
// instant. It handles days of 23 or 25 hours (daylight saving).
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}
