// Package keyvault owns Key Vault vaults (Microsoft.KeyVault/vaults): their
// properties, access policies, globally unique names, soft delete, recovery
// and purge. The secrets inside a vault belong to the secret package; this
// package answers the data plane's questions about a vault (does it exist,
// which tenant, who may do what).
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
// (soft delete is always on): purgeable unless purge protection is on.
func (v Vault) RecoveryLevel() string {
	if v.PurgeProtection {
		return "Recoverable"
	}
	return "Recoverable+Purgeable"
}
