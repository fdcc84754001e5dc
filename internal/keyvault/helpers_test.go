package keyvault_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// purger records the vaults whose secrets were purged, and fails for the
// uids in fail.
type purger struct {
	mu     sync.Mutex
	purged []string
	fail   map[string]bool
}

func (p *purger) PurgeVaultSecrets(_ context.Context, uid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail[uid] {
		return errkind.E(errkind.Unavailable, "secret store unavailable")
	}
	p.purged = append(p.purged, uid)
	return nil
}

func (p *purger) has(uid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.purged, uid)
}

// env is a vault service over a real SQLite store, with a second tenant
// and subscription (other, otherSub) beside the bootstrapped ones.
type env struct {
	store    *store.Store
	kv       *keyvault.Service
	locks    *lock.Service
	clock    *clock
	secrets  *purger
	caller   principal.Principal
	sub      string
	other    principal.Principal
	otherSub string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := storetest.SampleRecords()
	if err := st.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, secrets: &purger{fail: map[string]bool{}},
		caller: r.Principals[0].Principal, sub: r.Subscription.ID,
		other:    principal.Principal{ObjectID: principal.NewID(), TenantID: principal.NewID()},
		otherSub: principal.NewID()}
	addSubscription(t, filepath.Join(dir, "edgevault.db"), e.other.TenantID, e.otherSub)
	if e.locks, err = lock.New(lock.Config{Store: st, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.kv, err = keyvault.New(keyvault.Config{Store: st, Locks: e.locks, Secrets: e.secrets, Now: e.clock.Now,
		VaultURI: func(name string) string { return "https://" + name + ".vault.localhost:8443/" }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// addSubscription adds a tenant and a subscription in it, which the store
// has no method for (bootstrap makes the only ones a server has today).
func addSubscription(t *testing.T, path, tenant, sub string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO tenants (id, display_name, created_at) VALUES ($1, 'Other', 0)`, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO subscriptions (id, tenant_id, display_name, state, created_at) VALUES ($1, $2, 'Other', 'Enabled', 0)`,
		sub, tenant); err != nil {
		t.Fatal(err)
	}
}

func vaultID(sub, group, name string) resource.ID {
	return resource.NewResourceGroup(sub, group).Child("Microsoft.KeyVault", "vaults", name)
}

func (e *env) id(group, name string) resource.ID { return vaultID(e.sub, group, name) }

func ptr[T any](v T) *T { return &v }

// spec is a valid create body for the bootstrap tenant, granting the
// caller get and list on secrets.
func (e *env) spec() keyvault.Spec {
	return keyvault.Spec{Location: "westeurope", Tags: map[string]string{"env": "test"},
		Properties: keyvault.Properties{TenantID: ptr(e.caller.TenantID), SKUFamily: ptr("A"), SKU: ptr("standard"),
			Policies: []keyvault.AccessPolicy{e.policy(e.caller.ObjectID, "get", "list")}}}
}

func (e *env) policy(objectID string, secrets ...string) keyvault.AccessPolicy {
	return keyvault.AccessPolicy{TenantID: e.caller.TenantID, ObjectID: objectID,
		Permissions: keyvault.Permissions{Secrets: secrets}}
}

func (e *env) create(t *testing.T, group, name string, edit func(*keyvault.Spec)) keyvault.Vault {
	t.Helper()
	sp := e.spec()
	if edit != nil {
		edit(&sp)
	}
	v, created, err := e.kv.Put(ctx, e.caller, e.id(group, name), sp)
	if err != nil || !created {
		t.Fatalf("Put(%s) = created %v, %v", name, created, err)
	}
	return v
}

func (e *env) lock(t *testing.T, scope resource.ID, level lock.Level) {
	t.Helper()
	if _, _, err := e.locks.Put(ctx, e.caller, scope, "l-"+string(level), lock.Spec{Level: level}); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, kind errkind.Kind, sentinel error) {
	t.Helper()
	if errkind.KindOf(err) != kind || (sentinel != nil && !errors.Is(err, sentinel)) {
		t.Fatalf("error = %v (kind %v), want kind %v and %v", err, errkind.KindOf(err), kind, sentinel)
	}
}
