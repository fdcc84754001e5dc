package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// lockGenerationSetting names the settings row that counts lock writes;
// lock.Service instances poll it to learn about other replicas' writes.
const lockGenerationSetting = "locks.generation"

const lockColumns = `id, level, notes, owners, created_by, created_at, updated_at`

// lockOwner is the stored JSON form of a lock owner.
type lockOwner struct {
	ApplicationID string `json:"applicationId"`
}

// PutLock inserts a lock or replaces the mutable fields of the lock with
// the same id, and increments the lock generation, in one transaction.
// The generation is bumped first: its row lock (PostgreSQL) orders every
// lock write, so generations commit in increasing order.
func (s *Store) PutLock(ctx context.Context, l lock.Lock) (stored lock.Lock, created bool, gen int64, err error) {
	owners := make([]lockOwner, 0, len(l.Owners))
	for _, o := range l.Owners {
		owners = append(owners, lockOwner{ApplicationID: o.ApplicationID})
	}
	ownersJSON, err := json.Marshal(owners)
	if err != nil {
		return lock.Lock{}, false, 0, errkind.Wrap(errkind.Internal, err, "lock owners")
	}
	stored = l
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if gen, err = s.bumpLockGeneration(ctx, tx); err != nil {
			return err
		}
		// Insert-or-nothing, then update: unlike one upsert, this tells
		// creation from replacement in both dialects.
		var key string
		err = tx.QueryRowContext(ctx, `INSERT INTO locks
			(id_key, id, scope_key, name, level, notes, owners, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id_key) DO NOTHING RETURNING id_key`,
			l.ID.Key(), l.ID.String(), l.Scope().Key(), l.Name(), string(l.Level), l.Notes, string(ownersJSON),
			l.CreatedBy, l.CreatedAt.UnixNano(), l.UpdatedAt.UnixNano()).Scan(&key)
		switch {
		case err == nil:
			created = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return s.wrap(err, "lock")
		}
		var (
			id        string
			createdAt sql.NullInt64
		)
		err = tx.QueryRowContext(ctx, `UPDATE locks SET level = $2, notes = $3, owners = $4, updated_at = $5
			WHERE id_key = $1 RETURNING id, created_by, created_at`,
			l.ID.Key(), string(l.Level), l.Notes, string(ownersJSON), l.UpdatedAt.UnixNano()).
			Scan(&id, &stored.CreatedBy, &createdAt)
		if err != nil {
			return s.wrap(err, "lock")
		}
		stored.CreatedAt = fromNS(createdAt)
		stored.ID, err = parseStoredID(id)
		return err
	})
	if err != nil {
		return lock.Lock{}, false, 0, err
	}
	return stored, created, gen, nil
}

// DeleteLock deletes a lock and increments the lock generation in the
// same transaction. The generation is bumped first, as in PutLock, so lock
// writes always take their row locks in the same order (no deadlock); when
// there was no lock, the transaction rolls back and the generation stays.
func (s *Store) DeleteLock(ctx context.Context, id resource.ID) (existed bool, gen int64, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if gen, err = s.bumpLockGeneration(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE id_key = $1`, id.Key())
		if err != nil {
			return s.wrap(err, "lock")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoLock
		}
		return nil
	})
	switch {
	case errors.Is(err, errNoLock):
		return false, 0, nil
	case err != nil:
		return false, 0, err
	}
	return true, gen, nil
}

// errNoLock rolls back a DeleteLock that found nothing to delete.
var errNoLock = errors.New("store: no such lock")

// bumpLockGeneration increments the lock generation and returns it. Every
// lock write calls it inside its transaction.
//
// It is also the guard for store code that deletes a container (a
// resource group) and must not race a lock being created inside it: call
// it first in the deleting transaction, which then waits for, and makes
// later lock writes wait for, that transaction; read the locks with
// locksAtOrAbove and locksBelow passing tx.QueryContext; and let
// lock.Evaluate(lock.Delete, scope, true, locks) decide before deleting.
func (s *Store) bumpLockGeneration(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v string
	err := tx.QueryRowContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, '1')
		ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)
		RETURNING value`, lockGenerationSetting).Scan(&v)
	if err != nil {
		return 0, s.wrap(err, "lock generation")
	}
	return parseGeneration(v)
}

// LockGeneration returns the number of lock writes so far (0 before any).
func (s *Store) LockGeneration(ctx context.Context) (int64, error) {
	v, err := s.Setting(ctx, lockGenerationSetting)
	if errkind.KindOf(err) == errkind.NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return parseGeneration(v)
}

func parseGeneration(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errkind.Wrap(errkind.Internal, err, "lock generation is not a number")
	}
	return n, nil
}

// LockByID returns one lock.
func (s *Store) LockByID(ctx context.Context, id resource.ID) (lock.Lock, error) {
	locks, err := s.queryLocks(ctx, s.read.QueryContext, `SELECT `+lockColumns+` FROM locks WHERE id_key = $1`, id.Key())
	if err != nil {
		return lock.Lock{}, err
	}
	if len(locks) == 0 {
		return lock.Lock{}, errkind.Wrap(errkind.NotFound, sql.ErrNoRows, "lock: not found")
	}
	return locks[0], nil
}

// LocksAtOrAbove returns the locks at scope and at each of its ancestors.
func (s *Store) LocksAtOrAbove(ctx context.Context, scope resource.ID) ([]lock.Lock, error) {
	return s.locksAtOrAbove(ctx, s.read.QueryContext, scope)
}

// LocksBelow returns the locks strictly below scope.
func (s *Store) LocksBelow(ctx context.Context, scope resource.ID) ([]lock.Lock, error) {
	return s.locksBelow(ctx, s.read.QueryContext, scope)
}

// AllLocks returns every lock, and the generation read before them.
func (s *Store) AllLocks(ctx context.Context) (int64, []lock.Lock, error) {
	gen, err := s.LockGeneration(ctx)
	if err != nil {
		return 0, nil, err
	}
	locks, err := s.queryLocks(ctx, s.read.QueryContext, `SELECT `+lockColumns+` FROM locks`)
	if err != nil {
		return 0, nil, err
	}
	return gen, locks, nil
}

// queryFunc is the QueryContext method of a *sql.DB or a *sql.Tx, so the
// lock reads also serve inside another aggregate's transaction.
type queryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

func (s *Store) locksAtOrAbove(ctx context.Context, query queryFunc, scope resource.ID) ([]lock.Lock, error) {
	ancestors := scope.Ancestors()
	args := make([]any, len(ancestors))
	marks := make([]string, len(ancestors))
	for i, a := range ancestors {
		args[i] = a.Key()
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	return s.queryLocks(ctx, query, `SELECT `+lockColumns+` FROM locks
		WHERE scope_key IN (`+strings.Join(marks, ", ")+`)`, args...)
}

// locksBelow matches scope keys by an escaped LIKE prefix: '_' is legal in
// resource names and must not match any character. Keys are lower-cased,
// so SQLite's case-insensitive LIKE and PostgreSQL's case-sensitive one
// agree.
func (s *Store) locksBelow(ctx context.Context, query queryFunc, scope resource.ID) ([]lock.Lock, error) {
	prefix := scope.Key()
	if !strings.HasSuffix(prefix, "/") { // the root's key is "/" already
		prefix += "/"
	}
	return s.queryLocks(ctx, query, `SELECT `+lockColumns+` FROM locks
		WHERE scope_key LIKE $1 ESCAPE '\'`, likeEscaper.Replace(prefix)+"%")
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *Store) queryLocks(ctx context.Context, query queryFunc, q string, args ...any) ([]lock.Lock, error) {
	rows, err := query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "locks")
	}
	defer rows.Close()
	var out []lock.Lock
	for rows.Next() {
		var (
			l                lock.Lock
			id, level        string
			owners           string
			created, updated sql.NullInt64
		)
		if err := rows.Scan(&id, &level, &l.Notes, &owners, &l.CreatedBy, &created, &updated); err != nil {
			return nil, s.wrap(err, "locks")
		}
		if l.ID, err = parseStoredID(id); err != nil {
			return nil, err
		}
		var stored []lockOwner
		if err := json.Unmarshal([]byte(owners), &stored); err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "stored lock owners are not JSON")
		}
		for _, o := range stored {
			l.Owners = append(l.Owners, lock.Owner{ApplicationID: o.ApplicationID})
		}
		l.Level, l.CreatedAt, l.UpdatedAt = lock.Level(level), fromNS(created), fromNS(updated)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "locks")
	}
	sortLocks(out)
	return out, nil
}

// sortLocks orders locks by scope, then id, comparing keys byte by byte:
// in Go rather than by ORDER BY, whose order would follow PostgreSQL's
// collation ('/' sorts after digits in en_US) and differ from SQLite's.
func sortLocks(locks []lock.Lock) {
	type keyed struct {
		scope, id string
		l         lock.Lock
	}
	ks := make([]keyed, len(locks))
	for i, l := range locks {
		ks[i] = keyed{l.Scope().Key(), l.ID.Key(), l}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Or(strings.Compare(a.scope, b.scope), strings.Compare(a.id, b.id)) })
	for i := range ks {
		locks[i] = ks[i].l
	}
}

func parseStoredID(s string) (resource.ID, error) {
	id, err := resource.Parse(s)
	if err != nil {
		return resource.ID{}, errkind.Wrap(errkind.Internal, err, "stored lock id is not a resource id")
	}
	return id, nil
}
