// Package edge owns edge resources (Microsoft.DataBoxEdge/dataBoxEdgeDevices):
// the appliance's record in the management plane, its system-assigned
// managed identity, its status, and the extended information that links it
// to its key vault, channel integrity key (CIK), audit storage and escrowed
// device secrets (reference/edge-arm.md §1).
//
// Invariants:
//   - A device and its managed identity are created together: the identity
//     exists first, so a crash leaves at worst an identity no device names,
//     never a device without its identity.
//   - Names are unique per resource group, ignoring case; ids keep the
//     caller's casing.
//   - Every change is a compare-and-swap on Version: two writers cannot
//     lose each other's update (the activation operation, an
//     updateExtendedInformation call and a PATCH may race).
//   - The key-vault link (Link) only grows during activation: each step of
//     the activation operation records what it made, so a resumed
//     operation finds it and does not make it twice.
package edge

import (
	"context"
	"maps"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// ResourceType is the ARM type of an edge resource.
const ResourceType = "Microsoft.DataBoxEdge/dataBoxEdgeDevices"

// Namespace is the edge resources' resource provider.
const Namespace = "Microsoft.DataBoxEdge"

// Status is properties.dataBoxEdgeDeviceStatus, as on the wire.
type Status string

const (
	ReadyToSetup Status = "ReadyToSetup"
	Online       Status = "Online"
	Offline      Status = "Offline"
)

// SyncStatus is keyVaultSyncStatus, as on the wire.
type SyncStatus string

const (
	KeyVaultNotConfigured SyncStatus = "KeyVaultNotConfigured"
	KeyVaultSyncPending   SyncStatus = "KeyVaultSyncPending"
	KeyVaultSyncing       SyncStatus = "KeyVaultSyncing"
	KeyVaultSynced        SyncStatus = "KeyVaultSynced"
	KeyVaultSyncFailed    SyncStatus = "KeyVaultSyncFailed"
	KeyVaultNotSynced     SyncStatus = "KeyVaultNotSynced"
)

// SyncStatuses lists every SyncStatus.
var SyncStatuses = []SyncStatus{KeyVaultNotConfigured, KeyVaultSyncPending, KeyVaultSyncing, KeyVaultSynced,
	KeyVaultSyncFailed, KeyVaultNotSynced}

// Kinds of edge resource (the wire's kind); only AzureStackEdge is
// activated with a key vault here, the others are accepted as records.
var Kinds = []string{"AzureStackEdge", "AzureDataBoxGateway", "AzureStackHub", "AzureModularDataCentre"}

// Device is an edge resource.
type Device struct {
	// UID is the device's immutable internal id (a GUID): activation keys,
	// alerts and the device certificate name it, so a resource deleted and
	// created again under the same name never inherits them.
	UID      string
	ID       resource.ID
	Location string
	Tags     map[string]string
	SKU      string // sku.name, e.g. EdgeP_Base
	Kind     string // e.g. AzureStackEdge
	TenantID string // the subscription's tenant
	// IdentityID is the object id of the system-assigned managed identity.
	IdentityID string
	// IdentityDisabled is set while the identity is turned off (PATCH
	// identity.type None); its principal then obtains no tokens.
	IdentityDisabled bool
	Status           Status
	// SerialNumber is set by activation (#7).
	SerialNumber string
	// ResourceKey is the decimal "resource key" extended information
	// shows; fixed at creation.
	ResourceKey string
	// Link is what activation made for the device: its vault and the rest.
	Link Link
	// SyncStatus is keyVaultSyncStatus.
	SyncStatus SyncStatus
	// Secrets are the escrowed device secrets by their PascalCase name.
	Secrets map[string]SecretRef
	// EncryptionKey and EncryptionKeyThumbprint are the device's public
	// encryption key, as extended information carries them.
	EncryptionKey           string
	EncryptionKeyThumbprint string
	// GenerateOp is the id of the activation-key operation running for the
	// device, or "" (one at a time); GenerateOpAt is when it was claimed.
	GenerateOp   string
	GenerateOpAt time.Time
	LastSeen     time.Time // last heartbeat; zero before activation
	// Agent is the appliance side's state, from activation on.
	Agent     AgentState
	CreatedBy string // object id
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version counts the device's changes; the store replaces a device only
	// when the version it read is still current.
	Version int64
}

// Name returns the device's name.
func (d Device) Name() string { return d.ID.Name() }

// Clone returns a deep copy of d, safe to change.
func (d Device) Clone() Device {
	d.Tags = maps.Clone(d.Tags)
	d.Secrets = maps.Clone(d.Secrets)
	d.Link.Warnings = append([]Warning(nil), d.Link.Warnings...)
	d.Agent.RecentPushes = append([]string(nil), d.Agent.RecentPushes...)
	d.Agent.Outbox = append([]CustomerSecret(nil), d.Agent.Outbox...)
	return d
}

// Link is what the activation-key operation made for a device, recorded
// step by step. Zero values mean "not yet".
type Link struct {
	VaultID  string // ARM id of the key vault (clientSecretStoreId)
	VaultURI string // clientSecretStoreUrl
	// VaultLock is the id of the CanNotDelete lock placed on the vault.
	VaultLock string
	// CIKName and CIKVersion name the channel integrity key secret.
	CIKName    string
	CIKVersion string
	// CIKSealed is the CIK itself, sealed under the server's keyring: the
	// service opens device pushes with it, so a CIK deleted from the vault
	// can be restored by the device's next push.
	CIKSealed []byte
	// StorageAccountID is the audit storage account; StorageLock its lock.
	StorageAccountID string
	StorageLock      string
	// DiagnosticSettingID is the vault's diagnostic setting to that account.
	DiagnosticSettingID string
	// PolicyGranted is set once the identity holds get/set on the vault.
	PolicyGranted bool
	// Provisioned is set once a first activation key was issued: later
	// generations are regenerations, which do not touch the vault.
	Provisioned bool
	// Warnings are the non-blocking failures of the last provisioning.
	Warnings []Warning
}

// Warning is a non-blocking failure of a provisioning step: the key was
// issued all the same.
type Warning struct {
	Step    string // the activation step, e.g. CreateAuditStorageAccount
	Message string
}

// AgentState is what the service knows of the appliance's agent.
type AgentState struct {
	// KeyID is the activation key the device activated with.
	KeyID string
	// DeviceKey is the fingerprint of the device certificate's public key
	// (pki.KeyFingerprint): only that key's certificate is accepted.
	DeviceKey   string
	ActivatedAt time.Time
	// SyncID, when not empty, is a requested sync the device has not yet
	// answered; SyncRequestedAt when it was requested.
	SyncID          string
	SyncRequestedAt time.Time
	// LastSyncID and LastSyncAt are the last push's.
	LastSyncID string
	LastSyncAt time.Time
	// RecentPushes are the ids of the latest pushes, newest last: a push
	// id seen before is a replay.
	RecentPushes []string
	// Outbox holds customer secrets sent to the device and not yet
	// acknowledged, sealed under the CIK.
	Outbox []CustomerSecret
}

// MaxRecentPushes bounds AgentState.RecentPushes.
const MaxRecentPushes = 64

// CustomerSecret is a secret on its way to the device.
type CustomerSecret struct {
	ID        string // message id, in the sealed value's AAD
	Name      string
	Sealed    []byte
	CreatedBy string
	CreatedAt time.Time
}

// SecretRef is one escrowed device secret: where it is in the vault.
type SecretRef struct {
	// KeyVaultID is "secrets/<name>/<version>", as the wire's keyVaultId.
	KeyVaultID string
	SyncedAt   time.Time
}

// Filter selects devices for Store.Devices.
type Filter struct {
	SubscriptionID string
	ResourceGroup  string // name; empty for the whole subscription
	After          string // lower-cased "group/name" of the previous page's last device
	Limit          int
}

// ErrChanged is what a Store returns when the device changed since it was
// read; the Service reads again and retries.
var ErrChanged = errkind.E(errkind.Conflict, "The edge resource was changed by another request.")

// Store persists devices.
type Store interface {
	// InsertDevice inserts a device; errkind.Conflict when its group
	// already holds the name (any case).
	InsertDevice(ctx context.Context, d Device) error
	// UpdateDevice replaces the device with d.UID if its version is still
	// version; ErrChanged otherwise (or when it is gone).
	UpdateDevice(ctx context.Context, d Device, version int64) error
	// Device returns the device with an id (compared ignoring case;
	// errkind.NotFound).
	Device(ctx context.Context, id resource.ID) (Device, error)
	// DeviceByUID returns the device with a UID (errkind.NotFound).
	DeviceByUID(ctx context.Context, uid string) (Device, error)
	// Devices lists devices ordered by lower-cased "group/name", after
	// f.After.
	Devices(ctx context.Context, f Filter) ([]Device, error)
	// DeleteDevice removes a device for good, with its activation keys and
	// alerts; errkind.NotFound when it is gone.
	DeleteDevice(ctx context.Context, uid string) error
	// DevicesByVault lists the devices whose Link.VaultID is vaultID
	// (compared ignoring case), through an index.
	DevicesByVault(ctx context.Context, vaultID string) ([]Device, error)
	// ProvisionedDevices lists, by uid after afterUID, at most limit
	// devices of any subscription that have a vault.
	ProvisionedDevices(ctx context.Context, afterUID string, limit int) ([]Device, error)
}
