package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/edgevault/edgevault/internal/identity"
)

// InsertRefreshToken stores a refresh token's hash.
func (s *Store) InsertRefreshToken(ctx context.Context, t identity.RefreshToken) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO refresh_tokens
		(token_hash, family_id, principal_id, client_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.FamilyID, t.PrincipalID, t.ClientID, t.CreatedAt.UnixNano(), t.ExpiresAt.UnixNano())
	return s.wrap(err, "refresh token")
}

// RedeemRefreshToken consumes a token in one statement: of two concurrent
// redemptions exactly one gets the row.
func (s *Store) RedeemRefreshToken(ctx context.Context, hash []byte, now time.Time) (identity.RefreshToken, error) {
	t := identity.RefreshToken{Hash: hash, UsedAt: now}
	var created, expires int64
	err := s.write.QueryRowContext(ctx, `UPDATE refresh_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING family_id, principal_id, client_id, created_at, expires_at`,
		now.UnixNano(), hash).Scan(&t.FamilyID, &t.PrincipalID, &t.ClientID, &created, &expires)
	t.CreatedAt, t.ExpiresAt = fromNS(sql.NullInt64{Int64: created, Valid: true}), fromNS(sql.NullInt64{Int64: expires, Valid: true})
	return t, s.wrap(err, "refresh token")
}

// RefreshTokenFamily returns the family of a token, used or not.
func (s *Store) RefreshTokenFamily(ctx context.Context, hash []byte) (string, error) {
	var family string
	err := s.read.QueryRowContext(ctx, `SELECT family_id FROM refresh_tokens WHERE token_hash = $1`, hash).Scan(&family)
	return family, s.wrap(err, "refresh token")
}

// RevokeRefreshTokenFamily deletes every token of a family.
func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, familyID string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id = $1`, familyID)
	return s.wrap(err, "refresh tokens")
}

// DeleteExpiredRefreshTokens removes tokens that expired before now.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expires_at <= $1`, now.UnixNano())
	if err != nil {
		return 0, s.wrap(err, "refresh tokens")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
