package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

// Storage accounts (storageaccount.Store). An account is one row; the
// unique name_key makes names global.

const accountColumns = `uid, id, location, tags, tenant_id, sku, kind, state, created_by, created_at, updated_at, version`

// InsertAccount inserts a new account; errkind.Conflict when its name is
// held by any account.
func (s *Store) InsertAccount(ctx context.Context, a storageaccount.Account) error {
	tags, err := json.Marshal(nonNilTags(a.Tags))
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO storage_accounts (uid, name_key, subscription_id, group_key, id,
		location, tags, tenant_id, sku, kind, state, created_by, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		a.UID, strings.ToLower(a.Name()), a.ID.SubscriptionID(), strings.ToLower(a.ID.ResourceGroupName()), a.ID.String(),
		a.Location, string(tags), a.TenantID, string(a.SKU), string(a.Kind), string(a.ProvisioningState), a.CreatedBy,
		a.CreatedAt.UnixNano(), a.UpdatedAt.UnixNano(), a.Version)
	return s.wrap(err, "storage account")
}

// UpdateAccount replaces an account's mutable columns when its version is
// still version. The name, uid, id, subscription and group never change.
func (s *Store) UpdateAccount(ctx context.Context, a storageaccount.Account, version int64) error {
	tags, err := json.Marshal(nonNilTags(a.Tags))
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE storage_accounts SET location = $1, tags = $2, tenant_id = $3,
		sku = $4, kind = $5, state = $6, created_by = $7, created_at = $8, updated_at = $9, version = $10
		WHERE uid = $11 AND version = $12`,
		a.Location, string(tags), a.TenantID, string(a.SKU), string(a.Kind), string(a.ProvisioningState), a.CreatedBy,
		a.CreatedAt.UnixNano(), a.UpdatedAt.UnixNano(), a.Version, a.UID, version)
	if err := s.mustAffect(res, err, "storage account"); errkind.KindOf(err) == errkind.NotFound {
		return storageaccount.ErrChanged
	} else if err != nil {
		return err
	}
	return nil
}

// AccountByName returns the account holding a name (any case).
func (s *Store) AccountByName(ctx context.Context, name string) (storageaccount.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM storage_accounts WHERE name_key = $1`,
		strings.ToLower(name)))
	return a, s.wrap(err, "storage account")
}

// Accounts lists accounts of a subscription (or of one of its groups) by
// lower-cased name.
func (s *Store) Accounts(ctx context.Context, f storageaccount.Filter) ([]storageaccount.Account, error) {
	q := `SELECT ` + accountColumns + ` FROM storage_accounts WHERE subscription_id = $1 AND name_key > $2`
	args := []any{f.SubscriptionID, strings.ToLower(f.After)}
	if f.ResourceGroup != "" {
		q += ` AND group_key = $3`
		args = append(args, strings.ToLower(f.ResourceGroup))
	}
	args = append(args, f.Limit)
	q += ` ORDER BY name_key LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "storage accounts")
	}
	defer rows.Close()
	var out []storageaccount.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, s.wrap(err, "storage accounts")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "storage accounts")
}

// DeleteAccount removes an account row: the end of its deletion.
func (s *Store) DeleteAccount(ctx context.Context, uid string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM storage_accounts WHERE uid = $1`, uid)
	return s.mustAffect(res, err, "storage account")
}

func scanAccount(row interface{ Scan(...any) error }) (storageaccount.Account, error) {
	var (
		a                       storageaccount.Account
		id, tags, sku, kind, st string
		created, updated        sql.NullInt64
	)
	if err := row.Scan(&a.UID, &id, &a.Location, &tags, &a.TenantID, &sku, &kind, &st, &a.CreatedBy,
		&created, &updated, &a.Version); err != nil {
		return storageaccount.Account{}, err
	}
	var err error
	if a.ID, err = resource.Parse(id); err != nil {
		return storageaccount.Account{}, errkind.Wrap(errkind.Internal, err, "stored storage account id is corrupt")
	}
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return storageaccount.Account{}, errkind.Wrap(errkind.Internal, err, "stored storage account tags are corrupt")
	}
	a.SKU, a.Kind, a.ProvisioningState = storageaccount.SKU(sku), storageaccount.Kind(kind), storageaccount.State(st)
	a.CreatedAt, a.UpdatedAt = fromNS(created), fromNS(updated)
	return a, nil
}
