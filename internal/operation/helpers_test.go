package operation_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

var ctx = context.Background()

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

// replica is one server's worth of the mechanism: store, queue, service.
type replica struct {
	st  *store.Store
	q   *jobs.Queue
	svc *operation.Service
}

type replicaOpts struct {
	jobs        jobs.Config // DB, Dialect and URL are filled in
	maxAttempts int
	handlers    map[string]operation.Handler
}

// newReplica opens a store on cfg and starts a queue and a service with
// handlers; cleanup stops and closes them.
func newReplica(tb testing.TB, cfg store.Config, o replicaOpts) *replica {
	tb.Helper()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	jc := o.jobs
	jc.DB, jc.Dialect = st.JobsDB()
	jc.URL = cfg.URL
	jc.Logger = testLogger()
	if jc.Backoff == nil {
		jc.Backoff = func(int) time.Duration { return 0 } // retries at once
	}
	q, err := jobs.New(jc)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := operation.New(operation.Config{Store: st.Operations(q), Queue: q, ErrorCode: errorCode,
		Logger: testLogger(), MaxAttempts: o.maxAttempts})
	if err != nil {
		tb.Fatal(err)
	}
	for kind, h := range o.handlers {
		svc.Register(kind, h)
	}
	if err := q.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	return &replica{st: st, q: q, svc: svc}
}

// errorCode stands in for the ARM error table.
func errorCode(err error) (int, string, string) {
	switch errkind.KindOf(err) {
	case errkind.Conflict:
		return 409, "Conflict", errkind.Message(err)
	case errkind.Unavailable:
		return 503, "ServiceUnavailable", errkind.Message(err)
	}
	return 500, "InternalServerError", "An internal error occurred."
}

func testLogger() *slog.Logger {
	if os.Getenv("EDGEVAULT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitEnded polls until the operation is terminal: a bounded wait for an
// asynchronous outcome, not a sleep standing in for time logic.
func waitEnded(tb testing.TB, svc *operation.Service, sub, id string, within time.Duration) operation.Operation {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		op, err := svc.Get(ctx, sub, id)
		if err != nil {
			tb.Fatal(err)
		}
		if op.Status.Terminal() {
			return op
		}
		if time.Now().After(deadline) {
			tb.Fatalf("operation %s still %s (step %q, epoch %d) after %v", id, op.Status, op.Step, op.Epoch, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
