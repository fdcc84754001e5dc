package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/secret"
)

// This file implements secret.Store. A secret is one row of secrets (name,
// newest version's seq, soft-delete state) and one row of secret_versions
// per version; the newest version is the one whose seq is last_seq.

// versionColumns are read by scanSecretVersion, in this order, from a
// query joining secrets s and secret_versions v.
const versionColumns = `s.vault_uid, s.name, v.version, v.seq, v.value, v.content_type, v.tags, v.enabled,
	v.not_before, v.expires, v.created_at, v.updated_at, s.deleted_at, s.purge_at`

const fromSecretVersions = ` FROM secrets s JOIN secret_versions v
	ON v.vault_uid = s.vault_uid AND v.name_key = s.name_key`

// InsertSecretVersion implements secret.Store. The secret row is created,
// or its last_seq bumped, by one upsert that refuses a soft-deleted row;
// the version row then takes the new seq, in the same transaction.
func (s *Store) InsertSecretVersion(ctx context.Context, r secret.Record) (secret.Record, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO secrets (vault_uid, name_key, name, last_seq)
			VALUES ($1, $2, $3, 1)
			ON CONFLICT (vault_uid, name_key) DO UPDATE SET last_seq = secrets.last_seq + 1
			WHERE secrets.deleted_at IS NULL
			RETURNING name, last_seq`, r.VaultUID, lower(r.Name), r.Name).Scan(&r.Name, &r.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			return secret.ErrDeleted
		}
		if err != nil {
			return s.wrap(err, "secret")
		}
		return s.insertVersion(ctx, tx, r)
	})
	if err != nil {
		return secret.Record{}, err
	}
	r.DeletedAt, r.PurgeAt = time.Time{}, time.Time{}
	return r, nil
}

func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, r secret.Record) error {
	tags, err := json.Marshal(nonNilTags(r.Props.Tags))
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "secret tags")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO secret_versions
		(vault_uid, name_key, version, seq, value, content_type, tags, enabled, not_before, expires, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		r.VaultUID, lower(r.Name), r.Version, r.Seq, r.Sealed, r.Props.ContentType, string(tags), r.Props.Enabled,
		ns(r.Props.NotBefore), ns(r.Props.Expires), r.Created.UnixNano(), r.Updated.UnixNano())
	return s.wrap(err, "secret version")
}

// SecretVersion implements secret.Store.
func (s *Store) SecretVersion(ctx context.Context, vaultUID, name, version string, deleted bool) (secret.Record, error) {
	q := `SELECT ` + versionColumns + fromSecretVersions + `
		WHERE s.vault_uid = $1 AND s.name_key = $2 AND ` + deletedCond(deleted)
	args := []any{vaultUID, lower(name)}
	if version == "" {
		q += ` AND v.seq = s.last_seq`
	} else {
		q += ` AND v.version = $3`
		args = append(args, lower(version))
	}
	r, err := scanSecretVersion(s.read.QueryRowContext(ctx, q, args...))
	return r, s.wrap(err, "secret")
}

func deletedCond(deleted bool) string {
	if deleted {
		return `s.deleted_at IS NOT NULL`
	}
	return `s.deleted_at IS NULL`
}

// UpdateSecretVersion implements secret.Store: one statement, which
// changes nothing once the secret is deleted.
func (s *Store) UpdateSecretVersion(ctx context.Context, r secret.Record) (secret.Record, error) {
	tags, err := json.Marshal(nonNilTags(r.Props.Tags))
	if err != nil {
		return secret.Record{}, errkind.Wrap(errkind.Internal, err, "secret tags")
	}
	res, err := s.write.ExecContext(ctx, `UPDATE secret_versions
		SET content_type = $1, tags = $2, enabled = $3, not_before = $4, expires = $5, updated_at = $6
		WHERE vault_uid = $7 AND name_key = $8 AND version = $9 AND EXISTS (SELECT 1 FROM secrets s
			WHERE s.vault_uid = secret_versions.vault_uid AND s.name_key = secret_versions.name_key AND s.deleted_at IS NULL)`,
		r.Props.ContentType, string(tags), r.Props.Enabled, ns(r.Props.NotBefore), ns(r.Props.Expires), r.Updated.UnixNano(),
		r.VaultUID, lower(r.Name), lower(r.Version))
	if err := s.mustAffect(res, err, "secret"); err != nil {
		return secret.Record{}, err
	}
	return s.SecretVersion(ctx, r.VaultUID, r.Name, r.Version, false)
}

// SecretVersions implements secret.Store.
func (s *Store) SecretVersions(ctx context.Context, vaultUID, name string, afterSeq int64, limit int) ([]secret.Record, error) {
	rs, err := s.querySecrets(ctx, `SELECT `+versionColumns+fromSecretVersions+`
		WHERE s.vault_uid = $1 AND s.name_key = $2 AND s.deleted_at IS NULL AND v.seq > $3
		ORDER BY v.seq LIMIT $4`, vaultUID, lower(name), afterSeq, limit)
	if err != nil || len(rs) > 0 {
		return rs, err
	}
	// An empty page: the end of the list, or no such secret at all.
	var one int
	err = s.read.QueryRowContext(ctx, `SELECT 1 FROM secrets WHERE vault_uid = $1 AND name_key = $2 AND deleted_at IS NULL`,
		vaultUID, lower(name)).Scan(&one)
	return rs, s.wrap(err, "secret")
}

// Secrets implements secret.Store.
func (s *Store) Secrets(ctx context.Context, vaultUID string, deleted bool, afterKey string, limit int) ([]secret.Record, error) {
	return s.querySecrets(ctx, `SELECT `+versionColumns+fromSecretVersions+` AND v.seq = s.last_seq
		WHERE s.vault_uid = $1 AND s.name_key > $2 AND `+deletedCond(deleted)+`
		ORDER BY s.name_key LIMIT $3`, vaultUID, afterKey, limit)
}

func (s *Store) querySecrets(ctx context.Context, q string, args ...any) ([]secret.Record, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "secrets")
	}
	defer rows.Close()
	out := []secret.Record{}
	for rows.Next() {
		r, err := scanSecretVersion(rows)
		if err != nil {
			return nil, s.wrap(err, "secrets")
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "secrets")
}

// DeleteSecret implements secret.Store.
func (s *Store) DeleteSecret(ctx context.Context, vaultUID, name string, at, purgeAt time.Time) (secret.Record, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE secrets SET deleted_at = $1, purge_at = $2
		WHERE vault_uid = $3 AND name_key = $4 AND deleted_at IS NULL`, at.UnixNano(), purgeAt.UnixNano(), vaultUID, lower(name))
	if err := s.mustAffect(res, err, "secret"); err != nil {
		return secret.Record{}, err
	}
	return s.SecretVersion(ctx, vaultUID, name, "", true)
}

// RecoverSecret implements secret.Store.
func (s *Store) RecoverSecret(ctx context.Context, vaultUID, name string) (secret.Record, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE secrets SET deleted_at = NULL, purge_at = NULL
		WHERE vault_uid = $1 AND name_key = $2 AND deleted_at IS NOT NULL`, vaultUID, lower(name))
	if err := s.mustAffect(res, err, "deleted secret"); err != nil {
		return secret.Record{}, err
	}
	return s.SecretVersion(ctx, vaultUID, name, "", false)
}

// PurgeSecret implements secret.Store.
func (s *Store) PurgeSecret(ctx context.Context, vaultUID, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The secret row first: it decides (deleted or not), and its row
		// lock orders this purge against a concurrent recover.
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE vault_uid = $1 AND name_key = $2 AND deleted_at IS NOT NULL`,
			vaultUID, lower(name))
		if err := s.mustAffect(res, err, "deleted secret"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM secret_versions WHERE vault_uid = $1 AND name_key = $2`, vaultUID, lower(name))
		return s.wrap(err, "secret versions")
	})
}

// RestoreSecret implements secret.Store.
func (s *Store) RestoreSecret(ctx context.Context, vaultUID string, versions []secret.Record) (secret.Record, error) {
	if len(versions) == 0 {
		return secret.Record{}, errkind.E(errkind.Invalid, "store: restore without versions")
	}
	name := versions[0].Name
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var got string
		err := tx.QueryRowContext(ctx, `INSERT INTO secrets (vault_uid, name_key, name, last_seq) VALUES ($1, $2, $3, $4)
			ON CONFLICT (vault_uid, name_key) DO NOTHING RETURNING name`,
			vaultUID, lower(name), name, len(versions)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			var deletedAt sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT deleted_at FROM secrets WHERE vault_uid = $1 AND name_key = $2`,
				vaultUID, lower(name)).Scan(&deletedAt); err != nil {
				return s.wrap(err, "secret")
			}
			if deletedAt.Valid {
				return secret.ErrDeleted
			}
			return secret.ErrExists
		}
		if err != nil {
			return s.wrap(err, "secret")
		}
		for i, r := range versions {
			if lower(r.Name) != lower(name) {
				return errkind.E(errkind.Invalid, "store: restore of versions of several secrets")
			}
			r.VaultUID, r.Seq = vaultUID, int64(i+1)
			if err := s.insertVersion(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return secret.Record{}, err
	}
	return s.SecretVersion(ctx, vaultUID, name, "", false)
}

// PurgeVaultSecrets implements secret.Store.
func (s *Store) PurgeVaultSecrets(ctx context.Context, vaultUID string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM secret_versions WHERE vault_uid = $1`, vaultUID); err != nil {
			return s.wrap(err, "secret versions")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE vault_uid = $1`, vaultUID)
		if err != nil {
			return s.wrap(err, "secrets")
		}
		n, err = res.RowsAffected()
		return s.wrap(err, "secrets")
	})
	return int(n), err
}

// PurgeExpiredSecrets implements secret.Store. The secrets are chosen and
// deleted by the same transaction; a row recovered by a concurrent request
// before the delete no longer matches deleted_at IS NOT NULL and stays.
func (s *Store) PurgeExpiredSecrets(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM secrets WHERE (vault_uid, name_key) IN (
				SELECT vault_uid, name_key FROM secrets WHERE deleted_at IS NOT NULL AND purge_at <= $1
				ORDER BY purge_at LIMIT $2)
			AND deleted_at IS NOT NULL
			RETURNING vault_uid, name_key`, now.UnixNano(), limit)
		if err != nil {
			return s.wrap(err, "expired secrets")
		}
		type key struct{ vault, name string }
		var gone []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.vault, &k.name); err != nil {
				rows.Close()
				return s.wrap(err, "expired secrets")
			}
			gone = append(gone, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "expired secrets")
		}
		for _, k := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM secret_versions WHERE vault_uid = $1 AND name_key = $2`,
				k.vault, k.name); err != nil {
				return s.wrap(err, "secret versions")
			}
		}
		n = len(gone)
		return nil
	})
	return n, err
}

func scanSecretVersion(row interface{ Scan(...any) error }) (secret.Record, error) {
	var (
		r                            secret.Record
		tags                         string
		nbf, exp, deletedAt, purgeAt sql.NullInt64
		created, updated             int64
	)
	err := row.Scan(&r.VaultUID, &r.Name, &r.Version, &r.Seq, &r.Sealed, &r.Props.ContentType, &tags, &r.Props.Enabled,
		&nbf, &exp, &created, &updated, &deletedAt, &purgeAt)
	if err != nil {
		return secret.Record{}, err
	}
	if err := json.Unmarshal([]byte(tags), &r.Props.Tags); err != nil {
		return secret.Record{}, errkind.Wrap(errkind.Internal, err, "stored secret tags")
	}
	if len(r.Props.Tags) == 0 {
		r.Props.Tags = nil
	}
	r.Props.NotBefore, r.Props.Expires = fromNS(nbf), fromNS(exp)
	r.Created, r.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	r.DeletedAt, r.PurgeAt = fromNS(deletedAt), fromNS(purgeAt)
	return r, nil
}
