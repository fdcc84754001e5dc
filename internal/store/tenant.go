package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/edgevault/edgevault/internal/principal"
)

// Tenant returns a tenant by id.
func (s *Store) Tenant(ctx context.Context, id string) (principal.Tenant, error) {
	var (
		t       principal.Tenant
		created sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, display_name, created_at FROM tenants WHERE id = $1`, id).
		Scan(&t.ID, &t.DisplayName, &created)
	t.CreatedAt = fromNS(created)
	return t, s.wrap(err, "tenant")
}

// Subscription returns a subscription by id.
func (s *Store) Subscription(ctx context.Context, id string) (principal.Subscription, error) {
	var (
		sub     principal.Subscription
		created sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, tenant_id, display_name, state, created_at FROM subscriptions WHERE id = $1`,
		strings.ToLower(id)).Scan(&sub.ID, &sub.TenantID, &sub.DisplayName, &sub.State, &created)
	sub.CreatedAt = fromNS(created)
	return sub, s.wrap(err, "subscription")
}

// Subscriptions lists a tenant's subscriptions.
func (s *Store) Subscriptions(ctx context.Context, tenantID string) ([]principal.Subscription, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, tenant_id, display_name, state, created_at
		FROM subscriptions WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, s.wrap(err, "subscriptions")
	}
	defer rows.Close()
	var out []principal.Subscription
	for rows.Next() {
		var (
			sub     principal.Subscription
			created sql.NullInt64
		)
		if err := rows.Scan(&sub.ID, &sub.TenantID, &sub.DisplayName, &sub.State, &created); err != nil {
			return nil, s.wrap(err, "subscriptions")
		}
		sub.CreatedAt = fromNS(created)
		out = append(out, sub)
	}
	return out, s.wrap(rows.Err(), "subscriptions")
}

func insertTenant(ctx context.Context, db execer, t principal.Tenant) error {
	_, err := db.ExecContext(ctx, `INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)`,
		t.ID, t.DisplayName, t.CreatedAt.UnixNano())
	return err
}

func insertSubscription(ctx context.Context, db execer, sub principal.Subscription) error {
	_, err := db.ExecContext(ctx, `INSERT INTO subscriptions (id, tenant_id, display_name, state, created_at)
		VALUES ($1, $2, $3, $4, $5)`, sub.ID, sub.TenantID, sub.DisplayName, sub.State, sub.CreatedAt.UnixNano())
	return err
}
