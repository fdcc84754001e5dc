package rbac_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
)

func TestCreate(t *testing.T) {
	e := newEnv(t)
	p := e.app()
	rg := resource.NewResourceGroup(e.sub.SubscriptionID(), "Rg1")
	name := principal.NewID()
	put := rbac.Assignment{
		ID:               strings.ToUpper(name), // names compare case-insensitively
		Scope:            "/subscriptions/" + e.sub.SubscriptionID() + "/resourcegroups/Rg1",
		PrincipalID:      p.ObjectID,
		RoleDefinitionID: "/subscriptions/" + e.sub.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/" + rbac.Contributor,
		Description:      "ci deploys",
	}
	a, created, err := e.svc.Create(ctx, e.admin, put)
	if err != nil || !created {
		t.Fatalf("Create = %v, %v", created, err)
	}
	now := e.clock.Now()
	want := rbac.Assignment{ID: name, Scope: rg.String(), PrincipalID: p.ObjectID, PrincipalType: "ServicePrincipal",
		RoleDefinitionID: rbac.Contributor, Description: "ci deploys", CreatedAt: now, UpdatedAt: now, CreatedBy: e.admin.ObjectID}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	if got := a.ResourceID(); got != "/subscriptions/"+e.sub.SubscriptionID()+"/resourceGroups/Rg1/providers/Microsoft.Authorization/roleAssignments/"+name {
		t.Errorf("ResourceID = %s", got)
	}

	// The same PUT again: 200, unchanged.
	e.clock.Advance(time.Minute)
	again, created, err := e.svc.Create(ctx, e.admin, put)
	if err != nil || created || !cmp.Equal(again, a) {
		t.Fatalf("repeated PUT: created=%v, %v, %s", created, err, cmp.Diff(a, again))
	}
	// A new description: 200, updated.
	put.Description = "ci deploys everything"
	updated, created, err := e.svc.Create(ctx, e.admin, put)
	if err != nil || created || updated.Description != put.Description || !updated.UpdatedAt.Equal(e.clock.Now()) || !updated.CreatedAt.Equal(now) {
		t.Fatalf("description PUT = %+v, %v, %v", updated, created, err)
	}
	if got, err := e.svc.Get(ctx, rg, name); err != nil || !cmp.Equal(got, updated) {
		t.Fatalf("Get after update: %v %s", err, cmp.Diff(updated, got))
	}
	if got, err := e.svc.GetByID(ctx, strings.ToLower(a.ResourceID())); err != nil || !cmp.Equal(got, updated) {
		t.Fatalf("GetByID: %v %s", err, cmp.Diff(updated, got))
	}
}

// TestCreateRejects: every bad PUT fails with its Azure error and changes
// nothing.
func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	user, app := e.user(), e.app()
	sub := e.sub.SubscriptionID()
	rg := resource.NewResourceGroup(sub, "rg")
	existing := e.grant(user, rbac.Reader, rg)
	before, err := e.svc.List(ctx, rbac.ListOptions{Scope: e.sub})
	if err != nil {
		t.Fatal(err)
	}
	ok := rbac.Assignment{ID: principal.NewID(), Scope: rg.String(), PrincipalID: app.ObjectID, RoleDefinitionID: rbac.Reader}
	with := func(f func(*rbac.Assignment)) rbac.Assignment {
		a := ok
		f(&a)
		return a
	}
	for _, tt := range []struct {
		name     string
		put      rbac.Assignment
		sentinel error
		kind     errkind.Kind
		message  string // a fragment of the client message
	}{
		{"same name, other role", with(func(a *rbac.Assignment) {
			a.ID, a.PrincipalID, a.RoleDefinitionID = existing.ID, user.ObjectID, rbac.Owner
		}), rbac.ErrUpdateNotPermitted, errkind.Invalid, "not allowed to be updated"},
		{"same name, other principal", with(func(a *rbac.Assignment) { a.ID = existing.ID }),
			rbac.ErrUpdateNotPermitted, errkind.Invalid, "not allowed to be updated"},
		{"same name, other scope", with(func(a *rbac.Assignment) {
			a.ID, a.PrincipalID, a.Scope = existing.ID, user.ObjectID, e.sub.String()
		}), rbac.ErrUpdateNotPermitted, errkind.Invalid, "not allowed to be updated"},
		{"same principal, role and scope under another name", with(func(a *rbac.Assignment) {
			a.PrincipalID, a.Scope = user.ObjectID, strings.ToUpper(rg.String())
		}), rbac.ErrRoleAssignmentExists, errkind.Conflict, "The role assignment already exists."},
		{"unknown role", with(func(a *rbac.Assignment) { a.RoleDefinitionID = principal.NewID() }),
			rbac.ErrRoleDefinitionNotFound, errkind.Invalid, "does not exist"},
		{"role id of another subscription", with(func(a *rbac.Assignment) {
			a.RoleDefinitionID = rbac.DefinitionResourceID(principal.NewID(), rbac.Reader)
		}), rbac.ErrRoleDefinitionNotFound, errkind.Invalid, "does not exist"},
		{"unknown principal", with(func(a *rbac.Assignment) { a.PrincipalID = principal.NewID() }),
			rbac.ErrPrincipalNotFound, errkind.Invalid, "does not exist in the directory " + e.tenant},
		{"principal id not a GUID", with(func(a *rbac.Assignment) { a.PrincipalID = "admin" }),
			rbac.ErrPrincipalNotFound, errkind.Invalid, "does not exist in the directory"},
		{"principal type mismatch", with(func(a *rbac.Assignment) { a.PrincipalType = "User" }),
			rbac.ErrPrincipalTypeMismatch, errkind.Invalid, "has type 'ServicePrincipal' , which is different from specified PrinciaplType 'User'"},
		{"group principal type", with(func(a *rbac.Assignment) { a.PrincipalType = "Group" }),
			rbac.ErrPrincipalTypeMismatch, errkind.Invalid, "PrinciaplType 'Group'"},
		{"name not a GUID", with(func(a *rbac.Assignment) { a.ID = "my-assignment" }),
			rbac.ErrInvalidAssignmentName, errkind.Invalid, "'my-assignment' is not valid"},
		{"tenant root scope", with(func(a *rbac.Assignment) { a.Scope = "/" }),
			rbac.ErrInvalidScope, errkind.Invalid, "not valid"},
		{"management group scope", with(func(a *rbac.Assignment) {
			a.Scope = "/providers/Microsoft.Management/managementGroups/mg"
		}), rbac.ErrInvalidScope, errkind.Invalid, "not valid"},
		{"malformed scope", with(func(a *rbac.Assignment) { a.Scope = "subscriptions/x" }),
			rbac.ErrInvalidScope, errkind.Invalid, "not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, created, err := e.svc.Create(ctx, e.admin, tt.put)
			if created || !errors.Is(err, tt.sentinel) || errkind.KindOf(err) != tt.kind {
				t.Fatalf("Create = %v, %v (kind %v); want %v of kind %v", created, err, errkind.KindOf(err), tt.sentinel, tt.kind)
			}
			if msg := errkind.Message(err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q lacks %q", msg, tt.message)
			}
			after, err := e.svc.List(ctx, rbac.ListOptions{Scope: e.sub})
			if err != nil || !cmp.Equal(after, before) {
				t.Fatalf("assignments changed: %v %s", err, cmp.Diff(before, after))
			}
		})
	}
	// A principal type given in other casing is accepted, and stored in
	// Azure's casing.
	a, created, err := e.svc.Create(ctx, e.admin, with(func(a *rbac.Assignment) { a.PrincipalType = "serviceprincipal" }))
	if err != nil || !created || a.PrincipalType != "ServicePrincipal" {
		t.Fatalf("Create with lower-case principalType = %+v, %v, %v", a, created, err)
	}
}

// otherTenantPrincipals reports every principal as belonging to another
// tenant.
type otherTenantPrincipals struct{ rbac.Principals }

func (o otherTenantPrincipals) Principal(ctx context.Context, id string) (principal.Principal, error) {
	p, err := o.Principals.Principal(ctx, id)
	p.TenantID = principal.NewID()
	return p, err
}

func TestCreateRejectsOtherTenantsPrincipal(t *testing.T) {
	e := newEnv(t)
	svc := e.serviceWith(e.store, otherTenantPrincipals{e.store})
	_, _, err := svc.Create(ctx, e.admin, rbac.Assignment{ID: principal.NewID(), Scope: e.sub.String(),
		PrincipalID: e.user().ObjectID, RoleDefinitionID: rbac.Reader})
	if !errors.Is(err, rbac.ErrPrincipalNotFound) {
		t.Fatalf("Create for another tenant's principal = %v, want ErrPrincipalNotFound", err)
	}
}

func TestGetAndDelete(t *testing.T) {
	e := newEnv(t)
	rg := resource.NewResourceGroup(e.sub.SubscriptionID(), "rg")
	a := e.grant(e.user(), rbac.Owner, rg)
	for _, tt := range []struct {
		scope resource.ID
		name  string
	}{
		{e.sub, a.ID}, // another scope
		{rg, principal.NewID()},
		{rg, "not-a-guid"},
	} {
		_, err := e.svc.Get(ctx, tt.scope, tt.name)
		if !errors.Is(err, rbac.ErrRoleAssignmentNotFound) || errkind.KindOf(err) != errkind.NotFound {
			t.Errorf("Get(%s, %s) = %v, want ErrRoleAssignmentNotFound", tt.scope, tt.name, err)
		}
		if _, existed, err := e.svc.Delete(ctx, tt.scope, tt.name); existed || err != nil {
			t.Errorf("Delete(%s, %s) = %v, %v; want nothing deleted", tt.scope, tt.name, existed, err)
		}
	}
	for _, id := range []string{"/subscriptions/x/resourceGroups/rg", "/subscriptions/x/providers/Microsoft.Authorization/locks/" + a.ID, "garbage"} {
		if _, err := e.svc.GetByID(ctx, id); !errors.Is(err, rbac.ErrRoleAssignmentNotFound) {
			t.Errorf("GetByID(%s) = %v", id, err)
		}
	}
	upper := mustParse(t, strings.ToUpper(rg.String()))
	deleted, existed, err := e.svc.Delete(ctx, upper, strings.ToUpper(a.ID))
	if err != nil || !existed || !cmp.Equal(deleted, a) {
		t.Fatalf("Delete = %v, %v, %s", existed, err, cmp.Diff(a, deleted))
	}
	if _, existed, err := e.svc.Delete(ctx, rg, a.ID); existed || err != nil {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}
	// The last Owner of the subscription may remove itself, as in Azure.
	owners, _ := e.svc.List(ctx, rbac.ListOptions{Scope: e.sub, AtScopeOnly: true, PrincipalID: e.admin.ObjectID})
	if len(owners) != 1 {
		t.Fatalf("bootstrap owner assignments: %+v", owners)
	}
	if _, existed, err := e.svc.Delete(ctx, e.sub, owners[0].ID); err != nil || !existed {
		t.Fatalf("deleting the last Owner = %v, %v", existed, err)
	}
	if err := e.svc.Authorize(ctx, e.admin, "Microsoft.KeyVault/vaults/read", e.sub); err == nil {
		t.Fatal("the former owner is still allowed")
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	sub := e.sub.SubscriptionID()
	rg1, rg2 := resource.NewResourceGroup(sub, "rg_1"), resource.NewResourceGroup(sub, "rgX1") // '_' is no wildcard
	vault := rg1.Child("Microsoft.KeyVault", "vaults", "v1")
	alice, bob := e.user(), e.user()
	atSub := e.grant(alice, rbac.Reader, e.sub)
	atRG1 := e.grant(bob, rbac.Contributor, rg1)
	atVault := e.grant(alice, rbac.Owner, vault)
	atRG2 := e.grant(bob, rbac.Reader, rg2)
	boot, _ := e.svc.List(ctx, rbac.ListOptions{Scope: e.sub, AtScopeOnly: true, PrincipalID: e.admin.ObjectID})
	ids := func(list []rbac.Assignment) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	// sorted orders as List promises: by scope key, then name.
	sorted := func(list ...rbac.Assignment) []string {
		slices.SortFunc(list, func(a, b rbac.Assignment) int {
			if c := strings.Compare(strings.ToLower(a.Scope), strings.ToLower(b.Scope)); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return ids(list)
	}
	for _, tt := range []struct {
		name string
		opts rbac.ListOptions
		want []string
	}{
		{"subscription: everything", rbac.ListOptions{Scope: e.sub},
			sorted(boot[0], atSub, atRG1, atVault, atRG2)},
		{"subscription at scope", rbac.ListOptions{Scope: e.sub, AtScopeOnly: true}, sorted(boot[0], atSub)},
		{"group: inherited, at and below", rbac.ListOptions{Scope: rg1}, sorted(boot[0], atSub, atRG1, atVault)},
		{"group at scope", rbac.ListOptions{Scope: rg1, AtScopeOnly: true}, sorted(boot[0], atSub, atRG1)},
		{"vault", rbac.ListOptions{Scope: mustParse(t, strings.ToUpper(vault.String()))}, sorted(boot[0], atSub, atRG1, atVault)},
		{"alice at subscription", rbac.ListOptions{Scope: e.sub, PrincipalID: alice.ObjectID}, sorted(atSub, atVault)},
		{"alice at subscription, at scope", rbac.ListOptions{Scope: e.sub, PrincipalID: strings.ToUpper(alice.ObjectID), AtScopeOnly: true}, sorted(atSub)},
		{"bob at vault", rbac.ListOptions{Scope: vault, PrincipalID: bob.ObjectID}, sorted(atRG1)},
		{"nobody", rbac.ListOptions{Scope: e.sub, PrincipalID: principal.NewID()}, nil},
	} {
		got, err := e.svc.List(ctx, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := e.svc.List(ctx, rbac.ListOptions{Scope: resource.Root}); !errors.Is(err, rbac.ErrInvalidScope) {
		t.Errorf("List at the root = %v", err)
	}
}
