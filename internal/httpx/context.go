package httpx

import (
	"context"
	"net/http"
)

type infoKey struct{}

// info is the per-request record the middleware and the host router share.
// The outermost layer (RequestIDs, or Hosts when used alone) puts one in the
// context; Hosts fills in the route before dispatch, and the access log,
// metrics and panic recovery read it after the handler returns, which is
// why it is a pointer rather than a chain of context values: an outer
// layer cannot see values that inner layers add to the context.
//
// It is written only on the request's goroutine before dispatch, and read
// after; goroutines a handler starts see it through the usual
// happens-before of the go statement.
type info struct {
	requestID       string
	clientRequestID string
	surface         Surface
	label           string
}

func infoFrom(ctx context.Context) *info {
	in, _ := ctx.Value(infoKey{}).(*info)
	return in
}

// withInfo returns r and its info, adding an empty one when r has none.
func withInfo(r *http.Request) (*http.Request, *info) {
	if in := infoFrom(r.Context()); in != nil {
		return r, in
	}
	in := new(info)
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, in)), in
}

// RequestID returns the server-generated request ID (x-ms-request-id) of
// the request ctx belongs to, or "" outside RequestIDs.
func RequestID(ctx context.Context) string {
	if in := infoFrom(ctx); in != nil {
		return in.requestID
	}
	return ""
}

// ClientRequestID returns the x-ms-client-request-id the client sent, when
// it was valid (see RequestIDs), or "".
func ClientRequestID(ctx context.Context) string {
	if in := infoFrom(ctx); in != nil {
		return in.clientRequestID
	}
	return ""
}

// SurfaceOf returns the surface Hosts routed the request to, or Unknown.
func SurfaceOf(ctx context.Context) Surface {
	if in := infoFrom(ctx); in != nil {
		return in.surface
	}
	return Unknown
}

// Label returns the vault or storage account name taken from the Host
// header for the Vault and Blob surfaces, or "".
func Label(ctx context.Context) string {
	if in := infoFrom(ctx); in != nil {
		return in.label
	}
	return ""
}

// WithRoute returns a copy of ctx whose request is routed to surface s with
// the given label, for tests of a surface's handler that do not go through
// Hosts. The request IDs already in ctx, if any, are kept.
func WithRoute(ctx context.Context, s Surface, label string) context.Context {
	in := new(info)
	if old := infoFrom(ctx); old != nil {
		*in = *old
	}
	in.surface, in.label = s, label
	return context.WithValue(ctx, infoKey{}, in)
}
