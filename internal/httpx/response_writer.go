package httpx

import "net/http"

// ResponseWriter wraps an http.ResponseWriter to record the status code and
// the number of body bytes written, for logs and metrics.
//
// It implements http.Flusher (long-poll handlers flush headers early) and
// Unwrap, so http.ResponseController reaches the underlying writer for
// everything else: deadlines, hijacking, full-duplex.
type ResponseWriter struct {
	w       http.ResponseWriter
	status  int
	written int64
}

// NewResponseWriter returns w itself when it already is a *ResponseWriter,
// so that stacked middleware share one record, and a new wrapper otherwise.
func NewResponseWriter(w http.ResponseWriter) *ResponseWriter {
	if rw, ok := w.(*ResponseWriter); ok {
		return rw
	}
	return &ResponseWriter{w: w}
}

// Header returns the underlying writer's header map.
func (rw *ResponseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader records the first final status code and passes code on.
// Informational 1xx codes other than 101 are not final: net/http sends them
// and lets the handler write a real status afterwards.
func (rw *ResponseWriter) WriteHeader(code int) {
	if rw.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		rw.status = code
	}
	rw.w.WriteHeader(code)
}

// Write records an implicit 200 and the bytes written.
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.w.Write(p)
	rw.written += int64(n)
	return n, err
}

// Flush sends buffered data to the client; see FlushError.
func (rw *ResponseWriter) Flush() { rw.FlushError() }

// FlushError flushes like Flush and reports failure, typically a client
// that went away; http.ResponseController.Flush prefers it to Flush.
func (rw *ResponseWriter) FlushError() error {
	if rw.status == 0 {
		rw.status = http.StatusOK // flushing commits the headers with an implicit 200
	}
	return http.NewResponseController(rw.w).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rw *ResponseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Status returns the status code sent, or 200 when the handler has written
// nothing yet, since that is what net/http sends for it.
func (rw *ResponseWriter) Status() int {
	if rw.status == 0 {
		return http.StatusOK
	}
	return rw.status
}

// WroteHeader reports whether the status line has been committed, after
// which an error response can no longer replace the response.
func (rw *ResponseWriter) WroteHeader() bool { return rw.status != 0 }

// Written returns the number of body bytes written so far.
func (rw *ResponseWriter) Written() int64 { return rw.written }
