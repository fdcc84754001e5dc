// Package secret owns the secrets of key vaults: their versions and
// properties, soft delete, recovery, purge, the retention sweeper, and the
// backup blobs that carry a secret from one vault to another.
//
// Invariants:
//   - A secret is a name (case-insensitive, kept in the casing of its first
//     Set) with one or more versions; the newest version is current. A
//     version's value never changes; its properties (content type, tags,
//     enabled, nbf, exp) may.
//   - Values are sealed by the envelope before they reach the store, in the
//     vault's scope ("vault:" + vault UID) with AAD binding vault UID,
//     lower-cased name and version, so a ciphertext moved to another row,
//     secret or vault does not open. Values are sensitive.String everywhere
//     in this package; none appears in an error.
//   - A soft-deleted secret keeps its name: Set and Restore refuse it (the
//     caller may only recover or purge), and Get does not see it.
//   - Purge protection refuses only early purges: once a deleted secret's
//     scheduled purge date has passed, it may be purged, and the sweeper
//     (PurgeExpired) purges it.
//   - Backup blobs are authenticated and encrypted under a key of the
//     vault's tenant, so they restore only into a vault of the same tenant,
//     and any change to a blob makes it unreadable.
//
// Limits follow Azure (reference/keyvault-wire.md §1.2, §1.8). Access
// control is not here: the caller (kvapi) checks the vault's access policy
// before calling.
package secret

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Limits of a secret (reference/keyvault-wire.md §1.8).
const (
	MaxNameLen        = 127   // characters of [0-9a-zA-Z-]
	MaxValueBytes     = 25600 // bytes of the value
	MaxContentTypeLen = 255   // characters
	MaxTags           = 15
	MaxTagNameLen     = 256 // characters
	MaxTagValueLen    = 256 // characters
	VersionLen        = 32  // lowercase hex characters
	// MaxBackupVersions is how many versions a backup may hold; Azure
	// refuses to back up objects with more than 500 versions.
	MaxBackupVersions = 500
	// DefaultRetentionDays is the soft-delete retention when a vault
	// states none (Azure's default).
	DefaultRetentionDays = 90
)

// Properties are the mutable properties of one version of a secret.
type Properties struct {
	ContentType string
	Tags        map[string]string
	Enabled     bool
	// NotBefore and Expires are informational, as in Azure: a secret is
	// readable outside them. The zero time means unset.
	NotBefore, Expires time.Time
}

// Secret is one version of a secret.
type Secret struct {
	Name    string // as first created
	Version string // 32 lowercase hex characters
	// Value is set only by Get and Set; lists, updates, deletes,
	// recoveries and restores leave it zero.
	Value sensitive.String
	Properties
	Created, Updated time.Time
}

// Deleted is a soft-deleted secret: its current version, and when it was
// deleted and will be purged.
type Deleted struct {
	Secret
	DeletedAt, ScheduledPurgeAt time.Time
}

// Sentinel errors; match them with errors.Is. The errors the Service
// returns wrap them with a message naming the secret, shaped like Azure's
// (reference/keyvault-wire.md §1.6).
var (
	// ErrNotFound: no such secret or version, or the secret is
	// soft-deleted (NotFound).
	ErrNotFound = errkind.E(errkind.NotFound, "secret not found")
	// ErrDeletedNotFound: no soft-deleted secret of that name (NotFound).
	ErrDeletedNotFound = errkind.E(errkind.NotFound, "deleted secret not found")
	// ErrDisabled: the version is disabled and its value cannot be read
	// (PermissionDenied).
	ErrDisabled = errkind.E(errkind.PermissionDenied, "secret disabled")
	// ErrDeleted: the name belongs to a soft-deleted secret, which can
	// only be recovered or purged (Conflict).
	ErrDeleted = errkind.E(errkind.Conflict, "secret deleted but recoverable")
	// ErrExists: a restore names a secret that exists (Conflict).
	ErrExists = errkind.E(errkind.Conflict, "secret exists")
	// ErrPurgeProtected: the vault has purge protection and the secret's
	// scheduled purge date has not come (PermissionDenied).
	ErrPurgeProtected = errkind.E(errkind.PermissionDenied, "purge protected")
	// ErrInvalidName: the name is not 1-127 of [0-9a-zA-Z-] (Invalid).
	ErrInvalidName = errkind.E(errkind.Invalid, "invalid secret name")
	// ErrInvalid: a value, content type, tag or date is out of bounds
	// (Invalid).
	ErrInvalid = errkind.E(errkind.Invalid, "invalid secret parameters")
	// ErrBadBackup: a backup blob is malformed, tampered with, or from
	// another tenant (Invalid).
	ErrBadBackup = errkind.E(errkind.Invalid, "invalid backup blob")
)

// wrapf returns an error of sentinel's kind with a client-safe message,
// matching sentinel with errors.Is.
func wrapf(sentinel error, format string, args ...any) error {
	return &errkind.Error{Kind: errkind.KindOf(sentinel), Message: fmt.Sprintf(format, args...), Err: sentinel}
}

func notFound(name string) error {
	return wrapf(ErrNotFound, "A secret with (name/id) %s was not found in this key vault. "+
		"If you recently deleted this secret you may be able to recover it using the correct recovery command. "+
		"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)
}

func deletedNotFound(name string) error {
	return wrapf(ErrDeletedNotFound, "Deleted Secret not found: %s", name)
}

func deletedConflict(name string) error {
	return wrapf(ErrDeleted, "Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; "+
		"in this state, the secret can only be recovered or purged.", name)
}

// ValidName reports whether name is a valid secret name: 1 to 127 ASCII
// letters, digits and dashes (reference/keyvault-wire.md §1.2).
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for _, c := range []byte(name) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

func checkName(name string) error {
	if ValidName(name) {
		return nil
	}
	return wrapf(ErrInvalidName, "The request URI contains an invalid name: %s", clip(name, MaxNameLen+1))
}

// ValidVersion reports whether v is a version as this package makes them:
// 32 hex characters (compared case-insensitively).
func ValidVersion(v string) bool {
	if len(v) != VersionLen {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// key is the case-insensitive form of a name or version.
func key(s string) string { return strings.ToLower(s) }

// newVersion returns a fresh random version id.
func newVersion() string {
	var b [VersionLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// maxDate bounds nbf and exp, so that they fit the store's nanosecond
// times (which end in 2262) with room to spare.
var (
	minDate = time.Unix(-1<<33, 0)
	maxDate = time.Unix(1<<33, 0)
)

// checkProperties enforces the limits on a version's properties.
func checkProperties(p Properties) error {
	if n := utf8.RuneCountInString(p.ContentType); n > MaxContentTypeLen {
		return wrapf(ErrInvalid, "The contentType is %d characters long; at most %d are allowed.", n, MaxContentTypeLen)
	}
	if len(p.Tags) > MaxTags {
		return wrapf(ErrInvalid, "The secret has %d tags; at most %d are allowed.", len(p.Tags), MaxTags)
	}
	for k, v := range p.Tags {
		switch {
		case k == "":
			return wrapf(ErrInvalid, "A tag name is empty.")
		case utf8.RuneCountInString(k) > MaxTagNameLen:
			return wrapf(ErrInvalid, "A tag name is longer than %d characters.", MaxTagNameLen)
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			return wrapf(ErrInvalid, "The value of tag %s is longer than %d characters.", clip(k, MaxTagNameLen), MaxTagValueLen)
		}
	}
	for _, t := range []time.Time{p.NotBefore, p.Expires} {
		if !t.IsZero() && (t.Before(minDate) || t.After(maxDate)) {
			return wrapf(ErrInvalid, "The nbf or exp attribute is out of range.")
		}
	}
	return nil
}

func checkValue(v sensitive.String) error {
	if v.Len() > MaxValueBytes {
		return wrapf(ErrInvalid, "Secret is beyond the maximum permitted length of %d characters.", MaxValueBytes)
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
