package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/sekisho/sekisho/storage"
)

// count is how many elements sel finds.
func (p *person) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// click clicks what sel finds without waiting for a page (a checkbox).
func (p *person) click(sel string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
}

// seedLocked adds hotel members idle for longer than
// lifecycle.dormant_after (90 days): locked.
func (c *console) seedLocked(t *testing.T, names ...string) []storage.User {
	t.Helper()
	now := c.clock.now().UTC()
	created, last := now.AddDate(0, 0, -200), now.AddDate(0, 0, -120)
	var out []storage.User
	for i, name := range names {
		u := storage.User{ID: uuid.NewString(), OrganizationID: hotelID, Email: fmt.Sprintf("idle%d@hotel.example", i), Name: name,
			Role: "staff", EmailVerified: true, PasswordHash: "x", CreatedAt: created.Add(time.Duration(i) * time.Second),
			UpdatedAt: now, LastLoginAt: &last}
		if err := c.store.AddMember(t.Context(), storage.NewMember{User: u}); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestBrowserConsoleLock drives the console's dormant lock in chromium:
// locked members carry the "Locked" badge, the status filter lists them,
// two selected are unlocked after the confirmation, then all the others
// with "unlock all"; on the settings page the administrator chooses who
// gets the alerts of sign-in attempts on locked accounts. On SQLite and
// PostgreSQL; with SEKISHO_SCREENSHOTS set it saves these pages (from
// SQLite).
func TestBrowserConsoleLock(t *testing.T) {
	browser := newChromium(t)
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		screenshotsOnce(t)
		c := newConsole(t, newStore(t))
		c.seedForScreenshots(t)
		locked := c.seedLocked(t, "中村 大輔", "小林 由美", "加藤 拓也")
		admin := newPerson(t, browser, c.cfg.Issuer)
		admin.open("/admin/members")
		if status := admin.signIn(c.admin.Email, adminPass); status != 200 || admin.path() != "/admin/members" {
			t.Fatalf("after signing in: %d at %s", status, admin.path())
		}

		// The badge, then the filter.
		if n := admin.count(".badge.status-locked"); n != 3 || !strings.Contains(admin.text(".badge.status-locked"), "Locked") {
			t.Errorf("%d locked badges (%q), want 3", n, admin.text(".badge.status-locked"))
		}
		admin.choose("#filter-status", "locked")
		if status := admin.press(`form[action="/admin/members"] button[type="submit"]`); status != 200 ||
			!strings.Contains(admin.path(), "status=locked") || admin.count("tbody tr") != 3 {
			t.Fatalf("filter on locked: %d at %s with %d rows", status, admin.path(), admin.count("tbody tr"))
		}
		admin.shoot("members-locked", "/admin/members?status=locked")
		admin.shoot("member-locked", memberPath(locked[0].ID))
		admin.shoot("unlock-confirm", "/admin/members/unlock?id="+locked[0].ID+"&id="+locked[1].ID)

		// Two selected, with the confirmation.
		admin.open("/admin/members?status=locked")
		admin.click(fmt.Sprintf(`input[name="id"][value=%q]`, locked[0].ID))
		admin.click(fmt.Sprintf(`input[name="id"][value=%q]`, locked[1].ID))
		if status := admin.press("#unlock-selected"); status != 200 || !strings.HasPrefix(admin.path(), "/admin/members/unlock") ||
			!strings.Contains(admin.text("#unlock-question"), "2") || !strings.Contains(admin.text("#unlock-deadline"), "24:00") {
			t.Fatalf("confirmation: %d at %s: %q %q", status, admin.path(), admin.text("#unlock-question"), admin.text("#unlock-deadline"))
		}
		if u := c.reload(t, locked[0].ID); u.UnlockedUntil != nil {
			t.Fatal("the confirmation page unlocked a member")
		}
		if status := admin.press("#confirm-unlock"); status != 200 || admin.text("#notice") == "" || admin.count("tbody tr") != 1 {
			t.Fatalf("after the unlock: %d at %s, notice %q, %d rows", status, admin.path(), admin.text("#notice"), admin.count("tbody tr"))
		}
		// The rest with "unlock all".
		if status := admin.press("#unlock-all"); status != 200 || !strings.Contains(admin.text("#unlock-question"), "1") {
			t.Fatalf("confirmation of all: %d: %q", status, admin.text("#unlock-question"))
		}
		admin.press("#confirm-unlock")
		if n := admin.count(".badge.status-locked"); n != 0 || admin.text("#notice") == "" {
			t.Errorf("after unlock all: %d locked badges, notice %q", n, admin.text("#notice"))
		}
		for _, u := range locked {
			if got := c.reload(t, u.ID); got.UnlockedUntil == nil {
				t.Errorf("%s was not unlocked", u.Name)
			}
		}
		admin.shoot("member-unlocked", memberPath(locked[0].ID))

		// The alert recipients.
		admin.open("/admin/settings")
		admin.click(fmt.Sprintf(`input[name="recipient"][value=%q]`, c.owner.ID))
		if status := admin.press("#save-alerts"); status != 200 || admin.text("#notice") == "" ||
			admin.count(`input[name="recipient"]:checked`) != 1 {
			t.Fatalf("save the alert recipients: %d, notice %q", status, admin.text("#notice"))
		}
		if got := c.alertRecipients(t); !slices.Equal(got, []string{c.owner.ID}) {
			t.Errorf("recipients %v, want the owner", got)
		}
		admin.shoot("settings-alerts", "/admin/settings")
	})
}
