package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

const groupColumns = `id, location, tags, managed_by, state, etag, created_at, updated_at`

// PutResourceGroup inserts a group (ifETag "") or replaces it when its etag
// is still ifETag (optimistic concurrency: two concurrent PUTs cannot both
// win silently).
func (s *Store) PutResourceGroup(ctx context.Context, g resourcegroup.Group, ifETag string) error {
	tags, err := json.Marshal(nonNilTags(g.Tags))
	if err != nil {
		return err
	}
	if ifETag == "" {
		_, err = s.write.ExecContext(ctx, `INSERT INTO resource_groups
			(id_key, id, subscription_id, name, location, tags, managed_by, state, etag, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			g.ID.Key(), g.ID.String(), g.ID.SubscriptionID(), g.ID.ResourceGroupName(), g.Location, string(tags),
			g.ManagedBy, g.ProvisioningState, g.ETag, g.CreatedAt.UnixNano(), g.UpdatedAt.UnixNano())
		return s.wrap(err, "resource group")
	}
	res, err := s.write.ExecContext(ctx, `UPDATE resource_groups SET tags = $1, managed_by = $2, state = $3, etag = $4, updated_at = $5
		WHERE id_key = $6 AND etag = $7`,
		string(tags), g.ManagedBy, g.ProvisioningState, g.ETag, g.UpdatedAt.UnixNano(), g.ID.Key(), ifETag)
	if err := s.mustAffect(res, err, "resource group"); errkind.KindOf(err) == errkind.NotFound {
		return errkind.E(errkind.PreconditionFailed, "The resource group was changed by another request; retry.")
	} else if err != nil {
		return err
	}
	return nil
}

// ResourceGroup returns a group by id (case-insensitive).
func (s *Store) ResourceGroup(ctx context.Context, id resource.ID) (resourcegroup.Group, error) {
	g, err := scanGroup(s.read.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM resource_groups WHERE id_key = $1`, id.Key()))
	return g, s.wrap(err, "resource group")
}

// ResourceGroups lists a subscription's groups by key, after a key.
func (s *Store) ResourceGroups(ctx context.Context, subscriptionID, after string, limit int) ([]resourcegroup.Group, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+groupColumns+` FROM resource_groups
		WHERE subscription_id = $1 AND id_key > $2 ORDER BY id_key LIMIT $3`, subscriptionID, after, limit)
	if err != nil {
		return nil, s.wrap(err, "resource groups")
	}
	defer rows.Close()
	var out []resourcegroup.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, s.wrap(err, "resource groups")
		}
		out = append(out, g)
	}
	return out, s.wrap(rows.Err(), "resource groups")
}

// SetResourceGroupState changes a group's provisioningState.
func (s *Store) SetResourceGroupState(ctx context.Context, id resource.ID, state string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE resource_groups SET state = $1 WHERE id_key = $2`, state, id.Key())
	return s.mustAffect(res, err, "resource group")
}

// DeleteResourceGroup removes a group row.
func (s *Store) DeleteResourceGroup(ctx context.Context, id resource.ID) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM resource_groups WHERE id_key = $1`, id.Key())
	return s.mustAffect(res, err, "resource group")
}

func scanGroup(row interface{ Scan(...any) error }) (resourcegroup.Group, error) {
	var (
		g                groupRow
		created, updated sql.NullInt64
	)
	if err := row.Scan(&g.id, &g.Location, &g.tags, &g.ManagedBy, &g.ProvisioningState, &g.ETag, &created, &updated); err != nil {
		return resourcegroup.Group{}, err
	}
	id, err := resource.Parse(g.id)
	if err != nil {
		return resourcegroup.Group{}, errkind.Wrap(errkind.Internal, err, "stored resource group id is corrupt")
	}
	out := g.Group
	out.ID = id
	if err := json.Unmarshal([]byte(g.tags), &out.Tags); err != nil {
		return resourcegroup.Group{}, errkind.Wrap(errkind.Internal, err, "stored tags are corrupt")
	}
	out.CreatedAt, out.UpdatedAt = fromNS(created), fromNS(updated)
	return out, nil
}

type groupRow struct {
	resourcegroup.Group
	id, tags string
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}
