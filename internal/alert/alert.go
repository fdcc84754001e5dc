// Package alert owns the alerts of edge resources (reference/edge-arm.md
// §1.10, §2.8): conditions the service detects, raised with a severity and
// a recommendation, counted while they recur, and resolved by the service
// when the condition clears. Resolved alerts stay as history.
//
// Invariants:
//   - At most one active alert per device and type: raising it again
//     counts an occurrence instead of adding another.
//   - Alerts are read-only to callers; only the service raises and
//     resolves them.
package alert

import (
	"context"
	"time"
)

// Severity is an alert's severity, as on the wire.
type Severity string

const (
	Informational Severity = "Informational"
	Warning       Severity = "Warning"
	Critical      Severity = "Critical"
)

// Type is an alert's alertType.
type Type string

// Alert types raised by the service.
const (
	StorageAccountMissing    Type = "AuditStorageAccountNotConfigured"
	DiagnosticSettingMissing Type = "KeyVaultDiagnosticSettingNotConfigured"
	// KeyVaultDeleted: the device's vault was deleted (soft-deleted or
	// purged).
	KeyVaultDeleted Type = "KeyVaultDeleted"
	// KeyVaultNotConfigured: the device has no vault (after a deletion
	// with consent it is gone for good; before activation it is expected
	// and not raised).
	KeyVaultNotConfigured Type = "KeyVaultNotConfigured"
	// KeyVaultAccessDenied: the managed identity could not access the
	// vault (no access policy, or the identity is disabled or deleted).
	KeyVaultAccessDenied Type = "KeyVaultAccessDenied"
	// SecretsNotRetrieved: the service could not write or read the
	// device's secrets in the vault.
	SecretsNotRetrieved Type = "KeyVaultSecretsNotRetrieved"
	// DeviceOffline: the appliance stopped heart-beating.
	DeviceOffline Type = "DeviceOffline"
)

// Alert is one alert of a device.
type Alert struct {
	ID             string // GUID; the alert's name
	DeviceUID      string
	Type           Type
	Severity       Severity
	Title          string
	Recommendation string
	ErrorCode      string
	ErrorMessage   string
	Occurrences    int
	Details        map[string]string // detailedInformation
	AppearedAt     time.Time
	LastSeenAt     time.Time
	ResolvedAt     time.Time // zero while active
}

// Active reports whether the alert's condition has not cleared.
func (a Alert) Active() bool { return a.ResolvedAt.IsZero() }

// Store persists alerts.
type Store interface {
	// RaiseAlert inserts a as active unless the device has an active alert
	// of a.Type, in which case that one's occurrences grow by one and its
	// LastSeenAt, message and details are a's. It returns the alert as
	// stored.
	RaiseAlert(ctx context.Context, a Alert) (Alert, error)
	// ResolveAlert resolves, at at, the device's active alert of type t,
	// and reports whether there was one.
	ResolveAlert(ctx context.Context, deviceUID string, t Type, at time.Time) (bool, error)
	// Alerts lists a device's alerts, active first, then newest first.
	Alerts(ctx context.Context, deviceUID string) ([]Alert, error)
	// Alert returns one alert of a device (errkind.NotFound).
	Alert(ctx context.Context, deviceUID, id string) (Alert, error)
}
