package main

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/server"
)

func TestVersionText(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "sekisho unknown\ncommit  unknown\ngo      unknown\n"},
		{"module version and commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "b8b4d60c7d9a"}, {Key: "vcs.time", Value: "2026-12-04T18:57:33Z"}, {Key: "vcs.modified", Value: "false"}}},
			true, "sekisho v1.2.3\ncommit  b8b4d60c7d9a (2026-12-04T18:57:33Z)\ngo      go1.26.8\n"},
		{"dirty tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			true, "sekisho (devel)\ncommit  abc modified\ngo      go1.26.8\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, versionText(tc.bi, tc.ok)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestVersionCommand: `version` and `--version` print the same build
// description, need no configuration, and refuse arguments.
func TestVersionCommand(t *testing.T) {
	want := buildVersion()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := run(t, "", args...)
		if err != nil || out != want || !strings.HasPrefix(out, "sekisho ") || !strings.Contains(out, "commit  ") {
			t.Errorf("%v: %v\n%q, want %q", args, err, out, want)
		}
	}
	if _, err := run(t, "", "version", "extra"); err == nil {
		t.Error("version with an argument succeeded")
	}
}

// TestHealthcheck drives `healthcheck` against the real handler: healthy
// with the URL from --url or from SEKISHO_LISTEN, status 1 for an
// endpoint that does not answer 200 or a server that is not there, and a
// clear error for a listen address it cannot use.
func TestHealthcheck(t *testing.T) {
	t.Setenv("SEKISHO_SECRET", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	ts := startServer(t, writeConfig(t, cliConfig))
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name, listen string
		args         []string
		wantCode     int // -1: success
		wantErr      string
	}{
		{"--url", "", []string{"--url", ts.URL + "/healthz"}, -1, ""},
		{"SEKISHO_LISTEN", strings.TrimPrefix(ts.URL, "http://"), nil, -1, ""},
		{"not 200", "", []string{"--url", ts.URL + "/no-such-page"}, 1, "404"},
		{"nothing listening", strings.TrimPrefix(down.URL, "http://"), nil, 1, "unhealthy"},
		{"bad SEKISHO_LISTEN", "no-port", nil, 0, "SEKISHO_LISTEN"},
		{"bad timeout", "", []string{"--url", ts.URL + "/healthz", "--timeout", "0s"}, 0, "--timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SEKISHO_LISTEN", tc.listen)
			out, err := run(t, "", append([]string{"healthcheck"}, tc.args...)...)
			var ex *exitError
			switch {
			case tc.wantCode < 0:
				if err != nil || !strings.Contains(out, "healthy") {
					t.Errorf("got %v %q, want healthy", err, out)
				}
			case tc.wantCode > 0:
				if !errors.As(err, &ex) || ex.code != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want exit %d with %q", err, tc.wantCode, tc.wantErr)
				}
			default:
				if err == nil || errors.As(err, &ex) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want a usage error naming %q", err, tc.wantErr)
				}
			}
		})
	}
}

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"":               "http://127.0.0.1:8080/healthz",
		":9090":          "http://127.0.0.1:9090/healthz",
		"0.0.0.0:8081":   "http://127.0.0.1:8081/healthz",
		"[::]:8082":      "http://127.0.0.1:8082/healthz",
		"10.0.0.5:8083":  "http://10.0.0.5:8083/healthz",
		"[::1]:8084":     "http://[::1]:8084/healthz",
		"localhost:8085": "http://localhost:8085/healthz",
	} {
		if got, err := healthURL(listen); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	for _, bad := range []string{"8080", "host:", "a:b:c"} {
		if _, err := healthURL(bad); err == nil {
			t.Errorf("healthURL(%q) succeeded", bad)
		}
	}
}

// startServer runs the real handler, built from the configuration file as
// `serve` builds it, on an httptest server.
func startServer(t *testing.T, path string) *httptest.Server {
	t.Helper()
	_, cfg := loadFile(t, path)
	log := newLogger(cfg, t.Output())
	st, err := openStore(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(t.Context(), server.Options{Config: cfg, Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// TestComposeFile keeps docker-compose.yml valid YAML, the sekisho
// service checked by its own binary (the image has no curl), and
// Mailpit's SMTP port off the host.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Ports       []string `yaml:"ports"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if got, want := compose.Services["sekisho"].Healthcheck.Test, []string{"CMD", "/sekisho", "healthcheck"}; !slices.Equal(got, want) {
		t.Errorf("sekisho healthcheck = %q, want %q", got, want)
	}
	mp, ok := compose.Services["mailpit"]
	if !ok {
		t.Fatal("no mailpit service")
	}
	for _, p := range mp.Ports {
		if strings.Contains(p, "1025") {
			t.Errorf("mailpit publishes its SMTP port: %q", p)
		}
	}
}

// loadFile loads the configuration file at path as a command does, and
// returns the command that names it (to load it again).
func loadFile(t *testing.T, path string) (*cobra.Command, *config.Config) {
	t.Helper()
	cmd := newRootCmd()
	if err := cmd.ParseFlags([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cmd, false)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, cfg
}
