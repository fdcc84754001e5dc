package token

import (
	"crypto/sha256"
	"sync"
)

// verifiedCache remembers tokens whose signature has been verified, keyed by
// the SHA-256 of the compact serialisation. Clients reuse one access token
// for up to an hour, so most requests present a token we have already
// verified; a hit skips the RSA verification and JSON decoding, never the
// claim checks (expiry, audience, issuer, tenant), which run on every call.
// An entry is only trusted while the key that signed it is still published.
//
// The cache is bounded: past maxEntries, an arbitrary entry is evicted per
// insertion (Go's map iteration order), which keeps memory flat under a
// flood of distinct valid tokens without the bookkeeping of an LRU.
type verifiedCache struct {
	mu         sync.RWMutex
	entries    map[[sha256.Size]byte]verifiedEntry
	maxEntries int
}

type verifiedEntry struct {
	kid    string
	claims Claims
}

func newVerifiedCache(maxEntries int) *verifiedCache {
	return &verifiedCache{entries: make(map[[sha256.Size]byte]verifiedEntry), maxEntries: maxEntries}
}

func (c *verifiedCache) get(sum [sha256.Size]byte) (verifiedEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	return e, ok
}

func (c *verifiedCache) put(sum [sha256.Size]byte, e verifiedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.maxEntries {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[sum] = e
}
