package lock

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

// Store persists locks. Every write increments the lock generation in the
// same transaction and returns the new value, so a Service can tell
// whether its index has seen every write before it.
type Store interface {
	// PutLock inserts l, or replaces the level, notes, owners and update
	// time of the lock with the same id (compared case-insensitively). It
	// returns the lock as stored (a replaced lock keeps its id spelling,
	// creator and creation time) and whether it was created.
	PutLock(ctx context.Context, l Lock) (stored Lock, created bool, gen int64, err error)
	// DeleteLock deletes the lock with the given id; existed is false (and
	// the generation unchanged) when there was none.
	DeleteLock(ctx context.Context, id resource.ID) (existed bool, gen int64, err error)
	// LockByID returns one lock, or an errkind.NotFound error.
	LockByID(ctx context.Context, id resource.ID) (Lock, error)
	// LocksAtOrAbove returns the locks whose scope contains scope: at it,
	// and at each of its ancestors.
	LocksAtOrAbove(ctx context.Context, scope resource.ID) ([]Lock, error)
	// LocksBelow returns the locks whose scope lies strictly below scope.
	LocksBelow(ctx context.Context, scope resource.ID) ([]Lock, error)
	// AllLocks returns every lock and a generation read before them, so
	// the locks reflect at least every write up to that generation.
	AllLocks(ctx context.Context) (gen int64, locks []Lock, err error)
	// LockGeneration returns the current generation; 0 before any write.
	LockGeneration(ctx context.Context) (int64, error)
}

// DefaultPollInterval bounds how long a lock written through another
// replica can go unenforced here.
const DefaultPollInterval = 250 * time.Millisecond

// Config holds a Service's dependencies.
type Config struct {
	Store Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PollInterval is how old the index may grow before a check re-reads
	// the generation; DefaultPollInterval when zero.
	PollInterval time.Duration
}

// Service manages locks and answers Checker questions from an in-memory
// index (see the package documentation for its consistency).
type Service struct {
	store Store
	now   func() time.Time
	poll  time.Duration

	// mu serialises every change of the index: polls, reloads and the
	// application of this process's own writes. Checks read idx without it
	// while the index is fresh.
	mu  sync.Mutex
	idx atomic.Pointer[index] // nil: not loaded, or invalidated
}

// New returns a Service. The index is loaded by the first check.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("lock: Config.Store is required")
	}
	s := &Service{store: cfg.Store, now: cfg.Now, poll: cfg.PollInterval}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	return s, nil
}

// ErrNotFound is the cause of the error Get returns for a missing lock, so
// a transport can give it its own wire code.
var ErrNotFound = errors.New("lock: not found")

// Put creates the lock named name at scope, or replaces its level, notes
// and owners; created says which (201 or 200). The caller becomes the
// creator of a new lock. The ARM layer checks that scope exists and that
// the caller may manage locks; locks themselves never block this.
func (s *Service) Put(ctx context.Context, caller principal.Principal, scope resource.ID, name string, spec Spec) (Lock, bool, error) {
	if err := validateScope(scope); err != nil {
		return Lock{}, false, err
	}
	if err := validateName(name); err != nil {
		return Lock{}, false, err
	}
	spec, err := spec.normalize()
	if err != nil {
		return Lock{}, false, err
	}
	now := s.now().UTC()
	l := Lock{ID: IDFor(scope, name), Level: spec.Level, Notes: spec.Notes, Owners: spec.Owners,
		CreatedBy: caller.ObjectID, CreatedAt: now, UpdatedAt: now}
	stored, created, gen, err := s.store.PutLock(ctx, l)
	if err != nil {
		return Lock{}, false, err
	}
	s.apply(ctx, gen, func(m map[string]entry) { m[stored.ID.Key()] = entryOf(stored) })
	return stored, created, nil
}

// Get returns the lock named name at scope.
func (s *Service) Get(ctx context.Context, scope resource.ID, name string) (Lock, error) {
	if err := validateScope(scope); err != nil {
		return Lock{}, err
	}
	if err := validateName(name); err != nil {
		return Lock{}, err
	}
	l, err := s.store.LockByID(ctx, IDFor(scope, name))
	if errkind.KindOf(err) == errkind.NotFound {
		return Lock{}, errkind.Wrap(errkind.NotFound, ErrNotFound, "The lock '"+name+"' could not be found at scope '"+scope.String()+"'.")
	}
	return l, err
}

// Delete removes the lock named name at scope; existed is false when there
// was none (204 rather than 200). Locks never block this.
func (s *Service) Delete(ctx context.Context, scope resource.ID, name string) (bool, error) {
	if err := validateScope(scope); err != nil {
		return false, err
	}
	if err := validateName(name); err != nil {
		return false, err
	}
	id := IDFor(scope, name)
	existed, gen, err := s.store.DeleteLock(ctx, id)
	if err != nil || !existed {
		return false, err
	}
	s.apply(ctx, gen, func(m map[string]entry) { delete(m, id.Key()) })
	return true, nil
}

// ListOptions selects the locks List returns.
type ListOptions struct {
	Scope resource.ID
	// AtScope is $filter=atScope(): only the locks at Scope and above it
	// (those that apply to it), not those below.
	AtScope bool
}

// List returns the locks at opt.Scope, above it (inherited) and, unless
// opt.AtScope, below it, as Azure's list operations do. They are ordered
// by scope, outermost first, then by name.
func (s *Service) List(ctx context.Context, opt ListOptions) ([]Lock, error) {
	locks, err := s.store.LocksAtOrAbove(ctx, opt.Scope)
	if err != nil {
		return nil, err
	}
	if !opt.AtScope {
		below, err := s.store.LocksBelow(ctx, opt.Scope)
		if err != nil {
			return nil, err
		}
		locks = append(locks, below...)
	}
	slices.SortFunc(locks, func(a, b Lock) int {
		return cmp.Or(cmp.Compare(a.Scope().Key(), b.Scope().Key()), cmp.Compare(a.ID.Key(), b.ID.Key()))
	})
	return locks, nil
}

// Check implements Checker from the index.
func (s *Service) Check(ctx context.Context, op Op, target resource.ID) error {
	return s.check(ctx, op, target, false)
}

// CheckSubtree implements Checker from the index.
func (s *Service) CheckSubtree(ctx context.Context, op Op, scope resource.ID) error {
	return s.check(ctx, op, scope, true)
}

func (s *Service) check(ctx context.Context, op Op, target resource.ID, subtree bool) error {
	if err := checkOp(op); err != nil || IsLockID(target) {
		return err
	}
	x, err := s.current(ctx)
	if err != nil {
		return err
	}
	return x.check(op, target, subtree)
}
