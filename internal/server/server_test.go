package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/token"
)

// testArgon2 keeps password hashing cheap in tests.
var testArgon2 = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// running is an in-process server for a test.
type running struct {
	*Server
	boot bootstrap.File
	http *http.Client
	stop func()
}

// startServer runs a server on a free loopback port with its data in dir.
func startServer(t *testing.T, dir string) *running {
	t.Helper()
	cfg := config.Config{DataDir: dir, Listen: "127.0.0.1:0", DNSSuffix: "localhost", LogFormat: "text", LogLevel: "warn"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Stdout: io.Discard, Stderr: io.Discard, Argon2: testArgon2, Ready: func(s *Server) { ready <- s }})
	}()
	var s *Server
	select {
	case s = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	f, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: f.CACertFile, OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	return &running{Server: s, boot: f, http: hc, stop: stop}
}

func TestBootstrapFile(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	path := filepath.Join(dir, bootstrap.FileName)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap.json: %v, mode %v", err, info.Mode())
	}
	var fields map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tenantId", "subscriptionId", "authorityHost", "managementEndpoint", "managementAudience",
		"vaultAudience", "storageAudience", "deviceEndpoint", "portalUrl", "caCertFile", "admin", "servicePrincipal"} {
		if v, ok := fields[k]; !ok || v == "" {
			t.Errorf("bootstrap.json lacks %s", k)
		}
	}
	f := srv.boot
	port := srv.Endpoints().Port
	if want := "https://login.localhost:" + itoa(port) + "/"; f.AuthorityHost != want {
		t.Errorf("authorityHost = %s, want %s", f.AuthorityHost, want)
	}
	if !filepath.IsAbs(f.CACertFile) || f.Admin.Username != "admin" || f.Admin.Password == "" ||
		!principal.ValidID(f.ServicePrincipal.ClientID) || !strings.HasPrefix(f.ServicePrincipal.ClientSecret, "evcs_") {
		t.Errorf("bootstrap.json = %+v", f)
	}

	// A restart never re-bootstraps or changes the file.
	srv.stop()
	again := startServer(t, dir)
	b2, _ := os.ReadFile(path)
	if !bytes.Equal(b, b2) || again.boot.TenantID != f.TenantID {
		t.Error("restart changed bootstrap.json")
	}
}

// TestAzidentity is the acceptance test of the issuer: an unmodified
// azidentity.ClientSecretCredential gets a token our validator accepts.
func TestAzidentity(t *testing.T) {
	srv := startServer(t, t.TempDir())
	f := srv.boot
	ctx := context.Background()
	cred, err := azidentity.NewClientSecretCredential(f.TenantID, f.ServicePrincipal.ClientID, f.ServicePrincipal.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: f.AuthorityHost},
				Transport: srv.http,
			},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	mgmt, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{f.ManagementAudience + "/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	claims, err := srv.tokens.Validate(ctx, mgmt.Token, token.Expect{Audience: f.ManagementAudience, TenantID: f.TenantID})
	if err != nil {
		t.Fatalf("our validator refused the SDK's token: %v", err)
	}
	if claims.ObjectID != f.ServicePrincipal.ObjectID || claims.AppID != f.ServicePrincipal.ClientID || claims.IDType != token.App {
		t.Errorf("claims = %+v", claims)
	}
	if until := time.Until(mgmt.ExpiresOn); until < 50*time.Minute || until > 61*time.Minute {
		t.Errorf("token expires in %v, want about 1h", until)
	}

	// Refusals.
	vault, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{f.VaultAudience + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	expired := srv.issueAt(t, time.Now().Add(-2*time.Hour), claims)
	refusals := map[string]struct {
		raw  string
		want error
	}{
		"another audience": {vault.Token, token.ErrAudience},
		"expired":          {expired, token.ErrExpired},
		"alg none":         {algNone(t, mgmt.Token), token.ErrMalformed},
		"unknown key":      {foreignSigned(t, f.AuthorityHost, claims), token.ErrUnknownKey},
	}
	for name, tc := range refusals {
		if _, err := srv.tokens.Validate(ctx, tc.raw, token.Expect{Audience: f.ManagementAudience}); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	// A wrong secret is an authentication error, not a crash.
	bad, _ := azidentity.NewClientSecretCredential(f.TenantID, f.ServicePrincipal.ClientID, "evcs_wrong",
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.AuthorityHost}, Transport: srv.http},
			DisableInstanceDiscovery: true,
		})
	_, err = bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{f.ManagementAudience + "/.default"}})
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}

// TestTokenEndpointBadInput: every malformed token request gets an OAuth
// error with a 4xx status, and the server keeps serving.
func TestTokenEndpointBadInput(t *testing.T) {
	srv := startServer(t, t.TempDir())
	f := srv.boot
	endpoint := f.AuthorityHost + f.TenantID + "/oauth2/v2.0/token"
	scope := f.ManagementAudience + "/.default"
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	sp := f.ServicePrincipal
	tests := []struct {
		name, url, ctype, body string
		status                 int
		code                   string
	}{
		{"no grant", endpoint, "", form("client_id", sp.ClientID), 400, "invalid_request"},
		{"bad grant", endpoint, "", form("grant_type", "authorization_code", "client_id", sp.ClientID), 400, "unsupported_grant_type"},
		{"json body", endpoint, "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"broken form", endpoint, "", "%zz=%", 400, "invalid_request"},
		{"repeated param", endpoint, "", form("grant_type", "client_credentials", "grant_type", "password"), 400, "invalid_request"},
		{"no secret", endpoint, "", form("grant_type", "client_credentials", "client_id", sp.ClientID, "scope", scope), 401, "invalid_client"},
		{"wrong secret", endpoint, "", form("grant_type", "client_credentials", "client_id", sp.ClientID, "client_secret", "nope", "scope", scope), 401, "invalid_client"},
		{"unknown scope", endpoint, "", form("grant_type", "client_credentials", "client_id", sp.ClientID, "client_secret", sp.ClientSecret, "scope", "https://graph.microsoft.com/.default"), 400, "invalid_scope"},
		{"no scope", endpoint, "", form("grant_type", "client_credentials", "client_id", sp.ClientID, "client_secret", sp.ClientSecret), 400, "invalid_scope"},
		{"two resources", endpoint, "", form("grant_type", "client_credentials", "client_id", sp.ClientID, "client_secret", sp.ClientSecret, "scope", scope+" "+f.VaultAudience+"/.default"), 400, "invalid_scope"},
		{"wrong password", endpoint, "", form("grant_type", "password", "client_id", principal.CLIClientID, "username", "admin", "password", "wrong", "scope", scope), 400, "invalid_grant"},
		{"password by confidential client", endpoint, "", form("grant_type", "password", "client_id", sp.ClientID, "username", "admin", "password", f.Admin.Password, "scope", scope), 400, "unauthorized_client"},
		{"bad refresh token", endpoint, "", form("grant_type", "refresh_token", "client_id", principal.CLIClientID, "refresh_token", "x", "scope", scope), 400, "invalid_grant"},
		{"unknown tenant", f.AuthorityHost + principal.NewID() + "/oauth2/v2.0/token", "", form("grant_type", "client_credentials"), 400, "invalid_request"},
		{"tenant not a GUID", f.AuthorityHost + "common/oauth2/v2.0/token", "", form("grant_type", "client_credentials"), 400, "invalid_request"},
		{"oversized body", endpoint, "", "grant_type=client_credentials&x=" + strings.Repeat("a", 70<<10), 413, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			resp, err := srv.http.Post(tt.url, ct, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Code             string `json:"error"`
				ErrorDescription string `json:"error_description"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body.Code != tt.code {
				t.Errorf("status %d error %q, want %d %q (%s)", resp.StatusCode, body.Code, tt.status, tt.code, body.ErrorDescription)
			}
			if resp.Header.Get("x-ms-request-id") == "" {
				t.Error("no x-ms-request-id")
			}
		})
	}
	// Still serving.
	resp, err := srv.http.Get(f.ManagementEndpoint + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after bad input: %v", err)
	}
	resp.Body.Close()
}

// TestPasswordAndRefreshGrants walks the CLI's sign-in: password grant with
// offline_access, then refresh with rotation.
func TestPasswordAndRefreshGrants(t *testing.T) {
	srv := startServer(t, t.TempDir())
	f := srv.boot
	tc := &client.TokenClient{HTTP: srv.http, AuthorityHost: f.AuthorityHost, Tenant: f.TenantID}
	ctx := context.Background()
	tok, err := tc.Password(ctx, "admin", sensitiveString(f.Admin.Password), f.ManagementAudience)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken.IsZero() {
		t.Fatal("no refresh token for offline_access")
	}
	c, err := srv.tokens.Validate(ctx, tok.AccessToken.Reveal(), token.Expect{Audience: f.ManagementAudience})
	if err != nil || c.IDType != token.User || c.UserName != "admin" || c.AppID != principal.CLIClientID {
		t.Fatalf("user token: %+v, %v", c, err)
	}
	next, err := tc.Refresh(ctx, tok.RefreshToken, f.VaultAudience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.tokens.Validate(ctx, next.AccessToken.Reveal(), token.Expect{Audience: f.VaultAudience}); err != nil {
		t.Fatalf("refreshed token for the vault audience: %v", err)
	}
	if _, err := tc.Refresh(ctx, tok.RefreshToken, f.ManagementAudience); err == nil {
		t.Fatal("a used refresh token worked again")
	}
}
