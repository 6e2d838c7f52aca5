package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func newServeCmd() *cobra.Command {
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the provider",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, dev)
			if err != nil {
				return err
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			return serve(cmd.Context(), cfg, os.Stderr, hup, func() (*config.Config, error) { return loadConfig(cmd, dev) })
		},
	}
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: SQLite under ./data, demo client and user, mails to the log")
	return cmd
}

// serve runs the provider until parent ends or SIGINT/SIGTERM; logs and
// the --dev banner go to stderr. Each value on hup (SIGHUP) reloads the
// configuration with load (see reloadServer).
func serve(parent context.Context, cfg *config.Config, stderr io.Writer, hup <-chan os.Signal, load func() (*config.Config, error)) error {
	log := newLogger(cfg, stderr)
	// zitadel/oidc logs only through the default logger.
	slog.SetDefault(log)
	// limits.memory_mib sets a soft memory limit (GOMEMLIMIT, when set,
	// was applied by the runtime and wins); by default there is none.
	if mib := cfg.Limits.MemoryMiB; mib > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(mib) << 20)
		log.Debug("soft memory limit", "mib", mib)
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	_, demo := cfg.Client(config.DevClientID)
	demo = demo && cfg.Dev
	if demo {
		if err := server.EnsureDemo(ctx, cfg, st); err != nil {
			return err
		}
	}
	srv, err := server.New(ctx, server.Options{Config: cfg, Store: st, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	// The running server: a reload swaps it; requests in flight finish on
	// the one they started on.
	var current atomic.Pointer[server.Server]
	current.Store(srv)
	hs := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().Handler().ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.Metrics.Listen != "" {
		ml, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("listen %s (metrics.listen): %w", cfg.Metrics.Listen, err)
		}
		ms := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			current.Load().OperatorHandler().ServeHTTP(w, r)
		}), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { _ = ms.Serve(ml) }()
		defer ms.Close()
		log.Info("metrics and profiler are serving", "listen", ml.Addr().String())
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func(srv *server.Server, workers context.Context, done chan struct{}) { srv.Run(workers); close(done) }(srv, workers, done)

	log.Info("sekisho is serving", "issuer", cfg.Issuer, "listen", ln.Addr().String(), "database", cfg.Database.Driver)
	if demo {
		printDev(stderr, cfg, ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
wait:
	for {
		select {
		case err := <-errc:
			stopWorkers()
			<-done
			return err
		case <-hup:
			next, err := reloadServer(ctx, cfg, load, st, log)
			if err != nil {
				log.Error("configuration reload refused: the running configuration stays", "err", err)
				continue
			}
			// The new server's workers replace the old one's.
			stopWorkers()
			<-done
			current.Store(next.srv)
			cfg = next.cfg
			workers, stopWorkers = context.WithCancel(context.Background())
			done = make(chan struct{})
			go func(srv *server.Server, workers context.Context, done chan struct{}) { srv.Run(workers); close(done) }(next.srv, workers, done)
			log.Info("configuration reloaded", "clients", len(cfg.Clients))
		case <-ctx.Done():
			break wait
		}
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
	defer cancel()
	err = hs.Shutdown(sctx)
	stopWorkers()
	<-done
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("shutdown grace period ended with requests still running")
	}
	log.Info("stopped")
	return nil
}

// reloaded is a configuration read again and the server built from it.
type reloaded struct {
	cfg *config.Config
	srv *server.Server
}

// reloadServer reads and validates the configuration again and builds a
// server from it on the open store: clients (their list, CORS origins and
// scopes are captured when the provider is built) and every other setting
// that needs no new listener, database or secret. A file that does not
// load or validate, or that changes what only a restart can change, is
// refused.
func reloadServer(ctx context.Context, running *config.Config, load func() (*config.Config, error), st *gormstore.Store, log *slog.Logger) (*reloaded, error) {
	next, err := load()
	if err != nil {
		return nil, err
	}
	next.Dev = running.Dev
	for _, c := range []struct{ key, was, now string }{
		{"listen", running.Listen, next.Listen}, {"metrics.listen", running.Metrics.Listen, next.Metrics.Listen},
		{"database.driver", running.Database.Driver, next.Database.Driver}, {"database.dsn", running.Database.DSN, next.Database.DSN},
		{"login.identifier", running.Login.Identifier, next.Login.Identifier},
	} {
		if c.was != c.now {
			return nil, fmt.Errorf("%s changed: that needs a restart", c.key)
		}
	}
	if next.Secret != running.Secret {
		return nil, errors.New("SEKISHO_SECRET changed: that needs a restart")
	}
	srv, err := server.New(ctx, server.Options{Config: next, Store: st, Logger: log})
	if err != nil {
		return nil, err
	}
	return &reloaded{cfg: next, srv: srv}, nil
}

// printDev prints what a newcomer needs to click through a sign-in and
// open the console, as configured: the address the server listens on,
// the issuer, the demo client as registered, where data and mail go and
// which secret is in use. The one place credentials are printed, and only
// in --dev.
func printDev(w io.Writer, cfg *config.Config, listen string) {
	signIn := func(email, username string) string {
		switch {
		case cfg.Login.ByUsername():
			return fmt.Sprintf("organization=%s  username=%s", config.DevOrgCode, username)
		case cfg.Login.HasOrganization():
			return fmt.Sprintf("organization=%s  email=%s", config.DevOrgCode, email)
		}
		return "email=" + email
	}
	demo, _ := cfg.Client(config.DevClientID)
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	database := cfg.Database.Driver // a PostgreSQL DSN may hold a password
	if cfg.Database.Driver == config.DriverSQLite {
		database += " " + cfg.Database.DSN
	}
	mailTo := "written to this log (no smtp.host)"
	if cfg.SMTP.Host != "" {
		mailTo = fmt.Sprintf("SMTP %s", net.JoinHostPort(cfg.SMTP.Host, strconv.Itoa(cfg.SMTP.Port)))
	}
	secret := "the published --dev secret (set SEKISHO_SECRET for your own)"
	if cfg.Secret != config.DevSecret {
		secret = "from SEKISHO_SECRET"
	}
	fmt.Fprintf(w, `
  sekisho --dev is running (development only: demo credentials)

    listen         %s
    issuer         %s
    demo app       %s/demo/
    demo client    id=%s  secret=%s
                   redirect_uri=%s
                   post_logout_redirect_uri=%s
    demo user      %s  password=%s
    demo admin     %s  password=%s  console %s/admin
                   (%s of organization %s)
    discovery      %s/.well-known/openid-configuration
    database       %s
    mail           %s
    secret         %s

`, listen, issuer, issuer, demo.ID, demo.Secret, strings.Join(demo.RedirectURIs, " "), strings.Join(demo.PostLogoutRedirectURIs, " "),
		signIn(config.DevUserEmail, config.DevUserUsername), config.DevUserPassword,
		signIn(config.DevAdminEmail, config.DevAdminUsername), config.DevAdminPassword, issuer,
		cfg.TopRole(), config.DevOrgCode, issuer, database, mailTo, secret)
}
