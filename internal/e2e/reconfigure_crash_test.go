package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/edgevault/edgevault/internal/activation"
)

// TestReconfigureManagedIdentityCrash ends the server at each crash point
// of reconfigureManagedIdentity (after the identity was turned off and its
// access policy removed) and checks that the restarted server finishes it:
// the identity on, its access policy in the vault exactly once, with get
// and set.
func TestReconfigureManagedIdentityCrash(t *testing.T) {
	var points []string
	for _, step := range activation.ReconfigureSteps {
		if step == activation.StepAccessPolicy {
			points = append(points, step+"/made")
		}
		points = append(points, step+"/done")
	}
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			for _, point := range points {
				t.Run(strings.ReplaceAll(point, "/", "-"), func(t *testing.T) { testReconfigureCrash(t, db.url(t), point) })
			}
		})
	}
}

// reconfigureResult is the part of reconfigureManagedIdentity's result the
// test reads (a resume token needs a named type).
type reconfigureResult struct {
	PrincipalID string `json:"principalId"`
}

func testReconfigureCrash(t *testing.T, databaseURL, point string) {
	ctx := context.Background()
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t), databaseURL: databaseURL}
	setup := a.start(t)
	boot, hc := setup.waitReady(t)
	e := newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	e.group(t, "life-rg")
	e.createDevice(t, "life-rg", "dbe-crash")
	res := e.generate(t, "life-rg", "dbe-crash", "")
	vault := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	dev, err := e.devices.Get(ctx, "dbe-crash", "life-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The identity's access policy removed, then the identity turned off.
	if _, err := e.vaults.UpdateAccessPolicy(ctx, "life-rg", vault, armkeyvault.AccessPolicyUpdateKindRemove, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(boot.TenantID), ObjectID: dev.Identity.PrincipalID,
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsSet)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.devices.Update(ctx, "dbe-crash", "life-rg", armdataboxedge.DevicePatch{
		Identity: &armdataboxedge.ResourceIdentity{Type: to.Ptr(armdataboxedge.MsiIdentityTypeNone)}}, nil); err != nil {
		t.Fatal(err)
	}
	setup.kill()

	a.failpoints, a.env = true, []string{"EDGEVAULT_FAILPOINT=" + point}
	first := a.start(t)
	boot, hc = first.waitReady(t)
	e = newEdgeEnv(t, &inproc{boot: boot, http: hc}, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	req, err := runtime.NewRequest(ctx, http.MethodPost, e.deviceURL("life-rg", "dbe-crash", "/reconfigureManagedIdentity"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reconfigureManagedIdentity: %v %v", resp, err)
	}
	poller, err := runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[reconfigureResult]{FinalStateVia: runtime.FinalStateViaLocation})
	if err != nil {
		t.Fatal(err)
	}
	resume, err := poller.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	e, out := resumeAfterCrash[reconfigureResult](t, a, first, point, resume)
	d, err := e.devices.Get(ctx, "dbe-crash", "life-rg", nil)
	if err != nil || d.Identity == nil || *d.Identity.Type != armdataboxedge.MsiIdentityTypeSystemAssigned {
		t.Fatalf("identity after the crash at %s: %v %v", point, d.Identity, err)
	}
	if out.PrincipalID != *d.Identity.PrincipalID {
		t.Errorf("the result names principal %q, the device's identity is %q", out.PrincipalID, *d.Identity.PrincipalID)
	}
	v, err := e.vaults.Get(ctx, "life-rg", vault, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mine int
	for _, p := range v.Properties.AccessPolicies {
		if strings.EqualFold(*p.ObjectID, *d.Identity.PrincipalID) {
			mine++
			var perms []string
			for _, s := range p.Permissions.Secrets {
				perms = append(perms, string(*s))
			}
			if got := strings.Join(perms, ","); got != "get,set" {
				t.Errorf("the identity's secret permissions: %s, want get,set", got)
			}
		}
	}
	if mine != 1 || len(v.Properties.AccessPolicies) != 1 {
		t.Errorf("access policies: %d, of which the identity's %d; want the identity's once", len(v.Properties.AccessPolicies), mine)
	}
}
