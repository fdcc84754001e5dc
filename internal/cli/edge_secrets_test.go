package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeEdgeSecrets adds to a fakeServer the routes the edge secrets
// commands call: syncDeviceSecrets with its operation, getExtendedInformation,
// sendSecret, and the data plane of the device's vault kv-dbe-1. Its state
// is guarded by the fakeServer's mutex (held by auth).
type fakeEdgeSecrets struct {
	f          *fakeServer
	offline    bool       // syncDeviceSecrets answers 409 DeviceOffline
	syncPolls  int        // InProgress answers before the sync ends
	syncError  *errorBody // when set, the sync ends Failed with it
	retryAfter string     // Retry-After of each answer
	polls      int
	escrowed   map[string]string // device secret name → value, version v1
	forbidden  bool              // the vault refuses the read (no access policy)
	requests   []string
	sent       []map[string]string
}

// fakeVaultName is the device's vault.
const fakeVaultName = "kv-dbe-1"

func newFakeEdgeSecrets(t *testing.T) (*fakeServer, *fakeEdgeSecrets) {
	t.Helper()
	fs := newFakeServer(t)
	x := newFakeARM(t, fs)
	e := &fakeEdgeSecrets{f: fs, retryAfter: "1", escrowed: map[string]string{
		"SystemVolumeBitLockerRecoveryKey":  "123456-234567-345678-456789-567890-678901-789012-890123",
		"HcsDataVolumeBitLockerExternalKey": "data-volume-key-Qx7",
		"BMCDefaultUserPassword":            "bmc-Pa55-Zt4",
	}}
	const dev = "management.localhost" + edgeDeviceScope
	ops := x.base + "/subscriptions/sub-1/providers/Microsoft.DataBoxEdge/"
	fs.mux.HandleFunc("POST "+dev+"/syncDeviceSecrets", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		if e.offline {
			armError(w, 409, "DeviceOffline", "The device of edge resource 'dbe-1' has not been heard from since 2030-01-02T02:00:00Z; its secrets stay readable in the key vault, and it syncs when it is back online.")
			return
		}
		w.Header().Set("Azure-AsyncOperation", ops+"operationStatuses/sync-1?api-version="+edgeAPIVersion)
		w.Header().Set("Location", ops+"operationResults/sync-1?api-version="+edgeAPIVersion)
		w.Header().Set("Retry-After", e.retryAfter)
		w.WriteHeader(http.StatusAccepted)
	})))
	fs.mux.HandleFunc("GET management.localhost/subscriptions/sub-1/providers/Microsoft.DataBoxEdge/operationStatuses/sync-1", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		st := map[string]any{"id": "sync-1", "name": "sync-1", "status": "InProgress"}
		switch {
		case e.polls < e.syncPolls:
		case e.syncError != nil:
			st["status"], st["error"] = "Failed", e.syncError
		default:
			st["status"] = "Succeeded"
		}
		e.polls++
		w.Header().Set("Retry-After", e.retryAfter)
		writeJSON(w, 200, st)
	})))
	fs.mux.HandleFunc("GET management.localhost/subscriptions/sub-1/providers/Microsoft.DataBoxEdge/operationResults/sync-1", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"keyVaultSyncStatus": "KeyVaultSynced", "lastSyncTime": "2030-01-02T03:04:05.5Z", "deviceSecrets": e.refs()})
	})))
	fs.mux.HandleFunc("POST "+dev+"/getExtendedInformation", fs.auth(e.log(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"id": edgeDeviceScope, "name": "dbe-1", "type": "Microsoft.DataBoxEdge/dataBoxEdgeDevices",
			"properties": map[string]any{
				"clientSecretStoreId":     "/subscriptions/sub-1/resourceGroups/rg-edge/providers/Microsoft.KeyVault/vaults/" + fakeVaultName,
				"clientSecretStoreUrl":    "https://" + fakeVaultName + ".vault.localhost:" + fs.srv.Port + "/",
				"channelIntegrityKeyName": "ase-cik-0f0e", "channelIntegrityKeyVersion": "0123456789abcdef0123456789abcdef",
				"keyVaultSyncStatus": "KeyVaultSynced", "deviceSecrets": e.refs(), "resourceKey": "", "clusterWitnessType": "None"}})
	})))
	fs.mux.HandleFunc("POST "+dev+"/sendSecret", fs.auth(e.log(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		e.sent = append(e.sent, body)
		writeJSON(w, 200, map[string]string{"id": "5d0c4c52-0000-4000-8000-000000000001", "name": body["name"], "state": "Queued"})
	})))
	fs.mux.HandleFunc("GET "+fakeVaultName+".vault.localhost/secrets/{name}/{version}", fs.auth(e.log(e.getSecret)))
	dir := useConfigDir(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	// The vault audience gets the server's port, as a real server's has.
	p, err := LoadProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.VaultAudience = fs.srv.URLFor("vault.localhost")
	if err := p.Save(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	return fs, e
}

// refs is deviceSecrets: every escrowed secret at version v1.
func (e *fakeEdgeSecrets) refs() map[string]deviceSecretRef {
	out := map[string]deviceSecretRef{}
	for name := range e.escrowed {
		out[name] = deviceSecretRef{KeyVaultID: "secrets/" + name + "/" + fakeSecretVersion}
	}
	return out
}

const fakeSecretVersion = "9f3c0e0d5b7a4e2c8d1f6a4b3c2d1e0f"

// getSecret is the vault's GET of a secret version, refused when the
// caller has no access policy, as kvapi refuses it.
func (e *fakeEdgeSecrets) getSecret(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", "kv-req-7")
	if v := r.URL.Query().Get("api-version"); v != vaultAPIVersion {
		kvError(w, 400, "BadParameter", "", "The specified version ("+v+") is not recognized.")
		return
	}
	if e.forbidden {
		kvError(w, 403, "Forbidden", "AccessDenied", "The user, group or application 'appid=edgevault-cli;oid="+adminObjectID+
			";iss=https://login.localhost/tenant-1/v2.0' does not have secrets get permission on key vault '"+fakeVaultName+";location=westeurope'.")
		return
	}
	name, version := r.PathValue("name"), r.PathValue("version")
	v, ok := e.escrowed[name]
	if !ok || version != fakeSecretVersion {
		kvError(w, 404, "SecretNotFound", "", "A secret with (name/id) "+name+"/"+version+" was not found in this key vault.")
		return
	}
	writeJSON(w, 200, map[string]any{"id": "https://" + r.Host + "/secrets/" + name + "/" + version, "value": v,
		"attributes": map[string]any{"enabled": true, "created": fakeTime.Unix(), "updated": fakeTime.Unix()}})
}

func (e *fakeEdgeSecrets) log(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.requests = append(e.requests, r.Method+" "+r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		h(w, r)
	}
}

func es(args ...string) []string {
	return append(append([]string{"edge"}, args...), "-n", "dbe-1", "-g", "rg-edge")
}

// TestEdgeSecretsGolden checks what the secrets commands print: a sync
// waited for, one refused or failed because the device is offline, the
// escrow listed without values, a value revealed or refused by the vault,
// a customer secret sent, and the value sources refused.
func TestEdgeSecretsGolden(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wifi := write("wifi", "wifi-Pa55-Rk2")
	empty := write("empty", "")
	big := write("big", strings.Repeat("x", 16<<10+1))
	exact := write("exact", strings.Repeat("y", 16<<10))
	offline := &errorBody{Code: "DeviceOffline", Message: "The device did not push its secrets within 10m0s; it syncs when it is back online."}
	for _, tc := range []struct {
		name      string
		setup     func(e *fakeEdgeSecrets)
		stdin     string
		args      []string
		sends     int // sendSecret requests expected
		mayReveal string
	}{
		{name: "edge_secrets_sync", setup: func(e *fakeEdgeSecrets) { e.syncPolls = 3 }, args: es("secrets", "sync")},
		{name: "edge_secrets_sync_slow", setup: func(e *fakeEdgeSecrets) { e.syncPolls, e.retryAfter = 8, "5" }, args: es("secrets", "sync", "-o", "json")},
		{name: "edge_secrets_sync_no_wait", args: es("secrets", "sync", "--no-wait")},
		{name: "edge_secrets_sync_offline", setup: func(e *fakeEdgeSecrets) { e.offline = true }, args: es("secrets", "sync")},
		{name: "edge_secrets_sync_failed", setup: func(e *fakeEdgeSecrets) { e.syncPolls, e.syncError = 2, offline }, args: es("secrets", "sync")},
		{name: "edge_secrets_show", args: es("secrets", "show")},
		{name: "edge_secrets_show_json", args: es("secrets", "show", "-o", "json")},
		{name: "edge_secrets_show_reveal", args: es("secrets", "show", "--reveal", "SystemVolumeBitLockerRecoveryKey"),
			mayReveal: "SystemVolumeBitLockerRecoveryKey"},
		{name: "edge_secrets_show_reveal_json", args: es("secrets", "show", "--reveal", "bmcdefaultuserpassword", "-o", "json"),
			mayReveal: "BMCDefaultUserPassword"},
		{name: "edge_secrets_show_reveal_forbidden", setup: func(e *fakeEdgeSecrets) { e.forbidden = true },
			args: es("secrets", "show", "--reveal", "SystemVolumeBitLockerRecoveryKey")},
		{name: "edge_secrets_show_reveal_not_escrowed", args: es("secrets", "show", "--reveal", "HcsInternalVolumeBitLockerExternalKey")},
		{name: "edge_secret_send", args: es("secret", "send", "--secret", "WifiPassword", "--value-file", wifi), sends: 1},
		{name: "edge_secret_send_stdin_json", stdin: "wifi-Pa55-Rk2\n", args: es("secret", "send", "--secret", "WifiPassword", "--value-stdin", "-o", "json"), sends: 1},
		{name: "edge_secret_send_exact_limit", args: es("secret", "send", "--secret", "Big", "--value-file", exact), sends: 1},
		{name: "edge_secret_send_empty", args: es("secret", "send", "--secret", "WifiPassword", "--value-file", empty)},
		{name: "edge_secret_send_empty_stdin", stdin: "\n", args: es("secret", "send", "--secret", "WifiPassword", "--value-stdin")},
		{name: "edge_secret_send_oversize", args: es("secret", "send", "--secret", "WifiPassword", "--value-file", big)},
		{name: "edge_secret_send_no_source", args: es("secret", "send", "--secret", "WifiPassword")},
		{name: "edge_secret_send_both_sources", args: es("secret", "send", "--secret", "WifiPassword", "--value-file", wifi, "--value-stdin")},
		{name: "edge_secret_send_value_flag", args: es("secret", "send", "--secret", "WifiPassword", "--value", "wifi-Pa55-Rk2")},
		{name: "edge_secret_send_bad_name", args: es("secret", "send", "--secret", "wifi-password", "--value-file", wifi)},
		{name: "edge_secret_send_missing_file", args: es("secret", "send", "--secret", "WifiPassword", "--value-file", filepath.Join(dir, "none"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stubSleep(t)
			stubTerminal(t, false, false)
			fs, e := newFakeEdgeSecrets(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := runCLI(t, tc.stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.ReplaceAll(got, ":"+fs.srv.Port, ":8443")
			got = strings.ReplaceAll(got, dir, "/tmp/values")
			got = strings.ReplaceAll(got, strings.Repeat("y", 16<<10), "<16384 bytes>")
			golden(t, tc.name, got)
			for name, v := range e.escrowed {
				if name != tc.mayReveal && strings.Contains(r.stdout+r.stderr, v) {
					t.Errorf("the value of %s is printed", name)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "wifi-Pa55-Rk2") {
				t.Errorf("the value sent is printed")
			}
			if len(e.sent) != tc.sends {
				t.Errorf("%d sendSecret requests, want %d (%v)", len(e.sent), tc.sends, e.requests)
			}
		})
	}
}

// TestEdgeSecretSendBody checks what send posts: the name and the value,
// the file's exact content or stdin without its final line ending.
func TestEdgeSecretSendBody(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(p, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{args: []string{"--value-file", p}, want: "line one\nline two\n"},
		{stdin: "from stdin\r\n", args: []string{"--value-stdin"}, want: "from stdin"},
		{stdin: "two\n\n", args: []string{"--value-stdin"}, want: "two\n"},
	} {
		_, e := newFakeEdgeSecrets(t)
		mustRun(t, tc.stdin, append(es("secret", "send", "--secret", "Wifi2"), tc.args...)...)
		if len(e.sent) != 1 || e.sent[0]["name"] != "Wifi2" || e.sent[0]["value"] != tc.want {
			t.Errorf("%v: sent %q, want value %q", tc.args, e.sent, tc.want)
		}
	}
}

func TestSplitKeyVaultID(t *testing.T) {
	for id, ok := range map[string]bool{
		"secrets/SystemVolumeBitLockerRecoveryKey/" + fakeSecretVersion: true,
		"secrets/ase-cik-0f0e/0123":                                     true,
		"secrets/a/":                                                    false,
		"secrets/../x":                                                  false,
		"keys/a/b":                                                      false,
		"secrets/a/b/c":                                                 false,
		"secrets/a%2F/b":                                                false,
		"secrets/a/b?x=1":                                               false,
		"":                                                              false,
	} {
		if _, _, got := splitKeyVaultID(id); got != ok {
			t.Errorf("splitKeyVaultID(%q) ok = %v, want %v", id, got, ok)
		}
	}
}
