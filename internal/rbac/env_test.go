package rbac_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

// clock is an injected clock; tests move it, never sleep.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a real SQLite store with a bootstrapped tenant and subscription,
// and a Service over it.
type env struct {
	t      *testing.T
	store  *store.Store
	clock  *clock
	svc    *rbac.Service
	tenant string
	sub    resource.ID
	admin  principal.Principal // the bootstrap user: Owner of sub
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	recs := storetest.SampleRecords()
	if err := s.CommitBootstrap(ctx, recs); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		tenant: recs.Tenant.ID, sub: resource.NewSubscription(recs.Subscription.ID), admin: recs.Principals[0].Principal}
	e.svc = e.service(s)
	return e
}

// service returns another Service over st with the env's clock, as a
// second replica would run.
func (e *env) service(st rbac.Store) *rbac.Service {
	e.t.Helper()
	return e.serviceWith(st, e.store)
}

func (e *env) serviceWith(st rbac.Store, ps rbac.Principals) *rbac.Service {
	e.t.Helper()
	svc, err := rbac.New(rbac.Config{Store: st, Principals: ps, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// user creates a user principal in the env's tenant.
func (e *env) user() principal.Principal {
	e.t.Helper()
	p := principal.Principal{ObjectID: principal.NewID(), TenantID: e.tenant, Kind: principal.User,
		DisplayName: "user", UserName: "user" + principal.NewID()[:8] + "@example.test", Enabled: true, CreatedAt: e.clock.Now()}
	if err := e.store.CreatePrincipal(ctx, p, identity.Credential{PasswordHash: "$argon2id$x"}); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// app creates a service principal in the env's tenant.
func (e *env) app() principal.Principal {
	e.t.Helper()
	p := principal.Principal{ObjectID: principal.NewID(), TenantID: e.tenant, Kind: principal.ServicePrincipal,
		DisplayName: "ci", ClientID: principal.NewID(), Enabled: true, CreatedAt: e.clock.Now()}
	if err := e.store.CreatePrincipal(ctx, p, identity.Credential{}); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// grant assigns role to p at scope through the env's Service.
func (e *env) grant(p principal.Principal, role string, scope resource.ID) rbac.Assignment {
	e.t.Helper()
	a, created, err := e.svc.Create(ctx, e.admin, rbac.Assignment{ID: principal.NewID(), Scope: scope.String(),
		PrincipalID: p.ObjectID, RoleDefinitionID: role})
	if err != nil || !created {
		e.t.Fatalf("grant %s at %s: created=%v, %v", role, scope, created, err)
	}
	return a
}

func mustParse(t *testing.T, s string) resource.ID {
	t.Helper()
	id, err := resource.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return id
}
