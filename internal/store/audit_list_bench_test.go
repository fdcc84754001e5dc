package store_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

// benchAuditRecords is the size of the trail BenchmarkListAudit lists:
// the portal benchmark's (internal/e2e BenchmarkPortalAudit).
const benchAuditRecords = 100_000

// benchAuditEnd is when the benchmark's trail ends; it spans the 24 hours
// before.
var benchAuditEnd = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// BenchmarkListAudit times the audit list API's queries over one vault's
// 100,000 records spread evenly over 24 hours (about 70 a minute), on
// SQLite and (when EDGEVAULT_TEST_POSTGRES_URL is set) PostgreSQL:
//
//   - newest-10: the ten newest records (the portal's Security page);
//
//   - since-10m, since-24h: oldest first from 10 minutes (about 700
//     records) and 24 hours (all) before the end, a page of 100;
//
//   - newest-since-24h: newest first over 24 hours, a page of 100 (the
//     portal's audit-log page);
//
//   - until-10m: newest first up to 10 minutes after the start, a page
//     of 100 (the mirror image of since-10m);
//
//   - window-10m: oldest first in a 10-minute window in the middle.
//
//     go test -run '^$' -bench ListAudit -benchtime 200x ./internal/store/
func BenchmarkListAudit(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(*testing.B) *store.Store
	}{
		{"sqlite", func(b *testing.B) *store.Store {
			s, err := store.Open(context.Background(), store.Config{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) *store.Store {
			if pgtest.Base() == "" {
				b.Skip(pgtest.EnvVar + " not set")
			}
			s, err := store.Open(context.Background(), store.Config{URL: pgtest.SchemaURL(b, pgtest.Base())})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			vault := appendBenchAudit(b, s, benchAuditRecords)
			start := benchAuditEnd.Add(-24 * time.Hour)
			for _, c := range []struct {
				name string
				f    audit.Filter
				want int
			}{
				{"newest-10", audit.Filter{Newest: true, Limit: 10}, 10},
				{"since-10m", audit.Filter{From: benchAuditEnd.Add(-10 * time.Minute), Limit: 100}, 100},
				{"since-24h", audit.Filter{From: start, Limit: 100}, 100},
				{"newest-since-24h", audit.Filter{From: start, Newest: true, Limit: 100}, 100},
				{"until-10m", audit.Filter{To: start.Add(10 * time.Minute), Newest: true, Limit: 100}, 100},
				{"window-10m", audit.Filter{From: start.Add(12 * time.Hour), To: start.Add(12*time.Hour + 10*time.Minute), Limit: 100}, 100},
			} {
				c.f.ResourceID = &vault
				b.Run(c.name, func(b *testing.B) {
					for range b.N {
						es, err := s.ListAudit(context.Background(), c.f)
						if err != nil || len(es) != c.want {
							b.Fatalf("%d entries, %v; want %d", len(es), err, c.want)
						}
					}
				})
			}
		})
	}
}

// appendBenchAudit appends n records of one vault, spread evenly over the
// 24 hours before benchAuditEnd, in batches as the audit writer commits
// them, and returns the vault's id.
func appendBenchAudit(tb testing.TB, s *store.Store, n int) resource.ID {
	tb.Helper()
	vault := resource.NewResourceGroup("00000000-0000-0000-0000-000000000001", "bench-rg").
		Child("Microsoft.KeyVault", "vaults", "kv-bench")
	uri := "https://kv-bench.vault.localhost/secrets/bench?api-version=7.5"
	from, step := benchAuditEnd.Add(-24*time.Hour), 24*time.Hour/time.Duration(n)
	const batch = 2000
	recs := make([]audit.Record, 0, batch)
	for i := range n {
		status, result := http.StatusOK, audit.Success
		if i%50 == 0 {
			status, result = http.StatusForbidden, audit.Failure
		}
		recs = append(recs, audit.Record{Time: from.Add(time.Duration(i) * step), ResourceID: vault,
			OperationName: audit.SecretGet, OperationVersion: "7.5", ResultType: result,
			ResultSignature: http.StatusText(status), DurationMs: int64(i % 40),
			CallerIPAddress: netip.MustParseAddr("192.0.2.10"), RequestID: fmt.Sprintf("bench-%d", i),
			Identity:   audit.Identity{ObjectID: "0c4bd0b8-5a1e-4c3f-9d2a-000000000001", AppID: "bench-app", IDType: "app"},
			Properties: audit.Properties{ID: uri, RequestURI: uri, HTTPStatusCode: status, ClientInfo: "bench"}})
		if len(recs) == batch || i == n-1 {
			if err := s.AppendAudit(context.Background(), recs); err != nil {
				tb.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	return vault
}
