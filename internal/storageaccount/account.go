// Package storageaccount owns storage accounts
// (Microsoft.Storage/storageAccounts): their SKU, kind, tags, globally
// unique names, and the long-running creation that takes an account from
// Creating to Succeeded. The blobs inside an account belong to the blob
// store; this package answers the blob plane's questions about an account
// (does it exist, its id for RBAC, its tenant and subscription) and tells
// the blob store, through a BlobPurger, when an account's blobs must go.
//
// Invariants (reference/edge-arm.md §3.5–3.7, §3.11):
//   - An account name is 3–24 lowercase letters and digits, and unique
//     across every tenant and subscription for as long as the account
//     exists. The store enforces it with one unique key.
//   - An account is created in state Creating by a PUT, which starts an
//     operation; the operation's handler, run on the durable queue, moves
//     it to Succeeded. Only a Succeeded account serves the blob plane.
//   - Deletion is synchronous and final (storage accounts have no soft
//     delete here): the account's blobs are purged before its row goes, so
//     a deletion cut short leaves an account that a retry deletes again.
//   - Every change a caller requests asks the management-lock checker
//     first (a group deletion has asked for the whole group).
package storageaccount

import (
	"time"

	"github.com/edgevault/edgevault/internal/resource"
)

// ResourceType is the ARM type of an account.
const ResourceType = "Microsoft.Storage/storageAccounts"

// Namespace is the accounts' resource provider.
const Namespace = "Microsoft.Storage"

// State is an account's provisioningState, as on the wire.
type State string

const (
	Creating  State = "Creating"
	Succeeded State = "Succeeded"
	Deleting  State = "Deleting"
)

// SKU is sku.name, as on the wire.
type SKU string

const (
	StandardLRS    SKU = "Standard_LRS"
	StandardGRS    SKU = "Standard_GRS"
	StandardRAGRS  SKU = "Standard_RAGRS"
	StandardZRS    SKU = "Standard_ZRS"
	PremiumLRS     SKU = "Premium_LRS"
	PremiumZRS     SKU = "Premium_ZRS"
	StandardGZRS   SKU = "Standard_GZRS"
	StandardRAGZRS SKU = "Standard_RAGZRS"
)

// SKUs lists every SKU name an account may have.
var SKUs = []SKU{StandardLRS, StandardGRS, StandardRAGRS, StandardZRS, PremiumLRS, PremiumZRS, StandardGZRS, StandardRAGZRS}

// Tier is sku.tier, which the name implies: "Standard" or "Premium".
func (s SKU) Tier() string {
	if len(s) >= 7 && s[:7] == "Premium" {
		return "Premium"
	}
	return "Standard"
}

// Kind is the account kind, as on the wire. Only general-purpose v2
// accounts are served (the blob plane is all this server implements).
type Kind string

const StorageV2 Kind = "StorageV2"

// Account is a storage account.
type Account struct {
	// UID is the account's immutable internal id (a GUID), fixed at
	// creation: the blob store keys blobs by it, so an account deleted and
	// created again under the same name never sees the old one's blobs.
	UID               string
	ID                resource.ID
	Location          string
	Tags              map[string]string
	TenantID          string // the subscription's tenant
	SKU               SKU
	Kind              Kind
	ProvisioningState State
	CreatedBy         string // object id
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Version counts the account's changes; the store replaces an account
	// only when the version it read is still current.
	Version int64
}

// Name returns the account's name.
func (a Account) Name() string { return a.ID.Name() }

// SubscriptionID returns the account's subscription.
func (a Account) SubscriptionID() string { return a.ID.SubscriptionID() }

// Ready reports whether the account has been provisioned and not yet
// begun deletion: whether the blob plane serves it.
func (a Account) Ready() bool { return a.ProvisioningState == Succeeded }
