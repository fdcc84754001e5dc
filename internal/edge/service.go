package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Errors with Azure's codes (mapped in armapi's error table). Each is the
// cause of the error returned, whose message names the device.
var (
	// ErrNotFound: ResourceNotFound, 404.
	ErrNotFound = errkind.E(errkind.NotFound, "The edge resource could not be found.")
	// ErrNameInvalid: InvalidResourceName, 400.
	ErrNameInvalid = errkind.E(errkind.Invalid, "The edge resource name is invalid.")
	// ErrLocationChanged: InvalidResourceLocation, 400.
	ErrLocationChanged = errkind.E(errkind.Invalid, "An edge resource's location cannot change.")
	// ErrBusy: AnotherOperationInProgress, 409.
	ErrBusy = errkind.E(errkind.Conflict, "Another operation is in progress on the edge resource.")
)

// Identities creates and reads managed identities (identity.Service).
type Identities interface {
	CreateManagedIdentity(ctx context.Context, tenantID, displayName string) (principal.Principal, error)
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
	DeleteManagedIdentity(ctx context.Context, objectID string) error
	SetManagedIdentityEnabled(ctx context.Context, objectID string, enabled bool) error
}

// Operations starts long-running operations (operation.Service).
type Operations interface {
	Start(ctx context.Context, req operation.StartRequest) (operation.Operation, error)
	Register(kind string, h operation.Handler)
}

// Config configures a Service.
type Config struct {
	Store      Store
	Identities Identities
	Locks      lock.Checker
	Operations Operations
	// OfflineAfter is the silence after which an activated device is
	// reported Offline (DefaultOfflineAfter when zero).
	OfflineAfter time.Duration
	// SyncTimeout bounds a sync's wait for the device
	// (DefaultSyncTimeout when zero).
	SyncTimeout time.Duration
	// Alerts and Vaults, when set, let the service watch its devices'
	// escrow (health.go) and delete a device's vault with consent.
	Alerts Alerts
	Vaults Vaults
	Logger *slog.Logger
	Now    func() time.Time
}

// DeleteKind is the kind of a device's deletion operation.
const DeleteKind = "dataBoxEdgeDevices/delete"

// Service manages edge resources.
type Service struct {
	cfg Config

	// watchMu guards watch: per device uid, a channel closed at the next
	// change this process makes to the device (Watch).
	watchMu sync.Mutex
	watch   map[string]chan struct{}
}

// New returns a Service and registers the deletion handler.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Identities == nil || cfg.Locks == nil || cfg.Operations == nil {
		return nil, errors.New("edge: Store, Identities, Locks and Operations are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = DefaultOfflineAfter
	}
	s := &Service{cfg: cfg}
	cfg.Operations.Register(DeleteKind, s.runDelete)
	cfg.Operations.Register(SyncKind, s.runSync)
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Spec is what a PUT sets.
type Spec struct {
	Location string
	Tags     map[string]string
	SKU      string
	Kind     string
}

// ValidName reports whether name is a valid edge resource name: ARM's
// generic rule for resource names as the portal enforces it for Azure
// Stack Edge (2–50 letters, digits and hyphens, starting with a letter or
// digit, not ending in a hyphen).
func ValidName(name string) bool {
	if len(name) < 2 || len(name) > 50 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func notFound(id resource.ID) error {
	return errkind.Wrap(errkind.NotFound, ErrNotFound,
		fmt.Sprintf("The Resource '%s/%s' under resource group '%s' was not found.", ResourceType, id.Name(), id.ResourceGroupName()))
}

// Put creates or replaces a device and reports whether it created it. A
// new device gets its system-assigned managed identity, created first.
func (s *Service) Put(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (Device, bool, error) {
	if !ValidName(id.Name()) {
		return Device{}, false, errkind.Wrap(errkind.Invalid, ErrNameInvalid, fmt.Sprintf(
			"The edge resource name '%s' is invalid: use 2 to 50 letters, digits and hyphens, starting with a letter or digit and not ending with a hyphen.", truncate(id.Name())))
	}
	if spec.Location == "" {
		return Device{}, false, errkind.E(errkind.Invalid, "The location of the edge resource is required.")
	}
	if spec.SKU == "" {
		return Device{}, false, errkind.E(errkind.Invalid, "The sku of the edge resource is required.")
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Device{}, false, err
	}
	for range maxAttempts {
		cur, err := s.cfg.Store.Device(ctx, id)
		switch {
		case errkind.KindOf(err) == errkind.NotFound:
			d, err := s.create(ctx, caller, id, spec)
			if errkind.KindOf(err) == errkind.Conflict {
				continue // created meanwhile: replace it instead
			}
			return d, err == nil, err
		case err != nil:
			return Device{}, false, err
		}
		if !strings.EqualFold(cur.Location, spec.Location) {
			return Device{}, false, errkind.Wrap(errkind.Invalid, ErrLocationChanged, fmt.Sprintf(
				"The edge resource '%s' is in location '%s'; it cannot move to '%s'.", id.Name(), cur.Location, truncate(spec.Location)))
		}
		next := cur.Clone()
		next.Tags, next.SKU = nonNil(spec.Tags), spec.SKU
		if spec.Kind != "" {
			next.Kind = spec.Kind
		}
		d, err := s.replace(ctx, cur, next)
		if errors.Is(err, ErrChanged) {
			continue
		}
		return d, false, err
	}
	return Device{}, false, busy(id)
}

// maxAttempts bounds compare-and-swap retries under contention.
const maxAttempts = 8

func busy(id resource.ID) error {
	return errkind.E(errkind.Conflict, "The edge resource '%s' is being changed by other requests; retry.", id.Name())
}

func (s *Service) create(ctx context.Context, caller principal.Principal, id resource.ID, spec Spec) (Device, error) {
	mi, err := s.cfg.Identities.CreateManagedIdentity(ctx, caller.TenantID, id.Name())
	if err != nil {
		return Device{}, err
	}
	now := s.now()
	kind := spec.Kind
	if kind == "" {
		kind = "AzureStackEdge"
	}
	d := Device{
		UID: uuid.NewString(), ID: id, Location: spec.Location, Tags: nonNil(spec.Tags), SKU: spec.SKU, Kind: kind,
		TenantID: caller.TenantID, IdentityID: mi.ObjectID, Status: ReadyToSetup, ResourceKey: resourceKey(),
		SyncStatus: KeyVaultNotConfigured, CreatedBy: caller.ObjectID, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if err := s.cfg.Store.InsertDevice(ctx, d); err != nil {
		return Device{}, err
	}
	return d, nil
}

// resourceKey is a random 19-digit decimal, the shape extended information
// shows (edge-arm.md §1.6).
func resourceKey() string {
	id := uuid.New()
	n := new(big.Int).SetBytes(id[:8])
	n.Mod(n, big.NewInt(9e18))
	n.Add(n, big.NewInt(1e18))
	return n.String()
}

func (s *Service) replace(ctx context.Context, cur, next Device) (Device, error) {
	next.Version = cur.Version + 1
	next.UpdatedAt = s.now()
	if err := s.cfg.Store.UpdateDevice(ctx, next, cur.Version); err != nil {
		return Device{}, err
	}
	s.changed(next.UID)
	return next, nil
}

// Watch returns a channel closed at the next change this process makes to
// the device uid. A change made by another replica is not seen: callers
// that wait (a heartbeat's long poll) also read again now and then.
func (s *Service) Watch(uid string) <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watch == nil {
		s.watch = map[string]chan struct{}{}
	}
	ch, ok := s.watch[uid]
	if !ok {
		ch = make(chan struct{})
		s.watch[uid] = ch
	}
	return ch
}

func (s *Service) changed(uid string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if ch, ok := s.watch[uid]; ok {
		close(ch)
		delete(s.watch, uid)
	}
}

// Get returns a device, its status as of now (Offline after a silence).
func (s *Service) Get(ctx context.Context, id resource.ID) (Device, error) {
	d, err := s.cfg.Store.Device(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return Device{}, notFound(id)
	}
	d.Status = d.StatusAt(s.now(), s.cfg.OfflineAfter)
	return d, err
}

// ByUID returns a device by its internal id.
func (s *Service) ByUID(ctx context.Context, uid string) (Device, error) {
	d, err := s.cfg.Store.DeviceByUID(ctx, uid)
	if errkind.KindOf(err) == errkind.NotFound {
		return Device{}, errkind.Wrap(errkind.NotFound, ErrNotFound, "The edge resource no longer exists.")
	}
	return d, err
}

// Exists reports whether a device exists (lock and extension-resource
// scopes ask it).
func (s *Service) Exists(ctx context.Context, id resource.ID) (bool, error) {
	_, err := s.cfg.Store.Device(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return false, nil
	}
	return err == nil, err
}

// List lists devices of a subscription, or of one of its groups, after the
// cursor after (Device.ListCursor of the previous page's last device).
func (s *Service) List(ctx context.Context, subscriptionID, group, after string, limit int) ([]Device, error) {
	ds, err := s.cfg.Store.Devices(ctx, Filter{SubscriptionID: subscriptionID, ResourceGroup: group, After: after, Limit: limit})
	now := s.now()
	for i := range ds {
		ds[i].Status = ds[i].StatusAt(now, s.cfg.OfflineAfter)
	}
	return ds, err
}

// ListCursor is the paging cursor after d (Filter.After).
func (d Device) ListCursor() string {
	return strings.ToLower(d.ID.ResourceGroupName()) + "/" + strings.ToLower(d.Name())
}

// Patch replaces a device's tags.
func (s *Service) Patch(ctx context.Context, id resource.ID, tags map[string]string) (Device, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Device{}, err
	}
	return s.Update(ctx, id, func(d *Device) error {
		if tags != nil {
			d.Tags = maps.Clone(tags)
		}
		return nil
	})
}

// SetIdentityEnabled turns the device's system-assigned identity off
// (identity.type None) or on again. Off, the identity obtains no tokens,
// so the device's escrow stops until it is turned on (or reconfigured).
func (s *Service) SetIdentityEnabled(ctx context.Context, id resource.ID, enabled bool) (Device, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Device{}, err
	}
	d, err := s.Get(ctx, id)
	if err != nil {
		return Device{}, err
	}
	if err := s.cfg.Identities.SetManagedIdentityEnabled(ctx, d.IdentityID, enabled); err != nil && errkind.KindOf(err) != errkind.NotFound {
		return Device{}, err
	}
	return s.Update(ctx, id, func(d *Device) error {
		d.IdentityDisabled = !enabled
		return nil
	})
}

// Update applies change to the current device and stores it, reading again
// and retrying when another writer got there first. change may be called
// more than once; an error from it is returned as is, with nothing stored.
func (s *Service) Update(ctx context.Context, id resource.ID, change func(*Device) error) (Device, error) {
	for range maxAttempts {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return Device{}, err
		}
		next := cur.Clone()
		if err := change(&next); err != nil {
			return Device{}, err
		}
		d, err := s.replace(ctx, cur, next)
		if errors.Is(err, ErrChanged) {
			continue
		}
		return d, err
	}
	return Device{}, busy(id)
}

// ExtendedInfoPatch is updateExtendedInformation's body; nil members are
// left as they are.
type ExtendedInfoPatch struct {
	ClientSecretStoreID        *string
	ClientSecretStoreURL       *string
	ChannelIntegrityKeyName    *string
	ChannelIntegrityKeyVersion *string
	SyncStatus                 *SyncStatus
}

// UpdateExtendedInfo applies updateExtendedInformation. As the API's own
// documentation says, the only meaningful status a caller sets is
// KeyVaultSyncPending, which requests a sync of the device secrets; the
// vault link may be changed only to the values already recorded (moving a
// device to another vault is the recovery flow's job), so a caller cannot
// point the device's escrow at a vault the service did not provision.
func (s *Service) UpdateExtendedInfo(ctx context.Context, id resource.ID, p ExtendedInfoPatch) (Device, error) {
	if p.SyncStatus != nil && *p.SyncStatus != KeyVaultSyncPending {
		return Device{}, errkind.E(errkind.Invalid,
			"syncStatus may only be set to %s, which requests a sync of the device secrets; got '%s'.", KeyVaultSyncPending, truncate(string(*p.SyncStatus)))
	}
	if err := s.cfg.Locks.Check(ctx, lock.Action, id); err != nil {
		return Device{}, err
	}
	return s.Update(ctx, id, func(d *Device) error {
		for _, f := range []struct {
			name      string
			given     *string
			current   string
			caseMatch bool
		}{
			{"clientSecretStoreId", p.ClientSecretStoreID, d.Link.VaultID, false},
			{"clientSecretStoreUrl", p.ClientSecretStoreURL, d.Link.VaultURI, false},
			{"channelIntegrityKeyName", p.ChannelIntegrityKeyName, d.Link.CIKName, true},
			{"channelIntegrityKeyVersion", p.ChannelIntegrityKeyVersion, d.Link.CIKVersion, true},
		} {
			if f.given == nil || *f.given == f.current || !f.caseMatch && strings.EqualFold(*f.given, f.current) {
				continue
			}
			return errkind.E(errkind.Invalid,
				"%s cannot be changed through updateExtendedInformation; use the recover key vault operation to move the device to another vault.", f.name)
		}
		if p.SyncStatus != nil {
			if d.Link.VaultID == "" || !d.Link.Provisioned {
				return errkind.E(errkind.Conflict,
					"The edge resource has no key vault yet; generate an activation key first.")
			}
			if !d.Activated() {
				return errkind.E(errkind.Conflict, "The edge resource's appliance has not been activated yet.")
			}
			d.SyncStatus, d.Agent.SyncID, d.Agent.SyncRequestedAt = KeyVaultSyncPending, uuid.NewString(), s.now()
		}
		return nil
	})
}

// BeginDelete starts deleting a device: the resource, its activation keys
// and alerts, and its managed identity. With deleteVault (the person's
// typed consent), the service also removes the lock it placed on the
// device's key vault and soft-deletes the vault, which stays recoverable
// for its retention; without it the vault and its lock stay. The audit
// storage account and its logs stay either way.
func (s *Service) BeginDelete(ctx context.Context, caller principal.Principal, id resource.ID, deleteVault bool) (operation.Operation, bool, error) {
	d, err := s.Get(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return operation.Operation{}, false, nil
	}
	if err != nil {
		return operation.Operation{}, false, err
	}
	if err := s.cfg.Locks.Check(ctx, lock.Delete, id); err != nil {
		return operation.Operation{}, false, err
	}
	op, err := s.cfg.Operations.Start(ctx, operation.StartRequest{Kind: DeleteKind, SubscriptionID: id.SubscriptionID(),
		ResourceID: id.String(), PrincipalID: caller.ObjectID, Input: deleteInput{UID: d.UID, IdentityID: d.IdentityID,
			VaultID: vaultToDelete(d, deleteVault)}})
	return op, true, err
}

type deleteInput struct {
	UID        string `json:"uid"`
	IdentityID string `json:"identityId"`
	// VaultID is the vault to soft-delete with the device (consent given).
	VaultID string `json:"vaultId,omitempty"`
}

func vaultToDelete(d Device, consent bool) string {
	if consent {
		return d.Link.VaultID
	}
	return ""
}

func (s *Service) runDelete(ctx context.Context, op operation.Operation, _ *operation.Progress) (operation.Result, error) {
	var in deleteInput
	if err := op.DecodeInput(&in); err != nil {
		return operation.Result{}, err
	}
	// The vault first: if it cannot go (another lock on it), nothing is
	// deleted and the operation says why.
	if in.VaultID != "" {
		if s.cfg.Vaults == nil {
			return operation.Result{}, errkind.E(errkind.Internal, "no vault service to delete the key vault with")
		}
		if err := s.cfg.Vaults.DeleteDeviceVault(ctx, in.VaultID); err != nil {
			return operation.Result{}, err
		}
	}
	if err := s.cfg.Store.DeleteDevice(ctx, in.UID); err != nil && errkind.KindOf(err) != errkind.NotFound {
		return operation.Result{}, err
	}
	// The system-assigned identity goes with its resource, after it, so a
	// crash in between leaves an identity no device names (a retry removes
	// it), never a device without its identity.
	if err := s.cfg.Identities.DeleteManagedIdentity(ctx, in.IdentityID); err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Status: 200}, nil
}

// DeleteAllIn deletes every device of a resource group: the devices'
// resourcegroup.Deleter. Locks were checked over the whole group.
func (s *Service) DeleteAllIn(ctx context.Context, group resource.ID) error {
	for {
		ds, err := s.cfg.Store.Devices(ctx, Filter{SubscriptionID: group.SubscriptionID(),
			ResourceGroup: group.ResourceGroupName(), Limit: 100})
		if err != nil || len(ds) == 0 {
			return err
		}
		for _, d := range ds {
			// The identity first: this loop finds what is left by the
			// devices that remain, so a crash in between must leave the
			// device (the retry deletes both), not an identity no device
			// names. runDelete keeps the other order, since its input
			// remembers the identity.
			if err := s.cfg.Identities.DeleteManagedIdentity(ctx, d.IdentityID); err != nil {
				return err
			}
			if err := s.cfg.Store.DeleteDevice(ctx, d.UID); err != nil && errkind.KindOf(err) != errkind.NotFound {
				return err
			}
		}
	}
}

// InUse reports whether a subscription holds devices, which keeps
// Microsoft.DataBoxEdge from being unregistered.
func (s *Service) InUse(ctx context.Context, subscriptionID, namespace string) (bool, error) {
	if !strings.EqualFold(namespace, Namespace) {
		return false, nil
	}
	ds, err := s.cfg.Store.Devices(ctx, Filter{SubscriptionID: subscriptionID, Limit: 1})
	return len(ds) > 0, err
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
