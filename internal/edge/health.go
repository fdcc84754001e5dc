package edge

import (
	"context"
	"log/slog"
	"time"

	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// The health of a device's escrow: the alerts the service raises and
// resolves on its own (reference/edge-arm.md §2.7–2.8). Two paths see a
// condition: events (a vault's deletion, purge or recovery; a push the
// vault refused) raise or resolve at once; the reconcile walk finds what
// an event path missed (a crash between the change and the alert, an
// access policy edited, an identity disabled) within one round.

// Alerts raises and resolves device alerts (alert.Service).
type Alerts interface {
	Raise(ctx context.Context, deviceUID string, t alert.Type, errorCode, errorMessage string) error
	Resolve(ctx context.Context, deviceUID string, t alert.Type) error
	Active(ctx context.Context, deviceUID string) (map[alert.Type]bool, error)
}

// VaultHealth is what the reconcile needs to know of a device's vault.
type VaultHealth struct {
	// Status is "Active", "SoftDeleted" or "Purged" (keyvault.Status).
	Status string
	// IdentityAllowed: the vault's access policy grants the device's
	// identity get and set on secrets.
	IdentityAllowed bool
}

// Vault statuses, as VaultHealth.Status carries them.
const (
	VaultActive      = "Active"
	VaultSoftDeleted = "SoftDeleted"
	VaultPurged      = "Purged"
)

// Vaults is what the edge service asks of the key vaults its devices use
// (the composition root adapts keyvault and lock).
type Vaults interface {
	// InspectVault reports on the vault vaultID for the identity.
	InspectVault(ctx context.Context, vaultID, tenantID, identityID string) (VaultHealth, error)
	// DeleteDeviceVault removes the lock the service placed on the vault
	// and soft-deletes it; a vault already gone is not an error.
	DeleteDeviceVault(ctx context.Context, vaultID string) error
}

// VaultStatusChanged is told that the vault vaultID is now status (an
// observer of the key vaults): the devices that escrow in it raise or
// resolve KeyVaultDeleted, and a deleted vault leaves them
// KeyVaultNotSynced.
func (s *Service) VaultStatusChanged(ctx context.Context, vaultID, status string) {
	ds, err := s.cfg.Store.DevicesByVault(ctx, vaultID)
	if err != nil {
		s.log().ErrorContext(ctx, "devices of a changed vault", "vault", vaultID, "err", err)
		return
	}
	for _, d := range ds {
		if err := s.applyVaultStatus(ctx, d, status); err != nil {
			s.log().ErrorContext(ctx, "vault status on a device", "device", d.ID.String(), "err", err)
		}
	}
}

func (s *Service) applyVaultStatus(ctx context.Context, d Device, status string) error {
	if s.cfg.Alerts == nil {
		return nil
	}
	if status == VaultActive {
		return s.cfg.Alerts.Resolve(ctx, d.UID, alert.KeyVaultDeleted)
	}
	code, msg := "KeyVaultSoftDeleted", "The key vault '"+resourceName(d.Link.VaultID)+"' of the edge resource was deleted; it can be recovered within its retention period."
	if status == VaultPurged {
		code, msg = "KeyVaultPurged", "The key vault '"+resourceName(d.Link.VaultID)+"' of the edge resource was deleted and purged; configure a new key vault."
	}
	if err := s.cfg.Alerts.Raise(ctx, d.UID, alert.KeyVaultDeleted, code, msg); err != nil {
		return err
	}
	_, err := s.Update(ctx, d.ID, func(cur *Device) error {
		if cur.Link.VaultID == d.Link.VaultID {
			cur.SyncStatus = KeyVaultNotSynced
		}
		return nil
	})
	return err
}

func resourceName(id string) string {
	if rid, err := resource.Parse(id); err == nil {
		return rid.Name()
	}
	return id
}

func (s *Service) log() *slog.Logger {
	if s.cfg.Logger != nil {
		return s.cfg.Logger
	}
	return slog.Default()
}

// ReconcileBatch bounds the devices one reconcile round looks at.
const ReconcileBatch = 100

// Reconcile looks at up to batch provisioned devices after the cursor
// (a uid; "" to start) and raises or resolves their alerts; it returns the
// cursor to continue from ("" once it has gone round).
func (s *Service) Reconcile(ctx context.Context, cursor string, batch int) (string, error) {
	ds, err := s.cfg.Store.ProvisionedDevices(ctx, cursor, batch)
	if err != nil {
		return cursor, err
	}
	for _, d := range ds {
		if err := s.reconcile(ctx, d); err != nil && ctx.Err() == nil {
			s.log().WarnContext(ctx, "reconcile of an edge resource", "device", d.ID.String(), "err", err)
		}
	}
	if len(ds) < batch {
		return "", nil
	}
	return ds[len(ds)-1].UID, nil
}

// reconcile brings one device's alerts in line with what is true now.
func (s *Service) reconcile(ctx context.Context, d Device) error {
	if s.cfg.Vaults == nil || s.cfg.Alerts == nil || !d.Link.Provisioned {
		return nil
	}
	h, err := s.cfg.Vaults.InspectVault(ctx, d.Link.VaultID, d.TenantID, d.IdentityID)
	if err != nil {
		return err
	}
	active, err := s.cfg.Alerts.Active(ctx, d.UID)
	if err != nil {
		return err
	}
	// Only a change of condition writes: a healthy fleet costs reads.
	if deleted := h.Status != VaultActive; deleted != active[alert.KeyVaultDeleted] {
		if err := s.applyVaultStatus(ctx, d, h.Status); err != nil {
			return err
		}
	}
	denied := h.Status == VaultActive && !h.IdentityAllowed
	reason := "The key vault's access policy does not grant the edge resource's managed identity get and set on secrets."
	if h.Status == VaultActive && !denied {
		mi, err := s.cfg.Identities.Principal(ctx, d.IdentityID)
		switch {
		case errkind.KindOf(err) == errkind.NotFound:
			denied, reason = true, "The edge resource's managed identity was deleted."
		case err != nil:
			return err
		case !mi.Enabled:
			denied, reason = true, "The edge resource's managed identity is disabled."
		}
	}
	// The sync status first: whoever sees the alert sees the failed sync.
	if denied && d.SyncStatus != KeyVaultSyncFailed {
		if _, err := s.Update(ctx, d.ID, func(cur *Device) error { cur.SyncStatus = KeyVaultSyncFailed; return nil }); err != nil {
			return err
		}
	}
	if err := s.setCondition(ctx, d, active, alert.KeyVaultAccessDenied, denied, "ManagedIdentityAccessDenied", reason); err != nil {
		return err
	}
	offline := d.Activated() && d.StatusAt(s.now(), s.cfg.OfflineAfter) == Offline
	return s.setCondition(ctx, d, active, alert.DeviceOffline, offline, "DeviceOffline",
		"The device has not been heard from since "+d.LastSeen.UTC().Format(time.RFC3339)+".")
}

// setCondition raises alert t when on and it is not active, and resolves
// it when off and active.
func (s *Service) setCondition(ctx context.Context, d Device, active map[alert.Type]bool, t alert.Type, on bool, code, message string) error {
	switch {
	case on && !active[t]:
		return s.cfg.Alerts.Raise(ctx, d.UID, t, code, message)
	case !on && active[t]:
		return s.cfg.Alerts.Resolve(ctx, d.UID, t)
	}
	return nil
}

// RunReconciler walks the provisioned devices, batch by batch, one batch
// every interval, until ctx is done.
func (s *Service) RunReconciler(ctx context.Context, every time.Duration) {
	cursor := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		next, err := s.Reconcile(ctx, cursor, ReconcileBatch)
		if err != nil && ctx.Err() == nil {
			s.log().WarnContext(ctx, "reconcile round", "err", err)
		}
		cursor = next
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
