package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("Locks", testLocks)
	register("LockScopes", testLockScopes)
	register("LockConcurrentPut", testLockConcurrentPut)
	register("LockConcurrentPutDelete", testLockConcurrentPutDelete)
}

// idComparer compares resource ids by their text, casing included: what a
// store round trip must preserve.
var idComparer = cmp.Comparer(func(a, b resource.ID) bool { return a.String() == b.String() })

func mustID(t *testing.T, s string) resource.ID {
	t.Helper()
	id, err := resource.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return id
}

func testLocks(t *testing.T, open Opener) {
	s := open(t)
	if gen, err := s.LockGeneration(ctx); err != nil || gen != 0 {
		t.Fatalf("fresh store: LockGeneration = %d, %v", gen, err)
	}
	scope := mustID(t, "/subscriptions/S1/resourceGroups/Edge-RG")
	l := lock.Lock{ID: lock.IDFor(scope, "KeepMe"), Level: lock.CanNotDelete, Notes: "do not delete",
		Owners: []lock.Owner{{ApplicationID: "app-1"}, {ApplicationID: "app-2"}}, CreatedBy: "creator",
		CreatedAt: at, UpdatedAt: at}
	stored, created, gen, err := s.PutLock(ctx, l)
	if err != nil || !created || gen != 1 {
		t.Fatalf("PutLock = created %v, gen %d, %v; want created, gen 1", created, gen, err)
	}
	if diff := cmp.Diff(l, stored, idComparer); diff != "" {
		t.Errorf("PutLock returned (-want +got):\n%s", diff)
	}
	got, err := s.LockByID(ctx, mustID(t, "/SUBSCRIPTIONS/s1/resourcegroups/edge-rg/providers/microsoft.authorization/LOCKS/keepme"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got, idComparer); diff != "" {
		t.Errorf("LockByID (-want +got):\n%s", diff)
	}

	// Replacing, with other casing: the id spelling, creator and creation
	// time stay; the rest is replaced.
	later := at.Add(time.Hour)
	repl := lock.Lock{ID: mustID(t, "/subscriptions/s1/resourcegroups/EDGE-RG/providers/Microsoft.Authorization/locks/keepme"),
		Level: lock.ReadOnly, CreatedBy: "someone-else", CreatedAt: later, UpdatedAt: later}
	stored, created, gen, err = s.PutLock(ctx, repl)
	if err != nil || created || gen != 2 {
		t.Fatalf("replace: created %v, gen %d, %v; want replaced, gen 2", created, gen, err)
	}
	want := l
	want.Level, want.Notes, want.Owners, want.UpdatedAt = lock.ReadOnly, "", nil, later
	if diff := cmp.Diff(want, stored, idComparer); diff != "" {
		t.Errorf("replace returned (-want +got):\n%s", diff)
	}
	if got, _ := s.LockByID(ctx, l.ID); !cmp.Equal(want, got, idComparer) {
		t.Errorf("after replace (-want +got):\n%s", cmp.Diff(want, got, idComparer))
	}
	gen, all, err := s.AllLocks(ctx)
	if err != nil || gen != 2 || len(all) != 1 {
		t.Fatalf("AllLocks = %d, %d locks, %v", gen, len(all), err)
	}

	existed, gen, err := s.DeleteLock(ctx, mustID(t, "/subscriptions/s1/resourceGroups/edge-rg/providers/Microsoft.Authorization/locks/KEEPME"))
	if err != nil || !existed || gen != 3 {
		t.Fatalf("DeleteLock = %v, gen %d, %v; want existed, gen 3", existed, gen, err)
	}
	_, err = s.LockByID(ctx, l.ID)
	wantKind(t, err, errkind.NotFound)
	if existed, _, err := s.DeleteLock(ctx, l.ID); err != nil || existed {
		t.Fatalf("second DeleteLock = %v, %v", existed, err)
	}
	if gen, _ := s.LockGeneration(ctx); gen != 3 {
		t.Errorf("deleting nothing moved the generation to %d", gen)
	}
}

// testLockScopes checks the scope queries, including names that LIKE would
// misread ('_' matches any character) and sibling prefixes (rg, rg2).
func testLockScopes(t *testing.T, open Opener) {
	s := open(t)
	const sub = "/subscriptions/s1"
	scopes := []string{
		sub,
		sub + "/resourceGroups/rg",
		sub + "/resourceGroups/rg2",
		sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1",
		sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Insights/diagnosticSettings/d1",
		sub + "/resourceGroups/a_b/providers/Microsoft.KeyVault/vaults/v2",
		sub + "/resourceGroups/axb/providers/Microsoft.KeyVault/vaults/v3",
		"/subscriptions/s2",
	}
	for i, sc := range scopes {
		l := lock.Lock{ID: lock.IDFor(mustID(t, sc), "l"), Level: lock.CanNotDelete, CreatedAt: at, UpdatedAt: at}
		if _, _, gen, err := s.PutLock(ctx, l); err != nil || gen != int64(i+1) {
			t.Fatalf("PutLock %s: gen %d, %v", sc, gen, err)
		}
	}
	scopesOf := func(locks []lock.Lock, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, l := range locks {
			out = append(out, l.Scope().String())
		}
		return out
	}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"at or above vault", scopesOf(s.LocksAtOrAbove(ctx, mustID(t, "/SUBSCRIPTIONS/S1/resourcegroups/RG/providers/microsoft.keyvault/vaults/V1"))),
			[]string{scopes[0], scopes[1], scopes[3]}},
		{"at or above extension", scopesOf(s.LocksAtOrAbove(ctx, mustID(t, scopes[4]))),
			[]string{scopes[0], scopes[1], scopes[3], scopes[4]}},
		{"at or above unlocked group", scopesOf(s.LocksAtOrAbove(ctx, mustID(t, sub+"/resourceGroups/rg3"))), []string{scopes[0]}},
		{"below rg (not rg2)", scopesOf(s.LocksBelow(ctx, mustID(t, sub+"/resourceGroups/RG"))), []string{scopes[3], scopes[4]}},
		{"below a_b (not axb)", scopesOf(s.LocksBelow(ctx, mustID(t, sub+"/resourceGroups/a_b"))), []string{scopes[5]}},
		{"below vault", scopesOf(s.LocksBelow(ctx, mustID(t, scopes[3]))), []string{scopes[4]}},
		{"below extension", scopesOf(s.LocksBelow(ctx, mustID(t, scopes[4]))), []string{}},
		{"below subscription", scopesOf(s.LocksBelow(ctx, mustID(t, sub))),
			[]string{scopes[5], scopes[6], scopes[1], scopes[3], scopes[4], scopes[2]}},
		{"below root", scopesOf(s.LocksBelow(ctx, resource.Root)),
			[]string{scopes[0], scopes[5], scopes[6], scopes[1], scopes[3], scopes[4], scopes[2], scopes[7]}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	gen, all, err := s.AllLocks(ctx)
	if err != nil || gen != int64(len(scopes)) || len(all) != len(scopes) {
		t.Fatalf("AllLocks = gen %d, %d locks, %v", gen, len(all), err)
	}
}

// testLockConcurrentPut races creators of one lock: exactly one creates
// it, every write gets its own generation.
func testLockConcurrentPut(t *testing.T, open Opener) {
	s := open(t)
	id := lock.IDFor(mustID(t, "/subscriptions/s1"), "race")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		creates int
		gens    = map[int64]bool{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created, gen, err := s.PutLock(ctx, lock.Lock{ID: id, Level: lock.ReadOnly, CreatedAt: at, UpdatedAt: at})
			if err != nil {
				t.Errorf("PutLock: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if created {
				creates++
			}
			gens[gen] = true
		}()
	}
	wg.Wait()
	if creates != 1 || len(gens) != n {
		t.Fatalf("%d creations, %d distinct generations; want 1 and %d", creates, len(gens), n)
	}
	if gen, _ := s.LockGeneration(ctx); gen != n {
		t.Errorf("LockGeneration = %d, want %d", gen, n)
	}
}

// testLockConcurrentPutDelete races puts and deletes of one lock: every
// write takes the generation row first, so none deadlocks or fails, and
// each write that changed something got a generation of its own.
func testLockConcurrentPutDelete(t *testing.T, open Opener) {
	s := open(t)
	id := lock.IDFor(mustID(t, "/subscriptions/s1/resourceGroups/rg"), "flip")
	var (
		wg      sync.WaitGroup
		changes atomic.Int64
	)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if (w+i)%2 == 0 {
					if _, _, _, err := s.PutLock(ctx, lock.Lock{ID: id, Level: lock.CanNotDelete, CreatedAt: at, UpdatedAt: at}); err != nil {
						t.Errorf("PutLock: %v", err)
						return
					}
					changes.Add(1)
				} else {
					existed, _, err := s.DeleteLock(ctx, id)
					if err != nil {
						t.Errorf("DeleteLock: %v", err)
						return
					}
					if existed {
						changes.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if gen, err := s.LockGeneration(ctx); err != nil || gen != changes.Load() {
		t.Errorf("LockGeneration = %d, %v; want %d", gen, err, changes.Load())
	}
}

var _ lock.Store = (*store.Store)(nil)
