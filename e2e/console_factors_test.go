package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
)

// seedFactors gives u an authenticator app, three recovery codes and a
// passkey named name, in storage (the sign-in only needs to see them).
func (c *console) seedFactors(t *testing.T, u storage.User, name string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	id := uuid.NewString()
	if err := c.store.CreateTOTP(ctx, storage.TOTPFactor{ID: id, UserID: u.ID, SecretSealed: []byte("sealed"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var codes []storage.RecoveryCode
	for range 3 {
		codes = append(codes, storage.RecoveryCode{ID: uuid.NewString(), CodeHash: uuid.NewString()})
	}
	if err := c.store.ConfirmTOTP(ctx, id, 1, storage.FactorChange{UserID: u.ID, Now: now, RecoveryCodes: codes}); err != nil {
		t.Fatal(err)
	}
	if err := c.store.CreatePasskey(ctx, storage.PasskeyChange{Passkey: storage.Passkey{ID: uuid.NewString(), UserID: u.ID, Name: name,
		CredentialID: []byte(uuid.NewString()), PublicKey: []byte{1}, CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleResetFactors: an administrator sees a member's second factors
// and resets them for a member who lost them: the member is mailed, the
// reset audited, and the next sign-in asks no second factor; the rank rule
// and the organization's border hold, and a member with nothing to reset
// gets a clear answer.
func TestConsoleResetFactors(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		c.seedFactors(t, c.staff, "Sato's phone")
		c.seedFactors(t, c.owner, "Owner's key")
		staff := memberPath(c.staff.ID)

		signInStaff := func() page {
			t.Helper()
			b := c.browser()
			return b.signIn(b.get(newAuthz("web", webCB, "openid").url(c.cfg.Issuer)), c.staff.Email, adminPass)
		}
		if p := signInStaff(); !isMFAStep(p) {
			t.Fatalf("a member with factors signs in without the second-factor step: %d %s", p.status, p.url)
		}

		b := c.signedIn(t, c.admin)
		p := b.get(c.cfg.Issuer + staff)
		if byID(p, "factor-totp") != "Set up" || byID(p, "factor-passkeys") != "Sato's phone" || byID(p, "factor-recovery") != "3 left" ||
			!p.hasForm(staff+"/reset-factors") {
			t.Fatalf("member page's factors: %q %q %q, reset form %v", byID(p, "factor-totp"), byID(p, "factor-passkeys"),
				byID(p, "factor-recovery"), p.hasForm(staff+"/reset-factors"))
		}

		// The owner ranks above the admin: view only, and a forged POST
		// changes nothing.
		owner := memberPath(c.owner.ID)
		if p := b.get(c.cfg.Issuer + owner); p.hasForm(owner + "/reset-factors") {
			t.Error("the owner's page offers the admin a reset")
		}
		if p := b.form(owner+"/reset-factors", nil); p.status != http.StatusForbidden {
			t.Errorf("admin resets the owner's factors: status %d, want 403", p.status)
		}
		if pks, _ := c.store.ListPasskeys(t.Context(), c.owner.ID); len(pks) != 1 {
			t.Errorf("the owner's passkeys after a refused reset: %d", len(pks))
		}
		// Another organization's administrator: not found.
		shop := c.signedIn(t, c.shopOwner)
		if p := shop.form(staff+"/reset-factors", nil); p.status != http.StatusNotFound {
			t.Errorf("another organization's owner resets: status %d, want 404", p.status)
		}

		p = b.form(staff+"/reset-factors", nil)
		if p.status != http.StatusOK || p.url.Path != staff || !strings.Contains(noticeText(p), "second factors were reset") {
			t.Fatalf("reset: %d at %s, notice %q alert %q", p.status, p.url, noticeText(p), alertText(p))
		}
		if byID(p, "factor-totp") != "None" || byID(p, "factor-passkeys") != "None" || byID(p, "factor-recovery") != "0 left" ||
			p.hasForm(staff+"/reset-factors") {
			t.Errorf("after the reset: %q %q %q", byID(p, "factor-totp"), byID(p, "factor-passkeys"), byID(p, "factor-recovery"))
		}
		if _, err := c.store.GetTOTP(t.Context(), c.staff.ID); err == nil {
			t.Error("the authenticator app is still stored")
		}
		if n, _ := c.store.CountRecoveryCodes(t.Context(), c.staff.ID); n != 0 {
			t.Errorf("%d recovery codes left", n)
		}
		mailsTo(t, c.smtp, c.staff.Email, "reset your second factors", 1)
		events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "mfa_reset", UserID: c.staff.ID})
		if len(events) != 1 || events[0].ActorID != c.admin.ID {
			t.Errorf("mfa_reset events: %+v", events)
		}
		if p := b.get(c.cfg.Issuer + "/admin/audit?" + url.Values{"member": {c.staff.ID}}.Encode()); !strings.Contains(p.body, "Second factors reset") {
			t.Error("the audit page does not name the reset")
		}

		// Nothing left: a clear refusal, nothing written.
		if p := b.form(staff+"/reset-factors", nil); p.status < 400 || !strings.Contains(alertText(p), "no second factor") {
			t.Errorf("a second reset: %d %q", p.status, alertText(p))
		}
		if events, _ := c.store.ListAuditEvents(t.Context(), storage.AuditFilter{Type: "mfa_reset", UserID: c.staff.ID}); len(events) != 1 {
			t.Errorf("a refused reset was audited: %d events", len(events))
		}
		if p := signInStaff(); isMFAStep(p) {
			t.Error("the next sign-in still asks for a second factor")
		}
	})
}

// TestInvitationUnderRequiredMFA: an invitation link proves the mailbox as
// a reset code does; where the organization requires a second factor, the
// new member sets one up before the account page opens.
func TestInvitationUnderRequiredMFA(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		c := newConsole(t, newStore(t))
		c.run()
		b := c.signedIn(t, c.admin)
		if _, err := c.store.UpdateOrganization(t.Context(), hotelID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
			o.MFAPolicy = "required"
			return o, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if p := b.form("/admin/members/new", url.Values{"name": {"Mika Mori"}, "email": {"mika@hotel.example"}, "role": {"staff"}}); p.status != http.StatusOK {
			t.Fatalf("add: %d %q", p.status, alertText(p))
		}
		member := c.browser()
		p := member.acceptInvitation(t, c.invitationLink(t, "mika@hotel.example", 1), "Tsuki-akari-83!")
		if !isMFAStep(p) || byID(p, "totp-secret") == "" {
			t.Fatalf("an accepted invitation under mfa.policy required: status %d at %s, no authenticator set-up: %.400s", p.status, p.url, htmltest.Text(p.doc))
		}
		if acct := member.get(c.cfg.Issuer + "/account"); acct.url.Path == "/account" && acct.status == http.StatusOK && !acct.hasLoginForm() {
			t.Error("the account page opened before a second factor was set up")
		}
	})
}
