package storetest

import (
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

func init() {
	register("RoleAssignments", testRoleAssignments)
	register("RoleAssignmentScopes", testRoleAssignmentScopes)
}

func assignment(scope resource.ID, principalID, role string, created time.Time) rbac.Assignment {
	return rbac.Assignment{ID: principal.NewID(), Scope: scope.String(), PrincipalID: principalID,
		PrincipalType: "User", RoleDefinitionID: role, Description: "d", CreatedBy: "creator",
		CreatedAt: created, UpdatedAt: created.Add(time.Second)}
}

func testRoleAssignments(t *testing.T, open Opener) {
	s := open(t)
	sub := resource.NewSubscription(principal.NewID())
	p1 := principal.NewID()
	a1 := assignment(sub, p1, rbac.Owner, at)
	a2 := assignment(resource.NewResourceGroup(sub.SubscriptionID(), "rg"), p1, rbac.Reader, at.Add(time.Minute))
	a2.UpdatedAt = time.Time{} // stored as 0, read back as the zero time (bootstrap rows)
	for _, a := range []rbac.Assignment{a2, a1} {
		if err := s.InsertRoleAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RoleAssignment(ctx, a1.ID)
	if err != nil || !cmp.Equal(got, a1) {
		t.Fatalf("RoleAssignment: %v %s", err, cmp.Diff(a1, got))
	}
	if got, _ := s.RoleAssignment(ctx, a2.ID); !cmp.Equal(got, a2) {
		t.Fatalf("RoleAssignment without UpdatedAt: %s", cmp.Diff(a2, got))
	}
	_, err = s.RoleAssignment(ctx, principal.NewID())
	wantKind(t, err, errkind.NotFound)

	// The name is unique across scopes; (scope, principal, role) is unique
	// whatever the scope's casing.
	sameName := assignment(resource.NewResourceGroup(sub.SubscriptionID(), "other"), principal.NewID(), rbac.Reader, at)
	sameName.ID = a1.ID
	wantKind(t, s.InsertRoleAssignment(ctx, sameName), errkind.Conflict)
	dup := a2
	dup.ID, dup.Scope = principal.NewID(), "/SUBSCRIPTIONS/"+sub.SubscriptionID()+"/RESOURCEGROUPS/RG"
	wantKind(t, s.InsertRoleAssignment(ctx, dup), errkind.Conflict)

	list, err := s.RoleAssignmentsForPrincipal(ctx, p1)
	if err != nil || !cmp.Equal(list, []rbac.Assignment{a1, a2}) {
		t.Fatalf("RoleAssignmentsForPrincipal (oldest first): %v %s", err, cmp.Diff([]rbac.Assignment{a1, a2}, list))
	}
	if list, err := s.RoleAssignmentsForPrincipal(ctx, principal.NewID()); err != nil || len(list) != 0 {
		t.Fatalf("unknown principal: %v, %v", list, err)
	}

	a1.Description, a1.UpdatedAt = "changed", at.Add(time.Hour)
	if err := s.UpdateRoleAssignment(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RoleAssignment(ctx, a1.ID); !cmp.Equal(got, a1) {
		t.Fatalf("after update: %s", cmp.Diff(a1, got))
	}
	missing := a1
	missing.ID = principal.NewID()
	wantKind(t, s.UpdateRoleAssignment(ctx, missing), errkind.NotFound)

	// Delete needs the right scope (any casing).
	wantKind(t, s.DeleteRoleAssignment(ctx, resource.NewResourceGroup(sub.SubscriptionID(), "rg"), a1.ID), errkind.NotFound)
	upper, _ := resource.Parse("/SUBSCRIPTIONS/" + sub.SubscriptionID())
	if err := s.DeleteRoleAssignment(ctx, upper, a1.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteRoleAssignment(ctx, sub, a1.ID), errkind.NotFound)
	_, err = s.RoleAssignment(ctx, a1.ID)
	wantKind(t, err, errkind.NotFound)
}

// testRoleAssignmentScopes checks the scope queries, including the traps
// of prefix matching: a sibling whose name extends the scope's (rg, rg2)
// and LIKE's wildcards in names (my_rg, myXrg).
func testRoleAssignmentScopes(t *testing.T, open Opener) {
	s := open(t)
	subID := principal.NewID()
	sub := resource.NewSubscription(subID)
	rg := resource.NewResourceGroup(subID, "My_RG")
	vault := rg.Child("Microsoft.KeyVault", "vaults", "v1")
	lookalike := resource.NewResourceGroup(subID, "MyXRG").Child("Microsoft.KeyVault", "vaults", "v2")
	sibling := resource.NewResourceGroup(subID, "My_RG2")
	otherSub := resource.NewSubscription(principal.NewID())
	p := principal.NewID()
	var (
		atSub     = assignment(sub, p, rbac.Reader, at)
		atRG      = assignment(rg, p, rbac.Contributor, at)
		atVault   = assignment(vault, principal.NewID(), rbac.Owner, at)
		atLook    = assignment(lookalike, p, rbac.Owner, at)
		atSibling = assignment(sibling, p, rbac.Owner, at)
		atOther   = assignment(otherSub, p, rbac.Owner, at)
	)
	all := []rbac.Assignment{atSub, atRG, atVault, atLook, atSibling, atOther}
	for _, a := range all {
		if err := s.InsertRoleAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(list []rbac.Assignment) []string {
		out := []string{}
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	upperVault, _ := resource.Parse("/SUBSCRIPTIONS/" + subID + "/RESOURCEGROUPS/MY_RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/V1")
	for _, tt := range []struct {
		name string
		got  func() ([]rbac.Assignment, error)
		want []rbac.Assignment
	}{
		{"at vault and its ancestors", func() ([]rbac.Assignment, error) {
			return s.RoleAssignmentsAt(ctx, []resource.ID{upperVault, rg, sub})
		}, []rbac.Assignment{atSub, atRG, atVault}},
		{"at nothing", func() ([]rbac.Assignment, error) { return s.RoleAssignmentsAt(ctx, nil) }, nil},
		{"below group", func() ([]rbac.Assignment, error) { return s.RoleAssignmentsBelow(ctx, rg) }, []rbac.Assignment{atVault}},
		{"below subscription", func() ([]rbac.Assignment, error) { return s.RoleAssignmentsBelow(ctx, sub) },
			[]rbac.Assignment{atRG, atVault, atSibling, atLook}},
		{"below vault", func() ([]rbac.Assignment, error) { return s.RoleAssignmentsBelow(ctx, vault) }, nil},
	} {
		got, err := tt.got()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(ids(sortByScope(tt.want)), ids(sortByScope(got))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// sortByScope orders assignments by scope key, then name, bytewise. The
// queries order by the same columns, but PostgreSQL in the database's
// collation; the tests compare sets.
func sortByScope(list []rbac.Assignment) []rbac.Assignment {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b rbac.Assignment) int {
		if c := strings.Compare(strings.ToLower(a.Scope), strings.ToLower(b.Scope)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
