package arm

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/httpx"
)

// DecodeBody reads a JSON request body into v strictly: one JSON value,
// no unknown fields, every field of the right type. Failures are ARM's
// 400 InvalidRequestContent (413 for an oversized body), with a message that
// names the offending field but never echoes values.
func DecodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent", Message: "The request content was empty."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: "The request content must be a single JSON value."}
	}
	return nil
}

func decodeError(err error) error {
	if httpx.IsTooLarge(err) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestContentTooLarge",
			Message: "The request content is too large."}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: "The request content was invalid: the value of '" + typeErr.Field + "' must be of type " + typeErr.Type.String() + "."}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.TrimPrefix(msg, "json: unknown field ")
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: "The request content was invalid: unknown property " + truncate(field) + "."}
	}
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
		Message: "The request content was invalid and could not be deserialized as JSON."}
}
