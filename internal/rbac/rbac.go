// Package rbac owns role-based access control on the management plane:
// role assignments of principals to built-in roles at a scope.
//
// This package currently holds the data model and the built-in role ids;
// the authorization engine (action patterns, scope inheritance, deny by
// default) is built by the ARM-core work on top of it.
package rbac

import "time"

// Built-in role definition ids. They are Azure's well-known GUIDs, so role
// assignments created by Azure tooling name the same roles.
const (
	Owner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	Contributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	Reader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
)

// Assignment grants a principal a role at a scope (a resource id prefix:
// /subscriptions/{id}, a resource group, or a resource).
type Assignment struct {
	ID               string // GUID
	Scope            string // as given; compared case-insensitively
	PrincipalID      string
	PrincipalType    string // Azure's principalType: User, ServicePrincipal
	RoleDefinitionID string // one of the built-in role ids
	CreatedAt        time.Time
}
