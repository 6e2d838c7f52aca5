package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/config"
)

// TestPasswordPolicyServiceNames: passwords may not be built on the
// product's name or the legacy product's, in either language (each once).
func TestPasswordPolicyServiceNames(t *testing.T) {
	cfg := &config.Config{}
	cfg.ApplyDefaults()
	cfg.Branding.Name = config.Labels{JA: "関所運輸", EN: "Kanreki"}
	cfg.Legacy.Name = config.Labels{JA: "Oldshop", EN: "Oldshop"}
	p, err := PasswordPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Oldshop", "関所運輸", "Kanreki"}, p.ServiceNames); diff != "" {
		t.Errorf("service names (-want +got):\n%s", diff)
	}
}
