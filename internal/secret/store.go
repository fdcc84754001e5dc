package secret

import (
	"context"
	"time"
)

// Vault is what the service needs to know of the vault a secret lives in
// (the transport fills it from the keyvault.Vault it found).
type Vault struct {
	UID             string // the vault's immutable internal id: scope and AAD of its values
	TenantID        string // backups restore only within the tenant
	RetentionDays   int    // soft-delete retention; DefaultRetentionDays when 0
	PurgeProtection bool   // refuses purges before the scheduled purge date
}

// Record is one stored version of a secret, as the Store keeps it: the
// value is sealed.
type Record struct {
	VaultUID string
	Name     string // as first created; the store keys on its lower case
	Version  string // lowercase hex
	// Seq orders a secret's versions (1, 2, ...); the store assigns it.
	Seq     int64
	Sealed  []byte // the value, sealed by the envelope
	Props   Properties
	Created time.Time
	Updated time.Time
	// DeletedAt and PurgeAt are the secret's (not the version's) soft
	// delete time and scheduled purge date; zero while it is active.
	DeletedAt, PurgeAt time.Time
}

// Store persists secrets. It is declared here, where it is consumed; the
// SQL store implements it and the store conformance suite tests it.
//
// Names are case-insensitive: the store keys on strings.ToLower(name) and
// keeps the casing of a secret's first version. Versions are passed in
// lower case. Unless stated otherwise, a method's NotFound (errkind) means
// that no *active* secret of that name exists; a soft-deleted one is
// invisible to every method that does not say "deleted".
type Store interface {
	// InsertSecretVersion adds r as the newest version of its secret,
	// creating the secret when absent, and returns it as stored (Name in
	// the secret's casing, Seq assigned). When the name is soft-deleted it
	// changes nothing and returns an error matching ErrDeleted.
	InsertSecretVersion(ctx context.Context, r Record) (Record, error)

	// SecretVersion returns a version of a secret, or its newest version
	// when version is "". With deleted set it reads a soft-deleted secret
	// instead of an active one.
	SecretVersion(ctx context.Context, vaultUID, name, version string, deleted bool) (Record, error)

	// UpdateSecretVersion stores r's Props and Updated on the version
	// (r.VaultUID, r.Name, r.Version) of an active secret, and returns the
	// version as stored.
	UpdateSecretVersion(ctx context.Context, r Record) (Record, error)

	// SecretVersions lists an active secret's versions by Seq, from
	// Seq > afterSeq, at most limit. NotFound when the secret is absent
	// or deleted.
	SecretVersions(ctx context.Context, vaultUID, name string, afterSeq int64, limit int) ([]Record, error)

	// Secrets lists a vault's active (deleted false) or soft-deleted
	// (deleted true) secrets, each as its newest version, ordered by the
	// lower-cased name, from names after afterKey, at most limit.
	Secrets(ctx context.Context, vaultUID string, deleted bool, afterKey string, limit int) ([]Record, error)

	// DeleteSecret soft-deletes an active secret in one statement, and
	// returns its newest version with DeletedAt and PurgeAt set.
	DeleteSecret(ctx context.Context, vaultUID, name string, at, purgeAt time.Time) (Record, error)

	// RecoverSecret makes a soft-deleted secret active again and returns
	// its newest version; NotFound when no deleted secret has the name.
	RecoverSecret(ctx context.Context, vaultUID, name string) (Record, error)

	// PurgeSecret deletes a soft-deleted secret and all its versions;
	// NotFound when no deleted secret has the name.
	PurgeSecret(ctx context.Context, vaultUID, name string) error

	// RestoreSecret creates a secret from versions (oldest first, all of
	// one name) in one transaction, and returns the newest version. When
	// the name is taken it changes nothing and returns an error matching
	// ErrDeleted (soft-deleted) or ErrExists (active).
	RestoreSecret(ctx context.Context, vaultUID string, versions []Record) (Record, error)

	// PurgeVaultSecrets deletes every secret of a vault, active or not,
	// and returns how many secrets it deleted.
	PurgeVaultSecrets(ctx context.Context, vaultUID string) (int, error)

	// PurgeExpiredSecrets deletes up to limit soft-deleted secrets, of any
	// vault, whose PurgeAt is at or before now, and returns how many.
	PurgeExpiredSecrets(ctx context.Context, now time.Time, limit int) (int, error)
}

// Sealer encrypts values at rest (the envelope.Keyring).
type Sealer interface {
	Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error)
}
