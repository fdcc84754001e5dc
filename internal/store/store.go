// Package store is edgevault's persistence adapter: hand-written SQL over
// database/sql, one SQL text for SQLite (the embedded default, through
// modernc.org/sqlite) and PostgreSQL (through pgx) wherever the dialects
// allow, with the differences in dialect.go. It implements the Store
// interfaces that domain packages declare; domain packages never see SQL.
//
// Invariants:
//   - An acknowledged write is durable: SQLite runs in WAL mode with
//     synchronous=FULL, PostgreSQL with its default (fsync'd) commits.
//   - SQLite has one writer connection (transactions start with BEGIN
//     IMMEDIATE so they never deadlock upgrading a read lock) and a pool of
//     read-only connections; PostgreSQL uses one pool for both.
//   - Schema changes are forward-only numbered migrations embedded per
//     dialect, applied at Open under a lock so replicas can start together.
//   - Times are stored as BIGINT Unix nanoseconds, UTC.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Config says which database to open.
type Config struct {
	// URL is empty for the embedded SQLite database, or a postgres:// or
	// postgresql:// URL.
	URL string
	// DataDir holds the SQLite file (edgevault.db) when URL is empty.
	DataDir string
}

// Store is an open database.
type Store struct {
	dialect dialect
	write   *sql.DB // SQLite: exactly one connection
	read    *sql.DB // SQLite: read-only pool; PostgreSQL: same as write
}

// Open opens (creating if needed) the database and applies migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch {
	case cfg.URL == "":
		if cfg.DataDir == "" {
			return nil, errors.New("store: DataDir is required for SQLite")
		}
		s, err = openSQLite(filepath.Join(cfg.DataDir, "edgevault.db"))
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		s, err = openPostgres(cfg.URL)
	default:
		return nil, errors.New("store: --database-url must be empty (SQLite) or a postgres:// URL")
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close closes the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Ping checks that the database answers a query (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.write.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.wrap(err, "database unreachable")
	}
	return nil
}

// tx runs fn in a write transaction and commits when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "begin transaction")
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "commit")
	}
	return nil
}

// wrap classifies a driver error: unique violations become Conflict,
// sql.ErrNoRows NotFound, cancellations stay as they are, anything else
// Unavailable (the database failed us; the request may be retried).
func (s *Store) wrap(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return errkind.Wrap(errkind.NotFound, err, what+": not found")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case s.dialect.isUniqueViolation(err):
		return errkind.Wrap(errkind.Conflict, err, what+": already exists")
	case errkind.KindOf(err) != errkind.Other:
		return err
	}
	return errkind.Wrap(errkind.Unavailable, err, fmt.Sprintf("database error (%s)", what))
}

// ns converts a time to the stored form; the zero time is stored as NULL.
func ns(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNS converts a stored time back; NULL becomes the zero time.
func fromNS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

// lower folds a resource id or name for case-insensitive comparison, the
// way ARM compares them (ordinal, invariant culture: ASCII folding is what
// ARM names allow).
func lower(s string) string { return strings.ToLower(s) }
