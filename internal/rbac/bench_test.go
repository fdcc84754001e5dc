package rbac_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

// BenchmarkAuthorize measures one decision for a caller holding 10
// assignments, in a tenant holding 10,000 and then 100,000 (ten per
// principal) in a real SQLite store. "cached" is the steady state; in
// "uncached" every decision reads the caller's assignments again (as after
// each TTL expiry), through the principal_id index. Both should be flat
// in the tenant's size: neither looks at other principals' assignments.
// The caller's matching assignment is its last, so a decision walks all
// ten.
func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		st, caller, target := seedTenant(b, n)
		for _, mode := range []struct {
			name string
			ttl  time.Duration
		}{{"cached", 0}, {"uncached", time.Nanosecond}} {
			svc, err := rbac.New(rbac.Config{Store: st, Principals: st, CacheTTL: mode.ttl})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("assignments=%d/%s/allowed", n, mode.name), func(b *testing.B) {
				for b.Loop() {
					if err := svc.Authorize(ctx, caller, "Microsoft.KeyVault/vaults/write", target); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("assignments=%d/%s/denied", n, mode.name), func(b *testing.B) {
				for b.Loop() {
					if err := svc.Authorize(ctx, caller, "Microsoft.Authorization/locks/write", target); err == nil {
						b.Fatal("allowed")
					}
				}
			})
		}
	}
}

// seedTenant stores n role assignments, ten per principal, in one
// transaction (through the bootstrap commit, the store's only bulk path),
// and returns the store, a caller holding ten of them, and a vault that
// only the caller's last assignment (Contributor on its group) covers.
func seedTenant(b *testing.B, n int) (*store.Store, principal.Principal, resource.ID) {
	b.Helper()
	st, err := store.Open(ctx, store.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	recs := storetest.SampleRecords()
	sub := recs.Subscription.ID
	at := recs.Tenant.CreatedAt
	caller := principal.Principal{ObjectID: principal.NewID(), TenantID: recs.Tenant.ID, Kind: principal.User,
		UserName: "caller@example.test", Enabled: true}
	recs.RoleAssignments = recs.RoleAssignments[:0]
	for i := range n / 10 {
		pid := principal.NewID()
		role := rbac.Reader
		if i == 0 {
			pid, role = caller.ObjectID, rbac.Contributor
		}
		for j := range 10 {
			rg := resource.NewResourceGroup(sub, fmt.Sprintf("rg-%d-%d", i, j))
			recs.RoleAssignments = append(recs.RoleAssignments, rbac.Assignment{ID: principal.NewID(), Scope: rg.String(),
				PrincipalID: pid, PrincipalType: "User", RoleDefinitionID: role, CreatedAt: at.Add(time.Duration(j))})
		}
	}
	if err := st.CommitBootstrap(ctx, recs); err != nil {
		b.Fatal(err)
	}
	target := resource.NewResourceGroup(sub, "rg-0-9").Child("Microsoft.KeyVault", "vaults", "v1")
	return st, caller, target
}
