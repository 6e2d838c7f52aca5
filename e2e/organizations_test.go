package e2e

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

const (
	deskPass  = "Front-desk-2024!"
	otherDesk = "Other-desk-2024?"
)

// withMode sets login.identifier.
func withMode(mode string) func(*config.Config) {
	return func(c *config.Config) { c.Login.Identifier = mode }
}

// withRoles declares the hotel's roles, highest first.
func withRoles(c *config.Config) {
	c.Roles = []config.Role{{Name: "owner", ManageMembers: true}, {Name: "admin", ManageMembers: true}, {Name: "staff"}}
}

// addOrg creates an organization.
func (e *env) addOrg(t *testing.T, code, name string) storage.Organization {
	t.Helper()
	now := time.Now().UTC()
	o := storage.Organization{ID: uuid.NewString(), Code: code, Name: name, TimeZone: "Asia/Tokyo", CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateOrganization(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// addMember creates a member of org: an address (may be empty, or
// unverified with verified false), an account name (may be empty), a
// password and a role.
func (e *env) addMember(t *testing.T, org storage.Organization, email, username, pw, role string, verified bool) storage.User {
	t.Helper()
	hash, err := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2).Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := storage.User{ID: uuid.NewString(), OrganizationID: org.ID, Email: email, EmailVerified: verified && email != "",
		Username: username, Name: "Member " + username, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// accountInputs checks the account fields of the form posting to action
// on p as the mode asks for them, with the autocomplete contract and a
// label each, and returns the form's values by name.
func accountInputs(t *testing.T, p page, action, mode string) map[string]string {
	t.Helper()
	if !p.hasForm(action) {
		t.Fatalf("no form posting to %s (status %d at %s): %.300s", action, p.status, p.url, p.body)
	}
	vals, inputs := formInputs(t, p.doc, action)
	labels := map[string]bool{}
	for _, l := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "label") }) {
		labels[htmltest.Attr(l, "for")] = htmltest.Text(l) != ""
	}
	want := map[string][2]string{"email": {"email", "username"}}
	switch mode {
	case config.IdentifierOrgEmail:
		want["organization"] = [2]string{"text", "organization"}
	case config.IdentifierOrgUsername:
		want = map[string][2]string{"organization": {"text", "organization"}, "username": {"text", "username"}}
	}
	var got []string
	for _, in := range inputs {
		name := in["name"]
		if in["tag"] != "input" || in["type"] == "hidden" || name == "password" {
			continue
		}
		got = append(got, name)
		if w, ok := want[name]; !ok || in["type"] != w[0] || in["autocomplete"] != w[1] {
			t.Errorf("%s input %s: type %q autocomplete %q, want %v", action, name, in["type"], in["autocomplete"], w)
		}
		if !labels[in["id"]] {
			t.Errorf("%s input %s has no label", action, name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s account inputs %v, want %d of them", action, got, len(want))
	}
	return vals
}

// signInAs fills the sign-in form of p (the mode's fields: what it does
// not ask for is not sent) and posts it.
func (b *browser) signInAs(t *testing.T, p page, org, account, pw string) page {
	t.Helper()
	return b.post(b.e.cfg.Issuer+"/login", accountForm(t, p, "/login", org, account, url.Values{"password": {pw}}), b.e.cfg.Issuer)
}

// accountForm is the form posting to action on p, filled with the
// account (organization only when the form asks for it) and extra.
func accountForm(t *testing.T, p page, action, org, account string, extra url.Values) url.Values {
	t.Helper()
	vals := accountInputs(t, p, action, modeOf(p, action))
	form := url.Values{"id": {vals["id"]}}
	if _, ok := vals["organization"]; ok {
		form.Set("organization", org)
	}
	if _, ok := vals["username"]; ok {
		form.Set("username", account)
	} else {
		form.Set("email", account)
	}
	for k, v := range extra {
		form[k] = v
	}
	return form
}

// modeOf tells the sign-in mode from the fields of a form.
func modeOf(p page, action string) string {
	var names []string
	for _, f := range htmltest.Find(p.doc, isForm(action)) {
		for _, in := range htmltest.Find(f, func(n *html.Node) bool { return htmltest.IsTag(n, "input") }) {
			names = append(names, htmltest.Attr(in, "name"))
		}
	}
	switch {
	case slices.Contains(names, "username"):
		return config.IdentifierOrgUsername
	case slices.Contains(names, "organization"):
		return config.IdentifierOrgEmail
	}
	return config.IdentifierEmail
}

// forgotAs follows "Forgot your password?" from a's sign-in page and asks
// for a code for the account; it returns the code form.
func (b *browser) forgotAs(t *testing.T, a *authz, mode, org, account string) page {
	t.Helper()
	p := b.forgotPage(t, a)
	accountInputs(t, p, "/reset", mode)
	return b.post(b.e.cfg.Issuer+"/reset", accountForm(t, p, "/reset", org, account, nil), b.e.cfg.Issuer)
}

// user reloads a user.
func (e *env) reload(t *testing.T, id string) storage.User {
	t.Helper()
	u, err := e.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSignInModes: in each login.identifier mode, every browser flow
// works with the fields the mode asks for: sign-in, the emailed code, the
// password reset, the account page and a verification link opened
// signed out. Sign-ins are audited in the member's organization and move
// last_login_at.
func TestSignInModes(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		for i, mode := range []string{config.IdentifierEmail, config.IdentifierOrgEmail, config.IdentifierOrgUsername} {
			t.Run(mode, func(t *testing.T) {
				// web2 requires the emailed code.
				e := newEnvSMTP(t, newStore(t), smtp, withMode(mode), withRoles, func(c *config.Config) { c.Clients[1].OTP = config.OTPAlways })
				e.run()
				hotel := e.addOrg(t, "HOTEL-7", "Hotel Seven")
				addr := fmt.Sprintf("desk%d@hotel.example", i)
				m := e.addMember(t, hotel, addr, "FrontDesk", deskPass, "staff", true)
				// What people type: the code and the account name in other
				// cases, the address as stored.
				org, account := "hotel-7", addr
				if mode == config.IdentifierOrgUsername {
					account = "frontdesk"
				}

				// Sign-in.
				b := e.browser()
				a := newAuthz("web", webCB, "openid")
				p := b.get(a.url(e.cfg.Issuer))
				accountInputs(t, p, "/login", mode)
				before := time.Now().UTC().Add(-time.Second)
				tok := e.tokensFor(t, b.signInAs(t, p, org, account, deskPass), a)
				if tok.IDTokenClaims.Subject != m.ID {
					t.Fatalf("signed in as %s, want %s", tok.IDTokenClaims.Subject, m.ID)
				}
				if u := e.reload(t, m.ID); u.LastLoginAt == nil || u.LastLoginAt.Before(before) {
					t.Errorf("last_login_at after a typed password = %v, want after %v", u.LastLoginAt, before)
				}
				evs, err := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{OrganizationID: hotel.ID, UserID: m.ID, Type: "login"})
				if err != nil || len(evs) == 0 || evs[0].Outcome != "success" {
					t.Errorf("the sign-in is not audited in the member's organization: %+v %v", evs, err)
				}

				// The emailed code.
				b2 := e.browser()
				a2 := newAuthz("web2", web2CB, "openid")
				step := b2.signInAs(t, b2.get(a2.url(e.cfg.Issuer)), org, account, deskPass)
				if !step.hasForm("/login/otp") {
					t.Fatalf("no code step: status %d %.300s", step.status, htmltest.Text(step.doc))
				}
				e.code(t, b2.submitOTP(t, step, loginCode(t, smtp, addr, 1)), a2)

				// The password reset, which continues the sign-in and, as an
				// interactive sign-in, moves last_login_at.
				e.clock.add(time.Minute)
				lastBefore := e.reload(t, m.ID).LastLoginAt
				b3 := e.browser()
				a3 := newAuthz("web", webCB, "openid")
				codePage := b3.forgotAs(t, a3, mode, org, account)
				code := mailtest.Code(mailsTo(t, smtp, addr, "password reset code", 1)[0].Text)
				e.code(t, b3.submitReset(t, codePage, code, newPass, newPass), a3)
				if u := e.reload(t, m.ID); lastBefore == nil || u.LastLoginAt == nil || !u.LastLoginAt.After(lastBefore.Add(59*time.Second)) {
					t.Errorf("last_login_at after a completed reset = %v, want a minute after %v", u.LastLoginAt, lastBefore)
				}

				// The account page, and a verification link opened signed
				// out: the sign-in it asks for completes it.
				b4 := e.browser()
				login := b4.get(e.cfg.Issuer + "/account")
				accountInputs(t, login, "/login", mode)
				acct := b4.signInAs(t, login, org, account, newPass)
				if acct.status != http.StatusOK || acct.url.Path != "/account" {
					t.Fatalf("account page: status %d at %s", acct.status, acct.url)
				}
				newAddr := "new-" + addr
				r := b4.post(e.cfg.Issuer+"/account/email", url.Values{"email": {newAddr}, "current_password": {newPass}}, e.cfg.Issuer)
				if !strings.Contains(noticeText(r), newAddr) {
					t.Fatalf("email change: notice %q alert %q", noticeText(r), alertText(r))
				}
				link := mailtest.Link(mailsTo(t, smtp, newAddr, "Confirm your email", 1)[0].Text, e.cfg.Issuer+"/email/verify?")
				out := e.browser()
				linkLogin := out.get(link)
				accountInputs(t, linkLogin, "/login", mode)
				fin := out.signInAs(t, linkLogin, org, account, newPass)
				if fin.status != http.StatusOK || fin.url.Path != "/email/verify" || !strings.Contains(htmltest.Text(fin.doc), newAddr) {
					t.Fatalf("verification after sign-in: status %d at %s %.300s", fin.status, fin.url, htmltest.Text(fin.doc))
				}
				if u := e.reload(t, m.ID); u.Email != newAddr || !u.EmailVerified {
					t.Errorf("after the link: email %q verified %v", u.Email, u.EmailVerified)
				}
			})
		}
	})
}

// TestSameEmailTwoOrganizations: in the organization+email mode one
// address may hold an account in each of two organizations; the
// organization typed picks the account, for sign-in and reset.
func TestSameEmailTwoOrganizations(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withMode(config.IdentifierOrgEmail))
		e.run()
		east, west := e.addOrg(t, "EAST", "East"), e.addOrg(t, "WEST", "West")
		const shared = "buyer@shop.example"
		ue := e.addMember(t, east, shared, "", deskPass, "", true)
		uw := e.addMember(t, west, shared, "", otherDesk, "", true)
		signIn := func(org, pw string) page {
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			return b.signInAs(t, b.get(a.url(e.cfg.Issuer)), org, shared, pw)
		}
		for _, c := range []struct {
			org, pw string
			want    string
		}{{"east", deskPass, ue.ID}, {"West", otherDesk, uw.ID}} {
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			tok := e.tokensFor(t, b.signInAs(t, b.get(a.url(e.cfg.Issuer)), c.org, shared, c.pw), a)
			if tok.IDTokenClaims.Subject != c.want {
				t.Errorf("%s: signed in as %s, want %s", c.org, tok.IDTokenClaims.Subject, c.want)
			}
		}
		// One organization's password is not the other's.
		if p := signIn("EAST", otherDesk); !p.hasLoginForm() || !strings.Contains(alertText(p), "incorrect") {
			t.Errorf("West's password in East: status %d %q", p.status, alertText(p))
		}
		// The reset through West changes West's password only.
		b := e.browser()
		a := newAuthz("web", webCB, "openid")
		codePage := b.forgotAs(t, a, config.IdentifierOrgEmail, "WEST", shared)
		code := mailtest.Code(mailsTo(t, smtp, shared, "password reset code", 1)[0].Text)
		tok := e.tokensFor(t, b.submitReset(t, codePage, code, newPass, newPass), a)
		if tok.IDTokenClaims.Subject != uw.ID {
			t.Errorf("the reset signed in %s, want West's %s", tok.IDTokenClaims.Subject, uw.ID)
		}
		if p := signIn("EAST", deskPass); !signedInTo(p, webCB) {
			t.Errorf("East's password stopped working after West's reset: status %d %q", p.status, alertText(p))
		}
	})
}

// TestAccountWithoutAddress: in the organization+username mode an account
// without a verified address signs in with its password, but cannot
// reset by mail (the same answer as any request, no mail) nor pass an
// emailed code: after the right password, and only then, the page says
// the account has no registered address.
func TestAccountWithoutAddress(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withMode(config.IdentifierOrgUsername),
			func(c *config.Config) { c.Clients[1].OTP = config.OTPAlways; c.Notify.Login = "always" })
		e.run()
		hotel := e.addOrg(t, "H1", "Hotel")
		noAddr := e.addMember(t, hotel, "", "cleaning1", deskPass, "", false)
		typed := e.addMember(t, hotel, "typo@hotel.example", "cleaning2", deskPass, "", false) // unverified

		for _, u := range []storage.User{noAddr, typed} {
			b := e.browser()
			a := newAuthz("web", webCB, "openid profile")
			tok := e.tokensFor(t, b.signInAs(t, b.get(a.url(e.cfg.Issuer)), "H1", u.Username, deskPass), a)
			if tok.IDTokenClaims.Subject != u.ID || tok.IDTokenClaims.PreferredUsername != u.Username {
				t.Errorf("%s: sub %s preferred_username %q", u.Username, tok.IDTokenClaims.Subject, tok.IDTokenClaims.PreferredUsername)
			}

			// The emailed code cannot be passed: said after the right
			// password only.
			b2 := e.browser()
			a2 := newAuthz("web2", web2CB, "openid")
			wrong := b2.signInAs(t, b2.get(a2.url(e.cfg.Issuer)), "H1", u.Username, "Wrong-pass-1!")
			if wrong.status != http.StatusOK || strings.Contains(alertText(wrong), "registered") {
				t.Errorf("%s, wrong password: status %d %q", u.Username, wrong.status, alertText(wrong))
			}
			right := b2.signInAs(t, b2.get(a2.url(e.cfg.Issuer)), "H1", u.Username, deskPass)
			if right.status != http.StatusForbidden || !strings.Contains(alertText(right), "no registered email address") ||
				!strings.Contains(alertText(right), "administrators") {
				t.Errorf("%s, code required: status %d %q", u.Username, right.status, alertText(right))
			}

			// No reset by mail: the page every request gets.
			r := e.browser().forgotAs(t, newAuthz("web", webCB, "openid"), config.IdentifierOrgUsername, "H1", u.Username)
			unknown := e.browser().forgotAs(t, newAuthz("web", webCB, "openid"), config.IdentifierOrgUsername, "H1", "nobody")
			if r.status != http.StatusOK || !r.hasForm("/reset/verify") || htmltest.Text(r.doc) != htmltest.Text(unknown.doc) {
				t.Errorf("%s: reset answer differs from an unknown account's", u.Username)
			}
			if n := e.audited(t, u.ID, "password_reset_requested", "failure", "no_address"); n != 1 {
				t.Errorf("%s: %d no_address reset refusals audited, want 1", u.Username, n)
			}
		}
		// Nothing was ever mailed to the unverified address (no code, no
		// sign-in notice, no reset).
		for _, tpl := range []string{"reset_code", "login_code", "login_notification"} {
			if n := e.outboxed(t, tpl, typed.Email); n != 0 {
				t.Errorf("%d %s mails to an unverified address", n, tpl)
			}
		}
		// The account page says there is no address.
		b := e.browser()
		login := b.get(e.cfg.Issuer + "/account")
		acct := b.signInAs(t, login, "H1", noAddr.Username, deskPass)
		if !strings.Contains(htmltest.Text(acct.doc), "Not registered") || acct.hasForm("/account/verify#profile") {
			t.Errorf("account page of an account without an address: %.400s", htmltest.Text(acct.doc))
		}
	})
}

// sameAnswer reports whether two failure pages are the same bytes once
// the request ids are blanked.
func sameAnswer(a, b page, idA, idB string) bool {
	return a.status == b.status && strings.ReplaceAll(a.body, idA, "ID") == strings.ReplaceAll(b.body, idB, "ID")
}

// TestFailuresAnswerAlike: an unknown organization, an unknown account and
// a wrong password get byte-identical pages (apart from the request id),
// with the same status, for the same typed values; each was audited as
// what it was.
func TestFailuresAnswerAlike(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, mode := range []string{config.IdentifierOrgUsername, config.IdentifierOrgEmail} {
			t.Run(mode, func(t *testing.T) {
				e := newEnv(t, newStore(t), withMode(mode))
				hotel := e.addOrg(t, "HOTEL", "Hotel")
				m := e.addMember(t, hotel, "desk@hotel.example", "desk", deskPass, "", true)
				account := "desk@hotel.example"
				if mode == config.IdentifierOrgUsername {
					account = "desk"
				}
				attempt := func() (page, string) {
					t.Helper()
					b := e.browser()
					p := b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))
					vals, _ := formInputs(t, p.doc, "/login")
					return b.signInAs(t, p, "HOTEL", account, "Wrong-pass-1!"), vals["id"]
				}
				wrong, idWrong := attempt()
				if err := e.store.DeleteUser(t.Context(), m.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
				unknownAccount, idAccount := attempt()
				if _, err := e.store.UpdateOrganization(t.Context(), hotel.ID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
					o.Code = "HOTEL-OLD"
					return o, nil, nil
				}); err != nil {
					t.Fatal(err)
				}
				unknownOrg, idOrg := attempt()
				if wrong.status != http.StatusOK || !wrong.hasLoginForm() || !strings.Contains(alertText(wrong), "incorrect") {
					t.Fatalf("wrong password: status %d %q", wrong.status, alertText(wrong))
				}
				if !sameAnswer(wrong, unknownAccount, idWrong, idAccount) {
					t.Errorf("unknown account answers otherwise than a wrong password:\n%s\n---\n%s", unknownAccount.body, wrong.body)
				}
				if !sameAnswer(wrong, unknownOrg, idWrong, idOrg) {
					t.Errorf("unknown organization answers otherwise than a wrong password:\n%s\n---\n%s", unknownOrg.body, wrong.body)
				}
				for _, detail := range []string{"unknown_account", "unknown_organization"} {
					if n := e.audited(t, "", "login", "failure", detail); n != 1 {
						t.Errorf("%d %s failures audited, want 1", n, detail)
					}
				}
				if n := e.audited(t, m.ID, "login", "failure", "wrong_password"); n != 1 {
					t.Errorf("%d wrong_password failures audited, want 1", n)
				}
			})
		}
	})
}

// TestOrganizationParameter: organization=CODE on /authorize pre-fills the
// organization, read-only; a different posted organization is ignored;
// an unknown code gets the ordinary answer after the password only; an
// SSO session of another organization's member does not answer it; the
// email mode ignores the parameter.
func TestOrganizationParameter(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), withMode(config.IdentifierOrgUsername))
		hotel, other := e.addOrg(t, "HOTEL", "Hotel"), e.addOrg(t, "OTHER", "Other")
		m := e.addMember(t, hotel, "", "desk", deskPass, "", false)
		o := e.addMember(t, other, "", "desk", otherDesk, "", false)

		open := func(b *browser, code string) (page, *authz) {
			a := newAuthz("web", webCB, "openid")
			a.extra.Set("organization", code)
			return b.get(a.url(e.cfg.Issuer)), a
		}
		b := e.browser()
		p, a := open(b, "hotel")
		var orgInput map[string]string
		_, inputs := formInputs(t, p.doc, "/login")
		for _, in := range inputs {
			if in["name"] == "organization" {
				orgInput = in
			}
		}
		if orgInput == nil || orgInput["value"] != "hotel" || orgInput["autocomplete"] != "organization" {
			t.Fatalf("organization input: %v", orgInput)
		}
		if _, ro := orgInput["readonly"]; !ro {
			t.Error("the organization named by the request is not read-only")
		}
		// The posted organization is ignored: the request's wins.
		tok := e.tokensFor(t, b.signInAs(t, p, "OTHER", "desk", deskPass), a)
		if tok.IDTokenClaims.Subject != m.ID {
			t.Errorf("signed in as %s, want Hotel's member %s", tok.IDTokenClaims.Subject, m.ID)
		}
		// Other's member with Other's password, on a request for Hotel:
		// the ordinary answer.
		b2 := e.browser()
		p2, _ := open(b2, "HOTEL")
		if r := b2.signInAs(t, p2, "OTHER", "desk", otherDesk); !r.hasLoginForm() || !strings.Contains(alertText(r), "incorrect") {
			t.Errorf("another organization's member: status %d %q", r.status, alertText(r))
		}

		// An unknown code: the same form before the password, the
		// ordinary answer after it.
		b3 := e.browser()
		p3, _ := open(b3, "NOPE")
		if !p3.hasLoginForm() || alertText(p3) != "" {
			t.Errorf("unknown organization before the password: status %d %q", p3.status, alertText(p3))
		}
		if r := b3.signInAs(t, p3, "", "desk", deskPass); !r.hasLoginForm() || !strings.Contains(alertText(r), "incorrect") {
			t.Errorf("unknown organization after the password: status %d %q", r.status, alertText(r))
		}
		// Not an organization code at all: invalid_request to the client.
		bad := newAuthz("web", webCB, "openid")
		bad.extra.Set("organization", "a\x01b")
		if loc := e.browser().get(bad.url(e.cfg.Issuer)).location(t); loc.Query().Get("error") != "invalid_request" {
			t.Errorf("a bad organization: %s", loc)
		}

		// b holds Hotel's member's session: a request for Other does not
		// reuse it (prompt=none: login_required), one for Hotel does.
		none := newAuthz("web", webCB, "openid")
		none.extra.Set("organization", "OTHER")
		none.extra.Set("prompt", "none")
		if loc := b.get(none.url(e.cfg.Issuer)).location(t); loc.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none for another organization: %s", loc)
		}
		same := newAuthz("web", webCB, "openid")
		same.extra.Set("organization", "HOTEL")
		same.extra.Set("prompt", "none")
		e.code(t, b.get(same.url(e.cfg.Issuer)), same)
		// Other's member signs in on a request for Other.
		bo := e.browser()
		po, ao := open(bo, "OTHER")
		if tok := e.tokensFor(t, bo.signInAs(t, po, "", "desk", otherDesk), ao); tok.IDTokenClaims.Subject != o.ID {
			t.Errorf("signed in as %s, want Other's member %s", tok.IDTokenClaims.Subject, o.ID)
		}

		// The email mode ignores the parameter.
		em := newEnv(t, newStore(t))
		eb := em.browser()
		ea := newAuthz("web", webCB, "openid")
		ea.extra.Set("organization", "HOTEL")
		ep := eb.get(ea.url(em.cfg.Issuer))
		accountInputs(t, ep, "/login", config.IdentifierEmail)
		em.tokensFor(t, eb.signInAs(t, ep, "", em.user.Email, userPass), ea)
	})
}

// TestClientOrganizations: a client limited to some organizations refuses
// a member of another one with the ordinary answer, after the password;
// such a member's SSO session is not reused for it.
func TestClientOrganizations(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), func(c *config.Config) { c.Clients[0].Organizations = []string{"hotel"} })
		hotel := e.addOrg(t, "HOTEL", "Hotel")
		m := e.addMember(t, hotel, "desk@hotel.example", "", deskPass, "", true)

		// Alice (the default organization) with her right password, and
		// with a wrong one: the same page.
		b := e.browser()
		p := b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))
		vals, _ := formInputs(t, p.doc, "/login")
		right := b.signInAs(t, p, "", e.user.Email, userPass)
		b2 := e.browser()
		p2 := b2.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))
		vals2, _ := formInputs(t, p2.doc, "/login")
		wrong := b2.signInAs(t, p2, "", e.user.Email, "Wrong-pass-1!")
		if !right.hasLoginForm() || !sameAnswer(right, wrong, vals["id"], vals2["id"]) {
			t.Errorf("a member of another organization: status %d %q, want the wrong-password page", right.status, alertText(right))
		}
		if n := e.audited(t, e.user.ID, "login", "failure", "client_organization"); n != 1 {
			t.Errorf("%d client_organization refusals audited, want 1", n)
		}
		// The hotel's member gets in.
		bm := e.browser()
		a := newAuthz("web", webCB, "openid")
		if tok := e.tokensFor(t, bm.signInAs(t, bm.get(a.url(e.cfg.Issuer)), "", m.Email, deskPass), a); tok.IDTokenClaims.Subject != m.ID {
			t.Errorf("signed in as %s", tok.IDTokenClaims.Subject)
		}
		// Alice's session from an unlimited client is not reused for web.
		ba := e.browser()
		a2 := newAuthz("web2", web2CB, "openid")
		e.code(t, ba.signInAs(t, ba.get(a2.url(e.cfg.Issuer)), "", e.user.Email, userPass), a2)
		none := newAuthz("web", webCB, "openid")
		none.extra.Set("prompt", "none")
		if loc := ba.get(none.url(e.cfg.Issuer)).location(t); loc.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none with another organization's session: %s", loc)
		}
		if p := ba.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)); !p.hasLoginForm() {
			t.Errorf("another organization's session answered for a limited client: status %d", p.status)
		}
	})
}

// TestClientOrganizationsReset: a reset started from a client limited to
// some organizations mails a code to a member of those only: another
// organization's member gets the same page and no mail (the refusal is
// audited), a member of a listed organization resets and the sign-in
// continues to the client, in the email and organization+email modes.
func TestClientOrganizationsReset(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		for _, mode := range []string{config.IdentifierEmail, config.IdentifierOrgEmail} {
			t.Run(mode, func(t *testing.T) {
				e := newEnvSMTP(t, newStore(t), smtp, withMode(mode), func(c *config.Config) { c.Clients[0].Organizations = []string{"hotel"} })
				e.run()
				hotel := e.addOrg(t, "HOTEL", "Hotel")
				shop := e.addOrg(t, "SHOP", "Shop")
				member := e.addMember(t, hotel, "desk-"+mode+"@hotel.example", "", deskPass, "", true)
				outsider := e.addMember(t, shop, "clerk-"+mode+"@shop.example", "", deskPass, "", true)

				refused := e.browser().forgotAs(t, newAuthz("web", webCB, "openid"), mode, "shop", outsider.Email)
				unknown := e.browser().forgotAs(t, newAuthz("web", webCB, "openid"), mode, "shop", "nobody-"+mode+"@shop.example")
				if !refused.hasForm("/reset/verify") || !unknown.hasForm("/reset/verify") ||
					htmltest.Text(refused.doc) != htmltest.Text(unknown.doc) {
					t.Errorf("another organization's member: status %d, want the page an unknown address gets", refused.status)
				}
				if n := e.audited(t, outsider.ID, "password_reset_requested", "failure", "client_organization"); n != 1 {
					t.Errorf("%d client_organization refusals of the reset audited, want 1", n)
				}

				b := e.browser()
				a := newAuthz("web", webCB, "openid")
				codePage := b.forgotAs(t, a, mode, "hotel", member.Email)
				code := mailtest.Code(mailsTo(t, smtp, member.Email, "password reset code", 1)[0].Text)
				if tok := e.tokensFor(t, b.submitReset(t, codePage, code, newPass, newPass), a); tok.IDTokenClaims.Subject != member.ID {
					t.Errorf("the reset signed in %s, want the hotel's member", tok.IDTokenClaims.Subject)
				}
				// The mail that was sent last is the member's: none went to
				// the other organization's member.
				for _, m := range smtp.Messages() {
					if mailtest.To(outsider.Email)(m) {
						t.Errorf("a mail went to the other organization's member: %q", m.Subject)
					}
				}
			})
		}
	})
}

// getBearer sends GET path with a bearer token and decodes the JSON.
func (e *env) getBearer(t *testing.T, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.cfg.Issuer+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// memberClaims picks the organization and role claims of a claim set
// ("-" for an absent one).
func memberClaims(m map[string]any) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"org_id", "org_code", "org_name", "roles"} {
		v, ok := m[k]
		switch {
		case !ok:
			out[k] = "-"
		case k == "roles":
			b, _ := json.Marshal(v)
			out[k] = string(b)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// TestMemberClaims: scope organization gives org_id, org_code and
// org_name, scope roles gives roles (the member's one role, or an empty
// list), in the ID token, userinfo and introspection, to clients that
// list the scopes; a refreshed ID token carries the role held at the
// refresh; discovery announces the scopes and claims. Only a typed
// password moves last_login_at: not the reuse of the SSO session, not a
// refresh.
func TestMemberClaims(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), withMode(config.IdentifierOrgUsername), withRoles, func(c *config.Config) {
			c.Clients[0].Scopes = append(c.Clients[0].Scopes, "organization", "roles")
		})
		hotel := e.addOrg(t, "HOTEL-7", "Hotel Seven")
		m := e.addMember(t, hotel, "", "desk", deskPass, "staff", false)
		staff := map[string]string{"org_id": hotel.ID, "org_code": "HOTEL-7", "org_name": "Hotel Seven", "roles": `["staff"]`}
		none := map[string]string{"org_id": "-", "org_code": "-", "org_name": "-", "roles": "-"}

		_, disco := getJSON(t, e.cfg.Issuer+"/.well-known/openid-configuration")
		for field, want := range map[string][]string{"scopes_supported": {"organization", "roles"},
			"claims_supported": {"org_id", "org_code", "org_name", "roles"}} {
			got := fmt.Sprint(disco[field])
			for _, w := range want {
				if !strings.Contains(" "+strings.Trim(got, "[]")+" ", " "+w+" ") {
					t.Errorf("discovery %s = %s, lacks %s", field, got, w)
				}
			}
		}

		b := e.browser()
		a := newAuthz("web", webCB, "openid organization roles offline_access")
		tok := e.tokensFor(t, b.signInAs(t, b.get(a.url(e.cfg.Issuer)), "HOTEL-7", "desk", deskPass), a)
		signedIn := e.reload(t, m.ID).LastLoginAt
		if signedIn == nil {
			t.Fatal("no last_login_at after a typed password")
		}
		if diff := cmp.Diff(staff, memberClaims(tok.IDTokenClaims.Claims)); diff != "" {
			t.Errorf("ID token claims (-want +got):\n%s", diff)
		}
		status, ui := e.getBearer(t, "/userinfo", tok.AccessToken)
		if diff := cmp.Diff(staff, memberClaims(ui)); status != http.StatusOK || diff != "" {
			t.Errorf("userinfo status %d (-want +got):\n%s", status, diff)
		}
		status, in := e.postJSON(t, "/oauth/introspect", "rs", rsSecret, url.Values{"token": {tok.AccessToken}})
		if diff := cmp.Diff(staff, memberClaims(in)); status != http.StatusOK || in["active"] != true || diff != "" {
			t.Errorf("introspection status %d active %v (-want +got):\n%s", status, in["active"], diff)
		}

		// Later: the SSO session answers without the scopes, and a client
		// that does not list them does not get them.
		e.clock.add(time.Hour)
		plain := newAuthz("web", webCB, "openid")
		if got := memberClaims(e.tokensFor(t, b.get(plain.url(e.cfg.Issuer)), plain).IDTokenClaims.Claims); !cmp.Equal(none, got) {
			t.Errorf("without the scopes: %v", got)
		}
		unlisted := newAuthz("web2", web2CB, "openid organization roles")
		tok2, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid", "organization", "roles"),
			e.code(t, b.get(unlisted.url(e.cfg.Issuer)), unlisted), unlisted)
		if err != nil {
			t.Fatal(err)
		}
		if got := memberClaims(tok2.IDTokenClaims.Claims); !cmp.Equal(none, got) {
			t.Errorf("a client that does not list the scopes: %v", got)
		}

		// Refreshes carry the role of the moment.
		refreshed := func(rt string) (string, map[string]string) {
			t.Helper()
			status, resp := e.refresh(t, rt)
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, resp)
			}
			idt, _ := resp["id_token"].(string)
			_, claims := jwtParts(t, idt)
			return resp["refresh_token"].(string), memberClaims(claims)
		}
		setRole := func(role string) {
			t.Helper()
			if _, err := e.store.UpdateUser(t.Context(), m.ID, func(u storage.User) (storage.User, error) {
				u.Role = role
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		rt, got := refreshed(tok.RefreshToken)
		if diff := cmp.Diff(staff, got); diff != "" {
			t.Errorf("first refresh (-want +got):\n%s", diff)
		}
		setRole("admin")
		rt, got = refreshed(rt)
		if got["roles"] != `["admin"]` {
			t.Errorf("refresh after the role changed: roles %s, want [\"admin\"]", got["roles"])
		}
		setRole("")
		if _, got = refreshed(rt); got["roles"] != `[]` {
			t.Errorf("refresh without a role: roles %s, want []", got["roles"])
		}

		// Neither the SSO session's answers nor the refreshes moved
		// last_login_at; a typed password does.
		if at := e.reload(t, m.ID).LastLoginAt; at == nil || !at.Equal(*signedIn) {
			t.Errorf("last_login_at %v after SSO reuse and refreshes, want %v", at, signedIn)
		}
		again := newAuthz("web", webCB, "openid")
		again.extra.Set("prompt", "login")
		e.code(t, b.signInAs(t, b.get(again.url(e.cfg.Issuer)), "HOTEL-7", "desk", deskPass), again)
		if at := e.reload(t, m.ID).LastLoginAt; at == nil || !at.After(signedIn.Add(59*time.Minute)) {
			t.Errorf("last_login_at %v after a typed password an hour later, want after %v", at, signedIn.Add(time.Hour))
		}
	})
}

// TestOrganizationThrottleBurst: in the organization+username mode the
// account's throttle counts per organization and account name, however
// they are typed, and holds under 40 concurrent wrong passwords, on one
// replica and on two: no more checks than throttle.free_failures, then
// even the right password waits, while the same account name in another
// organization signs in. The account page's current-password check takes
// from the same count as the form.
func TestOrganizationThrottleBurst(t *testing.T) {
	run := func(t *testing.T, replicas []*env) {
		e := replicas[0]
		hotel, inn := e.addOrg(t, "HOTEL", "Hotel"), e.addOrg(t, "INN", "Inn")
		h := e.addMember(t, hotel, "", "desk", deskPass, "", false)
		in := e.addMember(t, inn, "", "desk", otherDesk, "", false)
		free := e.cfg.Throttle.FreeFailures

		b := e.browser()
		id := loginID(t, b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)))
		typed := [][2]string{{"HOTEL", "desk"}, {"hotel", "DESK"}, {"ＨＯＴＥＬ", "Desk"}, {" Hotel ", "desk"}}
		concurrently(t, b, replicas, wrongTries, func(i int, base string) *http.Request {
			f := typed[i%len(typed)]
			return b.postRequest(base+"/login", url.Values{"id": {id}, "organization": {f[0]}, "username": {f[1]},
				"password": {"Wrong-password-1!"}}, e.cfg.Issuer)
		})
		if n := e.audited(t, h.ID, "login", "failure", "wrong_password"); n != free {
			t.Errorf("%d wrong passwords checked, want %d (throttle.free_failures)", n, free)
		}
		right := e.browser()
		if r := right.signInAs(t, right.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), "hotel", "desk", deskPass); signedInTo(r, webCB) {
			t.Error("the right password signed in during the delay")
		}
		other := e.browser()
		a := newAuthz("web", webCB, "openid")
		e.code(t, other.signInAs(t, other.get(a.url(e.cfg.Issuer)), "inn", "desk", otherDesk), a)

		// The account page of INN/desk: 40 wrong current passwords.
		concurrently(t, other, replicas, wrongTries, func(_ int, base string) *http.Request {
			return other.postRequest(base+"/account/password", url.Values{"current_password": {"Wrong-password-1!"},
				"password": {newPass}, "confirm": {newPass}}, e.cfg.Issuer)
		})
		if n := e.audited(t, in.ID, "password_check", "failure", "account_page"); n != free {
			t.Errorf("%d current passwords checked, want %d", n, free)
		}
		fresh := e.browser()
		if r := fresh.signInAs(t, fresh.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), "INN", "desk", otherDesk); signedInTo(r, webCB) {
			t.Error("the sign-in form did not share the account page's count")
		}
		// After the delay both sign in.
		e.clock.add(e.cfg.Throttle.BaseDelay.D() + time.Second)
		for _, c := range [][3]string{{"HOTEL", "desk", deskPass}, {"INN", "desk", otherDesk}} {
			bb := e.browser()
			aa := newAuthz("web", webCB, "openid")
			e.code(t, bb.signInAs(t, bb.get(aa.url(e.cfg.Issuer)), c[0], c[1], c[2]), aa)
		}
	}
	slow := func(c *config.Config) { c.Throttle.BaseDelay = config.Duration(time.Minute) }
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		run(t, []*env{newEnv(t, newStore(t), withMode(config.IdentifierOrgUsername), slow)})
	})
	t.Run("two replicas", func(t *testing.T) {
		dsn := gormstoretest.PostgresDSN(t)
		a := newEnv(t, openPostgres(t, dsn), withMode(config.IdentifierOrgUsername), slow)
		run(t, []*env{a, a.second(openPostgres(t, dsn))})
	})
}

// TestResetLinksNameTheOrganization: in the organization+username mode a
// reset link (a product's, or a reminder's) fills in the organization,
// read-only, and the account name; the reminder of an imported account
// names both, and its reset migrates the account.
func TestResetLinksNameTheOrganization(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withMode(config.IdentifierOrgUsername), withLegacy)
		e.run()
		hotel := e.addOrg(t, "HOTEL", "Hotel")
		res, err := e.store.ImportLegacyUsers(t.Context(), []storage.LegacyUser{{OrganizationID: hotel.ID, Username: "kei",
			LegacyID: "L-9", Email: "kei@hotel.example", Name: "Kei"}}, time.Now(), false)
		if err != nil || len(res) != 1 || res[0].Outcome != storage.ImportCreated {
			t.Fatalf("import: %+v %v", res, err)
		}
		flow, err := server.CLIFlow(server.Options{Config: e.cfg, Store: e.store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := flow.RemindUnmigrated(t.Context(), login.Reminder{DefaultLang: "en"}); err != nil || r.Queued != 1 {
			t.Fatalf("remind: %+v %v", r, err)
		}
		link := mailtest.Link(mailsTo(t, smtp, "kei@hotel.example", "", 1)[0].Text, e.cfg.Issuer+"/reset?")
		if u, _ := url.Parse(link); u == nil || u.Query().Get("organization") != "HOTEL" || u.Query().Get("login_hint") != "kei" {
			t.Fatalf("the reminder's link %q does not name the organization and the account", link)
		}
		b := e.browser()
		p := b.get(link)
		vals, inputs := formInputs(t, p.doc, "/reset")
		for _, in := range inputs {
			if _, ro := in["readonly"]; in["name"] == "organization" && !ro {
				t.Error("the link's organization is not read-only")
			}
		}
		if vals["organization"] != "HOTEL" || vals["username"] != "kei" {
			t.Fatalf("reset form filled with %v", vals)
		}
		// The organization posted is ignored: the link's wins.
		vals["organization"] = "ELSEWHERE"
		form := url.Values{}
		for k, v := range vals {
			form.Set(k, v)
		}
		codePage := b.post(e.cfg.Issuer+"/reset", form, e.cfg.Issuer)
		code := mailtest.Code(mailsTo(t, smtp, "kei@hotel.example", "password reset code", 1)[0].Text)
		done := b.submitReset(t, codePage, code, newPass, newPass)
		if done.status != http.StatusOK || done.url.Path != "/account" {
			t.Fatalf("after the reset: status %d at %s", done.status, done.url)
		}
		if u, err := e.store.GetUserByLegacyID(t.Context(), "L-9"); err != nil || u.MigratedAt == nil || !u.EmailVerified {
			t.Errorf("not migrated by the reset: %+v %v", u, err)
		}
		// A product's link: the same fields; a bad code is refused.
		q := url.Values{"client_id": {"web"}, "return_to": {webHome}, "organization": {"hotel"}, "login_hint": {"kei"}}
		vals, _ = formInputs(t, e.browser().get(e.cfg.Issuer+"/reset?"+q.Encode()).doc, "/reset")
		if vals["organization"] != "hotel" || vals["username"] != "kei" {
			t.Errorf("product link: reset form filled with %v", vals)
		}
		q.Set("organization", "a\x01b")
		if p := e.browser().get(e.cfg.Issuer + "/reset?" + q.Encode()); p.status != http.StatusBadRequest {
			t.Errorf("a bad organization in a reset link: status %d", p.status)
		}
	})
}
