package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// orgBrandInput is what `org set` takes of an organization's own brand:
// the name and logo its pages show instead of the deployment's.
type orgBrandInput struct {
	name, nameJA, nameEN string
	logoFile             string
	noLogo               bool
	// Read from logoFile by check.
	logo               []byte
	logoType, logoHash string
}

func (b *orgBrandInput) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.name, "brand-name", "", `the brand name its pages show, in both languages ("" for the deployment's branding.name)`)
	f.StringVar(&b.nameJA, "brand-name-ja", "", "the brand name on Japanese pages")
	f.StringVar(&b.nameEN, "brand-name-en", "", "the brand name on English pages")
	f.StringVar(&b.logoFile, "logo", "", "a PNG, JPEG, WebP or SVG file (at most 512 KiB): the logo its pages show")
	f.BoolVar(&b.noLogo, "no-logo", false, "remove the organization's logo (its pages show the deployment's)")
}

// check validates the names and reads the logo.
func (b *orgBrandInput) check(cmd *cobra.Command) error {
	f := cmd.Flags()
	if f.Changed("brand-name") && (f.Changed("brand-name-ja") || f.Changed("brand-name-en")) {
		return errors.New("give --brand-name, or --brand-name-ja and --brand-name-en, not both")
	}
	if f.Changed("brand-name-ja") != f.Changed("brand-name-en") {
		return errors.New("give both --brand-name-ja and --brand-name-en (or --brand-name for both languages)")
	}
	if f.Changed("brand-name") {
		b.nameJA, b.nameEN = b.name, b.name
	}
	for flag, p := range map[string]*string{"--brand-name-ja": &b.nameJA, "--brand-name-en": &b.nameEN} {
		if *p == "" {
			continue
		}
		name, err := identifier.Name(*p)
		if err != nil {
			return fmt.Errorf("%s must be at most %d characters without control characters", flag, identifier.MaxNameLength)
		}
		*p = name
	}
	if f.Changed("logo") && b.noLogo {
		return errors.New("give --logo or --no-logo, not both")
	}
	if f.Changed("logo") {
		data, err := os.ReadFile(b.logoFile)
		if err != nil {
			return fmt.Errorf("--logo: %w", err)
		}
		mediaType, err := brand.ImageType(data)
		if err != nil {
			return fmt.Errorf("--logo %s: %w", b.logoFile, err)
		}
		b.logo, b.logoType, b.logoHash = data, mediaType, brand.Hash(data)
	}
	return nil
}

// changed reports whether any brand flag was given.
func (b *orgBrandInput) changed(cmd *cobra.Command) bool {
	f := cmd.Flags()
	return f.Changed("brand-name") || f.Changed("brand-name-ja") || b.logoChanged(cmd)
}

// logoChanged reports whether the logo is set or removed.
func (b *orgBrandInput) logoChanged(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("logo") || b.noLogo
}

// apply sets the brand name of o when it was given.
func (b *orgBrandInput) apply(cmd *cobra.Command, o *storage.Organization) {
	if f := cmd.Flags(); f.Changed("brand-name") || f.Changed("brand-name-ja") {
		o.BrandNameJA, o.BrandNameEN = b.nameJA, b.nameEN
	}
}

// brandText describes an organization's own brand for people.
func brandText(o storage.Organization) string {
	name := "the deployment's name"
	if o.BrandNameJA != "" {
		name = fmt.Sprintf("%q", o.BrandNameJA)
		if o.BrandNameEN != o.BrandNameJA {
			name += fmt.Sprintf(" / %q", o.BrandNameEN)
		}
	}
	logo := "the deployment's logo"
	if o.LogoHash != "" {
		logo = "its own logo (" + o.LogoType + ")"
	}
	return name + " with " + logo
}
