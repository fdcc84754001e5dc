package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

func init() {
	register("ResourceGroups", testResourceGroups)
	register("Providers", testProviders)
	register("Subscriptions", testSubscriptions)
}

func testResourceGroups(t *testing.T, open Opener) {
	s := open(t)
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	sub := r.Subscription.ID
	g := resourcegroup.Group{ID: resource.NewResourceGroup(sub, "Edge-RG"), Location: "westeurope",
		Tags: map[string]string{"env": "test"}, ProvisioningState: "Succeeded", ETag: "e1", CreatedAt: at, UpdatedAt: at}
	if err := s.PutResourceGroup(ctx, g, ""); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.PutResourceGroup(ctx, g, ""), errkind.Conflict)
	got, err := s.ResourceGroup(ctx, resource.NewResourceGroup(sub, "edge-rg")) // case-insensitive
	if err != nil || got.ID.String() != g.ID.String() || !cmp.Equal(got.Tags, g.Tags) || got.ETag != "e1" {
		t.Fatalf("ResourceGroup = %+v, %v", got, err)
	}
	g2 := g
	g2.Tags, g2.ETag, g2.UpdatedAt = map[string]string{}, "e2", at.Add(time.Hour)
	wantKind(t, s.PutResourceGroup(ctx, g2, "stale"), errkind.PreconditionFailed)
	if err := s.PutResourceGroup(ctx, g2, "e1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		x := g
		x.ID = resource.NewResourceGroup(sub, name)
		if err := s.PutResourceGroup(ctx, x, ""); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ResourceGroups(ctx, sub, "", 2)
	if err != nil || len(page) != 2 || page[0].Name() != "a" || page[1].Name() != "b" {
		t.Fatalf("first page = %v, %v", page, err)
	}
	page, _ = s.ResourceGroups(ctx, sub, page[1].ID.Key(), 10)
	if len(page) != 2 || page[0].Name() != "c" || page[1].Name() != "Edge-RG" {
		t.Fatalf("second page = %v", page)
	}
	if err := s.SetResourceGroupState(ctx, g.ID, "Deleting"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteResourceGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.ResourceGroup(ctx, g.ID)
	wantKind(t, err, errkind.NotFound)
	wantKind(t, s.DeleteResourceGroup(ctx, g.ID), errkind.NotFound)
}

func testProviders(t *testing.T, open Opener) {
	s := open(t)
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	sub := r.Subscription.ID
	if err := s.SetProviderState(ctx, sub, "Microsoft.KeyVault", provider.Registering, at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProviderState(ctx, sub, "Microsoft.KeyVault", provider.Registered, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProviderStates(ctx, sub)
	if err != nil || !cmp.Equal(got, map[string]provider.State{"microsoft.keyvault": provider.Registered}) {
		t.Fatalf("ProviderStates = %v, %v", got, err)
	}
}

func testSubscriptions(t *testing.T, open Opener) {
	s := open(t)
	r := SampleRecords()
	if err := s.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscription(ctx, r.Subscription.ID)
	if err != nil || !cmp.Equal(got, r.Subscription) {
		t.Fatalf("Subscription: %v %s", err, cmp.Diff(r.Subscription, got))
	}
	_, err = s.Subscription(ctx, "00000000-0000-0000-0000-000000000000")
	wantKind(t, err, errkind.NotFound)
}
