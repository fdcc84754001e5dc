package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// TestCLIEdgeLifecycleSteps checks that the CLI's copies of the recovery
// steps are the server's.
func TestCLIEdgeLifecycleSteps(t *testing.T) {
	if !slices.Equal(client.RecoverSteps, activation.RecoverSteps) {
		t.Errorf("client.RecoverSteps = %q, activation.RecoverSteps = %q", client.RecoverSteps, activation.RecoverSteps)
	}
	if !slices.Equal(client.ReconfigureSteps, activation.ReconfigureSteps) {
		t.Errorf("client.ReconfigureSteps = %q, activation.ReconfigureSteps = %q", client.ReconfigureSteps, activation.ReconfigureSteps)
	}
}

// TestCLIEdgeLifecycle drives the recovery paths with the real CLI against
// a server and an appliance running the real agent: the vault deleted by
// accident shows as a Critical alert, recover-key-vault brings it back step
// by step and the device's secrets are in it again; the identity's access
// removed shows as an alert and reconfigure-identity restores it; delete
// soft-deletes the vault only on a typed Yes.
func TestCLIEdgeLifecycle(t *testing.T) {
	e := newLifecycleEnv(t, "dbe-x")
	ctx := context.Background()
	c := newCLIDriver(t)
	c.secret("the admin password", e.boot.Admin.Password)
	c.secret("the bootstrap client secret", e.boot.ServicePrincipal.ClientSecret)
	for _, s := range e.agent.State().Secrets {
		c.secret("the device secret "+s.Name, deviceSecret(t, e.agent, s.Name))
	}
	b, err := json.Marshal(e.boot)
	if err != nil {
		t.Fatal(err)
	}
	boot := filepath.Join(t.TempDir(), "bootstrap.json")
	if err := os.WriteFile(boot, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c.must("login", "--bootstrap", boot)
	edge := func(device string, args ...string) []string {
		return append(append([]string{"edge"}, args...), "--name", device, "--resource-group", "life-rg")
	}
	// alert waits until `edge alert list` shows an alert of type typ with
	// severity and status, and returns its line.
	alert := func(typ, severity, status string) string {
		t.Helper()
		return waitFor(t, typ+" "+status+" in `edge alert list`", func() (string, bool) {
			for line := range strings.SplitSeq(c.must(edge("dbe-x", "alert", "list")...).stdout, "\n") {
				if f := strings.Fields(line); len(f) > 2 && f[0] == severity && f[1] == typ && f[2] == status {
					return line, true
				}
			}
			return "", false
		})
	}

	// Nothing is lost yet: the CLI says what to use instead.
	c.fail("reconfigure-identity", edge("dbe-x", "recover-key-vault")...)

	// The vault deleted by accident: a Critical alert, then the recovery,
	// each step in order, and the device's secrets back in the vault.
	recovery := deviceSecret(t, e.agent, devicewire.SystemVolumeBitLockerRecoveryKey)
	e.deleteVaultAccidentally(t)
	alert("KeyVaultDeleted", "Critical", "Active")
	r := c.must(edge("dbe-x", "recover-key-vault")...)
	var at []int
	for _, step := range activation.RecoverSteps {
		at = append(at, strings.Index(r.stderr, "✓ "+step+" "))
	}
	if slices.Contains(at, -1) || !slices.IsSorted(at) {
		t.Errorf("recover-key-vault: steps at %v in stderr:\n%s", at, r.stderr)
	}
	if field(r.stdout, "ACTION") == "" || !strings.HasPrefix(field(r.stdout, "ACTION"), "Recovered") ||
		field(r.stdout, "KEY VAULT") != e.vaultName || field(r.stdout, "DEVICE PUSH PENDING") != "no" {
		t.Errorf("recover-key-vault stdout:\n%s", r.stdout)
	}
	e.waitSynced(t, "dbe-x")
	if got := readSecret(t, e.secretsClient(t), devicewire.SystemVolumeBitLockerRecoveryKey); got != recovery {
		t.Error("the recovery key in the recovered vault is not the appliance's")
	}
	alert("KeyVaultDeleted", "Critical", "Resolved")

	// The identity's access removed: an alert, then reconfigure-identity.
	dev, err := e.devices.Get(ctx, "dbe-x", "life-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.vaults.UpdateAccessPolicy(ctx, "life-rg", e.vaultName, armkeyvault.AccessPolicyUpdateKindRemove, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(e.boot.TenantID), ObjectID: dev.Identity.PrincipalID,
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsSet)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	alert("KeyVaultAccessDenied", "Critical", "Active")
	r = c.must(edge("dbe-x", "reconfigure-identity")...)
	if field(r.stdout, "SECRET PERMISSIONS") != "get, set" || field(r.stdout, "PRINCIPAL ID") != *dev.Identity.PrincipalID ||
		!strings.Contains(r.stderr, "✓ GrantManagedIdentityAccess") {
		t.Errorf("reconfigure-identity:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	c.must(edge("dbe-x", "secrets", "sync")...)
	alert("KeyVaultAccessDenied", "Critical", "Resolved")

	// Delete: the vault goes only on a typed Yes.
	e.stopAgent()
	e.createDevice(t, "life-rg", "dbe-y")
	res := e.generate(t, "life-rg", "dbe-y", "")
	kept := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	r = c.runIn("dbe-y\nno\n", edge("dbe-y", "delete")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Key vault "+kept+" was kept") {
		t.Errorf("delete, keeping the vault: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := e.vaults.Get(ctx, "life-rg", kept, nil); err != nil {
		t.Errorf("the vault went without consent: %v", err)
	}
	if n := countLocks(t, e.edgeEnv, e.subScope()+"/resourceGroups/life-rg/providers/Microsoft.KeyVault/vaults/"+kept); n != 1 {
		t.Errorf("locks on the kept vault: %d, want 1", n)
	}

	r = c.runIn("dbe-x\nYes\n", edge("dbe-x", "delete")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Also delete key vault "+e.vaultName+"? It stays recoverable for 90 days.") ||
		!strings.Contains(r.stderr, "Key vault "+e.vaultName+" was soft-deleted") {
		t.Errorf("delete with the vault: exit %d\n%s", r.code, r.stderr)
	}
	c.fail("ResourceNotFound", edge("dbe-x", "show")...)
	if _, err := e.vaults.Get(ctx, "life-rg", e.vaultName, nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("the vault after deletion with consent: %v", err)
	}
	if _, err := e.vaults.GetDeleted(ctx, e.vaultName, "westeurope", nil); err != nil {
		t.Errorf("the vault is not soft-deleted (recoverable): %v", err)
	}
	c.checkOutputs("")
}
