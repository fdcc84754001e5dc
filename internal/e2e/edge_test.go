package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/auditexport"
)

// edgeEnv drives edge resources with the official, unmodified
// armdataboxedge v1.2.0 DevicesClient (api-version 2022-03-01), and the
// operations that SDK lacks (generateActivationKey, activation keys) with
// an azcore ARM pipeline and azcore's generic LRO poller.
type edgeEnv struct {
	*sdkEnv
	srv      *inproc
	devices  *armdataboxedge.DevicesClient
	alerts   *armdataboxedge.AlertsClient
	vaults   *armkeyvault.VaultsClient
	accounts *armstorage.AccountsClient
	pl       runtime.Pipeline
}

func newEdgeEnv(t *testing.T, srv *inproc, clientID, secret string) *edgeEnv {
	t.Helper()
	env := newSDKEnv(t, srv, clientID, secret)
	e := &edgeEnv{sdkEnv: env, srv: srv}
	var err error
	if e.devices, err = armdataboxedge.NewDevicesClient(env.boot.SubscriptionID, env.cred, env.opts); err != nil {
		t.Fatal(err)
	}
	if e.alerts, err = armdataboxedge.NewAlertsClient(env.boot.SubscriptionID, env.cred, env.opts); err != nil {
		t.Fatal(err)
	}
	if e.vaults, err = armkeyvault.NewVaultsClient(env.boot.SubscriptionID, env.cred, env.opts); err != nil {
		t.Fatal(err)
	}
	if e.accounts, err = armstorage.NewAccountsClient(env.boot.SubscriptionID, env.cred, env.opts); err != nil {
		t.Fatal(err)
	}
	if e.pl, err = armruntime.NewPipeline("edgevault-e2e", "v0.0.0", env.cred, runtime.PipelineOptions{}, env.opts); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *edgeEnv) group(t *testing.T, name string) {
	t.Helper()
	if _, err := e.groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
}

func (e *edgeEnv) createDevice(t *testing.T, group, name string) armdataboxedge.Device {
	t.Helper()
	res, err := e.devices.CreateOrUpdate(context.Background(), name, group, armdataboxedge.Device{
		Location: to.Ptr("westeurope"), SKU: &armdataboxedge.SKUInfo{Name: to.Ptr(armdataboxedge.SKUNameEdgePBase), Tier: to.Ptr(armdataboxedge.SKUTierStandard)},
		Tags: map[string]*string{"site": to.Ptr("plant-1")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Device
}

func (e *edgeEnv) deviceURL(group, name, action string) string {
	return e.boot.ManagementEndpoint + e.subScope() + "/resourceGroups/" + group +
		"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/" + name + action + "?api-version=2023-12-01"
}

// activationResult is generateActivationKey's final result.
type activationResult struct {
	ActivationKey   string    `json:"activationKey"`
	ExpiryTimeInUTC time.Time `json:"expiryTimeInUTC"`
	KeyVaultID      string    `json:"keyVaultId"`
	KeyVaultURI     string    `json:"keyVaultUri"`
	Warnings        []string  `json:"warnings"`
}

// beginGenerate posts generateActivationKey and returns azcore's poller.
func (e *edgeEnv) beginGenerate(t *testing.T, group, name string, body any) (*runtime.Poller[activationResult], error) {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, e.deviceURL(group, name, "/generateActivationKey"))
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
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusAccepted) {
		return nil, runtime.NewResponseError(resp)
	}
	return runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[activationResult]{FinalStateVia: runtime.FinalStateViaLocation})
}

// generate runs generateActivationKey to the end.
func (e *edgeEnv) generate(t *testing.T, group, name, vaultName string) activationResult {
	t.Helper()
	var body any
	if vaultName != "" {
		body = map[string]string{"keyVaultName": vaultName}
	}
	p, err := e.beginGenerate(t, group, name, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// raw sends one request through the pipeline and decodes the JSON answer.
func (e *edgeEnv) raw(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), method, url)
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
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

func TestEdgeActivationKeyWithSDK(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	ctx := context.Background()
	e.group(t, "edge-rg")
	d := e.createDevice(t, "edge-rg", "dbe-1")
	if d.Identity == nil || *d.Identity.Type != armdataboxedge.MsiIdentityTypeSystemAssigned || *d.Identity.PrincipalID == "" {
		t.Fatalf("identity = %+v", d.Identity)
	}
	if got := *d.Properties.DataBoxEdgeDeviceStatus; got != armdataboxedge.DataBoxEdgeDeviceStatusReadyToSetup {
		t.Fatalf("status = %s", got)
	}
	res := e.generate(t, "edge-rg", "dbe-1", "")
	k, err := activationkey.Parse(res.ActivationKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(k.ResourceID, *d.ID) || len(res.Warnings) != 0 {
		t.Fatalf("key %v, warnings %v", k, res.Warnings)
	}
	vaultName := res.KeyVaultID[strings.LastIndexByte(res.KeyVaultID, '/')+1:]
	v, err := e.vaults.Get(ctx, "edge-rg", vaultName, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := v.Properties
	if !*p.EnablePurgeProtection || *p.SoftDeleteRetentionInDays != 90 || *p.SKU.Name != armkeyvault.SKUNameStandard {
		t.Errorf("vault properties = %+v", p)
	}
	if len(p.AccessPolicies) != 1 || *p.AccessPolicies[0].ObjectID != *d.Identity.PrincipalID ||
		len(p.AccessPolicies[0].Permissions.Secrets) != 2 {
		t.Errorf("access policies = %+v", p.AccessPolicies)
	}
	info, err := e.devices.GetExtendedInformation(ctx, "dbe-1", "edge-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := info.Properties
	if *ip.ClientSecretStoreID != res.KeyVaultID || !strings.HasPrefix(*ip.ChannelIntegrityKeyName, "ase-cik-") || len(*ip.ChannelIntegrityKeyVersion) != 32 {
		t.Errorf("extended info = %+v", ip)
	}
	var accts []*armstorage.Account
	pager := e.accounts.NewListByResourceGroupPager("edge-rg", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, page.Value...)
	}
	if len(accts) != 1 || *accts[0].SKU.Name != armstorage.SKUNameStandardZRS || *accts[0].Tags["KeyVaultName"] != vaultName {
		t.Errorf("storage accounts = %+v", accts)
	}
	second := e.generate(t, "edge-rg", "dbe-1", "")
	if second.ActivationKey == res.ActivationKey || second.KeyVaultID != res.KeyVaultID {
		t.Errorf("regenerate: %+v", second)
	}
	var keys struct {
		Value []struct{ ID, State string }
	}
	e.raw(t, http.MethodGet, e.deviceURL("edge-rg", "dbe-1", "/activationKeys"), nil, &keys)
	if len(keys.Value) != 2 || keys.Value[0].State != "Unused" || keys.Value[1].State != "Revoked" {
		t.Errorf("activation keys = %+v", keys)
	}
	var re *azcore.ResponseError
	_ = re
}

// edgeAudit is one AuditEvent record as the management API lists it and
// the storage delivery writes it.
type edgeAudit struct {
	Time          string `json:"time"`
	ResourceID    string `json:"resourceId"`
	OperationName string `json:"operationName"`
	Identity      *struct {
		Claim struct {
			ObjectID string `json:"oid"`
		} `json:"claim"`
	} `json:"identity"`
	Properties struct {
		RequestURI     string `json:"requestUri"`
		HTTPStatusCode int    `json:"httpStatusCode"`
		RequestID      string `json:"requestId"`
	} `json:"properties"`
}

func (a edgeAudit) oid() string {
	if a.Identity == nil {
		return ""
	}
	return a.Identity.Claim.ObjectID
}

// key identifies a record across the two readers.
func (a edgeAudit) key() string { return a.Time + "|" + a.OperationName + "|" + a.Properties.RequestID }

// auditLog lists every record of a vault's trail, following nextLink.
func (e *edgeEnv) auditLog(t *testing.T, vaultID string) []edgeAudit {
	t.Helper()
	var out []edgeAudit
	url := e.boot.ManagementEndpoint + vaultID + "/providers/Edgevault.Audit/logs?api-version=2024-11-01"
	for url != "" {
		var page struct {
			Value    []edgeAudit `json:"value"`
			NextLink string      `json:"nextLink"`
		}
		if st := e.raw(t, http.MethodGet, url, nil, &page); st != http.StatusOK {
			t.Fatalf("GET audit logs of %s: %d", vaultID, st)
		}
		out = append(out, page.Value...)
		url = page.NextLink
	}
	return out
}

// edgeLock is a management lock as listed.
type edgeLock struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		Level string `json:"level"`
	} `json:"properties"`
}

// locksIn lists the locks at and under scope with raw ARM (armlocks is
// not available from the module proxy).
func (e *edgeEnv) locksIn(t *testing.T, scope string) []edgeLock {
	t.Helper()
	var out struct{ Value []edgeLock }
	url := e.boot.ManagementEndpoint + scope + "/providers/Microsoft.Authorization/locks?api-version=2020-05-01"
	if st := e.raw(t, http.MethodGet, url, nil, &out); st != http.StatusOK {
		t.Fatalf("list locks at %s: %d", scope, st)
	}
	return out.Value
}

// vaultsIn lists a group's vaults. While Microsoft.KeyVault is not
// registered the list is refused (409 MissingSubscriptionRegistration),
// and there is no vault: unregistering is refused while vaults exist.
// (The SDK's registration policy is left out: it cannot parse a list URL
// as a resource id, and registering would change what is tested.)
func (e *edgeEnv) vaultsIn(t *testing.T, group string) []*armkeyvault.Vault {
	t.Helper()
	noReg := *e.opts
	noReg.DisableRPRegistration = true
	vaults, err := armkeyvault.NewVaultsClient(e.boot.SubscriptionID, e.cred, &noReg)
	if err != nil {
		t.Fatal(err)
	}
	var out []*armkeyvault.Vault
	pager := vaults.NewListByResourceGroupPager(group, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if errorCode(err) == "MissingSubscriptionRegistration" {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Value...)
	}
	return out
}

func (e *edgeEnv) accountsIn(t *testing.T, group string) []*armstorage.Account {
	t.Helper()
	var out []*armstorage.Account
	pager := e.accounts.NewListByResourceGroupPager(group, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Value...)
	}
	return out
}

// rgScope is a group's ARM id.
func (e *edgeEnv) rgScope(group string) string { return e.subScope() + "/resourceGroups/" + group }

// principalWithRole creates a service principal through the admin API,
// gives it role at scope, and returns its clients.
func (e *edgeEnv) principalWithRole(t *testing.T, name, role, scope string) (env *edgeEnv, objectID string) {
	t.Helper()
	ctx := context.Background()
	srv := e.srv
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, srv.boot), srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret, srv.boot.ManagementAudience))
	var sp struct{ ClientID, ObjectID, ClientSecret string }
	if err := api.Do(ctx, http.MethodPost, srv.boot.ManagementEndpoint+adminPath+"/servicePrincipals", map[string]string{"displayName": name}, &sp); err != nil {
		t.Fatal(err)
	}
	if role != "" {
		def, err := e.roleDefs.Get(ctx, e.subScope(), role, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.roles.Create(ctx, scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
			Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: def.ID,
				PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return newEdgeEnv(t, srv, sp.ClientID, sp.ClientSecret), sp.ObjectID
}

// withoutAutoRegistration replaces the raw pipeline with one lacking the
// SDK's RP-registration policy, so that a 409 MissingSubscriptionRegistration
// reaches the test instead of the policy's failed registration attempt.
func withoutAutoRegistration(t *testing.T, e *edgeEnv) {
	t.Helper()
	noReg := *e.opts
	noReg.DisableRPRegistration = true
	pl, err := armruntime.NewPipeline("edgevault-e2e", "v0.0.0", e.cred, runtime.PipelineOptions{}, &noReg)
	if err != nil {
		t.Fatal(err)
	}
	e.pl = pl
}

// vaultSecrets returns an azsecrets client of the vault at uri for e's
// principal.
func (e *edgeEnv) vaultSecrets(t *testing.T, uri string) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(uri, e.cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.http}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// blobClient returns an azblob client of the account's blob endpoint for
// the bootstrap principal.
func (e *edgeEnv) blobClient(t *testing.T, endpoint string) *azblob.Client {
	t.Helper()
	boot := e.boot
	cred, err := azidentity.NewClientSecretCredential(boot.TenantID, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: e.opts.Cloud, Transport: e.srv.http},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClient(endpoint, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: e.srv.http}, Audience: boot.StorageAudience})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exportedAudit reads the AuditEvent lines the exporter delivered for a
// vault.
func exportedAudit(t *testing.T, c *azblob.Client, vaultID string) []edgeAudit {
	t.Helper()
	ctx := context.Background()
	var out []edgeAudit
	pager := c.NewListBlobsFlatPager(auditexport.Container, &azblob.ListBlobsFlatOptions{
		Prefix: to.Ptr("resourceId=" + strings.ToUpper(vaultID) + "/")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil // no container before the first delivery
		}
		for _, item := range page.Segment.BlobItems {
			dl, err := c.DownloadStream(ctx, auditexport.Container, *item.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(dl.Body)
			dl.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
				if line == "" {
					continue
				}
				var ev edgeAudit
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				out = append(out, ev)
			}
		}
	}
	return out
}

// waitExported polls the account's blobs until match finds a record, for
// at most 15 seconds (the exporter's bound is 10).
func waitExported(t *testing.T, c *azblob.Client, vaultID string, match func(edgeAudit) bool) []edgeAudit {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs := exportedAudit(t, c, vaultID)
		if slices.ContainsFunc(evs, match) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching record delivered within 15s; delivered %d records", len(evs))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// generateError starts a generation and returns the error; it fails the
// test when the request was accepted.
func (e *edgeEnv) generateError(t *testing.T, group, name string, body any) *azcore.ResponseError {
	t.Helper()
	p, err := e.beginGenerate(t, group, name, body)
	if err == nil {
		res, perr := p.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
		t.Fatalf("generate %s/%s with %v was accepted: %+v, %v", group, name, body, res, perr)
	}
	re, ok := err.(*azcore.ResponseError)
	if !ok {
		t.Fatalf("generate: %v", err)
	}
	return re
}

// nothingCreated checks that no generation left anything in group or on
// the device.
func (e *edgeEnv) nothingCreated(t *testing.T, group, device string) {
	t.Helper()
	if vs := e.vaultsIn(t, group); len(vs) != 0 {
		t.Errorf("vaults in %s: %s", group, dump(vs))
	}
	if as := e.accountsIn(t, group); len(as) != 0 {
		t.Errorf("storage accounts in %s: %s", group, dump(as))
	}
	if ls := e.locksIn(t, e.rgScope(group)); len(ls) != 0 {
		t.Errorf("locks in %s: %s", group, dump(ls))
	}
	info, err := e.devices.GetExtendedInformation(context.Background(), device, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := info.Properties
	if ip.ClientSecretStoreID != nil && *ip.ClientSecretStoreID != "" || ip.ChannelIntegrityKeyName != nil && *ip.ChannelIntegrityKeyName != "" ||
		*ip.KeyVaultSyncStatus != armdataboxedge.KeyVaultSyncStatusKeyVaultNotConfigured {
		t.Errorf("extended info of %s = %s", device, dump(ip))
	}
	var keys struct{ Value []json.RawMessage }
	if st := e.raw(t, http.MethodGet, e.deviceURL(group, device, "/activationKeys"), nil, &keys); st != http.StatusOK || len(keys.Value) != 0 {
		t.Errorf("activation keys of %s: %d %s", device, st, dump(keys))
	}
}

// diagnosticSettings counts a resource's diagnostic settings (raw ARM).
func (e *edgeEnv) diagnosticSettings(t *testing.T, resourceID string) int {
	t.Helper()
	var settings struct{ Value []json.RawMessage }
	url := e.boot.ManagementEndpoint + resourceID + "/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"
	if st := e.raw(t, http.MethodGet, url, nil, &settings); st != http.StatusOK {
		t.Fatalf("list diagnostic settings of %s: %d", resourceID, st)
	}
	return len(settings.Value)
}

// alertTypes lists the types of a device's alerts, sorted, with
// armdataboxedge; every alert must carry a recommendation.
func (e *edgeEnv) alertTypes(t *testing.T, group, device string) []string {
	t.Helper()
	var types []string
	pager := e.alerts.NewListByDataBoxEdgeDevicePager(device, group, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			types = append(types, *a.Properties.AlertType)
			if *a.Properties.Severity != armdataboxedge.AlertSeverityWarning || a.Properties.Recommendation == nil || *a.Properties.Recommendation == "" {
				t.Errorf("alert = %s", dump(a))
			}
		}
	}
	slices.Sort(types)
	return types
}

// startGenerate posts generateActivationKey, which must be accepted, and
// returns its status (Azure-AsyncOperation) and result (Location) URLs.
func (e *edgeEnv) startGenerate(t *testing.T, group, name string, body any) (status, result string) {
	t.Helper()
	st, h, b := e.post(t, e.deviceURL(group, name, "/generateActivationKey"), body)
	if st != http.StatusAccepted {
		t.Fatalf("generate %s/%s: %d %s", group, name, st, b)
	}
	return h.Get("Azure-AsyncOperation"), h.Get("Location")
}

// post sends a POST through e's pipeline and returns the answer whole.
func (e *edgeEnv) post(t *testing.T, url string, body any) (int, http.Header, []byte) {
	t.Helper()
	st, h, b, err := e.tryPost(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return st, h, b
}

// tryPost is post for goroutines other than the test's.
func (e *edgeEnv) tryPost(url string, body any) (int, http.Header, []byte, error) {
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, url)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return 0, nil, nil, err
		}
	}
	resp, err := e.pl.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// opStatus is an operation's status resource.
type opStatus struct {
	Status    string    `json:"status"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	Error     *struct {
		Code, Message string
	} `json:"error"`
}

// waitOperation polls a status URL until the operation ends, for at most
// 60 seconds.
func (e *edgeEnv) waitOperation(t *testing.T, statusURL string) opStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st opStatus
		if code := e.raw(t, http.MethodGet, statusURL, nil, &st); code != http.StatusOK {
			t.Fatalf("GET %s: %d", statusURL, code)
		}
		if st.Status == "Succeeded" || st.Status == "Failed" || st.Status == "Canceled" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s after 60s", statusURL, st.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
