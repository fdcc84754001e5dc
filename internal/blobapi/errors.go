package blobapi

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
)

// Errors of the blob API itself; the domain's come from package blob.
// Messages are Azure's where Azure has one.
var (
	errNoAuth         = errkind.E(errkind.Unauthenticated, "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	errBadAuth        = errkind.E(errkind.Unauthenticated, "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
	errPermission     = errkind.E(errkind.PermissionDenied, "This request is not authorized to perform this operation using this permission.")
	errNoAccount      = errkind.E(errkind.NotFound, "The specified storage account does not exist on this server.")
	errNoRoute        = errkind.E(errkind.NotFound, "The specified resource does not exist.")
	errReadOnly       = errkind.E(errkind.Invalid, "The resource doesn't support specified Http Verb: blobs of this service are written only by edgevault.")
	errMissingVersion = errkind.E(errkind.Invalid, "An HTTP header that's mandatory for this request is not specified: x-ms-version.")
	errBadVersion     = errkind.E(errkind.Invalid, "The value for one of the HTTP headers is not in the correct format: x-ms-version.")
	errBadPath        = errkind.E(errkind.Invalid, "The requested URI does not represent any resource on the server.")
	errBadQuery       = errkind.E(errkind.Invalid, "Value for one of the query parameters specified in the request URI is invalid.")
	errBadRange       = errkind.E(errkind.Invalid, "The value for one of the HTTP headers is not in the correct format: Range.")
	errRangeNotSat    = errkind.E(errkind.Invalid, "The range specified is invalid for the current size of the resource.")
	errCondition      = errkind.E(errkind.PreconditionFailed, "The condition specified using HTTP conditional header(s) is not met.")
	errNotModified    = errkind.E(errkind.PreconditionFailed, "not modified")
	errBadState       = errkind.E(errkind.Internal, "blob shrank between two reads")
)

// badQuery is a 400 InvalidQueryParameterValue naming the parameter.
func badQuery(name string) error {
	return &errkind.Error{Kind: errkind.Invalid, Err: errBadQuery,
		Message: fmt.Sprintf("Value for one of the query parameters specified in the request URI is invalid: %s.", name)}
}

// errorRow maps a sentinel or a kind to a status and an Azure Storage
// error code. The table is ordered: the first row that matches wins.
type errorRow struct {
	sentinel error        // matched with errors.Is when set
	kind     errkind.Kind // matched with errkind.KindOf otherwise
	status   int
	code     string
}

// errorTable is the one place where blob API errors become wire errors
// (Azure's "Blob service error codes" and "Common REST API error codes").
var errorTable = []errorRow{
	{sentinel: errNoAuth, status: http.StatusUnauthorized, code: "NoAuthenticationInformation"},
	{kind: errkind.Unauthenticated, status: http.StatusUnauthorized, code: "InvalidAuthenticationInfo"},
	{sentinel: errPermission, status: http.StatusForbidden, code: "AuthorizationPermissionMismatch"},
	{sentinel: errNoAccount, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: errNoRoute, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: blob.ErrContainerNotFound, status: http.StatusNotFound, code: "ContainerNotFound"},
	{sentinel: blob.ErrBlobNotFound, status: http.StatusNotFound, code: "BlobNotFound"},
	{sentinel: errReadOnly, status: http.StatusMethodNotAllowed, code: "UnsupportedHttpVerb"},
	{sentinel: errMissingVersion, status: http.StatusBadRequest, code: "MissingRequiredHeader"},
	{sentinel: errBadVersion, status: http.StatusBadRequest, code: "InvalidHeaderValue"},
	{sentinel: errBadRange, status: http.StatusBadRequest, code: "InvalidHeaderValue"},
	{sentinel: errRangeNotSat, status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange"},
	{sentinel: errBadPath, status: http.StatusBadRequest, code: "InvalidUri"},
	{sentinel: errBadQuery, status: http.StatusBadRequest, code: "InvalidQueryParameterValue"},
	{sentinel: errNotModified, status: http.StatusNotModified, code: "ConditionNotMet"},
	{sentinel: errCondition, status: http.StatusPreconditionFailed, code: "ConditionNotMet"},
	{kind: errkind.Invalid, status: http.StatusBadRequest, code: "InvalidInput"},
	{kind: errkind.PermissionDenied, status: http.StatusForbidden, code: "AuthorizationFailure"},
	{kind: errkind.NotFound, status: http.StatusNotFound, code: "ResourceNotFound"},
	{kind: errkind.Unavailable, status: http.StatusServiceUnavailable, code: "ServerBusy"},
}

// lookupError renders err. internal reports a server-side failure whose
// cause must be logged and whose message is not shown.
func lookupError(err error) (status int, code, msg string, internal bool) {
	k := errkind.KindOf(err)
	for _, row := range errorTable {
		if row.sentinel != nil && !errors.Is(err, row.sentinel) || row.sentinel == nil && row.kind != k {
			continue
		}
		internal = row.status == http.StatusServiceUnavailable
		msg = errkind.Message(err)
		if msg == "" || internal {
			msg = "The server is currently unable to receive requests. Please retry your request."
		}
		return row.status, row.code, msg, internal
	}
	return http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request.", true
}

// storageError is Azure Storage's error body.
type storageError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// writeError answers err as Azure Storage does: the status, the
// x-ms-error-code header and, except for HEAD and 304, the XML body whose
// message ends with the request id and time.
func (h *Handler) writeError(x *exchange, err error) {
	status, code, msg, internal := lookupError(err)
	ctx := x.r.Context()
	rid := httpx.RequestID(ctx)
	if internal {
		h.cfg.Logger.ErrorContext(ctx, "blob api request failed", "err", err, "request_id", rid)
	}
	hd := x.w.Header()
	hd.Set("x-ms-error-code", code)
	if x.version != "" {
		hd.Set("x-ms-version", x.version)
	}
	if rid != "" && hd.Get("x-ms-request-id") == "" {
		hd.Set("x-ms-request-id", rid)
	}
	if x.r.Method == http.MethodHead || status == http.StatusNotModified {
		x.w.WriteHeader(status)
		return
	}
	body, _ := xml.Marshal(storageError{Code: code,
		Message: msg + "\nRequestId:" + rid + "\nTime:" + h.cfg.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")})
	hd.Set("Content-Type", "application/xml")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(append([]byte(xml.Header), body...))
}

// WriteError is the httpx.ErrorWriter of the blob hosts, for responses the
// middleware makes itself (the 500 that replaces a panic, a 413).
func WriteError(w http.ResponseWriter, r *http.Request, status int, message string) {
	code := "InternalError"
	switch {
	case status == http.StatusRequestEntityTooLarge:
		code = "RequestBodyTooLarge"
	case status == http.StatusNotFound:
		code = "ResourceNotFound"
	case status == http.StatusServiceUnavailable:
		code = "ServerBusy"
	case status < 500:
		code = "InvalidInput"
	}
	w.Header().Set("x-ms-error-code", code)
	if r != nil && r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := xml.Marshal(storageError{Code: code, Message: message})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}
