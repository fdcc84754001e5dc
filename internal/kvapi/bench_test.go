package kvapi

import (
	"net/http/httptest"
	"strings"
	"testing"
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
