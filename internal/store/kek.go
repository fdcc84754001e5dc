package store

import (
	"context"
	"database/sql"

	"github.com/edgevault/edgevault/internal/envelope"
)

// KEKs returns every version of a scope's key-encryption key, oldest first.
func (s *Store) KEKs(ctx context.Context, scope string) ([]envelope.KEKRecord, error) {
	return s.queryKEKs(ctx, `SELECT scope, version, wrapped, root_key_id, created_at FROM keks
		WHERE scope = $1 ORDER BY version`, scope)
}

// InsertKEK stores a new KEK version; a duplicate (scope, version) is a
// Conflict, so two replicas creating version 1 at once keep exactly one.
func (s *Store) InsertKEK(ctx context.Context, r envelope.KEKRecord) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO keks (scope, version, wrapped, root_key_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.Scope, r.Version, r.Wrapped, r.RootKeyID, r.CreatedAt.UnixNano())
	return s.wrap(err, "key-encryption key")
}

// KEKsNotWrappedBy returns up to limit rows not wrapped by rootKeyID.
func (s *Store) KEKsNotWrappedBy(ctx context.Context, rootKeyID string, limit int) ([]envelope.KEKRecord, error) {
	return s.queryKEKs(ctx, `SELECT scope, version, wrapped, root_key_id, created_at FROM keks
		WHERE root_key_id <> $1 ORDER BY scope, version LIMIT $2`, rootKeyID, limit)
}

// RewrapKEK replaces a row's wrapping if it is still wrapped by oldRootKeyID.
func (s *Store) RewrapKEK(ctx context.Context, scope string, version int, oldRootKeyID, newRootKeyID string, wrapped []byte) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE keks SET wrapped = $1, root_key_id = $2
		WHERE scope = $3 AND version = $4 AND root_key_id = $5`, wrapped, newRootKeyID, scope, version, oldRootKeyID)
	if err != nil {
		return false, s.wrap(err, "key-encryption key")
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap(err, "key-encryption key")
}

func (s *Store) queryKEKs(ctx context.Context, query string, args ...any) ([]envelope.KEKRecord, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(err, "key-encryption keys")
	}
	defer rows.Close()
	out := []envelope.KEKRecord{}
	for rows.Next() {
		var (
			r       envelope.KEKRecord
			created sql.NullInt64
		)
		if err := rows.Scan(&r.Scope, &r.Version, &r.Wrapped, &r.RootKeyID, &created); err != nil {
			return nil, s.wrap(err, "key-encryption keys")
		}
		r.CreatedAt = fromNS(created)
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "key-encryption keys")
}
