package cli

import (
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSecretSetBody checks the body of set for each value source: the
// file's exact content, stdin without one final line ending, attributes
// always carrying enabled, contentType and tags only when given.
func TestSecretSetBody(t *testing.T) {
	e := newKVEnv(t, true)
	writeTestFile(t, e.path("v"), "file-value-A1\n")
	mustRun(t, "", "keyvault", "secret", "set", "--vault-name", "kv-prod", "-n", "s1", "--file", e.path("v"))
	if got, want := jsonText(e.lastBody(t, "/secrets/s1")), `{"attributes":{"enabled":true},"value":"file-value-A1\n"}`; got != want {
		t.Errorf("file: got %s, want %s", got, want)
	}
	mustRun(t, "stdin-value-B2\r\n", "keyvault", "secret", "set", "--vault-name", "KV-PROD", "-n", "s2", "--value-stdin",
		"--content-type", "text/plain", "--tags", "a=b", "--expires", "2031-01-01T00:00:00Z")
	want := `{"attributes":{"enabled":true,"exp":1924992000},"contentType":"text/plain","tags":{"a":"b"},"value":"stdin-value-B2"}`
	if got := jsonText(e.lastBody(t, "/secrets/s2")); got != want {
		t.Errorf("stdin: got %s, want %s", got, want)
	}
	big := strings.Repeat("x", maxSecretValue+1)
	if r := runCLI(t, big, "keyvault", "secret", "set", "--vault-name", "kv-prod", "-n", "s3", "--value-stdin"); r.code != 1 ||
		!strings.Contains(r.stderr, "larger than the 25600 bytes") {
		t.Errorf("oversized value: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestSecretRequests checks the data-plane wire: host-routed vault URLs,
// api-version on every request (nextLinks included), the trailing slash
// of the current version, and tokens for the vault audience.
func TestSecretRequests(t *testing.T) {
	e := newKVEnv(t, true)
	mustRun(t, "", "keyvault", "secret", "show", "--vault-name", "kv-prod", "-n", "api-key")
	mustRun(t, "", "keyvault", "secret", "list", "--vault-name", "kv-prod")
	mustRun(t, "", "keyvault", "secret", "delete", "--vault-name", "kv-prod", "-n", "api-key")
	mustRun(t, "", "keyvault", "secret", "recover", "--vault-name", "kv-prod", "-n", "api-key")
	e.fs.mu.Lock()
	defer e.fs.mu.Unlock()
	host := "kv-prod.vault.localhost:" + e.fs.srv.Port
	want := []string{
		"GET " + host + "/secrets/api-key/?api-version=2025-07-01",
		"GET " + host + "/secrets?api-version=2025-07-01",
		"GET " + host + "/secrets?api-version=2025-07-01&$skiptoken=2&maxresults=2",
		"DELETE " + host + "/secrets/api-key?api-version=2025-07-01",
		"POST " + host + "/deletedsecrets/api-key/recover?api-version=2025-07-01",
	}
	var got []string
	for _, r := range e.k.requests {
		if strings.Contains(r, ".vault.localhost") {
			got = append(got, r)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
	if aud := e.fs.srv.URLFor("vault.localhost"); !slices.Contains(e.fs.audiences, aud) {
		t.Errorf("no token was granted for %s: %q", aud, e.fs.audiences)
	}
}

// TestSecretBackupFile checks backup writes the blob's bytes to a new
// 0600 file, and restore sends them back as base64url without padding.
func TestSecretBackupFile(t *testing.T) {
	e := newKVEnv(t, true)
	path := e.path("b.bak")
	mustRun(t, "", "keyvault", "secret", "backup", "--vault-name", "kv-prod", "-n", "db-password", "--file", path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "\x29\xfaAzureKeyVaultSecretBackupV1") {
		t.Errorf("backup file holds %q, want the blob's bytes", b)
	}
	mustRun(t, "", "keyvault", "secret", "delete", "--vault-name", "kv-prod", "-n", "db-password")
	mustRun(t, "", "keyvault", "secret", "purge", "--vault-name", "kv-prod", "-n", "db-password")
	r := mustRun(t, "", "keyvault", "secret", "restore", "--vault-name", "kv-prod", "--file", path, "-o", "json")
	if !strings.Contains(r.stdout, `"name": "db-password"`) {
		t.Errorf("restore printed %s", r.stdout)
	}
	if got, want := jsonText(e.lastBody(t, "/secrets/restore")), `{"value":"`+base64.RawURLEncoding.EncodeToString(b)+`"}`; got != want {
		t.Errorf("restore body %s, want %s", got, want)
	}
	// A failed backup leaves no file behind.
	if r := runCLI(t, "", "keyvault", "secret", "backup", "--vault-name", "kv-prod", "-n", "nope", "--file", e.path("c.bak")); r.code != 1 {
		t.Errorf("backup of a missing secret: exit %d", r.code)
	}
	if _, err := os.Stat(e.path("c.bak")); !os.IsNotExist(err) {
		t.Errorf("failed backup left a file: %v", err)
	}
}

// TestSecretForeignNextLink checks that a nextLink off the vault host is
// refused before any request is sent there with the token.
func TestSecretForeignNextLink(t *testing.T) {
	e := newKVEnv(t, true)
	for _, link := range []string{
		e.fs.srv.URLFor("evil.localhost") + "/secrets?api-version=2025-07-01&$skiptoken=2",
		e.fs.srv.URLFor("kv-dev.vault.localhost") + "/secrets?api-version=2025-07-01&$skiptoken=2",
		"http://kv-prod.vault.localhost:" + e.fs.srv.Port + "/secrets?$skiptoken=2",
	} {
		e.fs.mu.Lock()
		e.k.nextLink = link
		e.fs.mu.Unlock()
		r := runCLI(t, "", "keyvault", "secret", "list", "--vault-name", "kv-prod")
		if r.code != 1 || !strings.Contains(r.stderr, "refusing to follow nextLink") {
			t.Errorf("%s: exit %d, stderr %q", link, r.code, r.stderr)
		}
	}
	e.fs.mu.Lock()
	defer e.fs.mu.Unlock()
	if e.x.foreignHits != 0 {
		t.Errorf("the foreign host was called %d times", e.x.foreignHits)
	}
	for _, r := range e.k.requests {
		if strings.HasPrefix(r, "GET kv-dev.") {
			t.Errorf("another vault was called: %s", r)
		}
	}
}

// TestSecretNextLinkWithoutAPIVersion checks a relative nextLink that
// lacks api-version gets the CLI's.
func TestSecretNextLinkWithoutAPIVersion(t *testing.T) {
	e := newKVEnv(t, true)
	e.fs.mu.Lock()
	e.k.nextLink = "/secrets?$skiptoken=2"
	e.fs.mu.Unlock()
	r := mustRun(t, "", "keyvault", "secret", "list", "--vault-name", "kv-prod", "-o", "json")
	if n := strings.Count(r.stdout, `"name"`); n != 4 {
		t.Errorf("listed %d secrets, want 4:\n%s", n, r.stdout)
	}
}

// TestKeyVaultNoSecretsInOutput runs every keyvault command in both output
// formats, through success and failure, and checks that no password,
// token or client secret appears in any output, and no secret value
// except the one `secret show` prints on stdout.
func TestKeyVaultNoSecretsInOutput(t *testing.T) {
	stubSleep(t)
	stubTerminal(t, false, false)
	e := newKVEnv(t, true)
	writeTestFile(t, e.path("v"), "file-value-L1")
	var outputs []string
	var shown []result
	run := func(stdin string, args ...string) result {
		r := runCLI(t, stdin, args...)
		if len(args) > 2 && args[1] == "secret" && args[2] == "show" {
			shown = append(shown, r)
			outputs = append(outputs, r.stderr)
		} else {
			outputs = append(outputs, r.stdout, r.stderr)
		}
		return r
	}
	for i, o := range []string{"table", "json"} {
		bak := e.path("bak-" + o)
		for _, args := range [][]string{
			{"create", "-n", "kv-leak-" + o, "-g", "rg-dev", "-l", "westeurope"},
			{"show", "-n", "kv-prod"}, {"list"}, {"list-deleted"},
			{"set-policy", "-n", "kv-prod", "--assignee", "alice", "--secret-permissions", "all"},
			{"delete-policy", "-n", "kv-prod", "--assignee", "alice"},
			{"secret", "set", "--vault-name", "kv-prod", "-n", "s-" + o, "--value", "flag-value-L2"},
			{"secret", "set", "--vault-name", "kv-prod", "-n", "s-" + o, "--file", e.path("v")},
			{"secret", "list", "--vault-name", "kv-prod"},
			{"secret", "list-versions", "--vault-name", "kv-prod", "-n", "db-password"},
			{"secret", "list-deleted", "--vault-name", "kv-prod"},
			{"secret", "backup", "--vault-name", "kv-prod", "-n", "api-key", "--file", bak},
			{"secret", "delete", "--vault-name", "kv-prod", "-n", "api-key"},
			{"secret", "set", "--vault-name", "kv-prod", "-n", "api-key", "--value", "flag-value-L3"},
			{"secret", "list-deleted", "--vault-name", "kv-prod"},
			{"secret", "recover", "--vault-name", "kv-prod", "-n", "api-key"},
			{"secret", "delete", "--vault-name", "kv-prod", "-n", "api-key"},
			{"secret", "purge", "--vault-name", "kv-prod", "-n", "api-key"},
			{"secret", "restore", "--vault-name", "kv-prod", "--file", bak},
			{"secret", "show", "--vault-name", "kv-prod", "-n", "disabled-one"},
			{"secret", "show", "--vault-name", "kv-locked", "-n", "x"},
			{"delete", "-n", "kv-leak-" + o},
			{"recover", "-n", "kv-leak-" + o},
		} {
			run("", append(append([]string{"keyvault"}, args...), "-o", o)...)
		}
		run("stdin-value-L4\n", "keyvault", "secret", "set", "--vault-name", "kv-prod", "-n", "s-"+o, "--value-stdin", "-o", o)
		for _, name := range []string{"api-key", "db-password", "ssh-key", "s-" + o} {
			run("", "keyvault", "secret", "show", "--vault-name", "kv-prod", "-n", name, "-o", o)
		}
		if len(shown) != 6*(i+1) {
			t.Fatalf("%d show runs", len(shown))
		}
	}
	e.fs.mu.Lock()
	values := append(slices.Clone(e.k.values), "file-value-L1", "flag-value-L2", "flag-value-L3", "stdin-value-L4")
	e.fs.mu.Unlock()
	slices.Sort(values)
	values = slices.Compact(values)
	secrets := e.fs.allSecrets()
	if len(secrets) < 5 || len(values) < 10 {
		t.Fatalf("only %d secrets and %d values; the test did not exercise the server", len(secrets), len(values))
	}
	for i, out := range outputs {
		for _, s := range slices.Concat(secrets, values) {
			if strings.Contains(out, s) {
				t.Errorf("output %d leaks %q:\n%s", i, s, out)
			}
		}
	}
	for _, r := range shown {
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) {
				t.Errorf("secret show leaks %q:\n%s", s, r.stdout)
			}
		}
		var vs []string
		for _, v := range values {
			if strings.Contains(r.stdout, v) || strings.Contains(r.stdout, strings.ReplaceAll(v, "\n", `\n`)) {
				vs = append(vs, v)
			}
		}
		if len(vs) > 1 || (r.code == 0) != (len(vs) == 1) {
			t.Errorf("secret show (exit %d) shows values %q, want exactly its own:\n%s", r.code, vs, r.stdout)
		}
	}
}

func TestVaultURL(t *testing.T) {
	tests := []struct{ audience, want string }{
		{"https://vault.localhost:8443", "https://kv1.vault.localhost:8443"},
		{"https://vault.example.test", "https://kv1.vault.example.test"},
		{"https://vault.example.test/", "https://kv1.vault.example.test"},
		{"", ""},
		{"http://vault.localhost:8443", ""},
		{"https://vault.localhost/tenant", ""},
		{"https://user@vault.localhost", ""},
		{"vault.localhost", ""},
	}
	for _, tt := range tests {
		u, err := vaultURL(tt.audience, "KV1")
		got := ""
		if err == nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("vaultURL(%q) = %q, %v; want %q", tt.audience, got, err, tt.want)
		}
	}
}

func TestVaultErrorText(t *testing.T) {
	tests := []struct {
		e    vaultError
		want string
	}{
		{vaultError{Status: 403, Code: "Forbidden", InnerCode: "AccessDenied", Message: "no"}, "(Forbidden/AccessDenied) no"},
		{vaultError{Status: 404, Code: "SecretNotFound", Message: "gone", RequestID: "r1"}, "(SecretNotFound) gone (request id r1)"},
		{vaultError{Status: 500}, "Internal Server Error"},
		{vaultError{Status: 409, InnerCode: "X", Message: "m"}, "(X) m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	h := `Bearer authorization="https://login.example/t1", resource="https://vault.example:8443"`
	if got := challengeParam(h, "resource"); got != "https://vault.example:8443" {
		t.Errorf("resource %q", got)
	}
	if got := challengeParam(h, "scope"); got != "" {
		t.Errorf("scope %q", got)
	}
	if got := challengeParam(`Basic realm="x"`, "realm"); got != "" {
		t.Errorf("basic %q", got)
	}
}
