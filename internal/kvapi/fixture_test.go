package kvapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/token"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seed corpora")

const (
	authority   = "https://login.localhost:8443/"
	resourceURL = "https://vault.localhost:8443"
	api         = "2026-04-01"
)

// fakeVaults is the vault lookup the keyvault.Service will provide.
type fakeVaults struct {
	mu     sync.Mutex
	vaults map[string]keyvault.Vault
	err    error // when set, every lookup fails with it
}

func (f *fakeVaults) ByName(_ context.Context, name string) (keyvault.Vault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return keyvault.Vault{}, f.err
	}
	v, ok := f.vaults[strings.ToLower(name)]
	if !ok {
		return keyvault.Vault{}, errkind.E(errkind.NotFound, "vault not found")
	}
	return v, nil
}

func (f *fakeVaults) put(v keyvault.Vault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vaults[strings.ToLower(v.Name())] = v
}

// recorder is an Auditor that keeps records and can be made to fail.
type recorder struct {
	mu      sync.Mutex
	records []AuditRecord
	fail    error
}

func (r *recorder) Record(_ context.Context, rec AuditRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.records = append(r.records, rec)
	return nil
}

func (r *recorder) last(t testing.TB) AuditRecord {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) == 0 {
		t.Fatal("no audit record")
	}
	return r.records[len(r.records)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// clock is a settable clock for the handler and the secret service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is the handler over real services: a SQLite store in a temporary
// directory, a real envelope keyring, a real token service.
type fixture struct {
	t       testing.TB
	h       http.Handler // the full middleware chain and host router
	kv      *Handler
	store   *store.Store
	keyring *envelope.Keyring
	tokens  *token.Service
	secrets *secret.Service
	vaults  *fakeVaults
	audit   *recorder
	clock   *clock
	logs    *bytes.Buffer
	tenant  string
	vault   keyvault.Vault // "myvault", tenant, every permission for admin
	admin   principal.Principal
}

type option func(*Config)

func newFixture(t testing.TB, opts ...option) *fixture {
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
	tokens, err := token.New(token.Config{Store: st, Sealer: kr, AuthorityHost: authority})
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	secrets, err := secret.New(secret.Config{Store: st, Sealer: kr, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, keyring: kr, tokens: tokens, secrets: secrets, clock: clk,
		vaults: &fakeVaults{vaults: map[string]keyvault.Vault{}}, audit: &recorder{}, logs: &bytes.Buffer{},
		tenant: principal.NewID()}
	f.admin = f.principal(f.tenant)
	f.vault = f.newVault("MyVault", f.tenant, f.admin.ObjectID, keyvault.SecretAll)
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{Vaults: f.vaults, Secrets: secrets, Tokens: tokens, Sealer: kr, Auditor: f.audit,
		AuthorityHost: authority, Resource: resourceURL, Logger: logger, Now: clk.now}
	for _, o := range opts {
		o(&cfg)
	}
	f.kv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = httpx.Wrap(&httpx.Hosts{Vault: f.kv}, httpx.Options{Logger: logger,
		Errors: map[httpx.Surface]httpx.ErrorWriter{httpx.Vault: WriteError}})
	return f
}

// syncWriter serialises writes of concurrent handlers to the log buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// principal returns a service principal of tenant (not stored: the
// handler trusts the token, and Principals is optional).
func (f *fixture) principal(tenant string) principal.Principal {
	return principal.Principal{ObjectID: principal.NewID(), TenantID: tenant, Kind: principal.ServicePrincipal,
		ClientID: principal.NewID(), DisplayName: "sp", Enabled: true}
}

// newVault registers a vault whose access policy grants perms to oid.
func (f *fixture) newVault(name, tenant, oid string, perms ...keyvault.SecretPermission) keyvault.Vault {
	id, err := resource.Parse("/subscriptions/" + principal.NewID() + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name)
	if err != nil {
		f.t.Fatal(err)
	}
	v := keyvault.Vault{UID: principal.NewID(), ID: id, Location: "westeurope", TenantID: tenant, SKU: "standard",
		Retention: 90}
	f.grant(&v, tenant, oid, perms...)
	f.vaults.put(v)
	return v
}

// grant adds an access policy to v (and re-registers it).
func (f *fixture) grant(v *keyvault.Vault, tenant, oid string, perms ...keyvault.SecretPermission) {
	var ps []string
	for _, p := range perms {
		ps = append(ps, string(p))
	}
	v.Policies = append(v.Policies, keyvault.AccessPolicy{TenantID: tenant, ObjectID: oid,
		Permissions: keyvault.Permissions{Secrets: ps}})
	f.vaults.put(*v)
}

// token issues a vault token for p.
func (f *fixture) token(p principal.Principal) string {
	return f.tokenFor(p, resourceURL)
}

func (f *fixture) tokenFor(p principal.Principal, audience string) string {
	f.t.Helper()
	raw, _, err := f.tokens.Issue(context.Background(), token.Subject{Principal: p, AppID: p.ClientID}, audience)
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// req is one request to the handler.
type req struct {
	method, path string // path includes the query
	vault        string // Host label; "myvault" when empty
	tok          string // bearer token; none when empty
	body         string
	header       map[string]string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
}

// errCode returns the error code and inner code of an error response.
func (r resp) errCode() (string, string) {
	var e struct {
		Error struct {
			Code  string
			Inner *struct{ Code string } `json:"innererror"`
		}
	}
	_ = json.Unmarshal(r.body, &e)
	if e.Error.Inner != nil {
		return e.Error.Code, e.Error.Inner.Code
	}
	return e.Error.Code, ""
}

func (f *fixture) do(q req) resp {
	f.t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	vault := q.vault
	if vault == "" {
		vault = "myvault"
	}
	r.Host = vault + ".vault.localhost:8443"
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.tok != "" {
		r.Header.Set("Authorization", "Bearer "+q.tok)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return resp{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// as returns a request helper for one principal.
func (f *fixture) as(p principal.Principal) func(method, path, body string) resp {
	tok := f.token(p)
	return func(method, path, body string) resp {
		f.t.Helper()
		return f.do(req{method: method, path: withAPI(path), tok: tok, body: body})
	}
}

// withAPI adds the api-version to a path.
func withAPI(path string) string {
	if strings.Contains(path, "api-version") || strings.Contains(path, "api%2Dversion") {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "api-version=" + api
}

func must(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

var errInjected = errors.New("injected failure")

// countingReader is a body of n bytes, {"value":"xxx..., that counts what
// the server reads.
type countingReader struct {
	n    int64
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	n := min(int64(len(p)), c.n-c.read)
	const prefix = `{"value":"`
	for i := range p[:n] {
		if pos := c.read + int64(i); pos < int64(len(prefix)) {
			p[i] = prefix[pos]
		} else {
			p[i] = 'x'
		}
	}
	c.read += n
	return int(n), nil
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
