package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

func init() {
	register("DiagnosticSettings", testDiagnosticSettings)
	register("DiagnosticSettingsVersion", testDiagnosticSettingsVersion)
}

func sampleSetting(vault resource.ID, name string, audit bool) diagnostics.Setting {
	logs := []diagnostics.LogSetting{{Category: diagnostics.AuditEvent, Enabled: audit,
		Retention: &diagnostics.Retention{Enabled: true, Days: 30}}}
	return diagnostics.Setting{
		UID: principal.NewID(), ID: diagnostics.SettingID(vault, name),
		StorageAccountID:  resource.NewResourceGroup(vault.SubscriptionID(), "logs").Child("Microsoft.Storage", "storageAccounts", "auditlogs01"),
		StorageAccountUID: principal.NewID(), Logs: logs,
		Metrics:     []diagnostics.MetricSetting{{Category: diagnostics.AllMetrics, Enabled: true, TimeGrain: "PT1M"}},
		DeliverFrom: at, CreatedBy: principal.NewID(), CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
}

func testDiagnosticSettings(t *testing.T, open Opener) {
	s := open(t)
	sub := principal.NewID()
	vault := resource.NewResourceGroup(sub, "Edge-RG").Child("Microsoft.KeyVault", "vaults", "v1")
	other := resource.NewResourceGroup(sub, "Edge-RG").Child("Microsoft.KeyVault", "vaults", "v2")
	a := sampleSetting(vault, "Send-B", true)
	b := sampleSetting(vault, "a-metrics", false)
	c := sampleSetting(other, "audit", true)
	for _, st := range []diagnostics.Setting{a, b, c} {
		if err := s.InsertDiagnosticSetting(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// Ids are unique ignoring case.
	dup := sampleSetting(vault, "SEND-b", true)
	wantKind(t, s.InsertDiagnosticSetting(ctx, dup), errkind.Conflict)

	got, err := s.DiagnosticSetting(ctx, diagnostics.SettingID(vault, "send-b"))
	if err != nil || !cmp.Equal(got, a, idComparer) {
		t.Fatalf("DiagnosticSetting: %v\n%s", err, cmp.Diff(a, got, idComparer))
	}
	_, err = s.DiagnosticSetting(ctx, diagnostics.SettingID(vault, "nope"))
	wantKind(t, err, errkind.NotFound)

	list, err := s.DiagnosticSettings(ctx, resource.NewResourceGroup(sub, "edge-rg").Child("Microsoft.KeyVault", "vaults", "V1"))
	if err != nil || len(list) != 2 || list[0].UID != b.UID || list[1].UID != a.UID {
		t.Fatalf("DiagnosticSettings = %v, %v; want b, a", list, err)
	}
	audit, err := s.AuditDiagnosticSettings(ctx)
	if err != nil || len(audit) != 2 || audit[0].UID != a.UID || audit[1].UID != c.UID {
		t.Fatalf("AuditDiagnosticSettings = %v, %v; want a, c", audit, err)
	}

	// Replacement switches audit delivery off: the exporter's list drops it.
	next := a
	next.Logs = []diagnostics.LogSetting{{Group: diagnostics.GroupAllLogs, Enabled: false}}
	next.Metrics, next.DeliverFrom, next.UpdatedAt = []diagnostics.MetricSetting{}, at.Add(time.Hour), at.Add(time.Hour)
	if err := s.UpdateDiagnosticSetting(ctx, next); err != nil {
		t.Fatal(err)
	}
	got, _ = s.DiagnosticSetting(ctx, a.ID)
	if !cmp.Equal(got, next, idComparer) {
		t.Fatalf("after update: %s", cmp.Diff(next, got, idComparer))
	}
	if audit, _ := s.AuditDiagnosticSettings(ctx); len(audit) != 1 || audit[0].UID != c.UID {
		t.Fatalf("AuditDiagnosticSettings after update = %v", audit)
	}

	if err := s.DeleteDiagnosticSetting(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteDiagnosticSetting(ctx, a.UID), errkind.NotFound)
	n := sampleSetting(vault, "x", true)
	n.UID = a.UID
	wantKind(t, s.UpdateDiagnosticSetting(ctx, n), errkind.NotFound)
}

// testDiagnosticSettingsVersion: the version of the settings that deliver
// audit records moves with every change to them (add, update, delete) and
// with nothing else. It may come back to an earlier value (all settings
// gone is "nothing" again); the exporter compares it with the previous
// pass's only.
func testDiagnosticSettingsVersion(t *testing.T, open Opener) {
	s := open(t)
	sub := principal.NewID()
	vault := resource.NewResourceGroup(sub, "Edge-RG").Child("Microsoft.KeyVault", "vaults", "v1")
	version := func() string {
		t.Helper()
		v, err := s.AuditDiagnosticSettingsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	last := version()
	moved := func(what string) {
		t.Helper()
		if v := version(); v == last {
			t.Fatalf("%s did not move the version from %q", what, last)
		} else {
			last = v
		}
	}
	a := sampleSetting(vault, "audit", true)
	if err := s.InsertDiagnosticSetting(ctx, a); err != nil {
		t.Fatal(err)
	}
	moved("an insert")
	before := last
	metrics := sampleSetting(vault, "metrics-only", false)
	if err := s.InsertDiagnosticSetting(ctx, metrics); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != before {
		t.Fatalf("a setting that delivers no audit records moved the version: %q → %q", before, v)
	}
	next := a
	next.DeliverFrom, next.UpdatedAt = at.Add(time.Hour), at.Add(time.Hour)
	if err := s.UpdateDiagnosticSetting(ctx, next); err != nil {
		t.Fatal(err)
	}
	moved("an update")
	if err := s.DeleteDiagnosticSetting(ctx, a.UID); err != nil {
		t.Fatal(err)
	}
	moved("a delete")
}
