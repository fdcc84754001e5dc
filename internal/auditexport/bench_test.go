package auditexport_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/resource"
)

// BenchmarkExport measures delivery on SQLite, and PostgreSQL when
// EDGEVAULT_TEST_POSTGRES_URL is set, with 4 vaults each with a setting:
//
//   - backlog: b.N records already committed, exported by RunOnce
//     passes; reports records/s exported.
//   - load: 16 callers record b.N records while Run polls every 100ms;
//     reports the delivery lag (blob append committed minus the record's
//     time, which the writer takes just before its commit) at p50 and
//     p99, and records/s through the whole pipeline.
func BenchmarkExport(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name+"/backlog", func(b *testing.B) {
			e := newEnv(b, be.cfg(b))
			vaults := benchSettings(b, e)
			for n := range b.N {
				e.record(b, vaults[n%len(vaults)], n, at.Add(time.Duration(n)*time.Millisecond))
			}
			x := e.exporter(b, auditexport.Config{Now: time.Now})
			b.ResetTimer()
			start := time.Now()
			total := 0
			for total < b.N {
				n, err := x.RunOnce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
		})
		b.Run(be.name+"/load", func(b *testing.B) {
			e := newEnv(b, be.cfg(b))
			vaults := benchSettings(b, e)
			lag := &lagObserver{}
			x := e.exporter(b, auditexport.Config{Now: time.Now, Observer: lag})
			runCtx, stop := context.WithCancel(ctx)
			var run sync.WaitGroup
			run.Go(func() { x.Run(runCtx, 100*time.Millisecond) })
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for range 16 {
				wg.Go(func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						// Time zero: the writer's clock, as in production.
						e.record(b, vaults[n%int64(len(vaults))], int(n), time.Time{})
					}
				})
			}
			wg.Wait()
			for lag.count() < b.N {
				time.Sleep(10 * time.Millisecond)
			}
			elapsed := time.Since(start)
			stop()
			run.Wait()
			b.StopTimer()
			p50, p99 := lag.quantiles()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "lag-p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "lag-p99-ms")
		})
	}
}

// benchSettings creates an account and 4 vaults with a setting each.
func benchSettings(b *testing.B, e *env) []resource.ID {
	acct := e.account(b, "benchlogs")
	var (
		vaults   []resource.ID
		settings []auditexport.Setting
	)
	for i := range 4 {
		v := vaultID(e.sub, fmt.Sprint("bench-", i))
		vaults = append(vaults, v)
		settings = append(settings, auditexport.Setting{ID: "/x/diag-" + v.Name(), ResourceID: v, StorageAccountID: acct.ID, CreatedAt: at})
	}
	e.settings.set(settings...)
	return vaults
}

// lagObserver collects each delivered entry's lag.
type lagObserver struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (o *lagObserver) Delivered(entries []audit.Entry, committed time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, en := range entries {
		o.lags = append(o.lags, committed.Sub(en.Time))
	}
}

func (o *lagObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.lags)
}

func (o *lagObserver) quantiles() (p50, p99 time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.lags) == 0 {
		return 0, 0
	}
	s := slices.Clone(o.lags)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}
