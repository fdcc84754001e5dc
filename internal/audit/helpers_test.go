package audit_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

var ctx = context.Background()

// at is a fixed instant, in what every dialect stores exactly.
var at = time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)

// backend says how to open stores on one database; two stores opened on
// the same config are two replicas (PostgreSQL) or a restart (SQLite).
type backend struct {
	name string
	cfg  func(testing.TB) store.Config
}

func backends() []backend {
	bs := []backend{{"sqlite", func(tb testing.TB) store.Config { return store.Config{DataDir: tb.TempDir()} }}}
	if base := os.Getenv("EDGEVAULT_TEST_POSTGRES_URL"); base != "" {
		bs = append(bs, backend{"postgres", func(tb testing.TB) store.Config { return store.Config{URL: postgresSchema(tb, base)} }})
	}
	return bs
}

// forEachBackend runs fn against SQLite, and PostgreSQL when
// EDGEVAULT_TEST_POSTGRES_URL is set.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// postgresSchema creates a fresh schema and returns base with its
// search_path, so tests never see each other's rows (as store_test does).
func postgresSchema(tb testing.TB, base string) string { return pgtest.SchemaURL(tb, base) }

func openStore(tb testing.TB, cfg store.Config) *store.Store {
	tb.Helper()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newWriter returns a Writer on s that the test closes at its end.
func newWriter(tb testing.TB, cfg audit.Config) *audit.Writer {
	tb.Helper()
	w, err := audit.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := w.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return w
}

func vaultID(name string) resource.ID {
	return resource.NewResourceGroup("00000000-0000-0000-0000-000000000001", "edge-rg").
		Child("Microsoft.KeyVault", "vaults", name)
}

// record returns a SecretGet record of vault numbered n: n is kept in
// DurationMs and CorrelationID so tests can tell records apart.
func record(vault resource.ID, n int) audit.Record {
	match := true
	return audit.Record{
		Time: at.Add(time.Duration(n) * time.Millisecond), ResourceID: vault, OperationName: audit.SecretGet,
		OperationVersion: "7.5", ResultType: audit.Success, ResultSignature: "OK", DurationMs: int64(n),
		CallerIPAddress: netip.MustParseAddr("192.0.2.7"), CorrelationID: fmt.Sprint(n), RequestID: fmt.Sprintf("req-%d", n),
		Identity: audit.Identity{TenantID: "t1", ObjectID: "0b7a2c4e-0000-4000-8000-00000000000a", AppID: "app1", IDType: "app"},
		Properties: audit.Properties{ID: "https://" + vault.Name() + ".vault.localhost:8443/secrets/s1",
			RequestURI:     "https://" + vault.Name() + ".vault.localhost:8443/secrets/s1?api-version=7.5",
			HTTPStatusCode: 200, ClientInfo: "azsecrets/1.5.1", IsAccessPolicyMatch: &match, TLSVersion: "TLS1_3"},
	}
}

// recordCmp compares records: resource ids by their exact spelling,
// addresses by value.
var recordCmp = cmp.Options{
	cmp.Comparer(func(a, b resource.ID) bool { return a.String() == b.String() }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

// all returns every entry of vault (or of every resource when vault is
// nil), paging through List.
func all(tb testing.TB, w *audit.Writer, vault *resource.ID) []audit.Entry {
	tb.Helper()
	var out []audit.Entry
	f := audit.Filter{ResourceID: vault, Limit: audit.MaxLimit}
	for {
		page, err := w.List(ctx, f)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		f.After = page[len(page)-1].ID
	}
}

// gatedStore holds the first AppendAudit until release is closed, so a
// test can queue records behind a batch in flight; fail, when set, makes
// later batches fail without writing.
type gatedStore struct {
	audit.Store
	entered, release chan struct{}
	once             sync.Once

	mu   sync.Mutex
	fail error
}

func newGatedStore(s audit.Store) *gatedStore {
	return &gatedStore{Store: s, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedStore) AppendAudit(ctx context.Context, recs []audit.Record) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
	g.mu.Lock()
	fail := g.fail
	g.mu.Unlock()
	if fail != nil {
		return fail
	}
	return g.Store.AppendAudit(ctx, recs)
}

func (g *gatedStore) setFail(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

// waitFor polls cond: a bounded wait for the writer's goroutine to reach a
// state, not a sleep standing in for time logic.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchSizes records what an Observer is told.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
	errs  int
}

func (o *batchSizes) ObserveBatch(n int, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sizes = append(o.sizes, n)
	if err != nil {
		o.errs++
	}
}

func (o *batchSizes) get() ([]int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.sizes...), o.errs
}
