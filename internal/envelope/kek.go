package envelope

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// scopeKeys caches one scope's unwrapped KEKs.
type scopeKeys struct {
	keys       map[int]cipher.AEAD
	current    int       // highest version seen in the store; 0 if none yet
	checked    time.Time // when current was last read from the store
	refreshing bool      // a goroutine is re-reading current; others use the cached one
}

// errUnknownRoot marks a KEK row wrapped by a root key this process has not
// loaded: another replica rotated the root key, or the wrong key file is
// configured.
var errUnknownRoot = errkind.E(errkind.Internal, "envelope: KEK wrapped by an unknown root key")

// currentKEK returns the version and key that Seal uses for scope, creating
// version 1 when the scope has no KEK.
func (k *Keyring) currentKEK(ctx context.Context, scope string) (int, cipher.AEAD, error) {
	if v, a, ok := k.cachedCurrent(scope); ok {
		return v, a, nil
	}
	v, err := k.loadScope(ctx, scope)
	if err == nil && v == 0 {
		v, err = k.createVersion(ctx, scope, 1)
	}
	if err != nil {
		return 0, nil, err
	}
	if a := k.cached(scope, v); a != nil {
		return v, a, nil
	}
	return 0, nil, errkind.E(errkind.Internal, "envelope: KEK %q version %d vanished from the cache", scope, v)
}

// cachedCurrent returns scope's current KEK if the cache may serve it: it
// was read from the store less than the TTL ago, or another goroutine is
// re-reading it right now. Serving a slightly stale version is safe, since
// every version stays openable; the TTL only bounds how long a replica keeps
// sealing under a version another replica has rotated away from. When the
// entry is stale it marks it refreshing, so only one caller goes to the
// store, and reports false.
func (k *Keyring) cachedCurrent(scope string) (int, cipher.AEAD, bool) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	sk := k.scopes[scope]
	if sk == nil || sk.current == 0 {
		return 0, nil, false
	}
	if now.Sub(sk.checked) < k.ttl || sk.refreshing {
		return sk.current, sk.keys[sk.current], true
	}
	sk.refreshing = true
	return 0, nil, false
}

// cached returns a cached KEK version, or nil.
func (k *Keyring) cached(scope string, version int) cipher.AEAD {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if sk := k.scopes[scope]; sk != nil {
		return sk.keys[version]
	}
	return nil
}

// kekVersion returns the given version of scope's KEK, re-reading the
// store on a miss: the version may be newer than the cache (another
// replica rotated) or the cache may be cold.
func (k *Keyring) kekVersion(ctx context.Context, scope string, version int) (cipher.AEAD, error) {
	if a := k.cached(scope, version); a != nil {
		return a, nil
	}
	if _, err := k.loadScope(ctx, scope); err != nil {
		return nil, err
	}
	if a := k.cached(scope, version); a != nil {
		return a, nil
	}
	return nil, decryptError("unknown key version")
}

// loadScope reads scope's KEKs from the store into the cache and returns
// the current version (0 when the scope has none).
func (k *Keyring) loadScope(ctx context.Context, scope string) (int, error) {
	v, err := k.readScope(ctx, scope)
	if errors.Is(err, errUnknownRoot) {
		// A root-key rotation finished since the root key was read, here
		// or in another replica sharing the key file: re-read the key
		// files, and the rows, once.
		if err = k.refreshRoot(); err == nil {
			v, err = k.readScope(ctx, scope)
		}
	}
	if err != nil {
		k.mu.Lock()
		if sk := k.scopes[scope]; sk != nil {
			sk.refreshing = false
		}
		k.mu.Unlock()
	}
	return v, err
}

func (k *Keyring) readScope(ctx context.Context, scope string) (int, error) {
	recs, err := k.store.KEKs(ctx, scope)
	if err != nil {
		return 0, fmt.Errorf("envelope: reading KEKs of scope %q: %w", scope, err)
	}
	keys := make(map[int]cipher.AEAD, len(recs))
	current := 0
	for _, r := range recs {
		if r.Scope != scope || r.Version < 1 {
			return 0, errkind.E(errkind.Internal, "envelope: store returned KEK %q version %d for scope %q", r.Scope, r.Version, scope)
		}
		current = max(current, r.Version)
		if k.cached(scope, r.Version) != nil {
			continue // the key of a version never changes, only its wrapping
		}
		a, err := k.unwrapKEK(r)
		if err != nil {
			return 0, err
		}
		keys[r.Version] = a
	}
	k.merge(scope, keys, current)
	return current, nil
}

// merge adds keys to scope's cache and records current as freshly read.
func (k *Keyring) merge(scope string, keys map[int]cipher.AEAD, current int) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	sk := k.scopes[scope]
	if sk == nil {
		if current == 0 {
			return // do not cache scopes that do not exist
		}
		sk = &scopeKeys{keys: make(map[int]cipher.AEAD)}
		k.scopes[scope] = sk
	}
	for v, a := range keys {
		sk.keys[v] = a
	}
	sk.current = max(sk.current, current)
	sk.checked = now
	sk.refreshing = false
}

// unwrapKEK opens a stored KEK with the root key that wraps it.
func (k *Keyring) unwrapKEK(r KEKRecord) (cipher.AEAD, error) {
	rk := k.rootByID(r.RootKeyID)
	if rk == nil {
		return nil, fmt.Errorf("%w: scope %q version %d, root key %s", errUnknownRoot, r.Scope, r.Version, r.RootKeyID)
	}
	raw, err := openBox(rk.aead, r.Wrapped, kekAAD(r.Scope, r.Version, r.RootKeyID))
	if err != nil {
		return nil, errkind.E(errkind.Internal,
			"envelope: KEK %q version %d does not authenticate under root key %s", r.Scope, r.Version, r.RootKeyID)
	}
	defer clear(raw)
	return newAEAD(raw)
}

// createVersion creates version v of scope's KEK or, when another goroutine
// or replica created that version first, adopts theirs. It returns the
// scope's current version afterwards.
func (k *Keyring) createVersion(ctx context.Context, scope string, v int) (int, error) {
	err := k.createKEK(ctx, scope, v)
	if errkind.KindOf(err) == errkind.Conflict {
		cur, err := k.loadScope(ctx, scope)
		if err == nil && cur < v {
			return 0, errkind.E(errkind.Internal, "envelope: store reported KEK %q version %d exists but does not return it", scope, v)
		}
		return cur, err
	}
	if err != nil {
		return 0, err
	}
	return v, nil
}

// createKEK generates version v of scope's KEK, stores it wrapped and
// caches it. A Conflict error from the store is passed through.
func (k *Keyring) createKEK(ctx context.Context, scope string, v int) error {
	raw, err := randomBytes(k.rand, keySize)
	if err != nil {
		return err
	}
	defer clear(raw)
	a, err := newAEAD(raw)
	if err != nil {
		return err
	}
	k.wrapMu.RLock()
	defer k.wrapMu.RUnlock()
	// Pick up a rotation another replica started, so this row is wrapped by
	// the new key rather than one about to disappear. Creating a KEK is rare
	// (a new vault, a rotation); two small file reads are cheap.
	if err := k.refreshRoot(); err != nil {
		return err
	}
	w := k.wrappingKey()
	wrapped, err := sealBox(nil, k.rand, w.aead, raw, kekAAD(scope, v, w.id))
	if err != nil {
		return err
	}
	rec := KEKRecord{Scope: scope, Version: v, Wrapped: wrapped, RootKeyID: w.id, CreatedAt: k.now().UTC()}
	if err := k.store.InsertKEK(ctx, rec); err != nil {
		return fmt.Errorf("envelope: storing KEK %q version %d: %w", scope, v, err)
	}
	k.merge(scope, map[int]cipher.AEAD{v: a}, v)
	return nil
}

// RotateKEK creates a new version of scope's KEK and returns it; Seal uses
// it from now on in this process (other replicas within CurrentTTL), and
// values sealed under older versions still open. Existing values are not
// re-encrypted. If another replica rotates at the same moment, its new
// version is adopted instead of adding a second one.
func (k *Keyring) RotateKEK(ctx context.Context, scope string) (int, error) {
	if scope == "" {
		return 0, errEmptyScope
	}
	cur, err := k.loadScope(ctx, scope)
	if err != nil {
		return 0, err
	}
	return k.createVersion(ctx, scope, cur+1)
}
