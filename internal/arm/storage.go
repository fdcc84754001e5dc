package arm

import "encoding/json"

// Wire shapes of Microsoft.Storage storage accounts (armstorage v1.8.1
// models, api-version 2024-01-01; reference/edge-arm.md §3.11). Field
// names are exactly the SDK models'.

// StorageVersions are the api-versions of Microsoft.Storage served here,
// newest first (armstorage v1.8.1 pins 2024-01-01; v1.6.0 pins
// 2023-05-01).
var StorageVersions = Versions{"2024-01-01", "2023-05-01"}

// StorageAccount is the storage-account resource.
type StorageAccount struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Location   string                   `json:"location"`
	Tags       map[string]string        `json:"tags"`
	Kind       string                   `json:"kind"`
	SKU        StorageSKU               `json:"sku"`
	SystemData *SystemData              `json:"systemData,omitempty"`
	Properties StorageAccountProperties `json:"properties"`
}

// StorageSKU is sku: name and the tier it implies.
type StorageSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// StorageAccountProperties are the account's properties. The fixed
// settings describe every account this server provisions: HTTPS only,
// TLS 1.2, no anonymous blob access, hot tier.
type StorageAccountProperties struct {
	ProvisioningState        string           `json:"provisioningState"`
	PrimaryEndpoints         StorageEndpoints `json:"primaryEndpoints"`
	PrimaryLocation          string           `json:"primaryLocation"`
	StatusOfPrimary          string           `json:"statusOfPrimary"`
	CreationTime             string           `json:"creationTime,omitempty"`
	AccessTier               string           `json:"accessTier,omitempty"`
	SupportsHTTPSTrafficOnly bool             `json:"supportsHttpsTrafficOnly"`
	MinimumTLSVersion        string           `json:"minimumTlsVersion"`
	AllowBlobPublicAccess    bool             `json:"allowBlobPublicAccess"`
}

// StorageEndpoints are the account's endpoints; only blob is served.
type StorageEndpoints struct {
	Blob string `json:"blob"`
}

// StorageAccountCreate is the body of PUT storageAccounts/{name}
// (AccountCreateParameters). Properties, identity and extendedLocation
// are read as raw JSON: the transport decides what it accepts.
type StorageAccountCreate struct {
	Kind             string            `json:"kind"`
	Location         string            `json:"location"`
	SKU              *StorageSKU       `json:"sku"`
	Tags             map[string]string `json:"tags"`
	Identity         json.RawMessage   `json:"identity"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation"`
	Properties       json.RawMessage   `json:"properties"`
}

// StorageAccountUpdate is the body of PATCH storageAccounts/{name}
// (AccountUpdateParameters).
type StorageAccountUpdate struct {
	Kind       string            `json:"kind"`
	SKU        *StorageSKU       `json:"sku"`
	Tags       map[string]string `json:"tags"`
	Identity   json.RawMessage   `json:"identity"`
	Properties json.RawMessage   `json:"properties"`
}

// StorageCheckNameResult is the answer of Microsoft.Storage's
// checkNameAvailability (its request is CheckNameAvailabilityRequest).
type StorageCheckNameResult struct {
	NameAvailable bool   `json:"nameAvailable"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
}
