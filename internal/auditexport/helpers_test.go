package auditexport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

// at is the start of an hour, so tests can cross into the next one.
var at = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)

type backend struct {
	name string
	cfg  func(testing.TB) store.Config
}

// backends are SQLite, and PostgreSQL when EDGEVAULT_TEST_POSTGRES_URL is set.
func backends() []backend {
	bs := []backend{{"sqlite", func(tb testing.TB) store.Config { return store.Config{DataDir: tb.TempDir()} }}}
	if base := os.Getenv("EDGEVAULT_TEST_POSTGRES_URL"); base != "" {
		bs = append(bs, backend{"postgres", func(tb testing.TB) store.Config { return store.Config{URL: pgtest.SchemaURL(tb, base)} }})
	}
	return bs
}

func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, newEnv(t, b.cfg(t))) })
	}
}

// env is a real store with a subscription, an audit writer and a
// settings fake.
type env struct {
	st       *store.Store
	w        *audit.Writer
	sub      string
	settings *fakeSettings
}

func newEnv(tb testing.TB, cfg store.Config) *env {
	tb.Helper()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	recs := storetest.SampleRecords()
	if err := st.CommitBootstrap(ctx, recs); err != nil {
		tb.Fatal(err)
	}
	w, err := audit.New(audit.Config{Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close(ctx) })
	return &env{st: st, w: w, sub: recs.Subscription.ID, settings: &fakeSettings{}}
}

// exporter returns an Exporter over e's store; cfg's zero fields are
// filled in.
func (e *env) exporter(tb testing.TB, cfg auditexport.Config) *auditexport.Exporter {
	tb.Helper()
	if cfg.Settings == nil {
		cfg.Settings = e.settings
	}
	cfg.Records, cfg.Store = e.w, e.st
	if cfg.Accounts == nil {
		cfg.Accounts = storeAccounts{e.st}
	}
	cfg.Render = render
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return at.Add(2 * time.Hour) }
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	x, err := auditexport.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// render stands in for armapi.AuditEvent marshalled (the server's
// Render, checked end to end in internal/e2e): a few AuditEvent fields.
func render(en audit.Entry) ([]byte, error) {
	return json.Marshal(struct {
		Time          time.Time `json:"time"`
		OperationName string    `json:"operationName"`
		DurationMs    string    `json:"durationMs"`
		ID            int64     `json:"id"`
	}{en.Time, string(en.OperationName), fmt.Sprint(en.DurationMs), en.ID})
}

// account inserts a ready storage account and returns its id.
func (e *env) account(tb testing.TB, name string) storageaccount.Account {
	tb.Helper()
	a := storageaccount.Account{
		UID: principal.NewID(), ID: resource.NewResourceGroup(e.sub, "logs-rg").Child("Microsoft.Storage", "storageAccounts", name),
		Location: "westeurope", Tags: map[string]string{}, TenantID: principal.NewID(),
		SKU: storageaccount.StandardLRS, Kind: storageaccount.StorageV2, ProvisioningState: storageaccount.Succeeded,
		CreatedBy: principal.NewID(), CreatedAt: at, UpdatedAt: at, Version: 1,
	}
	if err := e.st.InsertAccount(ctx, a); err != nil {
		tb.Fatal(err)
	}
	return a
}

// record writes a SecretGet record of vault at time t, numbered n
// (DurationMs), and returns nothing until it is committed.
func (e *env) record(tb testing.TB, vault resource.ID, n int, t time.Time) {
	tb.Helper()
	match := true
	err := e.w.Record(ctx, audit.Record{
		Time: t, ResourceID: vault, OperationName: audit.SecretGet,
		OperationVersion: "7.5", ResultType: audit.Success, ResultSignature: "OK", DurationMs: int64(n),
		CallerIPAddress: netip.MustParseAddr("192.0.2.7"), CorrelationID: fmt.Sprint(n), RequestID: fmt.Sprintf("req-%d", n),
		Identity: audit.Identity{TenantID: "t1", ObjectID: "0b7a2c4e-0000-4000-8000-00000000000a", AppID: "app1", IDType: "app"},
		Properties: audit.Properties{ID: "https://" + vault.Name() + ".vault.localhost:8443/secrets/s1",
			RequestURI:     "https://" + vault.Name() + ".vault.localhost:8443/secrets/s1?api-version=7.5",
			HTTPStatusCode: 200, ClientInfo: "azsecrets/1.5.1", IsAccessPolicyMatch: &match, TLSVersion: "TLS1_3"},
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// lines returns the numbers (DurationMs) of the records in the blob of
// vault's hour at t in account; nil when the blob does not exist.
func (e *env) lines(tb testing.TB, account resource.ID, vault resource.ID, t time.Time) []int {
	tb.Helper()
	_, data, err := e.st.ReadBlob(ctx, account.Key(), auditexport.Container, auditexport.BlobName(vault, t), 0, 1<<30)
	if err != nil {
		return nil
	}
	var out []int
	for line := range bytes.Lines(data) {
		var ev struct{ DurationMs string }
		if err := json.Unmarshal(line, &ev); err != nil {
			tb.Fatalf("line %q: %v", line, err)
		}
		var n int
		fmt.Sscan(ev.DurationMs, &n)
		out = append(out, n)
	}
	return out
}

func vaultID(sub, name string) resource.ID {
	return resource.NewResourceGroup(sub, "edge-rg").Child("Microsoft.KeyVault", "vaults", name)
}

// seq returns [from, to).
func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// fakeSettings stands in for internal/diagnostics.
type fakeSettings struct {
	mu sync.Mutex
	s  []auditexport.Setting
}

func (f *fakeSettings) All(context.Context) ([]auditexport.Setting, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]auditexport.Setting(nil), f.s...), nil
}

func (f *fakeSettings) set(s ...auditexport.Setting) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s = s
}

// storeAccounts answers Exists from the store, as storageaccount.Service
// does.
type storeAccounts struct{ st *store.Store }

func (a storeAccounts) Exists(ctx context.Context, id resource.ID) (bool, error) {
	acct, err := a.st.AccountByName(ctx, id.Name())
	if err != nil {
		return false, nil
	}
	return acct.ID.Equal(id) && acct.ProvisioningState != storageaccount.Deleting, nil
}

// alwaysAccounts says every account exists: the store's check is then
// the one that matters (an account deleted after Exists).
type alwaysAccounts struct{}

func (alwaysAccounts) Exists(context.Context, resource.ID) (bool, error) { return true, nil }

// versionedSettings is fakeSettings with a version, as the server's
// settings have: it counts the reads of the settings themselves.
type versionedSettings struct {
	*fakeSettings
	version string
	reads   atomic.Int64
}

func (v *versionedSettings) All(ctx context.Context) ([]auditexport.Setting, error) {
	v.reads.Add(1)
	return v.fakeSettings.All(ctx)
}

func (v *versionedSettings) AllVersion(context.Context) (string, error) {
	v.fakeSettings.mu.Lock()
	defer v.fakeSettings.mu.Unlock()
	return v.version, nil
}
