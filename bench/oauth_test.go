package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
)

// loginPage is the shape of templates/html/login.html as rendered.
const loginPage = `<!doctype html><html lang="en"><body>
<form method="post" action="/language" class="lang"><input type="hidden" name="lang" value="ja"><button>日本語</button></form>
<main><h1>Sign in</h1>
<form method="post" action="/login" class="stack">
<input type="hidden" name="id" value="V1StGXR8_Z5jdHi6B&amp;myT">
<div class="field">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" maxlength="254" required value="" autofocus>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
</div>
<button type="submit" class="button primary">Sign in</button>
</form>
</main></body></html>`

func TestParseLoginForm(t *testing.T) {
	f, err := parseLoginForm(loginPage)
	if err != nil {
		t.Fatal(err)
	}
	if f.Action != "/login" {
		t.Errorf("action = %q", f.Action)
	}
	if len(f.Hidden) != 1 || f.Hidden["id"] != "V1StGXR8_Z5jdHi6B&myT" {
		t.Errorf("hidden = %v", f.Hidden)
	}

	single := `<FORM action='/login?x=1' METHOD=POST><input value="abc" type=hidden name=id><input type="password" name="password"></FORM>`
	f, err = parseLoginForm(single)
	if err != nil {
		t.Fatal(err)
	}
	if f.Action != "/login?x=1" || f.Hidden["id"] != "abc" {
		t.Errorf("got %+v", f)
	}

	if _, err := parseLoginForm(`<p>Something went wrong</p>`); err == nil {
		t.Error("page without a form accepted")
	}
	if _, err := parseLoginForm(`<form method="get" action="/login"><input name="password"></form>`); err == nil {
		t.Error("GET form accepted")
	}
}

func TestParseCallback(t *testing.T) {
	const redirect = "http://127.0.0.1:8080/bench/callback"
	const iss = "http://127.0.0.1:8080"
	code, err := parseCallback(redirect+"?code=abc&state=s1&iss=http%3A%2F%2F127.0.0.1%3A8080", redirect, "s1", iss)
	if err != nil || code != "abc" {
		t.Errorf("good callback: %q, %v", code, err)
	}
	if code, err := parseCallback(redirect+"?code=abc&state=s1", redirect, "s1", iss); err != nil || code != "abc" {
		t.Errorf("callback without iss: %q, %v", code, err)
	}
	for name, loc := range map[string]string{
		"state mismatch": redirect + "?code=abc&state=other",
		"error":          redirect + "?error=access_denied&state=s1",
		"no code":        redirect + "?state=s1",
		"wrong iss":      redirect + "?code=abc&state=s1&iss=http://evil",
		"other path":     "http://127.0.0.1:8080/bench/callbackX?code=abc&state=s1",
		"login page":     "http://127.0.0.1:8080/login?id=1",
	} {
		if _, err := parseCallback(loc, redirect, "s1", iss); err == nil {
			t.Errorf("%s: accepted %s", name, loc)
		}
	}
}

func TestResolveAndIsUnder(t *testing.T) {
	got, err := resolve("http://127.0.0.1:9/authorize?x=1", "/login?id=abc")
	if err != nil || got != "http://127.0.0.1:9/login?id=abc" {
		t.Errorf("resolve = %q, %v", got, err)
	}
	got, _ = resolve("http://127.0.0.1:9/login?id=abc", "http://127.0.0.1:9/bench/callback?code=c")
	if got != "http://127.0.0.1:9/bench/callback?code=c" {
		t.Errorf("absolute resolve = %q", got)
	}
	const r = "http://h/cb"
	for loc, want := range map[string]bool{r: true, r + "?code=1": true, r + "#code=1": true, r + "x": false, "http://h/other": false} {
		if isUnder(loc, r) != want {
			t.Errorf("isUnder(%q) = %v", loc, !want)
		}
	}
	if origin("http://127.0.0.1:8080/x/y") != "http://127.0.0.1:8080" {
		t.Error("origin")
	}
}

func TestStatusErrorOAuth(t *testing.T) {
	err := statusError("token refresh_token", 400, []byte(`{"error":"invalid_grant","error_description":"reused"}`))
	if !isOAuthError(err, "invalid_grant") {
		t.Errorf("not invalid_grant: %v", err)
	}
	if isOAuthError(statusError("x", 500, []byte("boom")), "invalid_grant") {
		t.Error("plain 500 taken for invalid_grant")
	}
	if isOAuthError(checkErrorf("x"), "invalid_grant") {
		t.Error("check error taken for invalid_grant")
	}
}

func TestJWTAlg(t *testing.T) {
	// header {"alg":"ES256","kid":"k"}
	if got := jwtAlg("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.sig"); got != "ES256" {
		t.Errorf("alg = %q", got)
	}
	if got := jwtAlg("opaque-token"); got != "" {
		t.Errorf("opaque alg = %q", got)
	}
}

func TestPKCE(t *testing.T) {
	v, c := pkce()
	if len(v) < 43 || len(c) != 43 || strings.ContainsAny(v+c, "+/=") {
		t.Errorf("verifier %q challenge %q", v, c)
	}
}

// TestConfigIsValid checks that the configuration the benchmark writes is
// accepted by the server's own strict loader and validator.
func TestConfigIsValid(t *testing.T) {
	fx := newFixtures(2)
	for _, c := range []serverConfig{
		{Issuer: "http://127.0.0.1:18080", Listen: "127.0.0.1:18080", Driver: "sqlite", DSN: "/tmp/x/sekisho.db", Alg: "RS256", Argon: DefaultArgon2, Fixtures: fx},
		{Issuer: "http://127.0.0.1:18081", Listen: "127.0.0.1:18082", Driver: "postgres", DSN: "postgres://postgres@127.0.0.1:5432/b?sslmode=disable", Alg: "ES256", Argon: DefaultArgon2, Fixtures: fx},
	} {
		path := filepath.Join(t.TempDir(), "sekisho.yaml")
		if err := os.WriteFile(path, []byte(c.yaml()), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatalf("Load:\n%s\n%v", c.yaml(), err)
		}
		env := map[string]string{"SEKISHO_SECRET": newSecret()}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate:\n%s\n%v", c.yaml(), err)
		}
		if len(cfg.Clients) != 3 || cfg.Issuer != c.Issuer || cfg.Keys.Algorithm != c.Alg {
			t.Errorf("decoded %+v", cfg)
		}
		pub, _ := cfg.Client(publicClientID)
		if !pub.Public() || pub.RedirectURIs[0] != c.Issuer+redirectPath {
			t.Errorf("public client %+v", pub)
		}
		if jc, _ := cfg.Client(jwtClientID); jc.AccessTokenFormat != "jwt" {
			t.Errorf("jwt client %+v", jc)
		}
	}
}
