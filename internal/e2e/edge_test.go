package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/databoxedge/armdataboxedge"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/edgevault/edgevault/internal/activationkey"
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
