package login

import "strings"

// BrowserSummary names the browser and system of a User-Agent header
// briefly, as "Firefox (Windows)", for mails and the account page. It
// never returns the raw header.
func BrowserSummary(ua string) string {
	browser := "?"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	if system == "" {
		return browser
	}
	return browser + " (" + system + ")"
}

// Device types of DeviceType.
const (
	DevicePC         = "pc"
	DeviceSmartphone = "smartphone"
	DeviceTablet     = "tablet"
)

// DeviceType tells from a User-Agent header whether the device is a PC, a
// smartphone or a tablet (iPadOS that reports itself as macOS counts as a
// PC: the header cannot tell them apart).
func DeviceType(ua string) string {
	switch {
	case strings.Contains(ua, "iPad"), strings.Contains(ua, "Tablet"),
		strings.Contains(ua, "Android") && !strings.Contains(ua, "Mobile"):
		return DeviceTablet
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPod"), strings.Contains(ua, "Android"),
		strings.Contains(ua, "Mobile"):
		return DeviceSmartphone
	}
	return DevicePC
}
