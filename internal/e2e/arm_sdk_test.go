package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/rbac"
)

// The ARM core, driven by the official, unmodified Azure SDK for Go
// clients, authenticated by azidentity against our issuer, on SQLite and on
// PostgreSQL.
func TestARMWithSDKs(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			url := db.url(t)
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", url, io.Discard)
			env := newSDKEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
			t.Run("ResourceGroups", func(t *testing.T) { testSDKResourceGroups(t, env) })
			t.Run("Providers", func(t *testing.T) { testSDKProviders(t, env) })
			t.Run("RoleAssignments", func(t *testing.T) { testSDKRoleAssignments(t, env, srv) })
			t.Run("LocksAndDelete", func(t *testing.T) { testSDKLocksAndDelete(t, env) })
			t.Run("AutoRegistration", func(t *testing.T) { testSDKAutoRegistration(t, env) })
		})
	}
}

// sdkEnv holds SDK clients for one principal.
type sdkEnv struct {
	boot     bootstrap.File
	cred     azcore.TokenCredential
	opts     *arm.ClientOptions
	groups   *armresources.ResourceGroupsClient
	provs    *armresources.ProvidersClient
	roles    *armauthorization.RoleAssignmentsClient
	roleDefs *armauthorization.RoleDefinitionsClient
}

func newSDKEnv(t *testing.T, srv *inproc, clientID, secret string) *sdkEnv {
	t.Helper()
	b := srv.boot
	cloudCfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: b.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Audience: b.ManagementAudience, Endpoint: b.ManagementEndpoint},
		},
	}
	cred, err := azidentity.NewClientSecretCredential(b.TenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloudCfg, Transport: srv.http},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cloudCfg, Transport: srv.http}}
	env := &sdkEnv{boot: b, cred: cred, opts: opts}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	env.groups, err = armresources.NewResourceGroupsClient(b.SubscriptionID, cred, opts)
	must(err)
	env.provs, err = armresources.NewProvidersClient(b.SubscriptionID, cred, opts)
	must(err)
	env.roles, err = armauthorization.NewRoleAssignmentsClient(b.SubscriptionID, cred, opts)
	must(err)
	env.roleDefs, err = armauthorization.NewRoleDefinitionsClient(cred, opts)
	must(err)
	return env
}

func (e *sdkEnv) subScope() string { return "/subscriptions/" + e.boot.SubscriptionID }

// errorCode returns the ARM error code of an SDK error ("" if none).
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func testSDKResourceGroups(t *testing.T, e *sdkEnv) {
	ctx := context.Background()
	created, err := e.groups.CreateOrUpdate(ctx, "SDK-Group", armresources.ResourceGroup{
		Location: to.Ptr("West Europe"), Tags: map[string]*string{"env": to.Ptr("test")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Location != "westeurope" || *created.Name != "SDK-Group" || *created.Properties.ProvisioningState != "Succeeded" ||
		*created.Type != "Microsoft.Resources/resourceGroups" {
		t.Errorf("created = %+v", created.ResourceGroup)
	}
	got, err := e.groups.Get(ctx, "sdk-group", nil) // case-insensitive, original casing kept
	if err != nil || *got.Name != "SDK-Group" || *got.Tags["env"] != "test" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if ex, err := e.groups.CheckExistence(ctx, "sdk-group", nil); err != nil || !ex.Success {
		t.Errorf("CheckExistence(existing) = %v, %v", ex.Success, err)
	}
	if ex, err := e.groups.CheckExistence(ctx, "no-such-group", nil); err != nil || ex.Success {
		t.Errorf("CheckExistence(missing) = %v, %v", ex.Success, err)
	}
	upd, err := e.groups.Update(ctx, "sdk-group", armresources.ResourceGroupPatchable{Tags: map[string]*string{"owner": to.Ptr("ops")}}, nil)
	if err != nil || len(upd.Tags) != 1 || *upd.Tags["owner"] != "ops" {
		t.Fatalf("Update (tags replace) = %+v, %v", upd.Tags, err)
	}
	// Moving a group is not possible.
	_, err = e.groups.CreateOrUpdate(ctx, "sdk-group", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	if code := errorCode(err); code != "InvalidResourceGroupLocation" {
		t.Errorf("location change: %v", err)
	}
	_, err = e.groups.Get(ctx, "missing", nil)
	if code := errorCode(err); code != "ResourceGroupNotFound" {
		t.Errorf("missing group: %v", err)
	}
	for _, n := range []string{"page-a", "page-b", "page-c"} {
		if _, err := e.groups.CreateOrUpdate(ctx, n, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// $top=1 makes the server page; the SDK pager follows nextLink.
	pager := e.groups.NewListPager(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](1)})
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	if strings.Join(names, ",") != "page-a,page-b,page-c,SDK-Group" || pages < 4 {
		t.Errorf("listed %v in %d pages", names, pages)
	}
}

func testSDKProviders(t *testing.T, e *sdkEnv) {
	ctx := context.Background()
	p, err := e.provs.Get(ctx, "Microsoft.KeyVault", nil)
	if err != nil || *p.RegistrationState != "NotRegistered" {
		t.Fatalf("Get KeyVault = %v, %v", p.RegistrationState, err)
	}
	reg, err := e.provs.Register(ctx, "Microsoft.KeyVault", nil)
	if err != nil || *reg.RegistrationState != "Registering" {
		t.Fatalf("Register = %v, %v", reg.RegistrationState, err)
	}
	p, _ = e.provs.Get(ctx, "microsoft.keyvault", nil)
	if *p.RegistrationState != "Registered" {
		t.Errorf("after Register: %s", *p.RegistrationState)
	}
	states := map[string]string{}
	pager := e.provs.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			states[*p.Namespace] = *p.RegistrationState
		}
	}
	for ns, want := range map[string]string{"Microsoft.Storage": "Registered", "Microsoft.Authorization": "Registered",
		"Microsoft.DataBoxEdge": "NotRegistered", "Microsoft.KeyVault": "Registered"} {
		if states[ns] != want {
			t.Errorf("%s = %s, want %s", ns, states[ns], want)
		}
	}
	if _, err := e.provs.Get(ctx, "Microsoft.Nope", nil); errorCode(err) != "InvalidResourceNamespace" {
		t.Errorf("unknown namespace: %v", err)
	}
}

func testSDKRoleAssignments(t *testing.T, e *sdkEnv, srv *inproc) {
	ctx := context.Background()
	if _, err := e.groups.CreateOrUpdate(ctx, "rbac-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	// A fresh service principal with no role at all.
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, srv.boot), srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret, srv.boot.ManagementAudience))
	var sp struct{ ClientID, ObjectID, ClientSecret string }
	if err := api.Do(ctx, http.MethodPost, srv.boot.ManagementEndpoint+"/edgevault/admin/servicePrincipals", map[string]string{"displayName": "reader"}, &sp); err != nil {
		t.Fatal(err)
	}
	reader := newSDKEnv(t, srv, sp.ClientID, sp.ClientSecret)
	if _, err := reader.groups.Get(ctx, "rbac-rg", nil); errorCode(err) != "AuthorizationFailed" {
		t.Fatalf("no role, Get group: %v", err)
	}
	def, err := e.roleDefs.Get(ctx, e.subScope(), rbac.Reader, nil)
	if err != nil || *def.Properties.RoleName != "Reader" {
		t.Fatalf("role definition Reader = %+v, %v", def, err)
	}
	rgScope := e.subScope() + "/resourceGroups/rbac-rg"
	name := "3f1c2a4e-1b2c-4d5e-8f90-0123456789ab"
	ra, err := e.roles.Create(ctx, rgScope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: def.ID,
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		},
	}, nil)
	if err != nil || *ra.Name != name || *ra.Properties.Scope != rgScope {
		t.Fatalf("Create assignment = %+v, %v", ra, err)
	}
	if _, err := reader.groups.Get(ctx, "rbac-rg", nil); err != nil {
		t.Errorf("Reader at the group cannot read it: %v", err)
	}
	_, err = reader.groups.Update(ctx, "rbac-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{}}, nil)
	if errorCode(err) != "AuthorizationFailed" {
		t.Errorf("Reader wrote a group: %v", err)
	}
	if _, err := reader.groups.Get(ctx, "SDK-Group", nil); errorCode(err) != "AuthorizationFailed" {
		t.Errorf("Reader at rbac-rg reads another group: %v", err)
	}
	// Assigning a principal that does not exist changes nothing.
	_, err = e.roles.Create(ctx, rgScope, "4f1c2a4e-1b2c-4d5e-8f90-0123456789ab", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr("00000000-0000-0000-0000-000000000001"), RoleDefinitionID: def.ID},
	}, nil)
	if errorCode(err) != "PrincipalNotFound" {
		t.Errorf("unknown principal: %v", err)
	}
	var seen bool
	pager := e.roles.NewListForScopePager(rgScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			seen = seen || *a.Name == name
		}
	}
	if !seen {
		t.Error("assignment not listed at its scope")
	}
	if _, err := e.roles.Delete(ctx, rgScope, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.groups.Get(ctx, "rbac-rg", nil); errorCode(err) != "AuthorizationFailed" {
		t.Errorf("access survived the assignment's deletion: %v", err)
	}
}

// lockPipeline is a plain azcore ARM pipeline (armlocks is not available
// from the module proxy), with the SDK's RP-registration policy in it.
func (e *sdkEnv) lockPipeline(t *testing.T) runtime.Pipeline {
	pl, err := armruntime.NewPipeline("edgevault-e2e", "v0.0.0", e.cred, runtime.PipelineOptions{}, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func (e *sdkEnv) lockRequest(t *testing.T, pl runtime.Pipeline, method, scope, name string, body any) (*http.Response, error) {
	t.Helper()
	u := e.boot.ManagementEndpoint + scope + "/providers/Microsoft.Authorization/locks/" + name + "?api-version=2020-05-01"
	req, err := runtime.NewRequest(context.Background(), method, u)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	return pl.Do(req)
}

func testSDKLocksAndDelete(t *testing.T, e *sdkEnv) {
	ctx := context.Background()
	if _, err := e.groups.CreateOrUpdate(ctx, "locked-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	pl := e.lockPipeline(t)
	scope := e.subScope() + "/resourceGroups/locked-rg"
	resp, err := e.lockRequest(t, pl, http.MethodPut, scope, "no-delete",
		map[string]any{"properties": map[string]any{"level": "CanNotDelete", "notes": "kept for audit"}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT lock: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// CanNotDelete: writes pass, the delete fails whole with ScopeLocked.
	if _, err := e.groups.Update(ctx, "locked-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{"a": to.Ptr("b")}}, nil); err != nil {
		t.Errorf("write under CanNotDelete: %v", err)
	}
	_, err = e.groups.BeginDelete(ctx, "locked-rg", nil)
	if errorCode(err) != "ScopeLocked" || !strings.Contains(err.Error(), "cannot perform delete operation") {
		t.Fatalf("delete of a locked group: %v", err)
	}
	if g, err := e.groups.Get(ctx, "locked-rg", nil); err != nil || *g.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("the failed delete changed the group: %+v %v", g, err)
	}
	resp, err = e.lockRequest(t, pl, http.MethodDelete, scope, "no-delete", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE lock: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	poller, err := e.groups.BeginDelete(ctx, "locked-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 0}); err != nil {
		t.Fatalf("PollUntilDone: %v", err)
	}
	if _, err := e.groups.Get(ctx, "locked-rg", nil); errorCode(err) != "ResourceGroupNotFound" {
		t.Errorf("group still there after delete: %v", err)
	}
}

// testSDKAutoRegistration: with Microsoft.Authorization unregistered, a
// lock PUT gets 409 MissingSubscriptionRegistration; the SDK's policy
// registers the provider and retries, and the caller sees only success.
func testSDKAutoRegistration(t *testing.T, e *sdkEnv) {
	ctx := context.Background()
	if _, err := e.groups.CreateOrUpdate(ctx, "autoreg-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provs.Unregister(ctx, "Microsoft.Authorization", nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.provs.Get(ctx, "Microsoft.Authorization", nil); *p.RegistrationState != "Unregistered" {
		t.Fatalf("state after unregister: %s", *p.RegistrationState)
	}
	// Without the policy the 409 is visible, with details[0].target.
	noReg := *e.opts
	noReg.DisableRPRegistration = true
	plain, err := armruntime.NewPipeline("edgevault-e2e", "v0.0.0", e.cred, runtime.PipelineOptions{}, &noReg)
	if err != nil {
		t.Fatal(err)
	}
	scope := e.subScope() + "/resourceGroups/autoreg-rg"
	body := map[string]any{"properties": map[string]any{"level": "ReadOnly"}}
	resp, err := e.lockRequest(t, plain, http.MethodPut, scope, "ro", body)
	if err != nil {
		t.Fatal(err)
	}
	rerr := runtime.NewResponseError(resp)
	if resp.StatusCode != http.StatusConflict || errorCode(rerr) != "MissingSubscriptionRegistration" ||
		!strings.Contains(rerr.Error(), `"target": "Microsoft.Authorization"`) {
		t.Fatalf("unregistered provider: %v", rerr)
	}
	// With the SDK's default pipeline: registered and retried.
	resp, err = e.lockRequest(t, e.lockPipeline(t), http.MethodPut, scope, "ro", body)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with auto-registration: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if p, _ := e.provs.Get(ctx, "Microsoft.Authorization", nil); *p.RegistrationState != "Registered" {
		t.Errorf("state after auto-registration: %s", *p.RegistrationState)
	}
	// ReadOnly blocks writes to the group.
	_, err = e.groups.Update(ctx, "autoreg-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{}}, nil)
	if errorCode(err) != "ScopeLocked" {
		t.Errorf("write under ReadOnly: %v", err)
	}
}
