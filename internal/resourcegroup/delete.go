package resourcegroup

import (
	"context"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// DeleteKind is the operation kind of a group deletion.
const DeleteKind = "Microsoft.Resources/resourceGroups/delete"

// Deleter deletes every resource of one type inside a group. Resource
// types register one as they are built; each must be idempotent, since a
// deletion interrupted by a crash runs again.
type Deleter interface {
	DeleteAllIn(ctx context.Context, group resource.ID) error
}

// Operations starts long-running operations (the operation.Service).
type Operations interface {
	Start(ctx context.Context, req operation.StartRequest) (operation.Operation, error)
	Register(kind string, h operation.Handler)
}

// StateStore is the part of the store the deletion needs beyond Store.
type StateStore interface {
	SetResourceGroupState(ctx context.Context, id resource.ID, state string) error
}

// statusOK is the HTTP status the operation's Location URL answers once
// the group is gone (ARM's RG delete ends 200 with no body). The domain
// names it as a number to stay free of net/http.
const statusOK = 200

// deleteInput is what a deletion operation carries.
type deleteInput struct {
	ID string `json:"id"`
}

// EnableDelete wires group deletion to the operations service and to the
// checker that reads locks straight from the store (the cached checker may
// lag another replica by its poll interval; the last check before
// destroying data must not).
func (s *Service) EnableDelete(ops Operations, st StateStore, fresh lock.Checker, deleters ...Deleter) {
	s.ops, s.states, s.fresh, s.deleters = ops, st, fresh, deleters
	ops.Register(DeleteKind, s.runDelete)
}

// BeginDelete starts deleting a group. It fails at once, changing nothing,
// when the group or anything in it or above it is locked.
func (s *Service) BeginDelete(ctx context.Context, caller principal.Principal, id resource.ID) (operation.Operation, error) {
	g, err := s.Get(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	if err := s.cfg.Locks.CheckSubtree(ctx, lock.Delete, g.ID); err != nil {
		return operation.Operation{}, err
	}
	if err := s.states.SetResourceGroupState(ctx, g.ID, Deleting); err != nil {
		return operation.Operation{}, err
	}
	op, err := s.ops.Start(ctx, operation.StartRequest{
		Kind: DeleteKind, SubscriptionID: g.ID.SubscriptionID(), ResourceID: g.ID.String(),
		PrincipalID: caller.ObjectID, Input: deleteInput{ID: g.ID.String()},
	})
	if err != nil {
		_ = s.states.SetResourceGroupState(ctx, g.ID, g.ProvisioningState)
		return operation.Operation{}, err
	}
	return op, nil
}

// runDelete is the deletion's handler. It re-checks locks from the store,
// deletes the group's resources through every registered deleter, then the
// group. Every step is idempotent, so an attempt after a crash just runs
// them again. A lock found now fails the operation and restores the group.
func (s *Service) runDelete(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
	var in deleteInput
	if err := op.DecodeInput(&in); err != nil {
		return operation.Result{}, err
	}
	id, err := resource.Parse(in.ID)
	if err != nil {
		return operation.Result{}, errkind.Wrap(errkind.Internal, err, "operation input holds a bad id")
	}
	if err := s.fresh.CheckSubtree(ctx, lock.Delete, id); err != nil {
		if serr := s.states.SetResourceGroupState(ctx, id, Succeeded); serr != nil && errkind.KindOf(serr) != errkind.NotFound {
			return operation.Result{}, serr
		}
		return operation.Result{}, err
	}
	for _, d := range s.deleters {
		if err := d.DeleteAllIn(ctx, id); err != nil {
			return operation.Result{}, err
		}
	}
	if err := s.cfg.Store.DeleteResourceGroup(ctx, id); err != nil && errkind.KindOf(err) != errkind.NotFound {
		return operation.Result{}, err
	}
	return operation.Result{Status: statusOK}, nil
}
