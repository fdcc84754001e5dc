package store_test

import (
	"context"
	"os"
	"testing"

	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, OpenSQLite)
}

// OpenSQLite opens a fresh SQLite store in a temporary directory.
func OpenSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgres(t *testing.T) {
	base := os.Getenv("EDGEVAULT_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("EDGEVAULT_TEST_POSTGRES_URL not set")
	}
	storetest.Run(t, func(t *testing.T) *store.Store { return openPostgres(t, base) })
}

// openPostgres opens a store in a fresh schema of the test database, so
// tests never see each other's rows and leave nothing behind.
func openPostgres(t *testing.T, base string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: pgtest.SchemaURL(t, base)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CommitBootstrap(ctx, storetest.SampleRecords()); err != nil {
		t.Fatal(err)
	}
	tenant, _ := s.BootstrappedTenant(ctx)
	s.Close()
	s, err = store.Open(ctx, store.Config{DataDir: dir}) // migrations are idempotent
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.BootstrappedTenant(ctx); err != nil || got != tenant {
		t.Fatalf("after reopen: %q, %v; want %q", got, err, tenant)
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	if _, err := store.Open(context.Background(), store.Config{URL: "mysql://x"}); err == nil {
		t.Fatal("mysql URL accepted")
	}
}
