// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the database EDGEVAULT_TEST_POSTGRES_URL names, selected through
// the URL's search_path and dropped when the test ends, so tests never see
// each other's rows and leave nothing behind. It is for tests only.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvVar names the base URL of the test database.
const EnvVar = "EDGEVAULT_TEST_POSTGRES_URL"

// Base returns the test database URL, or "" when PostgreSQL tests are off.
func Base() string { return os.Getenv(EnvVar) }

// URL returns a URL for a fresh schema, skipping the test when
// EDGEVAULT_TEST_POSTGRES_URL is unset.
func URL(tb testing.TB) string {
	tb.Helper()
	base := Base()
	if base == "" {
		tb.Skip(EnvVar + " not set")
	}
	return SchemaURL(tb, base)
}

// SchemaURL creates a fresh schema in the database base names and returns
// base with that schema as its search_path. The schema is dropped at the
// end of the test (registered now, so it runs after cleanups registered
// later, such as stopping servers that use it).
func SchemaURL(tb testing.TB, base string) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "evtest_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
