package keyvault

import (
	"context"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Status is what became of a vault, as those who depend on it see it.
type Status string

const (
	Active      Status = "Active"
	SoftDeleted Status = "SoftDeleted"
	// Purged: no vault of that id exists any more, live or deleted (purged,
	// or never created).
	Purged Status = "Purged"
)

// Observer learns of every change of a vault's Status made through the
// Service: deletion, purge, recovery. It is told after the change is
// durable; it must not fail the change, so it returns nothing (a missed
// notification, say during a crash, is for a reconcile to catch).
type Observer interface {
	VaultChanged(ctx context.Context, id resource.ID, state Status)
}

// SetObserver sets the one observer (the edge resources, whose escrow
// depends on their vault). Set it before serving.
func (s *Service) SetObserver(o Observer) { s.observer = o }

func (s *Service) notify(ctx context.Context, id resource.ID, state Status) {
	if s.observer != nil {
		s.observer.VaultChanged(context.WithoutCancel(ctx), id, state)
	}
}

// Lookup returns the vault with id and its state; a vault found
// soft-deleted is returned with its deletion dates. A Purged vault is
// returned zero.
func (s *Service) Lookup(ctx context.Context, id resource.ID) (Vault, Status, error) {
	v, err := s.cfg.Store.VaultByName(ctx, id.Name())
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		return Vault{}, Purged, nil
	case err != nil:
		return Vault{}, "", err
	case !v.ID.Equal(id):
		return Vault{}, Purged, nil // the name now belongs to another vault
	case v.Deleted() && (v.Purging || !s.now().Before(v.ScheduledPurgeAt)):
		return v, Purged, nil
	case v.Deleted():
		return v, SoftDeleted, nil
	}
	return v, Active, nil
}
