package rbac_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
)

// TestAuthorizeRoles is the role × action matrix, each role held at the
// subscription and exercised on a vault inside it.
func TestAuthorizeRoles(t *testing.T) {
	e := newEnv(t)
	roles := []string{rbac.Owner, rbac.Contributor, rbac.Reader, rbac.UserAccessAdministrator}
	holders := map[string]principal.Principal{}
	for _, r := range roles {
		holders[r] = e.user()
		e.grant(holders[r], r, e.sub)
	}
	vault := resource.NewResourceGroup(e.sub.SubscriptionID(), "rg").Child("Microsoft.KeyVault", "vaults", "v1")
	const Y, N = true, false
	for _, tt := range []struct {
		action string
		want   [4]bool // Owner, Contributor, Reader, User Access Administrator
	}{
		{"Microsoft.Resources/subscriptions/resourceGroups/read", [4]bool{Y, Y, Y, Y}},
		{"Microsoft.Resources/subscriptions/resourceGroups/write", [4]bool{Y, Y, N, N}},
		{"Microsoft.Resources/subscriptions/resourceGroups/delete", [4]bool{Y, Y, N, N}},
		{"Microsoft.Authorization/locks/read", [4]bool{Y, Y, Y, Y}},
		{"Microsoft.Authorization/locks/write", [4]bool{Y, N, N, Y}},
		{"Microsoft.Authorization/locks/delete", [4]bool{Y, N, N, Y}},
		{"Microsoft.Authorization/roleAssignments/read", [4]bool{Y, Y, Y, Y}},
		{"Microsoft.Authorization/roleAssignments/write", [4]bool{Y, N, N, Y}},
		{"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", [4]bool{Y, N, N, Y}},
		{"Microsoft.Authorization/roleAssignments/delete", [4]bool{Y, N, N, Y}},
		{"Microsoft.Authorization/elevateAccess/Action", [4]bool{Y, N, N, Y}},
		{"Microsoft.KeyVault/register/action", [4]bool{Y, Y, N, N}},
		{"Microsoft.KeyVault/vaults/read", [4]bool{Y, Y, Y, Y}},
		{"Microsoft.KeyVault/vaults/write", [4]bool{Y, Y, N, N}},
		{"Microsoft.KeyVault/vaults/delete", [4]bool{Y, Y, N, N}},
		{"Microsoft.DataBoxEdge/dataBoxEdgeDevices/getExtendedInformation/action", [4]bool{Y, Y, N, N}},
		{"Microsoft.Support/supportTickets/write", [4]bool{Y, Y, N, Y}},
		{"Microsoft.Subscription/cancel/action", [4]bool{Y, N, N, N}},
	} {
		for i, r := range roles {
			err := e.svc.Authorize(ctx, holders[r], tt.action, vault)
			if (err == nil) != tt.want[i] {
				name, _ := rbac.DefinitionByID(r)
				t.Errorf("%s: Authorize(%s) = %v, want allowed=%v", name.Name, tt.action, err, tt.want[i])
			}
		}
	}
}

// TestAuthorizeScopes checks inheritance: an assignment applies at its
// scope and below, never above or beside it.
func TestAuthorizeScopes(t *testing.T) {
	e := newEnv(t)
	sub := e.sub.SubscriptionID()
	rg1 := resource.NewResourceGroup(sub, "rg1")
	rg10 := resource.NewResourceGroup(sub, "rg10") // rg1 is a string prefix of it
	rg2 := resource.NewResourceGroup(sub, "rg2")
	vault := rg1.Child("Microsoft.KeyVault", "vaults", "v1")
	secret := vault.Child("", "secrets", "s1")
	lock := vault.Child("Microsoft.Authorization", "locks", "l1")
	other := resource.NewSubscription(principal.NewID())
	const action = "Microsoft.KeyVault/vaults/write"
	for _, tt := range []struct {
		name          string
		assignedAt    resource.ID
		target        resource.ID
		want          bool
		targetLiteral string // when set, target is parsed from it
	}{
		{name: "subscription on itself", assignedAt: e.sub, target: e.sub, want: true},
		{name: "subscription on group", assignedAt: e.sub, target: rg1, want: true},
		{name: "subscription on vault", assignedAt: e.sub, target: vault, want: true},
		{name: "group on itself", assignedAt: rg1, target: rg1, want: true},
		{name: "group on vault", assignedAt: rg1, target: vault, want: true},
		{name: "group on child resource", assignedAt: rg1, target: secret, want: true},
		{name: "group on extension resource", assignedAt: rg1, target: lock, want: true},
		{name: "group on other-cased ids", assignedAt: rg1, targetLiteral: "/SUBSCRIPTIONS/" + sub + "/resourcegroups/RG1/providers/microsoft.keyvault/VAULTS/V1", want: true},
		{name: "group not on sibling group", assignedAt: rg1, target: rg2, want: false},
		{name: "group not on group it prefixes", assignedAt: rg1, target: rg10, want: false},
		{name: "group not on subscription", assignedAt: rg1, target: e.sub, want: false},
		{name: "vault on itself", assignedAt: vault, target: vault, want: true},
		{name: "vault not on its group", assignedAt: vault, target: rg1, want: false},
		{name: "subscription not on another subscription", assignedAt: e.sub, target: other, want: false},
		{name: "nothing at the tenant root", assignedAt: e.sub, target: resource.Root, want: false},
	} {
		// No subtests: the env's helpers fail the parent test.
		p := e.user()
		e.grant(p, rbac.Contributor, tt.assignedAt)
		target := tt.target
		if tt.targetLiteral != "" {
			target = mustParse(t, tt.targetLiteral)
		}
		err := e.svc.Authorize(ctx, p, action, target)
		if (err == nil) != tt.want {
			t.Errorf("%s: Authorize over %s with Contributor at %s = %v, want allowed=%v", tt.name, target, tt.assignedAt, err, tt.want)
		}
		if err != nil && (!errors.Is(err, rbac.ErrAuthorizationFailed) || errkind.KindOf(err) != errkind.PermissionDenied) {
			t.Errorf("%s: denial is %v (kind %v), want ErrAuthorizationFailed", tt.name, err, errkind.KindOf(err))
		}
	}
	// Without any assignment, nothing is allowed.
	if err := e.svc.Authorize(ctx, e.user(), "Microsoft.Resources/subscriptions/resourceGroups/read", rg1); err == nil {
		t.Error("principal without assignments was allowed")
	}
}

func TestAuthorizationFailedMessage(t *testing.T) {
	e := newEnv(t)
	user, app := e.user(), e.app()
	scope := resource.NewResourceGroup(e.sub.SubscriptionID(), "Rg1")
	for _, tt := range []struct {
		p      principal.Principal
		client string
	}{{user, user.UserName}, {app, app.ClientID}} {
		err := e.svc.Authorize(ctx, tt.p, "Microsoft.Resources/subscriptions/resourceGroups/write", scope)
		want := fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action "+
			"'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '/subscriptions/%s/resourceGroups/Rg1' "+
			"or the scope is invalid. If access was recently granted, please refresh your credentials.",
			tt.client, tt.p.ObjectID, e.sub.SubscriptionID())
		if got := errkind.Message(err); got != want {
			t.Errorf("message:\n got %s\nwant %s", got, want)
		}
	}
}

func TestVisible(t *testing.T) {
	e := newEnv(t)
	sub := e.sub.SubscriptionID()
	p := e.user()
	e.grant(p, rbac.Reader, resource.NewResourceGroup(sub, "rg1"))
	for scope, want := range map[string]bool{
		"/subscriptions/" + sub:                         true, // inside it
		"/subscriptions/" + sub + "/resourceGroups/RG1": true, // at it
		"/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v": true, // above it
		"/subscriptions/" + sub + "/resourceGroups/rg2":                                       false,
		"/subscriptions/" + principal.NewID():                                                 false,
	} {
		got, err := e.svc.Visible(ctx, p, mustParse(t, scope))
		if err != nil || got != want {
			t.Errorf("Visible(%s) = %v, %v; want %v", scope, got, err, want)
		}
	}
}

// countingStore counts the reads Authorize makes.
type countingStore struct {
	rbac.Store
	mu    sync.Mutex
	reads int
	// hold, when set, is called after the read and before it returns.
	hold func()
}

func (c *countingStore) RoleAssignmentsForPrincipal(ctx2 context.Context, id string) ([]rbac.Assignment, error) {
	list, err := c.Store.RoleAssignmentsForPrincipal(ctx2, id)
	c.mu.Lock()
	c.reads++
	hold := c.hold
	c.mu.Unlock()
	if hold != nil {
		hold()
	}
	return list, err
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func TestCacheLocalWrites(t *testing.T) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	svc := e.service(cs)
	e.svc = svc // grants go through the same Service
	p := e.user()
	rg := resource.NewResourceGroup(e.sub.SubscriptionID(), "rg")
	const action = "Microsoft.Resources/subscriptions/resourceGroups/read"
	for range 3 {
		if err := svc.Authorize(ctx, p, action, rg); err == nil {
			t.Fatal("allowed before any grant")
		}
	}
	if n := cs.count(); n != 1 {
		t.Fatalf("%d store reads for three decisions, want 1 (the empty result is cached too)", n)
	}
	a := e.grant(p, rbac.Reader, rg)
	if err := svc.Authorize(ctx, p, action, rg); err != nil {
		t.Fatalf("not allowed right after a local grant: %v", err)
	}
	if _, existed, err := svc.Delete(ctx, rg, a.ID); err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if err := svc.Authorize(ctx, p, action, rg); err == nil {
		t.Fatal("still allowed right after a local delete")
	}
}

// TestCacheOtherReplica: a Service that did not make the write sees it
// once its cached entry is older than the TTL, and not before.
func TestCacheOtherReplica(t *testing.T) {
	e := newEnv(t)
	replica := e.service(e.store)
	p := e.user()
	rg := resource.NewResourceGroup(e.sub.SubscriptionID(), "rg")
	const action = "Microsoft.Resources/subscriptions/resourceGroups/read"
	if err := replica.Authorize(ctx, p, action, rg); err == nil {
		t.Fatal("allowed before any grant")
	}
	a := e.grant(p, rbac.Reader, rg) // through e.svc, the other replica
	e.clock.Advance(rbac.DefaultCacheTTL - time.Millisecond)
	if err := replica.Authorize(ctx, p, action, rg); err == nil {
		t.Fatal("the replica saw the grant before its cache expired; the test is not testing the cache")
	}
	e.clock.Advance(time.Millisecond)
	if err := replica.Authorize(ctx, p, action, rg); err != nil {
		t.Fatalf("the replica did not see the grant after the TTL: %v", err)
	}
	if _, _, err := e.svc.Delete(ctx, rg, a.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(rbac.DefaultCacheTTL)
	if err := replica.Authorize(ctx, p, action, rg); err == nil {
		t.Fatal("the replica still allows after the revocation and the TTL")
	}
	// A clock stepping backwards does not make an entry fresh forever.
	e.grant(p, rbac.Reader, rg)
	e.clock.Advance(-time.Hour)
	if err := replica.Authorize(ctx, p, action, rg); err != nil {
		t.Fatalf("after the clock stepped back, the replica still used its old entry: %v", err)
	}
}

// TestCacheFillRacingWrite: a cache fill that read the rows before a local
// write and finishes after it must not be cached, or the write's
// invalidation would be undone until the TTL.
func TestCacheFillRacingWrite(t *testing.T) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	svc := e.service(cs)
	e.svc = svc
	p := e.user()
	rg := resource.NewResourceGroup(e.sub.SubscriptionID(), "rg")
	const action = "Microsoft.Resources/subscriptions/resourceGroups/read"

	read, release := make(chan struct{}), make(chan struct{})
	cs.hold = func() { close(read); <-release }
	done := make(chan error)
	go func() { done <- svc.Authorize(ctx, p, action, rg) }()
	<-read // the fill has read "no assignments"
	cs.mu.Lock()
	cs.hold = nil
	cs.mu.Unlock()
	e.grant(p, rbac.Reader, rg)
	close(release)
	if err := <-done; err == nil {
		t.Fatal("the racing decision saw the grant; the test is not testing the race")
	}
	if err := svc.Authorize(ctx, p, action, rg); err != nil {
		t.Fatalf("the stale fill was cached over the invalidation: %v", err)
	}
}

func TestAuthorizeStoreFailureDenies(t *testing.T) {
	e := newEnv(t)
	svc := e.service(failingStore{e.store})
	err := svc.Authorize(ctx, e.admin, "Microsoft.KeyVault/vaults/read", e.sub)
	if err == nil || errkind.KindOf(err) != errkind.Unavailable {
		t.Fatalf("Authorize with a failing store = %v, want an Unavailable error", err)
	}
}

type failingStore struct{ rbac.Store }

func (failingStore) RoleAssignmentsForPrincipal(context.Context, string) ([]rbac.Assignment, error) {
	return nil, errkind.E(errkind.Unavailable, "database unreachable")
}

// The bootstrap Owner assignment (stored without UpdatedAt or CreatedBy)
// works like any other.
func TestBootstrapAssignment(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.Authorize(ctx, e.admin, "Microsoft.Authorization/roleAssignments/write", e.sub); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.List(ctx, rbac.ListOptions{Scope: e.sub, PrincipalID: e.admin.ObjectID})
	if err != nil || len(list) != 1 || !list[0].UpdatedAt.Equal(list[0].CreatedAt) || !strings.EqualFold(list[0].Scope, e.sub.String()) {
		t.Fatalf("List = %+v, %v", list, err)
	}
}
