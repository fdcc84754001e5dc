package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Request and response headers for request correlation, as Azure services
// use them (reference/edge-arm.md §3.2, reference/keyvault-wire.md §1.7).
const (
	HeaderRequestID            = "x-ms-request-id"
	HeaderClientRequestID      = "x-ms-client-request-id"
	HeaderCorrelationRequestID = "x-ms-correlation-request-id"
)

// maxClientIDLen bounds an echoed client-supplied ID. Azure SDKs send GUIDs;
// anything much longer is not a request ID and is not reflected.
const maxClientIDLen = 256

// RequestIDs gives every request a new random x-ms-request-id, set on the
// response before the handler runs (so even a 404 or a replaced panic
// carries it) and available as RequestID(ctx).
//
// A valid x-ms-client-request-id is echoed, as Key Vault does; an
// x-ms-correlation-request-id is echoed when valid and otherwise set to the
// request ID, as ARM does. "Valid" means 1 to 256 printable ASCII
// characters: the value is reflected into a response header and written
// to logs, so control characters and unbounded lengths are not.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, in := withInfo(r)
		if in.requestID == "" {
			in.requestID = newUUID()
		}
		h := w.Header()
		h.Set(HeaderRequestID, in.requestID)
		if id := r.Header.Get(HeaderClientRequestID); validClientID(id) {
			in.clientRequestID = id
			h.Set(HeaderClientRequestID, id)
		}
		corr := in.requestID
		if id := r.Header.Get(HeaderCorrelationRequestID); validClientID(id) {
			corr = id
		}
		h.Set(HeaderCorrelationRequestID, corr)
		next.ServeHTTP(w, r)
	})
}

// validClientID reports whether a client-supplied ID may be echoed and
// logged.
func validClientID(id string) bool {
	if id == "" || len(id) > maxClientIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// newUUID returns a random (version 4) UUID in its canonical form
// (RFC 9562 §5.4), which is what Azure request IDs look like.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])         // never fails (crypto/rand, Go 1.24+)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
