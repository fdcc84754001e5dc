package jobs

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// riverMigrationLock is the PostgreSQL advisory lock key held while River's
// migrations run: rivermigrate takes no lock of its own, and replicas
// starting together would otherwise race to create the same tables. (The
// store's migrations use 7316426913; this one is its neighbour.)
const riverMigrationLock = 7316426914

// migrate brings River's tables up to date. It is idempotent: applied
// versions are recorded in river_migration.
func (q *Queue) migrate(ctx context.Context) error {
	if q.cfg.Dialect == "sqlite" {
		// One process per SQLite database (the server locks its data
		// directory), and its migrations run on the single writer
		// connection, one BEGIN IMMEDIATE transaction each.
		m, err := rivermigrate.New(riversqlite.New(q.cfg.DB), &rivermigrate.Config{Logger: q.log})
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	}
	// A session-level lock on a connection of its own: the migrations run
	// one transaction per version on other connections of the pool (River
	// deprecates running them all in one transaction), and the other
	// replicas wait here until they are done.
	conn, err := q.cfg.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", riverMigrationLock); err != nil {
		return fmt.Errorf("jobs: migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverMigrationLock); err != nil {
			// Discard the connection rather than pool it: ending the
			// session releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	m, err := rivermigrate.New(riverdatabasesql.New(q.cfg.DB), &rivermigrate.Config{Logger: q.log, Schema: q.cfg.Schema})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}
