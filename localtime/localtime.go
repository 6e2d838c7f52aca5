// Package localtime shows times to people: in the time zone of their
// organization (an IANA name, organizations.default_time_zone by
// default), with the zone named, in the page's or the mail's language.
// Every page and mail that prints a time goes through Format, so all of
// them read the same way:
//
//	en  2026-12-05 14:03 (JST)
//	ja  2026年12月5日 14:03（日本時間）
package localtime

import (
	"strings"
	"time"
)

// Location loads the IANA time zone name ("Asia/Tokyo"); an empty or
// unknown name gives UTC, which Format names, so a time is never shown
// in a zone it does not say.
func Location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// layouts are the date and time layouts by language code, without the
// zone.
var layouts = map[string]string{
	"en": "2006-01-02 15:04",
	"ja": "2006年1月2日 15:04",
}

// zoneNames name zone abbreviations in Japanese words.
var zoneNames = map[string]string{"JST": "日本時間"}

// Format prints t in its own location (convert it with In first) for
// the language code ("ja"; anything else prints in English), with the
// zone named: its abbreviation ("JST", "UTC"), "UTC+07" for a zone that
// has none, and in Japanese 日本時間 for Japan Standard Time.
func Format(lang string, t time.Time) string {
	zone := t.Format("MST")
	if strings.HasPrefix(zone, "+") || strings.HasPrefix(zone, "-") {
		zone = "UTC" + zone
	}
	if lang == "ja" {
		if name, ok := zoneNames[zone]; ok {
			zone = name
		}
		return t.Format(layouts["ja"]) + "（" + zone + "）"
	}
	return t.Format(layouts["en"]) + " (" + zone + ")"
}
