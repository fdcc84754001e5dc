package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/edgevault/edgevault/internal/agent"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/server"
)

// lifecycleEnv is a server, an activated appliance running the real
// agent, and the SDK clients.
type lifecycleEnv struct {
	*edgeEnv
	agent     *agent.Agent
	stopAgent func()
	vaultName string
	vaultURI  string
}

func newLifecycleEnv(t *testing.T, device string, options ...func(*server.Options)) *lifecycleEnv {
	t.Helper()
	srv := startInProcessWith(t, t.TempDir(), "127.0.0.1:0", "", nil, func(c *config.Config) {
		c.DeviceHeartbeat, c.DeviceOfflineAfter = time.Second, 5*time.Second
	}, options...)
	e := &lifecycleEnv{edgeEnv: newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)}
	e.group(t, "life-rg")
	e.createDevice(t, "life-rg", device)
	res := e.generate(t, "life-rg", device, "")
	dir := filepath.Join(t.TempDir(), "appliance")
	if _, err := agent.Init(dir, "SN-"+strings.ToUpper(device), nil); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.agent, err = agent.Open(agent.Config{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.agent.Activate(context.Background(), res.ActivationKey, false); err != nil {
		t.Fatal(err)
	}
	e.stopAgent = runAgent(t, e.agent)
	e.vaultURI = res.KeyVaultURI
	e.vaultName = res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	e.waitSynced(t, device)
	return e
}

func (e *lifecycleEnv) extendedInfo(t *testing.T, device string) armdataboxedge.DeviceExtendedInfoProperties {
	t.Helper()
	res, err := e.devices.GetExtendedInformation(context.Background(), device, "life-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	return *res.Properties
}

func (e *lifecycleEnv) waitSynced(t *testing.T, device string) {
	t.Helper()
	waitFor(t, "the device secrets to be synced", func() (struct{}, bool) {
		p := e.extendedInfo(t, device)
		return struct{}{}, *p.KeyVaultSyncStatus == armdataboxedge.KeyVaultSyncStatusKeyVaultSynced && len(p.DeviceSecrets) == len(devicewire.DeviceSecretNames)
	})
}

// activeAlerts returns the device's active alerts by type.
func (e *lifecycleEnv) activeAlerts(t *testing.T, device string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for pager := e.alerts.NewListByDataBoxEdgeDevicePager(device, "life-rg", nil); pager.More(); {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			if *a.Properties.DetailedInformation["status"] == "Active" {
				out[*a.Properties.AlertType] = string(*a.Properties.Severity)
			}
		}
	}
	return out
}

// beginAction posts a device action that must be accepted and returns
// its poller.
func (e *lifecycleEnv) beginAction(t *testing.T, device, action string, body any) *runtime.Poller[map[string]any] {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, e.deviceURL("life-rg", device, "/"+action))
	if err != nil {
		t.Fatal(err)
	}
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%s: %v %v", action, resp, err)
	}
	p, err := runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[map[string]any]{FinalStateVia: runtime.FinalStateViaLocation})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// action posts a device action and, for a 202, polls it to the end.
func (e *lifecycleEnv) action(t *testing.T, device, action string, body any) (map[string]any, error) {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, e.deviceURL("life-rg", device, "/"+action))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := e.pl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusAccepted) {
		return nil, runtime.NewResponseError(resp)
	}
	p, err := runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[map[string]any]{FinalStateVia: runtime.FinalStateViaLocation})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 200 * time.Millisecond})
}

// secretsClient reads the vault as the admin service principal, after
// granting it get and list.
func (e *lifecycleEnv) secretsClient(t *testing.T) *azsecrets.Client {
	t.Helper()
	if _, err := e.vaults.UpdateAccessPolicy(context.Background(), "life-rg", e.vaultName, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(e.boot.TenantID), ObjectID: to.Ptr(e.boot.ServicePrincipal.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsList)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	sc, err := azsecrets.NewClient(e.vaultURI, e.cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.http}})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// deleteVaultAccidentally removes the service's lock and deletes the
// vault, as someone with Owner could.
func (e *lifecycleEnv) deleteVaultAccidentally(t *testing.T) {
	t.Helper()
	scope := e.subScope() + "/resourceGroups/life-rg/providers/Microsoft.KeyVault/vaults/" + e.vaultName
	if code := e.raw(t, http.MethodDelete, e.boot.ManagementEndpoint+scope+"/providers/Microsoft.Authorization/locks/edgevault-keyvault-lock?api-version=2020-05-01", nil, nil); code != http.StatusOK {
		t.Fatalf("removing the vault's lock: %d", code)
	}
	if _, err := e.vaults.Delete(context.Background(), "life-rg", e.vaultName, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycleVaultDeletedAndRecovered(t *testing.T) {
	e := newLifecycleEnv(t, "dbe-life")
	ctx := context.Background()
	recovery := deviceSecret(t, e.agent, devicewire.SystemVolumeBitLockerRecoveryKey)

	// Nothing is lost yet: a recovery is refused.
	if _, err := e.action(t, "dbe-life", "recoverKeyVault", nil); errorCode(err) != "NothingToRecover" {
		t.Fatalf("recover with nothing lost: %v", err)
	}

	deleted := time.Now()
	e.deleteVaultAccidentally(t)
	waitFor(t, "the Critical KeyVaultDeleted alert", func() (struct{}, bool) {
		return struct{}{}, e.activeAlerts(t, "dbe-life")["KeyVaultDeleted"] == "Critical"
	})
	if d := time.Since(deleted); d > 5*time.Second {
		t.Errorf("the alert took %s, want ≤ 5 s", d)
	}
	if got := *e.extendedInfo(t, "dbe-life").KeyVaultSyncStatus; got != armdataboxedge.KeyVaultSyncStatusKeyVaultNotSynced {
		t.Errorf("sync status after the deletion = %s", got)
	}
	if state, action := e.overview(t, "dbe-life"); state != "SoftDeleted" || action != "RecoverKeyVault" {
		t.Errorf("overview after the deletion: %s, %s", state, action)
	}

	// A new name is refused while the vault is recoverable under its own.
	if _, err := e.action(t, "dbe-life", "recoverKeyVault", map[string]string{"keyVaultName": "some-other-name"}); errorCode(err) != "BadRequest" {
		t.Fatalf("recover with another name: %v", err)
	}
	res, err := e.action(t, "dbe-life", "recoverKeyVault", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["action"] != "Recovered" || res["devicePushPending"] != false {
		t.Fatalf("recover = %v", res)
	}
	if _, err := e.vaults.Get(ctx, "life-rg", e.vaultName, nil); err != nil {
		t.Fatalf("the vault is not back: %v", err)
	}
	if n := countLocks(t, e.edgeEnv, e.subScope()+"/resourceGroups/life-rg/providers/Microsoft.KeyVault/vaults/"+e.vaultName); n != 1 {
		t.Errorf("locks on the recovered vault: %d, want 1", n)
	}
	e.waitSynced(t, "dbe-life")
	if got := readSecret(t, e.secretsClient(t), devicewire.SystemVolumeBitLockerRecoveryKey); got != recovery {
		t.Error("the recovery key in the recovered vault is not the appliance's")
	}
	if _, open := e.activeAlerts(t, "dbe-life")["KeyVaultDeleted"]; open {
		t.Error("the KeyVaultDeleted alert is still active after the recovery")
	}
	if state, action := e.overview(t, "dbe-life"); state != "Active" || action != "None" {
		t.Errorf("overview after the recovery: %s, %s", state, action)
	}
}

func TestLifecycleAccessRemovedAndReconfigured(t *testing.T) {
	e := newLifecycleEnv(t, "dbe-access")
	ctx := context.Background()
	dev, err := e.devices.Get(ctx, "dbe-access", "life-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	mi := *dev.Identity.PrincipalID
	if _, err := e.vaults.UpdateAccessPolicy(ctx, "life-rg", e.vaultName, armkeyvault.AccessPolicyUpdateKindRemove, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(e.boot.TenantID), ObjectID: to.Ptr(mi),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsSet)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the KeyVaultAccessDenied alert", func() (struct{}, bool) {
		return struct{}{}, e.activeAlerts(t, "dbe-access")["KeyVaultAccessDenied"] == "Critical"
	})
	if got := *e.extendedInfo(t, "dbe-access").KeyVaultSyncStatus; got != armdataboxedge.KeyVaultSyncStatusKeyVaultSyncFailed {
		t.Errorf("sync status without access = %s", got)
	}
	if state, action := e.overview(t, "dbe-access"); state != "Inaccessible" || action != "ReconfigureManagedIdentity" {
		t.Errorf("overview without access: %s, %s", state, action)
	}
	if _, err := e.action(t, "dbe-access", "reconfigureManagedIdentity", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.action(t, "dbe-access", "syncDeviceSecrets", nil); err != nil {
		t.Fatalf("sync after reconfiguring: %v", err)
	}
	waitFor(t, "the alert to resolve", func() (struct{}, bool) {
		_, open := e.activeAlerts(t, "dbe-access")["KeyVaultAccessDenied"]
		return struct{}{}, !open
	})
}

func TestLifecycleDeleteWithAndWithoutConsent(t *testing.T) {
	e := newLifecycleEnv(t, "dbe-keep")
	ctx := context.Background()
	e.stopAgent()
	keep := e.vaultName
	// Without consent: the vault and its lock stay.
	poller, err := e.devices.BeginDelete(ctx, "dbe-keep", "life-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vaults.Get(ctx, "life-rg", keep, nil); err != nil {
		t.Fatalf("the vault went without consent: %v", err)
	}
	if n := countLocks(t, e.edgeEnv, e.subScope()+"/resourceGroups/life-rg/providers/Microsoft.KeyVault/vaults/"+keep); n != 1 {
		t.Errorf("locks on the kept vault: %d", n)
	}

	// With consent: the service removes its lock and soft-deletes the
	// vault; the audit storage account stays.
	e.createDevice(t, "life-rg", "dbe-gone")
	res := e.generate(t, "life-rg", "dbe-gone", "")
	gone := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	if code := e.raw(t, http.MethodDelete, e.deviceURL("life-rg", "dbe-gone", "")+"&deleteKeyVault=maybe", nil, nil); code != http.StatusBadRequest {
		t.Errorf("deleteKeyVault=maybe: %d", code)
	}
	req, err := runtime.NewRequest(ctx, http.MethodDelete, e.deviceURL("life-rg", "dbe-gone", "")+"&deleteKeyVault=true")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete with consent: %v %v", resp, err)
	}
	waitFor(t, "the device to be deleted", func() (struct{}, bool) {
		_, err := e.devices.Get(ctx, "dbe-gone", "life-rg", nil)
		return struct{}{}, errorCode(err) == "ResourceNotFound"
	})
	if _, err := e.vaults.Get(ctx, "life-rg", gone, nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("the vault after deletion with consent: %v", err)
	}
	if _, err := e.vaults.GetDeleted(ctx, gone, "westeurope", nil); err != nil {
		t.Errorf("the vault is not soft-deleted (recoverable): %v", err)
	}
	accts, err := e.accounts.NewListByResourceGroupPager("life-rg", nil).NextPage(ctx)
	if err != nil || len(accts.Value) != 2 {
		t.Errorf("audit storage accounts after the deletions: %d, %v; want both kept", len(accts.Value), err)
	}
}

// overview reads the device's security overview: the vault state and the
// recovery action it offers.
func (e *lifecycleEnv) overview(t *testing.T, device string) (state, action string) {
	t.Helper()
	var o struct {
		KeyVault       struct{ State string }
		RecoveryAction string
	}
	if code := e.raw(t, http.MethodGet, e.deviceURL("life-rg", device, "/securityOverview"), nil, &o); code != http.StatusOK {
		t.Fatalf("securityOverview: %d", code)
	}
	return o.KeyVault.State, o.RecoveryAction
}

// TestLifecycleVaultPurgedNewVault: the vault is deleted and its retention
// passes (the vaults' clock moved 91 days on); it can no longer be
// recovered, so the recovery asks for a new name, creates that vault, and
// the appliance pushes its secrets, the CIK included, into it.
func TestLifecycleVaultPurgedNewVault(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newLifecycleEnv(t, "dbe-purge", func(o *server.Options) { o.VaultClock = clock })
	ctx := context.Background()
	recovery := deviceSecret(t, e.agent, devicewire.SystemVolumeBitLockerRecoveryKey)
	e.deleteVaultAccidentally(t)
	offset.Store(int64(91 * 24 * time.Hour))
	if state, action := e.overview(t, "dbe-purge"); state != "Purged" || action != "RecoverKeyVaultWithNewName" {
		t.Errorf("overview after retention: %s, %s", state, action)
	}
	if _, err := e.action(t, "dbe-purge", "recoverKeyVault", nil); errorCode(err) != "KeyVaultNameRequired" {
		t.Fatalf("recover without a name after retention: %v", err)
	}
	if _, err := e.action(t, "dbe-purge", "recoverKeyVault", map[string]string{"keyVaultName": "b@d"}); errorCode(err) != "VaultNameNotValid" {
		t.Fatalf("recover with an invalid name: %v", err)
	}
	// A name another vault holds is refused.
	std := armkeyvault.SKUNameStandard
	if _, err := e.vaults.BeginCreateOrUpdate(ctx, "life-rg", "kv-taken", armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr("westeurope"), Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr(e.boot.TenantID),
			SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: &std}, AccessPolicies: []*armkeyvault.AccessPolicyEntry{}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.action(t, "dbe-purge", "recoverKeyVault", map[string]string{"keyVaultName": "kv-taken"}); errorCode(err) != "VaultAlreadyExists" {
		t.Fatalf("recover with a taken name: %v", err)
	}
	// The appliance is down: the recovery runs, a second one is refused
	// while it does, and the push stays pending until the appliance is back.
	e.stopAgent()
	first := e.beginAction(t, "dbe-purge", "recoverKeyVault", map[string]string{"keyVaultName": "kv-purge-new"})
	if _, err := e.action(t, "dbe-purge", "recoverKeyVault", map[string]string{"keyVaultName": "kv-purge-other"}); errorCode(err) != "AnotherOperationInProgress" {
		t.Fatalf("a second recovery while one runs: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := first.PollUntilDone(pctx, &runtime.PollUntilDoneOptions{Frequency: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res["action"] != "Created" || !strings.HasSuffix(res["keyVaultId"].(string), "/kv-purge-new") || res["devicePushPending"] != true {
		t.Fatalf("recover = %v", res)
	}
	e.stopAgent = runAgent(t, e.agent)
	e.waitSynced(t, "dbe-purge")
	info := e.extendedInfo(t, "dbe-purge")
	if !strings.HasSuffix(*info.ClientSecretStoreID, "/kv-purge-new") || !strings.HasPrefix(*info.ClientSecretStoreURL, "https://kv-purge-new.vault.") {
		t.Fatalf("extended info points at %s", *info.ClientSecretStoreID)
	}
	e.vaultName, e.vaultURI = "kv-purge-new", *info.ClientSecretStoreURL
	sc := e.secretsClient(t)
	if got := readSecret(t, sc, devicewire.SystemVolumeBitLockerRecoveryKey); got != recovery {
		t.Error("the recovery key in the new vault is not the appliance's")
	}
	if _, err := sc.GetSecret(ctx, *info.ChannelIntegrityKeyName, *info.ChannelIntegrityKeyVersion, nil); err != nil {
		t.Errorf("the CIK is not in the new vault: %v", err)
	}
}

// TestLifecycleIdentityDisabledAndReconfigured: the identity turned off
// (PATCH identity None) → the reconcile raises KeyVaultAccessDenied →
// reconfigureManagedIdentity turns it on and re-grants it → the alert
// resolves and a sync works.
func TestLifecycleIdentityDisabledAndReconfigured(t *testing.T) {
	e := newLifecycleEnv(t, "dbe-off")
	ctx := context.Background()
	res, err := e.devices.Update(ctx, "dbe-off", "life-rg", armdataboxedge.DevicePatch{
		Identity: &armdataboxedge.ResourceIdentity{Type: to.Ptr(armdataboxedge.MsiIdentityTypeNone)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *res.Identity.Type != armdataboxedge.MsiIdentityTypeNone {
		t.Fatalf("identity after PATCH None = %s", *res.Identity.Type)
	}
	waitFor(t, "the KeyVaultAccessDenied alert", func() (struct{}, bool) {
		return struct{}{}, e.activeAlerts(t, "dbe-off")["KeyVaultAccessDenied"] == "Critical"
	})
	if _, err := e.action(t, "dbe-off", "reconfigureManagedIdentity", nil); err != nil {
		t.Fatal(err)
	}
	d, err := e.devices.Get(ctx, "dbe-off", "life-rg", nil)
	if err != nil || *d.Identity.Type != armdataboxedge.MsiIdentityTypeSystemAssigned {
		t.Fatalf("identity after reconfiguring: %v %v", d.Identity, err)
	}
	if _, err := e.action(t, "dbe-off", "syncDeviceSecrets", nil); err != nil {
		t.Fatalf("sync after reconfiguring: %v", err)
	}
	waitFor(t, "the alert to resolve", func() (struct{}, bool) {
		_, open := e.activeAlerts(t, "dbe-off")["KeyVaultAccessDenied"]
		return struct{}{}, !open
	})
}
