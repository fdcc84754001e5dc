package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
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

// Heartbeat records that the device d (as just read) was heard from. The
// time is written only when the recorded one is older than a third of the
// offline threshold, or the device was not Online: a fleet's heartbeats
// then cost reads, mostly, and a device still turns Offline within
// OfflineAfter plus a third of it.
func (s *Service) Heartbeat(ctx context.Context, d Device) (Device, error) {
	now := s.now()
	if d.Status == Online && now.Sub(d.LastSeen) < s.cfg.OfflineAfter/3 {
		return d, nil
	}
	return s.Update(ctx, d.ID, func(d *Device) error {
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
	// Failed is set when any secret could not be written; Denied when the
	// vault refused the managed identity; VaultGone when the vault was not
	// there.
	Failed, Denied, VaultGone bool
	// Reason is the first failure's message, safe to show.
	Reason string
	// CIKName and CIKVersion, when set, are where the CIK now is in the
	// vault (a push restored it).
	CIKName, CIKVersion string
}

// FinishPush records a push's outcome: the secrets' places in the vault,
// the sync status, and the sync it answered; a push the vault refused
// raises the access alerts, a push that went through resolves them.
func (s *Service) FinishPush(ctx context.Context, id resource.ID, o PushOutcome) (Device, error) {
	d, err := s.finishPush(ctx, id, o)
	if err != nil || s.cfg.Alerts == nil {
		return d, err
	}
	switch {
	case o.Denied:
		err = errors.Join(s.cfg.Alerts.Raise(ctx, d.UID, alert.KeyVaultAccessDenied, "ManagedIdentityAccessDenied", o.Reason),
			s.cfg.Alerts.Raise(ctx, d.UID, alert.SecretsNotRetrieved, "SecretsNotStored", o.Reason))
	case o.VaultGone:
		err = s.cfg.Alerts.Raise(ctx, d.UID, alert.SecretsNotRetrieved, "KeyVaultNotFound", o.Reason)
	case o.Failed:
		err = s.cfg.Alerts.Raise(ctx, d.UID, alert.SecretsNotRetrieved, "SecretsNotStored", o.Reason)
	default:
		err = errors.Join(s.cfg.Alerts.Resolve(ctx, d.UID, alert.KeyVaultAccessDenied),
			s.cfg.Alerts.Resolve(ctx, d.UID, alert.SecretsNotRetrieved))
	}
	return d, err
}

func (s *Service) finishPush(ctx context.Context, id resource.ID, o PushOutcome) (Device, error) {
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

// SyncKind is the kind of a syncDeviceSecrets operation.
const SyncKind = "dataBoxEdgeDevices/syncDeviceSecrets"

// DefaultSyncTimeout bounds how long a sync waits for the device.
const DefaultSyncTimeout = 10 * time.Minute

// ErrOffline: the device is not heart-beating, so it cannot sync.
var ErrOffline = errkind.E(errkind.Conflict, "The device is offline.")

type syncInput struct {
	UID    string `json:"uid"`
	SyncID string `json:"syncId"`
}

// SyncResult is a finished sync's result body.
type SyncResult struct {
	KeyVaultSyncStatus string                    `json:"keyVaultSyncStatus"`
	LastSyncTime       time.Time                 `json:"lastSyncTime"`
	DeviceSecrets      map[string]syncSecretWire `json:"deviceSecrets"`
}

type syncSecretWire struct {
	KeyVaultID string `json:"keyVaultId"`
}

// BeginSync asks the device to push its secrets (the portal's "Sync device
// secrets") and starts the operation that ends when it has.
func (s *Service) BeginSync(ctx context.Context, caller principal.Principal, id resource.ID) (operation.Operation, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	if d.Activated() && d.Status == Offline {
		return operation.Operation{}, errkind.Wrap(errkind.Conflict, ErrOffline, fmt.Sprintf(
			"The device of edge resource '%s' has not been heard from since %s; its secrets stay readable in the key vault, and it syncs when it is back online.",
			id.Name(), d.LastSeen.UTC().Format(time.RFC3339)))
	}
	syncID, err := s.RequestSync(ctx, id)
	if err != nil {
		return operation.Operation{}, err
	}
	return s.cfg.Operations.Start(ctx, operation.StartRequest{Kind: SyncKind, SubscriptionID: id.SubscriptionID(),
		ResourceID: id.String(), PrincipalID: caller.ObjectID, Input: syncInput{UID: d.UID, SyncID: syncID}})
}

// runSync ends when the device has pushed for the sync (or any push after
// it), fails when that push failed or the device stays silent too long.
func (s *Service) runSync(ctx context.Context, op operation.Operation, _ *operation.Progress) (operation.Result, error) {
	var in syncInput
	if err := op.DecodeInput(&in); err != nil {
		return operation.Result{}, err
	}
	d, err := s.ByUID(ctx, in.UID)
	if err != nil {
		return operation.Result{}, err
	}
	answered := d.Agent.LastSyncID == in.SyncID || d.Agent.LastSyncAt.After(op.StartedAt) && d.Agent.SyncID != in.SyncID
	switch {
	case answered && d.SyncStatus == KeyVaultSyncFailed:
		return operation.Result{}, errkind.E(errkind.Conflict,
			"The device pushed its secrets but some could not be written to the key vault; check the managed identity's access (get and set on secrets).")
	case answered:
		res := SyncResult{KeyVaultSyncStatus: string(d.SyncStatus), LastSyncTime: d.Agent.LastSyncAt, DeviceSecrets: map[string]syncSecretWire{}}
		for name, ref := range d.Secrets {
			res.DeviceSecrets[name] = syncSecretWire{KeyVaultID: ref.KeyVaultID}
		}
		body, err := json.Marshal(res)
		if err != nil {
			return operation.Result{}, err
		}
		return operation.Result{Status: 200, Body: body}, nil
	case s.now().Sub(op.StartedAt) > s.syncTimeout():
		return operation.Result{}, errkind.Wrap(errkind.Conflict, ErrOffline, fmt.Sprintf(
			"The device did not push its secrets within %s; it syncs when it is back online.", s.syncTimeout()))
	}
	return operation.Result{}, operation.Reschedule(500 * time.Millisecond)
}

func (s *Service) syncTimeout() time.Duration {
	if s.cfg.SyncTimeout > 0 {
		return s.cfg.SyncTimeout
	}
	return DefaultSyncTimeout
}
