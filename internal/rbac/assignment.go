package rbac

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Create is a PUT of a role assignment: a.ID (the name), a.Scope,
// a.PrincipalID, a.RoleDefinitionID (GUID or role definition resource id),
// a.Description and optionally a.PrincipalType; the other fields are set
// here. created reports a new assignment (201) rather than an existing one
// (200). Create does not authorize: the ARM route checks
// Microsoft.Authorization/roleAssignments/write first.
//
// A PUT to an existing name succeeds when scope, principal and role are the
// same (updating only the description) and fails with
// ErrUpdateNotPermitted otherwise; the same principal and role at the same
// scope under another name fail with ErrRoleAssignmentExists. Nothing is
// written on any error.
func (s *Service) Create(ctx context.Context, caller principal.Principal, a Assignment) (_ Assignment, created bool, _ error) {
	want, err := s.validate(ctx, caller, a)
	if err != nil {
		return Assignment{}, false, err
	}
	// Two rounds: a Conflict on insert is either a racing PUT of the same
	// name, answered as a PUT to an existing name, or a duplicate.
	for range 2 {
		existing, err := s.cfg.Store.RoleAssignment(ctx, want.ID)
		if err == nil {
			got, err := s.putExisting(ctx, existing, want)
			return got, false, err
		}
		if errkind.KindOf(err) != errkind.NotFound {
			return Assignment{}, false, err
		}
		now := s.cfg.Now().UTC()
		want.CreatedAt, want.UpdatedAt, want.CreatedBy = now, now, caller.ObjectID
		err = s.cfg.Store.InsertRoleAssignment(ctx, want)
		if err == nil {
			s.Invalidate(want.PrincipalID)
			return want, true, nil
		}
		if errkind.KindOf(err) != errkind.Conflict {
			return Assignment{}, false, err
		}
		if _, err := s.cfg.Store.RoleAssignment(ctx, want.ID); err != nil {
			break // the name is free: the conflict is the (scope, principal, role)
		}
	}
	return Assignment{}, false, ErrRoleAssignmentExists
}

// validate checks a PUT body and returns the assignment to store, with
// canonical scope, lower-case ids and the principal's type.
func (s *Service) validate(ctx context.Context, caller principal.Principal, a Assignment) (Assignment, error) {
	scope, err := resource.Parse(a.Scope)
	if err != nil || scope.SubscriptionID() == "" {
		return Assignment{}, wrapf(ErrInvalidScope,
			"The scope '%s' is not valid for a role assignment: it must be a subscription, resource group or resource id.", a.Scope)
	}
	name := strings.ToLower(a.ID)
	if !principal.ValidID(name) {
		return Assignment{}, wrapf(ErrInvalidAssignmentName,
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", a.ID)
	}
	def, ok := DefinitionByID(a.RoleDefinitionID)
	if sub := DefinitionSubscription(a.RoleDefinitionID); !ok || sub != "" && !strings.EqualFold(sub, scope.SubscriptionID()) {
		return Assignment{}, wrapf(ErrRoleDefinitionNotFound,
			"The specified role definition with ID '%s' does not exist.", a.RoleDefinitionID[strings.LastIndex(a.RoleDefinitionID, "/")+1:])
	}
	pid := strings.ToLower(a.PrincipalID)
	notFound := wrapf(ErrPrincipalNotFound,
		"Principal %s does not exist in the directory %s. Check that you have the correct principal ID.",
		compactID(pid), caller.TenantID)
	if !principal.ValidID(pid) {
		return Assignment{}, notFound
	}
	p, err := s.cfg.Principals.Principal(ctx, pid)
	if errkind.KindOf(err) == errkind.NotFound || err == nil && p.TenantID != caller.TenantID {
		return Assignment{}, notFound // another tenant's principal is not in this directory
	}
	if err != nil {
		return Assignment{}, err
	}
	typ := PrincipalType(p.Kind)
	if a.PrincipalType != "" && !strings.EqualFold(a.PrincipalType, typ) {
		// "PrinciaplType" is Azure's spelling; deployment tools match it.
		return Assignment{}, wrapf(ErrPrincipalTypeMismatch,
			"The PrincipalId '%s' has type '%s' , which is different from specified PrinciaplType '%s'.",
			compactID(pid), typ, a.PrincipalType)
	}
	return Assignment{
		ID: name, Scope: scope.String(), PrincipalID: pid, PrincipalType: typ,
		RoleDefinitionID: def.ID, Description: a.Description,
	}, nil
}

// putExisting answers a PUT to a name that exists.
func (s *Service) putExisting(ctx context.Context, existing, want Assignment) (Assignment, error) {
	if !strings.EqualFold(existing.Scope, want.Scope) || existing.PrincipalID != want.PrincipalID ||
		existing.RoleDefinitionID != want.RoleDefinitionID {
		return Assignment{}, ErrUpdateNotPermitted
	}
	existing = normalize(existing)
	if existing.Description == want.Description {
		return existing, nil
	}
	existing.Description, existing.UpdatedAt = want.Description, s.cfg.Now().UTC()
	if err := s.cfg.Store.UpdateRoleAssignment(ctx, existing); err != nil {
		return Assignment{}, err
	}
	return existing, nil
}

// Get returns the assignment with a name at a scope.
func (s *Service) Get(ctx context.Context, scope resource.ID, name string) (Assignment, error) {
	a, err := s.cfg.Store.RoleAssignment(ctx, strings.ToLower(name))
	if errkind.KindOf(err) == errkind.NotFound || err == nil && !strings.EqualFold(a.Scope, scope.String()) {
		return Assignment{}, wrapf(ErrRoleAssignmentNotFound, "The role assignment '%s' is not found.", name)
	}
	if err != nil {
		return Assignment{}, err
	}
	return normalize(a), nil
}

// GetByID returns the assignment with an ARM id
// ({scope}/providers/Microsoft.Authorization/roleAssignments/{name}).
func (s *Service) GetByID(ctx context.Context, id string) (Assignment, error) {
	scope, name, err := ParseAssignmentID(id)
	if err != nil {
		return Assignment{}, err
	}
	return s.Get(ctx, scope, name)
}

// Delete deletes the assignment with a name at a scope and returns it
// (ARM answers 200 with the deleted body); existed is false, with no
// error, when there was none (ARM answers 204). Deleting the last Owner
// of a subscription is allowed, as in Azure. Management locks that forbid
// the delete are the caller's check.
func (s *Service) Delete(ctx context.Context, scope resource.ID, name string) (_ Assignment, existed bool, _ error) {
	a, err := s.Get(ctx, scope, name)
	if errkind.KindOf(err) == errkind.NotFound {
		return Assignment{}, false, nil
	}
	if err != nil {
		return Assignment{}, false, err
	}
	err = s.cfg.Store.DeleteRoleAssignment(ctx, scope, a.ID)
	s.Invalidate(a.PrincipalID)
	if errkind.KindOf(err) == errkind.NotFound {
		return Assignment{}, false, nil // a concurrent delete won
	}
	if err != nil {
		return Assignment{}, false, err
	}
	return a, true, nil
}

// ListOptions selects the assignments List returns.
type ListOptions struct {
	// Scope is a subscription, resource group or resource.
	Scope resource.ID
	// AtScopeOnly keeps only assignments at or above Scope (Azure's
	// $filter=atScope()); otherwise those below it are included too.
	AtScopeOnly bool
	// PrincipalID keeps only one principal's assignments (Azure's
	// $filter=principalId eq '{id}'; also assignedTo('{id}'), which is the
	// same here because there are no groups).
	PrincipalID string
}

// List returns the assignments that apply at opts.Scope (at it, and
// inherited from above it) and, unless AtScopeOnly, those below it — what
// Azure's list at a scope returns. The order is by scope, then name.
func (s *Service) List(ctx context.Context, opts ListOptions) ([]Assignment, error) {
	scope := opts.Scope
	if scope.SubscriptionID() == "" {
		return nil, wrapf(ErrInvalidScope,
			"The scope '%s' is not valid for listing role assignments: it must be a subscription, resource group or resource id.", scope)
	}
	var out []Assignment
	if opts.PrincipalID != "" {
		list, err := s.cfg.Store.RoleAssignmentsForPrincipal(ctx, strings.ToLower(opts.PrincipalID))
		if err != nil {
			return nil, err
		}
		key := scope.Key()
		for _, a := range list {
			k := strings.ToLower(a.Scope)
			if within(key, k) || !opts.AtScopeOnly && within(k, key) {
				out = append(out, a)
			}
		}
	} else {
		var scopes []resource.ID
		for _, id := range scope.Ancestors() {
			if id.Level() != resource.Tenant {
				scopes = append(scopes, id)
			}
		}
		at, err := s.cfg.Store.RoleAssignmentsAt(ctx, scopes)
		if err != nil {
			return nil, err
		}
		out = at
		if !opts.AtScopeOnly {
			below, err := s.cfg.Store.RoleAssignmentsBelow(ctx, scope)
			if err != nil {
				return nil, err
			}
			out = append(out, below...)
		}
	}
	for i := range out {
		out[i] = normalize(out[i])
	}
	slices.SortFunc(out, func(a, b Assignment) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Scope), strings.ToLower(b.Scope)), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// normalize fills UpdatedAt for assignments stored without one.
func normalize(a Assignment) Assignment {
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	return a
}
