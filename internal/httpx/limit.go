package httpx

import (
	"errors"
	"net/http"
)

// DefaultMaxBodyBytes is the request body limit when none is configured.
// Key Vault secrets are at most 25 KiB and ARM bodies a few KiB; 1 MiB
// leaves room without letting one request pin much memory.
const DefaultMaxBodyBytes = 1 << 20

// LimitBody caps request bodies at n bytes (n <= 0 means
// DefaultMaxBodyBytes) with http.MaxBytesReader: a read past the limit
// fails with *http.MaxBytesError, which surfaces detect with IsTooLarge to
// answer 413 in their own format, and the server closes the connection
// after the response instead of reading the rest.
func LimitBody(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		n = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				// Handlers must not modify the request they are given;
				// a shallow copy carries the limited body onwards.
				r2 := new(http.Request)
				*r2 = *r
				r2.Body = http.MaxBytesReader(w, r.Body, n)
				r = r2
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsTooLarge reports whether err comes from reading a body past the limit
// set by LimitBody; the surface should then answer 413.
func IsTooLarge(err error) bool {
	var e *http.MaxBytesError
	return errors.As(err, &e)
}
