package secret

import (
	"context"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// sweepBatch is how many expired secrets PurgeExpired deletes per
// statement, so one sweep never holds a long transaction.
const sweepBatch = 500

// GetDeleted returns a soft-deleted secret (its current version, without
// value).
func (s *Service) GetDeleted(ctx context.Context, v Vault, name string) (Deleted, error) {
	r, err := s.deleted(ctx, v, name)
	if err != nil {
		return Deleted{}, err
	}
	return fromDeleted(r), nil
}

func (s *Service) deleted(ctx context.Context, v Vault, name string) (Record, error) {
	if !ValidName(name) {
		return Record{}, deletedNotFound(clip(name, MaxNameLen+1))
	}
	r, err := s.store.SecretVersion(ctx, v.UID, name, "", true)
	if errkind.KindOf(err) == errkind.NotFound {
		return Record{}, deletedNotFound(name)
	}
	return r, err
}

// Recover makes a soft-deleted secret active again, all its versions, and
// returns its current version without value (Azure recovers "to the
// latest version").
func (s *Service) Recover(ctx context.Context, v Vault, name string) (Secret, error) {
	if !ValidName(name) {
		return Secret{}, deletedNotFound(clip(name, MaxNameLen+1))
	}
	r, err := s.store.RecoverSecret(ctx, v.UID, name)
	if errkind.KindOf(err) == errkind.NotFound {
		return Secret{}, deletedNotFound(name)
	}
	if err != nil {
		return Secret{}, err
	}
	return fromRecord(r), nil
}

// Purge deletes a soft-deleted secret for good. With purge protection on
// the vault it is refused until the secret's scheduled purge date.
func (s *Service) Purge(ctx context.Context, v Vault, name string) error {
	r, err := s.deleted(ctx, v, name)
	if err != nil {
		return err
	}
	if v.PurgeProtection && s.now().Before(r.PurgeAt) {
		return wrapf(ErrPurgeProtected, "Operation \"purge\" is not allowed because purge protection is enabled for this vault. "+
			"Key Vault service will automatically purge it after the retention period has passed.")
	}
	err = s.store.PurgeSecret(ctx, v.UID, name)
	if errkind.KindOf(err) == errkind.NotFound {
		return deletedNotFound(name) // recovered or purged meanwhile
	}
	return err
}

// PurgeVaultSecrets deletes every secret of a vault, active or deleted,
// whatever its purge protection: the vault service calls it when the vault
// itself is purged. It is idempotent.
func (s *Service) PurgeVaultSecrets(ctx context.Context, vaultUID string) error {
	if vaultUID == "" {
		return errkind.E(errkind.Invalid, "secret: empty vault UID")
	}
	_, err := s.store.PurgeVaultSecrets(ctx, vaultUID)
	return err
}

// PurgeExpired purges every soft-deleted secret, of every vault, whose
// scheduled purge date is at or before now, and returns how many. Purge
// protection does not stop it: protection refuses only early purges. The
// sweeper job calls it periodically; it is idempotent and safe to run on
// several replicas at once.
func (s *Service) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := s.store.PurgeExpiredSecrets(ctx, now, sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// RunSweeper runs PurgeExpired at once and then every interval until ctx
// ends, logging failures. Every replica may run one: a purge is idempotent
// and each statement is conditional.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.PurgeExpired(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "secret: purge sweep failed", "err", err, "purged", n)
		} else if n > 0 {
			s.log.InfoContext(ctx, "secret: purged soft-deleted secrets past retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
