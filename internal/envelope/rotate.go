package envelope

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Steps of a root-key rotation, where tests inject crashes.
const (
	stepNextWritten = "next-written" // root.key.next is durable, nothing rewrapped yet
	stepRewrapped   = "rewrapped"    // after each batch of rewraps
	stepSwept       = "swept"        // every row is wrapped by the new key
	stepPromoted    = "promoted"     // root.key holds the new key
)

// kekRow identifies a KEK row.
type kekRow struct {
	scope   string
	version int
}

// RotateRootKey replaces the root key while the service keeps running and
// returns the new key's ID. It writes the new key to RootKeyFile.next,
// rewraps every KEK row under it (each row a compare-and-swap), then renames
// the new key over the old one; the old key is gone from disk when it
// returns. Values are not re-encrypted: only KEK rows, one per scope
// version, are touched.
//
// A crash at any point leaves every value openable; Resume, or RotateRootKey
// again, finishes the same rotation rather than starting another.
func (k *Keyring) RotateRootKey(ctx context.Context) (string, error) {
	k.rotMu.Lock()
	defer k.rotMu.Unlock()
	if err := k.refreshRoot(); err != nil {
		return "", err
	}
	if _, pending := k.RotationPending(); !pending {
		if err := k.startRotation(); err != nil {
			return "", err
		}
		if err := k.step(stepNextWritten); err != nil {
			return "", err
		}
	}
	id, pending := k.RotationPending()
	if !pending {
		return "", errkind.E(errkind.Internal, "envelope: root key rotation did not start")
	}
	if err := k.finish(ctx); err != nil {
		return "", err
	}
	return id, nil
}

// Resume finishes a root-key rotation that a crash interrupted, and
// otherwise checks that the store holds no KEK wrapped by another root key
// (a wrong or lost key file), so that the server refuses to start rather
// than fail every Open later. The server calls it once at start, before
// serving.
func (k *Keyring) Resume(ctx context.Context) error {
	k.rotMu.Lock()
	defer k.rotMu.Unlock()
	if err := k.refreshRoot(); err != nil {
		return err
	}
	if _, pending := k.RotationPending(); pending {
		return k.finish(ctx)
	}
	return k.verify(ctx)
}

// startRotation writes a fresh root key to RootKeyFile.next and switches
// KEK creation to it. If the file appeared meanwhile (another process
// sharing the key file started a rotation) that rotation is adopted.
func (k *Keyring) startRotation() error {
	raw, err := randomBytes(k.rand, keySize)
	if err != nil {
		return err
	}
	defer clear(raw)
	if err := createKeyFile(k.path+nextSuffix, raw); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Exclusive wrapMu: wait for KEK creators that chose the old key to
	// insert their rows, which the sweep then finds; later ones see .next.
	k.wrapMu.Lock()
	defer k.wrapMu.Unlock()
	return k.refreshRoot()
}

// finish completes the pending rotation: sweep, promote, sweep again.
func (k *Keyring) finish(ctx context.Context) error {
	k.mu.RLock()
	old, next := k.root, k.next
	k.mu.RUnlock()
	if next == nil {
		return nil // another process sharing the key file finished it
	}
	from := map[string]*rootKey{old.id: old, next.id: next}
	if err := k.rewrapAll(ctx, from, next); err != nil {
		return err
	}
	if err := k.step(stepSwept); err != nil {
		return err
	}
	// An absent .next means another process sharing the key file promoted
	// it first; refreshRoot and the check below confirm the outcome.
	if err := promoteKeyFile(k.path+nextSuffix, k.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := k.step(stepPromoted); err != nil {
		return err
	}
	if err := k.refreshRoot(); err != nil {
		return err
	}
	if id := k.RootKeyID(); id != next.id {
		return errkind.E(errkind.Internal,
			"envelope: %s holds root key %s after rotating to %s; was the key file replaced?", k.path, id, next.id)
	}
	// A replica that had not yet seen .next may have inserted a KEK under
	// the old key just before the rename. The old key is still in memory
	// here, and nowhere else, so sweep once more.
	return k.rewrapAll(ctx, from, next)
}

// rewrapAll rewraps every KEK row not wrapped by to, reading batches until
// the store returns none. from holds the keys rows may be wrapped by now.
//
// A failed compare-and-swap means another process rewrapped the row (or it
// was deleted), so the store must not return it again unchanged; if it
// does, it breaks the Store contract, and looping on it forever would hide
// that.
func (k *Keyring) rewrapAll(ctx context.Context, from map[string]*rootKey, to *rootKey) error {
	refused := make(map[kekRow]string) // rows whose swap failed -> their root key ID then
	for {
		recs, err := k.store.KEKsNotWrappedBy(ctx, to.id, k.batch)
		if err != nil {
			return fmt.Errorf("envelope: listing KEKs to rewrap: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			row := kekRow{r.Scope, r.Version}
			if id, ok := refused[row]; ok && id == r.RootKeyID {
				return errkind.E(errkind.Internal,
					"envelope: root key rotation makes no progress: the store refused to rewrap KEK %q version %d but still lists it", r.Scope, r.Version)
			}
			swapped, err := k.rewrap(ctx, r, from, to)
			if err != nil {
				return err
			}
			if !swapped {
				refused[row] = r.RootKeyID
			}
		}
		if err := k.step(stepRewrapped); err != nil {
			return err
		}
	}
}

// rewrap moves one KEK row from the root key that wraps it to to, as a
// compare-and-swap on the row's root key ID. It reports whether the row was
// swapped; false means another process rewrapped it or it was deleted.
func (k *Keyring) rewrap(ctx context.Context, r KEKRecord, from map[string]*rootKey, to *rootKey) (bool, error) {
	rk := from[r.RootKeyID]
	if rk == nil {
		return false, fmt.Errorf("%w: scope %q version %d, root key %s", errUnknownRoot, r.Scope, r.Version, r.RootKeyID)
	}
	raw, err := openBox(rk.aead, r.Wrapped, kekAAD(r.Scope, r.Version, r.RootKeyID))
	if err != nil {
		return false, errkind.E(errkind.Internal,
			"envelope: KEK %q version %d does not authenticate under root key %s", r.Scope, r.Version, r.RootKeyID)
	}
	defer clear(raw)
	wrapped, err := sealBox(nil, k.rand, to.aead, raw, kekAAD(r.Scope, r.Version, to.id))
	if err != nil {
		return false, err
	}
	ok, err := k.store.RewrapKEK(ctx, r.Scope, r.Version, r.RootKeyID, to.id, wrapped)
	if err != nil {
		return false, fmt.Errorf("envelope: rewrapping KEK %q version %d: %w", r.Scope, r.Version, err)
	}
	return ok, nil
}

// verify checks that every KEK row is wrapped by the root key.
func (k *Keyring) verify(ctx context.Context) error {
	root := k.RootKeyID()
	recs, err := k.store.KEKsNotWrappedBy(ctx, root, 1)
	if err != nil {
		return fmt.Errorf("envelope: checking KEKs against the root key: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	how := ""
	if k.created {
		how = " (created on this start)"
	}
	return errkind.E(errkind.Invalid,
		"envelope: the store holds KEKs wrapped by root key %s, but %s%s holds root key %s; restore the original root key file",
		recs[0].RootKeyID, k.path, how, root)
}

// step runs the test hook, if any, at a rotation step.
func (k *Keyring) step(name string) error {
	if k.testHook == nil {
		return nil
	}
	return k.testHook(name)
}
