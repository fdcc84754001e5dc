package envelope

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
)

// memStore is the reference Store: the contract in store.go, in memory.
type memStore struct {
	mu   sync.Mutex
	rows map[kekRow]KEKRecord
}

func newMemStore() *memStore { return &memStore{rows: make(map[kekRow]KEKRecord)} }

// clone copies Wrapped, so that neither side can alias the other's bytes,
// as with a real database.
func clone(r KEKRecord) KEKRecord {
	r.Wrapped = bytes.Clone(r.Wrapped)
	return r
}

func (s *memStore) KEKs(_ context.Context, scope string) ([]KEKRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []KEKRecord{}
	for id, r := range s.rows {
		if id.scope == scope {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, func(a, b KEKRecord) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

func (s *memStore) InsertKEK(_ context.Context, r KEKRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := kekRow{r.Scope, r.Version}
	if _, ok := s.rows[id]; ok {
		return errkind.E(errkind.Conflict, "KEK %q version %d exists", r.Scope, r.Version)
	}
	s.rows[id] = clone(r)
	return nil
}

func (s *memStore) KEKsNotWrappedBy(_ context.Context, rootKeyID string, limit int) ([]KEKRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KEKRecord
	for _, r := range s.rows {
		if r.RootKeyID != rootKeyID {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, compareRecords)
	return out[:min(limit, len(out))], nil
}

func (s *memStore) RewrapKEK(_ context.Context, scope string, version int, oldID, newID string, wrapped []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := kekRow{scope, version}
	r, ok := s.rows[id]
	if !ok || r.RootKeyID != oldID {
		return false, nil
	}
	r.RootKeyID, r.Wrapped = newID, bytes.Clone(wrapped)
	s.rows[id] = r
	return true, nil
}

// all returns every row, ordered by (Scope, Version).
func (s *memStore) all() []KEKRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KEKRecord
	for _, r := range s.rows {
		out = append(out, clone(r))
	}
	slices.SortFunc(out, compareRecords)
	return out
}

func compareRecords(a, b KEKRecord) int {
	return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Version, b.Version))
}

// faultStore wraps a Store to inject faults and interleavings.
type faultStore struct {
	Store
	failRewrapAfter int64        // RewrapKEK fails once this many calls succeeded; 0: never
	rewraps         atomic.Int64 // successful RewrapKEK calls
	beforeInsert    func()       // runs once, before the next InsertKEK
	failKEKs        error        // KEKs returns this when set
	refuseRewrap    bool         // RewrapKEK reports false, breaking the contract
}

var errCrash = errors.New("simulated crash")

func (s *faultStore) RewrapKEK(ctx context.Context, scope string, version int, oldID, newID string, wrapped []byte) (bool, error) {
	if s.failRewrapAfter > 0 && s.rewraps.Load() >= s.failRewrapAfter {
		return false, errCrash
	}
	if s.refuseRewrap {
		return false, nil
	}
	ok, err := s.Store.RewrapKEK(ctx, scope, version, oldID, newID, wrapped)
	if err == nil {
		s.rewraps.Add(1)
	}
	return ok, err
}

func (s *faultStore) InsertKEK(ctx context.Context, r KEKRecord) error {
	if f := s.beforeInsert; f != nil {
		s.beforeInsert = nil
		f()
	}
	return s.Store.InsertKEK(ctx, r)
}

func (s *faultStore) KEKs(ctx context.Context, scope string) ([]KEKRecord, error) {
	if s.failKEKs != nil {
		return nil, s.failKEKs
	}
	return s.Store.KEKs(ctx, scope)
}

// fakeClock is an injected clock: tests move time, never sleep.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is one deployment: a key directory and a database. Each call to
// keyring starts a process on it.
type fixture struct {
	path  string
	store *memStore
	clock *fakeClock
}

func newFixture(t testing.TB) *fixture {
	return &fixture{
		path:  filepath.Join(t.TempDir(), "root.key"),
		store: newMemStore(),
		clock: &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
}

func (f *fixture) keyring(t testing.TB, opts ...func(*Config)) *Keyring {
	t.Helper()
	cfg := Config{RootKeyFile: f.path, Store: f.store, Now: f.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

// sealed is a value sealed in a test, with what it takes to open it.
type sealed struct {
	scope     string
	aad       []byte
	plaintext []byte
	blob      []byte
}

func seal(t testing.TB, k *Keyring, scope, name string) sealed {
	t.Helper()
	v := sealed{scope: scope, aad: AAD("secret", scope, name, "1"), plaintext: []byte("value of " + name)}
	var err error
	if v.blob, err = k.Seal(context.Background(), scope, v.aad, v.plaintext); err != nil {
		t.Fatalf("Seal(%s, %s): %v", scope, name, err)
	}
	return v
}

func openAll(t testing.TB, k *Keyring, vals []sealed) {
	t.Helper()
	for _, v := range vals {
		got, err := k.Open(context.Background(), v.scope, v.aad, v.blob)
		if err != nil {
			t.Errorf("Open(%s, %q): %v", v.scope, v.plaintext, err)
		} else if !bytes.Equal(got, v.plaintext) {
			t.Errorf("Open(%s) = %q, want %q", v.scope, got, v.plaintext)
		}
	}
}

func blobVersion(t testing.TB, blob []byte) int {
	t.Helper()
	b, err := parseBlob(blob)
	if err != nil {
		t.Fatalf("parseBlob: %v", err)
	}
	return b.kekVersion
}

// tamper rewrites the stored row (scope, version) with f.
func (s *memStore) tamper(scope string, version int, f func(*KEKRecord)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := kekRow{scope, version}
	r := s.rows[id]
	f(&r)
	s.rows[id] = r
}
