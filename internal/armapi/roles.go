package armapi

import (
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
)

const (
	actRoleAssignmentRead   = "Microsoft.Authorization/roleAssignments/read"
	actRoleAssignmentWrite  = "Microsoft.Authorization/roleAssignments/write"
	actRoleAssignmentDelete = "Microsoft.Authorization/roleAssignments/delete"

	roleAssignmentType = "Microsoft.Authorization/roleAssignments"
	roleDefinitionType = "Microsoft.Authorization/roleDefinitions"
)

func toRoleAssignment(a rbac.Assignment) arm.RoleAssignment {
	scope, _ := a.ScopeID()
	sub := scope.SubscriptionID()
	created, updated := a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	out := arm.RoleAssignment{
		ID:   a.Scope + "/providers/" + roleAssignmentType + "/" + a.ID,
		Name: a.ID, Type: roleAssignmentType,
		Properties: arm.RoleAssignmentProperties{
			RoleDefinitionID: rbac.DefinitionResourceID(sub, a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID, PrincipalType: a.PrincipalType, Scope: a.Scope,
			Description: &a.Description, CreatedOn: &created, UpdatedOn: &updated,
		},
	}
	if a.CreatedBy != "" {
		out.Properties.CreatedBy, out.Properties.UpdatedBy = &a.CreatedBy, &a.CreatedBy
	}
	return out
}

func (h *Handler) putRoleAssignment(w http.ResponseWriter, q *request) {
	var body arm.RoleAssignmentPut
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		writeError(w, q.Request, err)
		return
	}
	p := body.Properties
	if nonEmpty(p.Condition) || nonEmpty(p.ConditionVersion) || nonEmpty(p.DelegatedManagedIdentityResourceID) {
		writeError(w, q.Request, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidRoleAssignmentRequest",
			Message: "Role assignment conditions and delegated managed identities are not supported."})
		return
	}
	a := rbac.Assignment{ID: q.vars["roleAssignmentName"], Scope: q.scope.String(), PrincipalID: p.PrincipalID,
		PrincipalType: p.PrincipalType, RoleDefinitionID: p.RoleDefinitionID}
	if p.Description != nil {
		a.Description = *p.Description
	}
	got, created, err := h.cfg.RoleAssignments.Create(q.ctx(), q.caller.Principal, a)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	_ = httpx.WriteJSON(w, status, toRoleAssignment(got))
}

func (h *Handler) getRoleAssignment(w http.ResponseWriter, q *request) {
	a, err := h.cfg.RoleAssignments.Get(q.ctx(), q.scope, q.vars["roleAssignmentName"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toRoleAssignment(a))
}

// deleteRoleAssignment answers 200 with the deleted assignment, or 204
// when there was none (as Azure does). A CanNotDelete or ReadOnly lock on
// the scope also protects its role assignments (edge-arm.md §3.9).
func (h *Handler) deleteRoleAssignment(w http.ResponseWriter, q *request) {
	if err := h.cfg.Locks.Check(q.ctx(), lock.Delete, q.scope); err != nil {
		writeError(w, q.Request, err)
		return
	}
	a, existed, err := h.cfg.RoleAssignments.Delete(q.ctx(), q.scope, q.vars["roleAssignmentName"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	if !existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toRoleAssignment(a))
}

// listRoleAssignments supports $filter=atScope() and
// $filter=principalId eq '{id}' (or assignedTo('{id}')).
func (h *Handler) listRoleAssignments(w http.ResponseWriter, q *request) {
	opts, err := roleAssignmentFilter(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	list, err := h.cfg.RoleAssignments.List(q.ctx(), opts)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.RoleAssignment]{Value: []arm.RoleAssignment{}}
	for _, a := range list {
		out.Value = append(out.Value, toRoleAssignment(a))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

// roleAssignmentFilter parses the $filter forms Azure tools send:
// atScope(), principalId eq '{id}', assignedTo('{id}'), and atScope()
// combined with one of the others by "and".
func roleAssignmentFilter(q *request) (rbac.ListOptions, error) {
	opts := rbac.ListOptions{Scope: q.scope}
	f := strings.TrimSpace(q.URL.Query().Get("$filter"))
	if f == "" {
		return opts, nil
	}
	for _, term := range strings.Split(f, " and ") {
		term = strings.TrimSpace(term)
		switch {
		case term == "atScope()":
			opts.AtScopeOnly = true
		case strings.HasPrefix(term, "principalId eq '") && strings.HasSuffix(term, "'") && opts.PrincipalID == "":
			opts.PrincipalID = strings.TrimSuffix(strings.TrimPrefix(term, "principalId eq '"), "'")
		case strings.HasPrefix(term, "assignedTo('") && strings.HasSuffix(term, "')") && opts.PrincipalID == "":
			opts.PrincipalID = strings.TrimSuffix(strings.TrimPrefix(term, "assignedTo('"), "')")
		default:
			return rbac.ListOptions{}, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidFilter",
				Message: "The $filter '" + truncate(f) + "' is not supported; use atScope(), principalId eq '{id}' or assignedTo('{id}'), optionally joined by 'and'."}
		}
	}
	return opts, nil
}

func toRoleDefinition(scope resource.ID, d rbac.RoleDefinition) arm.RoleDefinition {
	return arm.RoleDefinition{
		ID: rbac.DefinitionResourceID(scope.SubscriptionID(), d.ID), Name: d.ID, Type: roleDefinitionType,
		Properties: arm.RoleDefinitionProperties{
			RoleName: d.Name, Description: d.Description, RoleType: "BuiltInRole",
			Permissions: []arm.Permission{{Actions: orEmpty(d.Actions), NotActions: orEmpty(d.NotActions),
				DataActions: orEmpty(d.DataActions), NotDataActions: orEmpty(d.NotDataActions)}},
			AssignableScopes: orEmpty(d.AssignableScopes),
		},
	}
}

// Role definitions are the four built-in roles: public knowledge, readable
// by any authenticated caller at any scope (routes use anyCaller).

func (h *Handler) listRoleDefinitions(w http.ResponseWriter, q *request) {
	name := ""
	if f := strings.TrimSpace(q.URL.Query().Get("$filter")); f != "" {
		if !strings.HasPrefix(f, "roleName eq '") || !strings.HasSuffix(f, "'") {
			writeError(w, q.Request, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidFilter",
				Message: "The $filter '" + truncate(f) + "' is not supported; use roleName eq '{name}'."})
			return
		}
		name = strings.TrimSuffix(strings.TrimPrefix(f, "roleName eq '"), "'")
	}
	out := arm.List[arm.RoleDefinition]{Value: []arm.RoleDefinition{}}
	for _, d := range rbac.Definitions() {
		if name == "" || strings.EqualFold(d.Name, name) {
			out.Value = append(out.Value, toRoleDefinition(q.scope, d))
		}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getRoleDefinition(w http.ResponseWriter, q *request) {
	d, ok := rbac.DefinitionByID(q.vars["roleDefinitionId"])
	if !ok {
		writeError(w, q.Request, &arm.Error{Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist",
			Message: "The specified role definition with ID '" + truncate(q.vars["roleDefinitionId"]) + "' does not exist."})
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toRoleDefinition(q.scope, d))
}

func nonEmpty(s *string) bool { return s != nil && *s != "" }

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
