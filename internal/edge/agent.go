package edge

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// The appliance side of a device: heartbeats, pushes of its secrets,
// syncs the service requests, and customer secrets on their way to it
// (DESIGN.md §5.3).

// DefaultOfflineAfter is how long a device may stay silent before it is
// reported Offline.
const DefaultOfflineAfter = 3 * time.Minute

// ErrReplay: a push whose id was seen before.
var ErrReplay = errkind.E(errkind.Conflict, "The push was already received; a push is never accepted twice.")

// StatusAt is the device's status at now: an activated device that has
// not heart-beaten for offlineAfter is Offline.
func (d Device) StatusAt(now time.Time, offlineAfter time.Duration) Status {
	if d.Status == Online && now.Sub(d.LastSeen) > offlineAfter {
		return Offline
	}
	return d.Status
}

// Activated reports whether an appliance has activated the device.
func (d Device) Activated() bool { return d.Agent.DeviceKey != "" }

// Heartbeat records that the device was heard from.
func (s *Service) Heartbeat(ctx context.Context, id resource.ID) (Device, error) {
	now := s.now()
	return s.Update(ctx, id, func(d *Device) error {
		d.LastSeen, d.Status = now, Online
		return nil
	})
}

// RequestSync asks the device to push all its secrets and returns the
// sync's id, which the push quotes when it answers.
func (s *Service) RequestSync(ctx context.Context, id resource.ID) (string, error) {
	syncID := uuid.NewString()
	_, err := s.Update(ctx, id, func(d *Device) error {
		if !d.Link.Provisioned {
			return errkind.E(errkind.Conflict, "The edge resource has no key vault yet; generate an activation key first.")
		}
		if !d.Activated() {
			return errkind.E(errkind.Conflict, "The edge resource's appliance has not been activated yet.")
		}
		d.SyncStatus, d.Agent.SyncID, d.Agent.SyncRequestedAt = KeyVaultSyncPending, syncID, s.now()
		return nil
	})
	return syncID, err
}

// BeginPush registers a push: it refuses a push id seen before (a replay)
// and marks the sync Syncing.
func (s *Service) BeginPush(ctx context.Context, id resource.ID, pushID string) (Device, error) {
	return s.Update(ctx, id, func(d *Device) error {
		if slices.Contains(d.Agent.RecentPushes, pushID) {
			return ErrReplay
		}
		d.Agent.RecentPushes = append(d.Agent.RecentPushes, pushID)
		if n := len(d.Agent.RecentPushes); n > MaxRecentPushes {
			d.Agent.RecentPushes = slices.Clone(d.Agent.RecentPushes[n-MaxRecentPushes:])
		}
		d.SyncStatus = KeyVaultSyncing
		return nil
	})
}

// PushOutcome is what a push stored.
type PushOutcome struct {
	PushID string
	SyncID string // the sync it answers, if any
	// Stored are the secrets written to the vault, by device secret name.
	Stored map[string]SecretRef
	// Failed is set when any secret could not be written.
	Failed bool
	// CIKName and CIKVersion, when set, are where the CIK now is in the
	// vault (a push restored it).
	CIKName, CIKVersion string
}

// FinishPush records a push's outcome: the secrets' places in the vault,
// the sync status, and the sync it answered.
func (s *Service) FinishPush(ctx context.Context, id resource.ID, o PushOutcome) (Device, error) {
	now := s.now()
	return s.Update(ctx, id, func(d *Device) error {
		if d.Secrets == nil {
			d.Secrets = map[string]SecretRef{}
		}
		for name, ref := range o.Stored {
			ref.SyncedAt = now
			d.Secrets[name] = ref
		}
		if o.CIKName != "" {
			d.Link.CIKName, d.Link.CIKVersion = o.CIKName, o.CIKVersion
		}
		d.SyncStatus = KeyVaultSynced
		if o.Failed {
			d.SyncStatus = KeyVaultSyncFailed
		}
		d.Agent.LastSyncID, d.Agent.LastSyncAt = o.SyncID, now
		if o.SyncID != "" && o.SyncID == d.Agent.SyncID {
			d.Agent.SyncID = ""
		}
		if d.Agent.SyncID != "" && !o.Failed {
			d.SyncStatus = KeyVaultSyncPending // a newer sync is still asked for
		}
		d.LastSeen, d.Status = now, Online
		return nil
	})
}

// MaxOutbox bounds the customer secrets waiting for one device.
const MaxOutbox = 32

// QueueCustomerSecret queues a sealed customer secret for the device.
func (s *Service) QueueCustomerSecret(ctx context.Context, id resource.ID, cs CustomerSecret) (Device, error) {
	return s.Update(ctx, id, func(d *Device) error {
		if !d.Activated() {
			return errkind.E(errkind.Conflict, "The edge resource's appliance has not been activated yet; secrets can be sent only to an activated device.")
		}
		if len(d.Agent.Outbox) >= MaxOutbox {
			return errkind.E(errkind.Conflict, "%d secrets are already waiting for the device; wait until it has received them.", MaxOutbox)
		}
		d.Agent.Outbox = append(d.Agent.Outbox, cs)
		return nil
	})
}

// AckCustomerSecrets removes the delivered secrets from the outbox.
func (s *Service) AckCustomerSecrets(ctx context.Context, id resource.ID, ids []string) (Device, error) {
	return s.Update(ctx, id, func(d *Device) error {
		d.Agent.Outbox = slices.DeleteFunc(d.Agent.Outbox, func(c CustomerSecret) bool { return slices.Contains(ids, c.ID) })
		return nil
	})
}
