package rbac

import (
	"fmt"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Sentinel errors, one per Azure error code, for armapi's error table
// (errors.Is). Errors returned by the Service wrap them with a message
// naming the ids involved, as Azure's do; errkind.Message gives that
// message. The Azure code and status each maps to are in the comments;
// the wording of the messages follows Azure's where it has been observed.
var (
	// ErrAuthorizationFailed: 403 AuthorizationFailed
	// (reference/edge-arm.md §3.4).
	ErrAuthorizationFailed = errkind.E(errkind.PermissionDenied, "The client does not have authorization to perform the action.")
	// ErrRoleAssignmentNotFound: 404 RoleAssignmentNotFound.
	ErrRoleAssignmentNotFound = errkind.E(errkind.NotFound, "The role assignment is not found.")
	// ErrRoleAssignmentExists: 409 RoleAssignmentExists — the same
	// principal already holds the same role at the same scope, under
	// another name. Azure's message is exactly this.
	ErrRoleAssignmentExists = errkind.E(errkind.Conflict, "The role assignment already exists.")
	// ErrUpdateNotPermitted: 400 RoleAssignmentUpdateNotPermitted — a PUT
	// to an existing name with another scope, principal or role. Azure
	// answers 400 (not 409), hence kind Invalid; the message is Azure's.
	ErrUpdateNotPermitted = errkind.E(errkind.Invalid, "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
	// ErrInvalidAssignmentName: 400 InvalidRoleAssignmentId — the name is
	// not a GUID.
	ErrInvalidAssignmentName = errkind.E(errkind.Invalid, "The role assignment ID is not valid. The role assignment ID must be a GUID.")
	// ErrPrincipalNotFound: 400 PrincipalNotFound — no such principal in
	// the caller's directory (tenant).
	ErrPrincipalNotFound = errkind.E(errkind.Invalid, "The principal does not exist in the directory.")
	// ErrPrincipalTypeMismatch: 400 UnmatchedPrincipalType.
	ErrPrincipalTypeMismatch = errkind.E(errkind.Invalid, "The principal has a type different from the specified principalType.")
	// ErrRoleDefinitionNotFound: 400 RoleDefinitionDoesNotExist — the
	// roleDefinitionId of an assignment names no role. (A GET of an
	// unknown role definition is 404 with the same code; armapi answers
	// that from DefinitionByID.)
	ErrRoleDefinitionNotFound = errkind.E(errkind.Invalid, "The specified role definition does not exist.")
	// ErrInvalidScope: 400 InvalidScope (code UNVERIFIED) — the scope is
	// not a subscription, resource group or resource. Assignments at the
	// tenant root or a management group are not supported: they would
	// span subscriptions of every tenant on this server.
	ErrInvalidScope = errkind.E(errkind.Invalid, "The scope is not valid for a role assignment.")
)

// wrapf returns an error of sentinel's kind that errors.Is sentinel, with
// a message formatted for the client.
func wrapf(sentinel error, format string, args ...any) error {
	return errkind.Wrap(errkind.KindOf(sentinel), sentinel, fmt.Sprintf(format, args...))
}

// denied returns Azure's AuthorizationFailed error (reference/edge-arm.md
// §3.4): the client is named by its sign-in name (users) or application id
// (service principals), as in Azure's message.
func denied(p principal.Principal, action string, scope resource.ID) error {
	client := p.ObjectID
	switch {
	case p.Kind == principal.User && p.UserName != "":
		client = p.UserName
	case p.ClientID != "":
		client = p.ClientID
	}
	return wrapf(ErrAuthorizationFailed,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		client, p.ObjectID, action, scope)
}

// compactID writes a GUID without dashes, the way Azure's role-assignment
// errors print principal ids.
func compactID(id string) string { return strings.ReplaceAll(id, "-", "") }
