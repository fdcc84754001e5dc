package jobs_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

var ctx = context.Background()

type backend struct {
	name string
	cfg  func(t *testing.T) store.Config
}

// backends are SQLite, and PostgreSQL when EDGEVAULT_TEST_POSTGRES_URL is
// set (a fresh schema per test, through search_path).
func backends() []backend {
	bs := []backend{{"sqlite", func(t *testing.T) store.Config { return store.Config{DataDir: t.TempDir()} }}}
	if base := os.Getenv("EDGEVAULT_TEST_POSTGRES_URL"); base != "" {
		bs = append(bs, backend{"postgres", func(t *testing.T) store.Config { return store.Config{URL: postgresSchema(t, base)} }})
	}
	return bs
}

func postgresSchema(t *testing.T, base string) string { return pgtest.SchemaURL(t, base) }

func openStore(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newQueue(t *testing.T, st *store.Store, cfg store.Config, mod func(*jobs.Config)) *jobs.Queue {
	t.Helper()
	jc := jobs.Config{URL: cfg.URL}
	jc.DB, jc.Dialect = st.JobsDB()
	if mod != nil {
		mod(&jc)
	}
	q, err := jobs.New(jc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	return q
}

type greet struct {
	Name string
	N    int
}

func (greet) Kind() string { return "test_greet" }

// TestWork: a job inserted in a transaction runs once the transaction
// commits, with its arguments; one rolled back never runs.
func TestWork(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.cfg(t)
			st := openStore(t, cfg)
			q := newQueue(t, st, cfg, func(c *jobs.Config) { c.Concurrency = 1 })
			got := make(chan jobs.Run[greet], 10)
			if err := jobs.Register(q, func(ctx context.Context, r jobs.Run[greet]) error {
				got <- r
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := q.Insert(ctx, jobs.Job{Args: greet{"early", 0}}); !errors.Is(err, jobs.ErrNotStarted) {
				t.Errorf("Insert before Start: %v, want ErrNotStarted", err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			db, _ := st.JobsDB()
			insertTx := func(args greet, commit bool) {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := q.InsertTx(ctx, tx, jobs.Job{Args: args, MaxAttempts: 3}); err != nil {
					t.Fatal(err)
				}
				if commit {
					err = tx.Commit()
				} else {
					err = tx.Rollback()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			insertTx(greet{"rolled back", 1}, false)
			insertTx(greet{"committed", 2}, true)
			// One worker, jobs in id order: had the rolled-back job been
			// stored, it would run first.
			select {
			case r := <-got:
				if r.Args != (greet{"committed", 2}) || r.Attempt != 1 || r.MaxAttempts != 3 || r.ID == 0 {
					t.Errorf("ran %+v", r)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("job not run")
			}
			if _, err := q.Insert(ctx, jobs.Job{Args: greet{"plain", 3}}); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if r.Args.N != 3 {
					t.Errorf("ran %+v, want the plain insert", r)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("job not run")
			}
			if err := jobs.Register(q, func(context.Context, jobs.Run[other]) error { return nil }); err == nil {
				t.Error("Register after Start succeeded")
			}
			if err := q.Start(ctx); err == nil {
				t.Error("second Start succeeded")
			}
		})
	}
}

type other struct{}

func (other) Kind() string { return "test_other" }

// TestStartTogether: replicas starting at once on a fresh PostgreSQL
// database both migrate River's tables without tripping over each other;
// a queue with no work functions only inserts.
func TestStartTogether(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.cfg(t)
			n := 2
			if b.name == "sqlite" {
				n = 1 // one process per SQLite database
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			queues := make([]*jobs.Queue, n)
			for i := range n {
				queues[i] = newQueue(t, openStore(t, cfg), cfg, nil)
				wg.Go(func() { errs[i] = queues[i].Start(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			}
			if _, err := queues[0].Insert(ctx, jobs.Job{Args: greet{"x", 1}}); err != nil {
				t.Errorf("insert-only queue: %v", err)
			}
			// Migrations are idempotent: a restart finds nothing to do.
			again := newQueue(t, openStore(t, cfg), cfg, nil)
			if err := again.Start(ctx); err != nil {
				t.Errorf("restart: %v", err)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	st := openStore(t, store.Config{DataDir: t.TempDir()})
	db, _ := st.JobsDB()
	tests := []struct {
		name string
		cfg  jobs.Config
		ok   bool
	}{
		{"defaults", jobs.Config{DB: db, Dialect: "sqlite"}, true},
		{"no DB", jobs.Config{Dialect: "sqlite"}, false},
		{"unknown dialect", jobs.Config{DB: db, Dialect: "mysql"}, false},
		{"rescue before timeout", jobs.Config{DB: db, Dialect: "sqlite", JobTimeout: time.Minute, RescueAfter: time.Minute}, false},
		{"no timeout", jobs.Config{DB: db, Dialect: "sqlite", JobTimeout: -1, RescueAfter: time.Second}, true},
	}
	for _, tt := range tests {
		if _, err := jobs.New(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: New = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
