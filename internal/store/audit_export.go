package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// This file implements auditexport.Store: the export cursors, and a
// delivery's blob appends committed with its cursor's move.

// ExportCursor implements auditexport.Store.
func (s *Store) ExportCursor(ctx context.Context, settingKey, resourceKey string) (auditexport.Cursor, error) {
	c := auditexport.Cursor{SettingKey: settingKey, ResourceKey: resourceKey}
	var created int64
	err := s.read.QueryRowContext(ctx, `SELECT setting_created, after_id FROM audit_export_cursors
		WHERE setting_key = $1 AND resource_key = $2`, settingKey, resourceKey).Scan(&created, &c.After)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return c, nil
	case err != nil:
		return c, s.wrap(err, "audit export cursor")
	}
	c.Found, c.SettingCreated = true, time.Unix(0, created).UTC()
	return c, nil
}

// DeliverAudit implements auditexport.Store. The cursor moves first, as a
// compare-and-swap: on PostgreSQL a second replica's UPDATE waits for the
// first's row lock, then finds the cursor moved and changes nothing (its
// INSERT of a new cursor conflicts likewise), so its transaction rolls
// back before it touches a blob. The account row is then read (FOR SHARE
// on PostgreSQL, so a deletion that marks it Deleting waits for this
// commit and its purge removes what this batch appended).
func (s *Store) DeliverAudit(ctx context.Context, d auditexport.Delivery) error {
	from, now := d.From, d.Now.UnixNano()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var (
			res sql.Result
			err error
		)
		if from.Found {
			res, err = tx.ExecContext(ctx, `UPDATE audit_export_cursors SET setting_created = $3, after_id = $4, updated_at = $5
				WHERE setting_key = $1 AND resource_key = $2 AND setting_created = $6 AND after_id = $7`,
				from.SettingKey, from.ResourceKey, d.SettingCreated.UnixNano(), d.After, now,
				from.SettingCreated.UnixNano(), from.After)
		} else {
			res, err = tx.ExecContext(ctx, `INSERT INTO audit_export_cursors
				(setting_key, resource_key, setting_created, after_id, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (setting_key, resource_key) DO NOTHING`,
				from.SettingKey, from.ResourceKey, d.SettingCreated.UnixNano(), d.After, now)
		}
		if err != nil {
			return s.wrap(err, "audit export cursor")
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return s.wrap(err, "audit export cursor")
			}
			return auditexport.ErrCursorMoved
		}
		lockRow := ""
		if s.dialect.name == postgresDialect.name {
			lockRow = " FOR SHARE"
		}
		var uid, id, state string
		err = tx.QueryRowContext(ctx, `SELECT uid, id, state FROM storage_accounts WHERE name_key = $1`+lockRow,
			lower(d.Account.Name())).Scan(&uid, &id, &state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return auditexport.ErrAccountGone
		case err != nil:
			return s.wrap(err, "storage account")
		case storageaccount.State(state) == storageaccount.Deleting, d.AccountUID != "" && uid != d.AccountUID:
			return auditexport.ErrAccountGone
		}
		if stored, err := resource.Parse(id); err != nil || !stored.Equal(d.Account) {
			return auditexport.ErrAccountGone // an account of that name elsewhere
		}
		for _, a := range d.Appends {
			if err := s.appendBlob(ctx, tx, d.Account.Key(), auditexport.Container, a.Blob, a.Data, d.Now); err != nil {
				return err
			}
		}
		return nil
	})
}
