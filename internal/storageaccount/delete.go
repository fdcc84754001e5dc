package storageaccount

import (
	"context"
	"errors"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// Delete deletes an account and its blobs, synchronously. It reports
// whether the account existed (ARM answers 200, or 204 when it did not).
func (s *Service) Delete(ctx context.Context, id resource.ID) (bool, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Delete, id); err != nil {
		return false, err
	}
	err := s.remove(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// remove marks the account Deleting (the blob plane stops serving it),
// purges its blobs, then deletes its row. Every step may run again.
func (s *Service) remove(ctx context.Context, id resource.ID) error {
	a, err := s.update(ctx, id, func(a *Account) error {
		if a.ProvisioningState == Deleting {
			return errUnchanged
		}
		a.ProvisioningState, a.UpdatedAt = Deleting, s.now()
		return nil
	})
	if errors.Is(err, errUnchanged) {
		a, err = s.Get(ctx, id)
	}
	if err != nil {
		return err
	}
	if s.cfg.Blobs != nil {
		if err := s.cfg.Blobs.PurgeAccountBlobs(ctx, a.ID.String()); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.DeleteAccount(ctx, a.UID); err != nil && errkind.KindOf(err) != errkind.NotFound {
		return err
	}
	return nil
}

// DeleteAllIn deletes every account of a resource group: the accounts'
// resourcegroup.Deleter. Locks were checked by the group's deletion, over
// the whole group. It is idempotent.
func (s *Service) DeleteAllIn(ctx context.Context, group resource.ID) error {
	for {
		as, err := s.cfg.Store.Accounts(ctx, Filter{SubscriptionID: group.SubscriptionID(),
			ResourceGroup: group.ResourceGroupName(), Limit: 100})
		if err != nil || len(as) == 0 {
			return err
		}
		for _, a := range as {
			if err := s.remove(ctx, a.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
}
