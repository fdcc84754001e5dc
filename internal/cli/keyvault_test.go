package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// kvEnv is a CLI signed in as the bootstrap administrator against a fake
// server with ARM and Key Vault routes.
type kvEnv struct {
	fs  *fakeServer
	x   *fakeARM
	k   *fakeKV
	dir string // the CLI's config directory
	tmp string // scratch directory for files the commands read and write
	jwt string // the management token, a JWT whose oid is the admin's
}

// newKVEnv starts the fakes and signs in. The bootstrap's vault audience
// gets the server's port, as a real server's has (config.VaultAudience),
// and the management token becomes a JWT, as the real issuer's are.
func newKVEnv(t *testing.T, jwt bool) *kvEnv {
	t.Helper()
	e := &kvEnv{dir: useConfigDir(t), tmp: t.TempDir()}
	e.fs = newFakeServer(t)
	e.x = newFakeARM(t, e.fs)
	e.k = newFakeKV(t, e.fs, e.x)
	mustRun(t, "", "login", "--bootstrap", e.fs.bootstrapFile)
	p, err := LoadProfile(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.VaultAudience = e.fs.srv.URLFor("vault.localhost")
	if jwt {
		e.jwt = fakeJWT(map[string]any{"aud": mgmtAudience, "oid": adminObjectID, "tid": "tenant-1", "jti": "jwt-id-5e1f"})
		e.fs.mu.Lock()
		e.fs.access[e.jwt] = true
		e.fs.secrets = append(e.fs.secrets, e.jwt)
		e.fs.mu.Unlock()
		p.Tokens[mgmtAudience] = CachedToken{AccessToken: sensitive.New(e.jwt), ExpiresOn: time.Now().Add(time.Hour)}
	}
	if err := p.Save(e.dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	return e
}

// fakeJWT returns an unsigned-looking JWT with the given claims.
func fakeJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "kid-1"}) + "." + enc(claims) + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
}

// path returns a path in the scratch directory.
func (e *kvEnv) path(name string) string { return filepath.Join(e.tmp, name) }

// kvCase is one golden run of a keyvault command. TMP/ in an argument is
// the scratch directory; setup prepares the fakes or files.
type kvCase struct {
	name  string
	stdin string
	args  []string
	setup func(t *testing.T, e *kvEnv)
}

func kv(args ...string) []string { return append([]string{"keyvault"}, args...) }

func sec(args ...string) []string { return append([]string{"keyvault", "secret"}, args...) }

var kvGoldenCases = []kvCase{
	{name: "keyvault_help", args: kv()},
	{name: "keyvault_create", args: kv("create", "-n", "kv-new", "-g", "rg-dev", "-l", "westeurope", "--tags", "env=dev")},
	{name: "keyvault_create_json", args: kv("create", "-n", "kv-new", "-g", "rg-dev", "-l", "westeurope", "--sku", "Premium",
		"--retention-days", "30", "--enable-purge-protection", "-o", "json")},
	{name: "keyvault_create_no_self_perms", args: kv("create", "-n", "kv-new", "-g", "rg-dev", "-l", "westeurope", "--no-self-perms")},
	{name: "keyvault_create_async", args: kv("create", "-n", "kv-async1", "-g", "rg-dev", "-l", "westeurope")},
	{name: "keyvault_create_async_no_wait", args: kv("create", "-n", "kv-async1", "-g", "rg-dev", "-l", "westeurope", "--no-wait")},
	{name: "keyvault_create_dns", args: kv("create", "-n", "kv-dns1", "-g", "rg-dev", "-l", "westeurope")},
	{name: "keyvault_create_exists", args: kv("create", "-n", "kv-prod", "-g", "rg-prod", "-l", "westeurope")},
	{name: "keyvault_create_taken", args: kv("create", "-n", "kv-prod", "-g", "rg-dev", "-l", "westeurope")},
	{name: "keyvault_create_deleted_name", args: kv("create", "-n", "kv-old", "-g", "rg-dev", "-l", "westeurope")},
	{name: "keyvault_create_no_group", args: kv("create", "-n", "kv-new", "-g", "rg-none", "-l", "westeurope")},
	{name: "keyvault_create_bad_name", args: kv("create", "-n", "1kv--x", "-g", "rg-dev", "-l", "westeurope")},
	{name: "keyvault_create_no_location", args: kv("create", "-n", "kv-new", "-g", "rg-dev")},
	{name: "keyvault_create_bad_retention", args: kv("create", "-n", "kv-new", "-g", "rg-dev", "-l", "westeurope", "--retention-days", "6")},
	{name: "keyvault_create_bad_sku", args: kv("create", "-n", "kv-new", "-g", "rg-dev", "-l", "westeurope", "--sku", "gold")},
	{name: "keyvault_show", args: kv("show", "-n", "kv-prod", "-g", "rg-prod")},
	{name: "keyvault_show_json", args: kv("show", "-n", "kv-prod", "-o", "json")},
	{name: "keyvault_show_lookup", args: kv("show", "-n", "KV-DEV")},
	{name: "keyvault_show_not_found", args: kv("show", "-n", "kv-none")},
	{name: "keyvault_show_wrong_group", args: kv("show", "-n", "kv-prod", "-g", "rg-dev")},
	{name: "keyvault_list", args: kv("list")},
	{name: "keyvault_list_json", args: kv("list", "-o", "json")},
	{name: "keyvault_list_group", args: kv("list", "-g", "rg-prod")},
	{name: "keyvault_list_no_group", args: kv("list", "-g", "rg-none")},
	{name: "keyvault_delete", args: kv("delete", "-n", "kv-edge")},
	{name: "keyvault_delete_not_found", args: kv("delete", "-n", "kv-none", "-g", "rg-dev")},
	{name: "keyvault_list_deleted", args: kv("list-deleted")},
	{name: "keyvault_list_deleted_json", args: kv("list-deleted", "-o", "json")},
	{name: "keyvault_recover", args: kv("recover", "-n", "kv-old")},
	{name: "keyvault_recover_json", args: kv("recover", "-n", "kv-old", "-l", "northeurope", "-g", "rg-edge", "-o", "json")},
	{name: "keyvault_recover_not_found", args: kv("recover", "-n", "kv-prod")},
	{name: "keyvault_purge", args: kv("purge", "-n", "kv-old")},
	{name: "keyvault_purge_lro", args: kv("purge", "-n", "kv-lro-old", "-l", "westeurope")},
	{name: "keyvault_purge_no_wait_json", args: kv("purge", "-n", "kv-lro-old", "--no-wait", "-o", "json")},
	{name: "keyvault_purge_wrong_location", args: kv("purge", "-n", "kv-old", "-l", "westeurope")},
	{name: "keyvault_set_policy", args: kv("set-policy", "-n", "kv-edge", "--assignee", "alice", "--secret-permissions", "get", "list", "SET")},
	{name: "keyvault_set_policy_json", args: kv("set-policy", "-n", "kv-prod", "--object-id", aliceObjectID, "--secret-permissions", "set,delete", "-o", "json")},
	{name: "keyvault_set_policy_sp", args: kv("set-policy", "-n", "kv-prod", "-g", "rg-prod", "--assignee", bootSPID, "--secret-permissions", "all")},
	{name: "keyvault_set_policy_bad_permission", args: kv("set-policy", "-n", "kv-prod", "--object-id", aliceObjectID, "--secret-permissions", "get", "sign")},
	{name: "keyvault_set_policy_no_permissions", args: kv("set-policy", "-n", "kv-prod", "--object-id", aliceObjectID)},
	{name: "keyvault_set_policy_no_principal", args: kv("set-policy", "-n", "kv-prod", "--secret-permissions", "get")},
	{name: "keyvault_set_policy_stray_arg", args: kv("set-policy", "get", "-n", "kv-prod", "--object-id", aliceObjectID)},
	{name: "keyvault_set_policy_unknown_assignee", args: kv("set-policy", "-n", "kv-prod", "--assignee", "mallory", "--secret-permissions", "get")},
	{name: "keyvault_delete_policy", args: kv("delete-policy", "-n", "kv-prod", "--assignee", "alice")},
	{name: "keyvault_delete_policy_json", args: kv("delete-policy", "-n", "kv-prod", "--object-id", adminObjectID, "-o", "json")},
	{name: "keyvault_delete_policy_none", args: kv("delete-policy", "-n", "kv-edge", "--object-id", aliceObjectID)},

	{name: "secret_help", args: sec()},
	{name: "secret_set_stdin", stdin: "from-stdin-value-R4\n", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--value-stdin")},
	{name: "secret_set_file_json", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--file", "TMP/value.txt", "-o", "json"),
		setup: func(t *testing.T, e *kvEnv) { writeTestFile(t, e.path("value.txt"), "from-file-value-F5\n") }},
	{name: "secret_set_value_attrs", args: sec("set", "--vault-name", "kv-prod", "-n", "db-password", "--value", "flag-value-V6",
		"--content-type", "text/plain", "--tags", "team=db", "--disabled", "--not-before", "2030-01-01T00:00:00Z", "--expires", "2031-06-30T12:00:00+02:00")},
	{name: "secret_set_no_value", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one")},
	{name: "secret_set_two_sources", stdin: "x\n", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--value", "flag-value-V6", "--value-stdin")},
	{name: "secret_set_bad_name", args: sec("set", "--vault-name", "kv-prod", "-n", "bad_name", "--value-stdin")},
	{name: "secret_set_bad_expires", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--value-stdin", "--expires", "tomorrow")},
	{name: "secret_set_no_vault", args: sec("set", "-n", "new-one", "--value-stdin")},
	{name: "secret_set_deleted", stdin: "x-value\n", args: sec("set", "--vault-name", "kv-prod", "-n", "old-token", "--value-stdin")},
	{name: "secret_set_missing_file", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--file", "TMP/none.txt")},
	{name: "secret_set_binary_file", args: sec("set", "--vault-name", "kv-prod", "-n", "new-one", "--file", "TMP/bin"),
		setup: func(t *testing.T, e *kvEnv) { writeTestFile(t, e.path("bin"), "\xff\xfe\x00") }},
	{name: "secret_show", args: sec("show", "--vault-name", "kv-prod", "-n", "api-key")},
	{name: "secret_show_json", args: sec("show", "--vault-name", "kv-prod", "-n", "ssh-key", "-o", "json")},
	{name: "secret_show_multiline", args: sec("show", "--vault-name", "kv-prod", "-n", "ssh-key")},
	{name: "secret_show_version", args: sec("show", "--vault-name", "kv-prod", "-n", "db-password", "--version", fmt.Sprintf("%032x", 2))},
	{name: "secret_show_disabled", args: sec("show", "--vault-name", "kv-prod", "-n", "disabled-one")},
	{name: "secret_show_not_found", args: sec("show", "--vault-name", "kv-prod", "-n", "nope")},
	{name: "secret_show_bad_version", args: sec("show", "--vault-name", "kv-prod", "-n", "api-key", "--version", "../x")},
	{name: "secret_show_unauthorized", args: sec("show", "--vault-name", "kv-locked", "-n", "api-key")},
	{name: "secret_list", args: sec("list", "--vault-name", "kv-prod")},
	{name: "secret_list_json", args: sec("list", "--vault-name", "kv-prod", "-o", "json")},
	{name: "secret_list_empty", args: sec("list", "--vault-name", "kv-edge")},
	{name: "secret_list_versions", args: sec("list-versions", "--vault-name", "kv-prod", "-n", "db-password")},
	{name: "secret_list_versions_json", args: sec("list-versions", "--vault-name", "kv-prod", "-n", "api-key", "-o", "json")},
	{name: "secret_delete", args: sec("delete", "--vault-name", "kv-prod", "-n", "api-key")},
	{name: "secret_delete_json", args: sec("delete", "--vault-name", "kv-prod", "-n", "api-key", "-o", "json")},
	{name: "secret_delete_not_found", args: sec("delete", "--vault-name", "kv-prod", "-n", "old-token")},
	{name: "secret_list_deleted", args: sec("list-deleted", "--vault-name", "kv-prod")},
	{name: "secret_list_deleted_json", args: sec("list-deleted", "--vault-name", "kv-prod", "-o", "json")},
	{name: "secret_recover", args: sec("recover", "--vault-name", "kv-prod", "-n", "old-token")},
	{name: "secret_recover_json", args: sec("recover", "--vault-name", "kv-prod", "-n", "old-token", "-o", "json")},
	{name: "secret_recover_not_found", args: sec("recover", "--vault-name", "kv-prod", "-n", "api-key")},
	{name: "secret_purge", args: sec("purge", "--vault-name", "kv-prod", "-n", "old-token")},
	{name: "secret_purge_not_found", args: sec("purge", "--vault-name", "kv-prod", "-n", "api-key")},
	{name: "secret_backup", args: sec("backup", "--vault-name", "kv-prod", "-n", "api-key", "--file", "TMP/api-key.bak")},
	{name: "secret_backup_exists", args: sec("backup", "--vault-name", "kv-prod", "-n", "api-key", "--file", "TMP/taken"),
		setup: func(t *testing.T, e *kvEnv) { writeTestFile(t, e.path("taken"), "keep me") }},
	{name: "secret_backup_no_file", args: sec("backup", "--vault-name", "kv-prod", "-n", "api-key")},
	{name: "secret_restore", args: sec("restore", "--vault-name", "kv-edge", "--file", "TMP/api-key.bak"), setup: backupAPIKey},
	{name: "secret_restore_json", args: sec("restore", "--vault-name", "kv-edge", "--file", "TMP/api-key.bak", "-o", "json"), setup: backupAPIKey},
	{name: "secret_restore_conflict", args: sec("restore", "--vault-name", "kv-prod", "--file", "TMP/api-key.bak"), setup: backupAPIKey},
}

// backupAPIKey backs up kv-prod's api-key to TMP/api-key.bak.
func backupAPIKey(t *testing.T, e *kvEnv) {
	mustRun(t, "", "keyvault", "secret", "backup", "--vault-name", "kv-prod", "-n", "api-key", "--file", e.path("api-key.bak"))
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeyVaultGolden runs each case against fresh fakes and compares exit
// code, stdout and stderr with testdata/<name>.golden. Waits are recorded,
// not slept.
func TestKeyVaultGolden(t *testing.T) {
	for _, tc := range kvGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubSleep(t)
			stubTerminal(t, false, false)
			e := newKVEnv(t, true)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "TMP/", e.tmp+"/")
			}
			r := runCLI(t, tc.stdin, args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			got = strings.NewReplacer(":"+e.fs.srv.Port, ":8443", e.tmp, "/tmp/kv").Replace(got)
			golden(t, tc.name, got)
		})
	}
}

// lastBody returns the last request body the fake Key Vault received
// whose request line contains substr, decoded.
func (e *kvEnv) lastBody(t *testing.T, substr string) map[string]any {
	t.Helper()
	e.fs.mu.Lock()
	defer e.fs.mu.Unlock()
	for i := len(e.k.requests) - 1; i >= 0; i-- {
		r := e.k.requests[i]
		if e.k.bodies[i] != "" && strings.Contains(r, substr) {
			var m map[string]any
			if err := json.Unmarshal([]byte(e.k.bodies[i]), &m); err != nil {
				t.Fatalf("body of %s: %v", r, err)
			}
			return m
		}
	}
	t.Fatalf("no request with a body matches %q: %q", substr, e.k.requests)
	return nil
}

// jsonText marshals v compactly, for comparisons.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestKeyVaultCreateBody checks the PUT body of create: the profile's
// tenant, the caller's object id from the JWT with az's secret
// permissions, retention, sku, createMode, and purge protection only
// when asked for.
func TestKeyVaultCreateBody(t *testing.T) {
	e := newKVEnv(t, true)
	mustRun(t, "", "keyvault", "create", "-n", "kv-a", "-g", "rg-dev", "-l", "westeurope")
	got := jsonText(e.lastBody(t, "/vaults/kv-a"))
	want := `{"location":"westeurope","properties":{"accessPolicies":[{"objectId":"` + adminObjectID + `","permissions":{"secrets":` +
		`["get","list","set","delete","backup","restore","recover"]},"tenantId":"tenant-1"}],"createMode":"default",` +
		`"sku":{"family":"A","name":"standard"},"softDeleteRetentionInDays":90,"tenantId":"tenant-1"},"tags":{}}`
	if got != want {
		t.Errorf("create body\n got %s\nwant %s", got, want)
	}
	mustRun(t, "", "keyvault", "create", "-n", "kv-b", "-g", "rg-dev", "-l", "westeurope", "--enable-purge-protection", "--no-self-perms", "--retention-days", "7")
	got = jsonText(e.lastBody(t, "/vaults/kv-b"))
	want = `{"location":"westeurope","properties":{"accessPolicies":[],"createMode":"default","enablePurgeProtection":true,` +
		`"sku":{"family":"A","name":"standard"},"softDeleteRetentionInDays":7,"tenantId":"tenant-1"},"tags":{}}`
	if got != want {
		t.Errorf("create body\n got %s\nwant %s", got, want)
	}
}

// TestKeyVaultCreateOpaqueToken checks that, when the management token
// is not a JWT, the caller's object id comes from the directory: the
// user's by user name, a service principal's by client id.
func TestKeyVaultCreateOpaqueToken(t *testing.T) {
	e := newKVEnv(t, false)
	mustRun(t, "", "keyvault", "create", "-n", "kv-a", "-g", "rg-dev", "-l", "westeurope")
	if got := jsonText(e.lastBody(t, "/vaults/kv-a")); !strings.Contains(got, `"objectId":"`+adminObjectID+`"`) {
		t.Errorf("user: body %s lacks the admin's object id", got)
	}
	mustRun(t, "", "login", "--bootstrap", e.fs.bootstrapFile, "--service-principal")
	p, err := LoadProfile(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.VaultAudience = e.fs.srv.URLFor("vault.localhost")
	if err := p.Save(e.dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "keyvault", "create", "-n", "kv-b", "-g", "rg-dev", "-l", "westeurope")
	if got := jsonText(e.lastBody(t, "/vaults/kv-b")); !strings.Contains(got, `"objectId":"obj-0"`) {
		t.Errorf("service principal: body %s lacks obj-0", got)
	}
}

// TestKeyVaultPolicyBodies checks set-policy sends one entry to
// accessPolicies/add, and delete-policy sends the principal's whole
// entry to accessPolicies/remove.
func TestKeyVaultPolicyBodies(t *testing.T) {
	e := newKVEnv(t, true)
	mustRun(t, "", "keyvault", "set-policy", "-n", "kv-edge", "--assignee", "alice", "--secret-permissions", "get,LIST", "set", "get")
	want := `{"properties":{"accessPolicies":[{"objectId":"` + aliceObjectID + `","permissions":{"secrets":["get","list","set"]},"tenantId":"tenant-1"}]}}`
	if got := jsonText(e.lastBody(t, "/vaults/kv-edge/accessPolicies/add")); got != want {
		t.Errorf("add body\n got %s\nwant %s", got, want)
	}
	mustRun(t, "", "keyvault", "delete-policy", "-n", "kv-prod", "--object-id", strings.ToUpper(aliceObjectID))
	want = `{"properties":{"accessPolicies":[{"objectId":"` + aliceObjectID + `","permissions":{"keys":["get"],"secrets":["get","list"]},"tenantId":"tenant-1"}]}}`
	if got := jsonText(e.lastBody(t, "/vaults/kv-prod/accessPolicies/remove")); got != want {
		t.Errorf("remove body\n got %s\nwant %s", got, want)
	}
}

// TestKeyVaultRecoverBody checks recover PUTs createMode "recover" in the
// deleted vault's location and resource group.
func TestKeyVaultRecoverBody(t *testing.T) {
	e := newKVEnv(t, true)
	mustRun(t, "", "keyvault", "recover", "-n", "kv-lro-old")
	want := `{"location":"westeurope","properties":{"createMode":"recover","sku":{"family":"A","name":"standard"},"tenantId":"tenant-1"},"tags":{"owner":"ops"}}`
	if got := jsonText(e.lastBody(t, "/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-lro-old")); got != want {
		t.Errorf("recover body\n got %s\nwant %s", got, want)
	}
}

func TestTokenObjectID(t *testing.T) {
	oid := "A0000000-0000-4000-8000-00000000000F"
	jwt := fakeJWT(map[string]any{"oid": oid})
	parts := strings.Split(jwt, ".")
	tests := []struct {
		name, tok, want string
	}{
		{"jwt", jwt, strings.ToLower(oid)},
		{"padded payload", parts[0] + "." + parts[1] + "==." + parts[2], strings.ToLower(oid)},
		{"opaque", "access-token-1-q7", ""},
		{"two parts", parts[0] + "." + parts[1], ""},
		{"bad base64", parts[0] + ".!!!." + parts[2], ""},
		{"not json", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("oid")) + "." + parts[2], ""},
		{"no oid", fakeJWT(map[string]any{"sub": "x"}), ""},
		{"oid with slash", fakeJWT(map[string]any{"oid": "a/b"}), ""},
	}
	for _, tt := range tests {
		if got := tokenObjectID(sensitive.New(tt.tok)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidateVaultName(t *testing.T) {
	for name, ok := range map[string]bool{
		"kv1": true, "KV-prod-01": true, "abcdefghijklmnopqrstuvwx": true,
		"": false, "kv": false, "abcdefghijklmnopqrstuvwxy": false, "1kv": false, "-kv": false,
		"kv-": false, "kv--1": false, "kv_1": false, "kv.1": false, "kv/1": false,
	} {
		if err := validateVaultName("name", name); (err == nil) != ok {
			t.Errorf("validateVaultName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
