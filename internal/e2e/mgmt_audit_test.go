package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestMgmtAudit: vault management writes made with armkeyvault and plain
// HTTP (create, patch, an access-policy change, a denied patch, delete)
// each leave one AuditEvent record in the vault's trail, with Azure's
// operation name, the caller and the status, read back from the
// Edgevault.Audit logs route after the vault is soft-deleted.
func TestMgmtAudit(t *testing.T) {
	dataDir := t.TempDir()
	srv := startInProcess(t, dataDir, "127.0.0.1:0", &syncBuffer{})
	e := newDataEnv(t, srv) // creates the vault: VaultPut
	boot := srv.boot
	vaultID := "/subscriptions/" + boot.SubscriptionID + "/resourceGroups/kv-data/providers/Microsoft.KeyVault/vaults/" + e.name
	mgmt := spToken(t, tokenClient(srv.http, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience)
	call := func(method, path, body string) reply {
		t.Helper()
		return send(t, srv.http, request{method: method, url: boot.ManagementEndpoint + vaultID + path + "?api-version=2024-11-01",
			auth: "Bearer " + mgmt, body: body, clientRequestID: "mgmt-audit-" + strings.ToLower(method)})
	}
	if r := call("GET", "/providers/Edgevault.Audit/logs", ""); r.status == http.StatusServiceUnavailable {
		t.Skip("the audit trail is not wired: set armapi.Config.Audit in internal/server")
	}
	if r := call("PATCH", "", `{"tags":{"env":"audit"}}`); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	policy := fmt.Sprintf(`{"properties":{"accessPolicies":[{"tenantId":%q,"objectId":"00000000-0000-4000-8000-0000000000b1","permissions":{"secrets":["get"]}}]}}`, boot.TenantID)
	if r := call("PUT", "/accessPolicies/add", policy); r.status != http.StatusOK {
		t.Fatalf("add policy: %d %s", r.status, r.body)
	}
	if r := call("PATCH", "", `{"properties":{"createMode":"recover"}}`); r.status != http.StatusBadRequest {
		t.Fatalf("bad patch: %d %s", r.status, r.body)
	}
	if r := call("DELETE", "", ""); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}

	var l struct {
		Value []struct {
			auditEvent
			CorrelationID string `json:"correlationId"`
		} `json:"value"`
	}
	decodeReply(t, call("GET", "/providers/Edgevault.Audit/logs", ""), &l)
	var got []string
	for _, ev := range l.Value {
		if !strings.HasPrefix(ev.OperationName, "Vault") {
			continue
		}
		got = append(got, fmt.Sprintf("%s %d %s", ev.OperationName, ev.Properties.HTTPStatusCode, ev.ResultType))
		if ev.Identity == nil || ev.Identity.Claim.ObjectID != boot.ServicePrincipal.ObjectID {
			t.Errorf("%s: caller %+v, want %s", ev.OperationName, ev.Identity, boot.ServicePrincipal.ObjectID)
		}
		if ev.OperationName == "VaultDelete" && ev.CorrelationID != "mgmt-audit-delete" {
			t.Errorf("VaultDelete: correlationId %q", ev.CorrelationID)
		}
		if ev.ResourceID != strings.ToUpper(vaultID) || !strings.EqualFold(ev.Properties.ID, vaultID) {
			t.Errorf("%s: resourceId %s, id %s, want %s", ev.OperationName, ev.ResourceID, ev.Properties.ID, vaultID)
		}
	}
	want := []string{"VaultPut 201 Success", "VaultPatch 200 Success", "VaultAccessPolicyUpdate 200 Success",
		"VaultPatch 400 Failure", "VaultDelete 200 Success"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("management records\n got %q\nwant %q", got, want)
	}

	// The purge is recorded in the chain of the vault it removed; the
	// trail is no longer served (the vault does not exist), so it is read
	// from the database.
	purge := boot.ManagementEndpoint + "/subscriptions/" + boot.SubscriptionID + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/" +
		e.name + "/purge?api-version=2024-11-01"
	if r := send(t, srv.http, request{method: "POST", url: purge, auth: "Bearer " + mgmt}); r.status != http.StatusOK {
		t.Fatalf("purge: %d %s", r.status, r.body)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "edgevault.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var op, oid string
	var status int
	err = db.QueryRowContext(t.Context(), `SELECT operation_name, object_id, http_status FROM audit_records
		WHERE resource_key = ? ORDER BY seq DESC LIMIT 1`, strings.ToLower(vaultID)).Scan(&op, &oid, &status)
	if err != nil || op != "VaultPurge" || oid != boot.ServicePrincipal.ObjectID || status != http.StatusOK {
		t.Errorf("last record of the purged vault: %s %s %d (%v), want VaultPurge by %s, 200", op, oid, status, err, boot.ServicePrincipal.ObjectID)
	}
}
