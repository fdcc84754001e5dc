package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

// The cost of watching a fleet's escrow (docs/performance.md): one
// reconcile round of edge.ReconcileBatch devices, against a server holding
// 10,000 provisioned devices, and the latency from a vault's deletion to
// the Critical alert on the device escrowing in it.

type fleetEnv struct {
	srv    *Server
	caller principal.Principal
	group  resource.ID
	vault  keyvault.Vault
	mi     principal.Principal
}

var (
	fleetOnce sync.Once
	fleet     *fleetEnv
	vaultSeq  atomic.Int64 // names vaults across benchmark runs
)

// newFleet starts one server for the benchmarks of this file and seeds it
// with n provisioned devices escrowing in one vault (written straight to
// the store: provisioning 10,000 through the API would take minutes and
// measure something else).
func newFleet(b *testing.B, n int) *fleetEnv {
	b.Helper()
	fleetOnce.Do(func() {
		srv, _ := serve(b, benchConfig(b, b.TempDir()), Options{})
		ctx := context.Background()
		f := &fleetEnv{srv: srv, caller: principal.Principal{ObjectID: principal.NewID(), TenantID: srv.boot.TenantID}}
		f.group = resource.NewResourceGroup(srv.boot.SubscriptionID, "fleet-rg")
		if _, _, err := srv.arm.groups.Put(ctx, f.group, resourcegroup.Spec{Location: "westeurope"}, nil); err != nil {
			b.Fatal(err)
		}
		var err error
		if f.mi, err = srv.identity.CreateManagedIdentity(ctx, srv.boot.TenantID, "fleet"); err != nil {
			b.Fatal(err)
		}
		f.vault = f.newVault(b, "kv-fleet")
		now := time.Now().UTC()
		for i := range n {
			d := edge.Device{UID: uuid.NewString(), ID: f.group.Child(edge.Namespace, "dataBoxEdgeDevices", "dbe-"+itoa(i)),
				Location: "westeurope", SKU: "EdgeP_Base", Kind: "AzureStackEdge", TenantID: srv.boot.TenantID, IdentityID: f.mi.ObjectID,
				Status: edge.Online, LastSeen: now, SyncStatus: edge.KeyVaultSynced, CreatedAt: now, UpdatedAt: now, Version: 1,
				Link:  edge.Link{VaultID: f.vault.ID.String(), Provisioned: true, PolicyGranted: true},
				Agent: edge.AgentState{DeviceKey: "k", KeyID: "k"}}
			if err := srv.store.InsertDevice(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
		fleet = f
	})
	if fleet == nil {
		b.Fatal("fleet setup failed")
	}
	return fleet
}

// newVault creates a vault granting the fleet's identity get and set.
func (f *fleetEnv) newVault(b *testing.B, name string) keyvault.Vault {
	b.Helper()
	tenant, std, family := f.srv.boot.TenantID, "standard", "A"
	v, _, err := f.srv.arm.vaults.Put(context.Background(), f.caller, f.group.Child(keyvault.Namespace, "vaults", name), keyvault.Spec{
		Location: "westeurope", Properties: keyvault.Properties{TenantID: &tenant, SKU: &std, SKUFamily: &family,
			Policies: []keyvault.AccessPolicy{{TenantID: tenant, ObjectID: f.mi.ObjectID, Permissions: keyvault.Permissions{Secrets: []string{"get", "set"}}}}}})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkReconcile: one round of the reconcile over a 10,000-device
// fleet that is healthy (reads only). Its cost per round, at one round per
// 2 s, is the fraction of a core the watch takes.
func BenchmarkReconcile(b *testing.B) {
	f := newFleet(b, 10_000)
	ctx := context.Background()
	cursor := ""
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		next, err := f.srv.arm.edge.Reconcile(ctx, cursor, edge.ReconcileBatch)
		if err != nil {
			b.Fatal(err)
		}
		cursor = next
	}
	perRound := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(perRound.Microseconds())/1000, "ms/round")
	b.ReportMetric(100*perRound.Seconds()/2, "%core@2s")
}

// BenchmarkVaultDeletedAlert: from a vault's deletion (the service call
// armapi makes) to the Critical alert on the device escrowing in it.
func BenchmarkVaultDeletedAlert(b *testing.B) {
	f := newFleet(b, 10_000)
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		i := int(vaultSeq.Add(1))
		v := f.newVault(b, "kv-del-"+itoa(i))
		now := time.Now().UTC()
		d := edge.Device{UID: uuid.NewString(), ID: f.group.Child(edge.Namespace, "dataBoxEdgeDevices", "dbe-del-"+itoa(i)),
			Location: "westeurope", SKU: "EdgeP_Base", TenantID: f.srv.boot.TenantID, IdentityID: f.mi.ObjectID,
			Status: edge.Online, LastSeen: now, CreatedAt: now, UpdatedAt: now, Version: 1,
			Link: edge.Link{VaultID: v.ID.String(), Provisioned: true}}
		if err := f.srv.store.InsertDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := f.srv.arm.vaults.Delete(ctx, v.ID); err != nil {
			b.Fatal(err)
		}
		active, err := f.srv.arm.alerts.Active(ctx, d.UID)
		total += time.Since(t0)
		if err != nil || !active[alert.KeyVaultDeleted] {
			b.Fatalf("no KeyVaultDeleted alert right after the deletion (%v)", err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/alert")
}
