package storageaccount_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

// ops records the operations started and holds the registered handler,
// which the tests run by hand (the durable queue is operation's concern).
type ops struct {
	mu      sync.Mutex
	started []operation.Operation
	handler operation.Handler
	fail    error
}

func (o *ops) Register(kind string, h operation.Handler) {
	if kind != storageaccount.CreateKind {
		panic("unexpected kind " + kind)
	}
	o.handler = h
}

func (o *ops) Start(_ context.Context, req operation.StartRequest) (operation.Operation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return operation.Operation{}, o.fail
	}
	in, err := jsonOf(req.Input)
	if err != nil {
		return operation.Operation{}, err
	}
	op := operation.Operation{ID: principal.NewID(), Kind: req.Kind, SubscriptionID: req.SubscriptionID,
		ResourceID: req.ResourceID, Input: in, Status: operation.InProgress}
	o.started = append(o.started, op)
	return op, nil
}

// run runs the handler of the last operation started.
func (o *ops) run() (operation.Result, error) {
	o.mu.Lock()
	op := o.started[len(o.started)-1]
	o.mu.Unlock()
	return o.handler(ctx, op, nil)
}

// purger records the accounts whose blobs were purged, failing while fail
// is set.
type purger struct {
	mu     sync.Mutex
	purged []string
	fail   bool
}

func (p *purger) PurgeAccountBlobs(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errkind.E(errkind.Unavailable, "blob store unavailable")
	}
	p.purged = append(p.purged, id)
	return nil
}

type env struct {
	svc    *storageaccount.Service
	ops    *ops
	blobs  *purger
	locks  *lock.Service
	caller principal.Principal
	sub    string
}

func newEnv(t *testing.T) *env {
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
	e := &env{ops: &ops{}, blobs: &purger{}, caller: r.Principals[0].Principal, sub: r.Subscription.ID}
	if e.locks, err = lock.New(lock.Config{Store: st}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e.svc, err = storageaccount.New(storageaccount.Config{Store: st, Locks: e.locks, Operations: e.ops, Blobs: e.blobs,
		Now:          func() time.Time { return now },
		BlobEndpoint: func(name string) string { return "https://" + name + ".blob.localhost:8443/" }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) id(group, name string) resource.ID {
	return resource.NewResourceGroup(e.sub, group).Child("Microsoft.Storage", "storageAccounts", name)
}

func spec() storageaccount.Spec {
	return storageaccount.Spec{Location: "westeurope", Tags: map[string]string{"env": "test"},
		SKU: storageaccount.StandardZRS, Kind: storageaccount.StorageV2}
}

// create creates an account and runs its creation to the end.
func (e *env) create(t *testing.T, group, name string) storageaccount.Account {
	t.Helper()
	res, err := e.svc.Put(ctx, e.caller, e.id(group, name), spec())
	if err != nil || !res.Created || res.Operation == nil {
		t.Fatalf("Put(%s) = %+v, %v", name, res, err)
	}
	if _, err := e.ops.run(); err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.Get(ctx, e.id(group, name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantErr(t *testing.T, err error, kind errkind.Kind, sentinel error) {
	t.Helper()
	if errkind.KindOf(err) != kind || (sentinel != nil && !errors.Is(err, sentinel)) {
		t.Fatalf("error = %v (kind %v), want kind %v and %v", err, errkind.KindOf(err), kind, sentinel)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "audit01": true, strings.Repeat("a", 24): true, "123": true,
		"ab": false, strings.Repeat("a", 25): false, "Audit01": false, "audit-01": false, "audit_01": false, "": false, "aüd": false,
	} {
		if got := storageaccount.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSKUTier(t *testing.T) {
	if storageaccount.PremiumZRS.Tier() != "Premium" || storageaccount.StandardZRS.Tier() != "Standard" {
		t.Fatal("tiers")
	}
}

func TestCreateIsLongRunning(t *testing.T) {
	e := newEnv(t)
	id := e.id("rg", "audit01")
	res, err := e.svc.Put(ctx, e.caller, id, spec())
	if err != nil || !res.Created || res.Operation == nil || res.Account.ProvisioningState != storageaccount.Creating {
		t.Fatalf("Put = %+v, %v", res, err)
	}
	if res.Operation.Kind != storageaccount.CreateKind || res.Operation.ResourceID != id.String() {
		t.Fatalf("operation %+v", res.Operation)
	}
	// Creating: visible to ARM, not to the blob plane, and lockable.
	if a, err := e.svc.Get(ctx, id); err != nil || a.ProvisioningState != storageaccount.Creating || a.TenantID != e.caller.TenantID {
		t.Fatalf("Get while creating = %+v, %v", a, err)
	}
	_, err = e.svc.ByName(ctx, "audit01")
	wantErr(t, err, errkind.NotFound, nil)
	if ok, err := e.svc.Exists(ctx, id); !ok || err != nil {
		t.Fatalf("Exists while creating = %v, %v", ok, err)
	}
	// A second PUT while Creating starts the operation again.
	again, err := e.svc.Put(ctx, e.caller, id, spec())
	if err != nil || again.Created || again.Operation == nil {
		t.Fatalf("second Put = %+v, %v", again, err)
	}
	for range 2 { // the handler is idempotent
		if r, err := e.ops.run(); err != nil || r.Status != 200 {
			t.Fatalf("handler = %+v, %v", r, err)
		}
	}
	a, err := e.svc.ByName(ctx, "audit01")
	if err != nil || a.ProvisioningState != storageaccount.Succeeded || !a.ID.Equal(id) || a.SKU != storageaccount.StandardZRS {
		t.Fatalf("ByName after creation = %+v, %v", a, err)
	}
	if got := e.svc.BlobEndpoint("audit01"); got != "https://audit01.blob.localhost:8443/" {
		t.Errorf("BlobEndpoint = %s", got)
	}
	// A PUT on a provisioned account replaces it synchronously.
	sp := spec()
	sp.SKU, sp.Tags = storageaccount.StandardLRS, nil
	rep, err := e.svc.Put(ctx, e.caller, id, sp)
	if err != nil || rep.Created || rep.Operation != nil || rep.Account.SKU != storageaccount.StandardLRS || rep.Account.Tags["env"] != "test" {
		t.Fatalf("replace = %+v, %v", rep, err)
	}
	sp.Location = "northeurope"
	_, err = e.svc.Put(ctx, e.caller, id, sp)
	wantErr(t, err, errkind.Invalid, storageaccount.ErrLocationChanged)
}

func TestCreateWithoutOperationLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.ops.fail = errkind.E(errkind.Unavailable, "queue down")
	_, err := e.svc.Put(ctx, e.caller, e.id("rg", "audit01"), spec())
	wantErr(t, err, errkind.Unavailable, nil)
	if a, err := e.svc.CheckName(ctx, "audit01"); err != nil || !a.Available {
		t.Fatalf("name after a failed start = %+v, %v", a, err)
	}
}

func TestPutRejects(t *testing.T) {
	e := newEnv(t)
	e.create(t, "rg", "taken1")
	for _, tt := range []struct {
		name     string
		id       resource.ID
		edit     func(*storageaccount.Spec)
		kind     errkind.Kind
		sentinel error
	}{
		{"invalid name", e.id("rg", "Bad-Name"), nil, errkind.Invalid, storageaccount.ErrNameInvalid},
		{"taken elsewhere", e.id("other", "taken1"), nil, errkind.Conflict, storageaccount.ErrNameTaken},
		{"no sku", e.id("rg", "new1"), func(s *storageaccount.Spec) { s.SKU = "" }, errkind.Invalid, nil},
		{"bad sku", e.id("rg", "new1"), func(s *storageaccount.Spec) { s.SKU = "standard_lrs" }, errkind.Invalid, nil},
		{"bad kind", e.id("rg", "new1"), func(s *storageaccount.Spec) { s.Kind = "BlobStorage" }, errkind.Invalid, nil},
		{"no location", e.id("rg", "new1"), func(s *storageaccount.Spec) { s.Location = "" }, errkind.Invalid, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec()
			if tt.edit != nil {
				tt.edit(&sp)
			}
			_, err := e.svc.Put(ctx, e.caller, tt.id, sp)
			wantErr(t, err, tt.kind, tt.sentinel)
		})
	}
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	e.create(t, "rg", "audit01")
	a, err := e.svc.Patch(ctx, e.id("rg", "audit01"), storageaccount.Patch{Tags: map[string]string{"a": "b"}})
	if err != nil || len(a.Tags) != 1 || a.Tags["a"] != "b" || a.SKU != storageaccount.StandardZRS {
		t.Fatalf("Patch tags = %+v, %v", a, err)
	}
	a, err = e.svc.Patch(ctx, e.id("rg", "audit01"), storageaccount.Patch{SKU: storageaccount.StandardGRS})
	if err != nil || a.SKU != storageaccount.StandardGRS || a.Tags["a"] != "b" {
		t.Fatalf("Patch sku = %+v, %v", a, err)
	}
	_, err = e.svc.Patch(ctx, e.id("rg", "nope1"), storageaccount.Patch{})
	wantErr(t, err, errkind.NotFound, storageaccount.ErrNotFound)
	_, err = e.svc.Patch(ctx, e.id("rg", "audit01"), storageaccount.Patch{SKU: "Nope"})
	wantErr(t, err, errkind.Invalid, nil)
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	a := e.create(t, "rg", "audit01")
	id := a.ID
	if _, _, err := e.locks.Put(ctx, e.caller, id, "keep", lock.Spec{Level: lock.CanNotDelete}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Delete(ctx, id)
	wantErr(t, err, errkind.Locked, nil)
	if _, err := e.locks.Delete(ctx, id, "keep"); err != nil {
		t.Fatal(err)
	}
	// A purge that fails leaves the account Deleting: gone for the blob
	// plane and for new locks, deleted for good by the next attempt.
	e.blobs.fail = true
	_, err = e.svc.Delete(ctx, id)
	wantErr(t, err, errkind.Unavailable, nil)
	if got, err := e.svc.Get(ctx, id); err != nil || got.ProvisioningState != storageaccount.Deleting {
		t.Fatalf("after a failed purge: %+v, %v", got, err)
	}
	if ok, _ := e.svc.Exists(ctx, id); ok {
		t.Error("a Deleting account exists")
	}
	_, err = e.svc.ByName(ctx, "audit01")
	wantErr(t, err, errkind.NotFound, nil)
	e.blobs.fail = false
	if existed, err := e.svc.Delete(ctx, id); !existed || err != nil {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if !slices.Equal(e.blobs.purged, []string{id.String()}) {
		t.Errorf("purged %v", e.blobs.purged)
	}
	if existed, err := e.svc.Delete(ctx, id); existed || err != nil {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}
	_, err = e.svc.Get(ctx, id)
	wantErr(t, err, errkind.NotFound, storageaccount.ErrNotFound)
}

func TestCreationOfDeletedAccountFails(t *testing.T) {
	e := newEnv(t)
	id := e.id("rg", "audit01")
	if _, err := e.svc.Put(ctx, e.caller, id, spec()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err := e.ops.run()
	wantErr(t, err, errkind.NotFound, storageaccount.ErrNotFound)
}

func TestDeleteAllInAndLists(t *testing.T) {
	e := newEnv(t)
	e.create(t, "rg", "acct1")
	e.create(t, "rg", "acct2")
	e.create(t, "keep", "acct3")
	if used, err := e.svc.InUse(ctx, e.sub, "microsoft.storage"); !used || err != nil {
		t.Fatalf("InUse = %v, %v", used, err)
	}
	if err := e.svc.DeleteAllIn(ctx, resource.NewResourceGroup(e.sub, "RG")); err != nil {
		t.Fatal(err)
	}
	as, err := e.svc.List(ctx, e.sub, "", "", 10)
	if err != nil || len(as) != 1 || as[0].Name() != "acct3" {
		t.Fatalf("List after DeleteAllIn = %v, %v", as, err)
	}
	if len(e.blobs.purged) != 2 {
		t.Errorf("purged %v", e.blobs.purged)
	}
}

func TestCheckNameAndExists(t *testing.T) {
	e := newEnv(t)
	a := e.create(t, "rg", "audit01")
	for name, want := range map[string]storageaccount.Reason{
		"audit01": storageaccount.ReasonAlreadyExists, "Audit01": storageaccount.ReasonInvalid, "free01": "",
	} {
		got, err := e.svc.CheckName(ctx, name)
		if err != nil || got.Reason != want || got.Available != (want == "") || (want != "" && got.Message == "") {
			t.Errorf("CheckName(%s) = %+v, %v", name, got, err)
		}
	}
	vault := resource.NewResourceGroup(e.sub, "rg").Child("Microsoft.KeyVault", "vaults", "audit01")
	for _, tt := range []struct {
		id   resource.ID
		want bool
	}{{a.ID, true}, {vault, false}, {e.id("other", "audit01"), false}, {e.id("rg", "nope1"), false}} {
		if got, err := e.svc.Exists(ctx, tt.id); got != tt.want || err != nil {
			t.Errorf("Exists(%s) = %v, %v", tt.id, got, err)
		}
	}
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
