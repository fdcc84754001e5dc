package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/activation"
)

// Activation keys (activation.Store). A key is one activation_keys row;
// revoked_at and used_at are NULL until the key is revoked or used.

var _ activation.Store = (*Store)(nil)

const activationKeyColumns = `id, device_uid, secret_hash, created_by, created_at, expires_at, revoked_at, used_at,
	used_serial, used_key`

// InsertActivationKey implements activation.Store: the device's keys that
// are neither used nor revoked are revoked at k.CreatedAt, and k inserted,
// in one transaction, so a device never has two keys it could activate
// with.
func (s *Store) InsertActivationKey(ctx context.Context, k activation.Key) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE activation_keys SET revoked_at = $1
			WHERE device_uid = $2 AND used_at IS NULL AND revoked_at IS NULL`,
			k.CreatedAt.UnixNano(), k.DeviceUID); err != nil {
			return s.wrap(err, "activation keys")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO activation_keys (`+activationKeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			k.ID, k.DeviceUID, k.SecretHash, k.CreatedBy, k.CreatedAt.UnixNano(), k.ExpiresAt.UnixNano(),
			ns(k.RevokedAt), ns(k.UsedAt), k.UsedBySerial, k.UsedByKey)
		return s.wrap(err, "activation key")
	})
}

// ActivationKey implements activation.Store.
func (s *Store) ActivationKey(ctx context.Context, id string) (activation.Key, error) {
	k, err := scanActivationKey(s.read.QueryRowContext(ctx,
		`SELECT `+activationKeyColumns+` FROM activation_keys WHERE id = $1`, id))
	return k, s.wrap(err, "activation key")
}

// ActivationKeys implements activation.Store; keys created at the same
// instant are ordered by id, so pages are stable.
func (s *Store) ActivationKeys(ctx context.Context, deviceUID string, limit int) ([]activation.Key, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+activationKeyColumns+` FROM activation_keys
		WHERE device_uid = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, deviceUID, limit)
	if err != nil {
		return nil, s.wrap(err, "activation keys")
	}
	defer rows.Close()
	var out []activation.Key
	for rows.Next() {
		k, err := scanActivationKey(rows)
		if err != nil {
			return nil, s.wrap(err, "activation keys")
		}
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "activation keys")
}

// RevokeActivationKeys implements activation.Store with one UPDATE; the
// ids it returns are sorted. Keys of other devices among ids are left
// alone.
func (s *Store) RevokeActivationKeys(ctx context.Context, deviceUID string, ids []string, at time.Time) ([]string, error) {
	q := `UPDATE activation_keys SET revoked_at = $1
		WHERE device_uid = $2 AND used_at IS NULL AND revoked_at IS NULL`
	args := []any{at.UnixNano(), deviceUID}
	if len(ids) > 0 {
		marks := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		q += ` AND id IN (` + strings.Join(marks, ", ") + `)`
	}
	rows, err := s.write.QueryContext(ctx, q+` RETURNING id`, args...)
	if err != nil {
		return nil, s.wrap(err, "activation keys")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap(err, "activation keys")
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "activation keys")
	}
	slices.Sort(out)
	return out, nil
}

// UseActivationKey implements activation.Store. The single conditional
// UPDATE is the whole decision (STYLE.md: single-use credentials are
// consumed in one statement): of concurrent callers, the database lets one
// change the row and the others match nothing. A caller that matched
// nothing reads the key to learn why.
func (s *Store) UseActivationKey(ctx context.Context, id string, hash []byte, serial, deviceKey string, at time.Time) (activation.Key, bool, error) {
	k, err := scanActivationKey(s.write.QueryRowContext(ctx, `UPDATE activation_keys
		SET used_at = $1, used_serial = $2, used_key = $3
		WHERE id = $4 AND secret_hash = $5 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		RETURNING `+activationKeyColumns,
		at.UnixNano(), serial, deviceKey, id, hash))
	switch {
	case err == nil:
		return k, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return activation.Key{}, false, s.wrap(err, "activation key")
	}
	k, err = s.ActivationKey(ctx, id)
	if err != nil {
		return activation.Key{}, false, err
	}
	return k, false, nil
}

func scanActivationKey(row interface{ Scan(...any) error }) (activation.Key, error) {
	var (
		k                activation.Key
		created, expires int64
		revoked, used    sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.DeviceUID, &k.SecretHash, &k.CreatedBy, &created, &expires, &revoked, &used,
		&k.UsedBySerial, &k.UsedByKey); err != nil {
		return activation.Key{}, err
	}
	k.CreatedAt, k.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	k.RevokedAt, k.UsedAt = fromNS(revoked), fromNS(used)
	return k, nil
}
