package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/storage"
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

// orgLogoRoute is where an organization's own logo is served: its URL
// carries the logo's content hash, so it is cached for good and every
// replica serves it from the database.
const orgLogoRoute = "/static/org/{id}/{file}"

// orgLogoPath is the path of the organization's own logo, or "".
func orgLogoPath(o storage.Organization) string {
	if o.LogoHash == "" {
		return ""
	}
	return "/static/org/" + o.ID + "/" + orgLogoFile(o)
}

func orgLogoFile(o storage.Organization) string {
	return "logo-" + o.LogoHash + brand.Extension(o.LogoType)
}

// orgStore is what the organizations' brand needs from storage.
type orgStore interface {
	GetOrganization(ctx context.Context, id string) (storage.Organization, error)
	GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error)
	GetOrganizationLogo(ctx context.Context, id string) ([]byte, string, error)
}

// orgLogo serves an organization's logo at its current hash; any other
// name, and an organization without a logo, answer 404.
func orgLogo(store orgStore, notFound http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := mux.Vars(r)
		o, err := store.GetOrganization(r.Context(), v["id"])
		if err != nil || o.LogoHash == "" || v["file"] != orgLogoFile(o) {
			notFound.ServeHTTP(w, r)
			return
		}
		data, mediaType, err := store.GetOrganizationLogo(r.Context(), o.ID)
		if err != nil || brand.Hash(data) != o.LogoHash {
			// Replaced between the two reads: the page will link the new one.
			notFound.ServeHTTP(w, r)
			return
		}
		brand.Serve(w, r, mediaType, data)
	}
}

// orgBrand is the brand override of a page tied to organization o, in the
// page's language code.
func orgBrand(o storage.Organization, code string) templates.BrandOverride {
	name := o.BrandNameEN
	if code == "ja" {
		name = o.BrandNameJA
	}
	return templates.BrandOverride{Name: name, LogoURL: orgLogoPath(o)}
}

// OrgBrand serves admin.Pages: the console's pages show the brand of the
// organization they administer.
func (p *pages) OrgBrand(o storage.Organization, b templates.Base) templates.BrandOverride {
	return orgBrand(o, i18n.Code(b.Lang))
}

// orgBrandByCode is the brand override of a page whose sign-in request
// names the organization by its code; none when it names an unknown one.
func (p *pages) orgBrandByCode(ctx context.Context, code, lang string) templates.BrandOverride {
	if code == "" || p.orgs == nil {
		return templates.BrandOverride{}
	}
	o, err := p.orgs.GetOrganizationByCode(ctx, code)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			p.log.WarnContext(ctx, "load organization brand", "err", err)
		}
		return templates.BrandOverride{}
	}
	return orgBrand(o, lang)
}
