package arm

import (
	"net/http"
	"strings"
)

// ErrPreconditionFailed is ARM's answer to a failed If-Match or
// If-None-Match.
var ErrPreconditionFailed = &Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed",
	Message: "The condition specified using HTTP conditional header(s) is not met."}

// CheckPreconditions applies If-Match and If-None-Match to a write
// (reference/edge-arm.md §3.7): If-Match: * needs the resource to exist,
// If-Match: "x" needs its ETag to be x, If-None-Match: * needs it to be
// absent. etag is the current ETag ("" when the resource does not exist).
func CheckPreconditions(r *http.Request, exists bool, etag string) error {
	if m := r.Header.Get("If-Match"); m != "" {
		if !exists || (strings.TrimSpace(m) != "*" && !etagListHas(m, etag)) {
			return ErrPreconditionFailed
		}
	}
	if nm := r.Header.Get("If-None-Match"); nm != "" && exists {
		if strings.TrimSpace(nm) == "*" || etagListHas(nm, etag) {
			return ErrPreconditionFailed
		}
	}
	return nil
}

// etagListHas reports whether a comma-separated list of entity tags (quoted
// or not, weak or strong) holds etag.
func etagListHas(list, etag string) bool {
	if etag == "" {
		return false
	}
	want := strings.Trim(etag, `"`)
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if strings.Trim(t, `"`) == want {
			return true
		}
	}
	return false
}
