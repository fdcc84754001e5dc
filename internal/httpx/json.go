package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// ContentTypeJSON is the Content-Type of every JSON response, with the
// charset Azure services send (reference/keyvault-wire.md §1.7).
const ContentTypeJSON = "application/json; charset=utf-8"

// WriteJSON writes v as a JSON response with the given status. It encodes
// before writing anything, so on an encoding error nothing has been sent
// and the caller can still answer 500.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ContentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// A JSON body that a browser sniffs as HTML is an XSS vector, since
	// error messages can echo input.
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// ErrorWriter writes an error response in one surface's wire format.
// message is shown to the client: it must be safe (no internals, no secret
// values). The middleware uses it for the responses it makes itself, such as
// the 500 that replaces a panic.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, message string)

// armError is the error body of ARM and of Key Vault
// (reference/edge-arm.md §3.3).
type armError struct {
	Error armErrorBody `json:"error"`
}

type armErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteARMError is the ErrorWriter for ARM-shaped surfaces:
// {"error":{"code":"...","message":"..."}}, with the code derived from the
// status ("NotFound", "InternalServerError", ...). Surfaces with finer codes
// write their own errors through their error tables.
func WriteARMError(w http.ResponseWriter, _ *http.Request, status int, message string) {
	WriteJSON(w, status, armError{Error: armErrorBody{Code: statusCode(status), Message: message}})
}

// statusCode turns a status into a PascalCase code: 404 is "NotFound",
// 413 "RequestEntityTooLarge".
func statusCode(status int) string {
	code := strings.Map(func(r rune) rune {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, http.StatusText(status))
	if code == "" {
		return "Error"
	}
	return code
}

// oauthError is the OAuth 2.0 error body (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// WriteOAuthError is the ErrorWriter for the login surface:
// {"error":"...","error_description":"..."}. The error code follows from the
// status: server_error for 5xx (temporarily_unavailable for 503, RFC 6749
// §4.1.2.1), invalid_client for 401, invalid_request otherwise.
func WriteOAuthError(w http.ResponseWriter, _ *http.Request, status int, message string) {
	code := "invalid_request"
	switch {
	case status == http.StatusServiceUnavailable:
		code = "temporarily_unavailable"
	case status >= 500:
		code = "server_error"
	case status == http.StatusUnauthorized:
		code = "invalid_client"
	}
	WriteJSON(w, status, oauthError{Error: code, Description: message})
}

// NotFound answers 404 with the generic body
// {"error":{"code":"NotFound","message":"..."}}, for unknown hosts and for
// surfaces that have no handler. The message names neither host nor path:
// there is nothing useful to echo, and echoing is how reflection bugs start.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteARMError(w, r, http.StatusNotFound, "The requested resource was not found on this server.")
}
