package httpx

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Bounds on what a client can make the access log carry.
const (
	maxLoggedHost       = 256
	maxLoggedPath       = 1024
	maxLoggedQueryNames = 32
	maxLoggedQueryName  = 64
	maxLoggedMethod     = 16
)

// AccessLog logs one line per request at Info level, after the response:
// method, surface, host, path, the sorted names of the query parameters,
// status, body bytes written, duration, request ID, client request ID and
// remote address.
//
// What it leaves out is the point: no query values (OAuth and SAS put
// secrets there), no headers (Authorization, cookies), no bodies. Every
// client-controlled string is length-bounded.
//
// The line is written from a deferred call, so a panic that escapes next
// is still logged.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r, _ = withInfo(r) // so that Hosts, further in, can record the surface for us
			rw := NewResponseWriter(w)
			defer func() {
				ctx := r.Context()
				logger.LogAttrs(ctx, slog.LevelInfo, "http request",
					slog.String("method", clip(r.Method, maxLoggedMethod)),
					slog.String("surface", SurfaceOf(ctx).String()),
					slog.String("host", clip(r.Host, maxLoggedHost)),
					slog.String("path", clip(escapedPath(r), maxLoggedPath)),
					slog.Any("query", queryNames(r)),
					slog.Int("status", rw.Status()),
					slog.Int64("bytes", rw.Written()),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestID(ctx)),
					slog.String("client_request_id", ClientRequestID(ctx)),
					slog.String("remote_addr", r.RemoteAddr))
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// escapedPath returns the path as sent, escaped: one unambiguous ASCII
// string, whatever bytes the client used.
func escapedPath(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	return r.URL.EscapedPath()
}

// queryNames returns the distinct names of r's query parameters, sorted,
// at most maxLoggedQueryNames of them, each clipped. Never the values.
func queryNames(r *http.Request) []string {
	if r.URL == nil || r.URL.RawQuery == "" {
		return []string{}
	}
	q, _ := url.ParseQuery(r.URL.RawQuery) // a malformed pair is skipped, the rest kept
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, clip(k, maxLoggedQueryName))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > maxLoggedQueryNames {
		names = append(names[:maxLoggedQueryNames], "...")
	}
	return names
}

// clip shortens s to at most n bytes, marking the cut. The cut may split a
// UTF-8 sequence; slog handlers escape invalid bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
