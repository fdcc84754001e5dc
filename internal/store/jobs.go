package store

import "database/sql"

// JobsDB returns the pool that the durable job queue (internal/jobs) shares
// with the store, and the dialect name ("sqlite" or "postgres"). Sharing it
// is what lets a job be inserted in the same transaction as the row it works
// on.
//
// With SQLite it is the single writer connection: the queue's writes and
// the store's are then serialised in-process rather than meeting as
// SQLITE_BUSY between two connections (river's SQLite driver asks for a pool
// of one connection for the same reason), and the DSN's pragmas
// (synchronous=FULL, busy_timeout, BEGIN IMMEDIATE) apply to the queue too.
// With PostgreSQL it is the one pool.
func (s *Store) JobsDB() (*sql.DB, string) { return s.write, s.dialect.name }
