package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// callbacks is a relying party's redirect URI that records the
// authorization responses the browser brings.
type callbacks struct {
	url string
	got chan url.Values
}

func newCallbacks(t *testing.T) *callbacks {
	t.Helper()
	c := &callbacks{got: make(chan url.Values, 8)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser's favicon.ico
			return
		}
		c.got <- r.URL.Query()
		io.WriteString(w, "signed in")
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/callback"
	return c
}

// next is the next authorization response's code (its state checked).
func (c *callbacks) next(t *testing.T, a *authz) string {
	t.Helper()
	select {
	case q := <-c.got:
		if q.Get("error") != "" || q.Get("state") != a.state || q.Get("code") == "" {
			t.Fatalf("authorization response %v", q)
		}
		return q.Get("code")
	case <-time.After(waitLimit):
		t.Fatal("no authorization response")
	}
	return ""
}

// none reports that no authorization response came.
func (c *callbacks) none(t *testing.T) {
	t.Helper()
	select {
	case q := <-c.got:
		t.Errorf("an authorization response came: %v", q)
	default:
	}
}

// withPasskeys serves the provider at http://localhost:PORT (browsers
// refuse an IP address as a relying party id) and registers cb as one
// more redirect URI of the "web" client.
func withPasskeys(cb string) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.Issuer = strings.Replace(cfg.Issuer, "http://127.0.0.1:", "http://localhost:", 1)
		cfg.Clients[0].RedirectURIs = append(cfg.Clients[0].RedirectURIs, cb)
	}
}

// authenticator gives the tab a virtual platform authenticator (CTAP2,
// resident keys, user verification that succeeds, presence simulated).
func (p *person) authenticator() webauthn.AuthenticatorID {
	p.t.Helper()
	id := p.virtualAuthenticator()
	// The virtual authenticator answers a conditional (autofill) request
	// at once, which would sign in as soon as the page loads: the test
	// presses the button instead, and sees the page first.
	if _, err := chromedp.Call(p.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`}); err != nil {
		p.t.Fatalf("Page.addScriptToEvaluateOnNewDocument: %v", err)
	}
	return id
}

// virtualAuthenticator is authenticator with conditional requests left
// as they are.
func (p *person) virtualAuthenticator() webauthn.AuthenticatorID {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		p.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(p.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		p.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// waitFor polls the page until the expression js is true (pages come and
// go meanwhile), or fails the test after waitLimit.
func (p *person) waitFor(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			p.t.Fatalf("waiting for %s: %v at %s: %q", what, err, p.path(), p.text("main"))
		}
		select {
		case <-p.ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// jsClick clicks sel from the page's script, without waiting for a page:
// the passkey forms submit once the authenticator has answered.
func (p *person) jsClick(sel string) {
	p.t.Helper()
	p.waitFor(sel+" shown", fmt.Sprintf(`(e => e && e.offsetParent !== null)(document.querySelector(%q))`, sel))
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))); err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
}

// atCallback waits until the tab shows the relying party's page, loaded
// (a navigation begun before it has would race with it).
func (p *person) atCallback() {
	p.t.Helper()
	p.waitFor("the relying party's page", `location.pathname === "/callback" && document.readyState === "complete"`)
}

// keepAnswers makes the page keep what its forms submit (the cookie
// "answer", which outlives the redirect to the relying party), for a
// replay.
func (p *person) keepAnswers() {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`(() => {
		const submit = HTMLFormElement.prototype.submit;
		HTMLFormElement.prototype.submit = function () {
			const kept = {};
			for (const f of this.querySelectorAll("input[name]")) kept[f.name] = f.value;
			document.cookie = "answer=" + encodeURIComponent(JSON.stringify(kept)) + "; path=/";
			submit.call(this);
		};
		return true;
	})()`)); err != nil {
		p.t.Fatal(err)
	}
}

// keptAnswer is the form kept by keepAnswers.
func (p *person) keptAnswer() url.Values {
	p.t.Helper()
	s, err := url.QueryUnescape(p.cookie(p.base, "answer"))
	var kept map[string]string
	if err != nil || json.Unmarshal([]byte(s), &kept) != nil {
		p.t.Fatalf("the kept answer %q: %v", s, err)
	}
	form := url.Values{}
	for k, v := range kept {
		form.Set(k, v)
	}
	return form
}

// cookie is the value of the tab's cookie name for base.
func (p *person) cookie(base, name string) string {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestBrowserPasskeys drives passkeys in chromium with its virtual
// authenticator, on SQLite and on PostgreSQL with two replicas.
func TestBrowserPasskeys(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		cb := newCallbacks(t)
		e := newEnv(t, gormstoretest.NewSQLite(t), withPasskeys(cb.url))
		e.run()
		testBrowserPasskeys(t, e, e, cb)
	})
	t.Run("postgres", func(t *testing.T) {
		screenshotsOnce(t)
		dsn := gormstoretest.PostgresDSN(t)
		cb := newCallbacks(t)
		e := newEnv(t, openPostgres(t, dsn), withPasskeys(cb.url))
		e.run()
		testBrowserPasskeys(t, e, e.second(openPostgres(t, dsn)), cb)
	})
}

// testBrowserPasskeys: a passkey registered on /account (named, listed,
// the first strong factor's recovery codes shown); signed out, a
// passwordless sign-in at the relying party gives an ID token with amr
// hwk, user, mfa and acr passkey; the ceremony's answer replayed (on the
// other replica) is refused; after a password, the passkey is the second
// factor (amr pwd, hwk, user, mfa); a copy of the credential with an
// older counter in another authenticator is refused and audited.
func testBrowserPasskeys(t *testing.T, e, replica *env, cb *callbacks) {
	browser := newChromium(t)
	alice := newPerson(t, browser, e.cfg.Issuer)
	key := alice.authenticator()
	alice.open("/account")
	if status := alice.signIn(e.user.Email, userPass); status != http.StatusOK || alice.path() != "/account" {
		t.Fatalf("sign in to the account page: %d at %s", status, alice.path())
	}

	// Register.
	alice.typeInto("#passkey-new-name", "Work laptop")
	alice.jsClick("#passkey-add button[type=submit]")
	alice.waitFor("the passkey listed", `document.querySelectorAll("#passkeys li").length === 1`)
	if got := alice.text("#recovery-codes"); strings.Count(got, "-") != 10 {
		t.Errorf("recovery codes of the first strong factor: %q", got)
	}
	if got := alice.text("#passkeys"); !strings.Contains(got, "Work laptop") || !strings.Contains(got, "Not used yet") {
		t.Errorf("the list: %q", got)
	}
	pks, err := e.store.ListPasskeys(t.Context(), e.user.ID)
	if err != nil || len(pks) != 1 || pks[0].Name != "Work laptop" || pks[0].BackupEligible {
		t.Fatalf("stored passkeys: %+v (%v)", pks, err)
	}
	if events, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: e.user.ID, Type: "mfa_enrol"}); len(events) != 1 ||
		events[0].Detail != "passkey" {
		t.Errorf("audit of the enrolment: %+v", events)
	}
	titles := map[string]string{"ja": "パスキー", "en": "Passkeys"}
	for _, lang := range []string{"ja", "en"} {
		alice.emulate(devices[1])
		alice.open("/account?lang=" + lang + "#mfa")
		if got := alice.text("#passkeys-title"); got != titles[lang] {
			t.Errorf("%s: passkeys heading %q", lang, got)
		}
		alice.fitsWidth("the passkeys on a phone")
		alice.shootHere("passkey-account", lang)
	}
	alice.emulate(devices[0])

	// Sign out, then sign in without a password.
	alice.open("/logout")
	alice.press("main form button[type=submit]")
	a := newAuthz("web", cb.url, "openid")
	alice.open(a.url(e.cfg.Issuer))
	if got := alice.value(`input[autocomplete~="username"]`); got != "" {
		t.Errorf("account field after signing out: %q", got)
	}
	ac, err := chromedp.Run(alice.ctx, chromedp.Evaluate[string](`document.querySelector("#email").autocomplete`))
	if err != nil || ac != "username webauthn" {
		t.Errorf("account field autocomplete %q (%v)", ac, err)
	}
	for _, lang := range []string{"ja", "en"} {
		alice.emulate(devices[1])
		alice.switchTo(lang)
		alice.waitFor("the passkey button", `!document.getElementById("passkey-signin").hidden`)
		alice.fitsWidth("the sign-in page on a phone")
		alice.shootHere("passkey-signin", lang)
	}
	alice.emulate(devices[0])
	alice.keepAnswers()
	alice.jsClick("#passkey-button")
	code := cb.next(t, a)
	alice.atCallback()

	// The answer again, on the other replica: its ceremony was used.
	answer := alice.keptAnswer()
	if answer.Get("ceremony") == "" || answer.Get("credential") == "" || answer.Get("id") == "" {
		t.Fatalf("kept answer %v", answer)
	}
	replay := replica.browser()
	u, _ := url.Parse(replica.ts.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: login.StepCookie, Value: alice.cookie(e.cfg.Issuer, login.StepCookie)}})
	p := replay.post(replica.ts.URL+"/login/passkey", answer, "")
	if p.status != http.StatusOK || !strings.Contains(alertText(p), "expired or was already used") {
		t.Errorf("replayed answer: %d %q", p.status, alertText(p))
	}
	cb.none(t)

	tok, err := e.exchange(t, e.rp("web", webSecret, cb.url, "openid"), code, a)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := strings.Join(tok.IDTokenClaims.AuthenticationMethodsReferences, " "); got != "hwk user mfa" {
		t.Errorf("passwordless amr %q", got)
	}
	if got := tok.IDTokenClaims.AuthenticationContextClassReference; got != login.ACRPasskey {
		t.Errorf("passwordless acr %q", got)
	}

	// After a password, the passkey is the second factor.
	alice.open("/logout")
	alice.press("main form button[type=submit]")
	a2 := newAuthz("web", cb.url, "openid")
	alice.open(a2.url(e.cfg.Issuer))
	alice.signIn(e.user.Email, userPass)
	steps := map[string]string{"ja": "パスキーを使う", "en": "Use a passkey"}
	for _, lang := range []string{"ja", "en"} {
		alice.emulate(devices[1])
		alice.press(`.lang-switch-form button[value="` + lang + `"]`)
		if got := alice.text("#mfa-passkey"); got != steps[lang] {
			t.Fatalf("%s: the second-factor step's passkey button %q at %s: %q", lang, got, alice.path(), alice.text("main"))
		}
		alice.fitsWidth("the passkey step on a phone")
		alice.shootHere("passkey-step", lang)
	}
	alice.emulate(devices[0])
	alice.jsClick("#mfa-passkey")
	code = cb.next(t, a2)
	alice.atCallback()
	tok, err = e.exchange(t, e.rp("web", webSecret, cb.url, "openid"), code, a2)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := strings.Join(tok.IDTokenClaims.AuthenticationMethodsReferences, " "); got != "pwd hwk user mfa" {
		t.Errorf("second-factor amr %q", got)
	}
	if got := tok.IDTokenClaims.AuthenticationContextClassReference; got != login.ACRPasskey {
		t.Errorf("second-factor acr %q", got)
	}
	pks, _ = e.store.ListPasskeys(t.Context(), e.user.ID)
	if len(pks) != 1 || pks[0].LastUsedAt == nil || pks[0].SignCount < 2 {
		t.Fatalf("after two uses: %+v", pks)
	}

	// A copy of the credential whose counter starts over, in another
	// browser's authenticator.
	creds, err := chromedp.Call(alice.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: key})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials of the authenticator: %v (%v)", creds, err)
	}
	mallory := newPerson(t, browser, e.cfg.Issuer)
	mallory.addCredential(mallory.authenticator(), creds.Credentials[0], 0)
	a3 := newAuthz("web", cb.url, "openid")
	mallory.open(a3.url(e.cfg.Issuer))
	mallory.jsClick("#passkey-button")
	mallory.waitFor("the refusal", `document.getElementById("login-error")`)
	if got := mallory.text("#login-error"); !strings.Contains(got, "old counter") {
		t.Errorf("the cloned passkey's answer: %q", got)
	}
	cb.none(t)
	if events, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: e.user.ID, Type: login.EventPasskeyCloned}); len(events) != 1 {
		t.Errorf("audit of the clone: %+v", events)
	}
	if after, _ := e.store.ListPasskeys(t.Context(), e.user.ID); len(after) != 1 || after[0].SignCount != pks[0].SignCount {
		t.Errorf("the refused clone moved the counter: %+v, was %d", after, pks[0].SignCount)
	}
}

// TestBrowserPasskeyEnrolment: under mfa.policy required, a user without
// a factor may register a passkey at sign-in instead of an authenticator
// app: the recovery codes are shown once, the application gets amr pwd,
// hwk, user, mfa, and the app's unfinished set-up is gone. In another
// browser holding the passkey, the sign-in page's autofill request
// (conditional UI) signs in without a press. On /account the passkey is
// renamed, then removed after a confirmation.
func TestBrowserPasskeyEnrolment(t *testing.T) {
	cb := newCallbacks(t)
	e := newEnv(t, gormstoretest.NewSQLite(t), withPasskeys(cb.url), func(cfg *config.Config) { cfg.MFA.Policy = "required" })
	e.run()
	browser := newChromium(t)
	bob := newPerson(t, browser, e.cfg.Issuer)
	bobKey := bob.authenticator()
	a := newAuthz("web", cb.url, "openid")
	bob.open(a.url(e.cfg.Issuer))
	bob.signIn(e.other.Email, otherPass)
	titles := map[string]string{"ja": "または、代わりにパスキーを登録", "en": "Or add a passkey instead"}
	for _, lang := range []string{"ja", "en"} {
		bob.emulate(devices[1])
		bob.press(`.lang-switch-form button[value="` + lang + `"]`)
		if got := bob.text("#enrol-passkey-title"); got != titles[lang] {
			t.Fatalf("%s: enrolment's passkey heading %q at %s: %q", lang, got, bob.path(), bob.text("main"))
		}
		bob.fitsWidth("the enrolment on a phone")
		bob.shootHere("passkey-enrol", lang)
	}
	bob.emulate(devices[0])
	bob.typeInto("#enrol-passkey-name", "Phone")
	bob.jsClick("#mfa-enrol-passkey-form button[type=submit]")
	bob.waitFor("the recovery codes", `document.getElementById("recovery-codes")`)
	if got := bob.text("#recovery-codes"); strings.Count(got, "-") != 10 {
		t.Errorf("recovery codes: %q", got)
	}
	bob.press("#mfa-continue")
	code := cb.next(t, a)
	bob.atCallback()
	tok, err := e.exchange(t, e.rp("web", webSecret, cb.url, "openid"), code, a)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := strings.Join(tok.IDTokenClaims.AuthenticationMethodsReferences, " "); got != "pwd hwk user mfa" {
		t.Errorf("amr %q", got)
	}
	if pks, err := e.store.ListPasskeys(t.Context(), e.other.ID); err != nil || len(pks) != 1 || pks[0].Name != "Phone" {
		t.Errorf("passkeys %+v (%v)", pks, err)
	}
	if _, err := e.store.GetTOTP(t.Context(), e.other.ID); err == nil {
		t.Error("the unfinished authenticator app stayed")
	}

	// The same passkey in another browser whose autofill offers it
	// (conditional UI): the sign-in page signs in without a press.
	creds, err := chromedp.Call(bob.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: bobKey})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials of the authenticator: %v (%v)", creds, err)
	}
	carol := newPerson(t, browser, e.cfg.Issuer)
	carol.addCredential(carol.virtualAuthenticator(), creds.Credentials[0], int(creds.Credentials[0].SignCount))
	a2 := newAuthz("web", cb.url, "openid")
	carol.open(a2.url(e.cfg.Issuer))
	cb.next(t, a2)
	carol.atCallback()

	// On /account: renamed, then removed (the last strong factor: asked
	// first); the recovery codes go with it.
	bob.open("/account#mfa")
	bob.waitFor("the passkey listed", `document.querySelectorAll("#passkeys li").length === 1`)
	id := e.passkeyID(t, e.other.ID)
	bob.setValue("passkey-name-"+id, "My phone")
	bob.press(".passkey-rename button[type=submit]")
	if got := bob.text("#passkeys"); !strings.Contains(got, "My phone") || !strings.Contains(bob.text("#mfa-notice"), "renamed") {
		t.Errorf("after renaming: %q / %q", got, bob.text("#mfa-notice"))
	}
	bob.press(".passkey-remove button[type=submit]")
	if bob.count(".passkey-remove-confirm") != 1 {
		t.Fatalf("removing the last strong factor was not asked to be confirmed: %q", bob.text("#mfa"))
	}
	bob.press(".passkey-remove-confirm button[type=submit]")
	if bob.count("#passkeys-none") != 1 || !strings.Contains(bob.text("#mfa-notice"), "removed") {
		t.Errorf("after removing: %q", bob.text("#mfa"))
	}
	if n, _ := e.store.CountRecoveryCodes(t.Context(), e.other.ID); n != 0 {
		t.Errorf("%d recovery codes left after the last factor went", n)
	}
	if events, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: e.other.ID, Type: "mfa_remove"}); len(events) != 1 ||
		events[0].Detail != "passkey" {
		t.Errorf("audit of the removal: %+v", events)
	}
}

// passkeyID is the id of the user's one passkey.
func (e *env) passkeyID(t *testing.T, userID string) string {
	t.Helper()
	pks, err := e.store.ListPasskeys(t.Context(), userID)
	if err != nil || len(pks) != 1 {
		t.Fatalf("passkeys %+v (%v)", pks, err)
	}
	return pks[0].ID
}

// setValue sets the value of the input with the id, as typed.
func (p *person) setValue(id, value string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](fmt.Sprintf(
		`(e => (e.value = %q, true))(document.getElementById(%q))`, value, id))); err != nil {
		p.t.Fatalf("set %s: %v", id, err)
	}
}

// addCredential adds a copy of c, its counter at signCount, to the tab's
// authenticator key (as this chromium takes it: its protocol has no CMTG
// fields yet).
func (p *person) addCredential(key webauthn.AuthenticatorID, c *webauthn.Credential, signCount int) {
	p.t.Helper()
	type credential struct {
		CredentialID         []byte `json:"credentialId"`
		IsResidentCredential bool   `json:"isResidentCredential"`
		RpID                 string `json:"rpId"`
		PrivateKey           []byte `json:"privateKey"`
		UserHandle           []byte `json:"userHandle"`
		SignCount            int    `json:"signCount"`
	}
	type params struct {
		AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
		Credential      credential               `json:"credential"`
	}
	add := cdp.Command[params, cdp.Empty]{Method: webauthn.CommandAddCredential}
	if _, err := chromedp.Call(p.ctx, add, params{AuthenticatorID: key, Credential: credential{CredentialID: c.CredentialID,
		IsResidentCredential: true, RpID: c.RpID, PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: signCount}}); err != nil {
		p.t.Fatalf("WebAuthn.addCredential: %v", err)
	}
}
