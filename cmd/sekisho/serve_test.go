package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

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
		printDev(&b, cfg)
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
