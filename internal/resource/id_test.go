package resource

import (
	"strings"
	"testing"
)

const (
	sub   = "0b7f1e7c-3a9c-4c1a-9a55-1b2c3d4e5f60"
	vault = "/subscriptions/" + sub + "/resourceGroups/Edge-RG/providers/Microsoft.KeyVault/vaults/Vault1"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in                     string
		level                  Level
		sub, rg, typ, ns, name string
		ext                    bool
	}{
		{"/", Tenant, "", "", "", "", "", false},
		{"/subscriptions/" + sub, Subscription, sub, "", "", "", sub, false},
		{"/SUBSCRIPTIONS/" + sub + "/RESOURCEGROUPS/rg", ResourceGroup, sub, "rg", "", "", "rg", false},
		{vault, Resource, sub, "Edge-RG", "Microsoft.KeyVault/vaults", "Microsoft.KeyVault", "Vault1", false},
		{vault + "/secrets/s1", Resource, sub, "Edge-RG", "Microsoft.KeyVault/vaults/secrets", "Microsoft.KeyVault", "s1", false},
		{vault + "/providers/Microsoft.Authorization/locks/lock1", Resource, sub, "Edge-RG", "Microsoft.Authorization/locks", "Microsoft.Authorization", "lock1", true},
		{"/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/v1", Resource, sub, "", "Microsoft.KeyVault/locations/deletedVaults", "Microsoft.KeyVault", "v1", false},
		{"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Resource, "", "", "Microsoft.Authorization/roleDefinitions", "Microsoft.Authorization", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", false},
		{"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Authorization/locks/l", Resource, sub, "rg", "Microsoft.Authorization/locks", "Microsoft.Authorization", "l", false},
	}
	for _, tt := range tests {
		id, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		got := []any{id.Level(), id.SubscriptionID(), id.ResourceGroupName(), id.Type(), id.Namespace(), id.Name(), id.IsExtension()}
		want := []any{tt.level, tt.sub, tt.rg, tt.typ, tt.ns, tt.name, tt.ext}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Parse(%q) field %d = %v, want %v", tt.in, i, got[i], want[i])
			}
		}
		canonical := strings.NewReplacer("SUBSCRIPTIONS", "subscriptions", "RESOURCEGROUPS", "resourceGroups").Replace(tt.in)
		if id.String() != canonical {
			t.Errorf("String() = %q, want %q", id.String(), canonical)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		"", "subscriptions/x", "//", "/subscriptions", "/subscriptions/", "/subscriptions/x/",
		"/subscriptions/x/resourceGroups", "/subscriptions/x/resourceGroups/rg/extra",
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults",
		"/subscriptions/x/foo/bar", vault + "/secrets", vault + "/providers/x", "/subscriptions/x?y", "/subscriptions/a%2Fb",
		"/subscriptions/x\n", "/" + strings.Repeat("a", 5000),
		"/subscriptions/x/resourceGroups/rg/providers/ns/providers/n",
	} {
		if id, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, want error", bad, id)
		}
	}
}

func TestContainsAndEqual(t *testing.T) {
	v, _ := Parse(vault)
	lower, _ := Parse(strings.ToLower(vault))
	rg := NewResourceGroup(sub, "edge-rg")
	other := NewResourceGroup(sub, "edge-rg2")
	lock, _ := Parse(vault + "/providers/Microsoft.Authorization/locks/l")
	tests := []struct {
		scope, id ID
		want      bool
	}{
		{Root, v, true},
		{NewSubscription(sub), v, true},
		{rg, v, true},
		{other, v, false}, // a prefix of the name is not containment
		{v, lock, true},
		{v, rg, false},
		{v, lower, true},
		{NewSubscription("other"), v, false},
	}
	for _, tt := range tests {
		if got := tt.scope.Contains(tt.id); got != tt.want {
			t.Errorf("%s contains %s = %v", tt.scope, tt.id, got)
		}
	}
	if !v.Equal(lower) || v.String() == lower.String() || v.Key() != lower.Key() {
		t.Error("ids differing only in case must be equal but keep their casing")
	}
	anc := lock.Ancestors()
	if len(anc) != 5 || !anc[1].Equal(v) || !anc[2].Equal(rg) || anc[4].Level() != Tenant {
		t.Errorf("Ancestors = %v", anc)
	}
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"rg": true, "My_RG-(1).x": true, strings.Repeat("a", 90): true,
		"": false, "rg.": false, strings.Repeat("a", 91): false, "r g": false, "rg/x": false, "ŕg": false,
	} {
		if err := ValidateResourceGroupName(name); (err == nil) != ok {
			t.Errorf("ValidateResourceGroupName(%q) = %v", name, err)
		}
	}
	for name, ok := range map[string]bool{"lock1": true, "no delete": true, "a:b": false, "a/b": false, "": false, strings.Repeat("l", 261): false} {
		if err := ValidateLockName(name); (err == nil) != ok {
			t.Errorf("ValidateLockName(%q) = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/", vault, vault + "/secrets/s", vault + "/providers/Microsoft.Authorization/locks/l",
		"/providers/Microsoft.Authorization/roleDefinitions/x", "/subscriptions/s/resourcegroups/r", "/subscriptions//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(id.String())
		if err != nil {
			t.Fatalf("String() of a parsed id does not parse: %q -> %q: %v", s, id.String(), err)
		}
		if again.String() != id.String() || again.Type() != id.Type() || again.Level() != id.Level() {
			t.Fatalf("round trip changed %q: %q vs %q", s, id, again)
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("String() %q differs from input %q beyond case", id.String(), s)
		}
		if !id.Parent().Contains(id) || !Root.Contains(id) {
			t.Fatalf("%q not inside its parent", s)
		}
	})
}
