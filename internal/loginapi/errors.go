package loginapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
)

// oauthError is an OAuth 2.0 error response (RFC 6749 §5.2) with the
// fields Entra adds (error_codes, timestamp, trace_id, correlation_id),
// which MSAL surfaces in its error messages.
type oauthError struct {
	Code        string
	Description string
	ErrorCode   int // Entra's AADSTS number, for familiarity
	httpStatus  int // 400 unless set
}

func (e oauthError) status() int {
	if e.httpStatus != 0 {
		return e.httpStatus
	}
	return http.StatusBadRequest
}

type oauthErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, e oauthError) {
	reqID := httpx.RequestID(r.Context())
	body := oauthErrorBody{
		Error:         e.Code,
		Description:   e.Description + " Trace ID: " + reqID,
		Timestamp:     time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		TraceID:       reqID,
		CorrelationID: r.Header.Get("client-request-id"),
	}
	if e.ErrorCode != 0 {
		body.ErrorCodes = []int{e.ErrorCode}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

// writeServerError answers a failure that is not the client's: the cause is
// logged once, here, and the client gets the request id only.
func writeServerError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "server_error"
	if errkind.KindOf(err) == errkind.Unavailable {
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	slog.ErrorContext(r.Context(), "login: request failed", "err", err, "request_id", httpx.RequestID(r.Context()))
	writeError(w, r, status, oauthError{Code: code, Description: "The server could not complete the request; retry later."})
}

func writeJSON(w http.ResponseWriter, status int, v any) { _ = httpx.WriteJSON(w, status, v) }
