package envelope

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// DefaultCurrentTTL is how long a Keyring trusts its cached idea of a
// scope's current KEK version before re-reading the store. Within this time
// a Keyring picks up another replica's RotateKEK for sealing; blobs sealed
// under any version open at once, whatever the TTL.
const DefaultCurrentTTL = time.Minute

// DefaultRewrapBatch is how many KEK rows root-key rotation reads at a time.
const DefaultRewrapBatch = 100

// ErrDecrypt is the error of every value Open cannot open: malformed,
// truncated, tampered with, sealed under another scope or AAD, or naming a
// KEK version the scope does not have. Match it with errors.Is; its kind is
// errkind.Invalid. The error text gives a reason, never key material or
// plaintext.
var ErrDecrypt error = &errkind.Error{Kind: errkind.Invalid, Message: "envelope: cannot decrypt value"}

func decryptError(reason string) error { return fmt.Errorf("%w: %s", ErrDecrypt, reason) }

var errEmptyScope = errkind.E(errkind.Invalid, "envelope: empty scope")

// Config holds a Keyring's dependencies.
type Config struct {
	// RootKeyFile is the root key's path: <data-dir>/root.key, or the value
	// of --root-key-file. Required. It is created (32 random bytes, mode
	// 0600) when absent. During a root-key rotation the new key sits beside
	// it in RootKeyFile+".next", so the directory must be writable for
	// rotation. Several replicas must share the file (same path on shared
	// storage), since a KEK row is readable only with the key that wraps it.
	RootKeyFile string

	// Store persists wrapped KEKs. Required.
	Store Store

	// Rand is the source of keys and nonces, safe for concurrent use.
	// Nil means crypto/rand.Reader; tests inject a deterministic one.
	Rand io.Reader

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// CurrentTTL overrides DefaultCurrentTTL when positive.
	CurrentTTL time.Duration

	// RewrapBatch overrides DefaultRewrapBatch when positive.
	RewrapBatch int
}

// Keyring seals and opens values under the three-level key hierarchy
// described in the package documentation. It is safe for concurrent use.
type Keyring struct {
	path    string
	store   Store
	rand    io.Reader
	now     func() time.Time
	ttl     time.Duration
	batch   int
	created bool // New created the root key file

	// rotMu serialises RotateRootKey and Resume within the process.
	rotMu sync.Mutex

	// wrapMu orders KEK creation against the start of a root-key rotation.
	// A creator holds it shared from choosing the wrapping root key until
	// its row is inserted; startRotation holds it exclusively while
	// switching to the new key. So once the rewrap sweep starts, no row
	// wrapped by the old key can still be on its way into the store.
	wrapMu sync.RWMutex

	// refreshMu serialises refreshRoot from reading the key files to
	// storing what it read, so a refresh that read the files before a
	// promotion cannot overwrite, later, the state a refresh read after it.
	refreshMu sync.Mutex

	mu     sync.RWMutex // guards the fields below
	root   *rootKey     // the key in RootKeyFile
	next   *rootKey     // the key in RootKeyFile.next while rotating, else nil
	scopes map[string]*scopeKeys

	// testHook, when set, runs at each step of a root-key rotation; an
	// error stops the rotation there, as a crash would.
	testHook func(step string) error
}

// New loads the root key (creating the file on first start) and returns a
// Keyring. It does not touch the store: the server then calls Resume, which
// checks the store against the root key and finishes a rotation that a
// crash interrupted. Until then every value opens, since both keys of an
// interrupted rotation are loaded.
func New(cfg Config) (*Keyring, error) {
	if cfg.RootKeyFile == "" {
		return nil, errkind.E(errkind.Invalid, "envelope: no root key file configured")
	}
	if cfg.Store == nil {
		return nil, errkind.E(errkind.Invalid, "envelope: no store configured")
	}
	k := &Keyring{
		path:   cfg.RootKeyFile,
		store:  cfg.Store,
		rand:   cfg.Rand,
		now:    cfg.Now,
		ttl:    cfg.CurrentTTL,
		batch:  cfg.RewrapBatch,
		scopes: make(map[string]*scopeKeys),
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.ttl <= 0 {
		k.ttl = DefaultCurrentTTL
	}
	if k.batch <= 0 {
		k.batch = DefaultRewrapBatch
	}
	removeTemps(k.path)
	created, err := ensureRootKey(k.path, k.rand)
	if err != nil {
		return nil, err
	}
	k.created = created
	if err := k.refreshRoot(); err != nil {
		return nil, err
	}
	return k, nil
}

// RootKeyID returns the ID of the key in the root key file, as this process
// last read it. During a rotation that is still the old key; see
// RotationPending. A process re-reads the key files whenever it needs to
// (before creating a KEK, on meeting an unknown root key ID, in Resume and
// RotateRootKey), so a rotation run by another replica shows here late.
func (k *Keyring) RootKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.root.id
}

// RotationPending reports whether a root-key rotation is in progress, as
// this process last read the key files, and the ID of the key it rotates
// to. Resume or RotateRootKey finishes it.
func (k *Keyring) RotationPending() (newID string, pending bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.next == nil {
		return "", false
	}
	return k.next.id, true
}

// Seal encrypts plaintext for scope, bound to aad (build it with AAD), and
// returns a self-describing blob for Open. It creates the scope's first KEK
// when the scope has none. Each call uses a fresh data key.
func (k *Keyring) Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error) {
	if scope == "" {
		return nil, errEmptyScope
	}
	version, kek, err := k.currentKEK(ctx, scope)
	if err != nil {
		return nil, err
	}
	dek, err := randomBytes(k.rand, keySize)
	if err != nil {
		return nil, err
	}
	// Best effort: the GCM instance keeps its own key schedule.
	defer clear(dek)
	data, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+wrappedKeySize+nonceSize+len(plaintext)+tagSize)
	out = appendHeader(out, version)
	if out, err = sealBox(out, k.rand, kek, dek, dekAAD(scope, version, aad)); err != nil {
		return nil, err
	}
	return sealBox(out, k.rand, data, plaintext, aad)
}

// Open decrypts a blob made by Seal for the same scope and aad. Any
// mismatch or damage yields an error matching ErrDecrypt; a store failure
// while loading a KEK yields the store's error.
func (k *Keyring) Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error) {
	if scope == "" {
		return nil, errEmptyScope
	}
	b, err := parseBlob(blob)
	if err != nil {
		return nil, err
	}
	kek, err := k.kekVersion(ctx, scope, b.kekVersion)
	if err != nil {
		return nil, err
	}
	dek, err := openBox(kek, b.wrappedDEK, dekAAD(scope, b.kekVersion, aad))
	if err != nil {
		return nil, decryptError("authentication failed")
	}
	defer clear(dek)
	data, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	plaintext, err := data.Open(nil, b.nonce, b.ciphertext, aad)
	if err != nil {
		return nil, decryptError("authentication failed")
	}
	return plaintext, nil
}

// dekAAD binds a wrapped data key to its scope, KEK version and the value's
// AAD. The hash keeps it short; binding the AAD here as well as in the
// value's own GCM means a wrapped DEK lifted into another blob fails too.
func dekAAD(scope string, kekVersion int, aad []byte) []byte {
	h := sha256.Sum256(aad)
	return AAD("edgevault/dek/v1", scope, strconv.Itoa(kekVersion), string(h[:]))
}

// kekAAD binds a wrapped KEK to its row and to the root key that wraps it.
func kekAAD(scope string, version int, rootKeyID string) []byte {
	return AAD("edgevault/kek/v1", scope, strconv.Itoa(version), rootKeyID)
}

// refreshRoot re-reads the root key files, adopting a rotation another
// process started or finished.
func (k *Keyring) refreshRoot() error {
	k.refreshMu.Lock()
	defer k.refreshMu.Unlock()
	root, next, err := loadRootFiles(k.path)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.root, k.next = root, next
	k.mu.Unlock()
	return nil
}

// rootByID returns the loaded root key with the given ID, or nil.
func (k *Keyring) rootByID(id string) *rootKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	switch {
	case k.root != nil && k.root.id == id:
		return k.root
	case k.next != nil && k.next.id == id:
		return k.next
	}
	return nil
}

// wrappingKey is the root key new KEKs are wrapped with: the new key as
// soon as a rotation starts, so the sweep never chases new rows.
func (k *Keyring) wrappingKey() *rootKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.next != nil {
		return k.next
	}
	return k.root
}
