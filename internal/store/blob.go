package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/edgevault/edgevault/internal/blob"
)

// This file implements blob.Store. A blob is one blob_objects row and one
// blob_chunks row per append; names are compared as bytes (name_b), so
// listing order and markers do not depend on the database collation.

// AppendBlob implements blob.Store: the container upsert, the blob upsert
// (which takes the chunk's offset and seq) and the chunk insert are one
// transaction, so readers see whole appends only.
func (s *Store) AppendBlob(ctx context.Context, account, container, name string, data []byte, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.appendBlob(ctx, tx, account, container, name, data, now) })
}

// appendBlob appends inside tx; the audit exporter's delivery shares the
// transaction with its cursor update (audit_export.go).
func (s *Store) appendBlob(ctx context.Context, tx *sql.Tx, account, container, name string, data []byte, now time.Time) error {
	at := now.UnixNano()
	if _, err := tx.ExecContext(ctx, `INSERT INTO blob_containers (account_key, name, name_b, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (account_key, name_b) DO UPDATE SET modified_at = $4`,
		account, container, []byte(container), at); err != nil {
		return s.wrap(err, "blob container")
	}
	var end, seq int64
	err := tx.QueryRowContext(ctx, `INSERT INTO blob_objects
		(account_key, container, name, name_b, size, appends, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
		ON CONFLICT (account_key, container, name_b) DO UPDATE
		SET size = blob_objects.size + $5, appends = blob_objects.appends + 1,
			modified_at = CASE WHEN blob_objects.modified_at < $6 THEN $6 ELSE blob_objects.modified_at + 1 END
		RETURNING size, appends`,
		account, container, name, []byte(name), int64(len(data)), at).Scan(&end, &seq)
	if err != nil {
		return s.wrap(err, "blob")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO blob_chunks (account_key, container, name_b, seq, off, end_off, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		account, container, []byte(name), seq, end-int64(len(data)), end, data)
	return s.wrap(err, "blob chunk")
}

// ListContainers implements blob.Store.
func (s *Store) ListContainers(ctx context.Context, account string, p blob.Page) ([]blob.Container, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, created_at, modified_at FROM blob_containers
		WHERE account_key = $1 AND name_b > $2 AND ($3 = 0 OR substr(name_b, 1, $3) = $4)
		ORDER BY name_b LIMIT $5`,
		account, []byte(p.After), len(p.Prefix), []byte(p.Prefix), p.Limit)
	if err != nil {
		return nil, s.wrap(err, "blob containers")
	}
	defer rows.Close()
	var out []blob.Container
	for rows.Next() {
		var c blob.Container
		var created, modified int64
		if err := rows.Scan(&c.Name, &created, &modified); err != nil {
			return nil, s.wrap(err, "blob containers")
		}
		c.Created, c.Modified = time.Unix(0, created).UTC(), time.Unix(0, modified).UTC()
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "blob containers")
}

// ListBlobs implements blob.Store.
func (s *Store) ListBlobs(ctx context.Context, account, container string, p blob.Page) ([]blob.Properties, error) {
	var out []blob.Properties
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM blob_containers WHERE account_key = $1 AND name_b = $2`,
			account, []byte(container)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return blob.ErrContainerNotFound
		}
		if err != nil {
			return s.wrap(err, "blob container")
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+blobColumns+` FROM blob_objects
			WHERE account_key = $1 AND container = $2 AND name_b > $3 AND ($4 = 0 OR substr(name_b, 1, $4) = $5)
			ORDER BY name_b LIMIT $6`,
			account, container, []byte(p.After), len(p.Prefix), []byte(p.Prefix), p.Limit)
		if err != nil {
			return s.wrap(err, "blobs")
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBlob(rows)
			if err != nil {
				return s.wrap(err, "blobs")
			}
			out = append(out, b)
		}
		return s.wrap(rows.Err(), "blobs")
	})
	return out, err
}

const blobColumns = `container, name, size, appends, created_at, modified_at`

func scanBlob(r interface{ Scan(...any) error }) (blob.Properties, error) {
	var b blob.Properties
	var created, modified int64
	err := r.Scan(&b.Container, &b.Name, &b.Size, &b.Appends, &created, &modified)
	b.Created, b.Modified = time.Unix(0, created).UTC(), time.Unix(0, modified).UTC()
	return b, err
}

// ReadBlob implements blob.Store. The properties and the chunks come from
// one read transaction, so the bytes match the size and ETag returned.
func (s *Store) ReadBlob(ctx context.Context, account, container, name string, off, n int64) (blob.Properties, []byte, error) {
	var (
		props blob.Properties
		data  []byte
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		props, err = scanBlob(tx.QueryRowContext(ctx, `SELECT `+blobColumns+` FROM blob_objects
			WHERE account_key = $1 AND container = $2 AND name_b = $3`, account, container, []byte(name)))
		if errors.Is(err, sql.ErrNoRows) {
			return blob.ErrBlobNotFound
		}
		if err != nil {
			return s.wrap(err, "blob")
		}
		end := min(off+n, props.Size)
		if n <= 0 || off < 0 || off >= end {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT off, data FROM blob_chunks
			WHERE account_key = $1 AND container = $2 AND name_b = $3 AND off < $4 AND end_off > $5 AND seq <= $6
			ORDER BY off`, account, container, []byte(name), end, off, props.Appends)
		if err != nil {
			return s.wrap(err, "blob chunks")
		}
		defer rows.Close()
		data = make([]byte, 0, end-off)
		for rows.Next() {
			var at int64
			var chunk []byte
			if err := rows.Scan(&at, &chunk); err != nil {
				return s.wrap(err, "blob chunks")
			}
			lo, hi := max(off, at)-at, min(end, at+int64(len(chunk)))-at
			data = append(data, chunk[lo:hi]...)
		}
		if err := rows.Err(); err != nil {
			return s.wrap(err, "blob chunks")
		}
		if int64(len(data)) != end-off {
			return s.wrap(errors.New("blob chunks do not cover the blob"), "blob chunks")
		}
		return nil
	})
	return props, data, err
}

// PurgeAccountBlobs implements blob.Store.
func (s *Store) PurgeAccountBlobs(ctx context.Context, account string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"blob_chunks", "blob_objects", "blob_containers"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_key = $1`, account); err != nil {
				return s.wrap(err, "purge "+table)
			}
		}
		return nil
	})
}

// readTx runs fn in a read-only transaction: one snapshot for all its
// queries (SQLite WAL readers and PostgreSQL REPEATABLE READ both give
// one).
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect.name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return s.wrap(err, "begin read transaction")
	}
	defer tx.Rollback()
	return fn(tx)
}
