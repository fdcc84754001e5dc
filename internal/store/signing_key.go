package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/edgevault/edgevault/internal/token"
)

// SigningKeys returns every stored signing key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT kid, algorithm, public_der, private_sealed, created_at, retired_at
		FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, s.wrap(err, "signing keys")
	}
	defer rows.Close()
	var out []token.StoredKey
	for rows.Next() {
		var (
			k                token.StoredKey
			created, retired sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PublicDER, &k.PrivateSealed, &created, &retired); err != nil {
			return nil, s.wrap(err, "signing keys")
		}
		k.CreatedAt, k.RetiredAt = fromNS(created), fromNS(retired)
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "signing keys")
}

// InsertSigningKey stores k as the active key and retires the previous one,
// in one transaction: there is always exactly one active key.
func (s *Store) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`,
			k.CreatedAt.UnixNano()); err != nil {
			return s.wrap(err, "retire signing key")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, public_der, private_sealed, created_at)
			VALUES ($1, $2, $3, $4, $5)`, k.ID, k.Algorithm, k.PublicDER, k.PrivateSealed, k.CreatedAt.UnixNano())
		return s.wrap(err, "signing key")
	})
}

// DeleteSigningKeysRetiredBefore removes keys retired before t.
func (s *Store) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1`, t.UnixNano())
	if err != nil {
		return 0, s.wrap(err, "signing keys")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
