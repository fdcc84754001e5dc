package lock_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/resource"
)

func message(target, verb string, scopes ...string) string {
	return fmt.Sprintf("The scope '%s' cannot perform %s operation because following scope(s) are locked: '%s'. Please remove the lock and try again.",
		target, verb, strings.Join(scopes, "','"))
}

// checkers returns the index-backed Service and its uncached twin: every
// expectation must hold for both.
func checkers(s *lock.Service) map[string]lock.Checker {
	return map[string]lock.Checker{"cached": s, "uncached": s.Uncached()}
}

// TestCheckMatrix places one lock at a time on each scope, at each level,
// and asks every op on every target. Which targets a lock covers is
// written out by hand, not derived from resource.ID.Contains.
func TestCheckMatrix(t *testing.T) {
	s := newService(t, openStore(t), newClock())
	covers := map[string][]string{
		sub:   {sub, rg, rg2, vault, secret, diag},
		rg:    {rg, vault, secret, diag},
		vault: {vault, secret, diag},
		diag:  {diag},
	}
	targets := []string{sub, rg, rg2, vault, secret, diag}
	for _, at := range []string{sub, rg, vault, diag} {
		for _, level := range []lock.Level{lock.CanNotDelete, lock.ReadOnly} {
			put(t, s, at, "l", level)
			for _, target := range targets {
				for _, op := range []lock.Op{lock.Write, lock.Delete, lock.Action} {
					blocked := slices.Contains(covers[at], target) && (level == lock.ReadOnly || op == lock.Delete)
					verb := "write"
					if op == lock.Delete {
						verb = "delete"
					}
					for name, c := range checkers(s) {
						err := c.Check(ctx, op, id(t, target))
						switch {
						case !blocked && err != nil:
							t.Errorf("%s: %s lock at %s, %v %s: %v; want allowed", name, level, at, op, target, err)
						case blocked && (errkind.KindOf(err) != errkind.Locked || errkind.Message(err) != message(target, verb, at)):
							t.Errorf("%s: %s lock at %s, %v %s: got %v (%v)\nwant Locked %q", name, level, at, op, target,
								errkind.KindOf(err), err, message(target, verb, at))
						}
					}
				}
			}
			if _, err := s.Delete(ctx, id(t, at), "l"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestCheckCombinations(t *testing.T) {
	s := newService(t, openStore(t), newClock())
	// Created with other casing than the targets below: scopes compare
	// case-insensitively, and messages name the scope as the lock has it.
	put(t, s, "/subscriptions/s1/resourcegroups/RG", "nodelete", lock.CanNotDelete)
	put(t, s, "/SUBSCRIPTIONS/s1/resourceGroups/RG", "nodelete-too", lock.CanNotDelete)
	const rgUpper = "/subscriptions/s1/resourceGroups/RG" // keywords in their canonical spelling
	put(t, s, vault, "frozen", lock.ReadOnly)
	put(t, s, sub+"/resourceGroups/a_b/providers/Microsoft.KeyVault/vaults/v2", "l", lock.CanNotDelete)

	const raAtRG = rg + "/providers/Microsoft.Authorization/roleAssignments/ra1"
	tests := []struct {
		name    string
		subtree bool
		op      lock.Op
		target  string
		want    string // "" for allowed
	}{
		{"write on group under CanNotDelete", false, lock.Write, rg, ""},
		{"action on group under CanNotDelete", false, lock.Action, rg, ""},
		{"delete group: each scope named once", false, lock.Delete, rg, message(rg, "delete", rgUpper)},
		{"most restrictive wins on write", false, lock.Write, vault, message(vault, "write", vault)},
		{"delete vault: both scopes, outermost first", false, lock.Delete, vault, message(vault, "delete", rgUpper, vault)},
		{"POST under ReadOnly", false, lock.Action, secret, message(secret, "write", vault)},
		{"extension of locked vault", false, lock.Write, diag, message(diag, "write", vault)},
		{"role assignment at locked group", false, lock.Delete, raAtRG, message(raAtRG, "delete", rgUpper)},
		{"sibling group with longer name", false, lock.Delete, rg2, ""},
		{"upper-case target", false, lock.Delete, strings.ToUpper(rg), message("/subscriptions/S1/resourceGroups/RG", "delete", rgUpper)},
		{"lock ids are exempt", false, lock.Delete, vault + "/providers/Microsoft.Authorization/locks/frozen", ""},
		{"lock ids are exempt from subtree", true, lock.Delete, vault + "/providers/Microsoft.Authorization/locks/frozen", ""},
		{"subtree: locked vault inside group", true, lock.Write, rg, message(rg, "write", vault)},
		{"subtree: group and vault", true, lock.Delete, rg, message(rg, "delete", rgUpper, vault)},
		{"subtree: subscription", true, lock.Delete, sub,
			message(sub, "delete", sub+"/resourceGroups/a_b/providers/Microsoft.KeyVault/vaults/v2", rgUpper, vault)},
		{"subtree: sibling group", true, lock.Delete, rg2, ""},
		{"subtree: underscore is no wildcard", true, lock.Delete, sub + "/resourceGroups/axb", ""},
		{"subtree: underscore group", true, lock.Delete, sub + "/resourceGroups/a_b",
			message(sub+"/resourceGroups/a_b", "delete", sub+"/resourceGroups/a_b/providers/Microsoft.KeyVault/vaults/v2")},
		{"subtree: other subscription", true, lock.Delete, "/subscriptions/s2", ""},
		{"subtree: root", true, lock.Action, "/", message("/", "write", vault)},
	}
	for _, tt := range tests {
		for name, c := range checkers(s) {
			check := c.Check
			if tt.subtree {
				check = c.CheckSubtree
			}
			err := check(ctx, tt.op, id(t, tt.target))
			if got := errkind.Message(err); got != tt.want || (tt.want != "" && errkind.KindOf(err) != errkind.Locked) {
				t.Errorf("%s, %s:\n got %v %q\nwant %q", tt.name, name, errkind.KindOf(err), got, tt.want)
			}
		}
	}

	// Evaluate is the same rule over locks the caller read.
	all, err := s.List(ctx, lock.ListOptions{Scope: resource.Root})
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Evaluate(lock.Delete, id(t, rg), true, all); errkind.Message(err) != message(rg, "delete", rgUpper, vault) {
		t.Errorf("Evaluate subtree = %v", err)
	}
	if err := lock.Evaluate(lock.Write, id(t, rg), false, all); err != nil {
		t.Errorf("Evaluate write on group = %v", err)
	}
}

func TestCheckRejectsInvalidOp(t *testing.T) {
	s := newService(t, openStore(t), newClock())
	for name, c := range checkers(s) {
		if err := c.Check(ctx, 0, id(t, rg)); errkind.KindOf(err) != errkind.Internal {
			t.Errorf("%s: Check with the zero op = %v, want Internal", name, err)
		}
	}
}

// TestOtherReplicaWithinWindow runs two Services on one database, as two
// replicas would: a lock written through one is enforced by the other
// once PollInterval has passed, and at once by the writer itself.
func TestOtherReplicaWithinWindow(t *testing.T) {
	st, c := openStore(t), newClock()
	a, b := newService(t, st, c), newService(t, st, c)
	if err := b.Check(ctx, lock.Delete, id(t, vault)); err != nil { // b loads its (empty) index
		t.Fatal(err)
	}
	put(t, a, rg, "l", lock.CanNotDelete)
	wantKind(t, a.Check(ctx, lock.Delete, id(t, vault)), errkind.Locked)

	c.Advance(lock.DefaultPollInterval - time.Millisecond)
	if err := b.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatalf("inside the window b answers from its index: %v", err)
	}
	wantKind(t, b.Uncached().Check(ctx, lock.Delete, id(t, vault)), errkind.Locked)
	c.Advance(time.Millisecond)
	wantKind(t, b.Check(ctx, lock.Delete, id(t, vault)), errkind.Locked)

	// Removal travels the same way.
	if _, err := a.Delete(ctx, id(t, rg), "l"); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatalf("writer still blocked after its delete: %v", err)
	}
	wantKind(t, b.Check(ctx, lock.Delete, id(t, vault)), errkind.Locked)
	c.Advance(lock.DefaultPollInterval)
	if err := b.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestWriteAfterForeignWrite: when a Service writes after another replica
// did, its generation shows the gap and it reloads, so the foreign lock is
// enforced here at once too.
func TestWriteAfterForeignWrite(t *testing.T) {
	st, c := openStore(t), newClock()
	a, b := newService(t, st, c), newService(t, st, c)
	if err := a.Check(ctx, lock.Write, id(t, vault)); err != nil {
		t.Fatal(err)
	}
	put(t, b, vault, "foreign", lock.ReadOnly)
	put(t, a, rg2, "own", lock.CanNotDelete)
	wantKind(t, a.Check(ctx, lock.Write, id(t, vault)), errkind.Locked)
}

// faultyStore fails generation reads on demand.
type faultyStore struct {
	lock.Store
	fail atomic.Bool
}

func (f *faultyStore) LockGeneration(ctx2 context.Context) (int64, error) {
	if f.fail.Load() {
		return 0, errkind.E(errkind.Unavailable, "database unreachable")
	}
	return f.Store.LockGeneration(ctx2)
}

func TestCheckFailsClosed(t *testing.T) {
	c := newClock()
	f := &faultyStore{Store: openStore(t)}
	s := newService(t, f, c)
	if err := s.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatal(err)
	}
	f.fail.Store(true)
	if err := s.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatalf("inside the window the index answers: %v", err)
	}
	c.Advance(lock.DefaultPollInterval)
	wantKind(t, s.Check(ctx, lock.Delete, id(t, vault)), errkind.Unavailable)
	f.fail.Store(false)
	if err := s.Check(ctx, lock.Delete, id(t, vault)); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestConcurrentWritesAndChecks races lock writes on two Services against
// checks (for the race detector), then requires the writer's index to
// agree with the database.
func TestConcurrentWritesAndChecks(t *testing.T) {
	st, c := openStore(t), newClock()
	a, b := newService(t, st, c), newService(t, st, c)
	var wg sync.WaitGroup
	for w, s := range []*lock.Service{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				scope := fmt.Sprintf("%s/resourceGroups/g%d", sub, i%5)
				name := fmt.Sprintf("w%d", w)
				if i%3 == 2 {
					if _, err := s.Delete(ctx, id(t, scope), name); err != nil {
						t.Error(err)
					}
				} else if _, _, err := s.Put(ctx, admin, id(t, scope), name, lock.Spec{Level: lock.ReadOnly}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				err := a.Check(ctx, lock.Write, id(t, fmt.Sprintf("%s/resourceGroups/g%d/providers/X.Y/z/n", sub, i%5)))
				if err != nil && errkind.KindOf(err) != errkind.Locked {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c.Advance(lock.DefaultPollInterval) // b's writes may still be inside a's window
	for i := range 5 {
		target := id(t, fmt.Sprintf("%s/resourceGroups/g%d", sub, i))
		cached, uncached := a.Check(ctx, lock.Write, target), a.Uncached().Check(ctx, lock.Write, target)
		if errkind.Message(cached) != errkind.Message(uncached) {
			t.Errorf("g%d: index says %v, database says %v", i, cached, uncached)
		}
	}
}
