package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Algorithm is the one signature algorithm edgevault signs and accepts.
// RS256 is what the Microsoft identity platform uses; clients treat our
// tokens as opaque, so the choice only matters for verification cost
// (RSA verification is cheap) and for tools that inspect tokens.
const Algorithm = jose.RS256

// rsaBits is the signing key size.
const rsaBits = 2048

// sealScope is the envelope scope under which private signing keys are
// encrypted at rest.
const sealScope = "system"

// StoredKey is a signing key as persisted. The private key is sealed by the
// envelope keyring; the public key is stored in the clear for the JWKS.
type StoredKey struct {
	ID            string // kid
	Algorithm     string
	PublicDER     []byte // PKIX
	PrivateSealed []byte // PKCS#8 sealed under scope "system", AAD "signing-key|<kid>"
	CreatedAt     time.Time
	// RetiredAt is when the key stopped signing; zero while it is the
	// active key. A retired key stays published until every token it signed
	// has expired.
	RetiredAt time.Time
}

// Store persists signing keys. It is implemented by the SQL store.
type Store interface {
	// SigningKeys returns every stored key, oldest first.
	SigningKeys(ctx context.Context) ([]StoredKey, error)
	// InsertSigningKey stores k as the new active key and, in the same
	// transaction, sets RetiredAt = k.CreatedAt on every key that was active.
	InsertSigningKey(ctx context.Context, k StoredKey) error
	// DeleteSigningKeysRetiredBefore removes keys retired before t.
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error)
}

// Sealer encrypts private keys at rest (the envelope keyring).
type Sealer interface {
	Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error)
}

// keySet is an immutable snapshot of the keys, loaded from the store.
type keySet struct {
	active   *signingKey            // nil when the store holds no active key
	byID     map[string]*signingKey // every published key
	loadedAt time.Time
}

type signingKey struct {
	id        string
	public    *rsa.PublicKey
	private   *rsa.PrivateKey // nil for retired keys (never needed again)
	retiredAt time.Time
}

// keyring loads, caches, rotates and publishes signing keys. Safe for
// concurrent use. Several server replicas share one store: each refreshes
// its snapshot every refreshEvery, and immediately (at most once a second)
// when it meets a kid it does not know.
type keyring struct {
	store        Store
	sealer       Sealer
	now          func() time.Time
	retention    time.Duration // how long a retired key stays published
	refreshEvery time.Duration

	cur atomic.Pointer[keySet] // the current snapshot; read lock-free

	mu         sync.Mutex // serialises reloads and guards lastMissAt
	lastMissAt time.Time
}

// load reads the keys from the store, unsealing the active private key.
func (r *keyring) load(ctx context.Context) (*keySet, error) {
	stored, err := r.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := r.now()
	ks := &keySet{byID: make(map[string]*signingKey, len(stored)), loadedAt: now}
	for _, s := range stored {
		if !s.RetiredAt.IsZero() && now.Sub(s.RetiredAt) > r.retention {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(s.PublicDER)
		if err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "stored signing key is corrupt")
		}
		rpub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errkind.E(errkind.Internal, "stored signing key %s is not RSA", s.ID)
		}
		k := &signingKey{id: s.ID, public: rpub, retiredAt: s.RetiredAt}
		if s.RetiredAt.IsZero() {
			if k.private, err = r.unseal(ctx, s); err != nil {
				return nil, err
			}
			ks.active = k
		}
		ks.byID[s.ID] = k
	}
	return ks, nil
}

func (r *keyring) unseal(ctx context.Context, s StoredKey) (*rsa.PrivateKey, error) {
	der, err := r.sealer.Open(ctx, sealScope, keyAAD(s.ID), s.PrivateSealed)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "cannot unseal the signing key")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "stored signing key is corrupt")
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, errkind.E(errkind.Internal, "stored signing key %s is not RSA", s.ID)
	}
	return rk, nil
}

func keyAAD(kid string) []byte { return []byte("signing-key|" + kid) }

// refresh reloads the snapshot when it is older than refreshEvery, or
// unconditionally when force is set.
func (r *keyring) refresh(ctx context.Context, force bool) (*keySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	if !force && cur != nil && r.now().Sub(cur.loadedAt) < r.refreshEvery {
		return cur, nil
	}
	ks, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	r.cur.Store(ks)
	return ks, nil
}

// lookup returns the published key with the given kid. An unknown kid may be
// a key another replica just created, so it triggers one reload, rate
// limited so that tokens with made-up kids cannot hammer the store.
func (r *keyring) lookup(ctx context.Context, kid string) (*signingKey, error) {
	ks, err := r.refresh(ctx, false)
	if err != nil {
		return nil, err
	}
	if k, ok := ks.byID[kid]; ok {
		return k, nil
	}
	r.mu.Lock()
	allow := r.now().Sub(r.lastMissAt) >= time.Second
	if allow {
		r.lastMissAt = r.now()
	}
	r.mu.Unlock()
	if allow {
		if ks, err = r.refresh(ctx, true); err != nil {
			return nil, err
		}
		if k, ok := ks.byID[kid]; ok {
			return k, nil
		}
	}
	return nil, ErrUnknownKey
}

// published reports whether kid is in the current snapshot, without
// reloading: a cached verification is only as good as the key behind it.
func (r *keyring) published(kid string) bool {
	ks := r.cur.Load()
	if ks == nil {
		return false
	}
	_, ok := ks.byID[kid]
	return ok
}

// rotate creates a new active key and retires the current one. The first
// call on an empty store creates the first key.
func (r *keyring) rotate(ctx context.Context) (StoredKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return StoredKey{}, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return StoredKey{}, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return StoredKey{}, err
	}
	kid := keyID(pubDER)
	sealed, err := r.sealer.Seal(ctx, sealScope, keyAAD(kid), privDER)
	clear(privDER)
	if err != nil {
		return StoredKey{}, err
	}
	k := StoredKey{ID: kid, Algorithm: string(Algorithm), PublicDER: pubDER, PrivateSealed: sealed, CreatedAt: r.now()}
	if err := r.store.InsertSigningKey(ctx, k); err != nil {
		return StoredKey{}, err
	}
	if _, err := r.store.DeleteSigningKeysRetiredBefore(ctx, r.now().Add(-r.retention)); err != nil {
		return StoredKey{}, err
	}
	if _, err := r.refresh(ctx, true); err != nil {
		return StoredKey{}, err
	}
	return k, nil
}

// keyID derives the kid from the public key (RFC 7638-like: a digest of the
// key, base64url), so the same key always has the same id on every replica.
func keyID(pubDER []byte) string {
	sum := sha256.Sum256(pubDER)
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// jwks returns the published keys as a JSON Web Key Set.
func (ks *keySet) jwks() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, k := range ks.byID {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: k.public, KeyID: k.id, Algorithm: string(Algorithm), Use: "sig",
		})
	}
	return set
}

func (k *signingKey) String() string { return fmt.Sprintf("signingKey(%s)", k.id) }
