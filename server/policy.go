package server

import (
	"fmt"
	"slices"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/password"
)

// PasswordPolicy builds the policy for new passwords from its preset and
// the keys that override it (the server and the CLI apply the same one),
// with the product's name (branding.name) and the legacy product's
// (legacy.name), in each language, among the names of the service that a
// password may not be built on.
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
	for _, name := range []string{cfg.Legacy.Name.JA, cfg.Legacy.Name.EN, cfg.Branding.Name.JA, cfg.Branding.Name.EN} {
		if name != "" && !slices.Contains(p.ServiceNames, name) {
			p.ServiceNames = append(p.ServiceNames, name)
		}
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("server: password_policy: %w", err)
	}
	return p, nil
}
