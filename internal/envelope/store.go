package envelope

import (
	"context"
	"time"
)

// KEKRecord is one stored version of a scope's key-encryption key. The key
// itself is never stored: Wrapped is the KEK sealed under the root key named
// by RootKeyID.
type KEKRecord struct {
	Scope     string    // owner: a vault's canonical resource ID, or "system"
	Version   int       // 1, 2, 3, ...; the highest stored version is current
	Wrapped   []byte    // opaque to the store; 60 bytes today, allow up to 256
	RootKeyID string    // 16 lowercase hex characters; changed only by RewrapKEK
	CreatedAt time.Time // set by the Keyring (UTC); never changed by RewrapKEK
}

// Store persists wrapped KEKs. It is declared here, where it is consumed;
// the SQL store implements it and the store conformance suite tests it.
//
// The contract, method by method:
//
//   - Rows are identified by (Scope, Version), which must be unique (a
//     primary key or unique index). All methods are safe for concurrent use
//     by several goroutines and several server processes sharing a database.
//     Errors from the database keep an errkind (Unavailable for a database
//     that cannot be reached); the Keyring passes them through, wrapped.
//
//   - KEKs returns every row of scope, ordered by Version ascending. A scope
//     with no rows yields an empty slice and a nil error, not NotFound.
//
//   - InsertKEK inserts r exactly as given. When a row with the same
//     (Scope, Version) already exists it must change nothing and return an
//     error whose errkind.KindOf is errkind.Conflict: another goroutine or
//     replica created that version first, and the Keyring then re-reads the
//     scope and uses theirs. Map the unique-constraint violation to Conflict;
//     do not check-then-insert, which races. Do not enforce that versions
//     are contiguous.
//
//   - KEKsNotWrappedBy returns up to limit rows, of any scope, whose RootKeyID
//     is NOT equal to rootKeyID, ordered by (Scope, Version). limit is at
//     least 1. An empty result means every row is wrapped by rootKeyID.
//     Root-key rotation calls it repeatedly, so it must read committed state
//     (rows rewrapped by a previous call are not returned again).
//
//   - RewrapKEK is a compare-and-swap in one statement:
//
//     UPDATE kek SET wrapped = $wrapped, root_key_id = $new
//     WHERE scope = $scope AND version = $version AND root_key_id = $old
//
//     It reports true when exactly that row was updated, and false with a nil
//     error when no row matched: the row is gone (a purged vault's KEKs may
//     be deleted outside this package) or another process rewrapped it first.
//     It must not change CreatedAt.
type Store interface {
	// KEKs returns all versions of scope's KEK, oldest first.
	KEKs(ctx context.Context, scope string) ([]KEKRecord, error)
	// InsertKEK stores a new KEK version; errkind.Conflict if it exists.
	InsertKEK(ctx context.Context, r KEKRecord) error
	// KEKsNotWrappedBy returns up to limit rows not wrapped by rootKeyID.
	KEKsNotWrappedBy(ctx context.Context, rootKeyID string, limit int) ([]KEKRecord, error)
	// RewrapKEK replaces a row's wrapping if it is still wrapped by oldRootKeyID.
	RewrapKEK(ctx context.Context, scope string, version int, oldRootKeyID, newRootKeyID string, wrapped []byte) (bool, error)
}
