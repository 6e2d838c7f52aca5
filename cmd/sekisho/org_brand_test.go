package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/config"
)

// TestOrgBrandCommands: org set gives an organization its own brand name
// (in both languages, or one each) and logo, and takes them back; bad
// input is refused without writing.
func TestOrgBrandCommands(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newCLIEnv(t, backend, config.IdentifierOrgEmail, "")
		e.mustRun(t, "", "org", "add", "--code", "SAKURA", "--name", "Sakura Hospital Group")
		dir := t.TempDir()
		var img bytes.Buffer
		if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
			t.Fatal(err)
		}
		logo, notImage := filepath.Join(dir, "logo.png"), filepath.Join(dir, "logo.gif")
		for p, data := range map[string][]byte{logo: img.Bytes(), notImage: []byte("GIF89a")} {
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}

		before := e.state(t)
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"both forms of the name", "not both", []string{"--brand-name", "A", "--brand-name-ja", "B", "--brand-name-en", "C"}},
			{"one language only", "both --brand-name-ja and --brand-name-en", []string{"--brand-name-ja", "さくら"}},
			{"a control character", "--brand-name-ja", []string{"--brand-name-ja", "さ\nくら", "--brand-name-en", "Sakura"}},
			{"a missing logo", "--logo", []string{"--logo", filepath.Join(dir, "none.png")}},
			{"a logo that is no image", "not a PNG, JPEG, WebP or SVG image", []string{"--logo", notImage}},
			{"logo and no logo", "not both", []string{"--logo", logo, "--no-logo"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.refused(t, tc.want, "", append([]string{"org", "set", "sakura"}, tc.args...)...)
			})
		}
		e.unchanged(t, before)

		out := e.mustRun(t, "", "org", "set", "sakura", "--brand-name-ja", "さくら病院", "--brand-name-en", "Sakura Hospital", "--logo", logo)
		if !strings.Contains(out, `brand "さくら病院" / "Sakura Hospital" with its own logo (image/png)`) {
			t.Errorf("org set: %s", out)
		}
		o, err := e.st.GetOrganizationByCode(t.Context(), "SAKURA")
		if err != nil {
			t.Fatal(err)
		}
		data, mediaType, err := e.st.GetOrganizationLogo(t.Context(), o.ID)
		if err != nil || !bytes.Equal(data, img.Bytes()) || mediaType != "image/png" || o.LogoHash != brand.Hash(img.Bytes()) {
			t.Errorf("stored logo: %d bytes of %q, hash %q, %v", len(data), mediaType, o.LogoHash, err)
		}
		var show orgJSON
		if err := json.Unmarshal([]byte(e.mustRun(t, "", "org", "show", "sakura", "--json")), &show); err != nil ||
			show.BrandName.JA != "さくら病院" || show.BrandName.EN != "Sakura Hospital" || show.LogoType != "image/png" {
			t.Errorf("org show --json: %v %+v", err, show)
		}

		out = e.mustRun(t, "", "org", "set", "sakura", "--brand-name", "", "--no-logo")
		if !strings.Contains(out, "brand the deployment's name with the deployment's logo") {
			t.Errorf("org set back: %s", out)
		}
		if _, _, err := e.st.GetOrganizationLogo(t.Context(), o.ID); err == nil {
			t.Errorf("the logo stayed after --no-logo")
		}
	})
}
