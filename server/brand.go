package server

import (
	"fmt"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/templates"
)

// brandOf reads the deployment's branding (Validate has checked it): the
// name, the support line, the logo file and the colours' stylesheet.
func brandOf(cfg *config.Config) (templates.Brand, error) {
	logo, logoType, err := cfg.Branding.LoadLogo()
	if err != nil {
		return templates.Brand{}, fmt.Errorf("server: branding.logo: %w", err)
	}
	colors, err := cfg.Branding.ParseColors()
	if err != nil {
		return templates.Brand{}, fmt.Errorf("server: %w", err)
	}
	return templates.Brand{Name: cfg.ProductName(), Support: cfg.Branding.Support.Text(), Logo: logo, LogoType: logoType,
		Stylesheet: colors.Stylesheet()}, nil
}
