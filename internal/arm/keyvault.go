package arm

import "encoding/json"

// Wire shapes of Microsoft.KeyVault vaults (armkeyvault v1.5.0 models;
// reference/keyvault-wire.md §3.2–3.3). Field names are exactly the SDK
// models'.

// KeyVaultVersions are the api-versions of Microsoft.KeyVault the server
// answers (armkeyvault v1.5.0 pins 2024-11-01).
var KeyVaultVersions = Versions{"2024-11-01", "2023-07-01", "2022-07-01"}

// Vault is a vault resource.
type Vault struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	SystemData *SystemData       `json:"systemData,omitempty"`
	Properties VaultProperties   `json:"properties"`
}

// SystemData is ARM's record of who created and changed a resource.
type SystemData struct {
	CreatedBy      string `json:"createdBy,omitempty"`
	CreatedAt      string `json:"createdAt,omitempty"`
	LastModifiedAt string `json:"lastModifiedAt,omitempty"`
}

// VaultProperties are a vault's properties as returned.
type VaultProperties struct {
	TenantID                     string              `json:"tenantId"`
	SKU                          VaultSKU            `json:"sku"`
	AccessPolicies               []AccessPolicyEntry `json:"accessPolicies"`
	VaultURI                     string              `json:"vaultUri"`
	EnabledForDeployment         bool                `json:"enabledForDeployment"`
	EnabledForDiskEncryption     bool                `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment bool                `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             bool                `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    int                 `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      bool                `json:"enableRbacAuthorization"`
	// EnablePurgeProtection is absent unless enabled, as Azure returns it.
	EnablePurgeProtection *bool  `json:"enablePurgeProtection,omitempty"`
	PublicNetworkAccess   string `json:"publicNetworkAccess"`
	ProvisioningState     string `json:"provisioningState"`
}

// VaultSKU is {family, name}.
type VaultSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// AccessPolicyEntry is one access policy.
type AccessPolicyEntry struct {
	TenantID      string            `json:"tenantId"`
	ObjectID      string            `json:"objectId"`
	ApplicationID string            `json:"applicationId,omitempty"`
	Permissions   AccessPermissions `json:"permissions"`
}

// AccessPermissions are the permissions per object kind.
type AccessPermissions struct {
	Keys         []string `json:"keys"`
	Secrets      []string `json:"secrets"`
	Certificates []string `json:"certificates"`
	Storage      []string `json:"storage"`
}

// VaultPut is the body of PUT vaults/{name} (VaultCreateOrUpdateParameters).
// Read-only fields (id, name, type, systemData) are accepted and ignored,
// so a GET body can be PUT back.
type VaultPut struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	SystemData json.RawMessage     `json:"systemData"`
	Location   string              `json:"location"`
	Tags       map[string]string   `json:"tags"`
	Properties *VaultPutProperties `json:"properties"`
}

// VaultPutProperties are the properties of a PUT or a PATCH; every field
// is optional on the wire, and read-only ones are ignored.
type VaultPutProperties struct {
	TenantID                     *string             `json:"tenantId"`
	SKU                          *VaultSKUInput      `json:"sku"`
	AccessPolicies               []AccessPolicyInput `json:"accessPolicies"`
	CreateMode                   *string             `json:"createMode"`
	EnabledForDeployment         *bool               `json:"enabledForDeployment"`
	EnabledForDiskEncryption     *bool               `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment *bool               `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             *bool               `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    *int                `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      *bool               `json:"enableRbacAuthorization"`
	EnablePurgeProtection        *bool               `json:"enablePurgeProtection"`
	NetworkACLs                  *NetworkRuleSet     `json:"networkAcls"`
	PublicNetworkAccess          *string             `json:"publicNetworkAccess"`

	// Read-only.
	VaultURI                   *string         `json:"vaultUri"`
	ProvisioningState          *string         `json:"provisioningState"`
	HsmPoolResourceID          *string         `json:"hsmPoolResourceId"`
	PrivateEndpointConnections json.RawMessage `json:"privateEndpointConnections"`
}

// VaultSKUInput is a SKU as sent.
type VaultSKUInput struct {
	Family *string `json:"family"`
	Name   *string `json:"name"`
}

// AccessPolicyInput is an access policy as sent.
type AccessPolicyInput struct {
	TenantID      string                 `json:"tenantId"`
	ObjectID      string                 `json:"objectId"`
	ApplicationID string                 `json:"applicationId"`
	Permissions   AccessPermissionsInput `json:"permissions"`
}

// AccessPermissionsInput are permissions as sent.
type AccessPermissionsInput struct {
	Keys         []string `json:"keys"`
	Secrets      []string `json:"secrets"`
	Certificates []string `json:"certificates"`
	Storage      []string `json:"storage"`
}

// NetworkRuleSet is properties.networkAcls. The server has no network
// rules: only a rule set that lets everything in is accepted.
type NetworkRuleSet struct {
	Bypass              *string           `json:"bypass"`
	DefaultAction       *string           `json:"defaultAction"`
	IPRules             []json.RawMessage `json:"ipRules"`
	VirtualNetworkRules []json.RawMessage `json:"virtualNetworkRules"`
}

// VaultPatch is the body of PATCH vaults/{name} (VaultPatchParameters).
type VaultPatch struct {
	Tags       map[string]string   `json:"tags"`
	Properties *VaultPutProperties `json:"properties"`
}

// VaultAccessPolicyParameters is the body and the answer of
// PUT vaults/{name}/accessPolicies/{operationKind}.
type VaultAccessPolicyParameters struct {
	ID         string                      `json:"id,omitempty"`
	Name       string                      `json:"name,omitempty"`
	Type       string                      `json:"type,omitempty"`
	Location   string                      `json:"location,omitempty"`
	Properties VaultAccessPolicyProperties `json:"properties"`
}

// VaultAccessPolicyProperties holds the policies.
type VaultAccessPolicyProperties struct {
	AccessPolicies []AccessPolicyEntry `json:"accessPolicies"`
}

// VaultAccessPolicyInput is the request body of an access-policy update.
type VaultAccessPolicyInput struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Location   string `json:"location"`
	Properties *struct {
		AccessPolicies []AccessPolicyInput `json:"accessPolicies"`
	} `json:"properties"`
}

// DeletedVault is a soft-deleted vault (Microsoft.KeyVault/deletedVaults).
type DeletedVault struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Properties DeletedVaultProperties `json:"properties"`
}

// DeletedVaultProperties describe a deleted vault.
type DeletedVaultProperties struct {
	VaultID                string            `json:"vaultId"`
	Location               string            `json:"location"`
	Tags                   map[string]string `json:"tags"`
	DeletionDate           string            `json:"deletionDate"`
	ScheduledPurgeDate     string            `json:"scheduledPurgeDate"`
	PurgeProtectionEnabled bool              `json:"purgeProtectionEnabled"`
}

// CheckNameAvailabilityRequest is the body of checkNameAvailability.
type CheckNameAvailabilityRequest struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// CheckNameAvailabilityResult is its answer.
type CheckNameAvailabilityResult struct {
	NameAvailable bool   `json:"nameAvailable"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
}
