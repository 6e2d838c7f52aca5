package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to create the benchmark database
)

// fixtures are the clients and users the benchmark's own server is
// configured and seeded with.
type fixtures struct {
	ConfSecret   string
	JWTSecret    string
	RedirectPath string
	Users        []user
}

const (
	confClientID   = "bench-confidential"
	jwtClientID    = "bench-jwt"
	publicClientID = "bench-public"
	redirectPath   = "/bench/callback"
)

// userEmail is the address of benchmark user i.
func userEmail(i int) string { return fmt.Sprintf("bench-user-%03d@bench.example.com", i) }

func newFixtures(n int) fixtures {
	f := fixtures{ConfSecret: randomString(32), JWTSecret: randomString(32), RedirectPath: redirectPath}
	// Meets the default password policy: upper, lower, digit, symbol, 8+.
	pw := "Bench-" + randomString(12) + "-9a!"
	for i := range n {
		f.Users = append(f.Users, user{Email: userEmail(i), Password: pw})
	}
	return f
}

// serverConfig is what differs between the configuration files we write.
type serverConfig struct {
	Issuer, Listen string
	Driver, DSN    string
	Alg            string
	Argon          argonParams
	Fixtures       fixtures
	Operator       string // metrics.listen, or empty
}

// q quotes a string for YAML (a JSON string is a YAML string).
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (c serverConfig) yaml() string {
	redirect := q(strings.TrimSuffix(c.Issuer, "/") + c.Fixtures.RedirectPath)
	var b strings.Builder
	fmt.Fprintf(&b, "issuer: %s\nlisten: %s\n", q(c.Issuer), q(c.Listen))
	fmt.Fprintf(&b, "database: {driver: %s, dsn: %s}\n", q(c.Driver), q(c.DSN))
	fmt.Fprintf(&b, "log: {level: warn, format: json}\n")
	fmt.Fprintf(&b, "password: {memory_kib: %d, iterations: %d, parallelism: %d}\n",
		c.Argon.MemoryKiB, c.Argon.Iterations, c.Argon.Parallelism)
	fmt.Fprintf(&b, "throttle: {free_failures: 1000000}\n")
	fmt.Fprintf(&b, "keys: {algorithm: %s}\n", q(c.Alg))
	if c.Operator != "" {
		fmt.Fprintf(&b, "metrics: {listen: %s}\n", q(c.Operator))
	}
	b.WriteString("clients:\n")
	for _, cl := range []struct{ id, secret, format string }{
		{confClientID, c.Fixtures.ConfSecret, "opaque"},
		{jwtClientID, c.Fixtures.JWTSecret, "jwt"},
	} {
		fmt.Fprintf(&b, "  - id: %s\n    secret: %s\n    redirect_uris: [%s]\n", q(cl.id), q(cl.secret), redirect)
		b.WriteString("    grant_types: [authorization_code, refresh_token, client_credentials]\n")
		b.WriteString("    scopes: [openid, profile, email, offline_access, api]\n")
		fmt.Fprintf(&b, "    access_token_format: %s\n", cl.format)
		if cl.id == confClientID {
			// The resource server of S4: it introspects every client's
			// tokens.
			fmt.Fprintf(&b, "    introspect_for: [%s, %s]\n", q(jwtClientID), q(publicClientID))
		}
	}
	fmt.Fprintf(&b, "  - id: %s\n    redirect_uris: [%s]\n", q(publicClientID), redirect)
	b.WriteString("    grant_types: [authorization_code, refresh_token]\n")
	b.WriteString("    scopes: [openid, profile, email, offline_access]\n")
	return b.String()
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// newSecret is a fresh SEKISHO_SECRET.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// childEnv is our environment without any SEKISHO_* variable (they would
// override the configuration file), plus SEKISHO_SECRET.
func childEnv(secret string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEKISHO_") {
			env = append(env, kv)
		}
	}
	return append(env, "SEKISHO_SECRET="+secret)
}

// serverProc is a `sekisho serve` child process.
type serverProc struct {
	cmd     *exec.Cmd
	url     string // http://listen
	logPath string
	exited  chan struct{}
	err     error // of Wait, once exited is closed
}

func startServer(exe, cfgPath, logPath, secret, listen string) (*serverProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--config", cfgPath)
	cmd.Env = childEnv(secret)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the benchmark die, do not leave the server running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s serve: %w", exe, err)
	}
	s := &serverProc{cmd: cmd, url: "http://" + listen, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// waitReady polls /readyz until it answers 200.
func (s *serverProc) waitReady(ctx context.Context, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited before it was ready (%v); its log:\n%s", s.err, tail(s.logPath, 30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %s; its log:\n%s", timeout, tail(s.logPath, 30))
		}
	}
}

// stop sends SIGTERM and waits; after 20 s it kills.
func (s *serverProc) stop() error {
	select {
	case <-s.exited:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("server did not stop within 20s of SIGTERM; killed")
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) && ee.Exited() && ee.ExitCode() != 0 {
		return fmt.Errorf("server exited with status %d; its log:\n%s", ee.ExitCode(), tail(s.logPath, 20))
	}
	return nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// seedUsers adds the users with `sekisho user add`, two processes at a time
// (each hashes with argon2id). Their addresses are marked verified: a
// verification mail per user would sit in the outbox, retried against no
// mail server for its lifetime, and load every scenario with that work.
func seedUsers(ctx context.Context, exe, cfgPath, secret string, users []user) error {
	return parallel(len(users), 2, func(i int) error {
		u := users[i]
		cmd := exec.CommandContext(ctx, exe, "user", "add", "--config", cfgPath,
			"--email", u.Email, "--email-verified", "--password-stdin", "--name", fmt.Sprintf("Bench User %d", i))
		cmd.Env = childEnv(secret)
		cmd.Stdin = strings.NewReader(u.Password + "\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("user add %s: %w: %s", u.Email, err, strings.TrimSpace(out.String()))
		}
		return nil
	})
}

// pgDatabase is a fresh PostgreSQL database for one benchmark run.
type pgDatabase struct {
	admin *sql.DB
	name  string
	DSN   string
}

func createDatabase(ctx context.Context, adminURL string) (*pgDatabase, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("--postgres-url: want a postgres:// URL, got %q", adminURL)
	}
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "sekisho_bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating database %s on %s: %w", name, u.Redacted(), err)
	}
	u.Path = "/" + name
	return &pgDatabase{admin: db, name: name, DSN: u.String()}, nil
}

func (p *pgDatabase) drop() error {
	defer p.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := p.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+p.name+" WITH (FORCE)")
	return err
}

// isLoopbackURL reports whether a database URL points at this machine.
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "" || h == "localhost" || strings.HasPrefix(h, "/") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
