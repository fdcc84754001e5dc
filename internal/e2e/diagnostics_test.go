package e2e

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/edgevault/edgevault/internal/rbac"
)

// Diagnostic settings on a vault, driven by the official, unmodified
// armmonitor v0.13.0 DiagnosticSettingsClient and
// DiagnosticSettingsCategoryClient (api-version 2021-05-01-preview), on
// SQLite and on PostgreSQL.
func TestDiagnosticSettingsWithSDK(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", db.url(t), io.Discard)
			e := newDiagEnv(t, srv)
			t.Run("Lifecycle", func(t *testing.T) { testDiagLifecycle(t, e) })
			t.Run("Locks", func(t *testing.T) { testDiagLocks(t, e) })
			t.Run("BadInput", func(t *testing.T) { testDiagBadInput(t, e) })
			t.Run("LinkedAccess", func(t *testing.T) { testDiagLinkedAccess(t, e, srv) })
		})
	}
}

type diagEnv struct {
	*kvEnv
	storage    *storageEnv
	settings   *armmonitor.DiagnosticSettingsClient
	categories *armmonitor.DiagnosticSettingsCategoryClient
	vaultID    string
	accountID  string
}

func newDiagEnv(t *testing.T, srv *inproc) *diagEnv {
	t.Helper()
	kv := newKVEnv(t, srv)
	settings, err := armmonitor.NewDiagnosticSettingsClient(kv.cred, kv.opts)
	if err != nil {
		t.Fatal(err)
	}
	categories, err := armmonitor.NewDiagnosticSettingsCategoryClient(kv.cred, kv.opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &diagEnv{kvEnv: kv, storage: newStorageEnv(t, srv), settings: settings, categories: categories}
	e.group(t, "diag-rg")
	e.vaultID = *e.create(t, "diag-rg", "diag-vault-1", nil).ID
	_, a := e.storage.create(t, "diag-rg", "diaglogs01", storageParams(armstorage.SKUNameStandardLRS, nil))
	e.accountID = *a.ID
	return e
}

func auditSetting(accountID string, logs ...*armmonitor.LogSettings) armmonitor.DiagnosticSettingsResource {
	if logs == nil {
		logs = []*armmonitor.LogSettings{{Category: to.Ptr("AuditEvent"), Enabled: to.Ptr(true),
			RetentionPolicy: &armmonitor.RetentionPolicy{Enabled: to.Ptr(false), Days: to.Ptr[int32](0)}}}
	}
	return armmonitor.DiagnosticSettingsResource{Properties: &armmonitor.DiagnosticSettings{
		StorageAccountID: to.Ptr(accountID), Logs: logs,
		Metrics: []*armmonitor.MetricSettings{{Category: to.Ptr("AllMetrics"), Enabled: to.Ptr(false)}},
	}}
}

func testDiagLifecycle(t *testing.T, e *diagEnv) {
	ctx := context.Background()
	// Microsoft.Insights starts unregistered: the SDK's policy registers
	// it on the first MissingSubscriptionRegistration and retries.
	p, err := e.provs.Get(ctx, "Microsoft.Insights", nil)
	if err != nil || *p.RegistrationState != "NotRegistered" {
		t.Fatalf("Microsoft.Insights before: %v %v", p.RegistrationState, err)
	}
	put, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "send-to-storage", auditSetting(e.accountID), nil)
	if err != nil {
		t.Fatalf("CreateOrUpdate: %v", err)
	}
	if p, err := e.provs.Get(ctx, "Microsoft.Insights", nil); err != nil || *p.RegistrationState != "Registered" {
		t.Fatalf("Microsoft.Insights after: %v %v", p.RegistrationState, err)
	}
	wantID := e.vaultID + "/providers/Microsoft.Insights/diagnosticSettings/send-to-storage"
	if !strings.EqualFold(*put.ID, wantID) || *put.Name != "send-to-storage" || *put.Type != "Microsoft.Insights/diagnosticSettings" ||
		!strings.EqualFold(*put.Properties.StorageAccountID, e.accountID) || *put.Properties.Logs[0].Category != "AuditEvent" ||
		!*put.Properties.Logs[0].Enabled || *put.Properties.Metrics[0].Category != "AllMetrics" {
		t.Fatalf("CreateOrUpdate = %+v", put)
	}
	// Category groups, and a replacement (PUT again: 200).
	if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "send-to-storage", auditSetting(e.accountID,
		&armmonitor.LogSettings{CategoryGroup: to.Ptr("allLogs"), Enabled: to.Ptr(true)}), nil); err != nil {
		t.Fatalf("replace: %v", err)
	}
	got, err := e.settings.Get(ctx, e.vaultID, "SEND-TO-STORAGE", nil)
	if err != nil || got.Properties.Logs[0].CategoryGroup == nil || *got.Properties.Logs[0].CategoryGroup != "allLogs" {
		t.Fatalf("Get: %+v %v", got, err)
	}
	// The resourceUri may be given with or without its leading slash.
	if _, err := e.settings.Get(ctx, strings.TrimPrefix(e.vaultID, "/"), "send-to-storage", nil); err != nil {
		t.Fatalf("Get without leading slash: %v", err)
	}
	var names []string
	for pager := e.settings.NewListPager(e.vaultID, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			names = append(names, *s.Name)
		}
	}
	if !slices.Equal(names, []string{"send-to-storage"}) {
		t.Fatalf("List = %v", names)
	}

	// Categories: AuditEvent (groups audit, allLogs) and AllMetrics.
	var cats []string
	for pager := e.categories.NewListPager(e.vaultID, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Value {
			cats = append(cats, *c.Name+":"+string(*c.Properties.CategoryType))
		}
	}
	if !slices.Equal(cats, []string{"AuditEvent:Logs", "AllMetrics:Metrics"}) {
		t.Fatalf("categories = %v", cats)
	}
	c, err := e.categories.Get(ctx, e.vaultID, "AuditEvent", nil)
	if err != nil || len(c.Properties.CategoryGroups) != 2 || *c.Properties.CategoryGroups[0] != "audit" || *c.Properties.CategoryGroups[1] != "allLogs" {
		t.Fatalf("category AuditEvent: %+v %v", c, err)
	}
	if _, err := e.categories.Get(ctx, e.vaultID, "NoSuchCategory", nil); errorCode(err) != "ResourceNotFound" {
		t.Fatalf("missing category: %v", err)
	}

	// DELETE: 200, then 204; the setting is gone.
	var resp *http.Response
	if _, err := e.settings.Delete(policy.WithCaptureResponse(ctx, &resp), e.vaultID, "send-to-storage", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := e.settings.Delete(policy.WithCaptureResponse(ctx, &resp), e.vaultID, "send-to-storage", nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := e.settings.Get(ctx, e.vaultID, "send-to-storage", nil); errorCode(err) != "ResourceNotFound" {
		t.Fatalf("Get after Delete: %v", err)
	}
}

// testDiagLocks: a setting is an extension resource of the vault and
// inherits its locks.
func testDiagLocks(t *testing.T, e *diagEnv) {
	ctx := context.Background()
	if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "locked", auditSetting(e.accountID), nil); err != nil {
		t.Fatal(err)
	}
	pl := e.lockPipeline(t)
	resp, err := e.lockRequest(t, pl, http.MethodPut, e.vaultID, "no-delete", map[string]any{"properties": map[string]any{"level": "CanNotDelete"}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT lock: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if _, err := e.settings.Delete(ctx, e.vaultID, "locked", nil); errorCode(err) != "ScopeLocked" {
		t.Fatalf("Delete under CanNotDelete: %v", err)
	}
	// CanNotDelete still admits writes.
	if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "locked", auditSetting(e.accountID), nil); err != nil {
		t.Fatalf("write under CanNotDelete: %v", err)
	}
	resp, err = e.lockRequest(t, pl, http.MethodDelete, e.vaultID, "no-delete", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE lock: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if _, err := e.settings.Delete(ctx, e.vaultID, "locked", nil); err != nil {
		t.Fatalf("Delete after unlocking: %v", err)
	}
}

func testDiagBadInput(t *testing.T, e *diagEnv) {
	ctx := context.Background()
	sub := e.subScope()
	missing := sub + "/resourceGroups/diag-rg/providers/Microsoft.Storage/storageAccounts/nosuchacct1"
	for _, tc := range []struct {
		name, code string
		body       armmonitor.DiagnosticSettingsResource
	}{
		{"missing account", "InvalidStorageAccount", auditSetting(missing)},
		{"not an account", "InvalidStorageAccount", auditSetting(e.vaultID)},
		{"unknown category", "BadRequest", auditSetting(e.accountID, &armmonitor.LogSettings{Category: to.Ptr("Nope"), Enabled: to.Ptr(true)})},
		{"no enabled", "BadRequest", auditSetting(e.accountID, &armmonitor.LogSettings{Category: to.Ptr("AuditEvent")})},
		{"no destination", "BadRequest", armmonitor.DiagnosticSettingsResource{Properties: &armmonitor.DiagnosticSettings{
			Logs: []*armmonitor.LogSettings{{Category: to.Ptr("AuditEvent"), Enabled: to.Ptr(true)}}}}},
		{"workspace", "BadRequest", armmonitor.DiagnosticSettingsResource{Properties: &armmonitor.DiagnosticSettings{
			WorkspaceID: to.Ptr(sub + "/resourceGroups/x/providers/Microsoft.OperationalInsights/workspaces/w"),
			Logs:        []*armmonitor.LogSettings{{Category: to.Ptr("AuditEvent"), Enabled: to.Ptr(true)}}}}},
	} {
		if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "bad", tc.body, nil); errorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := e.settings.Get(ctx, e.vaultID, "bad", nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("a refused setting was stored: %v", err)
	}
	// A missing vault: 404 before anything else.
	noVault := sub + "/resourceGroups/diag-rg/providers/Microsoft.KeyVault/vaults/no-such-vault"
	if _, err := e.settings.CreateOrUpdate(ctx, noVault, "x", auditSetting(e.accountID), nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("missing vault: %v", err)
	}
	// One sink per category per resource.
	if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "first", auditSetting(e.accountID), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.settings.CreateOrUpdate(ctx, e.vaultID, "second", auditSetting(e.accountID), nil); errorCode(err) != "BadRequest" {
		t.Errorf("same sink, same category: %v", err)
	}
	if _, err := e.settings.Delete(ctx, e.vaultID, "first", nil); err != nil {
		t.Fatal(err)
	}
}

// testDiagLinkedAccess: a caller that may write the vault's settings but
// cannot read the storage account is refused with ARM's linked access
// check (403 LinkedAuthorizationFailed), whether or not the account exists
// and whichever subscription it is in.
func testDiagLinkedAccess(t *testing.T, e *diagEnv, srv *inproc) {
	ctx := context.Background()
	api := adminAPI(srv.http, spToken(t, tokenClient(srv.http, srv.boot), srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret, srv.boot.ManagementAudience))
	var sp struct{ ClientID, ObjectID, ClientSecret string }
	if err := api.Do(ctx, http.MethodPost, srv.boot.ManagementEndpoint+"/edgevault/admin/servicePrincipals", map[string]string{"displayName": "diag-writer"}, &sp); err != nil {
		t.Fatal(err)
	}
	def, err := e.roleDefs.Get(ctx, e.subScope(), rbac.Contributor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.roles.Create(ctx, e.vaultID, "5b3c1d2e-8f9a-4b0c-9d1e-2f3a4b5c6d7e", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(sp.ObjectID), RoleDefinitionID: def.ID,
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	writer := newSDKEnv(t, srv, sp.ClientID, sp.ClientSecret)
	ws, err := armmonitor.NewDiagnosticSettingsClient(writer.cred, writer.opts)
	if err != nil {
		t.Fatal(err)
	}
	foreign := "/subscriptions/00000000-0000-0000-0000-0000000000ff/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/foreignacct1"
	missing := e.subScope() + "/resourceGroups/diag-rg/providers/Microsoft.Storage/storageAccounts/nosuchacct2"
	for _, acct := range []string{e.accountID, missing, foreign} {
		if _, err := ws.CreateOrUpdate(ctx, e.vaultID, "linked", auditSetting(acct), nil); errorCode(err) != "LinkedAuthorizationFailed" {
			t.Errorf("writer without read on %s: %v", acct, err)
		}
	}
	if _, err := e.settings.Get(ctx, e.vaultID, "linked", nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("a refused setting was stored: %v", err)
	}
	// Reading the vault's settings needs no access to the account.
	if _, err := ws.NewListPager(e.vaultID, nil).NextPage(ctx); err != nil {
		t.Errorf("writer lists settings: %v", err)
	}
}
