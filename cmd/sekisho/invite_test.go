package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// TestUserAddInvite: `user add --invite` adds an invited member without
// a password and queues the invitation mail in the member's language;
// the link in it lets the member choose a password, after which the
// member is active with a registered address. Bad combinations write
// nothing.
func TestUserAddInvite(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgUsername, rolesConfig)
		e.mustRun(t, "", "org", "add", "--code", "hotel", "--name", "Hotel Sakura", "--time-zone", "Asia/Tokyo")
		before := e.state(t)
		for _, tc := range []struct {
			want, stdin string
			args        []string
		}{
			{"goes without --password-stdin", "S3cret-pass!\n", []string{"--email", "desk1@example.com", "--password-stdin"}},
			{"goes without --password-stdin", "", []string{"--email", "desk1@example.com", "--email-verified"}},
			{"goes without --password-stdin", "", []string{"--email", "desk1@example.com", "--must-change-password"}},
			{"--invite needs --email", "", nil},
		} {
			args := append([]string{"user", "add", "--organization", "hotel", "--username", "desk1", "--invite"}, tc.args...)
			e.refused(t, tc.want, tc.stdin, args...)
		}
		e.refused(t, "or --invite", "", "user", "add", "--organization", "hotel", "--username", "desk1")
		e.unchanged(t, before)

		out := e.mustRun(t, "", "user", "add", "--organization", "hotel", "--username", "desk1", "--email", "Desk1@example.com",
			"--name", "Front Desk", "--role", "staff", "--invite", "--lang", "ja")
		if !strings.Contains(out, "queued an invitation to Desk1@example.com") {
			t.Errorf("user add --invite: %s", out)
		}
		invited := e.listJSON(t, "--organization", "hotel", "--status", "invited")
		if usernames(invited) != "desk1" {
			t.Fatalf("--status invited: %q", usernames(invited))
		}
		// The invitation counted under the member's hourly cap of
		// invitation mails, as a resend from the console does.
		key := fmt.Sprint("invite:send:", invited.Members[0]["id"])
		if counters, err := e.st.GetCounters(t.Context(), []string{key}); err != nil || counters[key].Count != 1 {
			t.Errorf("the invitation's cap counter %s: %+v, %v; want 1", key, counters[key], err)
		}
		ms, err := e.st.ListMail(t.Context(), storage.DeliveryFilter{})
		if err != nil || len(ms) != 1 || ms[0].Recipient != "Desk1@example.com" || ms[0].Template != templates.MailInvitation {
			t.Fatalf("outbox: %v %+v", err, ms)
		}
		// The mail as the running server would send it.
		m := openMail(t, ms[0])
		if !strings.Contains(m.Text, "Hotel Sakura") || !strings.Contains(m.Text, "desk1") || !strings.Contains(m.Text, "パスワードを設定") {
			t.Errorf("invitation mail:\n%s", m.Text)
		}
		link, err := url.Parse(mailtest.Link(m.Text, "http://localhost:8080/invite?token="))
		if err != nil || link.Query().Get("token") == "" {
			t.Fatalf("no invitation link in:\n%s", m.Text)
		}

		flow := e.cliFlow(t)
		if _, err := flow.AcceptInvitation(t.Context(), login.InvitationInput{Token: link.Query().Get("token"),
			Password: "Sakura-desk-42!", Confirm: "Sakura-desk-42!", Lang: "ja"}); err != nil {
			t.Fatalf("accept the invitation: %v", err)
		}
		p := e.listJSON(t, "--organization", "hotel", "--status", "active", "--email-state", "registered")
		if usernames(p) != "desk1" || p.Members[0]["role"] != "staff" || p.Members[0]["last_login_at"] == nil {
			t.Errorf("after accepting, want desk1 active with a registered address: %v", p.Members)
		}
		// The link works once.
		if _, err := flow.AcceptInvitation(t.Context(), login.InvitationInput{Token: link.Query().Get("token"),
			Password: "Sakura-desk-43!", Confirm: "Sakura-desk-43!"}); err != login.ErrInvitationExpired {
			t.Errorf("the link again: %v, want ErrInvitationExpired", err)
		}
	})
}
