package activation

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
)

// Errors of Activate, each with the device API's code (mapped in
// deviceapi). Their messages are safe for the device and say what
// happened; none names another device's secret.
var (
	// ErrKeyInvalid: the key is not one this server issued (unknown id or
	// wrong secret).
	ErrKeyInvalid = errkind.E(errkind.Unauthenticated, "The activation key is not valid for this server.")
	// ErrKeyUsed: another device (or another device key) used it.
	ErrKeyUsed = errkind.E(errkind.Conflict, "The activation key has already been used.")
	// ErrKeyExpired: past its expiry.
	ErrKeyExpired = errkind.E(errkind.Invalid, "The activation key has expired.")
	// ErrKeyRevoked: revoked, by a regeneration or explicitly.
	ErrKeyRevoked = errkind.E(errkind.Invalid, "The activation key has been revoked.")
	// ErrResourceGone: the edge resource it was issued for is deleted.
	ErrResourceGone = errkind.E(errkind.NotFound, "The edge resource of the activation key no longer exists.")
)

// Activation is a successful activation: the device as it is now and the
// key used. Repeat is set when the same device had already used the key
// (a retry after a lost reply), which is answered again.
type Activation struct {
	Device edge.Device
	Key    Key
	Repeat bool
}

// Activate consumes key for the appliance with serial number serial and
// device key fingerprint deviceKey. The key is used in one conditional
// statement, so of concurrent attempts exactly one wins; the same device
// (same serial and device key) retrying gets the activation again; any
// other use fails with the error that says why.
func (s *Service) Activate(ctx context.Context, key activationkey.Key, serial, deviceKey string) (Activation, error) {
	now := s.now()
	rec, err := s.cfg.Keys.ActivationKey(ctx, key.KeyID)
	if errkind.KindOf(err) == errkind.NotFound {
		return Activation{}, ErrKeyInvalid
	}
	if err != nil {
		return Activation{}, err
	}
	if subtle.ConstantTimeCompare(rec.SecretHash, key.SecretHash()) != 1 {
		return Activation{}, ErrKeyInvalid
	}
	d, err := s.cfg.Devices.ByUID(ctx, rec.DeviceUID)
	if errkind.KindOf(err) == errkind.NotFound {
		return Activation{}, ErrResourceGone
	}
	if err != nil {
		return Activation{}, err
	}
	if !strings.EqualFold(d.ID.String(), key.ResourceID) {
		return Activation{}, ErrKeyInvalid
	}
	if !d.Link.Provisioned || d.Link.CIKName == "" {
		return Activation{}, errkind.E(errkind.Conflict, "The edge resource has no key vault configured; generate a new activation key.")
	}
	used, won, err := s.cfg.Keys.UseActivationKey(ctx, rec.ID, rec.SecretHash, serial, deviceKey, now)
	if err != nil {
		return Activation{}, err
	}
	repeat := !won && !used.UsedAt.IsZero() && used.UsedBySerial == serial && used.UsedByKey == deviceKey
	if !won && !repeat {
		switch used.StateAt(now) {
		case Used:
			return Activation{}, errkind.Wrap(errkind.Conflict, ErrKeyUsed, fmt.Sprintf(
				"The activation key was used at %s by the appliance with serial number %s; generate a new key for this appliance.",
				used.UsedAt.UTC().Format(time.RFC3339), used.UsedBySerial))
		case Revoked:
			return Activation{}, errkind.Wrap(errkind.Invalid, ErrKeyRevoked, fmt.Sprintf(
				"The activation key was revoked at %s (a newer key was generated, or it was revoked); use the newest key.",
				used.RevokedAt.UTC().Format(time.RFC3339)))
		case Expired:
			return Activation{}, errkind.Wrap(errkind.Invalid, ErrKeyExpired, fmt.Sprintf(
				"The activation key expired at %s; generate a new one.", used.ExpiresAt.UTC().Format(time.RFC3339)))
		}
		return Activation{}, ErrKeyInvalid
	}
	if repeat && d.Agent.KeyID != used.ID {
		// The device has activated again since, with another key.
		return Activation{}, errkind.Wrap(errkind.Conflict, ErrKeyUsed,
			"The activation key was replaced by a later activation of this edge resource; generate a new key.")
	}
	d, err = s.cfg.Devices.Update(ctx, d.ID, func(cur *edge.Device) error {
		cur.SerialNumber, cur.Status, cur.LastSeen = serial, edge.Online, now
		if !repeat {
			cur.Agent.KeyID, cur.Agent.DeviceKey, cur.Agent.ActivatedAt = used.ID, deviceKey, now
			cur.Agent.Outbox = nil
		}
		return nil
	})
	if err != nil {
		return Activation{}, err
	}
	return Activation{Device: d, Key: used, Repeat: repeat}, nil
}
