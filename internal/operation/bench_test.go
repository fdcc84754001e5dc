package operation_test

import (
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/operation"
)

// BenchmarkEmptyOperation measures the overhead of the mechanism: from
// Start to Succeeded observed by a status read, for a handler that does
// nothing. One operation at a time, so this is latency, not throughput.
func BenchmarkEmptyOperation(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			r := newReplica(b, be.cfg(b), replicaOpts{handlers: map[string]operation.Handler{"test/noop": noop}})
			req := startReq("test/noop", nil)
			start := time.Now()
			for b.Loop() {
				op, err := r.svc.Start(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					got, err := r.svc.Get(ctx, req.SubscriptionID, op.ID)
					if err != nil {
						b.Fatal(err)
					}
					if got.Status == operation.Succeeded {
						break
					}
					if got.Status.Terminal() {
						b.Fatalf("operation %s", got.Status)
					}
					time.Sleep(200 * time.Microsecond)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
