package lifecycle

import (
	"testing"
	"time"
)

func TestDormant(t *testing.T) {
	day := 24 * time.Hour
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := created.Add(d); return &v }
	tests := []struct {
		name string
		a    Account
		now  time.Time
		want bool
	}{
		{"new account, 89 days", Account{CreatedAt: created}, created.Add(89 * day), false},
		{"new account, 90 days", Account{CreatedAt: created}, created.Add(90 * day), true},
		{"signed in on day 10, day 99", Account{CreatedAt: created, LastLoginAt: at(10 * day)}, created.Add(99 * day), false},
		{"signed in on day 10, day 100", Account{CreatedAt: created, LastLoginAt: at(10 * day)}, created.Add(100 * day), true},
		{"a sign-in before the creation is ignored", Account{CreatedAt: created, LastLoginAt: at(-5 * day)}, created.Add(89 * day), false},
		{"unlocked until later", Account{CreatedAt: created, UnlockedUntil: at(100 * day)}, created.Add(99 * day), false},
		{"unlock ran out", Account{CreatedAt: created, UnlockedUntil: at(100 * day)}, created.Add(100 * day), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Dormant(tt.a, tt.now, 90*day); got != tt.want {
				t.Errorf("Dormant = %v, want %v", got, tt.want)
			}
		})
	}
	if Dormant(Account{CreatedAt: created}, created.Add(1000*day), 0) {
		t.Error("Dormant with the lock off")
	}
}

func TestEndOfDay(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		t    time.Time
		loc  *time.Location
		want time.Time
	}{
		// 10:00 in Tokyo is 01:00 UTC; 24:00 Tokyo is 15:00 UTC.
		{"Tokyo morning", time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC), tokyo, time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)},
		// 23:30 UTC on the 4th is 08:30 on the 5th in Tokyo.
		{"Tokyo, next day already", time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC), tokyo, time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)},
		{"UTC", time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), time.UTC, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
		// The day daylight saving starts has 23 hours in New York.
		{"New York, DST start", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), ny, time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EndOfDay(tt.t, tt.loc); !got.Equal(tt.want) {
				t.Errorf("EndOfDay = %v, want %v", got.UTC(), tt.want)
			}
		})
	}
}
