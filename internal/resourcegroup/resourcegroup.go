// Package resourcegroup owns resource groups: their names, locations, tags
// and lifecycle. Deleting a group is a long-running operation that deletes
// every resource inside it through the deleters that resource types
// register, and fails whole, deleting nothing, when anything inside or
// above it is locked.
package resourcegroup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

// ProvisioningState values of a group.
const (
	Succeeded = "Succeeded"
	Deleting  = "Deleting"
)

// Group is a resource group.
type Group struct {
	ID                resource.ID
	Location          string
	Tags              map[string]string
	ManagedBy         string
	ProvisioningState string
	ETag              string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Name returns the group's name as created.
func (g Group) Name() string { return g.ID.ResourceGroupName() }

// Spec is what a caller sets on PUT.
type Spec struct {
	Location  string
	Tags      map[string]string
	ManagedBy string
}

// Errors with Azure's codes (mapped in armapi).
var (
	ErrNotFound        = errkind.E(errkind.NotFound, "Resource group could not be found.")
	ErrLocationChanged = errkind.E(errkind.Conflict, "The resource group already exists in another location; a group's location cannot change.")
	ErrDeleting        = errkind.E(errkind.Conflict, "The resource group is being deleted.")
)

// Store persists groups.
type Store interface {
	// PutResourceGroup inserts g, or replaces the row with g's key when
	// ifETag matches its current etag ("" means insert only). It returns
	// errkind.Conflict when the insert races another, and
	// errkind.PreconditionFailed when ifETag no longer matches.
	PutResourceGroup(ctx context.Context, g Group, ifETag string) error
	ResourceGroup(ctx context.Context, id resource.ID) (Group, error)
	// ResourceGroups lists a subscription's groups ordered by key, after
	// the key after, at most limit.
	ResourceGroups(ctx context.Context, subscriptionID, after string, limit int) ([]Group, error)
	DeleteResourceGroup(ctx context.Context, id resource.ID) error
}

// Config configures a Service.
type Config struct {
	Store Store
	// Locks is asked before every change (ReadOnly blocks writes,
	// CanNotDelete and ReadOnly block deletes).
	Locks lock.Checker
	Now   func() time.Time
}

// Service manages resource groups.
type Service struct {
	cfg Config

	// Set by EnableDelete.
	ops      Operations
	states   StateStore
	fresh    lock.Checker
	deleters []Deleter
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Get returns a group.
func (s *Service) Get(ctx context.Context, id resource.ID) (Group, error) {
	g, err := s.cfg.Store.ResourceGroup(ctx, id)
	if errkind.KindOf(err) == errkind.NotFound {
		return Group{}, notFound(id)
	}
	return g, err
}

func notFound(id resource.ID) error {
	return &errkind.Error{Kind: errkind.NotFound, Message: "Resource group '" + id.ResourceGroupName() + "' could not be found.", Err: ErrNotFound}
}

// List returns one page of a subscription's groups.
func (s *Service) List(ctx context.Context, subscriptionID, after string, limit int) ([]Group, error) {
	return s.cfg.Store.ResourceGroups(ctx, subscriptionID, after, limit)
}

// Put creates a group or replaces its tags and managedBy. The location is
// immutable. It reports whether the group was created. The existing group
// (or the zero Group) is passed to check, so the caller can apply
// preconditions before anything is written.
func (s *Service) Put(ctx context.Context, id resource.ID, spec Spec, check func(existing Group, exists bool) error) (Group, bool, error) {
	if err := resource.ValidateResourceGroupName(id.ResourceGroupName()); err != nil {
		return Group{}, false, errkind.E(errkind.Invalid, "%s", err.Error())
	}
	loc, err := NormalizeLocation(spec.Location)
	if err != nil {
		return Group{}, false, err
	}
	if err := ValidateTags(spec.Tags); err != nil {
		return Group{}, false, err
	}
	old, err := s.cfg.Store.ResourceGroup(ctx, id)
	exists := err == nil
	if err != nil && errkind.KindOf(err) != errkind.NotFound {
		return Group{}, false, err
	}
	if check != nil {
		if err := check(old, exists); err != nil {
			return Group{}, false, err
		}
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Group{}, false, err
	}
	now := s.cfg.Now().UTC()
	g := Group{ID: id, Location: loc, Tags: spec.Tags, ManagedBy: spec.ManagedBy, ProvisioningState: Succeeded,
		ETag: newETag(), CreatedAt: now, UpdatedAt: now}
	if exists {
		switch {
		case old.ProvisioningState == Deleting:
			return Group{}, false, ErrDeleting
		case old.Location != loc:
			return Group{}, false, errkind.Wrap(errkind.Conflict, ErrLocationChanged,
				"Invalid resource group location '"+loc+"'. The Resource group already exists in location '"+old.Location+"'.")
		}
		g.ID, g.CreatedAt = old.ID, old.CreatedAt // the name keeps its first casing
	}
	if err := s.cfg.Store.PutResourceGroup(ctx, g, old.ETag); err != nil {
		return Group{}, false, err
	}
	return g, !exists, nil
}

// Patch replaces the tags (a PATCH replaces the whole tag set) and, when
// managedBy is not nil, managedBy.
func (s *Service) Patch(ctx context.Context, id resource.ID, tags map[string]string, managedBy *string, check func(Group) error) (Group, error) {
	if err := ValidateTags(tags); err != nil {
		return Group{}, err
	}
	g, err := s.Get(ctx, id)
	if err != nil {
		return Group{}, err
	}
	if check != nil {
		if err := check(g); err != nil {
			return Group{}, err
		}
	}
	if err := s.cfg.Locks.Check(ctx, lock.Write, id); err != nil {
		return Group{}, err
	}
	if g.ProvisioningState == Deleting {
		return Group{}, ErrDeleting
	}
	prev := g.ETag
	if tags != nil {
		g.Tags = tags
	}
	if managedBy != nil {
		g.ManagedBy = *managedBy
	}
	g.ETag, g.UpdatedAt = newETag(), s.cfg.Now().UTC()
	return g, s.cfg.Store.PutResourceGroup(ctx, g, prev)
}

// NormalizeLocation turns "West Europe" into "westeurope", as ARM does, and
// checks what remains is a plausible region name.
func NormalizeLocation(loc string) (string, error) {
	l := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	if l == "" || len(l) > 64 {
		return "", errkind.E(errkind.Invalid, "The location of a resource group is required and must be a region name such as 'westeurope'.")
	}
	for _, c := range []byte(l) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", errkind.E(errkind.Invalid, "The location '%s' is not a region name.", truncate(loc))
		}
	}
	return l, nil
}

// Tag limits (reference/edge-arm.md §3.7).
const (
	MaxTags        = 50
	MaxTagKeyLen   = 512
	MaxTagValueLen = 256
)

// ValidateTags checks tag count, key and value lengths, and key characters.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return errkind.E(errkind.Invalid, "A resource can have at most %d tags; %d were given.", MaxTags, len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyLen || strings.ContainsAny(k, "<>%&\\?/") || hasControl(k) {
			return errkind.E(errkind.Invalid, "The tag name '%s' is invalid: 1-%d characters, none of < > %% & \\ ? /.", truncate(k), MaxTagKeyLen)
		}
		if len(v) > MaxTagValueLen {
			return errkind.E(errkind.Invalid, "The value of tag '%s' is longer than %d characters.", truncate(k), MaxTagValueLen)
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func newETag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
