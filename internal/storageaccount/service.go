package storageaccount

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/resource"
)

// Errors with Azure's codes (mapped in armapi's error table). Each is the
// cause of the error returned, whose message names the account.
var (
	// ErrNotFound: ResourceNotFound, 404.
	ErrNotFound = errkind.E(errkind.NotFound, "The storage account could not be found.")
	// ErrNameInvalid: AccountNameInvalid, 400.
	ErrNameInvalid = errkind.E(errkind.Invalid, "The storage account name is invalid.")
	// ErrNameTaken: StorageAccountAlreadyTaken, 409 (another group or
	// subscription holds the name).
	ErrNameTaken = errkind.E(errkind.Conflict, "The storage account name is already taken.")
	// ErrLocationChanged: InvalidResourceLocation, 400.
	ErrLocationChanged = errkind.E(errkind.Invalid, "A storage account's location cannot change.")
	// ErrChanged is what a Store returns when the account changed since it
	// was read; the Service reads again and retries.
	ErrChanged = errkind.E(errkind.Conflict, "The storage account was changed by another request.")
)

// Store persists accounts. Names are unique across all accounts.
type Store interface {
	// InsertAccount inserts an account; errkind.Conflict when the name is
	// taken.
	InsertAccount(ctx context.Context, a Account) error
	// UpdateAccount replaces the account with a.UID if its version is
	// still version; ErrChanged otherwise (or when it is gone).
	UpdateAccount(ctx context.Context, a Account, version int64) error
	// AccountByName returns the account holding a name (errkind.NotFound).
	AccountByName(ctx context.Context, name string) (Account, error)
	// Accounts lists accounts ordered by name, after the name after.
	Accounts(ctx context.Context, f Filter) ([]Account, error)
	// DeleteAccount removes an account for good; NotFound when it is gone.
	DeleteAccount(ctx context.Context, uid string) error
}

// Filter selects accounts for Store.Accounts.
type Filter struct {
	SubscriptionID string
	ResourceGroup  string // name; empty for the whole subscription
	After          string // name of the previous page's last account
	Limit          int
}

// BlobPurger purges every blob of an account, for good (the blob store).
// accountID is the account's resource id as created (Account.ID.String();
// compare it ignoring case). It must be idempotent: a deletion cut short
// purges again. The account is already Deleting when it is called, so
// ByName no longer admits new writes.
type BlobPurger interface {
	PurgeAccountBlobs(ctx context.Context, accountID string) error
}

// BlobPurgerFunc adapts a function to BlobPurger, which lets the
// composition root hand the service a purger built after it.
type BlobPurgerFunc func(ctx context.Context, accountID string) error

// PurgeAccountBlobs calls f.
func (f BlobPurgerFunc) PurgeAccountBlobs(ctx context.Context, accountID string) error {
	return f(ctx, accountID)
}

// Operations starts long-running operations and runs their handlers (the
// operation.Service).
type Operations interface {
	Start(ctx context.Context, req operation.StartRequest) (operation.Operation, error)
	Register(kind string, h operation.Handler)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Locks is asked before every change: ReadOnly blocks writes,
	// CanNotDelete and ReadOnly block deletes.
	Locks lock.Checker
	// Operations runs account creation; New registers CreateKind with it,
	// so New comes before the job queue starts.
	Operations Operations
	// Blobs purges an account's blobs when it is deleted; nil while no
	// blob store exists. The account id it is given is the account's
	// resource id as created (Account.ID.String()).
	Blobs BlobPurger
	// BlobEndpoint returns the blob endpoint of an account name
	// (https://{name}.blob.{suffix}:{port}/).
	BlobEndpoint func(name string) string
	Now          func() time.Time
}

// Service manages storage accounts.
type Service struct {
	cfg Config
	// stripes serialise this process's changes to one account; replicas
	// meet through the store's versions.
	stripes [64]sync.Mutex
}

// New returns a Service and registers the creation handler.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Locks == nil || cfg.Operations == nil || cfg.BlobEndpoint == nil {
		return nil, errors.New("storageaccount: Store, Locks, Operations and BlobEndpoint are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg}
	cfg.Operations.Register(CreateKind, s.runCreate)
	return s, nil
}

func (s *Service) lockName(name string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(name)))
	m := &s.stripes[h.Sum32()%uint32(len(s.stripes))]
	m.Lock()
	return m.Unlock
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// BlobEndpoint returns an account's primary blob endpoint, with a trailing
// slash as Azure returns it.
func (s *Service) BlobEndpoint(name string) string { return s.cfg.BlobEndpoint(strings.ToLower(name)) }

// ByName returns the ready account called name, for the blob plane:
// errkind.NotFound when there is none, or it is still being created or
// already being deleted.
func (s *Service) ByName(ctx context.Context, name string) (Account, error) {
	a, err := s.cfg.Store.AccountByName(ctx, name)
	if err == nil && !a.Ready() {
		err = errkind.E(errkind.NotFound, "storage account not found")
	}
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Get returns the account with id, in any state.
func (s *Service) Get(ctx context.Context, id resource.ID) (Account, error) {
	a, err := s.cfg.Store.AccountByName(ctx, id.Name())
	switch {
	case err == nil && a.ID.Equal(id):
		return a, nil
	case err == nil || errkind.KindOf(err) == errkind.NotFound:
		return Account{}, notFound(id)
	}
	return Account{}, err
}

func notFound(id resource.ID) error {
	return &errkind.Error{Kind: errkind.NotFound, Err: ErrNotFound,
		Message: "The Resource '" + ResourceType + "/" + id.Name() + "' under resource group '" + id.ResourceGroupName() + "' was not found."}
}

// Exists reports whether id names an account that is not being deleted:
// armapi's question before an extension resource (a lock, a diagnostic
// setting) is placed on it. Ids of other types are not accounts.
func (s *Service) Exists(ctx context.Context, id resource.ID) (bool, error) {
	if !IsAccountID(id) {
		return false, nil
	}
	a, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && a.ProvisioningState != Deleting, err
}

// IsAccountID reports whether id has the shape of an account's id.
func IsAccountID(id resource.ID) bool {
	return id.Level() == resource.Resource && strings.EqualFold(id.Type(), ResourceType) &&
		id.Parent().Level() == resource.ResourceGroup
}

// InUse reports whether a subscription holds accounts: Microsoft.Storage
// cannot be unregistered then (the provider package's Config.InUse).
func (s *Service) InUse(ctx context.Context, subscriptionID, namespace string) (bool, error) {
	if !strings.EqualFold(namespace, Namespace) {
		return false, nil
	}
	as, err := s.cfg.Store.Accounts(ctx, Filter{SubscriptionID: subscriptionID, Limit: 1})
	return len(as) > 0, err
}

// List returns one page of the accounts of a subscription, or of one of
// its resource groups when group is not empty.
func (s *Service) List(ctx context.Context, subscriptionID, group, after string, limit int) ([]Account, error) {
	return s.cfg.Store.Accounts(ctx, Filter{SubscriptionID: subscriptionID, ResourceGroup: group, After: after, Limit: limit})
}

// maxAttempts bounds the retries of a read-modify-write that keeps losing
// to changes made through other replicas.
const maxAttempts = 10

// update applies change to the account id and stores it, retrying when
// another request changed it in between.
func (s *Service) update(ctx context.Context, id resource.ID, change func(*Account) error) (Account, error) {
	defer s.lockName(id.Name())()
	return s.updateLocked(ctx, id, change)
}

func (s *Service) updateLocked(ctx context.Context, id resource.ID, change func(*Account) error) (Account, error) {
	for range maxAttempts {
		a, err := s.Get(ctx, id)
		if err != nil {
			return Account{}, err
		}
		version := a.Version
		if err := change(&a); err != nil {
			return Account{}, err
		}
		a.Version = version + 1
		err = s.cfg.Store.UpdateAccount(ctx, a, version)
		if !errors.Is(err, ErrChanged) {
			return a, err
		}
	}
	return Account{}, busy(id.Name())
}

func busy(name string) error {
	return errkind.E(errkind.Conflict, "The storage account '%s' is being changed by other requests; retry.", name)
}
