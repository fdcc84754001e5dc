package arm

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/httpx"
)

// Long-running operations (edge-arm.md §3.5). A request that starts one
// answers 201 or 202 with two absolute URLs:
//
//   - Azure-AsyncOperation, the operation-status resource: always 200,
//     with an AsyncOperationStatus body whose status turns Succeeded,
//     Failed or Canceled;
//   - Location, the operation result: 202 with no body while it runs,
//     then the response the synchronous call would have given.
//
// Both are subscription-scoped, under Microsoft.Resources, and not under
// the resource: the reference prefers it, because a resource-scoped URL
// would vanish with the resource a DELETE removes, and it keeps one route
// pair for every provider's operations:
//
//	/subscriptions/{sub}/providers/Microsoft.Resources/operationStatuses/{id}
//	/subscriptions/{sub}/providers/Microsoft.Resources/operationResults/{id}
//
// (ARM's own operationResults for resource-group deletion sit directly
// under the subscription; the SDK pollers follow whatever URL they are
// given, so the exact path is ours to choose.)

// DefaultRetryAfter is the Retry-After, in seconds, for operations expected
// to finish in seconds. The SDK pollers wait exactly Retry-After between
// polls, so ARM's cloud-scale guidance (10 s to 10 min) would make a
// one-second operation take ten; a longer-running kind may ask for more.
const DefaultRetryAfter = 1

// OperationStatusID returns the resource id of an operation's status
// resource (also its id field).
func OperationStatusID(subscriptionID, operationID string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Resources/operationStatuses/" + operationID
}

// OperationResultPath returns the path of an operation's result (its
// Location URL without host and query).
func OperationResultPath(subscriptionID, operationID string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Resources/operationResults/" + operationID
}

// OperationURL returns the absolute URL of path on base (the public
// management endpoint, "https://management.S:P"; never the request's Host)
// with the api-version the client used.
func OperationURL(base, path, apiVersion string) string {
	return base + path + "?api-version=" + url.QueryEscape(apiVersion)
}

// AsyncOperationStatus is the operation-status resource. status is
// InProgress until it is Succeeded, Failed or Canceled; error is set when
// Failed or Canceled, properties only on success.
type AsyncOperationStatus struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	StartTime       *time.Time      `json:"startTime,omitempty"`
	EndTime         *time.Time      `json:"endTime,omitempty"`
	PercentComplete int             `json:"percentComplete"`
	Properties      json.RawMessage `json:"properties,omitempty"`
	Error           *ErrorDetail    `json:"error,omitempty"`
}

// Terminal reports whether the status is final.
func (s AsyncOperationStatus) Terminal() bool {
	return s.Status == "Succeeded" || s.Status == "Failed" || s.Status == "Canceled"
}

// OptionalTime returns a pointer to t in UTC, or nil for the zero time:
// the shape the optional time fields take (RFC 3339 when marshalled).
func OptionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// WriteAccepted answers a request that started a long-running operation:
// status (201 for a PUT that created the resource, 202 otherwise) with the
// Azure-AsyncOperation and Location URLs (absolute; either may be "" to
// omit it), an integer Retry-After in seconds, and body, or no body when
// body is nil.
func WriteAccepted(w http.ResponseWriter, status int, asyncURL, locationURL string, retryAfter int, body any) {
	h := w.Header()
	if asyncURL != "" {
		h.Set("Azure-AsyncOperation", asyncURL)
	}
	if locationURL != "" {
		h.Set("Location", locationURL)
	}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if body == nil {
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	_ = httpx.WriteJSON(w, status, body)
}

// WriteOperationStatus answers a read of the operation-status resource:
// always 200 (a failed operation is a successful read), with Retry-After
// while it runs.
func WriteOperationStatus(w http.ResponseWriter, s AsyncOperationStatus, retryAfter int) {
	if !s.Terminal() && retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, s)
}

// WriteOperationPending answers a poll of the Location URL of an operation
// still running: 202, no body, Location (itself) and Retry-After.
func WriteOperationPending(w http.ResponseWriter, locationURL string, retryAfter int) {
	WriteAccepted(w, http.StatusAccepted, "", locationURL, retryAfter, nil)
}

// WriteOperationResult answers a poll of the Location URL of an operation
// that succeeded: the stored final response, status with its JSON body, or
// no body when body is empty (a 204, or a 200 without content). A failed
// operation's result is written with WriteError instead.
func WriteOperationResult(w http.ResponseWriter, status int, body []byte) {
	if len(body) == 0 {
		w.WriteHeader(status) // net/http adds Content-Length: 0, except to a 204
		return
	}
	h := w.Header()
	h.Set("Content-Type", httpx.ContentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
