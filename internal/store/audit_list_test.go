package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

// TestListAuditOrder lists audit entries in both orders, on SQLite and
// (when EDGEVAULT_TEST_POSTGRES_URL is set) PostgreSQL: newest first is
// the exact reverse of oldest first under every filter, and paging with
// the cursor in either order visits each entry once. It sits beside the
// store rather than in storetest's AuditList so that the orders are
// checked against each other over one trail with interleaved resources
// and times out of id order.
func TestListAuditOrder(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(*testing.T) *store.Store
	}{
		{"sqlite", OpenSQLite},
		{"postgres", func(t *testing.T) *store.Store {
			base := pgtest.Base()
			if base == "" {
				t.Skip(pgtest.EnvVar + " not set")
			}
			return openPostgres(t, base)
		}},
	} {
		t.Run(db.name, func(t *testing.T) { testListAuditOrder(t, db.open(t)) })
	}
}

var listAt = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// listRecord is record n of vault: at listAt plus n seconds, except that
// every seventh is a minute early (a slow request's start time, committed
// after later ones); SecretGet or, every third, SecretSet; a failure
// every fourth; caller "a" or, every fifth, "b".
func listRecord(vault resource.ID, n int) audit.Record {
	r := audit.Record{Time: listAt.Add(time.Duration(n) * time.Second), ResourceID: vault, OperationName: audit.SecretGet,
		OperationVersion: "7.5", ResultType: audit.Success, ResultSignature: "OK", DurationMs: int64(n),
		CallerIPAddress: netip.MustParseAddr("192.0.2.7"), RequestID: fmt.Sprintf("req-%d", n),
		Identity:   audit.Identity{ObjectID: "0b7a2c4e-0000-4000-8000-00000000000a"},
		Properties: audit.Properties{HTTPStatusCode: 200}}
	if n%7 == 0 {
		r.Time = r.Time.Add(-time.Minute)
	}
	if n%3 == 0 {
		r.OperationName = audit.SecretSet
	}
	if n%4 == 0 {
		r.ResultType, r.Properties.HTTPStatusCode = audit.Failure, 403
	}
	if n%5 == 0 {
		r.Identity.ObjectID = "0b7a2c4e-0000-4000-8000-00000000000b"
	}
	return r
}

func testListAuditOrder(t *testing.T, s *store.Store) {
	ctx := context.Background()
	rg := resource.NewResourceGroup("00000000-0000-0000-0000-000000000001", "rg")
	a, b := rg.Child("Microsoft.KeyVault", "vaults", "kv-a"), rg.Child("Microsoft.KeyVault", "vaults", "kv-b")
	// 120 records, a third of them vault b's, in batches of 25 as the
	// writer commits them.
	var batch []audit.Record
	for n := range 120 {
		v := a
		if n%3 == 1 {
			v = b
		}
		batch = append(batch, listRecord(v, n))
		if len(batch) == 25 || n == 119 {
			if err := s.AppendAudit(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	numbers := func(es []audit.Entry) []int {
		var out []int
		for _, e := range es {
			out = append(out, int(e.DurationMs)) // DurationMs is the record's number
		}
		return out
	}
	// page lists every entry matching f, limit at a time, following the
	// cursor; it fails on a repeated entry or one out of order.
	page := func(f audit.Filter, limit int) []int {
		t.Helper()
		f.Limit = limit
		var (
			all    []int
			lastID int64
		)
		for pages := 0; ; pages++ {
			if pages > 200 {
				t.Fatalf("%+v: paging does not end", f)
			}
			es, err := s.ListAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if lastID != 0 && (e.ID > lastID) != !f.Newest {
					t.Fatalf("%+v: entry %d after %d", f, e.ID, lastID)
				}
				lastID = e.ID
			}
			all = append(all, numbers(es)...)
			if len(es) < limit {
				return all
			}
			f.After = es[len(es)-1].ID
		}
	}

	from, to := listAt.Add(30*time.Second), listAt.Add(90*time.Second)
	for _, tt := range []struct {
		name string
		f    audit.Filter
	}{
		{"all", audit.Filter{}},
		{"resource", audit.Filter{ResourceID: &a}},
		{"since", audit.Filter{ResourceID: &a, From: from}},
		{"until", audit.Filter{ResourceID: &b, To: to}},
		{"range", audit.Filter{From: from, To: to}},
		{"operation", audit.Filter{ResourceID: &a, Operation: audit.SecretSet}},
		{"caller", audit.Filter{CallerObjectID: "0b7a2c4e-0000-4000-8000-00000000000b"}},
		{"combined", audit.Filter{ResourceID: &a, From: from, To: to, Operation: audit.SecretGet, ResultType: audit.Failure}},
		{"none", audit.Filter{ResourceID: &b, Operation: audit.VaultPurge}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// What matches, by the records' own fields: the oracle.
			var want []int
			for n := range 120 {
				r := listRecord(a, n)
				switch {
				case tt.f.ResourceID != nil && tt.f.ResourceID.Equal(a) != (n%3 != 1),
					!tt.f.From.IsZero() && r.Time.Before(tt.f.From),
					!tt.f.To.IsZero() && !r.Time.Before(tt.f.To),
					tt.f.Operation != "" && r.OperationName != tt.f.Operation,
					tt.f.CallerObjectID != "" && r.Identity.ObjectID != tt.f.CallerObjectID,
					tt.f.ResultType != "" && r.ResultType != tt.f.ResultType:
					continue
				}
				want = append(want, n)
			}
			newest := slices.Clone(want)
			slices.Reverse(newest)
			asc, desc := tt.f, tt.f
			desc.Newest = true
			for _, limit := range []int{1, 7, audit.MaxLimit} {
				if got := page(asc, limit); !cmp.Equal(got, want) {
					t.Errorf("oldest first, %d a page: %v, want %v", limit, got, want)
				}
				if got := page(desc, limit); !cmp.Equal(got, newest) {
					t.Errorf("newest first, %d a page: %v, want %v", limit, got, newest)
				}
			}
		})
	}

	// One page newest first is the last entries; the cursor of an entry
	// pages from it either way.
	f := audit.Filter{ResourceID: &a, Newest: true, Limit: 3}
	es, err := s.ListAudit(ctx, f)
	if err != nil || !cmp.Equal(numbers(es), []int{119, 117, 116}) {
		t.Fatalf("three newest of a: %v, %v", numbers(es), err)
	}
	f.After = es[1].ID
	if es, err = s.ListAudit(ctx, f); err != nil || !cmp.Equal(numbers(es), []int{116, 114, 113}) {
		t.Errorf("newest first before 117: %v, %v", numbers(es), err)
	}
	f.Newest = false
	if es, err = s.ListAudit(ctx, f); err != nil || !cmp.Equal(numbers(es), []int{119}) {
		t.Errorf("oldest first after 117: %v, %v", numbers(es), err)
	}
}
