package login

import "testing"

func TestDeviceType(t *testing.T) {
	for _, tt := range []struct{ name, ua, want string }{
		{"Windows Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", DevicePC},
		{"macOS Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", DevicePC},
		{"iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1", DeviceSmartphone},
		{"Android phone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", DeviceSmartphone},
		{"iPad", "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1", DeviceTablet},
		{"Android tablet", "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", DeviceTablet},
		{"empty", "", DevicePC},
		{"curl", "curl/8.5.0", DevicePC},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeviceType(tt.ua); got != tt.want {
				t.Errorf("DeviceType(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}
