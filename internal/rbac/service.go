package rbac

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Store persists role assignments. Scopes are compared by resource.ID.Key.
type Store interface {
	// InsertRoleAssignment stores a new assignment; errkind.Conflict when
	// its name, or its (scope, principal, role), is taken.
	InsertRoleAssignment(ctx context.Context, a Assignment) error
	// RoleAssignment returns the assignment with a name, at any scope;
	// errkind.NotFound when there is none.
	RoleAssignment(ctx context.Context, name string) (Assignment, error)
	// UpdateRoleAssignment stores a.Description and a.UpdatedAt for the
	// assignment named a.ID; errkind.NotFound when there is none.
	UpdateRoleAssignment(ctx context.Context, a Assignment) error
	// DeleteRoleAssignment deletes the assignment with a name at a scope;
	// errkind.NotFound when there is none.
	DeleteRoleAssignment(ctx context.Context, scope resource.ID, name string) error
	// RoleAssignmentsForPrincipal lists a principal's assignments.
	RoleAssignmentsForPrincipal(ctx context.Context, principalID string) ([]Assignment, error)
	// RoleAssignmentsAt lists the assignments at exactly these scopes.
	RoleAssignmentsAt(ctx context.Context, scopes []resource.ID) ([]Assignment, error)
	// RoleAssignmentsBelow lists the assignments strictly inside scope.
	RoleAssignmentsBelow(ctx context.Context, scope resource.ID) ([]Assignment, error)
}

// Principals looks principals up by object id, to validate the principal
// of a new assignment; errkind.NotFound when there is none.
type Principals interface {
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
}

// Defaults of Config.
const (
	DefaultCacheTTL  = 10 * time.Second
	DefaultCacheSize = 10000
)

// Config configures a Service.
type Config struct {
	Store      Store
	Principals Principals
	Now        func() time.Time // default time.Now
	// CacheTTL bounds how long a principal's assignments are trusted
	// without reading them again: the longest a change made by another
	// replica goes unseen (see the package doc). Default DefaultCacheTTL.
	CacheTTL time.Duration
	// CacheSize bounds how many principals' assignments are cached.
	// Default DefaultCacheSize.
	CacheSize int
}

// Service decides authorization and manages role assignments.
type Service struct {
	cfg Config

	mu    sync.RWMutex
	cache map[string]*grants // by principal object id
	// gen counts local writes. A cache fill that began before a write
	// finished is not stored, so an invalidation cannot be undone by a
	// slower read of the old rows.
	gen uint64
}

// grants is a principal's cached assignments, ready for decisions.
type grants struct {
	loaded time.Time
	list   []grant
}

type grant struct {
	scopeKey string // resource.ID.Key of the assignment's scope
	role     *compiledRole
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Principals == nil {
		return nil, errors.New("rbac: Store and Principals are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	return &Service{cfg: cfg, cache: map[string]*grants{}}, nil
}

// Authorize returns nil when p may perform action (a control-plane action
// such as "Microsoft.KeyVault/vaults/write") over scope, and otherwise
// ErrAuthorizationFailed with Azure's message. Other errors (the database
// is unavailable) also deny.
func (s *Service) Authorize(ctx context.Context, p principal.Principal, action string, scope resource.ID) error {
	g, err := s.grantsFor(ctx, p.ObjectID)
	if err != nil {
		return err
	}
	target := scope.Key()
	for _, gr := range g.list {
		if within(target, gr.scopeKey) && gr.role.allows(action) {
			return nil
		}
	}
	return denied(p, action, scope)
}

// Visible reports whether p holds any role at, above or below scope: a
// subscription or group is listed to a caller with any assignment in it,
// as Azure lists a subscription to whoever holds a role inside it.
func (s *Service) Visible(ctx context.Context, p principal.Principal, scope resource.ID) (bool, error) {
	g, err := s.grantsFor(ctx, p.ObjectID)
	if err != nil {
		return false, err
	}
	target := scope.Key()
	for _, gr := range g.list {
		if within(target, gr.scopeKey) || within(gr.scopeKey, target) {
			return true, nil
		}
	}
	return false, nil
}

// Invalidate drops the cached assignments of a principal, for callers that
// change assignments behind the Service's back (deleting a principal
// deletes its assignments in the store).
func (s *Service) Invalidate(principalID string) {
	s.mu.Lock()
	s.gen++
	delete(s.cache, principalID)
	s.mu.Unlock()
}

// within reports whether the id key k lies at or below the scope key
// scope, without allocating.
func within(k, scope string) bool {
	n := len(scope)
	return len(k) >= n && k[:n] == scope && (len(k) == n || k[n] == '/')
}

// grantsFor returns the principal's assignments from the cache, reading
// them from the store when absent or older than the TTL.
func (s *Service) grantsFor(ctx context.Context, principalID string) (*grants, error) {
	now := s.cfg.Now()
	s.mu.RLock()
	g, gen := s.cache[principalID], s.gen
	s.mu.RUnlock()
	// A clock that stepped backwards counts as expired, not as fresh.
	if g != nil {
		if age := now.Sub(g.loaded); age >= 0 && age < s.cfg.CacheTTL {
			return g, nil
		}
	}
	list, err := s.cfg.Store.RoleAssignmentsForPrincipal(ctx, principalID)
	if err != nil {
		return nil, err
	}
	g = &grants{loaded: now, list: make([]grant, 0, len(list))}
	for _, a := range list {
		role := compiledBuiltIns[a.RoleDefinitionID]
		scope, err := a.ScopeID()
		if role == nil || err != nil || scope.SubscriptionID() == "" {
			continue // grants nothing: an unknown role, or a scope we never create
		}
		g.list = append(g.list, grant{scopeKey: scope.Key(), role: role})
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.cache) >= s.cfg.CacheSize {
			s.evict(now)
		}
		s.cache[principalID] = g
	}
	s.mu.Unlock()
	return g, nil
}

// evict makes room in a full cache: expired entries first, then arbitrary
// ones (map order) until a quarter is free. s.mu is held.
func (s *Service) evict(now time.Time) {
	for id, g := range s.cache {
		if now.Sub(g.loaded) >= s.cfg.CacheTTL {
			delete(s.cache, id)
		}
	}
	for id := range s.cache {
		if len(s.cache) < s.cfg.CacheSize*3/4 {
			break
		}
		delete(s.cache, id)
	}
}
