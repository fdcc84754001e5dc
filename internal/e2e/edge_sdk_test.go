package e2e

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/edgevault/edgevault/internal/activationkey"
)

// TestEdgeGenerateWithSDK checks, on SQLite and PostgreSQL, every side
// effect of generateActivationKey through the public APIs with the
// official SDKs (armkeyvault, armstorage, armmonitor, azsecrets, azblob,
// armdataboxedge), the regenerate path, the failure table of
// reference/edge-arm.md §2.7 and the device's CRUD.
func TestEdgeGenerateWithSDK(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			// Registration needs a subscription where neither the vault
			// nor the storage provider was ever used: a server of its own.
			t.Run("Registration", func(t *testing.T) {
				srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
				testEdgeRegistration(t, newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret))
			})
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
			e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
			var first *firstGeneration
			t.Run("FirstGeneration", func(t *testing.T) { first = testEdgeFirstGeneration(t, e) })
			t.Run("Regenerate", func(t *testing.T) {
				if first == nil {
					t.Skip("the first generation failed")
				}
				testEdgeRegenerate(t, e, first)
			})
			t.Run("Failures", func(t *testing.T) { testEdgeFailures(t, e) })
			t.Run("ResultOnlyForInitiator", func(t *testing.T) { testEdgeResultOnlyForInitiator(t, e) })
			t.Run("CRUD", func(t *testing.T) { testEdgeCRUD(t, e) })
		})
	}
}

// firstGeneration is what the regenerate test starts from.
type firstGeneration struct {
	group, device string
	res           activationResult
	keyID         string
	identity      string // the device's managed identity
	cikName       string
	cikVersion    string
	blobs         *azblob.Client
	secrets       *azsecrets.Client
}

func testEdgeFirstGeneration(t *testing.T, e *edgeEnv) *firstGeneration {
	ctx := context.Background()
	const group, name = "edge-sdk", "dbe-sdk"
	e.group(t, group)
	d := e.createDevice(t, group, name)
	mi := *d.Identity.PrincipalID
	started := time.Now()
	res := e.generate(t, group, name, "")
	k, err := activationkey.Parse(res.ActivationKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(k.ResourceID, *d.ID) || len(res.Warnings) != 0 {
		t.Errorf("key for %s, warnings %q", k.ResourceID, res.Warnings)
	}
	if life := res.ExpiryTimeInUTC.Sub(started); life < 71*time.Hour || life > 73*time.Hour || !k.Expiry.Equal(res.ExpiryTimeInUTC) {
		t.Errorf("expiry %v (key %v), want 72h from now", res.ExpiryTimeInUTC, k.Expiry)
	}
	vaultName := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	if !strings.EqualFold(res.KeyVaultID, e.rgScope(group)+"/providers/Microsoft.KeyVault/vaults/"+vaultName) {
		t.Errorf("keyVaultId %s is not in the device's group", res.KeyVaultID)
	}

	// The vault, with armkeyvault.
	vaults := e.vaultsIn(t, group)
	if len(vaults) != 1 || *vaults[0].Name != vaultName {
		t.Fatalf("vaults in the group: %s", dump(vaults))
	}
	v, err := e.vaults.Get(ctx, group, vaultName, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := v.Properties
	if *p.SKU.Name != armkeyvault.SKUNameStandard || *p.SKU.Family != armkeyvault.SKUFamilyA || !*p.EnableSoftDelete ||
		*p.SoftDeleteRetentionInDays != 90 || p.EnablePurgeProtection == nil || !*p.EnablePurgeProtection ||
		*p.TenantID != e.boot.TenantID || *v.Location != "westeurope" || !strings.EqualFold(*p.VaultURI, res.KeyVaultURI) {
		t.Errorf("vault = %s", dump(v.Vault))
	}
	if p.EnableRbacAuthorization != nil && *p.EnableRbacAuthorization {
		t.Error("the vault uses RBAC authorization, want access policies")
	}
	if len(p.AccessPolicies) != 1 {
		t.Fatalf("access policies = %s", dump(p.AccessPolicies))
	}
	ap := p.AccessPolicies[0]
	perms := ap.Permissions
	secretsGranted := secretPerms(ap)
	slices.Sort(secretsGranted)
	if *ap.ObjectID != mi || *ap.TenantID != e.boot.TenantID || !slices.Equal(secretsGranted, []string{"get", "set"}) ||
		len(perms.Keys) != 0 || len(perms.Certificates) != 0 || len(perms.Storage) != 0 || ap.ApplicationID != nil {
		t.Errorf("access policy = %s, want the identity %s with secrets get and set only", dump(ap), mi)
	}

	// The storage account, with armstorage.
	accts := e.accountsIn(t, group)
	if len(accts) != 1 {
		t.Fatalf("storage accounts in the group: %s", dump(accts))
	}
	acct := accts[0]
	if *acct.SKU.Name != armstorage.SKUNameStandardZRS || *acct.Kind != armstorage.KindStorageV2 ||
		acct.Tags["KeyVaultName"] == nil || *acct.Tags["KeyVaultName"] != vaultName || *acct.Location != "westeurope" {
		t.Errorf("storage account = %s", dump(acct))
	}

	// The locks, with raw ARM: one CanNotDelete lock on each, nothing else.
	locks := e.locksIn(t, e.rgScope(group))
	var onVault, onAccount int
	for _, l := range locks {
		if l.Properties.Level != "CanNotDelete" {
			t.Errorf("lock %s is %s", l.ID, l.Properties.Level)
		}
		scope := l.ID[:strings.Index(strings.ToLower(l.ID), "/providers/microsoft.authorization/locks/")]
		switch {
		case strings.EqualFold(scope, res.KeyVaultID):
			onVault++
		case strings.EqualFold(scope, *acct.ID):
			onAccount++
		default:
			t.Errorf("unexpected lock %s", l.ID)
		}
	}
	if onVault != 1 || onAccount != 1 {
		t.Errorf("locks in the group = %s, want one on the vault and one on the account", dump(locks))
	}
	if got := e.locksIn(t, res.KeyVaultID); len(got) != 1 {
		t.Errorf("locks at the vault = %s", dump(got))
	}

	// The diagnostic setting, with armmonitor and with raw ARM.
	diag, err := armmonitor.NewDiagnosticSettingsClient(e.cred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	var settings []*armmonitor.DiagnosticSettingsResource
	pager := diag.NewListPager(res.KeyVaultID, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		settings = append(settings, page.Value...)
	}
	if len(settings) != 1 || settings[0].Properties.StorageAccountID == nil ||
		!strings.EqualFold(*settings[0].Properties.StorageAccountID, *acct.ID) ||
		!slices.ContainsFunc(settings[0].Properties.Logs, func(l *armmonitor.LogSettings) bool {
			return l.Category != nil && *l.Category == "AuditEvent" && *l.Enabled
		}) {
		t.Errorf("diagnostic settings = %s", dump(settings))
	}
	var rawSettings struct {
		Value []struct {
			Properties struct {
				StorageAccountID string `json:"storageAccountId"`
				Logs             []struct {
					Category string `json:"category"`
					Enabled  bool   `json:"enabled"`
				} `json:"logs"`
			} `json:"properties"`
		} `json:"value"`
	}
	url := e.boot.ManagementEndpoint + res.KeyVaultID + "/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
	if st := e.raw(t, http.MethodGet, url, nil, &rawSettings); st != http.StatusOK || len(rawSettings.Value) != 1 ||
		!strings.EqualFold(rawSettings.Value[0].Properties.StorageAccountID, *acct.ID) {
		t.Errorf("raw diagnostic settings: %d %s", st, dump(rawSettings))
	}

	// The extended information names the vault and the CIK.
	info, err := e.devices.GetExtendedInformation(ctx, name, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := info.Properties
	if ip.ClientSecretStoreID == nil || *ip.ClientSecretStoreID != res.KeyVaultID || *ip.ClientSecretStoreURL != res.KeyVaultURI ||
		!strings.HasPrefix(*ip.ChannelIntegrityKeyName, "ase-cik-") || *ip.ChannelIntegrityKeyVersion == "" {
		t.Fatalf("extended info = %s", dump(ip))
	}
	cikName, cikVersion := *ip.ChannelIntegrityKeyName, *ip.ChannelIntegrityKeyVersion

	// The identity read the CIK through the data plane: the audit trail
	// shows its SecretGet, and the service's own SecretSet before it.
	trail := e.auditLog(t, res.KeyVaultID)
	isMIRead := func(a edgeAudit) bool {
		return a.OperationName == "SecretGet" && a.oid() == mi && a.Properties.HTTPStatusCode == http.StatusOK &&
			strings.Contains(a.Properties.RequestURI, "/secrets/"+cikName)
	}
	if !slices.ContainsFunc(trail, isMIRead) {
		t.Errorf("no SecretGet of %s by the identity %s in the audit trail: %s", cikName, mi, dump(trail))
	}
	if !slices.ContainsFunc(trail, func(a edgeAudit) bool { return a.OperationName == "SecretSet" }) {
		t.Errorf("no SecretSet of the CIK in the audit trail: %s", dump(trail))
	}

	// The same record, delivered to the audit storage account (azblob).
	blobs := e.blobClient(t, *acct.Properties.PrimaryEndpoints.Blob)
	waitExported(t, blobs, res.KeyVaultID, isMIRead)

	// The CIK itself, with azsecrets, once the admin has a policy.
	if _, err := e.vaults.UpdateAccessPolicy(ctx, group, vaultName, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(e.boot.TenantID), ObjectID: to.Ptr(e.boot.ServicePrincipal.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{
				to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsList)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	secrets := e.vaultSecrets(t, res.KeyVaultURI)
	sec, err := secrets.GetSecret(ctx, cikName, cikVersion, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(*sec.Value)
	if err != nil || len(raw) != 32 {
		t.Errorf("CIK value: %d bytes, %v; want 32 bytes base64", len(raw), err)
	}
	if sec.Attributes == nil || !*sec.Attributes.Enabled {
		t.Errorf("CIK attributes = %s", dump(sec.Attributes))
	}
	return &firstGeneration{group: group, device: name, res: res, keyID: k.KeyID, identity: mi,
		cikName: cikName, cikVersion: cikVersion, blobs: blobs, secrets: secrets}
}

// testEdgeRegenerate: a second generate makes a new key, revokes the first
// and does not touch the vault: no audit record at all appears between the
// two, neither in the management API's trail nor in the delivered blobs.
func testEdgeRegenerate(t *testing.T, e *edgeEnv, f *firstGeneration) {
	ctx := context.Background()
	// Everything made so far (the admin's CIK read included) is delivered
	// before the snapshot, so that the blobs compare with it.
	before := e.auditLog(t, f.res.KeyVaultID)
	last := before[len(before)-1]
	waitExported(t, f.blobs, f.res.KeyVaultID, func(a edgeAudit) bool { return a.key() == last.key() })

	second := e.generate(t, f.group, f.device, "")
	if second.ActivationKey == f.res.ActivationKey || second.KeyVaultID != f.res.KeyVaultID ||
		second.KeyVaultURI != f.res.KeyVaultURI || len(second.Warnings) != 0 {
		t.Errorf("regenerate = %+v", second)
	}
	k2, err := activationkey.Parse(second.ActivationKey)
	if err != nil {
		t.Fatal(err)
	}
	var keys struct {
		Value []struct{ ID, State string }
	}
	if st := e.raw(t, http.MethodGet, e.deviceURL(f.group, f.device, "/activationKeys"), nil, &keys); st != http.StatusOK {
		t.Fatalf("list activation keys: %d", st)
	}
	states := map[string]string{}
	for _, k := range keys.Value {
		states[k.ID] = k.State
	}
	if len(keys.Value) != 2 || states[f.keyID] != "Revoked" || states[k2.KeyID] != "Unused" {
		t.Errorf("activation keys = %+v, want %s Revoked and %s Unused", keys.Value, f.keyID, k2.KeyID)
	}

	after := e.auditLog(t, f.res.KeyVaultID)
	if len(after) != len(before) {
		var added []edgeAudit
		for _, a := range after {
			if !slices.ContainsFunc(before, func(b edgeAudit) bool { return b.key() == a.key() }) {
				added = append(added, a)
			}
		}
		t.Errorf("the regenerate left %d audit records on the vault: %s", len(after)-len(before), dump(added))
	}
	// The delivery shows nothing either: a sentinel read made now is
	// delivered after anything the regenerate would have caused.
	if _, err := f.secrets.GetSecret(ctx, f.cikName, f.cikVersion, nil); err != nil {
		t.Fatal(err)
	}
	sentinel := e.auditLog(t, f.res.KeyVaultID)
	s := sentinel[len(sentinel)-1]
	if s.OperationName != "SecretGet" || s.oid() != e.boot.ServicePrincipal.ObjectID {
		t.Fatalf("last record = %s, want the sentinel SecretGet", dump(s))
	}
	delivered := waitExported(t, f.blobs, f.res.KeyVaultID, func(a edgeAudit) bool { return a.key() == s.key() })
	for _, a := range delivered {
		if a.key() != s.key() && !slices.ContainsFunc(before, func(b edgeAudit) bool { return b.key() == a.key() }) {
			t.Errorf("delivered record from the regenerate: %s", dump(a))
		}
	}

	// The vault is as the first generation left it.
	info, err := e.devices.GetExtendedInformation(ctx, f.device, f.group, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *info.Properties.ChannelIntegrityKeyName != f.cikName || *info.Properties.ChannelIntegrityKeyVersion != f.cikVersion {
		t.Errorf("the regenerate changed the CIK: %s", dump(info.Properties))
	}
	var ciks []string
	pager := f.secrets.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			ciks = append(ciks, p.ID.Name())
		}
	}
	if len(ciks) != 1 || ciks[0] != f.cikName {
		t.Errorf("secrets in the vault = %v, want only %s", ciks, f.cikName)
	}
	if got := len(e.vaultsIn(t, f.group)); got != 1 {
		t.Errorf("%d vaults in the group after the regenerate", got)
	}
	if got := len(e.accountsIn(t, f.group)); got != 1 {
		t.Errorf("%d storage accounts in the group after the regenerate", got)
	}
}

// topPolicy asks list requests for pages of two, so that the SDK's pagers
// follow nextLink.
type topPolicy struct{}

func (topPolicy) Do(req *azpolicy.Request) (*http.Response, error) {
	u := req.Raw().URL
	if req.Raw().Method == http.MethodGet && strings.HasSuffix(strings.ToLower(u.Path), "/databoxedgedevices") && !u.Query().Has("$top") {
		q := u.Query()
		q.Set("$top", "2")
		u.RawQuery = q.Encode()
	}
	return req.Next()
}

// testEdgeCRUD drives the device with armdataboxedge: Get, Update (tags),
// both list pagers across pages, and the long-running delete, which
// leaves the device's vault, storage account and locks in place.
func testEdgeCRUD(t *testing.T, e *edgeEnv) {
	ctx := context.Background()
	e.group(t, "edge-crud-a")
	e.group(t, "edge-crud-b")
	for _, d := range []struct{ group, name string }{
		{"edge-crud-a", "crud-1"}, {"edge-crud-a", "crud-2"}, {"edge-crud-a", "crud-3"},
		{"edge-crud-b", "crud-4"}, {"edge-crud-b", "crud-5"},
	} {
		e.createDevice(t, d.group, d.name)
	}
	got, err := e.devices.Get(ctx, "crud-1", "edge-crud-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Name != "crud-1" || *got.Type != "Microsoft.DataBoxEdge/dataBoxEdgeDevices" || *got.Location != "westeurope" ||
		*got.SKU.Name != armdataboxedge.SKUNameEdgePBase || *got.Tags["site"] != "plant-1" ||
		*got.Identity.Type != armdataboxedge.MsiIdentityTypeSystemAssigned || *got.Identity.TenantID != e.boot.TenantID ||
		!strings.EqualFold(*got.ID, e.rgScope("edge-crud-a")+"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/crud-1") {
		t.Errorf("Get = %s", dump(got.Device))
	}
	upd, err := e.devices.Update(ctx, "crud-1", "edge-crud-a", armdataboxedge.DevicePatch{Tags: map[string]*string{"site": to.Ptr("plant-2"), "env": to.Ptr("prod")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(upd.Tags) != 2 || *upd.Tags["site"] != "plant-2" || *upd.Etag == *got.Etag || *upd.Identity.PrincipalID != *got.Identity.PrincipalID {
		t.Errorf("Update = %s", dump(upd.Device))
	}
	if again, err := e.devices.Get(ctx, "crud-1", "edge-crud-a", nil); err != nil || *again.Tags["env"] != "prod" || len(again.Tags) != 2 {
		t.Errorf("Get after Update = %s, %v", dump(again.Device), err)
	}

	// Paging: a client whose list requests ask for two per page.
	opts := *e.opts
	opts.PerCallPolicies = append(slices.Clone(opts.PerCallPolicies), topPolicy{})
	paged, err := armdataboxedge.NewDevicesClient(e.boot.SubscriptionID, e.cred, &opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	pages := 0
	rg := paged.NewListByResourceGroupPager("edge-crud-a", nil)
	for rg.More() {
		page, err := rg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range page.Value {
			names = append(names, *d.Name)
		}
	}
	if pages != 2 || !slices.Equal(names, []string{"crud-1", "crud-2", "crud-3"}) {
		t.Errorf("ListByResourceGroup: %d pages, %v", pages, names)
	}
	names, pages = nil, 0
	sub := paged.NewListBySubscriptionPager(nil)
	for sub.More() {
		page, err := sub.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range page.Value {
			names = append(names, *d.ID)
		}
	}
	seen := map[string]int{}
	for _, id := range names {
		seen[strings.ToLower(id)]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("ListBySubscription lists %s %d times", id, n)
		}
	}
	for _, n := range []string{"edge-crud-a/providers/microsoft.databoxedge/databoxedgedevices/crud-3", "edge-crud-b/providers/microsoft.databoxedge/databoxedgedevices/crud-5"} {
		if seen[strings.ToLower(e.rgScope(""))+n] != 1 {
			t.Errorf("ListBySubscription misses %s: %v", n, names)
		}
	}
	if pages < 3 {
		t.Errorf("ListBySubscription: %d pages for %d devices", pages, len(names))
	}

	// Delete a device that has a vault: the vault, the account and their
	// locks stay.
	res := e.generate(t, "edge-crud-a", "crud-1", "")
	poller, err := e.devices.BeginDelete(ctx, "crud-1", "edge-crud-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.devices.Get(ctx, "crud-1", "edge-crud-a", nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("Get after delete: %v", err)
	}
	vaultName := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	if _, err := e.vaults.Get(ctx, "edge-crud-a", vaultName, nil); err != nil {
		t.Errorf("the vault after the device's deletion: %v", err)
	}
	if as := e.accountsIn(t, "edge-crud-a"); len(as) != 1 {
		t.Errorf("storage accounts after the device's deletion: %s", dump(as))
	}
	if ls := e.locksIn(t, e.rgScope("edge-crud-a")); len(ls) != 2 {
		t.Errorf("locks after the device's deletion: %s", dump(ls))
	}
	if _, err := e.vaults.Delete(ctx, "edge-crud-a", vaultName, nil); errorCode(err) != "ScopeLocked" {
		t.Errorf("delete the locked vault: %v", err)
	}
	// A second delete of a missing device: 204, which the SDK takes as done.
	poller, err = e.devices.BeginDelete(ctx, "crud-1", "edge-crud-a", nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
	}
	if err != nil {
		t.Errorf("delete of a deleted device: %v", err)
	}
}
