package activation

import (
	"context"
	"time"

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
