// Command sekisho is the one binary of the sekisho OpenID provider: serve,
// migrate, user, keys, bench, version, healthcheck.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	_ "time/tzdata" // organizations' IANA time zones on hosts and images without a zone database

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage/gormstore"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sekisho:", err)
		var ex *exitError
		if errors.As(err, &ex) {
			os.Exit(ex.code)
		}
		os.Exit(1)
	}
}

// exitError ends the command with its own exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sekisho",
		Short:         "sekisho — an OpenID Connect single sign-on provider",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetVersionTemplate("{{.Version}}")
	root.PersistentFlags().String("config", "", "configuration file (or SEKISHO_CONFIG)")
	root.AddCommand(newServeCmd(), newMigrateCmd(), newUserCmd(), newSessionCmd(), newLogoutDeliveriesCmd(), newOutboxCmd(), newKeysCmd(), newBenchCmd(), newLegacyCmd(),
		newOrgCmd(), newAdminCmd(), newAuditCmd(), newVersionCmd(), newHealthcheckCmd())
	return root
}

// loadConfig reads --config (or SEKISHO_CONFIG), applies the environment
// and defaults, and validates; dev selects the built-in --dev setup.
func loadConfig(cmd *cobra.Command, dev bool) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = os.Getenv("SEKISHO_CONFIG")
	}
	var cfg *config.Config
	switch {
	case path != "":
		c, err := config.Load(path)
		if err != nil {
			return nil, err
		}
		cfg = c
		cfg.Dev = dev
		if dev && len(cfg.Roles) == 0 {
			cfg.Roles = config.DevRoles()
		}
	case dev:
		cfg = config.Dev()
	default:
		return nil, errors.New("no configuration: pass --config FILE (or set SEKISHO_CONFIG), or run `sekisho serve --dev`")
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return nil, err
	}
	if dev && path == "" {
		if err := cfg.FitDev(os.Getenv); err != nil {
			return nil, err
		}
	}
	if dev && cfg.Secret == "" {
		cfg.Secret = config.DevSecret
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(server.LogHandler{Handler: h})
}

// openStore opens and migrates the configured database, and makes
// addresses unique where the sign-in mode needs it: across the
// deployment in the email mode (refused, naming them, while two
// organizations hold the same address), within each organization in the
// organization modes.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*gormstore.Store, error) {
	st, err := gormstore.Open(ctx, gormstore.Config{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN,
		MaxOpenConns: cfg.Database.MaxOpenConns, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	// Writes keep the uniqueness of the configured sign-in mode (the
	// deployment-wide key of the email mode), as the server does.
	if err := st.SetEmailScope(ctx, cfg.Login.Identifier == config.IdentifierEmail); err != nil {
		st.Close()
		return nil, fmt.Errorf("login.identifier %s: %w", cfg.Login.Identifier, err)
	}
	return st, nil
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr))
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
}
