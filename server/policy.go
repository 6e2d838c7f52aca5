package server

import (
	"fmt"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/password"
)

// PasswordPolicy builds the policy for new passwords from its preset and
// the keys that override it (the server and the CLI apply the same one),
// with the legacy product's name (legacy.name) among the names of the
// service that a password may not be built on.
func PasswordPolicy(cfg *config.Config) (password.Policy, error) {
	pp := cfg.PasswordPolicy
	p, err := password.PolicyPreset(pp.Preset)
	if err != nil {
		return p, fmt.Errorf("server: password_policy.preset: %w", err)
	}
	if pp.MinLength > 0 {
		p.MinLength = pp.MinLength
	}
	if pp.MaxLength > 0 {
		p.MaxLength = pp.MaxLength
	}
	for _, o := range []struct {
		set *bool
		to  *bool
	}{{pp.RequireUpper, &p.RequireUpper}, {pp.RequireLower, &p.RequireLower}, {pp.RequireDigit, &p.RequireDigit},
		{pp.RequireSymbol, &p.RequireSymbol}, {pp.ForbidIdentifier, &p.ForbidIdentifier}, {pp.ForbidCurrent, &p.ForbidCurrent},
		{pp.Blocklist, &p.Blocklist}} {
		if o.set != nil {
			*o.to = *o.set
		}
	}
	if cfg.Legacy.Name != "" {
		p.ServiceNames = []string{cfg.Legacy.Name}
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("server: password_policy: %w", err)
	}
	return p, nil
}
