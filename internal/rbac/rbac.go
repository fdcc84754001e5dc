// Package rbac owns role-based access control on the management plane, the
// way Azure RBAC does it (reference/edge-arm.md §3.14): built-in role
// definitions with action patterns, role assignments of principals to roles
// at a scope, and the one authorization decision every management route
// asks for, Service.Authorize.
//
// Invariants:
//   - Deny by default: an action is allowed only when some assignment of
//     the caller, at the target scope or at a scope containing it, names a
//     role whose actions match it and whose notActions do not. There are
//     no deny assignments; tenant administrators (principal.Admin) get no
//     implicit access, like Entra Global Administrators in Azure.
//   - Data actions (Storage Blob Data Reader's blob read) are decided by the
//     same Authorize; unlike Azure, control-plane wildcards cover them too
//     (see compiledRole.allows), so Owner, Contributor and Reader of a
//     storage account read its audit-log blobs.
//   - Scopes are subscriptions, resource groups and resources (a role
//     assignment never sits at the tenant root or a management group, which
//     would span every tenant of this server). An assignment applies to its
//     scope and everything below it (resource.ID.Contains), matched case-
//     insensitively.
//   - Assignment names are GUIDs, unique across all scopes (the table's
//     primary key), as ARM's are. A name, once used, keeps its scope,
//     principal and role; only the description changes on a later PUT.
//   - At most one assignment per (scope, principal, role).
//
// Performance and consistency: Authorize must stay around a microsecond
// however many assignments the tenant holds, so it never looks at other
// principals' assignments. The Service keeps a per-principal cache of the
// caller's few assignments with their roles' patterns compiled; a decision
// walks only those. Writes through a Service invalidate its cache at once.
// Another replica sharing the database sees a change when its cached entry
// for that principal expires, after Config.CacheTTL (10 s by default): like
// Azure RBAC, which documents minutes of propagation delay, grants and
// revocations are eventually consistent across replicas, within that
// bound. A deleted or disabled principal is stopped earlier, by the ARM
// layer loading the principal on every request.
package rbac

import (
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Assignment grants a principal a role at a scope.
type Assignment struct {
	// ID is the assignment's name: a GUID, lower-cased.
	ID string
	// Scope is the resource id of a subscription, resource group or
	// resource, in the casing it was created with (resource.Parse's
	// canonical keywords). It stays a string so that Assignment is a plain
	// record; ScopeID parses it.
	Scope            string
	PrincipalID      string // object id, lower-case GUID
	PrincipalType    string // Azure's principalType: User, ServicePrincipal
	RoleDefinitionID string // GUID of a built-in role
	Description      string
	CreatedAt        time.Time
	// UpdatedAt is when the description last changed; the Service reports
	// CreatedAt for assignments stored without one (bootstrap).
	UpdatedAt time.Time
	CreatedBy string // object id of the creating principal; "" for bootstrap
}

// ScopeID parses the assignment's scope.
func (a Assignment) ScopeID() (resource.ID, error) { return resource.Parse(a.Scope) }

// ResourceID returns the ARM id of the assignment:
// {scope}/providers/Microsoft.Authorization/roleAssignments/{name}.
func (a Assignment) ResourceID() string {
	return strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.ID
}

// AssignmentType is the ARM resource type of a role assignment.
const AssignmentType = "Microsoft.Authorization/roleAssignments"

// ParseAssignmentID splits the ARM id of a role assignment into its scope
// and name. It returns ErrRoleAssignmentNotFound (the id names no role
// assignment) when id is not of that shape.
func ParseAssignmentID(id string) (resource.ID, string, error) {
	rid, err := resource.Parse(id)
	if err != nil || !strings.EqualFold(rid.Type(), AssignmentType) {
		return resource.ID{}, "", wrapf(ErrRoleAssignmentNotFound, "The role assignment '%s' is not found.", id)
	}
	return rid.Parent(), rid.Name(), nil
}

// PrincipalType returns Azure's principalType for a principal kind: a
// managed identity is a ServicePrincipal on the wire.
func PrincipalType(k principal.Kind) string {
	if k == principal.ManagedIdentity {
		return string(principal.ServicePrincipal)
	}
	return string(k)
}
