package provider_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

func setup(t *testing.T) (*provider.Service, string) {
	t.Helper()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := storetest.SampleRecords()
	if err := st.CommitBootstrap(ctx, r); err != nil {
		t.Fatal(err)
	}
	return provider.New(provider.Config{Store: st}), r.Subscription.ID
}

func TestDefaultsAndRegistration(t *testing.T) {
	svc, sub := setup(t)
	list, err := svc.List(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]provider.State{
		"Microsoft.Authorization": provider.Registered, "Microsoft.Storage": provider.Registered,
		"Microsoft.KeyVault": provider.NotRegistered, "Microsoft.DataBoxEdge": provider.NotRegistered,
		"Microsoft.Insights": provider.NotRegistered,
	}
	for _, r := range list {
		if want[r.Provider.Namespace] != r.State {
			t.Errorf("%s = %s, want %s", r.Provider.Namespace, r.State, want[r.Provider.Namespace])
		}
	}
	var missing *provider.MissingRegistrationError
	if err := svc.RequireRegistered(ctx, sub, "microsoft.keyvault"); !errors.As(err, &missing) || missing.Namespace != "Microsoft.KeyVault" {
		t.Fatalf("RequireRegistered = %v", err)
	}
	if errkind.KindOf(missing) != errkind.Conflict {
		t.Error("MissingRegistrationError is not a Conflict")
	}
	r, err := svc.Register(ctx, sub, "MICROSOFT.KEYVAULT")
	if err != nil || r.State != provider.Registering {
		t.Fatalf("Register = %+v, %v", r, err)
	}
	r, _ = svc.Get(ctx, sub, "Microsoft.KeyVault")
	if r.State != provider.Registered {
		t.Errorf("after register, read = %s, want Registered", r.State)
	}
	if err := svc.RequireRegistered(ctx, sub, "Microsoft.KeyVault"); err != nil {
		t.Error(err)
	}
	r, _ = svc.Unregister(ctx, sub, "Microsoft.KeyVault")
	if r.State != provider.Unregistering {
		t.Errorf("Unregister = %s", r.State)
	}
	if r, _ = svc.Get(ctx, sub, "Microsoft.KeyVault"); r.State != provider.Unregistered {
		t.Errorf("after unregister = %s", r.State)
	}
	if _, err := svc.Get(ctx, sub, "Microsoft.Nope"); !errors.Is(err, provider.ErrUnknownNamespace) {
		t.Errorf("unknown namespace: %v", err)
	}
}

func TestEnsureRegistered(t *testing.T) {
	svc, sub := setup(t)
	deny := func(context.Context, string, string) error { return errkind.E(errkind.PermissionDenied, "no") }
	var asked string
	allow := func(_ context.Context, action, _ string) error { asked = action; return nil }
	var missing *provider.MissingRegistrationError
	if err := svc.EnsureRegistered(ctx, deny, sub, "Microsoft.DataBoxEdge"); !errors.As(err, &missing) {
		t.Fatalf("without register/action: %v", err)
	}
	if err := svc.EnsureRegistered(ctx, allow, sub, "Microsoft.DataBoxEdge"); err != nil {
		t.Fatal(err)
	}
	if asked != "Microsoft.DataBoxEdge/register/action" {
		t.Errorf("asked for %q", asked)
	}
	if err := svc.RequireRegistered(ctx, sub, "Microsoft.DataBoxEdge"); err != nil {
		t.Errorf("not registered after EnsureRegistered: %v", err)
	}
}

func TestUnregisterInUse(t *testing.T) {
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := storetest.SampleRecords()
	_ = st.CommitBootstrap(ctx, r)
	svc := provider.New(provider.Config{Store: st, InUse: func(context.Context, string, string) (bool, error) { return true, nil }})
	if _, err := svc.Unregister(ctx, r.Subscription.ID, "Microsoft.Storage"); errkind.KindOf(err) != errkind.Conflict {
		t.Errorf("unregister in use: %v", err)
	}
}
