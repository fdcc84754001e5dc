package blobapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/pki"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/token"
)

// fakeAccounts is the lookup the storageaccount service will provide.
type fakeAccounts struct {
	mu       sync.Mutex
	accounts map[string]Account
}

func (f *fakeAccounts) ByName(_ context.Context, name string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[strings.ToLower(name)]
	if !ok {
		return Account{}, errkind.E(errkind.NotFound, "storage account not found")
	}
	return a, nil
}

// roleAuthorizer grants each principal one built-in role at every scope,
// decided by the real role definitions' patterns (rbac.DefinitionByID).
type roleAuthorizer struct {
	mu    sync.Mutex
	roles map[string]string // object id → role GUID
}

func (a *roleAuthorizer) Authorize(_ context.Context, p principal.Principal, action string, _ resource.ID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := rbac.DefinitionByID(a.roles[p.ObjectID]); ok && d.Allows(action) {
		return nil
	}
	return errkind.E(errkind.PermissionDenied, "denied")
}

// fixture is the handler over a real SQLite store, real token service and
// real blob service, served over TLS on loopback with the server's own
// PKI, as the whole server serves it.
type fixture struct {
	t        testing.TB
	port     string
	tokens   *token.Service
	blobs    *blob.Service
	accounts *fakeAccounts
	authz    *roleAuthorizer
	hc       *http.Client
	tenant   string
	account  Account
	audience string
}

func newFixture(t testing.TB) *fixture { return newFixtureDB(t, "") }

// newFixtureDB is newFixture on the database databaseURL names ("" for
// SQLite in a temporary directory).
func newFixtureDB(t testing.TB, databaseURL string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	authority, audience := "https://login.localhost:"+port+"/", "https://storage.localhost:"+port
	st, err := store.Open(ctx, store.Config{URL: databaseURL, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.New(envelope.Config{RootKeyFile: filepath.Join(dir, "root.key"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(token.Config{Store: st, Sealer: kr, AuthorityHost: authority})
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.New(blob.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, port: port, tokens: tokens, blobs: blobs, tenant: principal.NewID(), audience: audience,
		accounts: &fakeAccounts{accounts: map[string]Account{}}, authz: &roleAuthorizer{roles: map[string]string{}}}
	f.account = f.newAccount("auditlogs", f.tenant)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(Config{Accounts: f.accounts, Blobs: blobs, Tokens: tokens, Authorizer: f.authz,
		AuthorityHost: authority, Audience: audience, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := pki.LoadOrCreate(filepath.Join(dir, "tls"), "localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httpx.Wrap(&httpx.Hosts{Blob: h}, httpx.Options{Logger: logger,
		Errors: map[httpx.Surface]httpx.ErrorWriter{httpx.Blob: WriteError}}),
		TLSConfig: bundle.TLSConfig(), ReadHeaderTimeout: 10 * time.Second}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	f.hc, err = client.NewHTTPClient(client.HTTPOptions{CAFile: bundle.CACertFile(), OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newAccount(name, tenant string) Account {
	sub := principal.NewID()
	id, err := resource.Parse("/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + name)
	if err != nil {
		f.t.Fatal(err)
	}
	a := Account{ID: id, TenantID: tenant, SubscriptionID: sub}
	f.accounts.mu.Lock()
	f.accounts.accounts[name] = a
	f.accounts.mu.Unlock()
	return a
}

// principal returns a service principal of tenant holding role (a built-in
// role GUID; "" for none).
func (f *fixture) principal(role string) principal.Principal {
	p := principal.Principal{ObjectID: principal.NewID(), TenantID: f.tenant, Kind: principal.ServicePrincipal,
		ClientID: principal.NewID(), DisplayName: "sp", Enabled: true}
	if role != "" {
		f.authz.mu.Lock()
		f.authz.roles[p.ObjectID] = role
		f.authz.mu.Unlock()
	}
	return p
}

func (f *fixture) token(p principal.Principal, audience string) string {
	f.t.Helper()
	raw, _, err := f.tokens.Issue(context.Background(), token.Subject{Principal: p, AppID: p.ClientID}, audience)
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func (f *fixture) serviceURL(account string) string {
	return "https://" + account + ".blob.localhost:" + f.port + "/"
}

// credential is an azcore.TokenCredential that issues tokens with the real
// token service, for the scope the client asks for, and records the
// scopes, so a test sees which audience azblob requested.
type credential struct {
	f      *fixture
	p      principal.Principal
	mu     sync.Mutex
	scopes []string
}

func (c *credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.scopes = append(c.scopes, o.Scopes...)
	c.mu.Unlock()
	if len(o.Scopes) != 1 {
		return azcore.AccessToken{}, errkind.E(errkind.Invalid, "one scope expected")
	}
	aud := strings.TrimSuffix(o.Scopes[0], "/.default")
	raw, claims, err := c.f.tokens.Issue(context.Background(), token.Subject{Principal: c.p, AppID: c.p.ClientID}, aud)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: raw, ExpiresOn: claims.Expiry}, nil
}

// policyNoRetry makes SDK errors come back at once.
var policyNoRetry = policy.RetryOptions{MaxRetries: -1}
