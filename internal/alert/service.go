package alert

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// kind is what the service says about an alert type.
type kind struct {
	severity       Severity
	title          string
	recommendation string
}

// catalog describes each alert type the service raises (edge-arm.md §2.8).
var catalog = map[Type]kind{
	StorageAccountMissing: {Warning, "The audit storage account of the key vault is not configured",
		"Register Microsoft.Storage in the subscription if it is not, then use the recover key vault operation (or create a storage account and link it in the key vault's diagnostic setting)."},
	DiagnosticSettingMissing: {Warning, "The key vault's diagnostic setting is not configured",
		"Add a diagnostic setting on the key vault that sends AuditEvent logs to the audit storage account, or use the recover key vault operation."},
	KeyVaultDeleted: {Critical, "Key Vault is deleted",
		"Recover the key vault with the recover key vault operation: within its soft-delete retention it is recovered under the same name; after a purge, give a new name. The device then pushes its secrets again."},
	KeyVaultNotConfigured: {Warning, "Key Vault is not configured",
		"Configure a key vault for the edge resource with the recover key vault operation."},
	KeyVaultAccessDenied: {Critical, "Couldn't access the Key Vault",
		"Check that the key vault exists and that the edge resource's managed identity is enabled and has get and set on secrets; the reconfigure managed identity operation restores both."},
	SecretsNotRetrieved: {Critical, "Couldn't retrieve secret(s) from the Key Vault",
		"Check that the key vault exists and grants the managed identity get and set on secrets, then sync the device secrets."},
	DeviceOffline: {Warning, "The device is offline",
		"Check the appliance's power and network. Its escrowed secrets stay readable in the key vault."},
}

// Service raises, resolves and lists alerts.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service.
func New(store Store, now func() time.Time) (*Service, error) {
	if store == nil {
		return nil, errors.New("alert: Store is required")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}, nil
}

// Raise raises an alert of type t on the device, or counts another
// occurrence of the active one.
func (s *Service) Raise(ctx context.Context, deviceUID string, t Type, errorCode, errorMessage string) error {
	k, ok := catalog[t]
	if !ok {
		return errors.New("alert: unknown alert type " + string(t))
	}
	now := s.now().UTC()
	_, err := s.store.RaiseAlert(ctx, Alert{ID: uuid.NewString(), DeviceUID: deviceUID, Type: t, Severity: k.severity,
		Title: k.title, Recommendation: k.recommendation, ErrorCode: errorCode, ErrorMessage: errorMessage,
		Occurrences: 1, Details: map[string]string{}, AppearedAt: now, LastSeenAt: now})
	return err
}

// Resolve resolves the device's active alert of type t, if any.
func (s *Service) Resolve(ctx context.Context, deviceUID string, t Type) error {
	_, err := s.store.ResolveAlert(ctx, deviceUID, t, s.now().UTC())
	return err
}

// List lists a device's alerts, active first.
func (s *Service) List(ctx context.Context, deviceUID string) ([]Alert, error) {
	return s.store.Alerts(ctx, deviceUID)
}

// Get returns one alert of a device.
func (s *Service) Get(ctx context.Context, deviceUID, id string) (Alert, error) {
	return s.store.Alert(ctx, deviceUID, id)
}

// Active returns the types of the device's active alerts.
func (s *Service) Active(ctx context.Context, deviceUID string) (map[Type]bool, error) {
	as, err := s.store.Alerts(ctx, deviceUID)
	if err != nil {
		return nil, err
	}
	out := map[Type]bool{}
	for _, a := range as {
		if a.Active() {
			out[a.Type] = true
		}
	}
	return out, nil
}
