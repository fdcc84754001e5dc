package storetest

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

func init() {
	register("AuditRollups", testAuditRollups)
	register("AuditRollupsAtomic", testAuditRollupsAtomic)
}

// testAuditRollups appends records in several batches and checks the
// rollups add up across batches, per resource, minute, operation and
// status, and per hour and caller.
func testAuditRollups(t *testing.T, open Opener) {
	s := open(t)
	a, b := vaultID("vault-a"), vaultID("vault-b")
	minute := at.Truncate(time.Minute)
	rec := func(id resource.ID, op audit.OperationName, offset time.Duration, status int, ms int64, caller string) audit.Record {
		r := auditRecord(id, op, 0)
		r.Time, r.Properties.HTTPStatusCode, r.DurationMs, r.Identity.ObjectID = minute.Add(offset), status, ms, caller
		r.Properties.SecretProperties = nil
		return r
	}
	const alice, bob = "0b7a2c4e-0000-4000-8000-00000000000a", "0b7a2c4e-0000-4000-8000-00000000000b"
	batches := [][]audit.Record{
		{rec(a, audit.SecretGet, 1*time.Second, 200, 1, alice), rec(a, audit.SecretGet, 2*time.Second, 200, 3, alice),
			rec(b, audit.SecretGet, 0, 200, 1, bob)},
		{rec(a, audit.SecretGet, 30*time.Second, 200, 100, bob), rec(a, audit.SecretGet, 40*time.Second, 404, 2, alice),
			rec(a, audit.SecretList, 61*time.Second, 200, 5, "")},
	}
	for _, batch := range batches {
		if err := s.AppendAudit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	hist := func(ms ...int64) audit.Histogram {
		var h audit.Histogram
		for _, m := range ms {
			h.Add(m)
		}
		return h
	}
	want := []audit.OperationRollup{
		{Time: minute, Operation: audit.SecretGet, HTTPStatus: 200, Records: 3, Latency: hist(1, 3, 100)},
		{Time: minute, Operation: audit.SecretGet, HTTPStatus: 404, Records: 1, Latency: hist(2)},
		{Time: minute.Add(time.Minute), Operation: audit.SecretList, HTTPStatus: 200, Records: 1, Latency: hist(5)},
	}
	got := sortRollups(rollups(t, s, a, minute, minute.Add(2*time.Minute)))
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("rollups of vault-a (-want +got):\n%s", diff)
	}
	// The range is half-open and per minute.
	if got := rollups(t, s, a, minute.Add(time.Minute), minute.Add(2*time.Minute)); len(got) != 1 || got[0].Operation != audit.SecretList {
		t.Errorf("rollups of the second minute = %+v", got)
	}
	if got := rollups(t, s, a, minute, minute.Add(time.Minute)); len(got) != 2 {
		t.Errorf("rollups of the first minute = %+v", got)
	}
	hour := minute.Truncate(time.Hour)
	callers, err := s.AuditTopCallers(ctx, a, hour, hour.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantCallers := []audit.CallerCount{{ObjectID: alice, Records: 3}, {ObjectID: bob, Records: 1}}
	if diff := gocmp.Diff(wantCallers, callers); diff != "" {
		t.Errorf("top callers of vault-a (-want +got):\n%s", diff)
	}
	if callers, err := s.AuditTopCallers(ctx, a, hour, hour.Add(time.Hour), 1); err != nil || len(callers) != 1 {
		t.Errorf("top 1 caller = %+v, %v", callers, err)
	}
	if callers, err := s.AuditTopCallers(ctx, a, hour.Add(time.Hour), hour.Add(2*time.Hour), 10); err != nil || len(callers) != 0 {
		t.Errorf("top callers of the next hour = %+v, %v", callers, err)
	}
	// Per hour, the minutes add up.
	perHour, err := s.AuditRollups(ctx, a, minute.Truncate(time.Hour), minute.Truncate(time.Hour).Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := minute.Truncate(time.Hour)
	wantHour := []audit.OperationRollup{
		{Time: h, Operation: audit.SecretGet, HTTPStatus: 200, Records: 3, Latency: hist(1, 3, 100)},
		{Time: h, Operation: audit.SecretGet, HTTPStatus: 404, Records: 1, Latency: hist(2)},
		{Time: h, Operation: audit.SecretList, HTTPStatus: 200, Records: 1, Latency: hist(5)},
	}
	if diff := gocmp.Diff(wantHour, sortRollups(perHour)); diff != "" {
		t.Errorf("hourly rollups of vault-a (-want +got):\n%s", diff)
	}
	if got := rollups(t, s, b, minute, minute.Add(time.Hour)); len(got) != 1 || got[0].Records != 1 {
		t.Errorf("rollups of vault-b = %+v", got)
	}
}

// testAuditRollupsAtomic checks a batch that fails leaves the rollups as
// they were: they commit with the records or not at all.
func testAuditRollupsAtomic(t *testing.T, open Opener) {
	s := open(t)
	a := vaultID("vault-a")
	good := auditRecord(a, audit.SecretGet, 1)
	bad := auditRecord(a, audit.SecretGet, 2)
	bad.OperationName = "not a name"
	if err := s.AppendAudit(ctx, []audit.Record{good, bad}); err == nil {
		t.Fatal("AppendAudit with an invalid record succeeded")
	}
	if got := rollups(t, s, a, at.Add(-time.Hour), at.Add(time.Hour)); len(got) != 0 {
		t.Errorf("rollups after a failed batch = %+v", got)
	}
}

func rollups(t *testing.T, s *store.Store, id resource.ID, from, to time.Time) []audit.OperationRollup {
	t.Helper()
	got, err := s.AuditRollups(ctx, id, from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// sortRollups orders rollups by time, operation and status: the store
// returns them in no particular order.
func sortRollups(rs []audit.OperationRollup) []audit.OperationRollup {
	slices.SortFunc(rs, func(a, b audit.OperationRollup) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(string(a.Operation), string(b.Operation)),
			cmp.Compare(a.HTTPStatus, b.HTTPStatus))
	})
	return rs
}
