// Package lock owns management locks (Microsoft.Authorization/locks,
// reference/edge-arm.md §3.9): their model and validation, and the one rule
// every control-plane change obeys, asked through Checker. No resource type
// re-implements it.
//
// # Rules
//
//   - A lock sits at a scope: a subscription, a resource group or a resource
//     (including an extension resource). Its id is the scope followed by
//     /providers/Microsoft.Authorization/locks/{name}.
//   - A lock applies to its scope and everything inside it, including
//     resources created later and extension resources of a locked resource:
//     a diagnostic setting's id extends the vault's id, so the vault's lock
//     protects it (§3.1, §3.9). "Inside" is resource.ID.Contains, nothing
//     else.
//   - CanNotDelete blocks Delete; ReadOnly blocks Delete, Write and Action
//     (POST: listKeys returns keys usable for writes, so Azure treats it as
//     one). Every applicable lock is considered, so the most restrictive
//     wins. Locks override role assignments: they are checked whatever the
//     caller's role.
//   - Deleting a container (a resource group) also fails when anything
//     below it is locked, and then deletes nothing: CheckSubtree.
//   - Lock operations themselves are never blocked by locks (otherwise no
//     one could remove a ReadOnly lock); Check and CheckSubtree return nil
//     for a lock id, and the ARM layer does not call them on lock routes.
//     Who may manage locks is RBAC's question (Owner and User Access
//     Administrator), not this package's.
//   - A violation is errkind.Locked with Azure's ScopeLocked message (§3.4),
//     which names the target and every locked scope once.
//
// # Why an in-memory index, and how stale it can be
//
// Every mutating request asks Check, so it must cost microseconds, not a
// database round trip. Locks are few (a handful per vault), so the Service
// keeps all of them in an immutable index keyed by scope, swapped
// atomically; a check walks the target's ancestors with map lookups.
//
// Every lock write increments a generation number in the same database
// transaction (the settings row "locks.generation"). Writes made through a
// Service update its index synchronously, under the mutex that also guards
// reloads, before Put or Delete returns. A Service re-reads the generation
// when its index is older than Config.PollInterval (250 ms by default) and
// reloads every lock when it changed.
//
//   - Embedded SQLite: one process owns the data directory, every lock
//     write goes through its Service, and the index is exact.
//   - PostgreSQL with several replicas: a lock written through another
//     replica is enforced here at most PollInterval after it committed; a
//     check that finds its index older than that waits for one generation
//     read first. A lock removed elsewhere may keep blocking for the same
//     window. Deletions that cannot be undone should not rely on the window:
//     Uncached returns a Checker that reads the database directly, and
//     store code deleting a container can re-check inside its own
//     transaction (see internal/store/lock.go).
//
// If the generation cannot be read when it is due, Check fails with the
// store's error (Unavailable) rather than answer from a stale index.
package lock

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Resource type of a lock, as ARM writes it in ids and bodies.
const (
	Namespace    = "Microsoft.Authorization"
	typeSegment  = "locks"
	ResourceType = Namespace + "/" + typeSegment
)

// Limits on what a lock may carry. MaxNotes is Azure's documented limit
// (§3.9); the owner limits are ours, to bound what one request can store.
const (
	MaxNotes            = 512
	MaxOwners           = 100
	MaxApplicationIDLen = 256
)

// Level is a lock level; the values are the wire values.
type Level string

const (
	// CanNotDelete lets authorized users read and modify a resource but not
	// delete it.
	CanNotDelete Level = "CanNotDelete"
	// ReadOnly lets authorized users read a resource but not change,
	// delete or act on it (POST).
	ReadOnly Level = "ReadOnly"
	// NotSpecified appears in Azure's enum; creating a lock with it fails.
	NotSpecified Level = "NotSpecified"
)

// Owner is a lock owner: an application that manages the lock.
type Owner struct {
	ApplicationID string
}

// Lock is a management lock.
type Lock struct {
	// ID is Scope()/providers/Microsoft.Authorization/locks/Name(); the
	// scope and the name are derived from it, so they cannot disagree.
	ID        resource.ID
	Level     Level
	Notes     string
	Owners    []Owner // nil when there are none
	CreatedBy string  // object id of the principal that created the lock
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Scope returns the locked scope.
func (l Lock) Scope() resource.ID { return l.ID.Parent() }

// Name returns the lock's name.
func (l Lock) Name() string { return l.ID.Name() }

// Spec is what a caller sets when creating or replacing a lock.
type Spec struct {
	Level  Level
	Notes  string
	Owners []Owner
}

// IDFor returns the id of the lock named name at scope.
func IDFor(scope resource.ID, name string) resource.ID {
	return scope.Child(Namespace, typeSegment, name)
}

// IsLockID reports whether id names a management lock.
func IsLockID(id resource.ID) bool {
	// Namespace walks the parents without allocating; Type builds a string,
	// so it is only asked when the namespace already matches.
	return id.Level() == resource.Resource && strings.EqualFold(id.Namespace(), Namespace) &&
		strings.EqualFold(id.Type(), ResourceType)
}

// validateScope checks that a lock may be placed at scope: Azure locks
// subscriptions, resource groups and resources, never the tenant root,
// and a lock cannot lock a lock.
func validateScope(scope resource.ID) error {
	if scope.Level() == resource.Tenant {
		return errkind.E(errkind.Invalid, "Management locks can be created at a subscription, resource group or resource scope, not at '/'.")
	}
	if IsLockID(scope) {
		return errkind.E(errkind.Invalid, "The scope '%s' is a management lock; a lock cannot be locked.", scope)
	}
	return nil
}

func validateName(name string) error {
	if err := resource.ValidateLockName(name); err != nil {
		return errkind.E(errkind.Invalid, "The lock name is invalid: %v.", err)
	}
	return nil
}

// normalize validates a spec and returns it in canonical form: the level in
// its wire spelling (ARM enums are matched case-insensitively), owners nil
// when empty.
func (sp Spec) normalize() (Spec, error) {
	switch {
	case strings.EqualFold(string(sp.Level), string(CanNotDelete)):
		sp.Level = CanNotDelete
	case strings.EqualFold(string(sp.Level), string(ReadOnly)):
		sp.Level = ReadOnly
	case sp.Level == "":
		return Spec{}, errkind.E(errkind.Invalid, "The lock level is required: 'CanNotDelete' or 'ReadOnly'.")
	default:
		return Spec{}, errkind.E(errkind.Invalid, "The lock level '%s' is not valid; use 'CanNotDelete' or 'ReadOnly'.", truncate(string(sp.Level)))
	}
	if n := utf8.RuneCountInString(sp.Notes); n > MaxNotes {
		return Spec{}, errkind.E(errkind.Invalid, "The lock notes are %d characters long; at most %d are allowed.", n, MaxNotes)
	}
	if len(sp.Owners) > MaxOwners {
		return Spec{}, errkind.E(errkind.Invalid, "A lock can have at most %d owners.", MaxOwners)
	}
	for _, o := range sp.Owners {
		if o.ApplicationID == "" || len(o.ApplicationID) > MaxApplicationIDLen {
			return Spec{}, errkind.E(errkind.Invalid, "Every lock owner needs an applicationId of 1 to %d characters.", MaxApplicationIDLen)
		}
	}
	if len(sp.Owners) == 0 {
		sp.Owners = nil
	} else {
		sp.Owners = append([]Owner(nil), sp.Owners...) // the caller keeps its slice
	}
	return sp, nil
}

// truncate bounds caller input echoed in a message.
func truncate(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
