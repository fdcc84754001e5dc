package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
)

const principalColumns = `object_id, tenant_id, kind, display_name, COALESCE(user_name, ''), COALESCE(client_id, ''),
	COALESCE(password_hash, ''), secret_hash, secret_created_at, enabled, admin, created_at`

// execer is what *sql.DB and *sql.Tx have in common for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreatePrincipal stores a principal and its credential.
func (s *Store) CreatePrincipal(ctx context.Context, p principal.Principal, c identity.Credential) error {
	return s.wrap(insertPrincipal(ctx, s.write, p, c), "principal")
}

func insertPrincipal(ctx context.Context, db execer, p principal.Principal, c identity.Credential) error {
	_, err := db.ExecContext(ctx, `INSERT INTO principals (object_id, tenant_id, kind, display_name, user_name, client_id,
		password_hash, secret_hash, secret_created_at, enabled, admin, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ObjectID, p.TenantID, string(p.Kind), p.DisplayName, nullString(p.UserName), nullString(p.ClientID),
		nullString(c.PasswordHash), c.SecretHash, ns(c.SecretCreatedAt), p.Enabled, p.Admin, p.CreatedAt.UnixNano())
	return err
}

func scanPrincipal(row interface{ Scan(...any) error }) (principal.Principal, identity.Credential, error) {
	var (
		p                   principal.Principal
		c                   identity.Credential
		kind                string
		secretAt, createdAt sql.NullInt64
	)
	err := row.Scan(&p.ObjectID, &p.TenantID, &kind, &p.DisplayName, &p.UserName, &p.ClientID,
		&c.PasswordHash, &c.SecretHash, &secretAt, &p.Enabled, &p.Admin, &createdAt)
	p.Kind = principal.Kind(kind)
	c.SecretCreatedAt = fromNS(secretAt)
	p.CreatedAt = fromNS(createdAt)
	return p, c, err
}

// Principal returns a principal by object id.
func (s *Store) Principal(ctx context.Context, objectID string) (principal.Principal, error) {
	p, _, err := scanPrincipal(s.read.QueryRowContext(ctx,
		`SELECT `+principalColumns+` FROM principals WHERE object_id = $1`, objectID))
	return p, s.wrap(err, "principal")
}

// PrincipalByClientID returns a service principal or managed identity.
func (s *Store) PrincipalByClientID(ctx context.Context, clientID string) (principal.Principal, identity.Credential, error) {
	p, c, err := scanPrincipal(s.read.QueryRowContext(ctx,
		`SELECT `+principalColumns+` FROM principals WHERE client_id = $1`, clientID))
	return p, c, s.wrap(err, "principal")
}

// PrincipalByUserName returns a user by lower-cased sign-in name.
func (s *Store) PrincipalByUserName(ctx context.Context, tenantID, userName string) (principal.Principal, identity.Credential, error) {
	p, c, err := scanPrincipal(s.read.QueryRowContext(ctx,
		`SELECT `+principalColumns+` FROM principals WHERE tenant_id = $1 AND user_name = $2`, tenantID, userName))
	return p, c, s.wrap(err, "user")
}

// Principals lists a tenant's principals of one kind, oldest first.
func (s *Store) Principals(ctx context.Context, tenantID string, kind principal.Kind) ([]principal.Principal, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+principalColumns+` FROM principals
		WHERE tenant_id = $1 AND kind = $2 ORDER BY created_at, object_id`, tenantID, string(kind))
	if err != nil {
		return nil, s.wrap(err, "principals")
	}
	defer rows.Close()
	var out []principal.Principal
	for rows.Next() {
		p, _, err := scanPrincipal(rows)
		if err != nil {
			return nil, s.wrap(err, "principals")
		}
		out = append(out, p)
	}
	return out, s.wrap(rows.Err(), "principals")
}

// DeletePrincipal removes a principal, its refresh tokens (by cascade) and
// its role assignments.
func (s *Store) DeletePrincipal(ctx context.Context, objectID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE principal_id = $1`, objectID); err != nil {
			return s.wrap(err, "role assignments")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE principal_id = $1`, objectID); err != nil {
			return s.wrap(err, "refresh tokens")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM principals WHERE object_id = $1`, objectID)
		return s.mustAffect(res, err, "principal")
	})
}

// SetClientSecret replaces a service principal's secret hash.
func (s *Store) SetClientSecret(ctx context.Context, objectID string, hash []byte, at time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE principals SET secret_hash = $1, secret_created_at = $2
		WHERE object_id = $3 AND kind = $4`, hash, at.UnixNano(), objectID, string(principal.ServicePrincipal))
	return s.mustAffect(res, err, "service principal")
}

// SetPrincipalEnabled enables or disables a principal.
func (s *Store) SetPrincipalEnabled(ctx context.Context, objectID string, enabled bool) error {
	res, err := s.write.ExecContext(ctx, `UPDATE principals SET enabled = $1 WHERE object_id = $2`, enabled, objectID)
	return s.mustAffect(res, err, "principal")
}

// mustAffect turns "no row changed" into NotFound.
func (s *Store) mustAffect(res sql.Result, err error, what string) error {
	if err != nil {
		return s.wrap(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(err, what)
	}
	if n == 0 {
		return errkind.E(errkind.NotFound, "%s not found", what)
	}
	return nil
}

func nullString(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }
