package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/edgevault/edgevault/internal/rbac"
)

// The Key Vault management plane, driven by the official, unmodified
// armkeyvault v1.5.0 VaultsClient, on SQLite and on PostgreSQL.
func TestKeyVaultManagementWithSDK(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
			e := newKVEnv(t, srv)
			// First: Microsoft.KeyVault starts unregistered.
			t.Run("AutoRegistration", func(t *testing.T) { testKVAutoRegistration(t, e) })
			t.Run("Lifecycle", func(t *testing.T) { testKVLifecycle(t, e) })
			t.Run("AccessPolicies", func(t *testing.T) { testKVAccessPolicies(t, e) })
			t.Run("Names", func(t *testing.T) { testKVNames(t, e) })
			t.Run("PurgeProtection", func(t *testing.T) { testKVPurgeProtection(t, e) })
			t.Run("Locks", func(t *testing.T) { testKVLocks(t, e) })
			t.Run("GroupDelete", func(t *testing.T) { testKVGroupDelete(t, e) })
			t.Run("RBAC", func(t *testing.T) { testKVRBAC(t, e, srv) })
			t.Run("BadInput", func(t *testing.T) { testKVBadInput(t, e) })
		})
	}
}

type kvEnv struct {
	*sdkEnv
	srv    *inproc
	vaults *armkeyvault.VaultsClient
	me     string // the service principal's object id
}

func newKVEnv(t *testing.T, srv *inproc) *kvEnv {
	t.Helper()
	env := newSDKEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	vaults, err := armkeyvault.NewVaultsClient(env.boot.SubscriptionID, env.cred, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	return &kvEnv{sdkEnv: env, srv: srv, vaults: vaults, me: srv.boot.ServicePrincipal.ObjectID}
}

func (e *kvEnv) group(t *testing.T, name string) {
	t.Helper()
	if _, err := e.groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
}

func (e *kvEnv) policy(objectID string, secrets ...armkeyvault.SecretPermissions) *armkeyvault.AccessPolicyEntry {
	p := &armkeyvault.AccessPolicyEntry{TenantID: to.Ptr(e.boot.TenantID), ObjectID: to.Ptr(objectID),
		Permissions: &armkeyvault.Permissions{}}
	for _, s := range secrets {
		p.Permissions.Secrets = append(p.Permissions.Secrets, to.Ptr(s))
	}
	return p
}

// params is a create body granting the caller get and list on secrets.
func (e *kvEnv) params(edit func(*armkeyvault.VaultProperties)) armkeyvault.VaultCreateOrUpdateParameters {
	p := armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr("West Europe"), Tags: map[string]*string{"env": to.Ptr("e2e")},
		Properties: &armkeyvault.VaultProperties{
			TenantID: to.Ptr(e.boot.TenantID),
			SKU:      &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{
				e.policy(e.me, armkeyvault.SecretPermissionsGet, armkeyvault.SecretPermissionsList)},
		},
	}
	if edit != nil {
		edit(p.Properties)
	}
	return p
}

func (e *kvEnv) create(t *testing.T, group, name string, edit func(*armkeyvault.VaultProperties)) armkeyvault.Vault {
	t.Helper()
	ctx := context.Background()
	poller, err := e.vaults.BeginCreateOrUpdate(ctx, group, name, e.params(edit), nil)
	if err != nil {
		t.Fatalf("BeginCreateOrUpdate(%s): %v", name, err)
	}
	res, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatalf("PollUntilDone(%s): %v", name, err)
	}
	return res.Vault
}

func (e *kvEnv) vaultURI(name string) string {
	return "https://" + e.srv.Endpoints().Host(name+".vault") + "/"
}

func testKVAutoRegistration(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-autoreg")
	if p, err := e.provs.Get(ctx, "Microsoft.KeyVault", nil); err != nil || *p.RegistrationState != "NotRegistered" {
		t.Fatalf("fresh subscription: Microsoft.KeyVault %v, %v", p.RegistrationState, err)
	}
	noReg := *e.opts
	noReg.DisableRPRegistration = true
	plain, err := armkeyvault.NewVaultsClient(e.boot.SubscriptionID, e.cred, &noReg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = plain.BeginCreateOrUpdate(ctx, "kv-autoreg", "kv-autoreg-1", e.params(nil), nil)
	if errorCode(err) != "MissingSubscriptionRegistration" {
		t.Fatalf("unregistered provider: %v", err)
	}
	// The SDK's registration policy registers and retries.
	v := e.create(t, "kv-autoreg", "kv-autoreg-1", nil)
	if *v.Name != "kv-autoreg-1" {
		t.Errorf("created %+v", v)
	}
	if p, _ := e.provs.Get(ctx, "Microsoft.KeyVault", nil); *p.RegistrationState != "Registered" {
		t.Errorf("after auto-registration: %s", *p.RegistrationState)
	}
	// A provider with vaults cannot be unregistered.
	if _, err := e.provs.Unregister(ctx, "Microsoft.KeyVault", nil); err == nil {
		t.Error("unregistered Microsoft.KeyVault while it holds vaults")
	}
}

func testKVLifecycle(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-rg")
	e.group(t, "kv-rg2")
	v := e.create(t, "kv-rg", "Kv-Life", nil)
	p := v.Properties
	if *v.ID != e.subScope()+"/resourceGroups/kv-rg/providers/Microsoft.KeyVault/vaults/Kv-Life" || *v.Type != "Microsoft.KeyVault/vaults" ||
		*v.Location != "westeurope" || *v.Tags["env"] != "e2e" || *p.ProvisioningState != armkeyvault.VaultProvisioningStateSucceeded ||
		*p.VaultURI != e.vaultURI("kv-life") || !*p.EnableSoftDelete || *p.SoftDeleteRetentionInDays != 90 || p.EnablePurgeProtection != nil ||
		*p.EnableRbacAuthorization || *p.TenantID != e.boot.TenantID || *p.SKU.Name != "standard" || *p.SKU.Family != "A" ||
		*p.PublicNetworkAccess != "Enabled" || v.SystemData == nil || v.SystemData.CreatedAt == nil {
		t.Errorf("created vault = %s", dump(v))
	}
	got, err := e.vaults.Get(ctx, "KV-RG", "kv-life", nil)
	if err != nil || *got.Name != "Kv-Life" || len(got.Properties.AccessPolicies) != 1 ||
		fmt.Sprint(secretPerms(got.Properties.AccessPolicies[0])) != "[get list]" {
		t.Fatalf("Get = %s, %v", dump(got.Vault), err)
	}
	upd, err := e.vaults.Update(ctx, "kv-rg", "kv-life", armkeyvault.VaultPatchParameters{
		Tags: map[string]*string{"owner": to.Ptr("ops")},
		Properties: &armkeyvault.VaultPatchProperties{SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA),
			Name: to.Ptr(armkeyvault.SKUNamePremium)}, EnabledForDeployment: to.Ptr(true)},
	}, nil)
	if err != nil || len(upd.Tags) != 1 || *upd.Properties.SKU.Name != "premium" || !*upd.Properties.EnabledForDeployment ||
		len(upd.Properties.AccessPolicies) != 1 {
		t.Fatalf("Update = %s, %v", dump(upd.Vault), err)
	}
	e.create(t, "kv-rg", "kv-life-b", nil)
	e.create(t, "kv-rg2", "kv-life-c", nil)

	// Lists page with $top: the pagers follow nextLink.
	var names []string
	rgPager := e.vaults.NewListByResourceGroupPager("kv-rg", &armkeyvault.VaultsClientListByResourceGroupOptions{Top: to.Ptr[int32](1)})
	pages := 0
	for rgPager.More() {
		page, err := rgPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if strings.Join(names, ",") != "Kv-Life,kv-life-b" || pages != 2 {
		t.Errorf("by group: %v in %d pages", names, pages)
	}
	names = nil
	subPager := e.vaults.NewListBySubscriptionPager(nil)
	for subPager.More() {
		page, err := subPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	for _, n := range []string{"Kv-Life", "kv-life-b", "kv-life-c", "kv-autoreg-1"} {
		if !slices.Contains(names, n) {
			t.Errorf("by subscription: %v lacks %s", names, n)
		}
	}

	// Soft delete.
	if _, err := e.vaults.Delete(ctx, "kv-rg", "kv-life", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vaults.Delete(ctx, "kv-rg", "kv-life", nil); err != nil { // 204: gone already
		t.Errorf("second Delete: %v", err)
	}
	if _, err := e.vaults.Get(ctx, "kv-rg", "kv-life", nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("Get after delete: %v", err)
	}
	d, err := e.vaults.GetDeleted(ctx, "kv-life", "westeurope", nil)
	if err != nil || *d.Name != "Kv-Life" || *d.Type != "Microsoft.KeyVault/deletedVaults" ||
		*d.ID != e.subScope()+"/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/Kv-Life" ||
		*d.Properties.VaultID != *v.ID || *d.Properties.PurgeProtectionEnabled ||
		!d.Properties.ScheduledPurgeDate.Equal(d.Properties.DeletionDate.Add(90*24*time.Hour)) ||
		time.Since(*d.Properties.DeletionDate) > time.Minute || *d.Properties.Tags["owner"] != "ops" {
		t.Fatalf("GetDeleted = %s, %v", dump(d.DeletedVault), err)
	}
	var deleted []string
	delPager := e.vaults.NewListDeletedPager(nil)
	for delPager.More() {
		page, err := delPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			deleted = append(deleted, *d.Name)
		}
	}
	if !slices.Contains(deleted, "Kv-Life") {
		t.Errorf("deleted vaults: %v", deleted)
	}
	// The name is reserved while soft-deleted, in any group of the subscription.
	for _, rg := range []string{"kv-rg", "kv-rg2"} {
		_, err = e.vaults.BeginCreateOrUpdate(ctx, rg, "kv-life", e.params(nil), nil)
		if errorCode(err) != "ConflictError" || !strings.Contains(err.Error(), "already exists in deleted state") {
			t.Errorf("create over a soft-deleted name in %s: %v", rg, err)
		}
	}

	// Recover: same name, group and location; the access policies come back.
	poller, err := e.vaults.BeginCreateOrUpdate(ctx, "kv-rg", "kv-life", armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr("westeurope"),
		Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr(e.boot.TenantID), CreateMode: to.Ptr(armkeyvault.CreateModeRecover),
			SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}},
	}, nil)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	rec, err := poller.PollUntilDone(ctx, nil)
	if err != nil || *rec.Name != "Kv-Life" || len(rec.Properties.AccessPolicies) != 1 || *rec.Properties.SKU.Name != "premium" ||
		*rec.Properties.AccessPolicies[0].ObjectID != e.me {
		t.Fatalf("recovered = %s, %v", dump(rec.Vault), err)
	}
	if _, err := e.vaults.Get(ctx, "kv-rg", "kv-life", nil); err != nil {
		t.Errorf("Get after recover: %v", err)
	}
	_, err = e.vaults.BeginCreateOrUpdate(ctx, "kv-rg", "never-deleted", armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr("westeurope"), Properties: &armkeyvault.VaultProperties{CreateMode: to.Ptr(armkeyvault.CreateModeRecover)}}, nil)
	if errorCode(err) != "SoftDeletedVaultDoesNotExist" {
		t.Errorf("recover of nothing: %v", err)
	}

	// Delete and purge: the name is free again.
	if _, err := e.vaults.Delete(ctx, "kv-rg", "kv-life", nil); err != nil {
		t.Fatal(err)
	}
	purge, err := e.vaults.BeginPurgeDeleted(ctx, "kv-life", "westeurope", nil)
	if err != nil {
		t.Fatalf("BeginPurgeDeleted: %v", err)
	}
	if _, err := purge.PollUntilDone(ctx, nil); err != nil {
		t.Fatalf("purge PollUntilDone: %v", err)
	}
	if _, err := e.vaults.GetDeleted(ctx, "kv-life", "westeurope", nil); errorCode(err) != "DeletedVaultNotFound" {
		t.Errorf("GetDeleted after purge: %v", err)
	}
	if a, err := e.vaults.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr("kv-life")}, nil); err != nil || !*a.NameAvailable {
		t.Errorf("name after purge: %s, %v", dump(a.CheckNameAvailabilityResult), err)
	}
}

func secretPerms(p *armkeyvault.AccessPolicyEntry) []string {
	var out []string
	for _, s := range p.Permissions.Secrets {
		out = append(out, string(*s))
	}
	return out
}

func testKVAccessPolicies(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-pol")
	e.create(t, "kv-pol", "kv-policies", nil)
	other := "5f1c2a4e-1b2c-4d5e-8f90-0123456789ab"
	update := func(kind armkeyvault.AccessPolicyUpdateKind, p *armkeyvault.AccessPolicyEntry) map[string][]string {
		t.Helper()
		res, err := e.vaults.UpdateAccessPolicy(ctx, "kv-pol", "kv-policies", kind, armkeyvault.VaultAccessPolicyParameters{
			Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{p}}}, nil)
		if err != nil {
			t.Fatalf("UpdateAccessPolicy %s: %v", kind, err)
		}
		if *res.Type != "Microsoft.KeyVault/vaults/accessPolicies" {
			t.Errorf("answer type %s", *res.Type)
		}
		v, err := e.vaults.Get(ctx, "kv-pol", "kv-policies", nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, p := range v.Properties.AccessPolicies {
			out[*p.ObjectID] = secretPerms(p)
		}
		if len(res.Properties.AccessPolicies) != len(out) {
			t.Errorf("answer lists %d policies, the vault has %d", len(res.Properties.AccessPolicies), len(out))
		}
		return out
	}
	// Permission strings are lower-case on the wire, whatever was sent.
	got := update(armkeyvault.AccessPolicyUpdateKindAdd, e.policy(other, "Get", "SET"))
	if len(got) != 2 || fmt.Sprint(got[other]) != "[get set]" || fmt.Sprint(got[e.me]) != "[get list]" {
		t.Errorf("after add: %v", got)
	}
	got = update(armkeyvault.AccessPolicyUpdateKindAdd, e.policy(e.me, armkeyvault.SecretPermissionsDelete))
	if fmt.Sprint(got[e.me]) != "[get list delete]" {
		t.Errorf("after add to existing: %v", got)
	}
	got = update(armkeyvault.AccessPolicyUpdateKindReplace, e.policy(other, armkeyvault.SecretPermissionsList))
	if fmt.Sprint(got[other]) != "[list]" {
		t.Errorf("after replace: %v", got)
	}
	got = update(armkeyvault.AccessPolicyUpdateKindRemove, e.policy(other, armkeyvault.SecretPermissionsList))
	if _, ok := got[other]; ok || len(got) != 1 {
		t.Errorf("after remove: %v", got)
	}
}

func testKVNames(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-names")
	e.group(t, "kv-names2")
	e.create(t, "kv-names", "kv-taken", nil)
	for _, tt := range []struct {
		name      string
		available bool
		reason    armkeyvault.Reason
	}{
		{"kv-free-name", true, ""},
		{"kv--bad", false, armkeyvault.ReasonAccountNameInvalid},
		{"9starts-with-digit", false, armkeyvault.ReasonAccountNameInvalid},
		{"KV-TAKEN", false, armkeyvault.ReasonAlreadyExists},
	} {
		a, err := e.vaults.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr(tt.name)}, nil)
		if err != nil || *a.NameAvailable != tt.available || (tt.reason != "" && (a.Reason == nil || *a.Reason != tt.reason || *a.Message == "")) {
			t.Errorf("CheckNameAvailability(%s) = %s, %v", tt.name, dump(a.CheckNameAvailabilityResult), err)
		}
	}
	// A live name in another group of the subscription.
	_, err := e.vaults.BeginCreateOrUpdate(ctx, "kv-names2", "kv-taken", e.params(nil), nil)
	if errorCode(err) != "VaultAlreadyExists" {
		t.Errorf("taken name in another group: %v", err)
	}
	_, err = e.vaults.BeginCreateOrUpdate(ctx, "kv-names", "kv--bad", e.params(nil), nil)
	if errorCode(err) != "VaultNameNotValid" {
		t.Errorf("invalid name: %v", err)
	}
}

func testKVPurgeProtection(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-pp")
	v := e.create(t, "kv-pp", "kv-protected", func(p *armkeyvault.VaultProperties) {
		p.EnablePurgeProtection = to.Ptr(true)
		p.SoftDeleteRetentionInDays = to.Ptr[int32](7)
	})
	if !*v.Properties.EnablePurgeProtection || *v.Properties.SoftDeleteRetentionInDays != 7 {
		t.Fatalf("created = %s", dump(v))
	}
	// Irreversible.
	_, err := e.vaults.Update(ctx, "kv-pp", "kv-protected", armkeyvault.VaultPatchParameters{
		Properties: &armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(false)}}, nil)
	if errorCode(err) != "BadRequest" || !strings.Contains(err.Error(), "irreversible") {
		t.Errorf("turning purge protection off: %v", err)
	}
	if _, err := e.vaults.Delete(ctx, "kv-pp", "kv-protected", nil); err != nil {
		t.Fatal(err)
	}
	d, err := e.vaults.GetDeleted(ctx, "kv-protected", "westeurope", nil)
	if err != nil || !*d.Properties.PurgeProtectionEnabled ||
		!d.Properties.ScheduledPurgeDate.Equal(d.Properties.DeletionDate.Add(7*24*time.Hour)) {
		t.Fatalf("GetDeleted = %s, %v", dump(d.DeletedVault), err)
	}
	_, err = e.vaults.BeginPurgeDeleted(ctx, "kv-protected", "westeurope", nil)
	if errorCode(err) != "MethodNotAllowed" || !strings.Contains(err.Error(), "Purge protection is enabled") {
		t.Errorf("purge under purge protection: %v", err)
	}
	if _, err := e.vaults.GetDeleted(ctx, "kv-protected", "westeurope", nil); err != nil {
		t.Errorf("the refused purge removed the vault: %v", err)
	}
}

func testKVLocks(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-locks")
	v := e.create(t, "kv-locks", "kv-locked", nil)
	pl := e.lockPipeline(t)
	put := func(scope, name, level string) {
		t.Helper()
		resp, err := e.lockRequest(t, pl, http.MethodPut, scope, name, map[string]any{"properties": map[string]any{"level": level}})
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT lock on %s: %v %v", scope, resp.Status, err)
		}
		resp.Body.Close()
	}
	del := func(scope, name string) {
		t.Helper()
		resp, err := e.lockRequest(t, pl, http.MethodDelete, scope, name, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE lock: %v %v", resp.Status, err)
		}
		resp.Body.Close()
	}
	// A lock on the vault itself: the vault exists for armapi.
	put(*v.ID, "no-delete", "CanNotDelete")
	_, err := e.vaults.Delete(ctx, "kv-locks", "kv-locked", nil)
	if errorCode(err) != "ScopeLocked" || !strings.Contains(err.Error(), "cannot perform delete operation") {
		t.Fatalf("delete of a locked vault: %v", err)
	}
	if _, err := e.vaults.Update(ctx, "kv-locks", "kv-locked", armkeyvault.VaultPatchParameters{Tags: map[string]*string{"a": to.Ptr("b")}}, nil); err != nil {
		t.Errorf("write under CanNotDelete: %v", err)
	}
	del(*v.ID, "no-delete")
	// ReadOnly on the group blocks writes and access-policy changes.
	rg := e.subScope() + "/resourceGroups/kv-locks"
	put(rg, "read-only", "ReadOnly")
	_, err = e.vaults.Update(ctx, "kv-locks", "kv-locked", armkeyvault.VaultPatchParameters{Tags: map[string]*string{}}, nil)
	if errorCode(err) != "ScopeLocked" {
		t.Errorf("write under ReadOnly: %v", err)
	}
	_, err = e.vaults.UpdateAccessPolicy(ctx, "kv-locks", "kv-locked", armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{e.policy(e.me, armkeyvault.SecretPermissionsSet)}}}, nil)
	if errorCode(err) != "ScopeLocked" {
		t.Errorf("access policy under ReadOnly: %v", err)
	}
	del(rg, "read-only")
	if _, err := e.vaults.Delete(ctx, "kv-locks", "kv-locked", nil); err != nil {
		t.Errorf("delete after unlocking: %v", err)
	}
	// A soft-deleted vault is no resource to lock.
	resp, err := e.lockRequest(t, pl, http.MethodPut, *v.ID, "late", map[string]any{"properties": map[string]any{"level": "ReadOnly"}})
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("lock on a deleted vault: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

// testKVGroupDelete: deleting a group soft-deletes its vaults.
func testKVGroupDelete(t *testing.T, e *kvEnv) {
	ctx := context.Background()
	e.group(t, "kv-doomed")
	e.create(t, "kv-doomed", "kv-in-doomed", nil)
	poller, err := e.groups.BeginDelete(ctx, "kv-doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second}); err != nil {
		t.Fatalf("group delete: %v", err)
	}
	d, err := e.vaults.GetDeleted(ctx, "kv-in-doomed", "westeurope", nil)
	if err != nil || !strings.Contains(*d.Properties.VaultID, "/resourceGroups/kv-doomed/") {
		t.Errorf("vault of the deleted group: %s, %v", dump(d.DeletedVault), err)
	}
}

// testKVRBAC: a principal without a role learns nothing; Reader reads
// but cannot write or purge.
func testKVRBAC(t *testing.T, e *kvEnv, srv *inproc) {
	ctx := context.Background()
	e.group(t, "kv-rbac")
	e.create(t, "kv-rbac", "kv-rbac-1", nil)
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, srv.boot), srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret, srv.boot.ManagementAudience))
	var sp struct{ ClientID, ObjectID, ClientSecret string }
	if err := api.Do(ctx, http.MethodPost, srv.boot.ManagementEndpoint+"/edgevault/admin/servicePrincipals", map[string]string{"displayName": "kv-reader"}, &sp); err != nil {
		t.Fatal(err)
	}
	reader := newSDKEnv(t, srv, sp.ClientID, sp.ClientSecret)
	rv, err := armkeyvault.NewVaultsClient(reader.boot.SubscriptionID, reader.cred, reader.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rv.Get(ctx, "kv-rbac", "kv-rbac-1", nil); errorCode(err) != "AuthorizationFailed" {
		t.Fatalf("no role, Get: %v", err)
	}
	if _, err := rv.Get(ctx, "kv-rbac", "no-such-vault", nil); errorCode(err) != "AuthorizationFailed" {
		t.Fatalf("no role, Get of a missing vault: %v", err)
	}
	def, err := e.roleDefs.Get(ctx, e.subScope(), rbac.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.roles.Create(ctx, e.subScope(), "6f1c2a4e-1b2c-4d5e-8f90-0123456789ab", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: def.ID,
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if v, err := rv.Get(ctx, "kv-rbac", "kv-rbac-1", nil); err != nil || *v.Name != "kv-rbac-1" {
		t.Errorf("Reader Get: %v", err)
	}
	if _, err := rv.Update(ctx, "kv-rbac", "kv-rbac-1", armkeyvault.VaultPatchParameters{Tags: map[string]*string{}}, nil); errorCode(err) != "AuthorizationFailed" {
		t.Errorf("Reader Update: %v", err)
	}
	if _, err := rv.BeginPurgeDeleted(ctx, "whatever", "westeurope", nil); errorCode(err) != "AuthorizationFailed" ||
		!strings.Contains(err.Error(), "Microsoft.KeyVault/locations/deletedVaults/purge/action") {
		t.Errorf("Reader purge: %v", err)
	}
}

// kvRaw sends a raw request through the SDK's ARM pipeline and returns the
// status and ARM error code.
func (e *kvEnv) kvRaw(t *testing.T, method, path, apiVersion, body string) (int, string) {
	t.Helper()
	pl, err := armruntime.NewPipeline("edgevault-e2e", "v0.0.0", e.cred, runtime.PipelineOptions{}, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(context.Background(), method, e.boot.ManagementEndpoint+path+"?api-version="+apiVersion)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := pl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, errorCode(runtime.NewResponseError(resp))
}

// testKVBadInput: every malformed PUT is refused with Azure's status and
// code, and creates nothing.
func testKVBadInput(t *testing.T, e *kvEnv) {
	e.group(t, "kv-bad")
	tenant := e.boot.TenantID
	props := func(extra string) string {
		return `{"location":"westeurope","properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"},"accessPolicies":[]` + extra + `}}`
	}
	pol := func(tenant, obj string) string {
		return `{"tenantId":"` + tenant + `","objectId":"` + obj + `","permissions":{"secrets":["get"]}}`
	}
	var many []string
	for i := range 1025 {
		many = append(many, pol(tenant, fmt.Sprintf("00000000-0000-0000-0000-%012d", i)))
	}
	vault := e.subScope() + "/resourceGroups/kv-bad/providers/Microsoft.KeyVault/vaults/"
	for _, tt := range []struct {
		name, path, version, body string
		status                    int
		code                      string
	}{
		{"unknown field", vault + "kv-bad-1", "2024-11-01", props(`,"enableTurbo":true`), 400, "InvalidRequestContent"},
		{"not json", vault + "kv-bad-1", "2024-11-01", `{"location":`, 400, "InvalidRequestContent"},
		{"no body", vault + "kv-bad-1", "2024-11-01", "", 400, "InvalidRequestContent"},
		{"retention too short", vault + "kv-bad-1", "2024-11-01", props(`,"softDeleteRetentionInDays":6`), 400, "BadRequest"},
		{"retention too long", vault + "kv-bad-1", "2024-11-01", props(`,"softDeleteRetentionInDays":91`), 400, "BadRequest"},
		{"retention not a number", vault + "kv-bad-1", "2024-11-01", props(`,"softDeleteRetentionInDays":"90"`), 400, "InvalidRequestContent"},
		{"soft delete off", vault + "kv-bad-1", "2024-11-01", props(`,"enableSoftDelete":false`), 400, "BadRequest"},
		{"purge protection false", vault + "kv-bad-1", "2024-11-01", props(`,"enablePurgeProtection":false`), 400, "BadRequest"},
		{"rbac", vault + "kv-bad-1", "2024-11-01", props(`,"enableRbacAuthorization":true`), 400, "BadRequest"},
		{"network rules", vault + "kv-bad-1", "2024-11-01", props(`,"networkAcls":{"defaultAction":"Deny"}`), 400, "BadRequest"},
		{"1025 policies", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), `"accessPolicies":[]`, `"accessPolicies":[`+strings.Join(many, ",")+`]`, 1), 400, "BadRequest"},
		{"policy of another tenant", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), `"accessPolicies":[]`,
			`"accessPolicies":[`+pol("11111111-2222-3333-4444-555555555555", e.me)+`]`, 1), 400, "BadRequest"},
		{"unknown permission", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), `"accessPolicies":[]`,
			`"accessPolicies":[`+strings.Replace(pol(tenant, e.me), `"get"`, `"peek"`, 1)+`]`, 1), 400, "BadRequest"},
		{"vault of another tenant", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), tenant, "11111111-2222-3333-4444-555555555555", 1), 400, "BadRequest"},
		{"bad sku", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), `"standard"`, `"gold"`, 1), 400, "BadRequest"},
		{"no location", vault + "kv-bad-1", "2024-11-01", strings.Replace(props(""), `"location":"westeurope",`, "", 1), 400, "BadRequest"},
		{"name with underscore", vault + "kv_bad", "2024-11-01", props(""), 400, "VaultNameNotValid"},
		{"name too long", vault + strings.Repeat("k", 25), "2024-11-01", props(""), 400, "VaultNameNotValid"},
		{"name too short", vault + "kv", "2024-11-01", props(""), 400, "VaultNameNotValid"},
		{"old api-version", vault + "kv-bad-1", "2015-06-01", props(""), 400, "InvalidApiVersionParameter"},
		{"missing group", e.subScope() + "/resourceGroups/kv-none/providers/Microsoft.KeyVault/vaults/kv-bad-1", "2024-11-01", props(""), 404, "ResourceGroupNotFound"},
		{"access policy kind", vault + "kv-bad-1/accessPolicies/merge", "2024-11-01", `{"properties":{"accessPolicies":[]}}`, 400, "BadRequest"},
		{"check name type", e.subScope() + "/providers/Microsoft.KeyVault/checkNameAvailability", "2024-11-01", `{"name":"x","type":"Microsoft.Storage/storageAccounts"}`, 400, "BadRequest"},
		{"vault under a subscription", e.subScope() + "/providers/Microsoft.KeyVault/vaults/kv-bad-1", "2024-11-01", props(""), 404, "NotFound"},
	} {
		method := http.MethodPut
		if strings.HasSuffix(tt.path, "checkNameAvailability") {
			method = http.MethodPost
		}
		status, code := e.kvRaw(t, method, tt.path, tt.version, tt.body)
		if status != tt.status || code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, code, tt.status, tt.code)
		}
	}
	// Nothing was created; GET of a missing vault is ARM's ResourceNotFound.
	if status, code := e.kvRaw(t, http.MethodGet, vault+"kv-bad-1", "2024-11-01", ""); status != 404 || code != "ResourceNotFound" {
		t.Errorf("after the bad requests: %d %s", status, code)
	}
	// A GET body can be PUT back (read-only fields are ignored).
	v := e.create(t, "kv-bad", "kv-roundtrip", nil)
	resp, err := e.vaults.Get(context.Background(), "kv-bad", "kv-roundtrip", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := resp.Vault.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if status, code := e.kvRaw(t, http.MethodPut, *v.ID, "2024-11-01", string(body)); status != 200 {
		t.Errorf("PUT of a GET body: %d %s", status, code)
	}
}

// dump renders an SDK model as its JSON, for failure messages.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
