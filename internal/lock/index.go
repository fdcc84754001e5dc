package lock

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
)

// index is an immutable snapshot of every lock. It is replaced, never
// modified, so checks read it without a mutex.
type index struct {
	// gen is the store generation the snapshot reflects: every lock write
	// up to gen is in it (a reload may also hold some later ones).
	gen int64
	// synced is an instant before which every committed lock write is in
	// the snapshot: the start of the last generation read that matched.
	synced time.Time

	locks   map[string]entry   // by lock id key
	byScope map[string][]entry // by scope key
	scopes  []string           // the keys of byScope, sorted, for subtree scans
}

// entry is what a check needs of a lock.
type entry struct {
	scopeKey  string
	scopeText string // as the lock was created, for messages
	level     Level
}

func entryOf(l Lock) entry {
	scope := l.Scope()
	return entry{scopeKey: scope.Key(), scopeText: scope.String(), level: l.Level}
}

func newIndex(gen int64, synced time.Time, locks map[string]entry) *index {
	x := &index{gen: gen, synced: synced, locks: locks, byScope: make(map[string][]entry)}
	for _, e := range locks {
		x.byScope[e.scopeKey] = append(x.byScope[e.scopeKey], e)
	}
	x.scopes = slices.Sorted(maps.Keys(x.byScope))
	return x
}

// check judges op on target against the snapshot.
func (x *index) check(op Op, target resource.ID, subtree bool) error {
	key := target.Key()
	var found []lockedScope // allocated only when something blocks
	add := func(es []entry) {
		for _, e := range es {
			if blocks(e.level, op) {
				found = append(found, lockedScope{key: e.scopeKey, text: e.scopeText})
			}
		}
	}
	// A scope contains target exactly when its key is target's key cut
	// before a '/' or at its end (resource.ID.Contains), so looking up each
	// cut finds every applicable lock; a cut that is no scope finds none.
	for i := 1; i <= len(key); i++ {
		if i == len(key) || key[i] == '/' {
			add(x.byScope[key[:i]])
		}
	}
	if subtree {
		prefix := key
		if !strings.HasSuffix(prefix, "/") { // the root's key is "/" already
			prefix += "/"
		}
		i, _ := slices.BinarySearch(x.scopes, prefix)
		for ; i < len(x.scopes) && strings.HasPrefix(x.scopes[i], prefix); i++ {
			add(x.byScope[x.scopes[i]])
		}
	}
	return lockedError(op, target, found)
}

// fresh reports whether x may answer a check at now without re-reading
// the generation. A clock that went backwards makes it stale.
func (s *Service) fresh(x *index, now time.Time) bool {
	age := now.Sub(x.synced)
	return age >= 0 && age < s.poll
}

// current returns an index that reflects every lock write committed more
// than PollInterval ago (every write through this Service, always).
func (s *Service) current(ctx context.Context) (*index, error) {
	if x := s.idx.Load(); x != nil && s.fresh(x, s.now()) {
		return x, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.now()
	x := s.idx.Load()
	if x != nil && s.fresh(x, start) { // another check polled meanwhile
		return x, nil
	}
	if x != nil {
		gen, err := s.store.LockGeneration(ctx)
		if err != nil {
			return nil, err
		}
		if gen == x.gen {
			n := *x
			n.synced = start
			s.idx.Store(&n)
			return &n, nil
		}
	}
	return s.reloadLocked(ctx, start)
}

// reloadLocked replaces the index with every lock in the store. s.mu is
// held. start is an instant before the generation is read.
func (s *Service) reloadLocked(ctx context.Context, start time.Time) (*index, error) {
	gen, locks, err := s.store.AllLocks(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]entry, len(locks))
	for _, l := range locks {
		m[l.ID.Key()] = entryOf(l)
	}
	x := newIndex(gen, start, m)
	s.idx.Store(x)
	return x, nil
}

// apply records a write this Service committed as generation gen, before
// Put or Delete returns, so this process's next check sees it. When the
// index has missed a write in between (another replica's, or a concurrent
// one here not yet applied) it reloads instead; when that fails it drops
// the index, and the next check loads it or fails.
func (s *Service) apply(ctx context.Context, gen int64, change func(map[string]entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.idx.Load()
	switch {
	case x == nil, gen <= x.gen:
		// Not loaded yet (the first check loads everything), or a reload
		// already read this write.
	case gen == x.gen+1:
		m := maps.Clone(x.locks)
		change(m)
		s.idx.Store(newIndex(gen, x.synced, m))
	default:
		// The write has committed: finish even if the caller has gone.
		if _, err := s.reloadLocked(context.WithoutCancel(ctx), s.now()); err != nil {
			s.idx.Store(nil)
		}
	}
}
