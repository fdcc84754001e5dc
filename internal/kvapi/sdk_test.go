package kvapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/loginapi"
	"github.com/edgevault/edgevault/internal/pki"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
	"github.com/edgevault/edgevault/internal/token"
)

// TestAzsecretsSDK drives the handler with the official, unmodified
// azsecrets v1.5.1 client, authenticated by azidentity against the real
// login host, over TLS on loopback: the challenge flow, every client
// method, and the three pagers across several pages. The vault lookup is
// the fake; internal/e2e runs the same against the whole server.
func TestAzsecretsSDK(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(*testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", postgresSchema},
	} {
		t.Run(db.name, func(t *testing.T) {
			env := newSDKServer(t, db.url(t))
			testSDKSecrets(t, env)
		})
	}
}

type sdkServer struct {
	client        *azsecrets.Client
	vaultURL      string
	audit         *recorder
	boot          bootstrap.File
	authorityHost string
	caFile        string
}

func newSDKServer(t *testing.T, databaseURL string) *sdkServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	authorityHost, resource := "https://login.localhost:"+port+"/", "https://vault.localhost:"+port
	st, err := store.Open(ctx, store.Config{URL: databaseURL, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.New(envelope.Config{RootKeyFile: filepath.Join(dir, "root.key"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := token.New(token.Config{Store: st, Sealer: kr, AuthorityHost: authorityHost})
	if err := tokens.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	ids, _ := identity.New(identity.Config{Store: st, Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	if _, err := bootstrap.Run(ctx, bootstrap.Config{Store: st, Identity: ids, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	boot, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		t.Fatal(err)
	}
	secrets, _ := secret.New(secret.Config{Store: st, Sealer: kr})
	vaults := &fakeVaults{vaults: map[string]keyvault.Vault{}}
	fx := &fixture{t: t, vaults: vaults}
	fx.newVault("sdkvault", boot.TenantID, boot.ServicePrincipal.ObjectID, keyvault.SecretAll)
	audit := &recorder{}
	kv, err := New(Config{Vaults: vaults, Secrets: secrets, Tokens: tokens, Sealer: kr, Auditor: audit,
		Principals: ids, AuthorityHost: authorityHost, Resource: resource,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hosts := &httpx.Hosts{
		Login: loginapi.New(loginapi.Config{Tokens: tokens, Identities: ids, Tenants: st, AuthorityHost: authorityHost,
			Audiences: []string{resource}}),
		Vault: kv,
	}
	bundle, err := pki.LoadOrCreate(filepath.Join(dir, "tls"), "localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httpx.Wrap(hosts, httpx.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Errors: map[httpx.Surface]httpx.ErrorWriter{httpx.Vault: WriteError, httpx.Login: httpx.WriteOAuthError}}),
		TLSConfig: bundle.TLSConfig(), ReadHeaderTimeout: 10 * time.Second}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: bundle.CACertFile(), OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientSecretCredential(boot.TenantID, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authorityHost}, Transport: hc},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	vaultURL := "https://sdkvault.vault.localhost:" + port
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	return &sdkServer{client: c, vaultURL: vaultURL, audit: audit, boot: boot, authorityHost: authorityHost,
		caFile: bundle.CACertFile()}
}

// postgresSchema returns a URL of a fresh schema of the test database, or
// skips.
func postgresSchema(t *testing.T) string { return pgtest.URL(t) }

// sdkCode returns the error code and status of an SDK error.
func sdkCode(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

func testSDKSecrets(t *testing.T, e *sdkServer) {
	ctx := context.Background()
	c := e.client
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	set, err := c.SetSecret(ctx, "Sdk-Secret", azsecrets.SetSecretParameters{Value: to.Ptr("s3cr3t"), ContentType: to.Ptr("text/plain"),
		Tags: map[string]*string{"env": to.Ptr("test")}, SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1 := set.ID.Version()
	if set.ID.Name() != "Sdk-Secret" || len(v1) != 32 || *set.Value != "s3cr3t" || !set.Attributes.Expires.Equal(exp) ||
		*set.Attributes.RecoveryLevel != "Recoverable+Purgeable" || *set.Attributes.RecoverableDays != 90 {
		t.Fatalf("SetSecret = %+v", set.Secret)
	}
	set2, err := c.SetSecret(ctx, "sdk-secret", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil)
	if err != nil || set2.ID.Version() == v1 {
		t.Fatalf("second SetSecret = %v", err)
	}
	got, err := c.GetSecret(ctx, "sdk-secret", "", nil) // trailing slash: latest
	if err != nil || *got.Value != "v2" || *got.ID != *set2.ID {
		t.Fatalf("GetSecret latest = %+v, %v", got.Secret, err)
	}
	got, err = c.GetSecret(ctx, "sdk-secret", v1, nil)
	if err != nil || *got.Value != "s3cr3t" || *got.ContentType != "text/plain" || *got.Tags["env"] != "test" {
		t.Fatalf("GetSecret v1 = %+v, %v", got.Secret, err)
	}
	upd, err := c.UpdateSecretProperties(ctx, "sdk-secret", v1, azsecrets.UpdateSecretPropertiesParameters{
		ContentType: to.Ptr("application/json"), SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)},
		Tags: map[string]*string{}}, nil)
	if err != nil || upd.Value != nil || *upd.Attributes.Enabled || len(upd.Tags) != 0 || *upd.ContentType != "application/json" {
		t.Fatalf("UpdateSecretProperties = %+v, %v", upd.Secret, err)
	}
	_, err = c.GetSecret(ctx, "sdk-secret", v1, nil)
	if code, status := sdkCode(err); code != "Forbidden" || status != 403 {
		t.Errorf("GetSecret of a disabled version: %v", err)
	}
	if _, err := c.UpdateSecretProperties(ctx, "sdk-secret", "", azsecrets.UpdateSecretPropertiesParameters{
		Tags: map[string]*string{"latest": to.Ptr("yes")}}, nil); err != nil {
		t.Fatalf("UpdateSecretProperties latest: %v", err)
	}

	// Pagers over more than one page: 30 more secrets, 27 versions.
	for i := range 30 {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("page-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		if _, err := c.SetSecret(ctx, "sdk-secret", azsecrets.SetSecretParameters{Value: to.Ptr(strconv.Itoa(i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.Value {
			if s.ID.Version() != "" {
				t.Errorf("list id with a version: %s", *s.ID)
			}
			names = append(names, s.ID.Name())
		}
	}
	if len(names) != 31 || pages != 2 || !slices.Contains(names, "Sdk-Secret") {
		t.Errorf("ListSecretProperties: %d names in %d pages", len(names), pages)
	}
	var versions []string
	pages = 0
	for p := c.NewListSecretPropertiesVersionsPager("SDK-SECRET", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.Value {
			versions = append(versions, s.ID.Version())
		}
	}
	if len(versions) != 27 || pages != 2 || versions[0] != v1 {
		t.Errorf("ListSecretPropertiesVersions: %d versions in %d pages", len(versions), pages)
	}

	// Delete → get (404) → get deleted → list deleted → recover → get.
	del, err := c.DeleteSecret(ctx, "sdk-secret", nil)
	if err != nil || del.RecoveryID == nil || del.DeletedDate == nil || del.ScheduledPurgeDate == nil ||
		del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 90*24*time.Hour || del.ID.Name() != "Sdk-Secret" {
		t.Fatalf("DeleteSecret = %+v, %v", del.DeletedSecret, err)
	}
	_, err = c.GetSecret(ctx, "sdk-secret", "", nil)
	if code, status := sdkCode(err); code != "SecretNotFound" || status != 404 {
		t.Errorf("GetSecret of a deleted secret: %v", err)
	}
	_, err = c.SetSecret(ctx, "sdk-secret", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	if code, status := sdkCode(err); code != "Conflict" || status != 409 {
		t.Errorf("SetSecret of a deleted name: %v", err)
	}
	gd, err := c.GetDeletedSecret(ctx, "sdk-secret", nil)
	if err != nil || *gd.RecoveryID != *del.RecoveryID {
		t.Fatalf("GetDeletedSecret = %+v, %v", gd.DeletedSecret, err)
	}
	for i := range 26 {
		if _, err := c.DeleteSecret(ctx, fmt.Sprintf("page-%02d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var deleted []string
	pages = 0
	for p := c.NewListDeletedSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.Value {
			if s.RecoveryID == nil || s.DeletedDate == nil {
				t.Errorf("deleted item = %+v", s)
			}
			deleted = append(deleted, s.ID.Name())
		}
	}
	if len(deleted) != 27 || pages != 2 {
		t.Errorf("ListDeletedSecretProperties: %d in %d pages", len(deleted), pages)
	}
	rec, err := c.RecoverDeletedSecret(ctx, "sdk-secret", nil)
	if err != nil || rec.ID.Name() != "Sdk-Secret" {
		t.Fatalf("RecoverDeletedSecret = %+v, %v", rec.Secret, err)
	}
	if got, err := c.GetSecret(ctx, "sdk-secret", "", nil); err != nil || *got.Value != "24" {
		t.Fatalf("GetSecret after recover = %v", err)
	}

	// Backup → delete → purge → restore → get.
	bk, err := c.BackupSecret(ctx, "sdk-secret", nil)
	if err != nil || len(bk.Value) == 0 {
		t.Fatalf("BackupSecret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, "sdk-secret", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "sdk-secret", nil); err != nil {
		t.Fatalf("PurgeDeletedSecret: %v", err)
	}
	_, err = c.GetDeletedSecret(ctx, "sdk-secret", nil)
	if code, _ := sdkCode(err); code != "SecretNotFound" {
		t.Errorf("GetDeletedSecret after purge: %v", err)
	}
	rs, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil)
	if err != nil || rs.ID.Name() != "Sdk-Secret" || rs.Value != nil {
		t.Fatalf("RestoreSecret = %+v, %v", rs.Secret, err)
	}
	if got, err := c.GetSecret(ctx, "sdk-secret", "", nil); err != nil || *got.Value != "24" {
		t.Fatalf("GetSecret after restore: %v", err)
	}
	if got, err := c.GetSecret(ctx, "sdk-secret", v1, nil); err == nil || got.Value != nil {
		t.Error("restored disabled version became readable")
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil)
	if code, status := sdkCode(err); code != "Conflict" || status != 409 {
		t.Errorf("RestoreSecret over an existing secret: %v", err)
	}
	// Every request was audited, the challenge round trip included.
	ops := map[string]int{}
	for _, r := range e.audit.records {
		ops[r.OperationName]++
	}
	for _, op := range []string{"Authentication", "SecretSet", "SecretGet", "SecretUpdate", "SecretList", "SecretListVersions",
		"SecretDelete", "SecretGetDeleted", "SecretListDeleted", "SecretRecover", "SecretBackup", "SecretPurge", "SecretRestore"} {
		if ops[op] == 0 {
			t.Errorf("no %s audit record (%v)", op, ops)
		}
	}
}

// TestJSSDK runs test/js/secrets.mjs, the official JS SDK
// (@azure/keyvault-secrets 4.11.2 with @azure/identity), against the
// handler: percent-encoded api-version, the JS challenge parser, and the
// delete and recover pollers, which need GET of a deleted secret to be 404.
// It skips without node or without `make js-deps`.
func TestJSSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	dir := filepath.Join("..", "..", "test", "js")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "@azure", "keyvault-secrets")); err != nil || statErr != nil {
		t.Skip("node or test/js/node_modules missing (make js-deps)")
	}
	e := newSDKServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--import", "./loopback.mjs", "secrets.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+e.caFile, "EV_AUTHORITY_HOST="+e.authorityHost,
		"EV_TENANT_ID="+e.boot.TenantID, "EV_CLIENT_ID="+e.boot.ServicePrincipal.ClientID,
		"EV_CLIENT_SECRET="+e.boot.ServicePrincipal.ClientSecret, "EV_VAULT_URL="+e.vaultURL)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("JS SDK checks failed: %v", err)
	}
}
