package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
)

// Role assignments (rbac.Store). scope_key is the lower-cased scope id, so
// every scope comparison is case-insensitive, as ARM's are.

const assignmentColumns = `id, scope, principal_id, principal_type, role_definition_id, description,
	created_by, created_at, updated_at`

// InsertRoleAssignment stores a new assignment: Conflict when its name, or
// its (scope, principal, role), is taken (the primary key and the unique
// index role_assignments_unique).
func (s *Store) InsertRoleAssignment(ctx context.Context, a rbac.Assignment) error {
	return s.wrap(insertRoleAssignment(ctx, s.write, a), "role assignment")
}

func insertRoleAssignment(ctx context.Context, db execer, a rbac.Assignment) error {
	_, err := db.ExecContext(ctx, `INSERT INTO role_assignments
		(id, scope, scope_key, principal_id, principal_type, role_definition_id, description, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.Scope, lower(a.Scope), a.PrincipalID, a.PrincipalType, a.RoleDefinitionID, a.Description,
		a.CreatedBy, a.CreatedAt.UnixNano(), unixNanoOrZero(a.UpdatedAt))
	return err
}

// RoleAssignment returns the assignment with a name, at any scope.
func (s *Store) RoleAssignment(ctx context.Context, name string) (rbac.Assignment, error) {
	a, err := scanAssignment(s.read.QueryRowContext(ctx,
		`SELECT `+assignmentColumns+` FROM role_assignments WHERE id = $1`, name))
	return a, s.wrap(err, "role assignment")
}

// UpdateRoleAssignment stores a new description and update time.
func (s *Store) UpdateRoleAssignment(ctx context.Context, a rbac.Assignment) error {
	res, err := s.write.ExecContext(ctx, `UPDATE role_assignments SET description = $1, updated_at = $2 WHERE id = $3`,
		a.Description, unixNanoOrZero(a.UpdatedAt), a.ID)
	return s.mustAffect(res, err, "role assignment")
}

// DeleteRoleAssignment deletes the assignment with a name at a scope.
func (s *Store) DeleteRoleAssignment(ctx context.Context, scope resource.ID, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM role_assignments WHERE id = $1 AND scope_key = $2`, name, scope.Key())
	return s.mustAffect(res, err, "role assignment")
}

// RoleAssignmentsForPrincipal lists a principal's assignments, oldest
// first (index role_assignments_principal).
func (s *Store) RoleAssignmentsForPrincipal(ctx context.Context, principalID string) ([]rbac.Assignment, error) {
	return s.queryAssignments(ctx, `SELECT `+assignmentColumns+` FROM role_assignments
		WHERE principal_id = $1 ORDER BY created_at, id`, principalID)
}

// RoleAssignmentsAt lists the assignments at exactly these scopes, by
// scope and name (index role_assignments_scope).
func (s *Store) RoleAssignmentsAt(ctx context.Context, scopes []resource.ID) ([]rbac.Assignment, error) {
	if len(scopes) == 0 {
		return nil, nil
	}
	marks := make([]string, len(scopes))
	args := make([]any, len(scopes))
	for i, id := range scopes {
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = id.Key()
	}
	return s.queryAssignments(ctx, `SELECT `+assignmentColumns+` FROM role_assignments
		WHERE scope_key IN (`+strings.Join(marks, ", ")+`) ORDER BY scope_key, id`, args...)
}

// RoleAssignmentsBelow lists the assignments strictly inside a scope, by
// scope and name. It matches scope_key with LIKE '{key}/%', escaping the
// key's own '_' and '%' (a group named a_b must not match aXb). The
// comparison is not a key range because PostgreSQL orders text by the
// database collation, in which '/' and '0' need not be adjacent; the price
// is that the scope index is not used. This serves list calls, never
// authorization decisions.
func (s *Store) RoleAssignmentsBelow(ctx context.Context, scope resource.ID) ([]rbac.Assignment, error) {
	return s.queryAssignments(ctx, `SELECT `+assignmentColumns+` FROM role_assignments
		WHERE scope_key LIKE $1 ESCAPE '\' ORDER BY scope_key, id`, escapeLike(scope.Key())+"/%")
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *Store) queryAssignments(ctx context.Context, query string, args ...any) ([]rbac.Assignment, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(err, "role assignments")
	}
	defer rows.Close()
	var out []rbac.Assignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, s.wrap(err, "role assignments")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "role assignments")
}

func scanAssignment(row interface{ Scan(...any) error }) (rbac.Assignment, error) {
	var (
		a                rbac.Assignment
		created, updated int64
	)
	err := row.Scan(&a.ID, &a.Scope, &a.PrincipalID, &a.PrincipalType, &a.RoleDefinitionID, &a.Description,
		&a.CreatedBy, &created, &updated)
	a.CreatedAt = fromNS(sql.NullInt64{Int64: created, Valid: true})
	if updated != 0 {
		a.UpdatedAt = fromNS(sql.NullInt64{Int64: updated, Valid: true})
	}
	return a, err
}

// unixNanoOrZero stores the zero time as 0, the column's default for rows
// written before it existed.
func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

var _ rbac.Store = (*Store)(nil)
