package envelope

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// populate seals values in three scopes, one with two KEK versions: five
// KEK rows.
func populate(t *testing.T, k *Keyring) []sealed {
	t.Helper()
	var vals []sealed
	for _, scope := range []string{"vault-a", "vault-b", "system"} {
		vals = append(vals, seal(t, k, scope, "n1"))
	}
	if _, err := k.RotateKEK(t.Context(), "vault-a"); err != nil {
		t.Fatal(err)
	}
	vals = append(vals, seal(t, k, "vault-a", "n2"))
	if _, err := k.RotateKEK(t.Context(), "vault-b"); err != nil {
		t.Fatal(err)
	}
	return vals
}

// checkRotated checks the end state of a rotation to id.
func checkRotated(t *testing.T, f *fixture, k *Keyring, id string, vals []sealed) {
	t.Helper()
	if got := k.RootKeyID(); got != id {
		t.Errorf("RootKeyID = %q, want %q", got, id)
	}
	if next, pending := k.RotationPending(); pending {
		t.Errorf("rotation to %q still pending", next)
	}
	if _, err := os.Stat(f.path + nextSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s%s still exists (%v)", f.path, nextSuffix, err)
	}
	raw, err := os.ReadFile(f.path)
	if err != nil || rootKeyID(raw) != id {
		t.Errorf("root key file does not hold key %s (%v)", id, err)
	}
	for _, r := range f.store.all() {
		if r.RootKeyID != id {
			t.Errorf("KEK %q version %d wrapped by %s, want %s", r.Scope, r.Version, r.RootKeyID, id)
		}
	}
	openAll(t, k, vals)
	fresh := f.keyring(t)
	if err := fresh.Resume(t.Context()); err != nil {
		t.Errorf("Resume after rotation: %v", err)
	}
	openAll(t, fresh, vals)
}

func TestRotateRootKey(t *testing.T) {
	f := newFixture(t)
	k := f.keyring(t, func(c *Config) { c.RewrapBatch = 2 })
	vals := populate(t, k)
	before := f.store.all()
	oldID := k.RootKeyID()

	newID, err := k.RotateRootKey(t.Context())
	if err != nil {
		t.Fatalf("RotateRootKey: %v", err)
	}
	if newID == oldID {
		t.Fatal("RotateRootKey kept the old key")
	}
	checkRotated(t, f, k, newID, vals)
	// Only the wrapping changed: same rows, same versions, same CreatedAt.
	if diff := cmp.Diff(before, f.store.all(), cmpopts.IgnoreFields(KEKRecord{}, "Wrapped", "RootKeyID")); diff != "" {
		t.Errorf("rows changed beyond their wrapping (-before +after):\n%s", diff)
	}

	again, err := k.RotateRootKey(t.Context())
	if err != nil || again == newID || again == oldID {
		t.Fatalf("second RotateRootKey = %q, %v; want a third key", again, err)
	}
	checkRotated(t, f, k, again, vals)
}

// crashCase is where a root-key rotation is interrupted, and how the
// restarted process finishes it.
type crashCase struct {
	name        string
	step        string // crash at the nth run of this step...
	nth         int
	failAfter   int64 // ...or when the store has rewrapped this many rows
	wantPending bool
	finish      string // "Resume" or "RotateRootKey"
}

// TestRotateRootKeyCrash interrupts a rotation at every step, restarts on
// the same files and database, checks that everything opens, and finishes
// the rotation.
func TestRotateRootKeyCrash(t *testing.T) {
	tests := []crashCase{
		{name: "after next written", step: stepNextWritten, nth: 1, wantPending: true, finish: "Resume"},
		{name: "after first batch", step: stepRewrapped, nth: 1, wantPending: true, finish: "Resume"},
		{name: "after second batch", step: stepRewrapped, nth: 2, wantPending: true, finish: "RotateRootKey"},
		{name: "store fails after 1 rewrap", failAfter: 1, wantPending: true, finish: "Resume"},
		{name: "store fails after 3 rewraps", failAfter: 3, wantPending: true, finish: "RotateRootKey"},
		{name: "after sweep", step: stepSwept, nth: 1, wantPending: true, finish: "Resume"},
		{name: "after promotion", step: stepPromoted, nth: 1, wantPending: false, finish: "Resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			vals, oldID, newID := crash(t, f, tt)
			if newID == "" || newID == oldID {
				t.Fatalf("rotation to %q from %q", newID, oldID)
			}

			// Restart. Until Resume, every value opens, and new KEKs are
			// wrapped by the new key.
			k := f.keyring(t, func(c *Config) { c.RewrapBatch = 2 })
			next, pending := k.RotationPending()
			if pending != tt.wantPending || (pending && next != newID) {
				t.Fatalf("after restart: RotationPending = %q, %v; want %q, %v", next, pending, newID, tt.wantPending)
			}
			if !pending && k.RootKeyID() != newID {
				t.Fatalf("after restart: RootKeyID = %q, want %q", k.RootKeyID(), newID)
			}
			openAll(t, k, vals)
			vals = append(vals, seal(t, k, "vault-new", "n"))
			if rows, _ := f.store.KEKs(t.Context(), "vault-new"); rows[0].RootKeyID != newID {
				t.Errorf("KEK created during the rotation wrapped by %s, want %s", rows[0].RootKeyID, newID)
			}

			switch tt.finish {
			case "Resume":
				if err := k.Resume(t.Context()); err != nil {
					t.Fatalf("Resume: %v", err)
				}
			case "RotateRootKey":
				if id, err := k.RotateRootKey(t.Context()); err != nil || id != newID {
					t.Fatalf("RotateRootKey = %q, %v; want it to finish the rotation to %q", id, err, newID)
				}
			}
			checkRotated(t, f, k, newID, vals)
		})
	}
}

// crash populates f, then runs a root-key rotation that crashes as tt says.
// It returns the sealed values and the IDs of the old and new root keys.
func crash(t *testing.T, f *fixture, tt crashCase) (vals []sealed, oldID, newID string) {
	t.Helper()
	fs := &faultStore{Store: f.store, failRewrapAfter: tt.failAfter}
	k := f.keyring(t, func(c *Config) { c.Store = fs; c.RewrapBatch = 2 })
	vals = populate(t, k)
	runs := map[string]int{}
	k.testHook = func(step string) error {
		newID, _ = k.RotationPending()
		if runs[step]++; step == tt.step && runs[step] == tt.nth {
			return errCrash
		}
		return nil
	}
	if _, err := k.RotateRootKey(t.Context()); !errors.Is(err, errCrash) {
		t.Fatalf("RotateRootKey: err = %v, want the simulated crash", err)
	}
	return vals, k.RootKeyID(), newID
}

// TestConcurrentResume restarts two processes on an interrupted rotation;
// both finish it, whichever promotes the key first.
func TestConcurrentResume(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFixture(t)
			k := f.keyring(t, func(c *Config) { c.RewrapBatch = 1 })
			vals := populate(t, k)
			k.testHook = func(step string) error {
				if step == stepRewrapped {
					return errCrash
				}
				return nil
			}
			if _, err := k.RotateRootKey(t.Context()); !errors.Is(err, errCrash) {
				t.Fatalf("RotateRootKey: err = %v, want the simulated crash", err)
			}
			newID, _ := k.RotationPending()
			ks := []*Keyring{f.keyring(t, func(c *Config) { c.RewrapBatch = 1 }), f.keyring(t, func(c *Config) { c.RewrapBatch = 1 })}
			errs := make([]error, len(ks))
			var wg sync.WaitGroup
			for i, k := range ks {
				wg.Go(func() { errs[i] = k.Resume(t.Context()) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			checkRotated(t, f, ks[0], newID, vals)
			checkRotated(t, f, ks[1], newID, vals)
		})
	}
}

// TestRotateRootKeyOnline seals and opens, in old and new scopes, while the
// root key rotates twice.
func TestRotateRootKeyOnline(t *testing.T) {
	f := newFixture(t)
	k := f.keyring(t, func(c *Config) { c.RewrapBatch = 1 })
	vals := populate(t, k)
	done := make(chan struct{})
	var (
		mu     sync.Mutex
		more   []sealed
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				scope := fmt.Sprintf("worker-%d-%d", w, i%8) // a new scope every few rounds
				v := sealed{scope: scope, aad: AAD(scope), plaintext: []byte(scope)}
				blob, err := k.Seal(t.Context(), scope, v.aad, v.plaintext)
				if err == nil {
					v.blob = blob
					_, err = k.Open(t.Context(), vals[i%len(vals)].scope, vals[i%len(vals)].aad, vals[i%len(vals)].blob)
				}
				if err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				more = append(more, v)
				mu.Unlock()
			}
		})
	}
	var id string
	for range 2 {
		var err error
		if id, err = k.RotateRootKey(t.Context()); err != nil {
			t.Error(err)
		}
	}
	close(done)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	checkRotated(t, f, k, id, append(vals, more...))
}

// TestReplicaFollowsRotation runs two processes on one key file and
// database: the one that did not rotate keeps working, opens rows rewrapped
// under a key it never loaded, and wraps its new KEKs with the new key.
func TestReplicaFollowsRotation(t *testing.T) {
	f := newFixture(t)
	a, b := f.keyring(t), f.keyring(t)
	vals := populate(t, a)
	openAll(t, b, vals[:1]) // b caches one scope only
	newID, err := a.RotateRootKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b.RootKeyID() == newID {
		t.Fatal("b loaded the new key before needing it; the test proves nothing")
	}
	openAll(t, b, vals)
	after := seal(t, b, "vault-after", "n")
	if rows, _ := f.store.KEKs(t.Context(), "vault-after"); rows[0].RootKeyID != newID {
		t.Errorf("b wrapped a KEK after the rotation with %s, want %s", rows[0].RootKeyID, newID)
	}
	checkRotated(t, f, b, newID, append(vals, after))
}

// TestReplicaJoinsPendingRotation: a process that did not start a rotation
// wraps KEKs it creates during it with the new key.
func TestReplicaJoinsPendingRotation(t *testing.T) {
	f := newFixture(t)
	a, b := f.keyring(t), f.keyring(t)
	vals := populate(t, a)
	a.testHook = func(string) error { return errCrash }
	if _, err := a.RotateRootKey(t.Context()); !errors.Is(err, errCrash) {
		t.Fatalf("RotateRootKey: err = %v, want the simulated crash", err)
	}
	newID, _ := a.RotationPending()
	during := seal(t, b, "vault-during", "n")
	if rows, _ := f.store.KEKs(t.Context(), "vault-during"); rows[0].RootKeyID != newID {
		t.Errorf("b wrapped a KEK during the rotation with %s, want %s", rows[0].RootKeyID, newID)
	}
	c := f.keyring(t)
	if err := c.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	vals = append(vals, during)
	checkRotated(t, f, c, newID, vals)
	openAll(t, b, vals)
}

// TestDamagedKEKRows: a KEK row that is corrupt, or copied onto another
// row, fails to unwrap in Open and in rotation, with kind Internal: the
// database is damaged, the caller did nothing wrong.
func TestDamagedKEKRows(t *testing.T) {
	tests := []struct {
		name   string
		damage func(s *memStore)
	}{
		{"flipped byte", func(s *memStore) {
			s.tamper("vault-a", 1, func(r *KEKRecord) { r.Wrapped[20] ^= 1 })
		}},
		{"truncated", func(s *memStore) {
			s.tamper("vault-a", 1, func(r *KEKRecord) { r.Wrapped = r.Wrapped[:10] })
		}},
		{"copied from another scope", func(s *memStore) {
			var from KEKRecord
			s.tamper("vault-b", 1, func(r *KEKRecord) { from = *r })
			s.tamper("vault-a", 1, func(r *KEKRecord) { r.Wrapped = from.Wrapped })
		}},
		{"copied from another version", func(s *memStore) {
			var from KEKRecord
			s.tamper("vault-a", 2, func(r *KEKRecord) { from = *r })
			s.tamper("vault-a", 1, func(r *KEKRecord) { r.Wrapped = from.Wrapped })
		}},
		{"wrapped by an unknown root key", func(s *memStore) {
			s.tamper("vault-a", 1, func(r *KEKRecord) { r.RootKeyID = "0123456789abcdef" })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			vals := populate(t, f.keyring(t))
			tt.damage(f.store)
			k := f.keyring(t)
			_, err := k.Open(t.Context(), vals[0].scope, vals[0].aad, vals[0].blob)
			if errkind.KindOf(err) != errkind.Internal || errors.Is(err, ErrDecrypt) {
				t.Errorf("Open: err = %v, want kind Internal", err)
			}
			if _, err := k.RotateRootKey(t.Context()); errkind.KindOf(err) != errkind.Internal {
				t.Errorf("RotateRootKey: err = %v, want kind Internal", err)
			}
		})
	}
}

// TestRotationNoProgress: a store that lists rows but never swaps them
// must not make rotation loop forever.
func TestRotationNoProgress(t *testing.T) {
	f := newFixture(t)
	k := f.keyring(t, func(c *Config) { c.Store = &faultStore{Store: f.store, refuseRewrap: true} })
	vals := populate(t, k)
	if _, err := k.RotateRootKey(t.Context()); errkind.KindOf(err) != errkind.Internal {
		t.Fatalf("RotateRootKey: err = %v, want kind Internal", err)
	}
	k = f.keyring(t)
	id, pending := k.RotationPending()
	if !pending {
		t.Fatal("the stopped rotation is not pending")
	}
	openAll(t, k, vals)
	if err := k.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkRotated(t, f, k, id, vals)
}
