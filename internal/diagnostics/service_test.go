package diagnostics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/storetest"
)

var ctx = context.Background()

type env struct {
	svc      *diagnostics.Service
	locks    *lock.Service
	caller   principal.Principal
	vault    resource.ID
	account  resource.ID
	accounts map[string]diagnostics.Account // by lower-cased id
	now      time.Time
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
	e := &env{caller: r.Principals[0].Principal, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	group := resource.NewResourceGroup(r.Subscription.ID, "rg")
	e.vault = group.Child("Microsoft.KeyVault", "vaults", "v1")
	e.account = group.Child("Microsoft.Storage", "storageAccounts", "logs1")
	e.accounts = map[string]diagnostics.Account{e.account.Key(): {UID: "uid-1", TenantID: e.caller.TenantID}}
	if e.locks, err = lock.New(lock.Config{Store: st}); err != nil {
		t.Fatal(err)
	}
	e.svc, err = diagnostics.New(diagnostics.Config{Store: st, Locks: e.locks, Now: func() time.Time { return e.now },
		Accounts: diagnostics.AccountsFunc(func(_ context.Context, id resource.ID) (diagnostics.Account, error) {
			a, ok := e.accounts[id.Key()]
			if !ok {
				return diagnostics.Account{}, errkind.E(errkind.NotFound, "no account")
			}
			return a, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func audit(account string) diagnostics.Spec {
	return diagnostics.Spec{StorageAccountID: account, Logs: []diagnostics.LogSetting{{Category: "auditevent", Enabled: true}}}
}

func (e *env) put(t *testing.T, name string, spec diagnostics.Spec) diagnostics.Setting {
	t.Helper()
	s, _, err := e.svc.Put(ctx, e.caller, diagnostics.SettingID(e.vault, name), spec)
	if err != nil {
		t.Fatalf("Put(%s): %v", name, err)
	}
	return s
}

func TestPutGetDelete(t *testing.T) {
	e := newEnv(t)
	s, created, err := e.svc.Put(ctx, e.caller, diagnostics.SettingID(e.vault, "d1"), audit(e.account.String()))
	if err != nil || !created || s.Logs[0].Category != diagnostics.AuditEvent || !s.DeliverFrom.Equal(e.now) || s.StorageAccountUID != "uid-1" {
		t.Fatalf("Put = %+v, %v, %v", s, created, err)
	}
	got, err := e.svc.Get(ctx, diagnostics.SettingID(e.vault, "D1"))
	if err != nil || got.UID != s.UID || !got.ResourceID().Equal(e.vault) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	existed, err := e.svc.Delete(ctx, s.ID)
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if existed, err := e.svc.Delete(ctx, s.ID); err != nil || existed {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}
	if _, err := e.svc.Get(ctx, s.ID); !errors.Is(err, diagnostics.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if all, _ := e.svc.All(ctx); len(all) != 0 {
		t.Fatalf("All after Delete = %v", all)
	}
}

// TestDeliverFrom: delivery starts when the setting starts delivering to
// an account, never earlier, and a replacement that keeps delivering to
// the same account keeps its start.
func TestDeliverFrom(t *testing.T) {
	e := newEnv(t)
	created := e.now
	s := e.put(t, "d1", audit(e.account.String()))
	e.now = e.now.Add(time.Hour)
	s = e.put(t, "d1", diagnostics.Spec{StorageAccountID: e.account.String(),
		Logs: []diagnostics.LogSetting{{Group: "AllLogs", Enabled: true}}})
	if !s.DeliverFrom.Equal(created) || s.Logs[0].Group != diagnostics.GroupAllLogs {
		t.Fatalf("same account, still delivering: %+v", s)
	}
	e.now = e.now.Add(time.Hour)
	s = e.put(t, "d1", diagnostics.Spec{StorageAccountID: e.account.String(),
		Logs: []diagnostics.LogSetting{{Category: diagnostics.AuditEvent, Enabled: false}}})
	if s.DeliversAudit() {
		t.Fatal("a disabled AuditEvent delivers")
	}
	if all, _ := e.svc.All(ctx); len(all) != 0 {
		t.Fatalf("All with delivery off = %v", all)
	}
	e.now = e.now.Add(time.Hour)
	s = e.put(t, "d1", audit(e.account.String()))
	if !s.DeliverFrom.Equal(e.now) || !s.CreatedAt.Equal(created) {
		t.Fatalf("switched on again: DeliverFrom %v, CreatedAt %v", s.DeliverFrom, s.CreatedAt)
	}
	all, err := e.svc.All(ctx)
	if err != nil || len(all) != 1 || all[0].UID != s.UID || !all[0].StorageAccountID.Equal(e.account) {
		t.Fatalf("All = %v, %v", all, err)
	}
	fr, err := e.svc.ForResource(ctx, e.vault)
	if err != nil || len(fr) != 1 || fr[0].UID != s.UID {
		t.Fatalf("ForResource = %v, %v", fr, err)
	}
}

func TestPutRefuses(t *testing.T) {
	e := newEnv(t)
	foreign := resource.NewResourceGroup(e.vault.SubscriptionID(), "rg").Child("Microsoft.Storage", "storageAccounts", "foreign1")
	e.accounts[foreign.Key()] = diagnostics.Account{UID: "uid-2", TenantID: "another-tenant"}
	for _, tc := range []struct {
		name, setting string
		spec          diagnostics.Spec
		storageErr    bool
	}{
		{"missing account", "d", audit(strings.Replace(e.account.String(), "logs1", "nope1", 1)), true},
		{"foreign tenant", "d", audit(foreign.String()), true},
		{"not an account", "d", audit(e.vault.String()), true},
		{"no destination", "d", audit(""), false},
		{"bad name", "a/b", audit(e.account.String()), false},
		{"empty", "d", diagnostics.Spec{StorageAccountID: e.account.String()}, false},
		{"both", "d", diagnostics.Spec{StorageAccountID: e.account.String(),
			Logs: []diagnostics.LogSetting{{Category: "AuditEvent", Group: "audit", Enabled: true}}}, false},
		{"unknown group", "d", diagnostics.Spec{StorageAccountID: e.account.String(),
			Logs: []diagnostics.LogSetting{{Group: "security", Enabled: true}}}, false},
		{"unknown metric", "d", diagnostics.Spec{StorageAccountID: e.account.String(),
			Metrics: []diagnostics.MetricSetting{{Category: "Latency", Enabled: true}}}, false},
		{"retention", "d", diagnostics.Spec{StorageAccountID: e.account.String(),
			Logs: []diagnostics.LogSetting{{Category: "AuditEvent", Enabled: true, Retention: &diagnostics.Retention{Enabled: true, Days: 366}}}}, false},
		{"duplicate", "d", diagnostics.Spec{StorageAccountID: e.account.String(),
			Logs: []diagnostics.LogSetting{{Category: "AuditEvent", Enabled: true}, {Category: "auditEvent", Enabled: false}}}, false},
	} {
		_, _, err := e.svc.Put(ctx, e.caller, diagnostics.SettingID(e.vault, tc.setting), tc.spec)
		if errkind.KindOf(err) != errkind.Invalid || errors.Is(err, diagnostics.ErrStorageAccount) != tc.storageErr {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if all, _ := e.svc.List(ctx, e.vault); len(all) != 0 {
		t.Fatalf("refused settings were stored: %v", all)
	}
}

func TestLimitsAndSinks(t *testing.T) {
	e := newEnv(t)
	e.put(t, "audit", audit(e.account.String()))
	// The same account may not receive AuditEvent twice, even through a
	// group that holds it.
	_, _, err := e.svc.Put(ctx, e.caller, diagnostics.SettingID(e.vault, "again"), diagnostics.Spec{StorageAccountID: e.account.String(),
		Logs: []diagnostics.LogSetting{{Group: "audit", Enabled: true}}})
	if errkind.KindOf(err) != errkind.Invalid || !strings.Contains(err.Error(), "Data sink") {
		t.Fatalf("reused sink: %v", err)
	}
	for i := range diagnostics.MaxPerResource - 1 {
		e.put(t, "m"+string(rune('a'+i)), diagnostics.Spec{StorageAccountID: e.account.String(),
			Metrics: []diagnostics.MetricSetting{{Category: "AllMetrics", Enabled: false}}})
	}
	_, _, err = e.svc.Put(ctx, e.caller, diagnostics.SettingID(e.vault, "one-too-many"), diagnostics.Spec{StorageAccountID: e.account.String(),
		Metrics: []diagnostics.MetricSetting{{Category: "AllMetrics", Enabled: false}}})
	if errkind.KindOf(err) != errkind.Invalid {
		t.Fatalf("sixth setting: %v", err)
	}
	// Replacing an existing one is not a new one.
	e.put(t, "ma", diagnostics.Spec{StorageAccountID: e.account.String(),
		Metrics: []diagnostics.MetricSetting{{Category: "allmetrics", Enabled: false, TimeGrain: "PT1M"}}})
}

// TestLocks: a setting inherits the locks of the vault it extends.
func TestLocks(t *testing.T) {
	e := newEnv(t)
	s := e.put(t, "d1", audit(e.account.String()))
	if _, _, err := e.locks.Put(ctx, e.caller, e.vault, "nodelete", lock.Spec{Level: lock.CanNotDelete}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Delete(ctx, s.ID); errkind.KindOf(err) != errkind.Locked {
		t.Fatalf("Delete under CanNotDelete: %v", err)
	}
	e.put(t, "d1", audit(e.account.String())) // writes still pass
	if _, _, err := e.locks.Put(ctx, e.caller, e.vault.Parent(), "readonly", lock.Spec{Level: lock.ReadOnly}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Put(ctx, e.caller, s.ID, audit(e.account.String())); errkind.KindOf(err) != errkind.Locked {
		t.Fatalf("Put under the group's ReadOnly: %v", err)
	}
}
