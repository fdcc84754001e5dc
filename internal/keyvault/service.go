package keyvault

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// Retention limits of soft delete, in days (reference/keyvault-wire.md §5).
const (
	MinRetention     = 7
	MaxRetention     = 90
	DefaultRetention = 90
)

// SKU names (the family is always "A").
const (
	SKUStandard = "standard"
	SKUPremium  = "premium"
)

// Provisioning states and public network access values, as on the wire.
const (
	Succeeded             = "Succeeded"
	PublicNetworkEnabled  = "Enabled"
	PublicNetworkDisabled = "Disabled"
)

// Errors with Azure's codes (mapped in armapi's error table). Each is the
// cause of the error returned, whose message names the vault.
var (
	// ErrNotFound: ResourceNotFound, 404.
	ErrNotFound = errkind.E(errkind.NotFound, "The vault could not be found.")
	// ErrDeletedNotFound: DeletedVaultNotFound, 404.
	ErrDeletedNotFound = errkind.E(errkind.NotFound, "The deleted vault does not exist.")
	// ErrNameInvalid: VaultNameNotValid, 400.
	ErrNameInvalid = errkind.E(errkind.Invalid, "The vault name is invalid.")
	// ErrNameTaken: VaultAlreadyExists, 409 (a live vault, or a deleted
	// one of another subscription, holds the name).
	ErrNameTaken = errkind.E(errkind.Conflict, "The vault name is already in use.")
	// ErrNameDeleted: ConflictError, 409 (a soft-deleted vault of the same
	// subscription holds the name).
	ErrNameDeleted = errkind.E(errkind.Conflict, "A vault with the same name already exists in deleted state.")
	// ErrNothingToRecover: SoftDeletedVaultDoesNotExist.
	ErrNothingToRecover = errkind.E(errkind.NotFound, "A soft deleted vault with the given name does not exist.")
	// ErrPurgeProtected: MethodNotAllowed, as Azure answers a purge that
	// purge protection forbids.
	ErrPurgeProtected = errkind.E(errkind.Conflict, "Operation 'DeletedVaultPurge' is not allowed.")
	// ErrLocationChanged: InvalidResourceLocation, 400.
	ErrLocationChanged = errkind.E(errkind.Invalid, "A vault's location cannot change.")
	// ErrChanged is what a Store returns when the vault changed since it
	// was read; the Service reads again and retries.
	ErrChanged = errkind.E(errkind.Conflict, "The vault was changed by another request.")
)

// Store persists vaults. Names are unique ignoring case across all vaults,
// live and soft-deleted.
type Store interface {
	// InsertVault inserts a vault; errkind.Conflict when the name is taken.
	InsertVault(ctx context.Context, v Vault) error
	// UpdateVault replaces the vault with v.UID if its version is still
	// version; ErrChanged otherwise (or when it is gone).
	UpdateVault(ctx context.Context, v Vault, version int64) error
	// VaultByName returns the vault holding a name, live or deleted.
	VaultByName(ctx context.Context, name string) (Vault, error)
	// Vaults lists vaults ordered by lower-cased name, after the name after.
	Vaults(ctx context.Context, f Filter) ([]Vault, error)
	// DueVaults lists deleted vaults whose purge has begun or whose
	// scheduled purge date is not after now.
	DueVaults(ctx context.Context, now time.Time, limit int) ([]Vault, error)
	// DeleteVault removes a vault for good; NotFound when it is gone.
	DeleteVault(ctx context.Context, uid string) error
}

// State selects vaults by lifecycle.
type State uint8

const (
	Live State = iota + 1
	Deleted
	Any
)

// Filter selects vaults for Store.Vaults.
type Filter struct {
	SubscriptionID string
	ResourceGroup  string // name; empty for the whole subscription
	State          State
	After          string // lower-cased name of the previous page's last vault
	Limit          int
}

// SecretPurger purges every secret of a vault, for good (the secret
// service). It must be idempotent: a purge cut short runs again.
type SecretPurger interface {
	PurgeVaultSecrets(ctx context.Context, vaultUID string) error
}

// SecretPurgerFunc adapts a function to SecretPurger, which lets the
// composition root hand the vault service a purger built after it.
type SecretPurgerFunc func(ctx context.Context, vaultUID string) error

// PurgeVaultSecrets calls f.
func (f SecretPurgerFunc) PurgeVaultSecrets(ctx context.Context, vaultUID string) error {
	return f(ctx, vaultUID)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Locks is asked before every change: ReadOnly blocks writes and
	// purges, CanNotDelete and ReadOnly block deletes.
	Locks lock.Checker
	// Secrets purges a vault's secrets when the vault is purged; nil
	// while no secret service exists.
	Secrets SecretPurger
	// VaultURI returns the data-plane URI of a vault name
	// (https://{name}.vault.{suffix}:{port}/).
	VaultURI func(name string) string
	Now      func() time.Time
	// Logger receives the sweeper's failures (slog.Default when nil).
	Logger *slog.Logger
}

// Service manages vaults.
type Service struct {
	cfg      Config
	observer Observer
	// stripes serialise this process's changes to one vault, so that
	// concurrent requests queue instead of failing their optimistic
	// retries; replicas still meet only through the store's versions.
	stripes [64]sync.Mutex
}

// lockName serialises changes to the vault called name in this process.
func (s *Service) lockName(name string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(name)))
	m := &s.stripes[h.Sum32()%uint32(len(s.stripes))]
	m.Lock()
	return m.Unlock
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Locks == nil || cfg.VaultURI == nil {
		return nil, errors.New("keyvault: Store, Locks and VaultURI are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg}, nil
}

// URI returns a vault's data-plane URI, with a trailing slash as Azure
// returns it (reference/keyvault-wire.md §3.3). The name is lower-cased:
// it is a DNS label.
func (s *Service) URI(name string) string { return s.cfg.VaultURI(strings.ToLower(name)) }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// ByName returns the live vault called name (any case), for the data
// plane; errkind.NotFound when there is none or it is soft-deleted.
func (s *Service) ByName(ctx context.Context, name string) (Vault, error) {
	v, err := s.cfg.Store.VaultByName(ctx, name)
	if err == nil && v.Deleted() {
		err = errkind.E(errkind.NotFound, "vault not found")
	}
	if err != nil {
		return Vault{}, err
	}
	return v, nil
}

// Get returns the live vault with id.
func (s *Service) Get(ctx context.Context, id resource.ID) (Vault, error) {
	v, err := s.cfg.Store.VaultByName(ctx, id.Name())
	switch {
	case err == nil && !v.Deleted() && v.ID.Equal(id):
		return v, nil
	case err == nil || errkind.KindOf(err) == errkind.NotFound:
		return Vault{}, notFound(id)
	}
	return Vault{}, err
}

func notFound(id resource.ID) error {
	return &errkind.Error{Kind: errkind.NotFound, Err: ErrNotFound,
		Message: "The Resource '" + ResourceType + "/" + id.Name() + "' under resource group '" + id.ResourceGroupName() + "' was not found."}
}

// Exists reports whether id names a live vault: armapi's question before
// an extension resource (a lock) is placed on it. Ids of other types are
// not vaults.
func (s *Service) Exists(ctx context.Context, id resource.ID) (bool, error) {
	if !IsVaultID(id) {
		return false, nil
	}
	_, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// IsVaultID reports whether id has the shape of a vault's id.
func IsVaultID(id resource.ID) bool {
	return id.Level() == resource.Resource && strings.EqualFold(id.Type(), ResourceType) &&
		id.Parent().Level() == resource.ResourceGroup
}

// InUse reports whether a subscription holds vaults, live or
// soft-deleted: Microsoft.KeyVault cannot be unregistered then (the
// provider package's Config.InUse).
func (s *Service) InUse(ctx context.Context, subscriptionID, namespace string) (bool, error) {
	if !strings.EqualFold(namespace, Namespace) {
		return false, nil
	}
	vs, err := s.cfg.Store.Vaults(ctx, Filter{SubscriptionID: subscriptionID, State: Any, Limit: 1})
	return len(vs) > 0, err
}

// List returns one page of the live vaults of a subscription, or of one of
// its resource groups when group is not empty.
func (s *Service) List(ctx context.Context, subscriptionID, group, after string, limit int) ([]Vault, error) {
	return s.cfg.Store.Vaults(ctx, Filter{SubscriptionID: subscriptionID, ResourceGroup: group, State: Live, After: after, Limit: limit})
}

// Delete soft-deletes a vault: it keeps its name, properties, access
// policies and secrets until it is recovered or purged. It reports whether
// the vault existed (ARM answers 200, or 204 when it did not).
func (s *Service) Delete(ctx context.Context, id resource.ID) (bool, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Delete, id); err != nil {
		return false, err
	}
	err := s.update(ctx, id, func(v *Vault) error { s.markDeleted(v); return nil })
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err == nil {
		s.notify(ctx, id, SoftDeleted)
	}
	return err == nil, err
}

func (s *Service) markDeleted(v *Vault) {
	now := s.now()
	v.DeletedAt = now
	v.ScheduledPurgeAt = now.AddDate(0, 0, v.Retention)
	v.UpdatedAt = now
}

// DeleteAllIn soft-deletes every vault of a resource group: the vaults'
// resourcegroup.Deleter. Locks were checked by the group's deletion, over
// the whole group. It is idempotent.
func (s *Service) DeleteAllIn(ctx context.Context, group resource.ID) error {
	for {
		vs, err := s.cfg.Store.Vaults(ctx, Filter{SubscriptionID: group.SubscriptionID(),
			ResourceGroup: group.ResourceGroupName(), State: Live, Limit: 100})
		if err != nil || len(vs) == 0 {
			return err
		}
		for _, v := range vs {
			if err := s.update(ctx, v.ID, func(v *Vault) error { s.markDeleted(v); return nil }); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			s.notify(ctx, v.ID, SoftDeleted)
		}
	}
}

// maxAttempts bounds the retries of a read-modify-write that keeps losing
// to changes made through other replicas (changes through this one queue
// on the name's stripe instead).
const maxAttempts = 10

// update applies change to the live vault id and stores it, retrying when
// another request changed the vault in between.
func (s *Service) update(ctx context.Context, id resource.ID, change func(*Vault) error) error {
	_, err := s.updateVault(ctx, id, change)
	return err
}

func (s *Service) updateVault(ctx context.Context, id resource.ID, change func(*Vault) error) (Vault, error) {
	defer s.lockName(id.Name())()
	for range maxAttempts {
		v, err := s.Get(ctx, id)
		if err != nil {
			return Vault{}, err
		}
		version := v.Version
		if err := change(&v); err != nil {
			return Vault{}, err
		}
		v.Version++
		err = s.cfg.Store.UpdateVault(ctx, v, version)
		if !errors.Is(err, ErrChanged) {
			return v, err
		}
	}
	return Vault{}, errkind.E(errkind.Conflict, "The vault '%s' is being changed by other requests; retry.", id.Name())
}
