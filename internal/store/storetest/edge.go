package storetest

import (
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("EdgeDevices", testEdgeDevices)
	register("EdgeDeviceLists", testEdgeDeviceLists)
	register("EdgeDeviceDelete", testEdgeDeviceDelete)
	register("ActivationKeys", testActivationKeys)
	register("ActivationKeyUse", testActivationKeyUse)
	register("Alerts", testAlerts)
	register("AlertConcurrentRaise", testAlertConcurrentRaise)
}

func sampleDevice(sub, group, name string) edge.Device {
	return edge.Device{
		UID: principal.NewID(), ID: resource.NewResourceGroup(sub, group).Child(edge.Namespace, "dataBoxEdgeDevices", name),
		Location: "westeurope", Tags: map[string]string{"site": "plant-7"}, SKU: "EdgeP_Base", Kind: "AzureStackEdge",
		TenantID: principal.NewID(), IdentityID: principal.NewID(), Status: edge.ReadyToSetup,
		ResourceKey: "123456789012345678", SyncStatus: edge.KeyVaultNotConfigured, CreatedBy: principal.NewID(),
		CreatedAt: at, UpdatedAt: at, Version: 1,
	}
}

func insertDevice(t *testing.T, s *store.Store, sub, group, name string) edge.Device {
	t.Helper()
	d := sampleDevice(sub, group, name)
	if err := s.InsertDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func testEdgeDevices(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	d := insertDevice(t, s, sub, "Edge-RG", "Plant-7")

	got, err := s.Device(ctx, mustID(t, "/SUBSCRIPTIONS/"+sub+"/resourcegroups/edge-rg/providers/microsoft.databoxedge/DATABOXEDGEDEVICES/plant-7"))
	if err != nil || !cmp.Equal(got, d, idComparer) {
		t.Fatalf("Device (other case): %v\n%s", err, cmp.Diff(d, got, idComparer))
	}
	if got, err := s.DeviceByUID(ctx, d.UID); err != nil || !cmp.Equal(got, d, idComparer) {
		t.Fatalf("DeviceByUID: %v\n%s", err, cmp.Diff(d, got, idComparer))
	}
	_, err = s.DeviceByUID(ctx, principal.NewID())
	wantKind(t, err, errkind.NotFound)
	_, err = s.Device(ctx, resource.NewResourceGroup(sub, "edge-rg").Child(edge.Namespace, "dataBoxEdgeDevices", "other"))
	wantKind(t, err, errkind.NotFound)
	// Same group and name, another resource type: not this device.
	_, err = s.Device(ctx, resource.NewResourceGroup(sub, "edge-rg").Child("Microsoft.KeyVault", "vaults", "plant-7"))
	wantKind(t, err, errkind.NotFound)

	// Names are unique per group, ignoring case; another group may reuse one.
	wantKind(t, s.InsertDevice(ctx, sampleDevice(sub, "EDGE-rg", "PLANT-7")), errkind.Conflict)
	insertDevice(t, s, sub, "other-rg", "plant-7")

	// Every field survives a compare-and-swap replacement.
	next := d.Clone()
	next.Tags, next.Status, next.SerialNumber, next.SyncStatus = map[string]string{}, edge.Online, "SN-0042", edge.KeyVaultSynced
	next.Link = edge.Link{VaultID: "/subscriptions/" + sub + "/resourceGroups/edge-rg/providers/Microsoft.KeyVault/vaults/v1",
		VaultURI: "https://v1.vault.localhost/", VaultLock: "lock-1", CIKName: "cik", CIKVersion: "0123abcd",
		StorageAccountID: "/subscriptions/x/sa", StorageLock: "lock-2", DiagnosticSettingID: "/subscriptions/x/ds",
		PolicyGranted: true, Provisioned: true, Warnings: []edge.Warning{{Step: "CreateAuditStorageAccount", Message: "storage account quota"}}}
	next.Secrets = map[string]edge.SecretRef{
		"AdministratorPassword": {KeyVaultID: "secrets/AdministratorPassword/v1", SyncedAt: at.Add(time.Minute)},
		"BmcPassword":           {KeyVaultID: "secrets/BmcPassword/v2"},
	}
	next.EncryptionKey, next.EncryptionKeyThumbprint, next.GenerateOp = "MIIBIjAN", "ABCDEF", principal.NewID()
	next.GenerateOpAt = at.Add(time.Minute)
	next.LastSeen, next.UpdatedAt, next.Version = at.Add(time.Hour), at.Add(time.Hour), 2
	if err := s.UpdateDevice(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateDevice(ctx, next, 1); !errors.Is(err, edge.ErrChanged) {
		t.Fatalf("stale version: %v, want ErrChanged", err)
	}
	if got, _ := s.DeviceByUID(ctx, d.UID); !cmp.Equal(got, next, idComparer) {
		t.Fatalf("after update: %s", cmp.Diff(next, got, idComparer))
	}
	missing := sampleDevice(sub, "edge-rg", "ghost")
	if err := s.UpdateDevice(ctx, missing, 1); !errors.Is(err, edge.ErrChanged) {
		t.Fatalf("update of a device never inserted: %v, want ErrChanged", err)
	}
}

func testEdgeDeviceLists(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	// "rg-a/..." sorts before "rg/..." byte by byte ('-' < '/'), whatever the
	// database collation; group "rg" must not take in "rg-a".
	for _, gn := range [][2]string{{"rg", "d2"}, {"RG-A", "D3"}, {"rg", "D1"}, {"rg-a", "d1"}, {"rg-b", "d9"}} {
		insertDevice(t, s, sub, gn[0], gn[1])
	}
	keys := func(f edge.Filter) []string {
		t.Helper()
		ds, err := s.Devices(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, d := range ds {
			if d.ID.SubscriptionID() != f.SubscriptionID {
				t.Errorf("Devices(%+v) returned %s", f, d.ID)
			}
			out = append(out, d.ID.ResourceGroupName()+"/"+d.Name())
		}
		return out
	}
	for _, tt := range []struct {
		f    edge.Filter
		want []string
	}{
		{edge.Filter{SubscriptionID: sub, Limit: 10}, []string{"rg-a/d1", "RG-A/D3", "rg-b/d9", "rg/D1", "rg/d2"}},
		{edge.Filter{SubscriptionID: sub, Limit: 2}, []string{"rg-a/d1", "RG-A/D3"}},
		{edge.Filter{SubscriptionID: sub, After: "rg-a/d3", Limit: 2}, []string{"rg-b/d9", "rg/D1"}},
		{edge.Filter{SubscriptionID: sub, After: "rg/d1", Limit: 2}, []string{"rg/d2"}},
		{edge.Filter{SubscriptionID: sub, After: "rg/d2", Limit: 2}, []string{}},
		{edge.Filter{SubscriptionID: sub, ResourceGroup: "RG", Limit: 10}, []string{"rg/D1", "rg/d2"}},
		{edge.Filter{SubscriptionID: sub, ResourceGroup: "rg", After: "rg/d1", Limit: 10}, []string{"rg/d2"}},
		{edge.Filter{SubscriptionID: sub, ResourceGroup: "rg-A", Limit: 1}, []string{"rg-a/d1"}},
		{edge.Filter{SubscriptionID: sub, ResourceGroup: "rg-a", After: "rg-a/d1", Limit: 1}, []string{"RG-A/D3"}},
		{edge.Filter{SubscriptionID: sub, ResourceGroup: "nope", Limit: 10}, []string{}},
		// Subscriptions are disjoint: the same groups elsewhere hold nothing.
		{edge.Filter{SubscriptionID: principal.NewID(), Limit: 10}, []string{}},
		{edge.Filter{SubscriptionID: principal.NewID(), ResourceGroup: "rg", Limit: 10}, []string{}},
	} {
		if got := keys(tt.f); !cmp.Equal(got, tt.want) {
			t.Errorf("Devices(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func sampleKey(deviceUID string, created time.Time, secret string) activation.Key {
	h := sha256.Sum256([]byte(secret))
	return activation.Key{ID: principal.NewID(), DeviceUID: deviceUID, SecretHash: h[:], CreatedBy: principal.NewID(),
		CreatedAt: created, ExpiresAt: created.Add(72 * time.Hour)}
}

func insertKey(t *testing.T, s *store.Store, k activation.Key) activation.Key {
	t.Helper()
	if err := s.InsertActivationKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleAlert(deviceUID string, typ alert.Type, appeared time.Time) alert.Alert {
	return alert.Alert{ID: principal.NewID(), DeviceUID: deviceUID, Type: typ, Severity: alert.Warning,
		Title: "Audit storage is not configured", Recommendation: "Regenerate the activation key.",
		ErrorCode: "StorageAccountNotFound", ErrorMessage: "first", Occurrences: 1,
		Details: map[string]string{"attempt": "1"}, AppearedAt: appeared, LastSeenAt: appeared}
}

func testEdgeDeviceDelete(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	d, other := insertDevice(t, s, sub, "rg", "d1"), insertDevice(t, s, sub, "rg", "d2")
	k := insertKey(t, s, sampleKey(d.UID, at, "k"))
	otherKey := insertKey(t, s, sampleKey(other.UID, at, "o"))
	for _, a := range []alert.Alert{sampleAlert(d.UID, alert.StorageAccountMissing, at), sampleAlert(other.UID, alert.StorageAccountMissing, at)} {
		if _, err := s.RaiseAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDevice(ctx, d.UID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteDevice(ctx, d.UID), errkind.NotFound)
	_, err := s.DeviceByUID(ctx, d.UID)
	wantKind(t, err, errkind.NotFound)
	_, err = s.ActivationKey(ctx, k.ID)
	wantKind(t, err, errkind.NotFound)
	if as, err := s.Alerts(ctx, d.UID); err != nil || len(as) != 0 {
		t.Fatalf("alerts of the deleted device: %+v, %v", as, err)
	}
	// The other device keeps its own.
	if _, err := s.ActivationKey(ctx, otherKey.ID); err != nil {
		t.Fatalf("other device's key: %v", err)
	}
	if as, err := s.Alerts(ctx, other.UID); err != nil || len(as) != 1 {
		t.Fatalf("other device's alerts: %+v, %v", as, err)
	}
	// The name is free again, under a new uid that inherits nothing.
	again := insertDevice(t, s, sub, "RG", "D1")
	if ks, err := s.ActivationKeys(ctx, again.UID, 10); err != nil || len(ks) != 0 {
		t.Fatalf("keys of the re-created device: %+v, %v", ks, err)
	}
}

func testActivationKeys(t *testing.T, open Opener) {
	s := open(t)
	dev, other := principal.NewID(), principal.NewID()
	k1 := insertKey(t, s, sampleKey(dev, at, "k1"))
	if _, ok, err := s.UseActivationKey(ctx, k1.ID, k1.SecretHash, "SN-1", "fp-1", at.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("use k1: %v, %v", ok, err)
	}
	otherKey := insertKey(t, s, sampleKey(other, at, "o"))
	wantKind(t, s.InsertActivationKey(ctx, k1), errkind.Conflict)

	// A new key revokes the unused k2, not the used k1 nor another device's.
	k2 := insertKey(t, s, sampleKey(dev, at.Add(time.Minute), "k2"))
	k3 := insertKey(t, s, sampleKey(dev, at.Add(time.Hour), "k3"))
	wantK2 := k2
	wantK2.RevokedAt = k3.CreatedAt
	if got, err := s.ActivationKey(ctx, k2.ID); err != nil || !cmp.Equal(got, wantK2) {
		t.Fatalf("k2 after k3: %v\n%s", err, cmp.Diff(wantK2, got))
	}
	if got, _ := s.ActivationKey(ctx, k1.ID); !got.RevokedAt.IsZero() || got.StateAt(at) != activation.Used {
		t.Fatalf("used k1 revoked: %+v", got)
	}
	if got, _ := s.ActivationKey(ctx, otherKey.ID); !got.RevokedAt.IsZero() {
		t.Fatalf("other device's key revoked: %+v", got)
	}
	_, err := s.ActivationKey(ctx, principal.NewID())
	wantKind(t, err, errkind.NotFound)

	ids := func(ks []activation.Key, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return out
	}
	if got := ids(s.ActivationKeys(ctx, dev, 10)); !cmp.Equal(got, []string{k3.ID, k2.ID, k1.ID}) {
		t.Errorf("ActivationKeys = %v, want k3, k2, k1", got)
	}
	if got := ids(s.ActivationKeys(ctx, dev, 2)); !cmp.Equal(got, []string{k3.ID, k2.ID}) {
		t.Errorf("ActivationKeys limit 2 = %v, want k3, k2", got)
	}

	// Revoking by id touches only the device's unused, unrevoked keys.
	k4 := insertKey(t, s, sampleKey(dev, at.Add(2*time.Hour), "k4")) // revokes k3
	revokeAt := at.Add(3 * time.Hour)
	got4, err := s.RevokeActivationKeys(ctx, dev, []string{k1.ID, k2.ID, k3.ID, otherKey.ID}, revokeAt)
	if err != nil || len(got4) != 0 {
		t.Fatalf("RevokeActivationKeys(used, revoked, other device's) = %v, %v; want none", got4, err)
	}
	got4, err = s.RevokeActivationKeys(ctx, dev, []string{k4.ID, otherKey.ID}, revokeAt)
	if err != nil || !cmp.Equal(got4, []string{k4.ID}) {
		t.Fatalf("RevokeActivationKeys(k4) = %v, %v", got4, err)
	}
	if got, _ := s.ActivationKey(ctx, k4.ID); !got.RevokedAt.Equal(revokeAt) {
		t.Fatalf("k4 RevokedAt = %v, want %v", got.RevokedAt, revokeAt)
	}
	// Without ids: every unused, unrevoked key of the device.
	k5 := insertKey(t, s, sampleKey(dev, at.Add(4*time.Hour), "k5"))
	got4, err = s.RevokeActivationKeys(ctx, dev, nil, revokeAt)
	if err != nil || !cmp.Equal(got4, []string{k5.ID}) {
		t.Fatalf("RevokeActivationKeys(all) = %v, %v", got4, err)
	}
	if got, _ := s.ActivationKey(ctx, otherKey.ID); !got.RevokedAt.IsZero() {
		t.Fatalf("other device's key revoked: %+v", got)
	}
}

func testActivationKeyUse(t *testing.T, open Opener) {
	s := open(t)
	dev := principal.NewID()
	k := insertKey(t, s, sampleKey(dev, at, "live"))
	useAt := at.Add(time.Hour)

	wrong := sha256.Sum256([]byte("guess"))
	got, ok, err := s.UseActivationKey(ctx, k.ID, wrong[:], "SN-X", "fp-x", useAt)
	if err != nil || ok || !cmp.Equal(got, k) {
		t.Fatalf("wrong hash: %+v, %v, %v; want the key unchanged, false", got, ok, err)
	}
	_, _, err = s.UseActivationKey(ctx, principal.NewID(), k.SecretHash, "SN-X", "fp-x", useAt)
	wantKind(t, err, errkind.NotFound)
	if got, ok, err := s.UseActivationKey(ctx, k.ID, k.SecretHash, "SN-X", "fp-x", k.ExpiresAt); err != nil || ok ||
		got.StateAt(k.ExpiresAt) != activation.Expired {
		t.Fatalf("at expiry: %+v, %v, %v; want Expired, false", got, ok, err)
	}

	// Of 50 concurrent users, exactly one wins; every caller sees it used.
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			serial := "SN-" + strconv.Itoa(i)
			got, ok, err := s.UseActivationKey(ctx, k.ID, k.SecretHash, serial, "fp-"+serial, useAt)
			if err != nil {
				t.Errorf("UseActivationKey: %v", err)
				return
			}
			if got.StateAt(useAt) != activation.Used || !got.UsedAt.Equal(useAt) {
				t.Errorf("returned key not used: %+v", got)
			}
			if ok {
				if got.UsedBySerial != serial || got.UsedByKey != "fp-"+serial {
					t.Errorf("winner %s sees %+v", serial, got)
				}
				mu.Lock()
				winners = append(winners, serial)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d concurrent uses won (%v), want exactly 1", len(winners), winners)
	}
	got, err = s.ActivationKey(ctx, k.ID)
	if err != nil || got.UsedBySerial != winners[0] || got.UsedByKey != "fp-"+winners[0] {
		t.Fatalf("stored key %+v, %v; want used by %s", got, err, winners[0])
	}

	// A revoked key cannot be used.
	r := insertKey(t, s, sampleKey(dev, at.Add(time.Minute), "revoked"))
	if _, err := s.RevokeActivationKeys(ctx, dev, []string{r.ID}, at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.UseActivationKey(ctx, r.ID, r.SecretHash, "SN-X", "fp-x", useAt); err != nil || ok ||
		got.StateAt(useAt) != activation.Revoked || got.UsedBySerial != "" {
		t.Fatalf("revoked key: %+v, %v, %v; want Revoked, false", got, ok, err)
	}
}

func testAlerts(t *testing.T, open Opener) {
	s := open(t)
	dev, other := principal.NewID(), principal.NewID()
	first := sampleAlert(dev, alert.StorageAccountMissing, at)
	got, err := s.RaiseAlert(ctx, first)
	if err != nil || !cmp.Equal(got, first) {
		t.Fatalf("RaiseAlert: %v\n%s", err, cmp.Diff(first, got))
	}
	// Raised again: one alert, two occurrences, the new message and details.
	again := sampleAlert(dev, alert.StorageAccountMissing, at.Add(time.Hour))
	again.ErrorMessage, again.Details = "second", map[string]string{"attempt": "2"}
	got, err = s.RaiseAlert(ctx, again)
	want := first
	want.Occurrences, want.LastSeenAt, want.ErrorMessage, want.Details = 2, again.LastSeenAt, "second", again.Details
	if err != nil || !cmp.Equal(got, want) {
		t.Fatalf("RaiseAlert again: %v\n%s", err, cmp.Diff(want, got))
	}
	if got, err := s.Alert(ctx, dev, first.ID); err != nil || !cmp.Equal(got, want) {
		t.Fatalf("Alert: %v\n%s", err, cmp.Diff(want, got))
	}
	_, err = s.Alert(ctx, other, first.ID)
	wantKind(t, err, errkind.NotFound)
	_, err = s.Alert(ctx, dev, principal.NewID())
	wantKind(t, err, errkind.NotFound)

	// Resolved, it stays as history; raised once more, it is a new alert.
	resolvedAt := at.Add(2 * time.Hour)
	if ok, err := s.ResolveAlert(ctx, dev, alert.StorageAccountMissing, resolvedAt); err != nil || !ok {
		t.Fatalf("ResolveAlert = %v, %v", ok, err)
	}
	if ok, err := s.ResolveAlert(ctx, dev, alert.StorageAccountMissing, resolvedAt); err != nil || ok {
		t.Fatalf("ResolveAlert of a resolved alert = %v, %v; want false", ok, err)
	}
	if ok, err := s.ResolveAlert(ctx, other, alert.StorageAccountMissing, resolvedAt); err != nil || ok {
		t.Fatalf("ResolveAlert of another device = %v, %v; want false", ok, err)
	}
	want.ResolvedAt = resolvedAt
	third := sampleAlert(dev, alert.StorageAccountMissing, at.Add(3*time.Hour))
	if got, err := s.RaiseAlert(ctx, third); err != nil || !cmp.Equal(got, third) {
		t.Fatalf("RaiseAlert after resolve: %v\n%s", err, cmp.Diff(third, got))
	}
	// An older active alert of another type, and another device's alert.
	diag := sampleAlert(dev, alert.DiagnosticSettingMissing, at.Add(-time.Hour))
	diag.Details = nil // stored as none, read back empty
	for _, a := range []alert.Alert{diag, sampleAlert(other, alert.DiagnosticSettingMissing, at)} {
		if _, err := s.RaiseAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	diag.Details = map[string]string{}
	// Active first, newest first; then the resolved history.
	as, err := s.Alerts(ctx, dev)
	if err != nil || !cmp.Equal(as, []alert.Alert{third, diag, want}) {
		t.Fatalf("Alerts: %v\n%s", err, cmp.Diff([]alert.Alert{third, diag, want}, as))
	}
}

func testAlertConcurrentRaise(t *testing.T, open Opener) {
	s := open(t)
	dev := principal.NewID()
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.RaiseAlert(ctx, sampleAlert(dev, alert.StorageAccountMissing, at)); err != nil {
				t.Errorf("RaiseAlert: %v", err)
			}
		}()
	}
	wg.Wait()
	as, err := s.Alerts(ctx, dev)
	if err != nil || len(as) != 1 || as[0].Occurrences != n || !as[0].Active() {
		t.Fatalf("after %d concurrent raises: %+v, %v; want one active alert counting %d", n, as, err, n)
	}
}
