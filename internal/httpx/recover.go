package httpx

import (
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in next into a 500 written by the ErrorWriter of the
// request's surface (errs[SurfaceOf(ctx)], or WriteARMError when it has
// none), so that a bug in one handler costs one request, not the
// connection, and the client still gets its surface's error shape.
//
// The client sees only the request ID. The panic value and the stack go to
// logger, once, at Error level: they are internals and may hold data the
// client must not see.
//
// http.ErrAbortHandler is re-panicked untouched, as net/http expects of
// middleware. A panic after the response has started cannot become a 500;
// it is logged and turned into http.ErrAbortHandler, so the client sees a
// broken response rather than a truncated one that looks complete.
func Recover(logger *slog.Logger, errs map[Surface]ErrorWriter) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	errs = maps.Clone(errs) // the caller may not change the table under us
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, _ = withInfo(r) // so that Hosts, further in, can record the surface for us
			rw := NewResponseWriter(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				ctx := r.Context()
				logger.LogAttrs(ctx, slog.LevelError, "http: panic serving request",
					slog.String("request_id", RequestID(ctx)),
					slog.String("surface", SurfaceOf(ctx).String()),
					slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				if rw.WroteHeader() {
					panic(http.ErrAbortHandler)
				}
				writeInternalError(rw, r, errs[SurfaceOf(ctx)])
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// writeInternalError answers 500 after a panic. Headers the handler had set
// are dropped (a Content-Length or Content-Type for the response it never
// wrote would corrupt ours), except the request correlation headers.
func writeInternalError(w http.ResponseWriter, r *http.Request, ew ErrorWriter) {
	h := w.Header()
	for k := range h {
		switch k {
		case http.CanonicalHeaderKey(HeaderRequestID),
			http.CanonicalHeaderKey(HeaderClientRequestID),
			http.CanonicalHeaderKey(HeaderCorrelationRequestID):
		default:
			delete(h, k)
		}
	}
	if ew == nil {
		ew = WriteARMError
	}
	msg := "The server encountered an internal error."
	if id := RequestID(r.Context()); id != "" {
		msg += " Request ID: " + id + "."
	}
	ew(w, r, http.StatusInternalServerError, msg)
}
