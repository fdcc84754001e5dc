package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics counts requests and observes their durations per surface. Create
// it with NewMetrics and put Instrument in the middleware chain.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets extend Prometheus' defaults past 10 s because long-poll
// requests from agents legitimately last up to a minute.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics creates the HTTP metrics and registers them on reg, which the
// caller owns: there is no global registry, so tests and several servers
// in one process do not collide.
//
//	edgevault_http_requests_total{surface,method,code}
//	edgevault_http_request_duration_seconds{surface}
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgevault_http_requests_total",
			Help: "HTTP requests served, by surface, method and status code.",
		}, []string{"surface", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgevault_http_request_duration_seconds",
			Help:    "Time from request to the handler's return, by surface.",
			Buckets: durationBuckets,
		}, []string{"surface"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Instrument records every request through next. It reads the surface after
// next returns, so it must sit outside Hosts.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, _ = withInfo(r) // so that Hosts, further in, can record the surface for us
		rw := NewResponseWriter(w)
		defer func() {
			s := SurfaceOf(r.Context()).String()
			m.requests.WithLabelValues(s, metricMethod(r.Method), strconv.Itoa(rw.Status())).Inc()
			m.duration.WithLabelValues(s).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rw, r)
	})
}

// metricMethod maps the method to a fixed set: any token is a valid HTTP
// method, and a label per distinct value would let clients grow the
// metric set without bound.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// MetricsHandler serves the metrics gathered by g (normally the
// *prometheus.Registry given to NewMetrics) in the Prometheus exposition
// format, for /metrics. A collector that fails is reported in the output
// rather than failing the whole scrape.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
