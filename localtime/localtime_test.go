package localtime

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, 12, 5, 5, 3, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone, lang, want string
	}{
		{"Asia/Tokyo", "ja", "2026年12月5日 14:03（日本時間）"},
		{"Asia/Tokyo", "en", "2026-12-05 14:03 (JST)"},
		{"America/New_York", "ja", "2026年12月5日 00:03（EST）"},
		{"America/New_York", "en", "2026-12-05 00:03 (EST)"},
		{"UTC", "ja", "2026年12月5日 05:03（UTC）"},
		{"Asia/Ho_Chi_Minh", "en", "2026-12-05 12:03 (UTC+07)"},
		{"", "en", "2026-12-05 05:03 (UTC)"},
		{"Not/A_Zone", "fr", "2026-12-05 05:03 (UTC)"},
	} {
		t.Run(tc.zone+"/"+tc.lang, func(t *testing.T) {
			if got := Format(tc.lang, at.In(Location(tc.zone))); got != tc.want {
				t.Errorf("Format(%s, %s) = %q, want %q", tc.lang, tc.zone, got, tc.want)
			}
		})
	}
}
