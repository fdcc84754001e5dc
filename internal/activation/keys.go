package activation

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"

	"github.com/edgevault/edgevault/internal/resource"
)

// MaxListedKeys bounds the keys listed per device, newest first.
const MaxListedKeys = 100

// Keys lists the device's activation keys, newest first.
func (s *Service) Keys(ctx context.Context, device resource.ID) ([]Key, error) {
	d, err := s.cfg.Devices.Get(ctx, device)
	if err != nil {
		return nil, err
	}
	return s.cfg.Keys.ActivationKeys(ctx, d.UID, MaxListedKeys)
}

// Revoke revokes the device's unused keys (those of ids, or all when ids
// is empty) and returns the ids it revoked.
func (s *Service) Revoke(ctx context.Context, device resource.ID, ids []string) ([]string, error) {
	d, err := s.cfg.Devices.Get(ctx, device)
	if err != nil {
		return nil, err
	}
	return s.cfg.Keys.RevokeActivationKeys(ctx, d.UID, ids, s.now())
}

// Now is the service's clock, for callers that show key states.
func (s *Service) Now() time.Time { return s.now() }

// validCustomerSecretName: letters and digits, starting with a letter.
func validCustomerSecretName(name string) bool {
	if len(name) == 0 || len(name) > 64 || !('a' <= name[0] && name[0] <= 'z' || 'A' <= name[0] && name[0] <= 'Z') {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// SendSecret seals a customer secret under the device's CIK and queues it
// for the device, which receives it with its next heartbeat.
func (s *Service) SendSecret(ctx context.Context, caller principal.Principal, device resource.ID, name string, value sensitive.String) (edge.CustomerSecret, error) {
	if !validCustomerSecretName(name) {
		return edge.CustomerSecret{}, errkind.E(errkind.Invalid, "The secret name must be 1 to 64 letters and digits, starting with a letter.")
	}
	if value.Len() == 0 || value.Len() > devicewire.MaxSecretSize {
		return edge.CustomerSecret{}, errkind.E(errkind.Invalid, "The secret value must be 1 to %d bytes.", devicewire.MaxSecretSize)
	}
	d, err := s.cfg.Devices.Get(ctx, device)
	if err != nil {
		return edge.CustomerSecret{}, err
	}
	if !d.Activated() {
		return edge.CustomerSecret{}, errkind.E(errkind.Conflict, "The edge resource's appliance has not been activated yet; secrets can be sent only to an activated device.")
	}
	cik, err := s.CIK(ctx, d)
	if err != nil {
		return edge.CustomerSecret{}, err
	}
	defer clear(cik)
	cs := edge.CustomerSecret{ID: uuid.NewString(), Name: name, CreatedBy: caller.ObjectID, CreatedAt: s.now()}
	if cs.Sealed, err = devicewire.SealSecret(cik, d.ID.String(), name, cs.ID, []byte(value.Reveal())); err != nil {
		return edge.CustomerSecret{}, err
	}
	if _, err := s.cfg.Devices.QueueCustomerSecret(ctx, device, cs); err != nil {
		return edge.CustomerSecret{}, err
	}
	return cs, nil
}
