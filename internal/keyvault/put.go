package keyvault

import (
	"context"
	"errors"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/google/uuid"
)

// CreateMode is properties.createMode of a PUT.
type CreateMode string

const (
	CreateDefault CreateMode = "default"
	CreateRecover CreateMode = "recover"
)

// Properties are the settable properties of a vault. A nil field was not
// given: a create takes the default, an update keeps the current value.
type Properties struct {
	TenantID                     *string
	SKUFamily, SKU               *string
	Policies                     []AccessPolicy // nil: not given; empty: none
	SoftDelete                   *bool
	Retention                    *int
	PurgeProtection              *bool
	RBACAuthorization            *bool
	EnabledForDeployment         *bool
	EnabledForDiskEncryption     *bool
	EnabledForTemplateDeployment *bool
	PublicNetworkAccess          *string
}

// Spec is the body of a PUT: create, update, or recover.
type Spec struct {
	Location   string // normalised region name
	Tags       map[string]string
	CreateMode CreateMode
	Properties
}

// Patch is the body of a PATCH. Tags, when not nil, replace the tag set.
type Patch struct {
	Tags map[string]string
	Properties
}

// Put creates the vault id, updates it, or (createMode recover) recovers
// it from soft delete. It reports whether a vault came into being
// (created or recovered).
func (s *Service) Put(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (Vault, bool, error) {
	if !ValidName(id.Name()) {
		return Vault{}, false, invalidName(id.Name())
	}
	if spec.Location == "" {
		return Vault{}, false, errkind.E(errkind.Invalid, "The location of the vault is required.")
	}
	defer s.lockName(id.Name())()
	switch spec.CreateMode {
	case CreateRecover:
		v, err := s.recover(ctx, id, spec)
		return v, err == nil, err
	case CreateDefault, "":
	default:
		return Vault{}, false, errkind.E(errkind.Invalid, "The createMode '%s' is invalid; use default or recover.", truncate(string(spec.CreateMode)))
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Vault{}, false, err
	}
	for range maxAttempts {
		cur, err := s.cfg.Store.VaultByName(ctx, id.Name())
		switch {
		case errkind.KindOf(err) == errkind.NotFound:
			v, err := s.create(ctx, caller, id, spec)
			if errkind.KindOf(err) == errkind.Conflict && !errors.Is(err, ErrNameTaken) {
				continue // another request took the name first: decide again
			}
			return v, err == nil, err
		case err != nil:
			return Vault{}, false, err
		case cur.Deleted() && strings.EqualFold(cur.ID.SubscriptionID(), id.SubscriptionID()):
			return Vault{}, false, nameDeleted(id.Name())
		case cur.Deleted() || !cur.ID.Equal(id):
			return Vault{}, false, nameTaken(id.Name())
		}
		v, err := s.replace(ctx, caller, cur, spec)
		if errors.Is(err, ErrChanged) {
			continue
		}
		return v, false, err
	}
	return Vault{}, false, errkind.E(errkind.Conflict, "The vault '%s' is being changed by other requests; retry.", id.Name())
}

func nameTaken(name string) error {
	return &errkind.Error{Kind: errkind.Conflict, Err: ErrNameTaken,
		Message: "The vault name '" + name + "' is already in use. Vault names are globally unique so it is possible that the name is already taken. " +
			"If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted " +
			"but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need " +
			"to be purged before reusing the name."}
}

func nameDeleted(name string) error {
	return &errkind.Error{Kind: errkind.Conflict, Err: ErrNameDeleted,
		Message: "A vault with the same name ('" + name + "') already exists in deleted state. You need to either recover or purge " +
			"existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete."}
}

// create inserts a new vault. Creation requires the tenant, the SKU and the
// access policies (possibly none), as Azure does.
func (s *Service) create(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (Vault, error) {
	switch {
	case spec.TenantID == nil:
		return Vault{}, errkind.E(errkind.Invalid, "The parameter properties.tenantId is required.")
	case spec.SKU == nil:
		return Vault{}, errkind.E(errkind.Invalid, "The parameter properties.sku is required.")
	case spec.Policies == nil:
		return Vault{}, errkind.E(errkind.Invalid,
			"The parameter properties.accessPolicies is required unless createMode is 'recover'; it may be an empty list.")
	}
	now := s.now()
	v := Vault{UID: uuid.NewString(), ID: id, Location: spec.Location, Tags: spec.Tags, Retention: DefaultRetention,
		SKU: SKUStandard, PublicNetworkAccess: PublicNetworkEnabled, ProvisioningState: Succeeded,
		CreatedAt: now, UpdatedAt: now, CreatedBy: caller.ObjectID, Version: 1}
	if spec.Retention != nil {
		v.Retention = *spec.Retention // checked by apply; the retention is fixed from now on
	}
	if err := apply(&v, caller, spec.Properties); err != nil {
		return Vault{}, err
	}
	if err := s.cfg.Store.InsertVault(ctx, v); err != nil {
		return Vault{}, err
	}
	return v, nil
}

// replace applies a PUT to an existing vault.
func (s *Service) replace(ctx context.Context, caller principal.Principal, v Vault, spec Spec) (Vault, error) {
	if v.Location != spec.Location {
		return Vault{}, &errkind.Error{Kind: errkind.Invalid, Err: ErrLocationChanged,
			Message: "The resource '" + v.Name() + "' already exists in location '" + v.Location + "' in resource group '" +
				v.ID.ResourceGroupName() + "'. A resource with the same name cannot be created in location '" + spec.Location + "'."}
	}
	version := v.Version
	if err := apply(&v, caller, spec.Properties); err != nil {
		return Vault{}, err
	}
	if spec.Tags != nil {
		v.Tags = spec.Tags
	}
	v.UpdatedAt, v.Version = s.now(), version+1
	return v, s.cfg.Store.UpdateVault(ctx, v, version)
}

// Patch updates some properties of a live vault.
func (s *Service) Patch(ctx context.Context, caller principal.Principal, id resource.ID, p Patch) (Vault, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Vault{}, err
	}
	return s.updateVault(ctx, id, func(v *Vault) error {
		if err := apply(v, caller, p.Properties); err != nil {
			return err
		}
		if p.Tags != nil {
			v.Tags = p.Tags
		}
		v.UpdatedAt = s.now()
		return nil
	})
}

// UpdateAccessPolicies adds, replaces or removes access policies of a
// live vault and returns the vault as it now is.
func (s *Service) UpdateAccessPolicies(ctx context.Context, id resource.ID, kind PolicyUpdate, given []AccessPolicy) (Vault, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Vault{}, err
	}
	if len(given) > MaxPolicies {
		return Vault{}, tooManyPolicies(len(given))
	}
	return s.updateVault(ctx, id, func(v *Vault) error {
		norm, err := normalizePolicies(v.TenantID, given)
		if err != nil {
			return err
		}
		v.Policies = applyPolicyUpdate(v.Policies, kind, norm)
		if len(v.Policies) > MaxPolicies {
			return tooManyPolicies(len(v.Policies))
		}
		v.UpdatedAt = s.now()
		return nil
	})
}

func tooManyPolicies(n int) error {
	return errkind.E(errkind.Invalid, "A vault can have at most %d access policies; the request would leave %d.", MaxPolicies, n)
}

// apply checks the given properties against the vault and sets them. The
// caller's tenant is the subscription's: a vault of another tenant could
// never be reached by the principals this server issues tokens to.
func apply(v *Vault, caller principal.Principal, p Properties) error {
	if p.TenantID != nil {
		t, err := guid(*p.TenantID, "tenantId of the vault", 0)
		if err != nil || !strings.EqualFold(t, caller.TenantID) {
			return errkind.E(errkind.Invalid, "The tenant id '%s' is not valid for this vault: it must be the subscription's tenant, '%s'.",
				truncate(*p.TenantID), caller.TenantID)
		}
		v.TenantID = t
	}
	if err := applySKU(v, p); err != nil {
		return err
	}
	if err := applyDeletion(v, p); err != nil {
		return err
	}
	if p.RBACAuthorization != nil && *p.RBACAuthorization {
		return errkind.E(errkind.Invalid, "The property \"enableRbacAuthorization\" cannot be set to true: this server "+
			"authorizes the data plane with access policies only. Omit it or set it to false.")
	}
	for _, f := range []struct {
		in  *bool
		out *bool
	}{
		{p.EnabledForDeployment, &v.EnabledForDeployment},
		{p.EnabledForDiskEncryption, &v.EnabledForDiskEncryption},
		{p.EnabledForTemplateDeployment, &v.EnabledForTemplateDeployment},
	} {
		if f.in != nil {
			*f.out = *f.in
		}
	}
	if p.PublicNetworkAccess != nil {
		switch {
		case strings.EqualFold(*p.PublicNetworkAccess, PublicNetworkEnabled):
			v.PublicNetworkAccess = PublicNetworkEnabled
		case strings.EqualFold(*p.PublicNetworkAccess, PublicNetworkDisabled):
			v.PublicNetworkAccess = PublicNetworkDisabled
		default:
			return errkind.E(errkind.Invalid, "The publicNetworkAccess '%s' is invalid; use Enabled or Disabled.", truncate(*p.PublicNetworkAccess))
		}
	}
	if p.Policies != nil {
		if len(p.Policies) > MaxPolicies {
			return tooManyPolicies(len(p.Policies))
		}
		pols, err := normalizePolicies(v.TenantID, p.Policies)
		if err != nil {
			return err
		}
		v.Policies = pols
	} else if p.TenantID != nil {
		// A new tenant invalidates policies that name the old one.
		if _, err := normalizePolicies(v.TenantID, v.Policies); err != nil {
			return err
		}
	}
	return nil
}

func applySKU(v *Vault, p Properties) error {
	if p.SKUFamily != nil && *p.SKUFamily != "A" {
		return errkind.E(errkind.Invalid, "The SKU family '%s' is invalid; the only family is 'A'.", truncate(*p.SKUFamily))
	}
	if p.SKU != nil {
		switch {
		case strings.EqualFold(*p.SKU, SKUStandard):
			v.SKU = SKUStandard
		case strings.EqualFold(*p.SKU, SKUPremium):
			v.SKU = SKUPremium
		default:
			return errkind.E(errkind.Invalid, "The SKU name '%s' is invalid; use standard or premium.", truncate(*p.SKU))
		}
	}
	return nil
}

// applyDeletion applies the soft-delete properties, which only ever
// tighten (reference/keyvault-wire.md §3.3, §5; the messages are Azure's).
func applyDeletion(v *Vault, p Properties) error {
	if p.SoftDelete != nil && !*p.SoftDelete {
		return errkind.E(errkind.Invalid, "The property \"enableSoftDelete\" cannot be set to false. Soft delete is always on for vaults.")
	}
	if p.Retention != nil {
		switch r := *p.Retention; {
		case r < MinRetention || r > MaxRetention:
			return errkind.E(errkind.Invalid, "The property \"softDeleteRetentionInDays\" must be between %d and %d; %d was given.",
				MinRetention, MaxRetention, r)
		case r != v.Retention:
			return errkind.E(errkind.Invalid, "The property \"softDeleteRetentionInDays\" cannot be changed once the vault is created; it is %d.",
				v.Retention)
		}
	}
	if p.PurgeProtection != nil {
		if !*p.PurgeProtection {
			return errkind.E(errkind.Invalid, "The property \"enablePurgeProtection\" cannot be set to false. "+
				"Enabling the purge protection for a vault is an irreversible action.")
		}
		v.PurgeProtection = true
	}
	return nil
}

// CheckNew reports, with the error Put would give a request to create a
// new vault as id, whether the name is free: nil when no vault, live or
// soft-deleted, holds it; VaultAlreadyExists when a live vault does (id
// itself included: it is not new); ConflictError when a soft-deleted vault
// of the subscription does.
func (s *Service) CheckNew(ctx context.Context, id resource.ID) error {
	if !ValidName(id.Name()) {
		return invalidName(id.Name())
	}
	cur, err := s.cfg.Store.VaultByName(ctx, id.Name())
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		return nil
	case err != nil:
		return err
	case cur.Deleted() && strings.EqualFold(cur.ID.SubscriptionID(), id.SubscriptionID()):
		return nameDeleted(id.Name())
	}
	return nameTaken(id.Name())
}
