package store

import (
	"context"
	"database/sql"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/errkind"
)

const bootstrapSetting = "bootstrap.tenant"

// BootstrappedTenant returns the bootstrap tenant id, or "" before bootstrap.
func (s *Store) BootstrappedTenant(ctx context.Context) (string, error) {
	v, err := s.Setting(ctx, bootstrapSetting)
	if errkind.KindOf(err) == errkind.NotFound {
		return "", nil
	}
	return v, err
}

// CommitBootstrap stores everything a first start creates, all or nothing.
// The settings row is inserted first: a replica that lost the race fails
// there with Conflict before writing anything else.
func (s *Store) CommitBootstrap(ctx context.Context, r bootstrap.Records) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`,
			bootstrapSetting, r.Tenant.ID); err != nil {
			return s.wrap(err, "bootstrap")
		}
		if err := insertTenant(ctx, tx, r.Tenant); err != nil {
			return s.wrap(err, "tenant")
		}
		if err := insertSubscription(ctx, tx, r.Subscription); err != nil {
			return s.wrap(err, "subscription")
		}
		for _, p := range r.Principals {
			if err := insertPrincipal(ctx, tx, p.Principal, p.Credential); err != nil {
				return s.wrap(err, "principal")
			}
		}
		for _, a := range r.RoleAssignments {
			if err := insertRoleAssignment(ctx, tx, a); err != nil {
				return s.wrap(err, "role assignment")
			}
		}
		return nil
	})
}

// Setting returns a named setting.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	return v, s.wrap(err, "setting "+name)
}
