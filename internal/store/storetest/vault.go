package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("Vaults", testVaults)
	register("VaultLists", testVaultLists)
	register("VaultConcurrency", testVaultConcurrency)
}

// sampleVault is a live vault with every field set.
func sampleVault(sub, group, name string) keyvault.Vault {
	return keyvault.Vault{
		UID: principal.NewID(), ID: resource.NewResourceGroup(sub, group).Child("Microsoft.KeyVault", "vaults", name),
		Location: "westeurope", Tags: map[string]string{"env": "test"}, TenantID: principal.NewID(), SKU: "premium",
		Policies: []keyvault.AccessPolicy{
			{TenantID: "t1", ObjectID: "o1", Permissions: keyvault.Permissions{Keys: []string{}, Secrets: []string{"get", "set"},
				Certificates: []string{}, Storage: []string{}}},
			{TenantID: "t1", ObjectID: "o2", ApplicationID: "a2", Permissions: keyvault.Permissions{Keys: []string{"wrapKey"},
				Secrets: []string{"all"}, Certificates: []string{"get"}, Storage: []string{"list"}}},
		},
		Retention: 30, PurgeProtection: true, EnabledForDeployment: true, EnabledForDiskEncryption: true,
		EnabledForTemplateDeployment: true, PublicNetworkAccess: "Enabled", ProvisioningState: "Succeeded",
		CreatedAt: at, UpdatedAt: at.Add(time.Second), CreatedBy: principal.NewID(), Version: 1,
	}
}

func seedSubscription(t *testing.T, s *store.Store) string {
	t.Helper()
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r.Subscription.ID
}

func testVaults(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	v := sampleVault(sub, "Edge-RG", "My-Vault")
	if err := s.InsertVault(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := s.VaultByName(ctx, "my-VAULT")
	if err != nil || !cmp.Equal(got, v, idComparer) {
		t.Fatalf("VaultByName: %v\n%s", err, cmp.Diff(v, got, idComparer))
	}
	// The name is global: another group, another casing, same name.
	dup := sampleVault(sub, "other", "MY-vault")
	wantKind(t, s.InsertVault(ctx, dup), errkind.Conflict)
	_, err = s.VaultByName(ctx, "nope")
	wantKind(t, err, errkind.NotFound)

	// Optimistic replacement.
	next := v
	next.Tags, next.Policies, next.Version, next.UpdatedAt = map[string]string{}, []keyvault.AccessPolicy{}, 2, at.Add(time.Hour)
	next.SKU, next.PurgeProtection, next.EnabledForDeployment = "standard", false, false
	if err := s.UpdateVault(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateVault(ctx, next, 1); !errors.Is(err, keyvault.ErrChanged) {
		t.Fatalf("stale version: %v", err)
	}
	got, _ = s.VaultByName(ctx, "my-vault")
	if !cmp.Equal(got, next, idComparer) {
		t.Fatalf("after update: %s", cmp.Diff(next, got, idComparer))
	}
	// Soft delete and purge marks round-trip; the name stays taken.
	del := next
	del.DeletedAt, del.ScheduledPurgeAt, del.Purging, del.Version = at, at.AddDate(0, 0, 30), true, 3
	if err := s.UpdateVault(ctx, del, 2); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.VaultByName(ctx, "MY-VAULT"); !cmp.Equal(got, del, idComparer) {
		t.Fatalf("deleted: %s", cmp.Diff(del, got, idComparer))
	}
	wantKind(t, s.InsertVault(ctx, dup), errkind.Conflict)
	if err := s.DeleteVault(ctx, v.UID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteVault(ctx, v.UID), errkind.NotFound)
	if err := s.UpdateVault(ctx, del, 3); !errors.Is(err, keyvault.ErrChanged) {
		t.Fatalf("update of a purged vault: %v", err)
	}
	// Purged: the name is free again.
	if err := s.InsertVault(ctx, dup); err != nil {
		t.Fatalf("name not freed by the purge: %v", err)
	}
}

func testVaultLists(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	names := func(vs []keyvault.Vault) []string {
		out := []string{}
		for _, v := range vs {
			out = append(out, v.Name())
		}
		return out
	}
	for _, x := range []struct {
		group, name string
		deleted     time.Duration // offset of the scheduled purge from at; 0: live
		purging     bool
	}{
		{"rg1", "a-live", 0, false}, {"RG1", "B-live", 0, false}, {"rg2", "c-live", 0, false},
		{"rg1", "d-due", -time.Hour, false}, {"rg2", "e-later", time.Hour, false}, {"rg2", "f-purging", time.Hour, true},
		{"rg2", "g-exact", time.Nanosecond, false},
	} {
		v := sampleVault(sub, x.group, x.name)
		if x.deleted != 0 {
			v.DeletedAt, v.ScheduledPurgeAt, v.Purging = at.Add(-time.Hour), at.Add(x.deleted), x.purging
		}
		if err := s.InsertVault(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		f    keyvault.Filter
		want []string
	}{
		{keyvault.Filter{SubscriptionID: sub, State: keyvault.Live, Limit: 10}, []string{"a-live", "B-live", "c-live"}},
		{keyvault.Filter{SubscriptionID: sub, ResourceGroup: "Rg1", State: keyvault.Live, Limit: 10}, []string{"a-live", "B-live"}},
		{keyvault.Filter{SubscriptionID: sub, State: keyvault.Live, After: "a-live", Limit: 1}, []string{"B-live"}},
		{keyvault.Filter{SubscriptionID: sub, State: keyvault.Deleted, Limit: 10}, []string{"d-due", "e-later", "f-purging", "g-exact"}},
		{keyvault.Filter{SubscriptionID: sub, ResourceGroup: "rg1", State: keyvault.Deleted, Limit: 10}, []string{"d-due"}},
		{keyvault.Filter{SubscriptionID: sub, State: keyvault.Any, Limit: 2}, []string{"a-live", "B-live"}},
		{keyvault.Filter{SubscriptionID: "other", State: keyvault.Any, Limit: 10}, []string{}},
	} {
		got, err := s.Vaults(ctx, tt.f)
		if err != nil || !cmp.Equal(names(got), tt.want) {
			t.Errorf("Vaults(%+v) = %v, %v; want %v", tt.f, names(got), err, tt.want)
		}
	}
	due, err := s.DueVaults(ctx, at.Add(time.Nanosecond), 10)
	if err != nil || !cmp.Equal(names(due), []string{"d-due", "f-purging", "g-exact"}) {
		t.Errorf("DueVaults = %v, %v", names(due), err)
	}
	if due, _ := s.DueVaults(ctx, at, 1); !cmp.Equal(names(due), []string{"d-due"}) {
		t.Errorf("DueVaults limit 1 = %v", names(due))
	}
}

// testVaultConcurrency: of racing inserts of one name exactly one wins; of
// racing updates from one version exactly one wins.
func testVaultConcurrency(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	race := func(n int, fn func(i int) error) (wins int) {
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := fn(i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errkind.KindOf(err) == errkind.Conflict, errors.Is(err, keyvault.ErrChanged):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		return wins
	}
	if wins := race(8, func(i int) error {
		return s.InsertVault(ctx, sampleVault(sub, "rg", "racer"))
	}); wins != 1 {
		t.Fatalf("%d concurrent inserts of one name won, want 1", wins)
	}
	v, err := s.VaultByName(ctx, "racer")
	if err != nil {
		t.Fatal(err)
	}
	if wins := race(8, func(i int) error {
		next := v
		next.Version++
		next.Tags = map[string]string{"writer": string(rune('a' + i))}
		return s.UpdateVault(ctx, next, v.Version)
	}); wins != 1 {
		t.Fatalf("%d concurrent updates from one version won, want 1", wins)
	}
}
