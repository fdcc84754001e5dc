package audit_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
)

// BenchmarkRecord measures Record throughput with group commit at 1, 16
// and 64 concurrent callers over 4 vaults, on SQLite (synchronous=FULL:
// one WAL fsync per transaction) and on PostgreSQL when
// EDGEVAULT_TEST_POSTGRES_URL is set. The budget: Key Vault GET at ≥ 5,000/s
// with 64 callers on 2 cores, so a record must cost well under 100 µs
// amortised. Besides ns/op it reports records/s and tx/record (commits,
// hence WAL fsyncs on SQLite, per record). "nowait" turns off the wait
// for more records (MaxWait < 0), to show what it buys.
func BenchmarkRecord(b *testing.B) {
	cases := []struct {
		name    string
		callers int
		maxWait time.Duration
	}{
		{"callers=1", 1, 0},
		{"callers=16", 16, 0},
		{"callers=64", 64, 0},
		{"callers=64/nowait", 64, -1},
	}
	for _, be := range backends() {
		for _, c := range cases {
			b.Run(be.name+"/"+c.name, func(b *testing.B) {
				w := newWriter(b, audit.Config{Store: openStore(b, be.cfg(b)), MaxWait: c.maxWait})
				vaults := make([]resource.ID, 4)
				recs := make([]audit.Record, len(vaults))
				for i := range vaults {
					vaults[i] = vaultID(fmt.Sprint("bench-", i))
					recs[i] = record(vaults[i], i)
					recs[i].Time = time.Time{} // the writer's clock, as in production
				}
				before := w.Stats()
				var (
					next atomic.Int64
					wg   sync.WaitGroup
				)
				b.ResetTimer()
				start := time.Now()
				for g := range c.callers {
					wg.Go(func() {
						for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
							if err := w.Record(ctx, recs[(g+int(n))%len(recs)]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				after := w.Stats()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(after.Batches-before.Batches)/float64(b.N), "tx/record")
			})
		}
	}
}
