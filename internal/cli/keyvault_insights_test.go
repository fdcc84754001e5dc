package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeInsights serves the Edgevault.Audit/insights route of the fake Key
// Vault with a canned answer for kv-prod, recording each query. Its state
// is guarded by the fakeServer's mutex (held by auth).
type fakeInsights struct{ queries []string }

func newFakeInsights(e *kvEnv) *fakeInsights {
	f := &fakeInsights{}
	const path = "management.localhost/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}/providers/Edgevault.Audit/insights"
	e.fs.mux.HandleFunc("GET "+path, e.fs.auth(e.k.arm(f.serve)))
	return f
}

func (f *fakeInsights) serve(w http.ResponseWriter, r *http.Request) {
	f.queries = append(f.queries, r.URL.RawQuery)
	switch strings.ToLower(r.PathValue("name")) {
	case "kv-prod":
		writeJSON(w, 200, map[string]any{
			"since": "2030-01-01T03:04:00Z", "until": "2030-01-02T03:05:00Z", "interval": "PT1H",
			"timeline": []any{
				map[string]any{"time": "2030-01-01T03:00:00Z", "operation": "SecretGet", "count": 120},
				map[string]any{"time": "2030-01-01T03:00:00Z", "operation": "SecretSet", "count": 2},
				map[string]any{"time": "2030-01-01T04:00:00Z", "operation": "SecretGet", "count": 96},
			},
			"failures": []any{map[string]any{"status": 403, "count": 3}, map[string]any{"status": 404, "count": 11}},
			"latency":  map[string]any{"p50Ms": 4, "p95Ms": 32, "p99Ms": 128},
			"topCallers": []any{map[string]any{"objectId": aliceObjectID, "count": 200},
				map[string]any{"objectId": adminObjectID, "count": 18}},
			"records": 218,
		})
	case "kv-old":
		writeJSON(w, 200, map[string]any{"since": "2030-01-01T03:04:00Z", "until": "2030-01-02T03:05:00Z", "interval": "PT1H",
			"timeline": []any{}, "failures": []any{}, "latency": map[string]any{"p50Ms": 0, "p95Ms": 0, "p99Ms": 0},
			"topCallers": []any{}, "records": 0})
	default:
		armError(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+r.PathValue("name")+"' was not found.")
	}
}

func TestKeyVaultInsightsGolden(t *testing.T) {
	for _, tc := range []kvCase{
		{name: "keyvault_insights", args: []string{"keyvault", "insights", "--name", "kv-prod"}},
		{name: "keyvault_insights_json", args: []string{"keyvault", "insights", "-n", "kv-prod", "-g", "rg-prod", "-o", "json"}},
		{name: "keyvault_insights_empty", args: []string{"keyvault", "insights", "--name", "kv-old"}},
		{name: "keyvault_insights_not_found", args: []string{"keyvault", "insights", "--name", "kv-none", "-g", "rg-prod"}},
		{name: "keyvault_insights_no_name", args: []string{"keyvault", "insights"}},
		{name: "keyvault_insights_bad_since", args: []string{"keyvault", "insights", "--name", "kv-prod", "--since", "yesterday"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubSleep(t)
			stubTerminal(t, false, false)
			e := newKVEnv(t, true)
			newFakeInsights(e)
			r := runCLI(t, tc.stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			golden(t, tc.name, strings.ReplaceAll(got, ":"+e.fs.srv.Port, ":8443"))
		})
	}
}

// TestKeyVaultInsightsRange: --since and --until become the route's
// query, relative to now; without them the server picks the range.
func TestKeyVaultInsightsRange(t *testing.T) {
	stubSleep(t)
	old := auditNow
	t.Cleanup(func() { auditNow = old })
	auditNow = func() time.Time { return fakeTime }
	e := newKVEnv(t, true)
	f := newFakeInsights(e)
	mustRun(t, "", "keyvault", "insights", "-n", "kv-prod", "-g", "rg-prod", "--since", "24h", "--until", "2030-01-02T04:00:00+01:00")
	mustRun(t, "", "keyvault", "insights", "-n", "kv-prod", "-g", "rg-prod")
	want := []url.Values{
		{"api-version": {keyVaultAPIVersion}, "since": {fakeTime.Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)},
			"until": {"2030-01-02T03:00:00Z"}},
		{"api-version": {keyVaultAPIVersion}},
	}
	if len(f.queries) != len(want) {
		t.Fatalf("queries %v", f.queries)
	}
	for i, q := range f.queries {
		got, err := url.ParseQuery(q)
		if err != nil || got.Encode() != want[i].Encode() {
			t.Errorf("query %d: %s, want %s", i, q, want[i].Encode())
		}
	}
	if r := runCLI(t, "", "keyvault", "insights", "-n", "kv-prod", "--since", "1h", "--until", "2h"); r.code == 0 {
		t.Errorf("--since after --until: exit 0")
	}
}
