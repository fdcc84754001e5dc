// Package httpx holds the HTTP hygiene every edgevault surface shares and
// the host router that lets one TLS listener serve them all (DESIGN.md §3).
//
// A request passes, outermost first: RequestIDs (x-ms-request-id and the
// echoed client ids), AccessLog, Metrics.Instrument, Recover, LimitBody, and
// then Hosts, which answers /healthz and /readyz on every host and otherwise
// dispatches by Host header to the surface's handler. Wrap assembles that
// chain in that order.
//
// Invariants:
//   - Every response carries x-ms-request-id, including 404s for unknown
//     hosts and the 500 that replaces a panic.
//   - Nothing this package logs or counts contains a query value, a body or
//     a header other than Host and the validated client request ID: queries,
//     bodies and headers carry tokens and secrets. Logs name query
//     parameters only.
//   - A panic's value and stack go to the log, never to the client.
//   - Metric labels have bounded cardinality whatever clients send.
//   - The host router never panics and yields a label only when it is a
//     valid DNS label.
package httpx

import (
	"log/slog"
	"net/http"
)

// Options configures Wrap.
type Options struct {
	// Logger receives the access log and panic reports; nil means
	// slog.Default().
	Logger *slog.Logger

	// Metrics, when set, counts and times every request.
	Metrics *Metrics

	// MaxBodyBytes caps request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Errors holds each surface's ErrorWriter, used for the 500 that
	// replaces a panic. Surfaces without one get WriteARMError.
	Errors map[Surface]ErrorWriter
}

// Wrap returns h (normally a *Hosts) inside the standard middleware, outer
// first: RequestIDs, AccessLog, Metrics.Instrument, Recover, LimitBody.
//
// The order matters: request IDs exist before anything logs; the access
// log and metrics sit outside Recover so they see the 500 a panic became;
// Recover sits outside the handler that records the surface, and reads it
// after the panic to pick the surface's error format.
func Wrap(h http.Handler, o Options) http.Handler {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h = LimitBody(o.MaxBodyBytes)(h)
	h = Recover(logger, o.Errors)(h)
	if o.Metrics != nil {
		h = o.Metrics.Instrument(h)
	}
	h = AccessLog(logger)(h)
	return RequestIDs(h)
}
