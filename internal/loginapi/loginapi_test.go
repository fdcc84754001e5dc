package loginapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/loginapi"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/token"
)

const (
	authority = "https://login.localhost:8443/"
	mgmt      = "https://management.localhost:8443"
)

type fixture struct {
	h      http.Handler
	tokens *token.Service
	boot   bootstrap.File
}

// newFixture wires the handler to real services over a real SQLite store.
func newFixture(t testing.TB) fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.New(envelope.Config{RootKeyFile: filepath.Join(dir, "root.key"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := identity.New(identity.Config{Store: st, Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	tokens, _ := token.New(token.Config{Store: st, Sealer: kr, AuthorityHost: authority})
	if err := tokens.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrap.Run(ctx, bootstrap.Config{Store: st, Identity: ids, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	f, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		t.Fatal(err)
	}
	h := loginapi.New(loginapi.Config{Tokens: tokens, Identities: ids, Tenants: st, AuthorityHost: authority,
		Audiences: []string{mgmt, "https://vault.localhost:8443"}})
	return fixture{h: h, tokens: tokens, boot: f}
}

func (f fixture) post(t testing.TB, path, ctype, body string, basic ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	if len(basic) == 2 {
		r.SetBasicAuth(basic[0], basic[1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestClientCredentialsBasicAuth(t *testing.T) {
	f := newFixture(t)
	sp := f.boot.ServicePrincipal
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {mgmt + "//.default"}}
	w := f.post(t, "/"+f.boot.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded; charset=utf-8",
		form.Encode(), url.QueryEscape(sp.ClientID), url.QueryEscape(sp.ClientSecret))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var resp struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Refresh     string `json:"refresh_token"`
		TokenType   string `json:"token_type"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &resp)
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 3600 || resp.Refresh != "" {
		t.Errorf("response = %+v", resp)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("token response is cacheable")
	}
	// "//.default" (Entra's trailing-slash form) maps to the canonical audience.
	if _, err := f.tokens.Validate(context.Background(), resp.AccessToken, token.Expect{Audience: mgmt}); err != nil {
		t.Fatal(err)
	}
	// Both a form secret and Basic: ambiguous, refused.
	form.Set("client_secret", sp.ClientSecret)
	w = f.post(t, "/"+f.boot.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", form.Encode(), sp.ClientID, sp.ClientSecret)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_request") {
		t.Errorf("two client auth methods: %d %s", w.Code, w.Body)
	}
}

func TestDiscoveryAndKeys(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("GET", "/"+f.boot.TenantID+"/v2.0/.well-known/openid-configuration", nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
		t.Fatalf("discovery: %d %v", w.Code, err)
	}
	// MSAL Go requires these three; MSAL JS also jwks_uri (reference §2.5).
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"} {
		if s, _ := doc[k].(string); !strings.HasPrefix(s, authority+f.boot.TenantID) {
			t.Errorf("%s = %v", k, doc[k])
		}
	}
	r = httptest.NewRequest("GET", "/"+f.boot.TenantID+"/discovery/v2.0/keys", nil)
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"kty":"RSA"`) || strings.Contains(w.Body.String(), `"d":`) {
		t.Errorf("keys: %d %s", w.Code, w.Body)
	}
	r = httptest.NewRequest("GET", "/"+principal.NewID()+"/v2.0/.well-known/openid-configuration", nil)
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "Tenant not found") {
		t.Errorf("unknown tenant discovery: %d %s", w.Code, w.Body)
	}
}

// FuzzTokenEndpoint: no request body, content type or Basic header makes
// the token endpoint answer 5xx or anything but OAuth JSON.
func FuzzTokenEndpoint(f *testing.F) {
	fx := newFixture(f)
	sp := fx.boot.ServicePrincipal
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.ClientID},
		"client_secret": {sp.ClientSecret}, "scope": {mgmt + "/.default"}}.Encode()
	f.Add("application/x-www-form-urlencoded", good, "", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=password&client_id="+principal.CLIClientID+"&username=admin&password=x&scope="+url.QueryEscape(mgmt+"/.default offline_access"), "", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=evrt_x", principal.CLIClientID, "")
	f.Add("multipart/form-data; boundary=x", "--x--", "", "")
	f.Add("application/x-www-form-urlencoded", "%", "a:b", "c")
	f.Fuzz(func(t *testing.T, ctype, body, user, pass string) {
		var w *httptest.ResponseRecorder
		if user != "" {
			w = fx.post(t, "/"+fx.boot.TenantID+"/oauth2/v2.0/token", ctype, body, user, pass)
		} else {
			w = fx.post(t, "/"+fx.boot.TenantID+"/oauth2/v2.0/token", ctype, body)
		}
		if w.Code >= 500 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		var resp map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("not JSON: %s", w.Body)
		}
		if _, ok := resp["access_token"]; !ok && resp["error"] == nil {
			t.Fatalf("neither a token nor an error: %s", w.Body)
		}
	})
}
