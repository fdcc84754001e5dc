package keyvault

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// Soft-deleted vaults: recovery, the deletedVaults proxy resources, purge
// by request, and the sweeper that purges what retention no longer keeps
// (reference/keyvault-wire.md §3.4, §5).

// recover brings a soft-deleted vault back under its original id, with
// its properties, access policies and secrets (which the data plane never
// stopped storing). Only the tags of the request are applied.
func (s *Service) recover(ctx context.Context, id resource.ID, spec Spec) (Vault, error) {
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Vault{}, err
	}
	for range maxAttempts {
		v, err := s.cfg.Store.VaultByName(ctx, id.Name())
		switch {
		case errkind.KindOf(err) == errkind.NotFound:
			return Vault{}, nothingToRecover(id.Name())
		case err != nil:
			return Vault{}, err
		// A vault of another subscription is not this caller's to recover,
		// nor to learn about; one whose purge is due is as good as purged.
		case !v.Deleted() || v.Purging || !strings.EqualFold(v.ID.SubscriptionID(), id.SubscriptionID()) ||
			!s.now().Before(v.ScheduledPurgeAt):
			return Vault{}, nothingToRecover(id.Name())
		case !v.ID.Equal(id) || v.Location != spec.Location:
			return Vault{}, errkind.E(errkind.Invalid, "The deleted vault '%s' can only be recovered in its original resource group '%s' and location '%s'.",
				v.Name(), v.ID.ResourceGroupName(), v.Location)
		}
		version := v.Version
		v.DeletedAt, v.ScheduledPurgeAt = time.Time{}, time.Time{}
		if spec.Tags != nil {
			v.Tags = spec.Tags
		}
		v.UpdatedAt, v.Version = s.now(), version+1
		err = s.cfg.Store.UpdateVault(ctx, v, version)
		if err == nil {
			s.notify(ctx, v.ID, Active)
		}
		if !errors.Is(err, ErrChanged) {
			return v, err
		}
	}
	return Vault{}, errkind.E(errkind.Conflict, "The vault '%s' is being changed by other requests; retry.", id.Name())
}

func nothingToRecover(name string) error {
	return &errkind.Error{Kind: errkind.NotFound, Err: ErrNothingToRecover,
		Message: "A soft deleted vault with the given name ('" + name + "') does not exist. Ensure that the name for the vault " +
			"that is being attempted to recover is in a recoverable state."}
}

// GetDeleted returns the soft-deleted vault name of a subscription in a
// location.
func (s *Service) GetDeleted(ctx context.Context, subscriptionID, location, name string) (Vault, error) {
	v, err := s.cfg.Store.VaultByName(ctx, name)
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
	case err != nil:
		return Vault{}, err
	case v.Deleted() && strings.EqualFold(v.ID.SubscriptionID(), subscriptionID) && strings.EqualFold(v.Location, location):
		return v, nil
	}
	return Vault{}, &errkind.Error{Kind: errkind.NotFound, Err: ErrDeletedNotFound,
		Message: "The deleted vault '" + truncate(name) + "' in location '" + truncate(location) + "' does not exist."}
}

// ListDeleted returns one page of a subscription's soft-deleted vaults.
func (s *Service) ListDeleted(ctx context.Context, subscriptionID, after string, limit int) ([]Vault, error) {
	return s.cfg.Store.Vaults(ctx, Filter{SubscriptionID: subscriptionID, State: Deleted, After: after, Limit: limit})
}

// Purge destroys a soft-deleted vault and its secrets for good. Purge
// protection forbids it, to everyone, until the scheduled purge date.
func (s *Service) Purge(ctx context.Context, subscriptionID, location, name string) error {
	v, err := s.GetDeleted(ctx, subscriptionID, location, name)
	if err != nil {
		return err
	}
	if v.PurgeProtection && s.now().Before(v.ScheduledPurgeAt) {
		return &errkind.Error{Kind: errkind.Conflict, Err: ErrPurgeProtected,
			Message: "Operation 'DeletedVaultPurge' is not allowed. Purge protection is enabled for the vault '" + v.Name() +
				"'; it will be purged automatically after its scheduled purge date, " + v.ScheduledPurgeAt.Format(time.RFC3339) + "."}
	}
	// A purge is a POST action on the deleted vault: a ReadOnly lock on the
	// subscription forbids it.
	if err := s.cfg.Locks.Check(ctx, lock.Action, v.DeletedID()); err != nil {
		return err
	}
	return s.purge(ctx, v)
}

// purge marks the vault as purging (after which nothing can recover it),
// purges its secrets, then deletes it. Every step may run again after a
// crash or on another replica.
func (s *Service) purge(ctx context.Context, v Vault) error {
	if !v.Purging {
		next := v
		next.Purging, next.Version = true, v.Version+1
		err := s.cfg.Store.UpdateVault(ctx, next, v.Version)
		if errors.Is(err, ErrChanged) {
			// Recovered, purged, or being purged by someone else: look again.
			cur, err := s.cfg.Store.VaultByName(ctx, v.Name())
			if err != nil || cur.UID != v.UID || !cur.Purging {
				return deletedGone(err, v)
			}
		} else if err != nil {
			return err
		}
	}
	if s.cfg.Secrets != nil {
		if err := s.cfg.Secrets.PurgeVaultSecrets(ctx, v.UID); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.DeleteVault(ctx, v.UID); err != nil && errkind.KindOf(err) != errkind.NotFound {
		return err
	}
	s.notify(ctx, v.ID, Purged)
	return nil
}

// deletedGone is the answer when a deleted vault changed under a purge:
// gone or recovered is DeletedVaultNotFound; anything else is err.
func deletedGone(err error, v Vault) error {
	if err != nil && errkind.KindOf(err) != errkind.NotFound {
		return err
	}
	return &errkind.Error{Kind: errkind.NotFound, Err: ErrDeletedNotFound,
		Message: "The deleted vault '" + v.Name() + "' in location '" + v.Location + "' does not exist."}
}

// sweepBatch bounds the vaults one sweep reads at a time.
const sweepBatch = 100

// Sweep purges every soft-deleted vault whose scheduled purge date has
// passed, and finishes purges that were cut short. It returns how many
// vaults it purged; a vault that fails is left for the next sweep.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	purged := 0
	failed := map[string]bool{}
	var errs []error
	for {
		due, err := s.cfg.Store.DueVaults(ctx, s.now(), sweepBatch+len(failed))
		if err != nil {
			return purged, errors.Join(append(errs, err)...)
		}
		progress := false
		for _, v := range due {
			if failed[v.UID] {
				continue
			}
			progress = true
			if err := s.purge(ctx, v); err != nil && !errors.Is(err, ErrDeletedNotFound) {
				failed[v.UID] = true
				errs = append(errs, err)
				continue
			}
			purged++
		}
		if !progress || ctx.Err() != nil {
			return purged, errors.Join(errs...)
		}
	}
}

// RunSweeper sweeps at once and then every interval until ctx ends,
// logging failures. Every replica may run one: a purge is idempotent and
// each step is conditional.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "keyvault: purge sweep failed", "err", err, "purged", n)
		} else if n > 0 {
			s.cfg.Logger.InfoContext(ctx, "keyvault: purged soft-deleted vaults past retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
