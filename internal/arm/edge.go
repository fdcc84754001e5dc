package arm

import (
	"encoding/json"
	"time"
)

// Wire shapes of Microsoft.DataBoxEdge/dataBoxEdgeDevices
// (reference/edge-arm.md §1). Requests accept the read-only members a
// client echoes back from a GET, and ignore them.

// EdgeVersions are the api-versions the edge provider accepts.
var EdgeVersions = Versions{"2023-12-01", "2022-03-01"}

// EdgeSKU is sku.
type EdgeSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// EdgeIdentity is identity.
type EdgeIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
}

// EdgeDevice is a device as returned.
type EdgeDevice struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Type       string               `json:"type"`
	Location   string               `json:"location"`
	Tags       map[string]string    `json:"tags"`
	SKU        EdgeSKU              `json:"sku"`
	Etag       string               `json:"etag,omitempty"`
	Identity   EdgeIdentity         `json:"identity"`
	Kind       string               `json:"kind"`
	SystemData *SystemData          `json:"systemData,omitempty"`
	Properties EdgeDeviceProperties `json:"properties"`
}

// EdgeDeviceProperties are a device's properties as returned.
type EdgeDeviceProperties struct {
	DataBoxEdgeDeviceStatus string            `json:"dataBoxEdgeDeviceStatus"`
	SerialNumber            string            `json:"serialNumber,omitempty"`
	DeviceType              string            `json:"deviceType"`
	FriendlyName            string            `json:"friendlyName,omitempty"`
	NodeCount               int               `json:"nodeCount"`
	DeviceLocalCapacity     int64             `json:"deviceLocalCapacity"`
	ConfiguredRoleTypes     []string          `json:"configuredRoleTypes"`
	ResourceMoveDetails     map[string]string `json:"resourceMoveDetails"`
}

// EdgeDeviceCreate is a PUT body.
type EdgeDeviceCreate struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	SKU        *EdgeSKU          `json:"sku"`
	Identity   *EdgeIdentity     `json:"identity"`
	Kind       string            `json:"kind"`
	Properties json.RawMessage   `json:"properties"`
	// Read-only members a client may echo back; ignored.
	ID         json.RawMessage `json:"id"`
	Name       json.RawMessage `json:"name"`
	Type       json.RawMessage `json:"type"`
	Etag       json.RawMessage `json:"etag"`
	SystemData json.RawMessage `json:"systemData"`
}

// EdgeDevicePatch is a PATCH body.
type EdgeDevicePatch struct {
	Tags       map[string]string `json:"tags"`
	Identity   *EdgeIdentity     `json:"identity"`
	Properties json.RawMessage   `json:"properties"`
}

// EdgeExtendedInfo is getExtendedInformation's response.
type EdgeExtendedInfo struct {
	ID         string                     `json:"id"`
	Name       string                     `json:"name"`
	Type       string                     `json:"type"`
	Properties EdgeExtendedInfoProperties `json:"properties"`
}

// EdgeExtendedInfoProperties are the extended information.
type EdgeExtendedInfoProperties struct {
	EncryptionKeyThumbprint    string                `json:"encryptionKeyThumbprint,omitempty"`
	EncryptionKey              string                `json:"encryptionKey,omitempty"`
	ResourceKey                string                `json:"resourceKey"`
	ClientSecretStoreID        string                `json:"clientSecretStoreId,omitempty"`
	ClientSecretStoreURL       string                `json:"clientSecretStoreUrl,omitempty"`
	ChannelIntegrityKeyName    string                `json:"channelIntegrityKeyName,omitempty"`
	ChannelIntegrityKeyVersion string                `json:"channelIntegrityKeyVersion,omitempty"`
	KeyVaultSyncStatus         string                `json:"keyVaultSyncStatus"`
	DeviceSecrets              map[string]EdgeSecret `json:"deviceSecrets"`
	ClusterWitnessType         string                `json:"clusterWitnessType"`
}

// EdgeSecret is one entry of deviceSecrets.
type EdgeSecret struct {
	KeyVaultID string `json:"keyVaultId,omitempty"`
}

// EdgeExtendedInfoPatch is updateExtendedInformation's body.
type EdgeExtendedInfoPatch struct {
	ClientSecretStoreID        *string `json:"clientSecretStoreId"`
	ClientSecretStoreURL       *string `json:"clientSecretStoreUrl"`
	ChannelIntegrityKeyName    *string `json:"channelIntegrityKeyName"`
	ChannelIntegrityKeyVersion *string `json:"channelIntegrityKeyVersion"`
	SyncStatus                 *string `json:"syncStatus"`
}

// GenerateActivationKeyRequest is generateActivationKey's body (optional).
type GenerateActivationKeyRequest struct {
	KeyVaultName string `json:"keyVaultName"`
}

// ActivationKeyInfo is one entry of the activationKeys list: metadata
// only, never the key.
type ActivationKeyInfo struct {
	ID           string     `json:"id"`
	CreatedAt    time.Time  `json:"createdAt"`
	CreatedBy    string     `json:"createdBy"`
	ExpiresAt    time.Time  `json:"expiryTimeInUTC"`
	State        string     `json:"state"`
	UsedAt       *time.Time `json:"usedAt,omitempty"`
	UsedBySerial string     `json:"usedBySerialNumber,omitempty"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
}

// RevokeActivationKeysRequest is revokeActivationKeys' body: the key ids
// to revoke; empty or absent revokes every unused key.
type RevokeActivationKeysRequest struct {
	KeyIDs []string `json:"keyIds"`
}

// RevokeActivationKeysResponse lists the keys revoked.
type RevokeActivationKeysResponse struct {
	Revoked []string `json:"revoked"`
}

// EdgeAlert is an alert as returned.
type EdgeAlert struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	Properties EdgeAlertProperties `json:"properties"`
}

// EdgeAlertProperties are an alert's properties.
type EdgeAlertProperties struct {
	Title               string            `json:"title"`
	AlertType           string            `json:"alertType"`
	AppearedAtDateTime  time.Time         `json:"appearedAtDateTime"`
	Recommendation      string            `json:"recommendation"`
	Severity            string            `json:"severity"`
	ErrorDetails        EdgeAlertError    `json:"errorDetails"`
	DetailedInformation map[string]string `json:"detailedInformation"`
}

// EdgeAlertError is an alert's errorDetails.
type EdgeAlertError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	Occurrences  int    `json:"occurrences"`
}

// EdgeSendSecretRequest is sendSecret's body: a customer secret for the
// device. The value is a credential: it is sealed under the device's CIK
// at once and never echoed.
type EdgeSendSecretRequest struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EdgeSendSecretResponse says the secret is queued for the device.
type EdgeSendSecretResponse struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}
