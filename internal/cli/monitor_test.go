package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// fakeDiagnostics adds Microsoft.Insights/diagnosticSettings on vaults to
// a fakeServer, as armapi answers them: PUT 200, DELETE 200 or 204, a
// missing vault 404, a missing storage account 400 InvalidStorageAccount,
// a vault lock 409 ScopeLocked. State is guarded by the fakeServer's mutex
// (held by auth).
type fakeDiagnostics struct {
	settings map[string]diagnosticSetting // by lower-case id
	vaults   map[string]bool              // lower-case vault ids
	accounts map[string]bool              // lower-case account ids
	locked   bool
	bodies   []string
}

const (
	diagVault   = "/subscriptions/sub-1/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv1"
	diagAccount = "/subscriptions/sub-1/resourceGroups/rg-prod/providers/Microsoft.Storage/storageAccounts/stlogs"
)

func newFakeDiagnostics(t *testing.T, f *fakeServer) *fakeDiagnostics {
	t.Helper()
	d := &fakeDiagnostics{settings: map[string]diagnosticSetting{},
		vaults: map[string]bool{strings.ToLower(diagVault): true}, accounts: map[string]bool{strings.ToLower(diagAccount): true}}
	var s diagnosticSetting
	s.ID, s.Name, s.Type = diagVault+"/providers/Microsoft.Insights/diagnosticSettings/audit-to-storage", "audit-to-storage", "Microsoft.Insights/diagnosticSettings"
	s.Properties.StorageAccountID = diagAccount
	s.Properties.Logs = []diagnosticLog{{CategoryGroup: "audit", Enabled: true}}
	s.Properties.Metrics = []diagnosticLog{{Category: "AllMetrics", Enabled: false}}
	d.settings[strings.ToLower(s.ID)] = s
	const vault = "management.localhost/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}/providers/Microsoft.Insights/diagnosticSettings"
	f.mux.HandleFunc("GET "+vault, f.auth(d.arm(d.list)))
	f.mux.HandleFunc(vault+"/{name}", f.auth(d.arm(d.serve)))
	return d
}

func (d *fakeDiagnostics) arm(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.bodies = append(d.bodies, string(b))
		if v := r.URL.Query().Get("api-version"); v != diagnosticsAPIVersion {
			armError(w, 400, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid.", v))
			return
		}
		vault := "/subscriptions/" + r.PathValue("sub") + "/resourceGroups/" + r.PathValue("rg") + "/providers/Microsoft.KeyVault/vaults/" + r.PathValue("vault")
		if !d.vaults[strings.ToLower(vault)] {
			armError(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+r.PathValue("vault")+"' under resource group '"+r.PathValue("rg")+"' was not found.")
			return
		}
		h(w, r)
	}
}

func (d *fakeDiagnostics) list(w http.ResponseWriter, r *http.Request) {
	out := []diagnosticSetting{}
	for _, k := range slices.Sorted(maps.Keys(d.settings)) {
		if strings.HasPrefix(k, strings.ToLower(r.URL.Path)+"/") {
			out = append(out, d.settings[k])
		}
	}
	writeJSON(w, 200, map[string]any{"value": out})
}

func (d *fakeDiagnostics) serve(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path
	s, ok := d.settings[strings.ToLower(id)]
	switch r.Method {
	case http.MethodGet:
		if !ok {
			armError(w, 404, "ResourceNotFound", "The diagnostic setting '"+r.PathValue("name")+"' doesn't exist.")
			return
		}
		writeJSON(w, 200, s)
	case http.MethodPut:
		var body diagnosticSetting
		if err := json.Unmarshal([]byte(d.bodies[len(d.bodies)-1]), &body); err != nil {
			armError(w, 400, "InvalidRequestContent", err.Error())
			return
		}
		if !d.accounts[strings.ToLower(body.Properties.StorageAccountID)] {
			armError(w, 400, "InvalidStorageAccount", "The storage account '"+body.Properties.StorageAccountID+"' was not found in this tenant.")
			return
		}
		body.ID, body.Name, body.Type = id, r.PathValue("name"), "Microsoft.Insights/diagnosticSettings"
		d.settings[strings.ToLower(id)] = body
		writeJSON(w, 200, body)
	case http.MethodDelete:
		if d.locked {
			armError(w, 409, "ScopeLocked", "The scope '"+id+"' cannot perform delete operation because following scope(s) are locked: '"+diagVault+"'.")
			return
		}
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(d.settings, strings.ToLower(id))
		w.WriteHeader(http.StatusOK)
	default:
		armError(w, 405, "MethodNotAllowed", "The requested method is not allowed on this resource.")
	}
}

func ds(args ...string) []string { return append([]string{"monitor", "diagnostic-settings"}, args...) }

var diagGoldenCases = []struct {
	name   string
	args   []string
	locked bool
}{
	{name: "monitor_help", args: ds()},
	{name: "monitor_create", args: ds("create", "-n", "to-storage", "--resource", diagVault, "--storage-account", diagAccount,
		"--logs", `[{"category":"AuditEvent","enabled":true,"retentionPolicy":{"enabled":false,"days":0}}]`)},
	{name: "monitor_create_json", args: ds("create", "-n", "to-storage", "--resource", diagVault, "--storage-account", "stlogs",
		"--logs", `[{"categoryGroup":"allLogs","enabled":true}]`, "--metrics", `[{"category":"AllMetrics","enabled":true}]`, "-o", "json")},
	{name: "monitor_create_missing_account", args: ds("create", "-n", "x", "--resource", diagVault, "--storage-account", "nosuchacct",
		"--logs", `[{"category":"AuditEvent","enabled":true}]`)},
	{name: "monitor_create_bad_logs", args: ds("create", "-n", "x", "--resource", diagVault, "--storage-account", "stlogs", "--logs", `{"category":"AuditEvent"}`)},
	{name: "monitor_create_no_entries", args: ds("create", "-n", "x", "--resource", diagVault, "--storage-account", "stlogs")},
	{name: "monitor_create_no_account", args: ds("create", "-n", "x", "--resource", diagVault, "--logs", `[]`)},
	{name: "monitor_show", args: ds("show", "-n", "audit-to-storage", "--resource", diagVault)},
	{name: "monitor_show_not_found", args: ds("show", "-n", "nope", "--resource", diagVault)},
	{name: "monitor_show_missing_vault", args: ds("show", "-n", "x", "--resource", strings.Replace(diagVault, "kv1", "kv9", 1))},
	{name: "monitor_show_bad_resource", args: ds("show", "-n", "x", "--resource", "vaults/kv1")},
	{name: "monitor_show_no_name", args: ds("show", "--resource", diagVault)},
	{name: "monitor_list", args: ds("list", "--resource", diagVault)},
	{name: "monitor_list_json", args: ds("list", "--resource", diagVault, "-o", "json")},
	{name: "monitor_list_no_resource", args: ds("list")},
	{name: "monitor_delete", args: ds("delete", "-n", "audit-to-storage", "--resource", diagVault)},
	{name: "monitor_delete_locked", args: ds("delete", "-n", "audit-to-storage", "--resource", diagVault), locked: true},
}

// TestMonitorGolden runs each case against fresh fakes and compares exit
// code, stdout and stderr with testdata/<name>.golden.
func TestMonitorGolden(t *testing.T) {
	for _, tc := range diagGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubSleep(t)
			stubTerminal(t, false, false)
			useConfigDir(t)
			fs := newFakeServer(t)
			newFakeARM(t, fs)
			d := newFakeDiagnostics(t, fs)
			d.locked = tc.locked
			mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
			r := runCLI(t, "", tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+fs.srv.Port, ":8443")
			golden(t, tc.name, got)
		})
	}
}

// TestMonitorCreateBody checks the PUT body: the storage account name is
// resolved in the vault's group, entries pass through as given.
func TestMonitorCreateBody(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	newFakeARM(t, fs)
	d := newFakeDiagnostics(t, fs)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	mustRun(t, "", ds("create", "-n", "s1", "--resource", diagVault, "--storage-account", "stlogs",
		"--logs", `[{"category":"AuditEvent","enabled":true,"retentionPolicy":{"enabled":true,"days":30}}]`)...)
	var m map[string]any
	if err := json.Unmarshal([]byte(d.bodies[len(d.bodies)-1]), &m); err != nil {
		t.Fatal(err)
	}
	want := `{"properties":{"logs":[{"category":"AuditEvent","enabled":true,"retentionPolicy":{"days":30,"enabled":true}}],"metrics":[],"storageAccountId":"` + diagAccount + `"}}`
	if got := jsonText(m); got != want {
		t.Errorf("create body\n got %s\nwant %s", got, want)
	}
}
