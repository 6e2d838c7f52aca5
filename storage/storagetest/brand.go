package storagetest

import (
	"bytes"
	"testing"

	"github.com/sekisho/sekisho/storage"
)

// testOrganizationBrand: an organization's brand name goes through
// UpdateOrganization; its logo is stored, replaced and removed with its
// audit event, read back whole, and never loaded with the organization.
func testOrganizationBrand(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	o := newOrg(t, s, "o1", "HOSP")
	_, _, err := s.GetOrganizationLogo(ctx, o.ID)
	wantErr(t, "GetOrganizationLogo without a logo", err, storage.ErrNotFound)

	got, err := s.UpdateOrganization(ctx, o.ID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.BrandNameJA, o.BrandNameEN = "さくら病院", "Sakura Hospital"
		return o, nil, nil
	})
	must(t, err)
	if got.BrandNameJA != "さくら病院" || got.BrandNameEN != "Sakura Hospital" {
		t.Errorf("UpdateOrganization: brand %q %q", got.BrandNameJA, got.BrandNameEN)
	}

	logo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0}, 40_000) // 200 KB
	event := storage.AuditEvent{Time: t0, Type: "organization_changed", OrganizationID: o.ID, Outcome: "success", Detail: "logo"}
	must(t, s.SetOrganizationLogo(ctx, o.ID, logo, "image/png", "0123456789ab", event))
	data, mediaType, err := s.GetOrganizationLogo(ctx, o.ID)
	must(t, err)
	if !bytes.Equal(data, logo) || mediaType != "image/png" {
		t.Errorf("GetOrganizationLogo = %d bytes of %q, want the stored %d", len(data), mediaType, len(logo))
	}
	got, err = s.GetOrganization(ctx, o.ID)
	must(t, err)
	want := o
	want.BrandNameJA, want.BrandNameEN, want.LogoType, want.LogoHash = "さくら病院", "Sakura Hospital", "image/png", "0123456789ab"
	diff(t, "GetOrganization after SetOrganizationLogo", want, got)
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{OrganizationID: o.ID})
	must(t, err)
	if len(events) != 1 || events[0].Detail != "logo" {
		t.Errorf("audit events %+v, want the logo's", events)
	}

	// Another logo replaces it; nil removes it.
	must(t, s.SetOrganizationLogo(ctx, o.ID, []byte("<svg/>"), "image/svg+xml", "ba9876543210", event))
	if data, mediaType, err := s.GetOrganizationLogo(ctx, o.ID); err != nil || string(data) != "<svg/>" || mediaType != "image/svg+xml" {
		t.Errorf("replaced logo: %q %q %v", data, mediaType, err)
	}
	must(t, s.SetOrganizationLogo(ctx, o.ID, nil, "", "", event))
	_, _, err = s.GetOrganizationLogo(ctx, o.ID)
	wantErr(t, "GetOrganizationLogo after removal", err, storage.ErrNotFound)
	if got, _ := s.GetOrganization(ctx, o.ID); got.LogoType != "" || got.LogoHash != "" || got.BrandNameJA != "さくら病院" {
		t.Errorf("after removal: %+v", got)
	}
	wantErr(t, "SetOrganizationLogo of an unknown organization",
		s.SetOrganizationLogo(ctx, "nope", logo, "image/png", "x", event), storage.ErrNotFound)
}
