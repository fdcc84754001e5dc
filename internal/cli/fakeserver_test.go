package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/client/clienttest"
)

// Credentials of the fake server's bootstrap principals.
const (
	adminUser     = "admin"
	adminPassword = "admin-Pa55word-7f3e"
	bootSPID      = "11111111-2222-3333-4444-555555555555"
	bootSPSecret  = "bootstrap-sp-secret-9c1d"
	mgmtAudience  = "https://management.localhost"
)

// fakeTime is the fixed time the fake server stamps on everything.
var fakeTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeServer stands in for an edgevault server's token endpoint and admin
// API, on login.localhost and management.localhost.
type fakeServer struct {
	srv           *clienttest.Server
	mux           *http.ServeMux // more routes may be added (fakearm_test.go)
	bootstrapFile string

	mu        sync.Mutex
	users     map[string]string       // user name → password
	sps       map[string]*fakeSPEntry // client id → service principal
	refresh   map[string]string       // live refresh token → user name
	access    map[string]bool         // live access tokens
	secrets   []string                // every token and secret issued
	grants    map[string]int          // grant_type → number of successful grants
	audiences []string                // the audience of every grant, in order
	seq       int
	expiresIn int
}

type fakeSPEntry struct {
	servicePrincipal
	secret string
}

// newFakeServer starts a fake server and writes its bootstrap.json.
func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{
		users:     map[string]string{adminUser: adminPassword, "alice": "alice-pw-4b2a"},
		refresh:   map[string]string{},
		access:    map[string]bool{},
		grants:    map[string]int{},
		expiresIn: 3599,
		secrets:   []string{adminPassword, "alice-pw-4b2a", bootSPSecret},
	}
	f.sps = map[string]*fakeSPEntry{bootSPID: {servicePrincipal: servicePrincipal{
		ClientID: bootSPID, ObjectID: "obj-0", DisplayName: "bootstrap", CreatedAt: fakeTime, SecretCreatedAt: fakeTime,
	}, secret: bootSPSecret}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST login.localhost/{tenant}/oauth2/v2.0/token", f.token)
	mux.HandleFunc("GET management.localhost/edgevault/admin/servicePrincipals", f.auth(f.listSPs))
	mux.HandleFunc("POST management.localhost/edgevault/admin/servicePrincipals", f.auth(f.createSP))
	mux.HandleFunc("DELETE management.localhost/edgevault/admin/servicePrincipals/{id}", f.auth(f.deleteSP))
	mux.HandleFunc("POST management.localhost/edgevault/admin/servicePrincipals/{id}/resetSecret", f.auth(f.resetSP))
	mux.HandleFunc("POST management.localhost/edgevault/admin/signingKeys/rotate", f.auth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"kid": "kid-2", "previousKid": "kid-1", "previousRetiresAt": fakeTime.Add(24 * time.Hour)})
	}))
	mux.HandleFunc("POST management.localhost/edgevault/admin/rootKey/rotate", f.auth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"rootKeyId": "rk-2"}) // as armapi answers
	}))
	f.mux = mux
	f.srv = clienttest.NewServer(t, mux)
	f.bootstrapFile = filepath.Join(t.TempDir(), "bootstrap.json")
	bs := map[string]any{
		"tenantId": "tenant-1", "subscriptionId": "sub-1",
		"authorityHost":      f.srv.URLFor("login.localhost") + "/",
		"managementEndpoint": f.srv.URLFor("management.localhost"),
		"managementAudience": mgmtAudience,
		"vaultAudience":      "https://vault.localhost", "storageAudience": "https://storage.localhost",
		"deviceEndpoint": f.srv.URLFor("device.localhost"), "portalUrl": f.srv.URLFor("portal.localhost"),
		"caCertFile":       f.srv.CAFile,
		"admin":            map[string]string{"username": adminUser, "password": adminPassword},
		"servicePrincipal": map[string]string{"clientId": bootSPID, "clientSecret": bootSPSecret, "objectId": "obj-0"},
	}
	b, _ := json.Marshal(bs)
	if err := os.WriteFile(f.bootstrapFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// issue records and returns a new secret value with prefix.
func (f *fakeServer) issue(prefix string) string {
	f.seq++
	s := fmt.Sprintf("%s-%d-q7", prefix, f.seq)
	f.secrets = append(f.secrets, s)
	return s
}

// oauthError writes an Azure AD-style error.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{50126},
		"trace_id": "trace-1", "correlation_id": "corr-1"})
}

// token is the token endpoint: password, refresh_token (rotating) and
// client_credentials grants.
func (f *fakeServer) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PathValue("tenant") != "tenant-1" {
		oauthError(w, 400, "invalid_request", "AADSTS90002: Tenant not found.")
		return
	}
	grant, scope := r.PostFormValue("grant_type"), r.PostFormValue("scope")
	aud, rest, _ := strings.Cut(scope, "/.default")
	user, ok := "", false
	switch grant {
	case "password":
		user = r.PostFormValue("username")
		pw, found := f.users[user]
		ok = found && pw == r.PostFormValue("password") && r.PostFormValue("client_id") == client.CLIClientID && rest == " offline_access"
	case "refresh_token":
		user, ok = f.refresh[r.PostFormValue("refresh_token")]
		delete(f.refresh, r.PostFormValue("refresh_token")) // rotation: one use only
		ok = ok && r.PostFormValue("client_id") == client.CLIClientID && rest == " offline_access"
	case "client_credentials":
		sp, found := f.sps[r.PostFormValue("client_id")]
		ok = found && sp.secret == r.PostFormValue("client_secret") && rest == ""
	}
	if !ok {
		oauthError(w, 400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password.")
		return
	}
	f.grants[grant]++
	f.audiences = append(f.audiences, aud)
	at := f.issue("access-token")
	f.access[at] = true
	resp := map[string]any{"token_type": "Bearer", "access_token": at, "expires_in": f.expiresIn, "ext_expires_in": f.expiresIn, "scope": scope}
	if grant != "client_credentials" {
		rt := f.issue("refresh-token")
		f.refresh[rt] = user
		resp["refresh_token"] = rt
	}
	writeJSON(w, 200, resp)
}

// auth requires a bearer token the server issued.
func (f *fakeServer) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("x-ms-request-id", "req-42")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !f.access[tok] {
			armError(w, 401, "InvalidAuthenticationToken", "The access token is invalid.")
			return
		}
		h(w, r)
	}
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeServer) listSPs(w http.ResponseWriter, _ *http.Request) {
	ids := slices.Sorted(maps.Keys(f.sps))
	list := []servicePrincipal{}
	for _, id := range ids {
		list = append(list, f.sps[id].servicePrincipal)
	}
	writeJSON(w, 200, map[string]any{"value": list})
}

func (f *fakeServer) createSP(w http.ResponseWriter, r *http.Request) {
	var in struct{ DisplayName string }
	if json.NewDecoder(r.Body).Decode(&in) != nil || in.DisplayName == "" {
		armError(w, 400, "InvalidRequestContent", "displayName is required.")
		return
	}
	n := len(f.sps)
	sp := &fakeSPEntry{servicePrincipal: servicePrincipal{
		ClientID: fmt.Sprintf("client-%d", n), ObjectID: fmt.Sprintf("obj-%d", n),
		DisplayName: in.DisplayName, CreatedAt: fakeTime, SecretCreatedAt: fakeTime,
	}, secret: f.issue("new-client-secret")}
	f.sps[sp.ClientID] = sp
	writeJSON(w, 201, spSecretJSON{servicePrincipal: sp.servicePrincipal, ClientSecret: sp.secret})
}

func (f *fakeServer) deleteSP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := f.sps[id]; !ok {
		armError(w, 404, "NotFound", fmt.Sprintf("Service principal '%s' was not found.", id))
		return
	}
	delete(f.sps, id)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeServer) resetSP(w http.ResponseWriter, r *http.Request) {
	sp, ok := f.sps[r.PathValue("id")]
	if !ok {
		armError(w, 404, "NotFound", fmt.Sprintf("Service principal '%s' was not found.", r.PathValue("id")))
		return
	}
	sp.secret = f.issue("reset-client-secret")
	sp.SecretCreatedAt = fakeTime.Add(time.Hour)
	writeJSON(w, 200, spSecretJSON{servicePrincipal: sp.servicePrincipal, ClientSecret: sp.secret})
}

// allSecrets returns every secret the server knows or issued.
func (f *fakeServer) allSecrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.secrets)
}

// grantCount returns the number of successful grants of a type.
func (f *fakeServer) grantCount(grant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grants[grant]
}

// result is the outcome of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the CLI in-process with args and stdin.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	code := execute(t.Context(), root)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("edgevault %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// useConfigDir points the CLI at a fresh config directory and returns it.
func useConfigDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "config")
	t.Setenv(ConfigDirEnv, dir)
	return dir
}
