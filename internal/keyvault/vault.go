// Package keyvault owns Key Vault vaults (Microsoft.KeyVault/vaults): their
// properties, access policies, globally unique names, soft delete, recovery
// and purge. The secrets inside a vault belong to the secret package; this
// package answers the data plane's questions about a vault (does it exist,
// which tenant, who may do what) and tells the secret package, through a
// SecretPurger, when a vault's secrets must go.
//
// Invariants (reference/keyvault-wire.md §3.3–3.4, §5):
//   - A vault name is unique across every tenant and subscription, ignoring
//     case, for as long as the vault exists: live, or soft-deleted until it
//     is purged. The store enforces it with one unique key.
//   - Soft delete is always on; the retention (7–90 days) is fixed at
//     creation; purge protection, once on, stays on.
//   - A soft-deleted vault is recovered whole (properties, access policies,
//     secrets) under its original id, or purged: by request when purge
//     protection allows it, by the sweeper once its scheduled purge date has
//     passed. A purge that has begun is finished, never undone.
//   - Every change a caller requests asks the management-lock checker
//     first (a group deletion has asked for the whole group; the
//     sweeper acts for the system, which locks do not bind).
package keyvault

import (
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
)

// SecretPermission is a secrets permission of an access policy, lowercase
// as on the wire (reference/keyvault-wire.md §3.3).
type SecretPermission string

const (
	SecretGet     SecretPermission = "get"
	SecretList    SecretPermission = "list"
	SecretSet     SecretPermission = "set"
	SecretDelete  SecretPermission = "delete"
	SecretBackup  SecretPermission = "backup"
	SecretRestore SecretPermission = "restore"
	SecretRecover SecretPermission = "recover"
	SecretPurge   SecretPermission = "purge"
	SecretAll     SecretPermission = "all"
)

// Permissions are an access policy's permissions per object kind. Keys,
// certificates and storage are stored and returned as given (only secrets
// are served by this server).
type Permissions struct {
	Keys, Secrets, Certificates, Storage []string
}

// AccessPolicy grants a principal of a tenant permissions in a vault.
type AccessPolicy struct {
	TenantID      string
	ObjectID      string // lower-case GUID
	ApplicationID string // compound identity; empty for most policies
	Permissions   Permissions
}

// Vault is a key vault.
type Vault struct {
	// UID is the vault's immutable internal id (a GUID), fixed at creation
	// and kept across soft delete and recovery. It names the vault's
	// envelope scope, so a vault purged and created again under the same
	// name can never open the old one's ciphertexts.
	UID                          string
	ID                           resource.ID
	Location                     string
	Tags                         map[string]string
	TenantID                     string
	SKU                          string // "standard" | "premium" (family is always "A")
	Policies                     []AccessPolicy
	Retention                    int  // softDeleteRetentionInDays, 7–90
	PurgeProtection              bool // irreversible once true
	EnabledForDeployment         bool
	EnabledForDiskEncryption     bool
	EnabledForTemplateDeployment bool
	PublicNetworkAccess          string // "Enabled" | "Disabled"
	ProvisioningState            string
	CreatedAt, UpdatedAt         time.Time
	CreatedBy                    string // object id
	// DeletedAt is set while the vault is soft-deleted; ScheduledPurgeAt is
	// DeletedAt + Retention days.
	DeletedAt, ScheduledPurgeAt time.Time
	// Purging is set once a purge has begun: the vault can no longer be
	// recovered, and the sweeper finishes the purge if this one is cut
	// short.
	Purging bool
	// Version counts the vault's changes; the store replaces a vault only
	// when the version it read is still current (optimistic concurrency).
	Version int64
}

// ResourceType is the ARM type of a vault.
const ResourceType = "Microsoft.KeyVault/vaults"

// Namespace is the vaults' resource provider.
const Namespace = "Microsoft.KeyVault"

// DeletedID is the id of the vault's deleted-vault proxy resource:
// /subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}.
func (v Vault) DeletedID() resource.ID {
	return DeletedVaultID(v.ID.SubscriptionID(), v.Location, v.Name())
}

// DeletedVaultID is the id of a deleted vault.
func DeletedVaultID(subscriptionID, location, name string) resource.ID {
	return resource.NewSubscription(subscriptionID).Child(Namespace, "locations", location).Child("", "deletedVaults", name)
}

// Name returns the vault's name as created.
func (v Vault) Name() string { return v.ID.Name() }

// Deleted reports whether the vault is soft-deleted.
func (v Vault) Deleted() bool { return !v.DeletedAt.IsZero() }

// Allows reports whether the principal objectID of tenantID holds secret
// permission p in the vault's access policies ("all" grants every one).
// Permission strings compare case-insensitively, as Azure does.
func (v Vault) Allows(tenantID, objectID string, p SecretPermission) bool {
	for _, pol := range v.Policies {
		if !strings.EqualFold(pol.ObjectID, objectID) || !strings.EqualFold(pol.TenantID, tenantID) {
			continue
		}
		if slices.ContainsFunc(pol.Permissions.Secrets, func(s string) bool {
			return strings.EqualFold(s, string(p)) || strings.EqualFold(s, string(SecretAll))
		}) {
			return true
		}
	}
	return false
}

// RecoveryLevel is the secrets' recoveryLevel attribute the vault implies
// (soft delete is always on): purgeable unless purge protection is on, and
// "Customized" when the retention is shorter than the default 90 days
// (reference/keyvault-wire.md §5).
func (v Vault) RecoveryLevel() string {
	level := "Recoverable"
	if v.Retention != 0 && v.Retention < DefaultRetention {
		level = "CustomizedRecoverable"
	}
	if !v.PurgeProtection {
		level += "+Purgeable"
	}
	return level
}
