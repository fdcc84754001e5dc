package kvapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/audit"
)

// The data-plane handler with a real SQLite store, envelope and token
// validation (cached after the first request, as in production): SET and
// GET of a 1 KiB value, through the host router and middleware. The
// HTTPS load test lives with the server.
func BenchmarkSet1KiB(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Throttle.Requests = -1 })
	tok := f.token(f.admin)
	body := `{"value":"` + strings.Repeat("v", 1024) + `","contentType":"text/plain"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("PUT", "/secrets/bench?api-version="+api, strings.NewReader(body))
		w := fuzzServe(f, r, tok)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkGet1KiB(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Throttle.Requests = -1 })
	tok := f.token(f.admin)
	must(b, f.as(f.admin)("PUT", "/secrets/bench", `{"value":"`+strings.Repeat("v", 1024)+`"}`), 200)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/secrets/bench/?api-version="+api, nil)
			w := fuzzServe(f, r, tok)
			if w.Code != 200 {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// BenchmarkGet1KiBAudit measures what the durable audit trail costs a
// GET: the same parallel GET with every record committed through the
// group-commit writer into SQLite (as the server runs), and with records
// kept only in memory.
func BenchmarkGet1KiBAudit(b *testing.B) {
	for _, mode := range []string{"durable", "memory"} {
		b.Run("audit="+mode, func(b *testing.B) {
			var w *audit.Writer
			durable := AuditorFunc(func(ctx context.Context, r AuditRecord) error {
				return w.Record(ctx, audit.Record{Time: r.Time, ResourceID: r.ResourceID, OperationName: audit.OperationName(r.OperationName),
					OperationVersion: r.OperationVersion, ResultType: audit.ResultType(r.ResultType), ResultSignature: r.ResultSignature,
					DurationMs: r.DurationMs, RequestID: r.RequestID,
					Identity:   audit.Identity{TenantID: r.CallerTenantID, ObjectID: r.CallerObjectID, AppID: r.CallerAppID},
					Properties: audit.Properties{ID: r.ObjectID, RequestURI: r.RequestURI, HTTPStatusCode: r.StatusCode}})
			})
			f := newFixture(b, func(c *Config) {
				c.Throttle.Requests = -1
				if mode == "durable" {
					c.Auditor = durable
				}
			})
			var err error
			if w, err = audit.New(audit.Config{Store: f.store}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = w.Close(context.Background()) })
			tok := f.token(f.admin)
			must(b, f.as(f.admin)("PUT", "/secrets/bench", `{"value":"`+strings.Repeat("v", 1024)+`"}`), 200)
			b.ReportAllocs()
			b.SetParallelism(32) // 64 concurrent requests on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", "/secrets/bench/?api-version="+api, nil)
					if w := fuzzServe(f, r, tok); w.Code != 200 {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
