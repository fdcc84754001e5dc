package store_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

// The portal's sessions, on SQLite and (when EDGEVAULT_TEST_POSTGRES_URL is
// set) on PostgreSQL. They live beside the store rather than in storetest
// because no domain package declares their interface: the portal does, and
// the server adapts (see store/portal_session.go).
func TestPortalSessions(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(*testing.T) *store.Store
	}{
		{"sqlite", OpenSQLite},
		{"postgres", func(t *testing.T) *store.Store {
			base := pgtest.Base()
			if base == "" {
				t.Skip(pgtest.EnvVar + " not set")
			}
			return openPostgres(t, base)
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(*testing.T, *store.Store)
			}{
				{"RoundTrip", testPortalSessionRoundTrip},
				{"Touch", testPortalSessionTouch},
				{"Delete", testPortalSessionDelete},
				{"Expiry", testPortalSessionExpiry},
				{"KeyShownOnce", testPortalKeyShownOnce},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, db.open(t)) })
			}
		})
	}
}

// sessionAt is a fixed instant, exactly representable in Unix nanoseconds.
var sessionAt = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)

func idHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func newPortalSession(id string, created time.Time) store.PortalSession {
	return store.PortalSession{IDHash: idHash(id), UserObjectID: "oid-" + id, UserName: "alice", TenantID: "tenant-1",
		CreatedAt: created, LastSeenAt: created}
}

func wantPortalKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	if got := errkind.KindOf(err); got != k {
		t.Fatalf("error kind = %v (%v), want %v", got, err, k)
	}
}

func testPortalSessionRoundTrip(t *testing.T, s *store.Store) {
	ctx := context.Background()
	ps := newPortalSession("a", sessionAt)
	if err := s.CreatePortalSession(ctx, ps); err != nil {
		t.Fatal(err)
	}
	wantPortalKind(t, s.CreatePortalSession(ctx, ps), errkind.Conflict)
	got, err := s.PortalSession(ctx, ps.IDHash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ps, got); diff != "" {
		t.Errorf("without operations (-want +got):\n%s", diff)
	}
	_, err = s.PortalSession(ctx, idHash("b"))
	wantPortalKind(t, err, errkind.NotFound)

	// The subscription and the operations come back with the session.
	if err := s.SetPortalSessionSubscription(ctx, ps.IDHash, "sub-1"); err != nil {
		t.Fatal(err)
	}
	ops := []store.PortalOperation{
		{ID: "op2", Kind: "sync", Group: "rg1", Name: "dev1", StatusURL: "https://m/status/op2", ResultURL: "https://m/result/op2"},
		{ID: "op1", Kind: "generate", Group: "rg1", Name: "dev1", StatusURL: "https://m/status/op1", ResultURL: "https://m/result/op1", KeyShown: true},
	}
	for _, op := range ops {
		if err := s.AddPortalSessionOperation(ctx, ps.IDHash, op); err != nil {
			t.Fatal(err)
		}
	}
	wantPortalKind(t, s.AddPortalSessionOperation(ctx, ps.IDHash, ops[0]), errkind.Conflict)
	wantPortalKind(t, s.AddPortalSessionOperation(ctx, idHash("b"), ops[0]), errkind.NotFound)
	wantPortalKind(t, s.SetPortalSessionSubscription(ctx, idHash("b"), "sub-1"), errkind.NotFound)
	got, err = s.PortalSession(ctx, ps.IDHash)
	if err != nil {
		t.Fatal(err)
	}
	ps.Subscription, ps.Operations = "sub-1", []store.PortalOperation{ops[1], ops[0]} // by id
	if diff := cmp.Diff(ps, got); diff != "" {
		t.Errorf("with operations (-want +got):\n%s", diff)
	}
}

func testPortalSessionTouch(t *testing.T, s *store.Store) {
	ctx := context.Background()
	ps := newPortalSession("a", sessionAt)
	if err := s.CreatePortalSession(ctx, ps); err != nil {
		t.Fatal(err)
	}
	later := sessionAt.Add(5 * time.Minute)
	for _, at := range []time.Time{later, sessionAt.Add(time.Minute)} { // never moves back
		if err := s.TouchPortalSession(ctx, ps.IDHash, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.PortalSession(ctx, ps.IDHash)
	if err != nil || !got.LastSeenAt.Equal(later) || !got.CreatedAt.Equal(sessionAt) {
		t.Errorf("after touches: last seen %v, created %v, %v; want %v, %v", got.LastSeenAt, got.CreatedAt, err, later, sessionAt)
	}
	if err := s.TouchPortalSession(ctx, idHash("gone"), later); err != nil {
		t.Errorf("touching a session that is gone: %v", err)
	}
}

func testPortalSessionDelete(t *testing.T, s *store.Store) {
	ctx := context.Background()
	ps := newPortalSession("a", sessionAt)
	ps.Operations = []store.PortalOperation{{ID: "op1", Kind: "generate"}}
	if err := s.CreatePortalSession(ctx, ps); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := s.DeletePortalSession(ctx, ps.IDHash); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.PortalSession(ctx, ps.IDHash)
	wantPortalKind(t, err, errkind.NotFound)
	// Its operations went with it: a new session with the same hash (which
	// cannot happen with random ids, but shows the cascade) has none.
	ps.Operations = nil
	if err := s.CreatePortalSession(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PortalSession(ctx, ps.IDHash); err != nil || len(got.Operations) != 0 {
		t.Errorf("after delete and create: %+v, %v", got.Operations, err)
	}
}

func testPortalSessionExpiry(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const idle, absolute = 30 * time.Minute, 12 * time.Hour
	now := sessionAt.Add(24 * time.Hour)
	fresh := newPortalSession("fresh", now.Add(-time.Hour))
	fresh.LastSeenAt = now.Add(-idle + time.Nanosecond)
	idleOut := newPortalSession("idle", now.Add(-time.Hour))
	idleOut.LastSeenAt = now.Add(-idle) // exactly 30 minutes: expired
	old := newPortalSession("old", now.Add(-absolute))
	old.LastSeenAt = now.Add(-time.Minute) // busy, but 12 hours old
	old.Operations = []store.PortalOperation{{ID: "op1", Kind: "generate"}}
	for _, ps := range []store.PortalSession{fresh, idleOut, old} {
		if err := s.CreatePortalSession(ctx, ps); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredPortalSessions(ctx, now.Add(-idle), now.Add(-absolute))
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredPortalSessions = %d, %v; want 2", n, err)
	}
	if _, err := s.PortalSession(ctx, fresh.IDHash); err != nil {
		t.Errorf("fresh session: %v", err)
	}
	for _, ps := range []store.PortalSession{idleOut, old} {
		_, err := s.PortalSession(ctx, ps.IDHash)
		wantPortalKind(t, err, errkind.NotFound)
	}
}

// Many callers, as on many replicas, claim one operation's key at once:
// exactly one wins. Released, it can be claimed once more.
func testPortalKeyShownOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	ps := newPortalSession("a", sessionAt)
	ps.Operations = []store.PortalOperation{{ID: "op1", Kind: "generate"}}
	if err := s.CreatePortalSession(ctx, ps); err != nil {
		t.Fatal(err)
	}
	claim := func() int64 {
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := s.SetPortalOperationKeyShown(ctx, ps.IDHash, "op1", true)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		return won.Load()
	}
	if n := claim(); n != 1 {
		t.Fatalf("%d callers claimed the key, want 1", n)
	}
	if got, err := s.PortalSession(ctx, ps.IDHash); err != nil || !got.Operations[0].KeyShown {
		t.Fatalf("after the claim: %+v, %v", got.Operations, err)
	}
	// Released (the result could not be read), it can be claimed again, once.
	if ok, err := s.SetPortalOperationKeyShown(ctx, ps.IDHash, "op1", false); err != nil || !ok {
		t.Fatalf("release: %v, %v", ok, err)
	}
	if ok, err := s.SetPortalOperationKeyShown(ctx, ps.IDHash, "op1", false); err != nil || ok {
		t.Fatalf("second release: %v, %v", ok, err)
	}
	if n := claim(); n != 1 {
		t.Fatalf("after release, %d callers claimed the key, want 1", n)
	}
	// Another session's operation, or none, is never claimed.
	for _, tc := range []struct {
		hash []byte
		op   string
	}{{idHash("b"), "op1"}, {ps.IDHash, "op2"}} {
		if ok, err := s.SetPortalOperationKeyShown(ctx, tc.hash, tc.op, true); err != nil || ok {
			t.Errorf("claim %s of another session: %v, %v", tc.op, ok, err)
		}
	}
}
