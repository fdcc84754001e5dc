// Package activation owns activation keys and the operation that issues
// them (DESIGN.md §5.1–5.2): generateActivationKey provisions, step by
// step, everything an edge resource needs to escrow its secrets (key vault,
// lock, managed identity, channel integrity key, audit storage, diagnostic
// setting, access policy) and issues a one-time key; a later generation is
// a regeneration that touches none of it.
//
// Invariants:
//   - Only the SHA-256 of a key's secret is stored; the key text leaves the
//     server once, in the operation's result, which is sealed at rest and
//     served only to the caller who started the operation.
//   - Issuing a key revokes every earlier unused key of the device, in the
//     same transaction.
//   - Every provisioning step is idempotent and records what it made on the
//     device (edge.Link) before the next begins, so an operation resumed
//     after a crash makes nothing twice.
package activation

import (
	"context"
	"time"
)

// State is a key's state, as listed.
type State string

const (
	Unused  State = "Unused"
	Used    State = "Used"
	Expired State = "Expired"
	Revoked State = "Revoked"
)

// Key is an activation key's metadata; the key text itself is never
// stored.
type Key struct {
	ID        string // GUID; also inside the key text
	DeviceUID string
	// SecretHash is SHA-256 of the key's 32 secret bytes.
	SecretHash []byte
	CreatedBy  string // object id
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time // zero unless revoked
	UsedAt     time.Time // zero unless used
	// UsedBySerial is the serial number of the appliance that used it.
	UsedBySerial string
	// UsedByKey is the fingerprint of the device key that used it: the
	// same device retrying after a lost reply is recognised by it.
	UsedByKey string
}

// StateAt is the key's state at now.
func (k Key) StateAt(now time.Time) State {
	switch {
	case !k.UsedAt.IsZero():
		return Used
	case !k.RevokedAt.IsZero():
		return Revoked
	case !now.Before(k.ExpiresAt):
		return Expired
	}
	return Unused
}

// Store persists activation keys.
type Store interface {
	// InsertActivationKey inserts k and, in the same transaction, revokes
	// (RevokedAt = k.CreatedAt) every key of k.DeviceUID that is neither
	// used nor revoked.
	InsertActivationKey(ctx context.Context, k Key) error
	// ActivationKey returns a key by id (errkind.NotFound).
	ActivationKey(ctx context.Context, id string) (Key, error)
	// ActivationKeys lists a device's keys, newest first, at most limit.
	ActivationKeys(ctx context.Context, deviceUID string, limit int) ([]Key, error)
	// RevokeActivationKeys revokes, at at, the device's keys that are
	// neither used nor revoked; ids, when not empty, limits it to those.
	// It returns the ids revoked.
	RevokeActivationKeys(ctx context.Context, deviceUID string, ids []string, at time.Time) ([]string, error)
	// UseActivationKey marks key id used by serial and deviceKey at at, if
	// it is unused, unrevoked, unexpired at at and its hash is hash, in one
	// conditional statement: of concurrent callers, one wins. It returns
	// the key as it is afterwards and whether this call used it.
	UseActivationKey(ctx context.Context, id string, hash []byte, serial, deviceKey string, at time.Time) (Key, bool, error)
}
