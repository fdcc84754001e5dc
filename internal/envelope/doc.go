// Package envelope owns the keys that protect values at rest, and the
// format of every ciphertext the server stores. It is envelope encryption
// in three levels, as in OpenBao's barrier and cloud KMS designs:
//
//	root key   one per deployment: <data-dir>/root.key (or --root-key-file),
//	│          32 random bytes, mode 0600; never in the database
//	└─ KEK     one series of versions per scope (a vault's canonical resource
//	   │       ID, or "system" for server-internal secrets); stored only
//	   │       wrapped by the root key, each row naming the root key's ID
//	   └─ DEK  one per sealed value, wrapped by the scope's current KEK and
//	           stored inside the value's blob
//
// All three levels use AES-256-GCM with a random 96-bit nonce.
//
// # Why three levels
//
// A fresh DEK per value means a data key encrypts exactly once, so GCM's
// nonce budget (2^32 random nonces per key) is never a concern for data, and
// a KEK only ever encrypts 32-byte keys. Rotating the root key touches one
// small row per KEK version, never the values, so it is quick and can run
// online. Per-scope KEKs keep vaults cryptographically apart, and deleting a
// purged vault's KEK rows is enough to make every copy of its values
// unreadable (crypto-shredding; a running Keyring's cache aside).
//
// # Invariants
//
//   - The root key is named by its ID, HMAC-SHA256(key, "edgevault root key
//     id v1") truncated to 8 bytes in hex. The ID identifies the key without
//     revealing it, and is safe to log.
//   - A wrapped KEK's AAD binds scope, version and wrapping root key ID, so
//     a KEK row copied onto another row does not unwrap.
//   - A blob names its KEK version. The wrapped DEK's AAD binds scope, KEK
//     version and a hash of the caller's AAD; the value's own AAD is the
//     caller's. Callers build it with AAD from the vault, object name and
//     version, so a blob copied onto another row fails with ErrDecrypt.
//   - Every byte of a blob is authenticated. Open parses untrusted bytes
//     and never panics (FuzzOpen).
//   - KEK versions are never deleted by this package: values sealed under
//     any version open for as long as the row exists.
//   - Key material and plaintext never appear in errors or logs.
//
// # Formats
//
// A blob (format 1) is
//
//	0x01                        format
//	uvarint                     KEK version, shortest encoding, 1..2^31-1
//	12-byte nonce || 48 bytes   the DEK, AES-GCM under the KEK, with AAD =
//	                            AAD("edgevault/dek/v1", scope, version, SHA-256(aad))
//	12-byte nonce               the value's nonce
//	ciphertext || 16-byte tag   the value, AES-GCM under the DEK, with AAD = aad
//
// so it costs 90 bytes over the plaintext while KEK versions stay below
// 128. A stored KEK (KEKRecord.Wrapped) is a 12-byte nonce and the 48-byte
// AES-GCM sealing of the KEK under the root key, with AAD =
// AAD("edgevault/kek/v1", scope, version, root key ID). Versions appear in
// AADs in decimal. A future format takes a new first byte and Open keeps
// reading the old ones: the valid seeds in testdata/fuzz/FuzzOpen are golden
// blobs that must keep opening.
//
// # KEK versions and replicas
//
// Several server processes may share one database. The first Seal in a scope
// creates version 1; when two processes race, the store's unique key lets
// one insert win and the other adopts it (Store.InsertKEK returns Conflict).
// A Keyring caches unwrapped KEKs; it re-reads a scope when Open names a
// version it lacks, and re-reads the current version after CurrentTTL, so
// another replica's RotateKEK reaches Seal within that time.
//
// # Root-key rotation
//
// RotateRootKey runs online, and a crash at any point is recoverable:
//
//  1. Write a new key to root.key.next: temporary file, fsync, hard link
//     into place, fsync directory. A link, unlike a rename, never replaces
//     an existing file, so two rotations (or two first starts) cannot
//     overwrite a key that may already wrap KEKs. Crash before the link:
//     nothing changed; the next New deletes the temporary file.
//  2. Wrap new KEKs with the new key from now on. Both keys unwrap.
//  3. Rewrap every KEK row not wrapped by the new key, in batches, each row
//     a compare-and-swap on its root key ID. Crash during this: rows are
//     wrapped by one key or the other, New loads both, everything opens,
//     and Resume carries on from the rows that are left.
//  4. Rename root.key.next over root.key and fsync the directory; the old
//     key is gone. Crash before the rename: as in step 3, with no rows left.
//     Crash after: the rotation is complete.
//  5. Sweep once more with the old key still in memory, for a KEK that a
//     replica that had not yet seen root.key.next inserted under the old key.
//
// New reports an interrupted rotation (RotationPending), and Resume, which
// the server calls at start, finishes it. Replicas must share the key file:
// each re-reads the key files before creating a KEK and when a row names a
// root key it does not know, so it follows a rotation that another replica
// runs.
package envelope
