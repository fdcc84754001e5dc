package keyvault_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "Edge-Vault-01": true, "a1-b2-c3": true, strings.Repeat("a", 24): true,
		"ab": false, strings.Repeat("a", 25): false, "1abc": false, "-abc": false, "abc-": false,
		"ab--c": false, "ab_c": false, "ab.c": false, "abé": false, "": false, "ab c": false,
	} {
		if got := keyvault.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCreateGetUpdate(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "Edge-RG", "Edge-Vault", nil)
	if v.Retention != 90 || v.SKU != "standard" || v.PublicNetworkAccess != "Enabled" || v.ProvisioningState != "Succeeded" ||
		v.PurgeProtection || v.TenantID != strings.ToLower(e.caller.TenantID) || v.CreatedBy != e.caller.ObjectID || v.UID == "" {
		t.Errorf("created = %+v", v)
	}
	if got := e.kv.URI(v.Name()); got != "https://edge-vault.vault.localhost:8443/" {
		t.Errorf("URI = %q", got)
	}
	got, err := e.kv.Get(ctx, e.id("edge-rg", "EDGE-VAULT")) // ids compare ignoring case
	if err != nil || got.UID != v.UID || got.ID.String() != v.ID.String() {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if byName, err := e.kv.ByName(ctx, "edge-vault"); err != nil || byName.UID != v.UID {
		t.Fatalf("ByName = %+v, %v", byName, err)
	}
	_, err = e.kv.ByName(ctx, "nope")
	wantErr(t, err, errkind.NotFound, nil)
	_, err = e.kv.Get(ctx, e.id("other-rg", "edge-vault"))
	wantErr(t, err, errkind.NotFound, keyvault.ErrNotFound)

	// PUT again: an update that keeps what it does not name.
	sp := keyvault.Spec{Location: "westeurope", Tags: map[string]string{"v": "2"},
		Properties: keyvault.Properties{SKU: ptr("Premium"), PurgeProtection: ptr(true), Retention: ptr(90)}}
	upd, created, err := e.kv.Put(ctx, e.caller, e.id("edge-rg", "edge-vault"), sp)
	if err != nil || created || upd.SKU != "premium" || !upd.PurgeProtection || len(upd.Policies) != 1 || upd.Tags["v"] != "2" ||
		upd.ID.String() != v.ID.String() || upd.Version != v.Version+1 {
		t.Fatalf("update = %+v, created %v, %v", upd, created, err)
	}
	sp.Location = "eastus"
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, sp)
	wantErr(t, err, errkind.Invalid, keyvault.ErrLocationChanged)

	p, err := e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{Tags: map[string]string{},
		Properties: keyvault.Properties{EnabledForDeployment: ptr(true), PublicNetworkAccess: ptr("disabled")}})
	if err != nil || !p.EnabledForDeployment || p.PublicNetworkAccess != "Disabled" || len(p.Tags) != 0 || !p.PurgeProtection {
		t.Fatalf("Patch = %+v, %v", p, err)
	}
	_, err = e.kv.Patch(ctx, e.caller, e.id("edge-rg", "missing"), keyvault.Patch{})
	wantErr(t, err, errkind.NotFound, keyvault.ErrNotFound)

	list, err := e.kv.List(ctx, e.sub, "EDGE-rg", "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if ok, err := e.kv.Exists(ctx, e.id("EDGE-RG", "edge-vault")); !ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	if ok, _ := e.kv.Exists(ctx, resource.NewResourceGroup(e.sub, "edge-rg").Child("Microsoft.Storage", "storageAccounts", "edge-vault")); ok {
		t.Error("a storage account id named like the vault exists")
	}
	if inUse, err := e.kv.InUse(ctx, e.sub, "microsoft.keyvault"); !inUse || err != nil {
		t.Errorf("InUse = %v, %v", inUse, err)
	}
	if inUse, _ := e.kv.InUse(ctx, e.otherSub, "Microsoft.KeyVault"); inUse {
		t.Error("InUse in an empty subscription")
	}
}

// TestPutRejects: bad input changes nothing and says why, with the kind
// armapi turns into 400.
func TestPutRejects(t *testing.T) {
	e := newEnv(t)
	many := make([]keyvault.AccessPolicy, keyvault.MaxPolicies+1)
	for i := range many {
		many[i] = e.policy(principal.NewID(), "get")
	}
	tests := []struct {
		name, vault string
		edit        func(*keyvault.Spec)
		sentinel    error
		msg         string
	}{
		{"short name", "ab", nil, keyvault.ErrNameInvalid, "is invalid"},
		{"double hyphen", "ab--cd", nil, keyvault.ErrNameInvalid, "consecutive hyphens"},
		{"digit first", "1vault", nil, keyvault.ErrNameInvalid, ""},
		{"retention low", "vault-one", func(s *keyvault.Spec) { s.Retention = ptr(6) }, nil, "between 7 and 90"},
		{"retention high", "vault-one", func(s *keyvault.Spec) { s.Retention = ptr(91) }, nil, "between 7 and 90"},
		{"too many policies", "vault-one", func(s *keyvault.Spec) { s.Policies = many }, nil, "at most 1024"},
		{"policy of another tenant", "vault-one", func(s *keyvault.Spec) { s.Policies[0].TenantID = e.other.TenantID }, nil, "vault's tenant"},
		{"vault of another tenant", "vault-one", func(s *keyvault.Spec) { s.TenantID = ptr(e.other.TenantID) }, nil, "subscription's tenant"},
		{"tenant not a guid", "vault-one", func(s *keyvault.Spec) { s.TenantID = ptr("contoso") }, nil, "subscription's tenant"},
		{"object id not a guid", "vault-one", func(s *keyvault.Spec) { s.Policies[0].ObjectID = "bob" }, nil, "not a GUID"},
		{"duplicate policy", "vault-one", func(s *keyvault.Spec) { s.Policies = append(s.Policies, s.Policies[0]) }, nil, "more than once"},
		{"unknown permission", "vault-one", func(s *keyvault.Spec) { s.Policies[0].Permissions.Secrets = []string{"read"} }, nil, "secrets permission 'read'"},
		{"no tenant", "vault-one", func(s *keyvault.Spec) { s.TenantID = nil }, nil, "tenantId is required"},
		{"no sku", "vault-one", func(s *keyvault.Spec) { s.SKU = nil }, nil, "sku is required"},
		{"no policies", "vault-one", func(s *keyvault.Spec) { s.Policies = nil }, nil, "accessPolicies is required"},
		{"bad sku", "vault-one", func(s *keyvault.Spec) { s.SKU = ptr("gold") }, nil, "SKU name"},
		{"bad family", "vault-one", func(s *keyvault.Spec) { s.SKUFamily = ptr("B") }, nil, "family"},
		{"purge protection false", "vault-one", func(s *keyvault.Spec) { s.PurgeProtection = ptr(false) }, nil, "irreversible"},
		{"soft delete off", "vault-one", func(s *keyvault.Spec) { s.SoftDelete = ptr(false) }, nil, "enableSoftDelete"},
		{"rbac", "vault-one", func(s *keyvault.Spec) { s.RBACAuthorization = ptr(true) }, nil, "access policies only"},
		{"create mode", "vault-one", func(s *keyvault.Spec) { s.CreateMode = "restore" }, nil, "createMode"},
		{"public access", "vault-one", func(s *keyvault.Spec) { s.PublicNetworkAccess = ptr("maybe") }, nil, "publicNetworkAccess"},
		{"no location", "vault-one", func(s *keyvault.Spec) { s.Location = "" }, nil, "location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := e.spec()
			if tt.edit != nil {
				tt.edit(&sp)
			}
			_, _, err := e.kv.Put(ctx, e.caller, e.id("rg", tt.vault), sp)
			wantErr(t, err, errkind.Invalid, tt.sentinel)
			if !strings.Contains(errkind.Message(err), tt.msg) {
				t.Errorf("message %q does not say %q", errkind.Message(err), tt.msg)
			}
			if _, err := e.kv.ByName(ctx, tt.vault); errkind.KindOf(err) != errkind.NotFound {
				t.Errorf("a rejected PUT created the vault: %v", err)
			}
		})
	}
	// On an existing vault: retention is fixed, purge protection cannot be
	// turned off, RBAC cannot be turned on.
	v := e.create(t, "rg", "fixed", func(s *keyvault.Spec) { s.Retention = ptr(30); s.PurgeProtection = ptr(true) })
	for _, p := range []keyvault.Properties{{Retention: ptr(31)}, {PurgeProtection: ptr(false)}, {RBACAuthorization: ptr(true)},
		{Policies: many}, {TenantID: ptr(e.other.TenantID)}} {
		_, err := e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{Properties: p})
		wantErr(t, err, errkind.Invalid, nil)
	}
	if got, _ := e.kv.Get(ctx, v.ID); got.Version != v.Version || got.Retention != 30 || !got.PurgeProtection {
		t.Errorf("rejected patches changed the vault: %+v", got)
	}
	if _, err := e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{Properties: keyvault.Properties{Retention: ptr(30),
		SoftDelete: ptr(true), PurgeProtection: ptr(true), RBACAuthorization: ptr(false)}}); err != nil {
		t.Errorf("patch restating the fixed values: %v", err)
	}
}

func TestNamesAreGlobal(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg1", "Shared-Name", nil)
	// Another group, another subscription (and tenant), any casing: taken.
	_, _, err := e.kv.Put(ctx, e.caller, e.id("rg2", "shared-name"), e.spec())
	wantErr(t, err, errkind.Conflict, keyvault.ErrNameTaken)
	otherSpec := e.spec()
	otherSpec.TenantID, otherSpec.Policies = ptr(e.other.TenantID), []keyvault.AccessPolicy{}
	_, _, err = e.kv.Put(ctx, e.other, vaultID(e.otherSub, "rg", "SHARED-NAME"), otherSpec)
	wantErr(t, err, errkind.Conflict, keyvault.ErrNameTaken)
	if a, _ := e.kv.CheckName(ctx, "shared-NAME"); a.Available || a.Reason != keyvault.ReasonAlreadyExists || a.Message == "" {
		t.Errorf("CheckName(taken) = %+v", a)
	}
	if a, _ := e.kv.CheckName(ctx, "a--b"); a.Available || a.Reason != keyvault.ReasonInvalid || !strings.Contains(a.Message, "invalid") {
		t.Errorf("CheckName(invalid) = %+v", a)
	}
	if a, _ := e.kv.CheckName(ctx, "free-name"); !a.Available || a.Reason != "" {
		t.Errorf("CheckName(free) = %+v", a)
	}

	// Soft-deleted, the name stays reserved: ConflictError in its own
	// subscription, VaultAlreadyExists elsewhere (nothing about the other
	// subscription leaks).
	if existed, err := e.kv.Delete(ctx, v.ID); !existed || err != nil {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	_, _, err = e.kv.Put(ctx, e.caller, e.id("rg2", "shared-name"), e.spec())
	wantErr(t, err, errkind.Conflict, keyvault.ErrNameDeleted)
	if !strings.Contains(errkind.Message(err), "already exists in deleted state") {
		t.Errorf("message: %q", errkind.Message(err))
	}
	_, _, err = e.kv.Put(ctx, e.other, vaultID(e.otherSub, "rg", "shared-name"), otherSpec)
	wantErr(t, err, errkind.Conflict, keyvault.ErrNameTaken)
	if a, _ := e.kv.CheckName(ctx, "shared-name"); a.Available {
		t.Error("a soft-deleted vault's name is available")
	}
	// The other subscription can neither see nor recover nor purge it.
	_, err = e.kv.GetDeleted(ctx, e.otherSub, "westeurope", "shared-name")
	wantErr(t, err, errkind.NotFound, keyvault.ErrDeletedNotFound)
	otherSpec.CreateMode = keyvault.CreateRecover
	_, _, err = e.kv.Put(ctx, e.other, vaultID(e.otherSub, "rg", "shared-name"), otherSpec)
	wantErr(t, err, errkind.NotFound, keyvault.ErrNothingToRecover)
	wantErr(t, e.kv.Purge(ctx, e.otherSub, "westeurope", "shared-name"), errkind.NotFound, keyvault.ErrDeletedNotFound)
}

func TestAccessPolicyUpdates(t *testing.T) {
	e := newEnv(t)
	alice, bob := principal.NewID(), principal.NewID()
	v := e.create(t, "rg", "policies", func(s *keyvault.Spec) {
		s.Policies = []keyvault.AccessPolicy{{TenantID: strings.ToUpper(e.caller.TenantID), ObjectID: strings.ToUpper(alice),
			Permissions: keyvault.Permissions{Secrets: []string{"Get", "LIST", "get"}, Keys: []string{"WRAPKEY"}}}}
	})
	want := func(got keyvault.Vault, policies ...keyvault.AccessPolicy) {
		t.Helper()
		if diff := cmp.Diff(policies, got.Policies); diff != "" {
			t.Fatalf("policies (-want +got):\n%s", diff)
		}
	}
	tenant := strings.ToLower(e.caller.TenantID)
	pol := func(obj string, keys []string, secrets ...string) keyvault.AccessPolicy {
		return keyvault.AccessPolicy{TenantID: tenant, ObjectID: obj, Permissions: keyvault.Permissions{
			Keys: append([]string{}, keys...), Secrets: append([]string{}, secrets...), Certificates: []string{}, Storage: []string{}}}
	}
	// Canonical spelling: secrets lower-case, keys as the enum writes them.
	want(v, pol(alice, []string{"wrapKey"}, "get", "list"))

	upd := func(kind keyvault.PolicyUpdate, ps ...keyvault.AccessPolicy) keyvault.Vault {
		t.Helper()
		got, err := e.kv.UpdateAccessPolicies(ctx, v.ID, kind, ps)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		return got
	}
	got := upd(keyvault.PolicyAdd, e.policy(alice, "set", "get"), e.policy(bob, "get"))
	want(got, pol(alice, []string{"wrapKey"}, "get", "list", "set"), pol(bob, nil, "get"))
	got = upd(keyvault.PolicyReplace, e.policy(alice, "delete"))
	want(got, pol(alice, nil, "delete"), pol(bob, nil, "get"))
	got = upd(keyvault.PolicyRemove, e.policy(bob, "get"), e.policy(principal.NewID(), "get"))
	want(got, pol(alice, nil, "delete"))
	upd(keyvault.PolicyAdd, e.policy(bob, "get", "list"))
	got = upd(keyvault.PolicyRemove, e.policy(bob, "list"))
	want(got, pol(alice, nil, "delete"), pol(bob, nil, "get"))
	got = upd(keyvault.PolicyRemove, e.policy(alice)) // no permissions: the whole entry
	want(got, pol(bob, nil, "get"))
	if stored, _ := e.kv.Get(ctx, v.ID); !cmp.Equal(stored.Policies, got.Policies) {
		t.Errorf("stored policies differ from the answer: %s", cmp.Diff(got.Policies, stored.Policies))
	}
	if !got.Allows(tenant, bob, keyvault.SecretGet) || got.Allows(tenant, bob, keyvault.SecretSet) {
		t.Error("Allows does not follow the policies")
	}

	_, err := e.kv.UpdateAccessPolicies(ctx, v.ID, keyvault.PolicyAdd, []keyvault.AccessPolicy{
		{TenantID: e.other.TenantID, ObjectID: bob, Permissions: keyvault.Permissions{Secrets: []string{"get"}}}})
	wantErr(t, err, errkind.Invalid, nil)
	many := make([]keyvault.AccessPolicy, keyvault.MaxPolicies)
	for i := range many {
		many[i] = e.policy(principal.NewID(), "get")
	}
	_, err = e.kv.UpdateAccessPolicies(ctx, v.ID, keyvault.PolicyAdd, many) // 1 + 1024
	wantErr(t, err, errkind.Invalid, nil)
	if _, err := e.kv.UpdateAccessPolicies(ctx, e.id("rg", "missing"), keyvault.PolicyAdd, nil); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("missing vault: %v", err)
	}
	if k, err := keyvault.ParsePolicyUpdate("Replace"); k != keyvault.PolicyReplace || err != nil {
		t.Errorf("ParsePolicyUpdate = %v, %v", k, err)
	}
	if _, err := keyvault.ParsePolicyUpdate("merge"); errkind.KindOf(err) != errkind.Invalid {
		t.Errorf("ParsePolicyUpdate(merge) = %v", err)
	}
}

// TestConcurrentPolicyAdds: concurrent adds of different principals are
// all kept, through one service (they queue) and through two services on
// one store, as two replicas (the loser of a race reads again and retries).
func TestConcurrentPolicyAdds(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg", "racy", nil)
	replica, err := keyvault.New(keyvault.Config{Store: e.store, Locks: e.locks, Now: e.clock.Now,
		VaultURI: func(name string) string { return name }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		kv := e.kv
		if i%2 == 1 {
			kv = replica
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := kv.UpdateAccessPolicies(ctx, v.ID, keyvault.PolicyAdd, []keyvault.AccessPolicy{e.policy(principal.NewID(), "get")}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := e.kv.Get(ctx, v.ID); len(got.Policies) != 9 {
		t.Errorf("%d policies after 8 concurrent adds to 1, want 9", len(got.Policies))
	}
}

func TestLocks(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg", "locked", nil)
	e.lock(t, v.ID, lock.CanNotDelete)
	_, err := e.kv.Delete(ctx, v.ID)
	wantErr(t, err, errkind.Locked, nil)
	if !strings.Contains(errkind.Message(err), "cannot perform delete operation") {
		t.Errorf("message: %q", errkind.Message(err))
	}
	if _, err := e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{Tags: map[string]string{"a": "b"}}); err != nil {
		t.Errorf("CanNotDelete blocked a write: %v", err)
	}
	// ReadOnly on the group blocks every change below it, creation included.
	e.lock(t, resource.NewResourceGroup(e.sub, "rg"), lock.ReadOnly)
	_, err = e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{})
	wantErr(t, err, errkind.Locked, nil)
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, e.spec())
	wantErr(t, err, errkind.Locked, nil)
	_, _, err = e.kv.Put(ctx, e.caller, e.id("rg", "new-one"), e.spec())
	wantErr(t, err, errkind.Locked, nil)
	_, err = e.kv.UpdateAccessPolicies(ctx, v.ID, keyvault.PolicyAdd, []keyvault.AccessPolicy{e.policy(principal.NewID(), "get")})
	wantErr(t, err, errkind.Locked, nil)

	// A ReadOnly subscription lock forbids purging (a POST action).
	d := e.create(t, "free", "to-purge", nil)
	if _, err := e.kv.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	e.lock(t, resource.NewSubscription(e.sub), lock.ReadOnly)
	wantErr(t, e.kv.Purge(ctx, e.sub, "westeurope", "to-purge"), errkind.Locked, nil)
}

func TestDeleteAllIn(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"g-one", "g-two"} {
		e.create(t, "doomed", n, nil)
	}
	keep := e.create(t, "kept", "g-three", nil)
	for range 2 { // idempotent
		if err := e.kv.DeleteAllIn(ctx, resource.NewResourceGroup(e.sub, "DOOMED")); err != nil {
			t.Fatal(err)
		}
	}
	deleted, _ := e.kv.ListDeleted(ctx, e.sub, "", 10)
	if len(deleted) != 2 || deleted[0].Name() != "g-one" || deleted[1].Name() != "g-two" {
		t.Errorf("deleted = %v", deleted)
	}
	if _, err := e.kv.Get(ctx, keep.ID); err != nil {
		t.Errorf("vault of another group: %v", err)
	}
}

func TestRecoveryLevel(t *testing.T) {
	for _, tt := range []struct {
		retention int
		pp        bool
		want      string
	}{{90, false, "Recoverable+Purgeable"}, {90, true, "Recoverable"}, {7, false, "CustomizedRecoverable+Purgeable"}, {30, true, "CustomizedRecoverable"}} {
		if got := (keyvault.Vault{Retention: tt.retention, PurgeProtection: tt.pp}).RecoveryLevel(); got != tt.want {
			t.Errorf("RecoveryLevel(%d, %v) = %s, want %s", tt.retention, tt.pp, got, tt.want)
		}
	}
}

// FuzzValidName checks the hand-written name rule against its definition:
// ^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$ with no "--".
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"abc", "a-b-c", "a--b", "1ab", "ab-", strings.Repeat("x", 24), strings.Repeat("x", 25), "é-ab", "ab\x00c"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
	f.Fuzz(func(t *testing.T, name string) {
		want := re.MatchString(name) && !strings.Contains(name, "--")
		if got := keyvault.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	})
}
