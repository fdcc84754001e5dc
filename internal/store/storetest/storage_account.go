package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

func init() {
	register("StorageAccounts", testStorageAccounts)
	register("StorageAccountLists", testStorageAccountLists)
}

func sampleAccount(sub, group, name string) storageaccount.Account {
	return storageaccount.Account{
		UID: principal.NewID(), ID: resource.NewResourceGroup(sub, group).Child("Microsoft.Storage", "storageAccounts", name),
		Location: "westeurope", Tags: map[string]string{"env": "test"}, TenantID: principal.NewID(),
		SKU: storageaccount.StandardZRS, Kind: storageaccount.StorageV2, ProvisioningState: storageaccount.Creating,
		CreatedBy: principal.NewID(), CreatedAt: at, UpdatedAt: at.Add(time.Second), Version: 1,
	}
}

func testStorageAccounts(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	a := sampleAccount(sub, "Edge-RG", "auditlogs01")
	if err := s.InsertAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByName(ctx, "AuditLogs01")
	if err != nil || !cmp.Equal(got, a, idComparer) {
		t.Fatalf("AccountByName: %v\n%s", err, cmp.Diff(a, got, idComparer))
	}
	// The name is global: another group, same name.
	wantKind(t, s.InsertAccount(ctx, sampleAccount(sub, "other", "auditlogs01")), errkind.Conflict)
	_, err = s.AccountByName(ctx, "nope")
	wantKind(t, err, errkind.NotFound)

	// Optimistic replacement.
	next := a
	next.Tags, next.SKU, next.ProvisioningState, next.Version, next.UpdatedAt = map[string]string{}, storageaccount.StandardLRS,
		storageaccount.Succeeded, 2, at.Add(time.Hour)
	if err := s.UpdateAccount(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAccount(ctx, next, 1); !errors.Is(err, storageaccount.ErrChanged) {
		t.Fatalf("stale version: %v", err)
	}
	got, _ = s.AccountByName(ctx, "auditlogs01")
	if !cmp.Equal(got, next, idComparer) {
		t.Fatalf("after update: %s", cmp.Diff(next, got, idComparer))
	}
	if err := s.DeleteAccount(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteAccount(ctx, a.UID), errkind.NotFound)
	if err := s.UpdateAccount(ctx, next, 2); !errors.Is(err, storageaccount.ErrChanged) {
		t.Fatalf("update of a deleted account: %v", err)
	}
	// The name is free again.
	if err := s.InsertAccount(ctx, sampleAccount(sub, "other", "auditlogs01")); err != nil {
		t.Fatal(err)
	}
}

func testStorageAccountLists(t *testing.T, open Opener) {
	s := open(t)
	sub := seedSubscription(t, s)
	for _, a := range []storageaccount.Account{
		sampleAccount(sub, "rg-a", "acct3"), sampleAccount(sub, "RG-A", "acct1"), sampleAccount(sub, "rg-b", "acct2"),
	} {
		if err := s.InsertAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	names := func(as []storageaccount.Account, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, a := range as {
			out = append(out, a.Name())
		}
		return out
	}
	for _, tt := range []struct {
		f    storageaccount.Filter
		want []string
	}{
		{storageaccount.Filter{SubscriptionID: sub, Limit: 10}, []string{"acct1", "acct2", "acct3"}},
		{storageaccount.Filter{SubscriptionID: sub, Limit: 2}, []string{"acct1", "acct2"}},
		{storageaccount.Filter{SubscriptionID: sub, After: "acct2", Limit: 10}, []string{"acct3"}},
		{storageaccount.Filter{SubscriptionID: sub, ResourceGroup: "rg-a", Limit: 10}, []string{"acct1", "acct3"}},
		{storageaccount.Filter{SubscriptionID: sub, ResourceGroup: "Rg-B", Limit: 10}, []string{"acct2"}},
		{storageaccount.Filter{SubscriptionID: principal.NewID(), Limit: 10}, []string{}},
	} {
		if got := names(s.Accounts(ctx, tt.f)); !cmp.Equal(got, tt.want) {
			t.Errorf("Accounts(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}
