package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
)

// versionText describes the build: the module version, the commit it was
// built from (with the commit time, and "modified" for a dirty tree) and
// the Go release. Fields the build info does not carry read "unknown"
// (a build outside a git checkout, as the container image's, has no commit).
func versionText(bi *debug.BuildInfo, ok bool) string {
	version, commit, at, modified, goVersion := "unknown", "unknown", "", false, "unknown"
	if ok && bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sekisho %s\n", version)
	fmt.Fprintf(&b, "commit  %s", commit)
	if at != "" {
		fmt.Fprintf(&b, " (%s)", at)
	}
	if modified {
		b.WriteString(" modified")
	}
	fmt.Fprintf(&b, "\ngo      %s\n", goVersion)
	return b.String()
}

func buildVersion() string { return versionText(debug.ReadBuildInfo()) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit this binary was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), buildVersion())
			return err
		},
	}
}

// newHealthcheckCmd GETs the running server's /healthz and exits 0 when it
// answers 200, 1 otherwise: the container healthcheck of an image that
// has no curl.
func newHealthcheckCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server answers its health endpoint, 1 otherwise",
		Long: "GETs http://127.0.0.1:PORT/healthz, the port taken from SEKISHO_LISTEN (default " + config.DefaultListen + "),\n" +
			"or the URL given with --url. For container healthchecks: it needs no configuration file and no secret.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				u, err := healthURL(os.Getenv("SEKISHO_LISTEN"))
				if err != nil {
					return err
				}
				url = u
			}
			if timeout <= 0 {
				return errors.New("--timeout must be positive")
			}
			if err := checkHealth(cmd.Context(), url, timeout); err != nil {
				return &exitError{code: 1, msg: "unhealthy: " + err.Error()}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "healthy")
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "health endpoint to GET (default from SEKISHO_LISTEN)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

// healthURL turns a listen address into the loopback health URL: a
// wildcard or empty host is reached on 127.0.0.1.
func healthURL(listen string) (string, error) {
	if listen == "" {
		listen = config.DefaultListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", fmt.Errorf("SEKISHO_LISTEN %q: want host:port or :port", listen)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

func checkHealth(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
