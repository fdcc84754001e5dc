package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/sensitive"
)

const (
	sub       = "00000000-0000-0000-0000-0000000000aa"
	aliceID   = "11111111-1111-1111-1111-111111111111"
	secretVal = "BITLOCKER-RECOVERY-123456-654321"
	keyVal    = "ACTIVATION-KEY-VALUE-XYZ"
	mgmtHost  = "management.localhost:8443"
	vaultHost = "vault.localhost:8443"
)

// fakeAuth knows one user, alice, with password "pw".
type fakeAuth struct{}

func (fakeAuth) SignIn(_ context.Context, name string, pw sensitive.String) (User, error) {
	if name == "alice" && pw.Reveal() == "pw" {
		return User{ObjectID: aliceID, Name: "alice"}, nil
	}
	return User{}, fmt.Errorf("wrapped: %w", ErrBadCredentials)
}

func (fakeAuth) Token(_ context.Context, oid string, aud Audience) (string, error) {
	return "tok-" + oid + "-" + string(aud), nil
}

// fakeAPI is the management and vault API as the portal sees it. It
// checks the bearer token of every call and answers from its fields.
type fakeAPI struct {
	mu       sync.Mutex
	calls    []string
	forbid   map[string]bool // path suffixes answered 403
	opStatus string          // the generate/sync operation's status
	lastStep string
	vault403 bool
	// unregistered: the edge provider is not registered until a register
	// call; lists and PUTs answer 409 MissingSubscriptionRegistration.
	unregistered bool
	lastQuery    url.Values // query of the last call
	revokeBody   []string   // the key ids of the last revokeActivationKeys
	sent         []string   // name=value of each sendSecret
	// ids are the request and correlation ids of each call, when the
	// API runs inside httpx.RequestIDs.
	ids [][2]string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.Host+r.URL.Path)
	f.lastQuery = r.URL.Query()
	f.ids = append(f.ids, [2]string{httpx.RequestID(r.Context()), r.Header.Get(httpx.HeaderCorrelationRequestID)})
	want := "Bearer tok-" + aliceID + "-management"
	if strings.HasSuffix(r.Host, "."+vaultHost) {
		want = "Bearer tok-" + aliceID + "-vault"
	}
	if r.Header.Get("Authorization") != want {
		writeErr(w, 401, "Unauthorized", "bad token "+r.Header.Get("Authorization"))
		return
	}
	for suffix := range f.forbid {
		if strings.HasSuffix(r.URL.Path, suffix) {
			writeErr(w, 403, "AuthorizationFailed", "The client does not have authorization to perform action.")
			return
		}
	}
	dev := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/dev1"
	p := r.URL.Path
	if strings.HasSuffix(p, "/providers/Microsoft.DataBoxEdge/register") {
		f.unregistered = false
		writeJSON(w, 200, map[string]any{"registrationState": "Registered"})
		return
	}
	if f.unregistered && strings.Contains(p, "/dataBoxEdgeDevices") {
		writeErr(w, 409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.DataBoxEdge'.")
		return
	}
	switch {
	case strings.HasSuffix(p, "/providers/Microsoft.KeyVault/checkNameAvailability"):
		var body struct{ Name, Type string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Name == "taken-kv" {
			writeJSON(w, 200, map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": "The vault name 'taken-kv' is already in use."})
		} else {
			writeJSON(w, 200, map[string]any{"nameAvailable": true})
		}
	case strings.HasSuffix(r.Host, "."+vaultHost):
		if f.vault403 {
			writeErr(w, 403, "Forbidden", "The user does not have secrets get permission on key vault 'kv1'.")
			return
		}
		writeJSON(w, 200, map[string]any{"value": secretVal, "id": "https://" + r.Host + p})
	case p == "/subscriptions":
		writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"subscriptionId": sub}}})
	case p == "/subscriptions/"+sub+"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices":
		writeJSON(w, 200, map[string]any{"value": []any{device(dev)}})
	case p == dev && r.Method == http.MethodGet:
		writeJSON(w, 200, device(dev))
	case strings.HasSuffix(p, "/dataBoxEdgeDevices/new1") && r.Method == http.MethodPut:
		writeJSON(w, 201, device(dev))
	case p == dev+"/getExtendedInformation":
		writeJSON(w, 200, map[string]any{"properties": map[string]any{"clientSecretStoreId": "/subscriptions/x/vaults/kv1",
			"keyVaultSyncStatus": "KeyVaultSynced", "deviceSecrets": map[string]any{"BitLockerRecoveryKey": map[string]any{}}}})
	case p == dev+"/generateActivationKey" || p == dev+"/syncDeviceSecrets" || p == dev+"/recoverKeyVault" ||
		(p == dev && r.Method == http.MethodDelete):
		w.Header().Set("Azure-AsyncOperation", "https://"+mgmtHost+"/subscriptions/"+sub+"/providers/Microsoft.Resources/operationStatuses/op1?api-version=2023-12-01")
		w.Header().Set("Location", "https://"+mgmtHost+"/subscriptions/"+sub+"/providers/Microsoft.Resources/operationResults/op1?api-version=2023-12-01")
		w.WriteHeader(202)
	case strings.HasSuffix(p, "/operationStatuses/op1"):
		st := map[string]any{"id": "op1", "status": f.opStatus}
		if f.lastStep != "" {
			st["properties"] = map[string]any{"lastCompletedStep": f.lastStep}
		}
		writeJSON(w, 200, st)
	case strings.HasSuffix(p, "/operationResults/op1"):
		writeJSON(w, 200, map[string]any{"activationKey": keyVal, "expiryTimeInUTC": "2026-12-01T00:00:00Z",
			"keyVaultId": "/subscriptions/x/vaults/kv1", "steps": []any{map[string]any{"name": "CreateKeyVault", "status": "Succeeded"}}})
	case p == dev+"/activationKeys":
		writeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"id": "k1", "createdAt": "2026-11-26T09:00:00Z", "createdBy": aliceID, "expiryTimeInUTC": "2026-11-29T09:00:00Z", "state": "Revoked", "revokedAt": "2026-11-27T09:00:00Z"},
			map[string]any{"id": "k2", "createdAt": "2026-11-27T09:00:00Z", "createdBy": aliceID, "expiryTimeInUTC": "2026-11-30T09:00:00Z", "state": "Unused"}}})
	case p == dev+"/revokeActivationKeys":
		var body struct{ KeyIDs []string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.revokeBody = body.KeyIDs
		writeJSON(w, 200, map[string]any{"revoked": []string{"k2"}})
	case p == dev+"/sendSecret":
		var body struct{ Name, Value string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Name == "bad-name" {
			writeErr(w, 400, "InvalidParameter", "The secret name must be 1 to 64 letters and digits, starting with a letter.")
			return
		}
		f.sent = append(f.sent, body.Name+"="+body.Value)
		writeJSON(w, 200, map[string]any{"id": "cs1", "name": body.Name, "state": "Queued"})
	case p == dev+"/reconfigureManagedIdentity":
		w.Header().Set("Azure-AsyncOperation", "https://"+mgmtHost+"/subscriptions/"+sub+"/providers/Microsoft.Resources/operationStatuses/op1?api-version=2023-12-01")
		w.WriteHeader(202)
	case p == dev+"/alerts":
		writeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"name": "a1", "properties": map[string]any{"title": "Device offline", "alertType": "DeviceOffline", "severity": "Warning", "appearedAtDateTime": "2026-11-27T08:00:00Z", "recommendation": "Check the device."}},
			map[string]any{"name": "a2", "properties": map[string]any{"title": "The key vault was deleted", "alertType": "KeyVaultDeleted", "severity": "Critical", "appearedAtDateTime": "2026-11-27T07:00:00Z", "recommendation": "Recover the key vault."}}}})
	case p == dev+"/securityOverview":
		writeJSON(w, 200, map[string]any{
			"keyVault":        map[string]any{"name": "kv1", "state": "Active", "uri": "https://kv1." + vaultHost + "/", "locks": []any{map[string]any{"name": "edgevault-protect", "level": "CanNotDelete"}}},
			"managedIdentity": map[string]any{"type": "SystemAssigned", "status": "Enabled", "secretPermissions": []string{"get", "set"}},
			"secrets": []any{map[string]any{"name": "BitLockerRecoveryKey",
				"keyVaultId": "https://kv1." + vaultHost + "/secrets/BitLockerRecoveryKey/abc123"}},
			"keyVaultSyncStatus": "KeyVaultSynced", "alerts": []any{}, "recoveryAction": "None"})
	default:
		writeErr(w, 404, "NotFound", "no route "+r.Method+" "+p)
	}
}

func device(id string) map[string]any {
	return map[string]any{"id": id, "name": "dev1", "location": "eastus", "sku": map[string]any{"name": "EdgeP_Base"},
		"identity":   map[string]any{"type": "SystemAssigned", "principalId": "pid-1"},
		"properties": map[string]any{"dataBoxEdgeDeviceStatus": "ReadyToSetup"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// browser drives the handler directly and keeps its cookies.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]string
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]string{}}
}

// do sends a request; form, if not nil, is posted.
func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "https://portal.localhost:8443"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for n, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return res, rec.Body.String()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token in page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", page)
	}
	return m[1]
}

type fixture struct {
	h   *Handler
	api *fakeAPI
	now time.Time
	mu  sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{api: &fakeAPI{forbid: map[string]bool{}, opStatus: "InProgress"}, now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	h, err := New(Config{Auth: fakeAuth{}, API: f.api, ManagementHost: mgmtHost, VaultHost: vaultHost, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// signIn signs alice in and returns the browser and the home page.
func (f *fixture) signIn(t *testing.T) (*browser, string) {
	t.Helper()
	b := newBrowser(t, f.h)
	_, page := b.do("GET", "/signin", nil)
	res, _ := b.do("POST", "/signin", url.Values{"csrf": {csrf(t, page)}, "username": {"alice"}, "password": {"pw"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, home := b.do("GET", "/", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET / after sign-in: %d\n%s", res.StatusCode, home)
	}
	return b, home
}
