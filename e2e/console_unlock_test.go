package e2e

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
)

// tokyo is the hotel's time zone.
var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// machineInUTC runs the test with the machine's zone set to UTC, so a
// deadline computed in the machine's zone instead of the organization's
// shows.
func machineInUTC(t *testing.T) {
	t.Setenv("TZ", "UTC")
	old := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = old })
}

// setClock moves the server's clock to at.
func (e *env) setClock(at time.Time) { e.clock.add(at.Sub(e.clock.now())) }

// signedInAt records an interactive sign-in of u at the clock's time (so
// the console's administrators are not themselves dormant).
func (c *console) signedInAt(t *testing.T, ids ...string) {
	t.Helper()
	now := c.clock.now().UTC()
	for _, id := range ids {
		if _, err := c.store.UpdateUser(t.Context(), id, func(u storage.User) (storage.User, error) {
			u.LastLoginAt = &now
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkboxes are the values of the members list's selection boxes.
func checkboxes(p page) []string {
	var out []string
	if p.doc == nil {
		return nil
	}
	for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "checkbox" && htmltest.Attr(n, "name") == "id"
	}) {
		out = append(out, htmltest.Attr(n, "value"))
	}
	slices.Sort(out)
	return out
}

// timeAttr is the datetime attribute of the time element inside id.
func timeAttr(p page, id string) string {
	if p.doc == nil {
		return ""
	}
	for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == id }) {
		if ts := htmltest.Find(n, func(n *html.Node) bool { return htmltest.IsTag(n, "time") }); len(ts) > 0 {
			return htmltest.Attr(ts[0], "datetime")
		}
	}
	return ""
}

// TestConsoleUnlock: an administrator of the hotel (Asia/Tokyo), on a
// machine whose zone is UTC, finds the locked members with the badge and
// the filter, unlocks one at 10:00 Tokyo time (after a confirmation):
// the deadline is 24:00 Tokyo time, a sign-in at 23:59 works and ends
// the lock for good, and a member unlocked alike who does not sign in is
// locked again at 00:00. Three selected members are unlocked in one
// action, the rest with "all locked members"; a staff member gets 403,
// the shop's owner 404, a cross-site form 403, and nothing changes.
func TestConsoleUnlock(t *testing.T) {
	machineInUTC(t)
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		s1 := c.member(hotelID, "s1@hotel.example", "", "Staff One", "staff")
		s2 := c.member(hotelID, "s2@hotel.example", "", "Staff Two", "staff")
		s3 := c.member(hotelID, "s3@hotel.example", "", "Staff Three", "staff")
		// 100 days on, at 10:00 in Tokyo: every member who never signed in is locked.
		day := time.Now().In(tokyo).AddDate(0, 0, 100)
		at := func(h, m int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, tokyo) }
		midnight := at(24, 0)
		c.setClock(at(10, 0))
		c.signedInAt(t, c.owner.ID, c.admin.ID, c.shopOwner.ID)
		b := c.withSession(t, c.admin, c.clock.now())

		p := b.get(c.cfg.Issuer + "/admin/members?status=locked")
		want := []string{c.other.ID, s1.ID, s2.ID, s3.ID, c.staff.ID}
		slices.Sort(want)
		if p.status != http.StatusOK || !slices.Equal(checkboxes(p), want) {
			t.Fatalf("locked members: %d, boxes %v, want %v", p.status, checkboxes(p), want)
		}
		if got := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "class") == "badge status-locked" }); len(got) != 5 {
			t.Errorf("%d locked badges, want 5", len(got))
		}
		if tables := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "table") }); len(tables) != 1 ||
			strings.Contains(htmltest.Text(tables[0]), c.admin.Name) {
			t.Error("the locked filter lists an administrator who signed in")
		}
		rows := c.csvRows(t, b, "/admin/members.csv?status=locked")
		if len(rows) != 1+5 || rows[1][4] != "Locked" {
			t.Errorf("CSV of locked members: %v", rows)
		}

		// One member, with the confirmation.
		p = b.get(c.cfg.Issuer + "/admin/members/unlock?id=" + c.staff.ID)
		if p.status != http.StatusOK || timeAttr(p, "unlock-deadline") != midnight.Format(time.RFC3339) {
			t.Fatalf("confirmation: %d, deadline %q, want %s", p.status, timeAttr(p, "unlock-deadline"), midnight.Format(time.RFC3339))
		}
		if u := c.reload(t, c.staff.ID); u.UnlockedUntil != nil {
			t.Fatal("the confirmation page unlocked the member")
		}
		p = b.form("/admin/members/unlock", url.Values{"id": {c.staff.ID}})
		if p.status != http.StatusOK || p.url.Path != memberPath(c.staff.ID) || byID(p, "notice") == "" ||
			timeAttr(p, "member-unlocked") != midnight.Format(time.RFC3339) {
			t.Fatalf("after the unlock: %d at %s, deadline %q", p.status, p.url, timeAttr(p, "member-unlocked"))
		}
		// And another, who will not sign in.
		if p := b.form("/admin/members/unlock", url.Values{"id": {c.other.ID}}); p.status != http.StatusOK {
			t.Fatalf("unlock other: %d", p.status)
		}
		for _, id := range []string{c.staff.ID, c.other.ID} {
			u := c.reload(t, id)
			if u.UnlockedUntil == nil || !u.UnlockedUntil.Equal(midnight) || u.LastLoginAt != nil || u.DormantAt != nil {
				t.Errorf("%s: unlocked_until %v (want %v), last_login_at %v", u.Name, u.UnlockedUntil, midnight, u.LastLoginAt)
			}
		}
		events, err := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "account_unlocked", UserID: c.staff.ID})
		if err != nil || len(events) != 1 || events[0].ActorID != c.admin.ID || events[0].OrganizationID != hotelID {
			t.Errorf("account_unlocked events of staff: %+v, %v", events, err)
		}

		if p := b.get(c.cfg.Issuer + "/admin/audit?kind=account_unlocked"); !strings.Contains(htmltest.Text(p.doc), "by an administrator") {
			t.Errorf("the audit log does not say who unlocked: %.300s", htmltest.Text(p.doc))
		}

		// Three selected members in one action.
		three := url.Values{"id": {s1.ID, s2.ID, s3.ID}}
		p = b.get(c.cfg.Issuer + "/admin/members/unlock?" + three.Encode())
		if n := len(htmltest.Find(p.doc, func(n *html.Node) bool {
			return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "hidden" && htmltest.Attr(n, "name") == "id"
		})); p.status != http.StatusOK || n != 3 {
			t.Fatalf("confirmation of three: %d with %d ids", p.status, n)
		}
		if p := b.form("/admin/members/unlock", three); p.status != http.StatusOK || p.url.Query().Get("status") != "locked" {
			t.Fatalf("bulk unlock: %d at %s", p.status, p.url)
		}
		for _, u := range []storage.User{s1, s2, s3} {
			if got := c.reload(t, u.ID); got.UnlockedUntil == nil || !got.UnlockedUntil.Equal(midnight) {
				t.Errorf("%s after the bulk unlock: %v", u.Name, got.UnlockedUntil)
			}
		}
		wantAudit(t, c.env, "account_unlocked", 5)
		if p := b.get(c.cfg.Issuer + "/admin/members?status=locked"); len(checkboxes(p)) != 0 {
			t.Errorf("still locked: %v", checkboxes(p))
		}

		// Refusals change nothing.
		c.setClock(at(23, 58))
		b = c.withSession(t, c.admin, c.clock.now())
		staff := c.withSession(t, c.staff, c.clock.now())
		if p := staff.form("/admin/members/unlock", url.Values{"all": {"1"}}); p.status != http.StatusForbidden {
			t.Errorf("staff unlocks: %d, want 403", p.status)
		}
		shop := c.withSession(t, c.shopOwner, c.clock.now())
		for _, p := range []page{shop.get(c.cfg.Issuer + "/admin/members/unlock?id=" + c.other.ID),
			shop.form("/admin/members/unlock", url.Values{"id": {c.other.ID}})} {
			if p.status != http.StatusNotFound {
				t.Errorf("another organization's owner: %d, want 404", p.status)
			}
		}
		req := b.postRequest(c.cfg.Issuer+"/admin/members/unlock", url.Values{"all": {"1"}}, "https://evil.example")
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("cross-site form: %d, want 403", p.status)
		}
		// A locked owner ranks above the administrator: refused, with the
		// selection, nothing changed.
		owner2 := c.member(hotelID, "owner2@hotel.example", "", "Owner Two", "owner")
		old := time.Now().AddDate(0, 0, -200).UTC()
		if _, err := c.store.UpdateUser(t.Context(), owner2.ID, func(u storage.User) (storage.User, error) {
			u.CreatedAt = old
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		if p := b.form("/admin/members/unlock", url.Values{"id": {c.other.ID, owner2.ID}}); p.status != http.StatusForbidden || byID(p, "error") == "" {
			t.Errorf("unlock of a higher-ranked member: %d %q, want 403", p.status, byID(p, "error"))
		}
		if p := b.get(c.cfg.Issuer + memberPath(owner2.ID)); byID(p, "unlock") != "" {
			t.Error("the page of a higher-ranked locked member offers the unlock")
		}
		if u := c.reload(t, owner2.ID); u.UnlockedUntil != nil {
			t.Error("a higher-ranked member was unlocked")
		}
		if p := b.form("/admin/members/unlock", url.Values{}); p.status != http.StatusBadRequest || byID(p, "error") == "" {
			t.Errorf("an empty selection: %d %q", p.status, byID(p, "error"))
		}
		wantAudit(t, c.env, "account_unlocked", 5)

		// 23:59 Tokyo: the member signs in, which ends the lock for good.
		c.setClock(at(23, 59))
		if _, a := c.signInFreshAs(t, c.browser(), c.staff.Email, adminPass); a == nil {
			t.Fatal("no sign-in at 23:59")
		}
		// 00:00 Tokyo: the one who did not sign in is locked again.
		c.setClock(midnight.Add(time.Second))
		b = c.withSession(t, c.admin, c.clock.now())
		p = b.get(c.cfg.Issuer + "/admin/members?status=locked")
		if got := checkboxes(p); !slices.Contains(got, c.other.ID) || slices.Contains(got, c.staff.ID) {
			t.Errorf("locked at 00:00 Tokyo time: %v, want other and not staff", got)
		}
		// Just before, at 23:59:59, the other was not locked.
		c.setClock(midnight.Add(-time.Second))
		if got := checkboxes(b.get(c.cfg.Issuer + "/admin/members?status=locked")); slices.Contains(got, c.other.ID) {
			t.Errorf("locked before 24:00 Tokyo time: %v", got)
		}

		// All locked members at once, after midnight.
		c.setClock(midnight.Add(time.Minute))
		b = c.withSession(t, c.admin, c.clock.now())
		p = b.get(c.cfg.Issuer + "/admin/members/unlock?all=1")
		// Locked again: other and the three, who did not sign in; not
		// counted: the locked owner, above the administrator.
		if p.status != http.StatusOK || !strings.Contains(byID(p, "unlock-question"), "all 4 locked") {
			t.Fatalf("confirmation of all: %d %q, want 4 (not the owner)", p.status, byID(p, "unlock-question"))
		}
		if p := b.form("/admin/members/unlock", url.Values{"all": {"1"}}); p.status != http.StatusOK {
			t.Fatalf("unlock all: %d", p.status)
		}
		if u := c.reload(t, c.other.ID); u.UnlockedUntil == nil || !u.UnlockedUntil.Equal(midnight.AddDate(0, 0, 1)) {
			t.Errorf("other after unlock all: %v, want %v", u.UnlockedUntil, midnight.AddDate(0, 0, 1))
		}
	})
}

// csvRows downloads a CSV of the console.
func (c *console) csvRows(t *testing.T, b *browser, path string) [][]string {
	t.Helper()
	p := b.get(c.cfg.Issuer + path)
	if p.status != http.StatusOK {
		t.Fatalf("%s: %d", path, p.status)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// alertRecipients are the ids of the hotel's alert recipients.
func (c *console) alertRecipients(t *testing.T) []string {
	t.Helper()
	p, err := c.store.ListMembers(t.Context(), storage.MemberFilter{OrganizationID: hotelID, DormantAlerts: true, Now: c.clock.now()})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range p.Members {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

// TestConsoleAlertRecipients: on the settings page an administrator
// chooses which members (those whose role may manage members) receive
// the alerts of sign-in attempts on locked accounts; each member added or
// removed is audited; a member outside the choices (a staff member, the
// shop's owner) is refused and nothing changes; a staff member gets 403
// and a cross-site form is refused.
func TestConsoleAlertRecipients(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		b := c.signedIn(t, c.admin)
		p := b.get(c.cfg.Issuer + "/admin/settings")
		boxes := htmltest.Find(p.doc, func(n *html.Node) bool {
			return htmltest.IsTag(n, "input") && htmltest.Attr(n, "name") == "recipient"
		})
		var offered []string
		for _, n := range boxes {
			offered = append(offered, htmltest.Attr(n, "value"))
		}
		slices.Sort(offered)
		want := []string{c.owner.ID, c.admin.ID}
		slices.Sort(want)
		if p.status != http.StatusOK || !slices.Equal(offered, want) {
			t.Fatalf("settings: %d, choices %v, want the owner and the administrator %v", p.status, offered, want)
		}

		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			want   []string
		}{
			{"owner and administrator", url.Values{"recipient": {c.owner.ID, c.admin.ID}}, http.StatusOK, want},
			{"a staff member", url.Values{"recipient": {c.owner.ID, c.staff.ID}}, http.StatusBadRequest, want},
			{"another organization's owner", url.Values{"recipient": {c.shopOwner.ID}}, http.StatusBadRequest, want},
			{"only the administrator", url.Values{"recipient": {c.admin.ID}}, http.StatusOK, []string{c.admin.ID}},
			{"nobody", url.Values{}, http.StatusOK, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.form("/admin/settings/alerts", tc.form)
				if p.status != tc.status {
					t.Errorf("status %d, want %d: %.200s", p.status, tc.status, byID(p, "error"))
				}
				if tc.status != http.StatusOK && byID(p, "error") == "" {
					t.Error("a refusal without a message")
				}
				if got := c.alertRecipients(t); !slices.Equal(got, tc.want) {
					t.Errorf("recipients %v, want %v", got, tc.want)
				}
			})
		}
		// Added twice (owner, administrator), removed twice (owner, then administrator).
		wantAudit(t, c.env, "dormant_alert_recipient", 4)
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "dormant_alert_recipient", UserID: c.owner.ID})
		if len(events) != 2 || events[0].ActorID != c.admin.ID {
			t.Errorf("events about the owner: %+v", events)
		}

		staff := c.signedInAnywhere(t, c.staff)
		if p := staff.form("/admin/settings/alerts", url.Values{"recipient": {c.admin.ID}}); p.status != http.StatusForbidden {
			t.Errorf("staff: %d, want 403", p.status)
		}
		req := b.postRequest(c.cfg.Issuer+"/admin/settings/alerts", url.Values{"recipient": {c.admin.ID}}, "https://evil.example")
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("cross-site form: %d, want 403", p.status)
		}
		if got := c.alertRecipients(t); len(got) != 0 {
			t.Errorf("recipients after refused forms: %v", got)
		}
	})
}
