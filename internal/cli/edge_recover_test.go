package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// fakeLifecycle adds to a fakeEdge what deletion and recovery call:
// getExtendedInformation naming the vault kv-dbe-1, the vault itself,
// DELETE with deleteKeyVault, recoverKeyVault, reconfigureManagedIdentity
// and alerts. Its state is guarded by the fakeServer's mutex (held by
// auth).
type fakeLifecycle struct {
	noVault   bool // the edge resource has no vault yet
	vaultGone bool // its vault answers 404
	// forbidden refuses deleteKeyVault=true, as a caller without
	// Microsoft.KeyVault/vaults/delete is refused.
	forbidden bool
	deletes   []string // the deleteKeyVault of each DELETE
	// startErr, when set, is the error recoverKeyVault and
	// reconfigureManagedIdentity answer with.
	startErr *struct {
		status        int
		code, message string
	}
	statuses []string   // lastCompletedStep of each poll while running
	opErr    *errorBody // when set, the operation ends Failed with it
	polls    int
	bodies   []map[string]string // recoverKeyVault's request bodies
	result   recoverResult
}

func newFakeLifecycle(t *testing.T) (*fakeServer, *fakeLifecycle) {
	t.Helper()
	fs, e := newEdgeEnv(t)
	l := &fakeLifecycle{result: recoverResult{
		KeyVaultID:  "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.KeyVault/vaults/" + fakeVaultName,
		KeyVaultURI: "https://" + fakeVaultName + ".vault.localhost:8443/", Action: "Recovered", KeyVaultSyncStatus: "KeyVaultSynced",
		Warnings: []string{},
	}}
	const dev = "management.localhost" + edgeDeviceScope
	const ops = "management.localhost/subscriptions/sub-1/providers/Microsoft.Resources"
	vaultID := "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.KeyVault/vaults/" + fakeVaultName
	base := e.x.base + "/subscriptions/sub-1/providers/Microsoft.Resources"
	accept := func(w http.ResponseWriter, id string) {
		w.Header().Set("Azure-AsyncOperation", base+"/operationStatuses/"+id+"?api-version="+edgeAPIVersion)
		w.Header().Set("Location", base+"/operationResults/"+id+"?api-version="+edgeAPIVersion)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	}
	fs.mux.HandleFunc("POST "+dev+"/getExtendedInformation", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		p := map[string]any{"keyVaultSyncStatus": "KeyVaultNotConfigured"}
		if !l.noVault {
			p = map[string]any{"clientSecretStoreId": vaultID, "clientSecretStoreUrl": l.result.KeyVaultURI, "keyVaultSyncStatus": "KeyVaultSynced"}
		}
		writeJSON(w, 200, map[string]any{"id": edgeDeviceScope, "name": "dbe-1", "properties": p})
	})))
	fs.mux.HandleFunc("GET management.localhost"+vaultID, fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		if l.vaultGone {
			armError(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/kv-dbe-1' under resource group 'rg-edge' was not found.")
			return
		}
		writeJSON(w, 200, map[string]any{"id": vaultID, "name": fakeVaultName, "location": "westeurope",
			"properties": map[string]any{"softDeleteRetentionInDays": 90, "enablePurgeProtection": true}})
	})))
	fs.mux.HandleFunc("DELETE "+dev, fs.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("deleteKeyVault")
		l.deletes = append(l.deletes, v)
		if l.forbidden && v == "true" {
			armError(w, 403, "AuthorizationFailed", "The client '"+adminObjectID+"' does not have authorization to perform action 'Microsoft.KeyVault/vaults/delete' over scope '"+vaultID+"'.")
			return
		}
		w.Header().Set("Azure-AsyncOperation", base+"/operationStatuses/del-1?api-version="+edgeAPIVersion)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	})))
	start := func(id string) http.HandlerFunc {
		return fs.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
			body := map[string]string{}
			_ = json.NewDecoder(r.Body).Decode(&body)
			l.bodies = append(l.bodies, body)
			if s := l.startErr; s != nil {
				armError(w, s.status, s.code, s.message)
				return
			}
			accept(w, id)
		}))
	}
	fs.mux.HandleFunc("POST "+dev+"/recoverKeyVault", start("rec-1"))
	fs.mux.HandleFunc("POST "+dev+"/reconfigureManagedIdentity", start("rcf-1"))
	status := fs.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
		st := map[string]any{"id": r.URL.Path, "name": r.PathValue("id"), "status": "InProgress"}
		switch {
		case l.polls < len(l.statuses):
			if s := l.statuses[l.polls]; s != "" {
				st["properties"] = map[string]string{"lastCompletedStep": s}
			}
		case l.opErr != nil:
			st["status"], st["error"] = "Failed", l.opErr
		default:
			st["status"] = "Succeeded"
		}
		l.polls++
		writeJSON(w, 200, st)
	}))
	fs.mux.HandleFunc("GET "+ops+"/operationStatuses/rec-1", status)
	fs.mux.HandleFunc("GET "+ops+"/operationStatuses/rcf-1", status)
	fs.mux.HandleFunc("GET "+ops+"/operationResults/rec-1", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, l.result)
	})))
	fs.mux.HandleFunc("GET "+ops+"/operationResults/rcf-1", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"principalId": "f0000000-0000-4000-8000-000000000002", "keyVaultId": vaultID,
			"secretPermissions": []string{"get", "set"}, "keyVaultSyncStatus": "KeyVaultSyncPending"})
	})))
	fs.mux.HandleFunc("GET "+dev+"/alerts", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []map[string]any{
			fakeAlert("5e0a", "KeyVaultDeleted", "Critical", "The key vault of the device was deleted", "Active", 1),
			fakeAlert("5e0b", "DeviceOffline", "Warning", "The device is offline", "Resolved", 3),
		}})
	})))
	return fs, l
}

func fakeAlert(id, typ, severity, title, status string, n int) map[string]any {
	return map[string]any{"id": edgeDeviceScope + "/alerts/" + id, "name": id, "type": "Microsoft.DataBoxEdge/dataBoxEdgeDevices/alerts",
		"properties": map[string]any{"title": title, "alertType": typ, "severity": severity, "appearedAtDateTime": "2030-01-02T03:04:05Z",
			"recommendation": "Recover the key vault.", "errorDetails": map[string]any{"errorCode": typ, "errorMessage": title, "occurrences": n},
			"detailedInformation": map[string]string{"status": status}}}
}

// allSucceeded is a result's steps for plan, all Succeeded but those in
// warned (step → message).
func allSucceeded(plan []string, warned map[string]string) []stepResult {
	var out []stepResult
	for _, s := range plan {
		r := stepResult{Name: s, Status: "Succeeded"}
		if m, ok := warned[s]; ok {
			r.Status, r.Message = "Warning", m
		}
		out = append(out, r)
	}
	return out
}

func edgeArgs(args ...string) []string {
	return append(append([]string{"edge"}, args...), "-n", "dbe-1", "-g", "rg-edge")
}

// TestEdgeDeleteConsent checks the two questions of delete: nothing is
// sent unless the name is typed back exactly, and only a typed "Yes"
// sends deleteKeyVault=true; --yes keeps the vault unless
// --delete-key-vault; --delete-key-vault alone still asks.
func TestEdgeDeleteConsent(t *testing.T) {
	for _, tc := range []struct {
		stdin, args string
		code        int
		sent        string // deleteKeyVault sent; "" when nothing was deleted
		noVault     bool
	}{
		{stdin: "dbe-1\nYes\n", sent: "true"},
		{stdin: "  dbe-1  \r\n Yes \r\n", sent: "true"},
		{stdin: "dbe-1\nyes\n", sent: "false"},
		{stdin: "dbe-1\nYES\n", sent: "false"},
		{stdin: "dbe-1\nno\n", sent: "false"},
		{stdin: "dbe-1\n\n", sent: "false"},
		{stdin: "dbe-1\n", sent: "false"},
		{stdin: "dbe-1\nYes\n", noVault: true, sent: "false"},
		{stdin: "dbe-2\nYes\n", code: 1},
		{stdin: "DBE-1\n", code: 1},
		{stdin: "", code: 1},
		{stdin: "Yes\n", args: "--delete-key-vault", code: 1},
		{stdin: "dbe-1\nno\n", args: "--delete-key-vault", sent: "false"},
		{stdin: "dbe-1\nYes\n", args: "--delete-key-vault", sent: "true"},
		{stdin: "", args: "--yes", sent: "false"},
		{stdin: "Yes\n", args: "--yes", sent: "false"},
		{stdin: "", args: "--yes --delete-key-vault", sent: "true"},
	} {
		stubSleep(t)
		_, l := newFakeLifecycle(t)
		l.noVault = tc.noVault
		args := append(edgeArgs("delete"), strings.Fields(tc.args)...)
		r := runCLI(t, tc.stdin, args...)
		var sent string
		if len(l.deletes) > 0 {
			sent = strings.Join(l.deletes, ",")
		}
		if r.code != tc.code || sent != tc.sent {
			t.Errorf("stdin %q %s: exit %d, deleteKeyVault %q; want %d, %q\n%s", tc.stdin, tc.args, r.code, sent, tc.code, tc.sent, r.stderr)
		}
		if tc.sent == "" && !strings.Contains(r.stderr, "was not deleted") {
			t.Errorf("stdin %q: stderr %q", tc.stdin, r.stderr)
		}
		asked := strings.Contains(r.stderr, "Also delete key vault")
		if wantAsked := tc.sent != "" && !tc.noVault && !strings.Contains(tc.args, "--yes"); asked != wantAsked {
			t.Errorf("stdin %q %s: vault question asked %v, want %v\n%s", tc.stdin, tc.args, asked, wantAsked, r.stderr)
		}
	}
}

// TestEdgeLifecycleGolden checks what delete, recover-key-vault,
// reconfigure-identity and alert list print.
func TestEdgeLifecycleGolden(t *testing.T) {
	recoverPlan := []string{"RecoverKeyVault", "LockKeyVault", "EnableManagedIdentity", "CreateAuditStorageAccount",
		"CreateDiagnosticSetting", "GrantManagedIdentityAccess", "RequestDeviceSync", "WaitForDeviceSync"}
	diagWarning := "The subscription is not registered to use namespace 'Microsoft.Insights', so the audit trail was not set up; register it and recover again."
	type startErr = struct {
		status        int
		code, message string
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		edit  func(*fakeLifecycle)
	}{
		{name: "edge_delete_with_vault", stdin: "dbe-1\nYes\n", args: edgeArgs("delete")},
		{name: "edge_delete_keep_vault", stdin: "dbe-1\nno\n", args: edgeArgs("delete")},
		{name: "edge_delete_name_mismatch", stdin: "dbe-2\nYes\n", args: edgeArgs("delete")},
		{name: "edge_delete_yes", args: edgeArgs("delete", "--yes")},
		{name: "edge_delete_yes_delete_key_vault", args: edgeArgs("delete", "--yes", "--delete-key-vault")},
		{name: "edge_delete_no_wait", args: edgeArgs("delete", "--yes", "--delete-key-vault", "--no-wait")},
		{name: "edge_delete_no_vault", stdin: "dbe-1\n", args: edgeArgs("delete"),
			edit: func(l *fakeLifecycle) { l.noVault = true }},
		{name: "edge_delete_vault_gone", stdin: "dbe-1\n", args: edgeArgs("delete"),
			edit: func(l *fakeLifecycle) { l.vaultGone = true }},
		{name: "edge_delete_forbidden", args: edgeArgs("delete", "--yes", "--delete-key-vault"),
			edit: func(l *fakeLifecycle) { l.forbidden = true }},
		{name: "edge_recover", args: edgeArgs("recover-key-vault"), edit: func(l *fakeLifecycle) {
			l.statuses = []string{"", "LockKeyVault", "CreateDiagnosticSetting", "RequestDeviceSync"}
			l.result.Steps = allSucceeded(recoverPlan, nil)
		}},
		{name: "edge_recover_new_vault_pending", args: edgeArgs("recover-key-vault", "--key-vault-name", "kv-dbe-1b"), edit: func(l *fakeLifecycle) {
			l.statuses = []string{"RecoverKeyVault"}
			l.result.Action, l.result.DevicePushPending, l.result.KeyVaultSyncStatus = "Created", true, "KeyVaultSyncPending"
			l.result.KeyVaultID = strings.Replace(l.result.KeyVaultID, fakeVaultName, "kv-dbe-1b", 1)
			l.result.KeyVaultURI = "https://kv-dbe-1b.vault.localhost:8443/"
			l.result.Warnings = []string{diagWarning}
			l.result.Steps = allSucceeded(recoverPlan, map[string]string{"CreateDiagnosticSetting": diagWarning})
		}},
		{name: "edge_recover_json", args: edgeArgs("recover-key-vault", "-o", "json"), edit: func(l *fakeLifecycle) {
			l.result.Steps = allSucceeded(recoverPlan, nil)
		}},
		{name: "edge_recover_no_wait", args: edgeArgs("recover-key-vault", "--no-wait")},
		{name: "edge_recover_nothing", args: edgeArgs("recover-key-vault"), edit: func(l *fakeLifecycle) {
			l.startErr = &startErr{409, "NothingToRecover", "The key vault 'kv-dbe-1' of edge resource 'dbe-1' is active: there is nothing to recover. If the managed identity lost its access, use reconfigureManagedIdentity."}
		}},
		{name: "edge_recover_name_required", args: edgeArgs("recover-key-vault"), edit: func(l *fakeLifecycle) {
			l.startErr = &startErr{400, "KeyVaultNameRequired", "The key vault 'kv-dbe-1' was purged and cannot be recovered; give keyVaultName, the name of a new key vault to create."}
		}},
		{name: "edge_recover_name_taken", args: edgeArgs("recover-key-vault", "--key-vault-name", "kv-taken"), edit: func(l *fakeLifecycle) {
			l.startErr = &startErr{409, "VaultAlreadyExists", "The vault name 'kv-taken' is already in use."}
		}},
		{name: "edge_recover_bad_name", args: edgeArgs("recover-key-vault", "--key-vault-name", "9lives")},
		{name: "edge_recover_failed", args: edgeArgs("recover-key-vault"), edit: func(l *fakeLifecycle) {
			l.statuses = []string{"RecoverKeyVault"}
			l.opErr = &errorBody{Code: "Conflict", Message: "The key vault 'kv-dbe-1' was purged while it was being recovered; recover again with a new key vault name."}
		}},
		{name: "edge_recover_reconfigure", args: edgeArgs("reconfigure-identity"), edit: func(l *fakeLifecycle) {
			l.statuses = []string{"EnableManagedIdentity"}
		}},
		{name: "edge_recover_alert_list", args: edgeArgs("alert", "list")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stubSleep(t)
			stubTerminal(t, false, false)
			fs, l := newFakeLifecycle(t)
			if tc.edit != nil {
				tc.edit(l)
			}
			r := runCLI(t, tc.stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+fs.srv.Port, ":8443")
			golden(t, tc.name, got)
			if tc.name == "edge_recover_new_vault_pending" && (len(l.bodies) != 1 || l.bodies[0]["keyVaultName"] != "kv-dbe-1b") {
				t.Errorf("recoverKeyVault bodies = %v", l.bodies)
			}
		})
	}
}
