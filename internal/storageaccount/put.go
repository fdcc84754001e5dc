package storageaccount

import (
	"context"
	"errors"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/google/uuid"
)

// CreateKind is the operation kind of an account's creation.
const CreateKind = "Microsoft.Storage/storageAccounts/create"

// statusOK is what the creation's Location URL answers once it is done
// (200, no body: the SDK's poller then GETs the account). The domain names
// it as a number to stay free of net/http.
const statusOK = 200

// Spec is the body of a PUT: create or replace.
type Spec struct {
	Location string // normalised region name
	Tags     map[string]string
	SKU      SKU
	Kind     Kind
}

// Patch is the body of a PATCH. Tags, when not nil, replace the tag set;
// SKU, when not empty, replaces the SKU.
type Patch struct {
	Tags map[string]string
	SKU  SKU
}

// PutResult is the outcome of a PUT. Operation is set when the account is
// (still) being created: the transport answers 202 and the SDK polls it.
type PutResult struct {
	Account   Account
	Created   bool
	Operation *operation.Operation
}

// createInput is what a creation operation carries.
type createInput struct {
	ID  string `json:"id"`
	UID string `json:"uid"`
}

// Put creates the account id, or replaces its SKU and tags. A creation
// stores the account as Creating and starts the operation that finishes
// it; a PUT on an account still Creating starts that operation again (its
// handler is idempotent), which also heals an account whose operation was
// lost between the two writes.
func (s *Service) Put(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (PutResult, error) {
	if !ValidName(id.Name()) {
		return PutResult{}, invalidName(id.Name())
	}
	if spec.Location == "" {
		return PutResult{}, errkind.E(errkind.Invalid, "The location of the storage account is required.")
	}
	if err := checkSKU(spec.SKU, true); err != nil {
		return PutResult{}, err
	}
	if err := checkKind(spec.Kind); err != nil {
		return PutResult{}, err
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return PutResult{}, err
	}
	defer s.lockName(id.Name())()
	for range maxAttempts {
		cur, err := s.cfg.Store.AccountByName(ctx, id.Name())
		switch {
		case errkind.KindOf(err) == errkind.NotFound:
			res, err := s.create(ctx, caller, id, spec)
			if errkind.KindOf(err) == errkind.Conflict && !errors.Is(err, ErrNameTaken) {
				continue // another replica took the name first: decide again
			}
			return res, err
		case err != nil:
			return PutResult{}, err
		case !cur.ID.Equal(id):
			return PutResult{}, nameTaken(id.Name())
		case cur.ProvisioningState == Deleting:
			return PutResult{}, errkind.E(errkind.Conflict, "The storage account '%s' is being deleted.", id.Name())
		}
		res, err := s.replace(ctx, caller, cur, spec)
		if errors.Is(err, ErrChanged) {
			continue
		}
		return res, err
	}
	return PutResult{}, busy(id.Name())
}

func (s *Service) create(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (PutResult, error) {
	now := s.now()
	a := Account{
		UID: uuid.NewString(), ID: id, Location: spec.Location, Tags: spec.Tags, TenantID: caller.TenantID,
		SKU: spec.SKU, Kind: spec.Kind, ProvisioningState: Creating, CreatedBy: caller.ObjectID,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	if err := s.cfg.Store.InsertAccount(ctx, a); err != nil {
		return PutResult{}, err
	}
	op, err := s.startCreate(ctx, caller, a)
	if err != nil {
		// Without its operation the account would stay Creating until
		// the next PUT; take it back instead.
		if derr := s.cfg.Store.DeleteAccount(ctx, a.UID); derr != nil && errkind.KindOf(derr) != errkind.NotFound {
			err = errors.Join(err, derr)
		}
		return PutResult{}, err
	}
	return PutResult{Account: a, Created: true, Operation: &op}, nil
}

func (s *Service) startCreate(ctx context.Context, caller principal.Principal, a Account) (operation.Operation, error) {
	return s.cfg.Operations.Start(ctx, operation.StartRequest{
		Kind: CreateKind, SubscriptionID: a.SubscriptionID(), ResourceID: a.ID.String(),
		PrincipalID: caller.ObjectID, Input: createInput{ID: a.ID.String(), UID: a.UID},
	})
}

// replace applies a PUT to an existing account.
func (s *Service) replace(ctx context.Context, caller principal.Principal, a Account, spec Spec) (PutResult, error) {
	if a.Location != spec.Location {
		return PutResult{}, &errkind.Error{Kind: errkind.Invalid, Err: ErrLocationChanged,
			Message: "The resource '" + a.Name() + "' already exists in location '" + a.Location + "' in resource group '" +
				a.ID.ResourceGroupName() + "'. A resource with the same name cannot be created in location '" + spec.Location + "'."}
	}
	version := a.Version
	a.SKU = spec.SKU
	if spec.Tags != nil {
		a.Tags = spec.Tags
	}
	a.UpdatedAt, a.Version = s.now(), version+1
	if err := s.cfg.Store.UpdateAccount(ctx, a, version); err != nil {
		return PutResult{}, err
	}
	if a.ProvisioningState != Creating {
		return PutResult{Account: a}, nil
	}
	op, err := s.startCreate(ctx, caller, a)
	if err != nil {
		return PutResult{}, err
	}
	return PutResult{Account: a, Operation: &op}, nil
}

// runCreate is the creation's handler: it moves the account from
// Creating to Succeeded. It is idempotent; an account deleted (or deleted
// and created again) meanwhile fails the operation with NotFound.
func (s *Service) runCreate(ctx context.Context, op operation.Operation, _ *operation.Progress) (operation.Result, error) {
	var in createInput
	if err := op.DecodeInput(&in); err != nil {
		return operation.Result{}, err
	}
	id, err := resource.Parse(in.ID)
	if err != nil {
		return operation.Result{}, errkind.Wrap(errkind.Internal, err, "operation input holds a bad id")
	}
	_, err = s.update(ctx, id, func(a *Account) error {
		switch {
		case a.UID != in.UID || a.ProvisioningState == Deleting:
			return notFound(id)
		case a.ProvisioningState == Creating:
			a.ProvisioningState, a.UpdatedAt = Succeeded, s.now()
			return nil
		}
		return errUnchanged
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return operation.Result{}, err
	}
	return operation.Result{Status: statusOK}, nil
}

// errUnchanged stops an update that has nothing to do.
var errUnchanged = errors.New("unchanged")

// Patch updates the SKU or the tags of an account.
func (s *Service) Patch(ctx context.Context, id resource.ID, p Patch) (Account, error) {
	if err := checkSKU(p.SKU, false); err != nil {
		return Account{}, err
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Account{}, err
	}
	return s.update(ctx, id, func(a *Account) error {
		if a.ProvisioningState == Deleting {
			return notFound(id)
		}
		if p.SKU != "" {
			a.SKU = p.SKU
		}
		if p.Tags != nil {
			a.Tags = p.Tags
		}
		a.UpdatedAt = s.now()
		return nil
	})
}

// checkSKU accepts the SKU names Azure knows, in their exact spelling
// (required: whether an empty one is an error).
func checkSKU(sku SKU, required bool) error {
	if sku == "" && !required {
		return nil
	}
	for _, k := range SKUs {
		if sku == k {
			return nil
		}
	}
	if sku == "" {
		return errkind.E(errkind.Invalid, "The parameter sku.name is required.")
	}
	return errkind.E(errkind.Invalid, "The SKU '%s' is not valid; use one of Standard_LRS, Standard_GRS, Standard_RAGRS, "+
		"Standard_ZRS, Premium_LRS, Premium_ZRS, Standard_GZRS, Standard_RAGZRS.", truncate(string(sku)))
}

func checkKind(k Kind) error {
	switch {
	case k == "":
		return errkind.E(errkind.Invalid, "The parameter kind is required.")
	case strings.EqualFold(string(k), string(StorageV2)) && k != StorageV2:
		return errkind.E(errkind.Invalid, "The kind '%s' is not valid; use 'StorageV2'.", truncate(string(k)))
	case k != StorageV2:
		return errkind.E(errkind.Invalid, "The kind '%s' is not supported by this server; use 'StorageV2'.", truncate(string(k)))
	}
	return nil
}
