package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/resource"
)

// Vaults (keyvault.Store). A vault is one row, live or soft-deleted; the
// unique name_key is what makes names global and keeps a soft-deleted
// vault's name reserved. Access policies are a JSON column: they are read
// and written with their vault, never on their own.

const vaultColumns = `uid, id, location, tags, tenant_id, sku, policies, retention_days, purge_protection,
	deployment, disk_encryption, template_deployment, public_network_access, state, created_by,
	created_at, updated_at, deleted_at, scheduled_purge_at, purging, version`

// policyRow is an access policy as stored.
type policyRow struct {
	TenantID      string         `json:"tenantId"`
	ObjectID      string         `json:"objectId"`
	ApplicationID string         `json:"applicationId,omitempty"`
	Permissions   permissionsRow `json:"permissions"`
}

type permissionsRow struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

func encodePolicies(ps []keyvault.AccessPolicy) (string, error) {
	rows := make([]policyRow, len(ps))
	for i, p := range ps {
		rows[i] = policyRow{TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: permissionsRow{Keys: p.Permissions.Keys, Secrets: p.Permissions.Secrets,
				Certificates: p.Permissions.Certificates, Storage: p.Permissions.Storage}}
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

func decodePolicies(s string) ([]keyvault.AccessPolicy, error) {
	var rows []policyRow
	if err := json.Unmarshal([]byte(s), &rows); err != nil {
		return nil, err
	}
	out := make([]keyvault.AccessPolicy, len(rows))
	for i, r := range rows {
		out[i] = keyvault.AccessPolicy{TenantID: r.TenantID, ObjectID: r.ObjectID, ApplicationID: r.ApplicationID,
			Permissions: keyvault.Permissions{Keys: nonNil(r.Permissions.Keys), Secrets: nonNil(r.Permissions.Secrets),
				Certificates: nonNil(r.Permissions.Certificates), Storage: nonNil(r.Permissions.Storage)}}
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// vaultArgs are the values of every column but uid, in vaultColumns order
// after uid.
func vaultArgs(v keyvault.Vault) ([]any, error) {
	tags, err := json.Marshal(nonNilTags(v.Tags))
	if err != nil {
		return nil, err
	}
	pols, err := encodePolicies(v.Policies)
	if err != nil {
		return nil, err
	}
	return []any{v.ID.String(), v.Location, string(tags), v.TenantID, v.SKU, pols, v.Retention, v.PurgeProtection,
		v.EnabledForDeployment, v.EnabledForDiskEncryption, v.EnabledForTemplateDeployment, v.PublicNetworkAccess,
		v.ProvisioningState, v.CreatedBy, v.CreatedAt.UnixNano(), v.UpdatedAt.UnixNano(), ns(v.DeletedAt),
		ns(v.ScheduledPurgeAt), v.Purging, v.Version}, nil
}

// InsertVault inserts a new vault; errkind.Conflict when its name is held
// by any vault, live or deleted.
func (s *Store) InsertVault(ctx context.Context, v keyvault.Vault) error {
	args, err := vaultArgs(v)
	if err != nil {
		return err
	}
	args = append([]any{v.UID, strings.ToLower(v.Name()), v.ID.SubscriptionID(), strings.ToLower(v.ID.ResourceGroupName())}, args...)
	_, err = s.write.ExecContext(ctx, `INSERT INTO vaults (uid, name_key, subscription_id, group_key, id, location, tags,
		tenant_id, sku, policies, retention_days, purge_protection, deployment, disk_encryption, template_deployment,
		public_network_access, state, created_by, created_at, updated_at, deleted_at, scheduled_purge_at, purging, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		args...)
	return s.wrap(err, "vault")
}

// UpdateVault replaces a vault's mutable columns when its version is still
// version. The name, uid, subscription and group never change.
func (s *Store) UpdateVault(ctx context.Context, v keyvault.Vault, version int64) error {
	args, err := vaultArgs(v)
	if err != nil {
		return err
	}
	args = append(args[1:], v.UID, version) // the id is fixed
	res, err := s.write.ExecContext(ctx, `UPDATE vaults SET location = $1, tags = $2, tenant_id = $3, sku = $4,
		policies = $5, retention_days = $6, purge_protection = $7, deployment = $8, disk_encryption = $9,
		template_deployment = $10, public_network_access = $11, state = $12, created_by = $13, created_at = $14,
		updated_at = $15, deleted_at = $16, scheduled_purge_at = $17, purging = $18, version = $19
		WHERE uid = $20 AND version = $21`, args...)
	if err := s.mustAffect(res, err, "vault"); errkind.KindOf(err) == errkind.NotFound {
		return keyvault.ErrChanged
	} else if err != nil {
		return err
	}
	return nil
}

// VaultByName returns the vault holding a name (any case), live or deleted.
func (s *Store) VaultByName(ctx context.Context, name string) (keyvault.Vault, error) {
	v, err := scanVault(s.read.QueryRowContext(ctx, `SELECT `+vaultColumns+` FROM vaults WHERE name_key = $1`, strings.ToLower(name)))
	return v, s.wrap(err, "vault")
}

// Vaults lists vaults of a subscription (or of one of its groups) in one
// state, by lower-cased name.
func (s *Store) Vaults(ctx context.Context, f keyvault.Filter) ([]keyvault.Vault, error) {
	q := `SELECT ` + vaultColumns + ` FROM vaults WHERE subscription_id = $1 AND name_key > $2`
	args := []any{f.SubscriptionID, f.After}
	if f.ResourceGroup != "" {
		q += ` AND group_key = $3`
		args = append(args, strings.ToLower(f.ResourceGroup))
	}
	switch f.State {
	case keyvault.Live:
		q += ` AND deleted_at IS NULL`
	case keyvault.Deleted:
		q += ` AND deleted_at IS NOT NULL`
	}
	args = append(args, f.Limit)
	q += ` ORDER BY name_key LIMIT $` + strconv.Itoa(len(args))
	return s.queryVaults(ctx, q, args...)
}

// DueVaults lists deleted vaults whose purge has begun or is due at now.
func (s *Store) DueVaults(ctx context.Context, now time.Time, limit int) ([]keyvault.Vault, error) {
	return s.queryVaults(ctx, `SELECT `+vaultColumns+` FROM vaults
		WHERE deleted_at IS NOT NULL AND (purging = $1 OR scheduled_purge_at <= $2)
		ORDER BY name_key LIMIT $3`, true, now.UnixNano(), limit)
}

// DeleteVault removes a vault row: the end of a purge.
func (s *Store) DeleteVault(ctx context.Context, uid string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM vaults WHERE uid = $1`, uid)
	return s.mustAffect(res, err, "vault")
}

func (s *Store) queryVaults(ctx context.Context, q string, args ...any) ([]keyvault.Vault, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "vaults")
	}
	defer rows.Close()
	var out []keyvault.Vault
	for rows.Next() {
		v, err := scanVault(rows)
		if err != nil {
			return nil, s.wrap(err, "vaults")
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), "vaults")
}

func scanVault(row interface{ Scan(...any) error }) (keyvault.Vault, error) {
	var (
		v                                  keyvault.Vault
		id, tags, pols                     string
		created, updated, deleted, purgeAt sql.NullInt64
	)
	if err := row.Scan(&v.UID, &id, &v.Location, &tags, &v.TenantID, &v.SKU, &pols, &v.Retention, &v.PurgeProtection,
		&v.EnabledForDeployment, &v.EnabledForDiskEncryption, &v.EnabledForTemplateDeployment, &v.PublicNetworkAccess,
		&v.ProvisioningState, &v.CreatedBy, &created, &updated, &deleted, &purgeAt, &v.Purging, &v.Version); err != nil {
		return keyvault.Vault{}, err
	}
	var err error
	if v.ID, err = resource.Parse(id); err != nil {
		return keyvault.Vault{}, errkind.Wrap(errkind.Internal, err, "stored vault id is corrupt")
	}
	if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
		return keyvault.Vault{}, errkind.Wrap(errkind.Internal, err, "stored vault tags are corrupt")
	}
	if v.Policies, err = decodePolicies(pols); err != nil {
		return keyvault.Vault{}, errkind.Wrap(errkind.Internal, err, "stored access policies are corrupt")
	}
	v.CreatedAt, v.UpdatedAt, v.DeletedAt, v.ScheduledPurgeAt = fromNS(created), fromNS(updated), fromNS(deleted), fromNS(purgeAt)
	return v, nil
}
