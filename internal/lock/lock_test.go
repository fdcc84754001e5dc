package lock_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

var ctx = context.Background()

// Scopes used throughout: a subscription, two sibling groups whose names
// share a prefix, a vault, a child resource and an extension resource of
// the vault.
const (
	sub    = "/subscriptions/S1"
	rg     = sub + "/resourceGroups/rg"
	rg2    = sub + "/resourceGroups/rg2"
	vault  = rg + "/providers/Microsoft.KeyVault/vaults/v1"
	secret = vault + "/secrets/s1"
	diag   = vault + "/providers/Microsoft.Insights/diagnosticSettings/d1"
)

var admin = principal.Principal{ObjectID: "11111111-2222-3333-4444-555555555555", Kind: principal.User}

// clock is an injected clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(ctx, store.Config{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func newService(tb testing.TB, st lock.Store, c *clock) *lock.Service {
	tb.Helper()
	s, err := lock.New(lock.Config{Store: st, Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func id(tb testing.TB, s string) resource.ID {
	tb.Helper()
	id, err := resource.Parse(s)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return id
}

func put(t *testing.T, s *lock.Service, scope, name string, level lock.Level) lock.Lock {
	t.Helper()
	l, _, err := s.Put(ctx, admin, id(t, scope), name, lock.Spec{Level: level})
	if err != nil {
		t.Fatalf("Put %s/%s: %v", scope, name, err)
	}
	return l
}

func wantKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	if got := errkind.KindOf(err); got != k {
		t.Fatalf("error kind = %v (%v), want %v", got, err, k)
	}
}

var idComparer = cmp.Comparer(func(a, b resource.ID) bool { return a.String() == b.String() })

func TestPutValidation(t *testing.T) {
	s := newService(t, openStore(t), newClock())
	ok := lock.Spec{Level: lock.CanNotDelete}
	tests := []struct {
		name  string
		scope resource.ID
		lock  string
		spec  lock.Spec
	}{
		{"notes over 512 characters", id(t, rg), "l", lock.Spec{Level: lock.CanNotDelete, Notes: strings.Repeat("n", 513)}},
		{"notes over 512 runes", id(t, rg), "l", lock.Spec{Level: lock.ReadOnly, Notes: strings.Repeat("é", 513)}},
		{"no level", id(t, rg), "l", lock.Spec{}},
		{"NotSpecified", id(t, rg), "l", lock.Spec{Level: lock.NotSpecified}},
		{"unknown level", id(t, rg), "l", lock.Spec{Level: "Frozen"}},
		{"empty name", id(t, rg), "", ok},
		{"name with slash", id(t, rg), "a/b", ok},
		{"name with question mark", id(t, rg), "a?", ok},
		{"name with percent", id(t, rg), "a%20", ok},
		{"name over 260", id(t, rg), strings.Repeat("x", 261), ok},
		{"tenant root", resource.Root, "l", ok},
		{"a lock as scope", lock.IDFor(id(t, rg), "other"), "l", ok},
		{"owner without application id", id(t, rg), "l", lock.Spec{Level: lock.ReadOnly, Owners: []lock.Owner{{}}}},
		{"too many owners", id(t, rg), "l", lock.Spec{Level: lock.ReadOnly, Owners: make([]lock.Owner, lock.MaxOwners+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Put(ctx, admin, tt.scope, tt.lock, tt.spec)
			wantKind(t, err, errkind.Invalid)
			if errkind.Message(err) == "" {
				t.Error("no client message")
			}
		})
	}
	// Nothing was written.
	if got, err := s.List(ctx, lock.ListOptions{Scope: resource.Root}); err != nil || len(got) != 0 {
		t.Fatalf("after rejected puts: %d locks, %v", len(got), err)
	}
	if err := s.CheckSubtree(ctx, lock.Delete, resource.Root); err != nil {
		t.Fatalf("after rejected puts: %v", err)
	}

	// The limits themselves are allowed; the level is matched
	// case-insensitively and stored in its wire spelling.
	l, created, err := s.Put(ctx, admin, id(t, rg), strings.Repeat("x", 260),
		lock.Spec{Level: "readonly", Notes: strings.Repeat("é", 512), Owners: []lock.Owner{{ApplicationID: "app"}}})
	if err != nil || !created || l.Level != lock.ReadOnly {
		t.Fatalf("Put at the limits = %+v, %v, %v", l, created, err)
	}
}

func TestPutGetDelete(t *testing.T) {
	c := newClock()
	s := newService(t, openStore(t), c)
	t0 := c.Now()
	owners := []lock.Owner{{ApplicationID: "app-1"}}
	l, created, err := s.Put(ctx, admin, id(t, vault), "KeepMe", lock.Spec{Level: lock.CanNotDelete, Notes: "n", Owners: owners})
	if err != nil || !created {
		t.Fatalf("first Put = %v, %v; want created", created, err)
	}
	want := lock.Lock{ID: id(t, vault+"/providers/Microsoft.Authorization/locks/KeepMe"), Level: lock.CanNotDelete,
		Notes: "n", Owners: owners, CreatedBy: admin.ObjectID, CreatedAt: t0, UpdatedAt: t0}
	if diff := cmp.Diff(want, l, idComparer); diff != "" {
		t.Errorf("Put (-want +got):\n%s", diff)
	}
	if !l.Scope().Equal(id(t, vault)) || l.Name() != "KeepMe" {
		t.Errorf("Scope, Name = %s, %s", l.Scope(), l.Name())
	}

	// The same PUT again, other casing, later: replaced (200), not created.
	c.Advance(time.Minute)
	other := principal.Principal{ObjectID: "99999999-2222-3333-4444-555555555555"}
	l, created, err = s.Put(ctx, other, id(t, strings.ToLower(vault)), "keepme", lock.Spec{Level: lock.ReadOnly})
	if err != nil || created {
		t.Fatalf("second Put = %v, %v; want replaced", created, err)
	}
	want.Level, want.Notes, want.Owners, want.UpdatedAt = lock.ReadOnly, "", nil, t0.Add(time.Minute)
	if diff := cmp.Diff(want, l, idComparer); diff != "" {
		t.Errorf("replace (-want +got):\n%s", diff)
	}
	got, err := s.Get(ctx, id(t, strings.ToUpper(vault[:20])+vault[20:]), "KEEPME")
	if err != nil || !cmp.Equal(want, got, idComparer) {
		t.Fatalf("Get: %v\n%s", err, cmp.Diff(want, got, idComparer))
	}

	existed, err := s.Delete(ctx, id(t, vault), "keepMe")
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	existed, err = s.Delete(ctx, id(t, vault), "keepMe")
	if err != nil || existed {
		t.Fatalf("second Delete = %v, %v; want nothing to delete", existed, err)
	}
	_, err = s.Get(ctx, id(t, vault), "KeepMe")
	wantKind(t, err, errkind.NotFound)
	if !errors.Is(err, lock.ErrNotFound) {
		t.Errorf("Get error %v is not ErrNotFound", err)
	}
	_, err = s.Get(ctx, id(t, vault), "bad/name")
	wantKind(t, err, errkind.Invalid)
}

func TestList(t *testing.T) {
	s := newService(t, openStore(t), newClock())
	// Put in an order unlike the expected one.
	for _, l := range []struct{ scope, name string }{
		{vault, "b"}, {rg2, "a"}, {diag, "a"}, {vault, "A2"}, {rg, "a"}, {sub, "z"}, {"/subscriptions/S2", "a"},
	} {
		put(t, s, l.scope, l.name, lock.CanNotDelete)
	}
	names := func(opt lock.ListOptions) []string {
		t.Helper()
		ls, err := s.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range ls {
			out = append(out, strings.TrimPrefix(l.Scope().String(), sub)+":"+l.Name())
		}
		return out
	}
	tests := []struct {
		opt  lock.ListOptions
		want []string
	}{
		{lock.ListOptions{Scope: id(t, sub)},
			[]string{":z", "/resourceGroups/rg:a", "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:A2",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:b",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Insights/diagnosticSettings/d1:a",
				"/resourceGroups/rg2:a"}},
		{lock.ListOptions{Scope: id(t, sub), AtScope: true}, []string{":z"}},
		{lock.ListOptions{Scope: id(t, strings.ToUpper(rg))},
			[]string{":z", "/resourceGroups/rg:a", "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:A2",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:b",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Insights/diagnosticSettings/d1:a"}},
		{lock.ListOptions{Scope: id(t, rg), AtScope: true}, []string{":z", "/resourceGroups/rg:a"}},
		{lock.ListOptions{Scope: id(t, diag), AtScope: true},
			[]string{":z", "/resourceGroups/rg:a", "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:A2",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:b",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Insights/diagnosticSettings/d1:a"}},
		{lock.ListOptions{Scope: id(t, secret)},
			[]string{":z", "/resourceGroups/rg:a", "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:A2",
				"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1:b"}},
		{lock.ListOptions{Scope: id(t, sub+"/resourceGroups/r")}, []string{":z"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, names(tt.opt)); diff != "" {
			t.Errorf("List(%s, atScope %v) (-want +got):\n%s", tt.opt.Scope, tt.opt.AtScope, diff)
		}
	}
}

func TestNewRequiresStore(t *testing.T) {
	if _, err := lock.New(lock.Config{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
}
