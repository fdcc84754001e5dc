package keyvault_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
)

const day = 24 * time.Hour

func TestSoftDeleteRecoverPurge(t *testing.T) {
	e := newEnv(t)
	reader := principal.NewID()
	v := e.create(t, "rg", "phoenix", func(s *keyvault.Spec) {
		s.Retention = ptr(30)
		s.Policies = append(s.Policies, e.policy(reader, "get"))
	})
	deletedAt := e.clock.Now()
	if existed, err := e.kv.Delete(ctx, v.ID); !existed || err != nil {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if existed, err := e.kv.Delete(ctx, v.ID); existed || err != nil {
		t.Fatalf("second Delete = %v, %v (want not existed, no error)", existed, err)
	}
	// Gone from the live surface: Get, ByName (the data plane), lists.
	_, err := e.kv.Get(ctx, v.ID)
	wantErr(t, err, errkind.NotFound, keyvault.ErrNotFound)
	_, err = e.kv.ByName(ctx, "phoenix")
	wantErr(t, err, errkind.NotFound, nil)
	if ok, _ := e.kv.Exists(ctx, v.ID); ok {
		t.Error("a soft-deleted vault exists for locks")
	}
	if live, _ := e.kv.List(ctx, e.sub, "", "", 10); len(live) != 0 {
		t.Errorf("listed live: %v", live)
	}
	_, err = e.kv.Patch(ctx, e.caller, v.ID, keyvault.Patch{})
	wantErr(t, err, errkind.NotFound, keyvault.ErrNotFound)

	d, err := e.kv.GetDeleted(ctx, e.sub, "WestEurope", "PHOENIX")
	if err != nil || !d.DeletedAt.Equal(deletedAt) || !d.ScheduledPurgeAt.Equal(deletedAt.Add(30*day)) || d.UID != v.UID {
		t.Fatalf("GetDeleted = %+v, %v", d, err)
	}
	if got := d.DeletedID().String(); got != "/subscriptions/"+e.sub+"/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/phoenix" {
		t.Errorf("DeletedID = %s", got)
	}
	_, err = e.kv.GetDeleted(ctx, e.sub, "eastus", "phoenix")
	wantErr(t, err, errkind.NotFound, keyvault.ErrDeletedNotFound)
	if list, _ := e.kv.ListDeleted(ctx, e.sub, "", 10); len(list) != 1 || list[0].UID != v.UID {
		t.Errorf("ListDeleted = %v", list)
	}

	// Recover: only under the original id and location.
	rec := keyvault.Spec{Location: "westeurope", CreateMode: keyvault.CreateRecover}
	_, _, err = e.kv.Put(ctx, e.caller, e.id("other-rg", "phoenix"), rec)
	wantErr(t, err, errkind.Invalid, nil)
	rec.Location = "eastus"
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, rec)
	wantErr(t, err, errkind.Invalid, nil)
	rec.Location = "westeurope"
	e.clock.Advance(day)
	got, created, err := e.kv.Put(ctx, e.caller, e.id("RG", "Phoenix"), rec)
	if err != nil || !created || got.UID != v.UID || got.Deleted() || len(got.Policies) != 2 || got.Retention != 30 ||
		got.ID.String() != v.ID.String() || !got.Allows(got.TenantID, reader, keyvault.SecretGet) {
		t.Fatalf("recover = %+v, %v, %v", got, created, err)
	}
	if _, err := e.kv.ByName(ctx, "phoenix"); err != nil {
		t.Errorf("data plane cannot see the recovered vault: %v", err)
	}
	// Nothing left to recover.
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, rec)
	wantErr(t, err, errkind.NotFound, keyvault.ErrNothingToRecover)
	_, _, err = e.kv.Put(ctx, e.caller, e.id("rg", "never-was"), rec)
	wantErr(t, err, errkind.NotFound, keyvault.ErrNothingToRecover)

	// Purge: secrets first, then the vault; the name is free.
	if _, err := e.kv.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.kv.Purge(ctx, e.sub, "westeurope", "phoenix"); err != nil {
		t.Fatal(err)
	}
	if !e.secrets.has(v.UID) {
		t.Error("the vault's secrets were not purged")
	}
	wantErr(t, e.kv.Purge(ctx, e.sub, "westeurope", "phoenix"), errkind.NotFound, keyvault.ErrDeletedNotFound)
	again := e.create(t, "rg", "phoenix", nil)
	if again.UID == v.UID {
		t.Error("a vault created under a purged name reuses its uid")
	}
}

func TestPurgeProtection(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg", "guarded", func(s *keyvault.Spec) { s.Retention = ptr(7); s.PurgeProtection = ptr(true) })
	if _, err := e.kv.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	err := e.kv.Purge(ctx, e.sub, "westeurope", "guarded")
	wantErr(t, err, errkind.Conflict, keyvault.ErrPurgeProtected)
	if !strings.Contains(errkind.Message(err), "Operation 'DeletedVaultPurge' is not allowed") {
		t.Errorf("message: %q", errkind.Message(err))
	}
	if e.secrets.has(v.UID) {
		t.Fatal("a refused purge purged the secrets")
	}
	e.clock.Advance(7 * day)
	// At the scheduled date, recovery is over and a purge is allowed.
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, keyvault.Spec{Location: "westeurope", CreateMode: keyvault.CreateRecover})
	wantErr(t, err, errkind.NotFound, keyvault.ErrNothingToRecover)
	if err := e.kv.Purge(ctx, e.sub, "westeurope", "guarded"); err != nil {
		t.Fatalf("purge after retention: %v", err)
	}
}

// TestSweeper drives the sweeper with an injected clock: each vault is
// purged, with its secrets, once its own retention has passed.
func TestSweeper(t *testing.T) {
	e := newEnv(t)
	short := e.create(t, "rg", "short-lived", func(s *keyvault.Spec) { s.Retention = ptr(7) })
	long := e.create(t, "rg", "long-lived", func(s *keyvault.Spec) { s.PurgeProtection = ptr(true) }) // 90 days
	live := e.create(t, "rg", "still-live", nil)
	for _, v := range []keyvault.Vault{short, long} {
		if _, err := e.kv.Delete(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(want int) {
		t.Helper()
		if n, err := e.kv.Sweep(ctx); n != want || err != nil {
			t.Fatalf("Sweep = %d, %v; want %d", n, err, want)
		}
	}
	e.clock.Advance(7*day - time.Second)
	sweep(0)
	e.clock.Advance(time.Second)
	sweep(1)
	if !e.secrets.has(short.UID) || e.secrets.has(long.UID) {
		t.Fatalf("secrets purged: %v", e.secrets.purged)
	}
	if _, err := e.kv.GetDeleted(ctx, e.sub, "westeurope", "short-lived"); !errors.Is(err, keyvault.ErrDeletedNotFound) {
		t.Errorf("swept vault still deleted-listed: %v", err)
	}
	// Purge protection does not stop the system: at 90 days it goes too.
	e.clock.Advance(83 * day)
	sweep(1)
	if !e.secrets.has(long.UID) {
		t.Error("protected vault not purged after retention")
	}
	if _, err := e.kv.Get(ctx, live.ID); err != nil {
		t.Errorf("the sweeper touched a live vault: %v", err)
	}
	sweep(0)
}

// TestSweeperFinishesInterruptedPurge: when the secrets cannot be purged
// the vault stays, marked purging (so it cannot be recovered into a vault
// with half its secrets), and the next sweep finishes it.
func TestSweeperFinishesInterruptedPurge(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg", "stubborn", func(s *keyvault.Spec) { s.Retention = ptr(7) })
	ok := e.create(t, "rg", "easy", func(s *keyvault.Spec) { s.Retention = ptr(7) })
	for _, x := range []keyvault.Vault{v, ok} {
		if _, err := e.kv.Delete(ctx, x.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A manual purge that fails half-way.
	e.secrets.fail[v.UID] = true
	if err := e.kv.Purge(ctx, e.sub, "westeurope", "stubborn"); errkind.KindOf(err) != errkind.Unavailable {
		t.Fatalf("Purge with failing secrets = %v", err)
	}
	d, err := e.kv.GetDeleted(ctx, e.sub, "westeurope", "stubborn")
	if err != nil || !d.Purging {
		t.Fatalf("after failed purge: %+v, %v", d, err)
	}
	_, _, err = e.kv.Put(ctx, e.caller, v.ID, keyvault.Spec{Location: "westeurope", CreateMode: keyvault.CreateRecover})
	wantErr(t, err, errkind.NotFound, keyvault.ErrNothingToRecover)

	// The sweeper retries purges in progress before their date, and one
	// failure does not stop the others.
	e.clock.Advance(7 * day)
	n, err := e.kv.Sweep(ctx)
	if n != 1 || err == nil || !e.secrets.has(ok.UID) {
		t.Fatalf("Sweep with one failure = %d, %v", n, err)
	}
	e.secrets.fail = map[string]bool{}
	if n, err := e.kv.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep after recovery = %d, %v", n, err)
	}
	if a, _ := e.kv.CheckName(ctx, "stubborn"); !a.Available {
		t.Error("name still held after the purge finished")
	}
}

// TestRunSweeper runs the sweeper loop in a synctest bubble: the ticker
// fires on fake time, so a day of sweeps takes no real time.
func TestRunSweeper(t *testing.T) {
	e := newEnv(t)
	v := e.create(t, "rg", "ticking", func(s *keyvault.Spec) { s.Retention = ptr(7) })
	if _, err := e.kv.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		go e.kv.RunSweeper(t.Context(), time.Hour) // stops when the bubble's context ends
		synctest.Wait()                            // the first sweep is done: nothing was due
		if e.secrets.has(v.UID) {
			t.Fatal("purged before its date")
		}
		e.clock.Advance(7 * day)
		time.Sleep(time.Hour) // fake time: the next tick
		synctest.Wait()
		if !e.secrets.has(v.UID) {
			t.Fatal("the sweeper did not purge the due vault")
		}
	})
}
