package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/op"
	"github.com/sekisho/sekisho/secret"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage token signing keys"}
	cmd.AddCommand(newKeysListCmd(), newKeysRotateCmd())
	return cmd
}

func newKeysListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List signing keys and their state",
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
			keys, err := st.ListSigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRES")
			for _, k := range keys {
				state := "published"
				switch {
				case k.RetiresAt != nil && !now.Before(*k.RetiresAt):
					state = "retired"
				case now.Before(k.ActivatesAt):
					state = "pending"
				}
				retires := "-"
				if k.RetiresAt != nil {
					retires = k.RetiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, state,
					k.CreatedAt.Format(time.RFC3339), k.ActivatesAt.Format(time.RFC3339), retires)
			}
			return tw.Flush()
		},
	}
}

func newKeysRotateCmd() *cobra.Command {
	var alg string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key; it signs once every replica has loaded it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if alg == "" {
				alg = cfg.Keys.Algorithm
			}
			st, err := openStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr))
			if err != nil {
				return err
			}
			defer st.Close()
			sk, err := secret.Parse(cfg.Secret)
			if err != nil {
				return err
			}
			km := op.NewKeyManager(op.KeyManagerConfig{Store: st, Sealer: sk, Algorithm: alg,
				RefreshInterval: cfg.Keys.RefreshInterval.D()})
			k, err := km.Rotate(cmd.Context(), alg, km.ActivationDelay(), longestTokenLifetime(cfg))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new key %s (%s) is published now and signs from %s; older keys retire %s later\n",
				k.ID, k.Algorithm, k.ActivatesAt.Format(time.RFC3339), longestTokenLifetime(cfg))
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "", "RS256 or ES256 (default: keys.algorithm)")
	return cmd
}

// longestTokenLifetime is how long a retired key must stay in the JWKS:
// the longest lifetime of an access or ID token it may have signed.
func longestTokenLifetime(cfg *config.Config) time.Duration {
	d := max(cfg.Lifetimes.AccessToken.D(), cfg.Lifetimes.IDToken.D())
	for _, c := range cfg.Clients {
		d = max(d, c.Lifetimes.AccessToken.D(), c.Lifetimes.IDToken.D())
	}
	return d
}
