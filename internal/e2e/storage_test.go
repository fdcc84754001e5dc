package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/edgevault/edgevault/internal/rbac"
)

// Storage accounts, driven by the official, unmodified armstorage v1.8.1
// AccountsClient (api-version 2024-01-01), on SQLite and on PostgreSQL.
func TestStorageAccountsWithSDK(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
			e := newStorageEnv(t, srv)
			e.requireWired(t)
			t.Run("Lifecycle", func(t *testing.T) { testStorageLifecycle(t, e) })
			t.Run("Names", func(t *testing.T) { testStorageNames(t, e) })
			t.Run("Locks", func(t *testing.T) { testStorageLocks(t, e) })
			t.Run("GroupDelete", func(t *testing.T) { testStorageGroupDelete(t, e) })
			t.Run("RBAC", func(t *testing.T) { testStorageRBAC(t, e, srv) })
		})
	}
}

type storageEnv struct {
	*sdkEnv
	srv      *inproc
	accounts *armstorage.AccountsClient
}

func newStorageEnv(t *testing.T, srv *inproc) *storageEnv {
	t.Helper()
	env := newSDKEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	accounts, err := armstorage.NewAccountsClient(env.boot.SubscriptionID, env.cred, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	return &storageEnv{sdkEnv: env, srv: srv, accounts: accounts}
}

// requireWired skips the test while the server does not serve storage
// accounts (internal/server has not wired storageaccount.Service yet).
func (e *storageEnv) requireWired(t *testing.T) {
	t.Helper()
	_, err := e.accounts.CheckNameAvailability(context.Background(), armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr("probe1")}, nil)
	if errorCode(err) == "NotFound" {
		t.Skip("storage accounts are not wired into internal/server yet")
	}
}

func (e *storageEnv) group(t *testing.T, name string) {
	t.Helper()
	if _, err := e.groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
}

func storageParams(sku armstorage.SKUName, tags map[string]*string) armstorage.AccountCreateParameters {
	return armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindStorageV2), Location: to.Ptr("West Europe"),
		SKU: &armstorage.SKU{Name: to.Ptr(sku)}, Tags: tags,
	}
}

// create runs BeginCreate to completion and returns the first response
// (the one BeginCreate received) and the final account.
func (e *storageEnv) create(t *testing.T, group, name string, p armstorage.AccountCreateParameters) (*http.Response, armstorage.Account) {
	t.Helper()
	var first *http.Response
	poller, err := e.accounts.BeginCreate(policy.WithCaptureResponse(context.Background(), &first), group, name, p, nil)
	if err != nil {
		t.Fatalf("BeginCreate(%s): %v", name, err)
	}
	res, err := poller.PollUntilDone(context.Background(), nil)
	if err != nil {
		t.Fatalf("PollUntilDone(%s): %v", name, err)
	}
	return first, res.Account
}

func testStorageLifecycle(t *testing.T, e *storageEnv) {
	ctx := context.Background()
	e.group(t, "st-life")
	first, a := e.create(t, "st-life", "auditlogs01", storageParams(armstorage.SKUNameStandardZRS, map[string]*string{"vault": to.Ptr("kv1")}))

	// Creating, then Succeeded: the PUT answered 202 with the account as
	// Creating and the operation's URLs, and the poller followed them.
	var body struct {
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	if first.StatusCode != http.StatusAccepted || first.Header.Get("Azure-AsyncOperation") == "" || first.Header.Get("Location") == "" {
		t.Fatalf("create answered %d, headers %v", first.StatusCode, first.Header)
	}
	if err := json.NewDecoder(first.Body).Decode(&body); err != nil || body.Properties.ProvisioningState != "Creating" {
		t.Fatalf("create body: state %q, %v", body.Properties.ProvisioningState, err)
	}
	if *a.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded {
		t.Fatalf("after polling: %s", *a.Properties.ProvisioningState)
	}
	wantBlob := "https://" + e.srv.Endpoints().Host("auditlogs01.blob") + "/"
	got, err := e.accounts.GetProperties(ctx, "st-life", "auditlogs01", nil)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case *got.ID != e.subScope()+"/resourceGroups/st-life/providers/Microsoft.Storage/storageAccounts/auditlogs01",
		*got.Name != "auditlogs01", *got.Type != "Microsoft.Storage/storageAccounts", *got.Location != "westeurope",
		*got.Kind != armstorage.KindStorageV2, *got.SKU.Name != armstorage.SKUNameStandardZRS, *got.SKU.Tier != armstorage.SKUTierStandard,
		*got.Tags["vault"] != "kv1", *got.Properties.PrimaryEndpoints.Blob != wantBlob,
		*got.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded:
		b, _ := json.Marshal(got.Account)
		t.Fatalf("GetProperties = %s (blob endpoint want %s)", b, wantBlob)
	}

	// The older api-version is served too; an unknown one is not.
	pl := e.lockPipeline(t)
	for v, want := range map[string]int{"2023-05-01": http.StatusOK, "2024-01-01": http.StatusOK, "2021-01-01": http.StatusBadRequest} {
		req, err := runtime.NewRequest(ctx, http.MethodGet, e.boot.ManagementEndpoint+*got.ID+"?api-version="+v)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pl.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("GET with api-version %s: %v %v", v, resp.Status, err)
		}
		resp.Body.Close()
	}

	// PATCH replaces the tag set.
	up, err := e.accounts.Update(ctx, "st-life", "auditlogs01", armstorage.AccountUpdateParameters{
		Tags: map[string]*string{"env": to.Ptr("e2e")}}, nil)
	if err != nil || len(up.Tags) != 1 || *up.Tags["env"] != "e2e" {
		t.Fatalf("Update: %v %v", up.Tags, err)
	}
	// PUT on an existing account replaces it synchronously (200).
	first, a = e.create(t, "st-life", "auditlogs01", storageParams(armstorage.SKUNameStandardLRS, nil))
	if first.StatusCode != http.StatusOK || *a.SKU.Name != armstorage.SKUNameStandardLRS || *a.Tags["env"] != "e2e" {
		t.Fatalf("replace: %d %s %v", first.StatusCode, *a.SKU.Name, a.Tags)
	}

	// Lists: the subscription and the group, through the pagers.
	e.create(t, "st-life", "auditlogs02", storageParams(armstorage.SKUNameStandardLRS, nil))
	e.group(t, "st-other")
	e.create(t, "st-other", "auditlogs03", storageParams(armstorage.SKUNameStandardLRS, nil))
	var inSub, inGroup []string
	for p := e.accounts.NewListPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			inSub = append(inSub, *a.Name)
		}
	}
	for p := e.accounts.NewListByResourceGroupPager("st-life", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			inGroup = append(inGroup, *a.Name)
		}
	}
	if !slices.Equal(inGroup, []string{"auditlogs01", "auditlogs02"}) || !slices.Contains(inSub, "auditlogs03") || len(inSub) < 3 {
		t.Fatalf("lists: subscription %v, group %v", inSub, inGroup)
	}

	// DELETE: 200, then 204 (no error either way), then the account is gone.
	if _, err := e.accounts.Delete(ctx, "st-life", "auditlogs01", nil); err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	if _, err := e.accounts.Delete(policy.WithCaptureResponse(ctx, &resp), "st-life", "auditlogs01", nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := e.accounts.GetProperties(ctx, "st-life", "auditlogs01", nil); errorCode(err) != "ResourceNotFound" {
		t.Fatalf("get after delete: %v", err)
	}
}

func testStorageNames(t *testing.T, e *storageEnv) {
	ctx := context.Background()
	e.group(t, "st-names")
	e.create(t, "st-names", "takenname1", storageParams(armstorage.SKUNameStandardLRS, nil))
	check := func(name string) armstorage.CheckNameAvailabilityResult {
		t.Helper()
		r, err := e.accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{
			Name: to.Ptr(name), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
		if err != nil {
			t.Fatalf("CheckNameAvailability(%s): %v", name, err)
		}
		return r.CheckNameAvailabilityResult
	}
	if r := check("freename1"); !*r.NameAvailable || r.Reason != nil {
		t.Errorf("free name: %+v", r)
	}
	if r := check("takenname1"); *r.NameAvailable || *r.Reason != armstorage.ReasonAlreadyExists {
		t.Errorf("taken name: %+v", r)
	}
	for _, bad := range []string{"ab", "Upper1", "has-hyphen", strings.Repeat("a", 25)} {
		if r := check(bad); *r.NameAvailable || *r.Reason != armstorage.ReasonAccountNameInvalid {
			t.Errorf("invalid name %q: %+v", bad, r)
		}
	}
	// Names are global: another group cannot take it.
	e.group(t, "st-names2")
	_, err := e.accounts.BeginCreate(ctx, "st-names2", "takenname1", storageParams(armstorage.SKUNameStandardLRS, nil), nil)
	if errorCode(err) != "StorageAccountAlreadyTaken" {
		t.Errorf("taken name in another group: %v", err)
	}
	_, err = e.accounts.BeginCreate(ctx, "st-names", "Bad-Name", storageParams(armstorage.SKUNameStandardLRS, nil), nil)
	if errorCode(err) != "AccountNameInvalid" {
		t.Errorf("invalid name: %v", err)
	}
	_, err = e.accounts.BeginCreate(ctx, "st-names", "badsku1", storageParams("Standard_XYZ", nil), nil)
	if errorCode(err) != "BadRequest" {
		t.Errorf("invalid SKU: %v", err)
	}
	_, err = e.accounts.BeginCreate(ctx, "no-such-group", "nogroup1", storageParams(armstorage.SKUNameStandardLRS, nil), nil)
	if errorCode(err) != "ResourceGroupNotFound" {
		t.Errorf("missing group: %v", err)
	}
}

func testStorageLocks(t *testing.T, e *storageEnv) {
	ctx := context.Background()
	e.group(t, "st-locks")
	_, a := e.create(t, "st-locks", "lockedacct1", storageParams(armstorage.SKUNameStandardZRS, nil))
	pl := e.lockPipeline(t)
	resp, err := e.lockRequest(t, pl, http.MethodPut, *a.ID, "no-delete", map[string]any{"properties": map[string]any{"level": "CanNotDelete"}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT lock on the account: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	_, err = e.accounts.Delete(ctx, "st-locks", "lockedacct1", nil)
	if errorCode(err) != "ScopeLocked" || !strings.Contains(err.Error(), "cannot perform delete operation") {
		t.Fatalf("delete of a locked account: %v", err)
	}
	if _, err := e.accounts.Update(ctx, "st-locks", "lockedacct1", armstorage.AccountUpdateParameters{Tags: map[string]*string{"a": to.Ptr("b")}}, nil); err != nil {
		t.Errorf("write under CanNotDelete: %v", err)
	}
	resp, err = e.lockRequest(t, pl, http.MethodDelete, *a.ID, "no-delete", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE lock: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if _, err := e.accounts.Delete(ctx, "st-locks", "lockedacct1", nil); err != nil {
		t.Errorf("delete after unlocking: %v", err)
	}
	// A deleted account is no resource to lock.
	resp, err = e.lockRequest(t, pl, http.MethodPut, *a.ID, "late", map[string]any{"properties": map[string]any{"level": "ReadOnly"}})
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("lock on a deleted account: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

// testStorageGroupDelete: deleting a group deletes its accounts and frees
// their names.
func testStorageGroupDelete(t *testing.T, e *storageEnv) {
	ctx := context.Background()
	e.group(t, "st-gone")
	e.create(t, "st-gone", "goneacct1", storageParams(armstorage.SKUNameStandardLRS, nil))
	poller, err := e.groups.BeginDelete(ctx, "st-gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	r, err := e.accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr("goneacct1")}, nil)
	if err != nil || !*r.NameAvailable {
		t.Fatalf("name after group deletion: %+v %v", r, err)
	}
}

// testStorageRBAC: a principal without a role sees nothing; Reader on the
// account itself may read it and nothing more.
func testStorageRBAC(t *testing.T, e *storageEnv, srv *inproc) {
	ctx := context.Background()
	e.group(t, "st-rbac")
	_, a := e.create(t, "st-rbac", "rbacacct1", storageParams(armstorage.SKUNameStandardLRS, nil))
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, srv.boot), srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret, srv.boot.ManagementAudience))
	var sp struct{ ClientID, ObjectID, ClientSecret string }
	if err := api.Do(ctx, http.MethodPost, srv.boot.ManagementEndpoint+"/edgevault/admin/servicePrincipals", map[string]string{"displayName": "st-reader"}, &sp); err != nil {
		t.Fatal(err)
	}
	reader := newSDKEnv(t, srv, sp.ClientID, sp.ClientSecret)
	ra, err := armstorage.NewAccountsClient(reader.boot.SubscriptionID, reader.cred, reader.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ra.GetProperties(ctx, "st-rbac", "rbacacct1", nil); errorCode(err) != "AuthorizationFailed" {
		t.Fatalf("no role, GetProperties: %v", err)
	}
	if _, err := ra.GetProperties(ctx, "st-rbac", "nosuchacct", nil); errorCode(err) != "AuthorizationFailed" {
		t.Fatalf("no role, GetProperties of a missing account: %v", err)
	}
	def, err := e.roleDefs.Get(ctx, e.subScope(), rbac.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.roles.Create(ctx, *a.ID, "7a2d3b5f-2c3d-4e6f-9a01-1234567890bc", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: def.ID,
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ra.GetProperties(ctx, "st-rbac", "rbacacct1", nil); err != nil || *got.Name != "rbacacct1" {
		t.Errorf("Reader GetProperties: %v", err)
	}
	if _, err := ra.Update(ctx, "st-rbac", "rbacacct1", armstorage.AccountUpdateParameters{Tags: map[string]*string{}}, nil); errorCode(err) != "AuthorizationFailed" ||
		!strings.Contains(err.Error(), "Microsoft.Storage/storageAccounts/write") {
		t.Errorf("Reader Update: %v", err)
	}
	if _, err := ra.Delete(ctx, "st-rbac", "rbacacct1", nil); errorCode(err) != "AuthorizationFailed" {
		t.Errorf("Reader Delete: %v", err)
	}
	// The role is on the account, not the group: listing the group is not
	// granted.
	if _, err := ra.NewListByResourceGroupPager("st-rbac", nil).NextPage(ctx); errorCode(err) != "AuthorizationFailed" {
		t.Errorf("Reader on the account lists the group: %v", err)
	}
}
