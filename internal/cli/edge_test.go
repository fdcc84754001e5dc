package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/client"
)

// fakeEdge adds the edge routes the activation-key and delete commands
// call to a fakeServer. A generation's status URL reports the steps of
// statuses in turn, then Succeeded; its Location URL has the result. Its
// state is guarded by the fakeServer's mutex (held by auth).
type fakeEdge struct {
	x        *fakeARM
	statuses []string // lastCompletedStep of each poll while running
	polls    int
	warnings []string // each the warning of CreateDiagnosticSetting
	keys     []activationKeyInfo
	requests []string
	// regenerated is the result's regenerated.
	regenerated bool
}

const edgeDeviceScope = "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/dbe-1"

// fakeActivationKey is the key the fake issues; tests check where it shows.
const fakeActivationKey = "evak1_ZmFrZS1hY3RpdmF0aW9uLWtleQ"

func newFakeEdge(t *testing.T, f *fakeServer, x *fakeARM) *fakeEdge {
	t.Helper()
	e := &fakeEdge{x: x}
	const dev = "management.localhost/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/dbe-1"
	const ops = "management.localhost/subscriptions/sub-1/providers/Microsoft.Resources"
	f.mux.HandleFunc(dev, f.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, map[string]any{"id": edgeDeviceScope, "name": "dbe-1", "location": "westeurope",
				"sku": map[string]string{"name": "EdgeP_Base"}, "kind": "AzureStackEdge",
				"identity":   map[string]string{"type": "SystemAssigned", "principalId": "f0000000-0000-4000-8000-000000000001"},
				"systemData": map[string]string{"createdAt": "2030-01-02T03:04:05.123456Z"},
				"properties": map[string]string{"dataBoxEdgeDeviceStatus": "ReadyToSetup"}})
		case http.MethodDelete:
			w.Header().Set("Azure-AsyncOperation", x.base+"/subscriptions/sub-1/providers/Microsoft.Resources/operationStatuses/del-1?api-version="+edgeAPIVersion)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusAccepted)
		}
	})))
	f.mux.HandleFunc("POST "+dev+"/generateActivationKey", f.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Azure-AsyncOperation", x.base+"/subscriptions/sub-1/providers/Microsoft.Resources/operationStatuses/gen-1?api-version="+edgeAPIVersion)
		w.Header().Set("Location", x.base+"/subscriptions/sub-1/providers/Microsoft.Resources/operationResults/gen-1?api-version="+edgeAPIVersion)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	})))
	f.mux.HandleFunc("GET "+dev+"/activationKeys", f.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"value": e.keys})
	})))
	f.mux.HandleFunc("GET "+ops+"/operationStatuses/{id}", f.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
		st := map[string]any{"id": r.URL.Path, "name": r.PathValue("id"), "status": "Succeeded"}
		if r.PathValue("id") == "gen-1" && e.polls < len(e.statuses) {
			st["status"] = "InProgress"
			if s := e.statuses[e.polls]; s != "" {
				st["properties"] = map[string]string{"lastCompletedStep": s}
			}
		}
		e.polls++
		writeJSON(w, 200, st)
	})))
	f.mux.HandleFunc("GET "+ops+"/operationResults/gen-1", f.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"activationKey": fakeActivationKey, "expiryTimeInUTC": "2030-01-05T03:04:05Z",
			"keyVaultId":  "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.KeyVault/vaults/kv-dbe-1",
			"keyVaultUri": "https://kv-dbe-1.vault.localhost:8443/", "keyId": "k-2", "warnings": e.warnings,
			"regenerated": e.regenerated, "steps": e.steps()})
	})))
	return e
}

// steps is the result's steps: the plan, CreateDiagnosticSetting warned
// when there are warnings.
func (e *fakeEdge) steps() []stepResult {
	plan := client.ActivationSteps
	if e.regenerated {
		plan = client.RegenerateSteps
	}
	var out []stepResult
	for _, name := range plan {
		st := stepResult{Name: name, Status: "Succeeded"}
		if name == "CreateDiagnosticSetting" && len(e.warnings) > 0 {
			st.Status, st.Message = "Warning", e.warnings[0]
		}
		out = append(out, st)
	}
	return out
}

func (e *fakeEdge) log(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.requests = append(e.requests, r.Method+" "+r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		h(w, r)
	}
}

func newEdgeEnv(t *testing.T) (*fakeServer, *fakeEdge) {
	t.Helper()
	useConfigDir(t)
	fs := newFakeServer(t)
	e := newFakeEdge(t, fs, newFakeARM(t, fs))
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	return fs, e
}

func ek(args ...string) []string {
	return append(append([]string{"edge", "activation-key"}, args...), "-n", "dbe-1", "-g", "rg-edge")
}

var (
	firstKeys = []activationKeyInfo{{ID: "k-2", State: "Unused", CreatedAt: fakeTime, ExpiresAt: fakeTime.Add(72 * time.Hour)}}
	laterKeys = append(firstKeys, activationKeyInfo{ID: "k-1", State: "Revoked", CreatedAt: fakeTime.Add(-time.Hour), ExpiresAt: fakeTime.Add(71 * time.Hour)})
)

// TestEdgeGenerateGolden checks what generate prints: the steps seen
// while polling with the ones in between filled in, the key once, the
// warnings; the plan of an operation too quick to see any step; -o json
// and --no-wait.
func TestEdgeGenerateGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []string
		warnings []string
		keys     []activationKeyInfo
		args     []string
		regen    bool
	}{
		{name: "edge_generate", statuses: []string{"", "LockKeyVault", "CreateDiagnosticSetting"}, keys: firstKeys,
			warnings: []string{"The diagnostic setting could not be created; use the recover key vault operation."}, args: ek("generate")},
		{name: "edge_generate_quick", keys: firstKeys, args: ek("generate")},
		{name: "edge_regenerate_quick", keys: laterKeys, regen: true, args: ek("generate", "-o", "json")},
		{name: "edge_generate_no_wait", args: ek("generate", "--no-wait")},
		{name: "edge_generate_bad_vault", args: ek("generate", "--key-vault-name", "9lives")},
		{name: "edge_key_list", keys: laterKeys, args: ek("list")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stubSleep(t)
			stubTerminal(t, false, false)
			fs, e := newEdgeEnv(t)
			e.statuses, e.warnings, e.keys, e.regenerated = tc.statuses, tc.warnings, tc.keys, tc.regen
			r := runCLI(t, "", tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+fs.srv.Port, ":8443")
			golden(t, tc.name, got)
			if strings.Count(r.stdout+r.stderr, fakeActivationKey) > 1 {
				t.Errorf("the key is printed more than once")
			}
		})
	}
}

// TestEdgeSecurityView checks the security view's drawing, complete and
// before any activation.
func TestEdgeSecurityView(t *testing.T) {
	days := 90
	full := edgeSecurity{
		Resource: edgeDeviceScope, KeyVaultSyncStatus: "KeyVaultNotSynced",
		KeyVault: &securityVault{Name: "kv-dbe-1", URI: "https://kv-dbe-1.vault.localhost:8443/", SoftDeleteRetentionInDays: &days, PurgeProtection: true},
		ManagedIdentity: securityIdentity{Type: "system-assigned", PrincipalID: "f0000000-0000-4000-8000-000000000001",
			SecretPermissions: []string{"get", "set"}},
		AccessPolicies: []accessPolicy{{ObjectID: "f0000000-0000-4000-8000-000000000001", Permissions: permissions{Secrets: []string{"get", "set"}}},
			{ObjectID: adminObjectID, Permissions: permissions{Secrets: []string{"get", "list"}}}},
		KeyVaultLocks:      []managementLock{{Name: "edgevault-keyvault-lock", Properties: lockProperties{Level: "CanNotDelete"}}},
		DiagnosticSettings: []diagnosticSetting{{Name: "edgevault-audit"}},
		AuditStorageAccount: &securityStorage{Name: "evauditkvdbe1abcd", SKU: "Standard_ZRS", Kind: "StorageV2",
			Tags: map[string]string{"KeyVaultName": "kv-dbe-1"}},
		ChannelIntegrityKey: &securityCIK{Name: "ase-cik-0f0e", Version: "0123456789abcdef0123456789abcdef"},
		Unavailable:         []string{"audit storage account locks: (AuthorizationFailed) no"},
	}
	full.DiagnosticSettings[0].Properties.StorageAccountID = "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.Storage/storageAccounts/evauditkvdbe1abcd"
	full.DiagnosticSettings[0].Properties.Logs = []diagnosticLog{{Category: "AuditEvent", Enabled: true}}
	empty := edgeSecurity{Resource: edgeDeviceScope, KeyVaultSyncStatus: "KeyVaultNotConfigured",
		ManagedIdentity: securityIdentity{Type: "system-assigned", PrincipalID: "f0000000-0000-4000-8000-000000000001"}}
	for name, s := range map[string]edgeSecurity{"edge_security_full": full, "edge_security_empty": empty} {
		var b bytes.Buffer
		if err := s.view().render(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.String())
	}
}

func TestValidateEdgeName(t *testing.T) {
	for name, ok := range map[string]bool{
		"db": true, "dbe-1": true, "DBE-Plant-01": true, strings.Repeat("a", 50): true,
		"": false, "d": false, strings.Repeat("a", 51): false, "-dbe": false, "dbe-": false, "dbe_1": false, "dbe/1": false, "dbé": false,
	} {
		if err := validateEdgeName(name); (err == nil) != ok {
			t.Errorf("validateEdgeName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
