package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
)

// TestDevDemo: --dev with a file and no roles declares owner, admin and
// staff; the start-up text names the demo administrator and the console
// in each sign-in mode.
func TestDevDemo(t *testing.T) {
	cfg := config.Dev()
	for _, tc := range []struct {
		identifier string
		want       []string
	}{
		{config.IdentifierEmail, []string{"demo user      email=demo@example.com  password=Demo-password-1!",
			"demo admin     email=admin@example.com  password=" + config.DevAdminPassword + "  console http://localhost:8080/admin",
			"(owner of organization demo)"}},
		{config.IdentifierOrgUsername, []string{"demo user      organization=demo  username=demo  password=",
			"demo admin     organization=demo  username=admin  password="}},
		{config.IdentifierOrgEmail, []string{"demo admin     organization=demo  email=admin@example.com  password="}},
	} {
		cfg.Login.Identifier = tc.identifier
		var b bytes.Buffer
		printDev(&b, cfg, ":8080")
		for _, want := range tc.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: no %q in\n%s", tc.identifier, want, b.String())
			}
		}
	}
	t.Setenv("SEKISHO_SECRET", "")
	path := writeConfig(t, cliConfig)
	cmd := newRootCmd()
	if err := cmd.ParseFlags([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dev  bool
		want []string
	}{{true, []string{"owner", "admin", "staff"}}, {false, nil}} {
		c, err := loadConfig(cmd, tc.dev)
		if tc.dev && err != nil {
			t.Fatalf("loadConfig(--dev): %v", err)
		}
		if err != nil {
			continue // without --dev the secret is missing: no configuration
		}
		var names []string
		for _, r := range c.Roles {
			names = append(names, r.Name)
		}
		if !slices.Equal(names, tc.want) || (tc.dev && c.TopRole() != "owner") {
			t.Errorf("roles with --dev=%t: %v", tc.dev, names)
		}
	}
}

// TestDevOnAnyPort runs `serve --dev` on a port other than 8080, as
// SEKISHO_LISTEN sets it: the banner prints the address, issuer and demo
// client really configured, and the demo app's sign-in reaches the login
// page (the provider accepts the demo's redirect URI on that port).
func TestDevOnAnyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if strings.HasSuffix(addr, ":8080") {
		t.Skip("the free port is the default one")
	}
	issuer := "http://" + addr
	t.Setenv("SEKISHO_SECRET", "")
	t.Setenv("SEKISHO_ISSUER", "")
	t.Setenv("SEKISHO_LISTEN", addr)
	t.Setenv("SEKISHO_DATABASE_DSN", filepath.Join(t.TempDir(), "dev.db"))
	cmd := newRootCmd()
	cfg, err := loadConfig(cmd, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password.MemoryKiB, cfg.Password.Iterations, cfg.Password.Parallelism = 8192, 1, 1
	cfg.Log.Level = "error"
	out := &bannerWriter{want: "sekisho --dev is running", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, out, nil, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case <-out.seen:
	case err := <-done:
		t.Fatalf("serve ended before the banner: %v\n%s", err, out.String())
	}
	banner := out.String()
	for _, want := range []string{
		"listen         " + addr,
		"issuer         " + issuer + "\n",
		"demo app       " + issuer + "/demo/",
		"demo client    id=demo  secret=" + config.DevClientSecret,
		"redirect_uri=" + issuer + "/demo/callback",
		"post_logout_redirect_uri=" + issuer + "/demo/",
		"console " + issuer + "/admin",
		"discovery      " + issuer + "/.well-known/openid-configuration",
		"database       sqlite " + cfg.Database.DSN,
		"mail           written to this log",
		"secret         the published --dev secret",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("no %q in the banner:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "8080") {
		t.Errorf("the banner still names port 8080:\n%s", banner)
	}

	jar, _ := cookiejar.New(nil)
	var hops []*url.URL
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		hops = append(hops, req.URL)
		return nil
	}}
	resp, err := client.Get(issuer + "/demo/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("demo sign-in ended at %s with %s, want the login page", resp.Request.URL, resp.Status)
	}
	if len(hops) == 0 || hops[0].Path != "/authorize" || hops[0].Query().Get("redirect_uri") != issuer+"/demo/callback" {
		t.Errorf("first hop %v, want /authorize with the demo callback on port %s", hops, addr)
	}
}

// bannerWriter collects serve's output and closes seen once want appears.
type bannerWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *bannerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestReloadClients: SIGHUP reads the configuration again; a new client
// is served at once, a file that does not load, or that changes what needs
// a restart, is refused and the running configuration stays.
func TestReloadClients(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	issuer := "http://" + addr
	client := func(id string) string {
		return "  - id: " + id + "\n    secret: app-secret-0123456789-0123456789-abcdef\n    redirect_uris: [http://127.0.0.1/cb]\n"
	}
	base := strings.Replace(cliConfig, "issuer: http://localhost:8080", "issuer: "+issuer+"\nlisten: "+addr, 1)
	base = strings.Replace(base, "log: {level: error}", "log: {level: info}", 1)
	path := writeConfig(t, base+"clients:\n"+client("app"))
	dir := filepath.Dir(path)
	rewrite := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(body, "DIR", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd, cfg := loadFile(t, path)
	out := &logWatch{seen: make(chan string, 8), words: []string{"sekisho is serving", "configuration reloaded", "configuration reload refused"}}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, out, hup, func() (*config.Config, error) { return loadConfig(cmd, false) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	next := func(want string) {
		t.Helper()
		select {
		case got := <-out.seen:
			if got != want {
				t.Fatalf("logged %q, want %q\n%s", got, want, out.String())
			}
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out.String())
		}
	}
	next("sekisho is serving")
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	known := func(id string) bool {
		t.Helper()
		u := issuer + "/authorize?" + url.Values{"client_id": {id}, "redirect_uri": {"http://127.0.0.1/cb"}, "response_type": {"code"},
			"scope": {"openid"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}.Encode()
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther
	}
	if !known("app") || known("shop") {
		t.Fatalf("before the reload: app %t, shop %t", known("app"), known("shop"))
	}

	rewrite(base + "clients:\n" + client("app") + client("shop"))
	hup <- syscall.SIGHUP
	next("configuration reloaded")
	if !known("app") || !known("shop") {
		t.Errorf("after adding shop: app %t, shop %t", known("app"), known("shop"))
	}

	for _, bad := range []string{
		base + "clients:\n" + client("app") + "    redirct_uris: [x]\n",                                 // an unknown key
		base + "clients:\n" + client("app") + client("app"),                                             // a duplicate client
		strings.Replace(base, "listen: "+addr, "listen: 127.0.0.1:1", 1) + "clients:\n" + client("app"), // needs a restart
	} {
		rewrite(bad)
		hup <- syscall.SIGHUP
		next("configuration reload refused")
		if !known("app") || !known("shop") {
			t.Errorf("after a refused reload: app %t, shop %t", known("app"), known("shop"))
		}
	}
	if log := out.String(); !strings.Contains(log, "redirct_uris") || !strings.Contains(log, "listen changed: that needs a restart") {
		t.Errorf("the refusals do not say why:\n%s", log)
	}
}

// logWatch collects serve's output and sends each watched word on seen as
// a line containing it is written.
type logWatch struct {
	mu    sync.Mutex
	b     bytes.Buffer
	words []string
	seen  chan string
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, word := range w.words {
		if bytes.Contains(p, []byte(word)) {
			w.seen <- word
		}
	}
	return w.b.Write(p)
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
