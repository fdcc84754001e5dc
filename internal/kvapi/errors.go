package kvapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/token"
)

// Errors of the data plane itself; the domain's come from package secret.
var (
	errMissingToken  = errkind.E(errkind.Unauthenticated, "AKV10000: Request is missing a Bearer or PoP token.")
	errPrincipalGone = errkind.E(errkind.Unauthenticated, "The principal of the access token no longer exists or is disabled.")
	errAccessDenied  = errkind.E(errkind.PermissionDenied, "access denied")
	errVaultNotFound = errkind.E(errkind.NotFound, "The vault does not exist on this server, or it is deleted.")
	errNoRoute       = errkind.E(errkind.NotFound, "The requested URI does not name a supported Key Vault operation.")
	errMethod        = errkind.E(errkind.Invalid, "The HTTP method is not allowed on this URI.")
	errThrottled     = errkind.E(errkind.Unavailable, "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached")
	errAuditFailed   = errkind.E(errkind.Unavailable, "The request could not be audited, so its result is withheld. Retry later.")
	errTooLarge      = errkind.E(errkind.TooLarge, "The request body is too large.")
	errBadRequest    = errkind.E(errkind.Invalid, "bad request")
	errBadSkipToken  = errkind.E(errkind.Invalid, "The $skiptoken is not valid for this list.")

	errMissingAPIVersion = errkind.E(errkind.Invalid, "The 'api-version' query parameter is required.")
)

// badRequest is a 400 BadParameter with a message.
func badRequest(format string, args ...any) error {
	return &errkind.Error{Kind: errkind.Invalid, Message: fmt.Sprintf(format, args...), Err: errBadRequest}
}

func unknownAPIVersion(v string) error {
	return badRequest("The specified version (%s) is not recognized. Consider using the latest supported version (%s).",
		clip(v, 64), akv.LatestVersion)
}

func invalidName(name string) error {
	return badRequest("The request URI contains an invalid name: %s", clip(name, secret.MaxNameLen+1))
}

// accessDenied is Azure's access-policy denial (reference/keyvault-wire.md
// §1.6), naming the caller, the permission and the vault.
func accessDenied(x *exchange, p keyvault.SecretPermission) error {
	return &errkind.Error{Kind: errkind.PermissionDenied, Err: errAccessDenied, Message: fmt.Sprintf(
		"The user, group or application 'appid=%s;oid=%s;iss=%s' does not have secrets %s permission on key vault '%s;location=%s'. "+
			"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		x.claims.AppID, x.claims.ObjectID, x.claims.Issuer, p, x.vaultName, x.vault.Location)}
}

// throttled answers 429 with Retry-After in whole seconds (azcore honours
// it; reference/keyvault-wire.md §1.6).
func throttled(retry time.Duration) result {
	secs := max(1, int((retry+time.Second-1)/time.Second))
	return result{err: errThrottled, header: http.Header{"Retry-After": {strconv.Itoa(secs)}}}
}

// errorRow maps a sentinel or a kind to a status, code and inner code. The
// table is ordered: the first row that matches wins, sentinels first.
type errorRow struct {
	sentinel error        // matched with errors.Is when set
	kind     errkind.Kind // matched with errkind.KindOf otherwise
	status   int
	code     string
	inner    string
	message  string // replaces the error's message when set
}

// errorTable is the one place where data-plane errors become wire errors
// (reference/keyvault-wire.md §1.6). A golden test renders every row.
var errorTable = []errorRow{
	{sentinel: errMissingToken, status: http.StatusUnauthorized, code: "Unauthorized"},
	{sentinel: token.ErrAudience, status: http.StatusUnauthorized, code: "Unauthorized",
		message: "AKV10022: Invalid audience. The access token is not for this vault's resource."},
	{sentinel: token.ErrTenant, status: http.StatusUnauthorized, code: "Unauthorized",
		message: "AKV10032: Invalid issuer. The access token is not from this vault's tenant."},
	{sentinel: token.ErrIssuer, status: http.StatusUnauthorized, code: "Unauthorized",
		message: "AKV10032: Invalid issuer. The access token's issuer is not valid."},
	{kind: errkind.Unauthenticated, status: http.StatusUnauthorized, code: "Unauthorized"},
	{sentinel: errAccessDenied, status: http.StatusForbidden, code: "Forbidden", inner: "AccessDenied"},
	{sentinel: secret.ErrDisabled, status: http.StatusForbidden, code: "Forbidden", inner: "SecretDisabled"},
	{sentinel: secret.ErrPurgeProtected, status: http.StatusForbidden, code: "Forbidden"},
	{sentinel: secret.ErrNotFound, status: http.StatusNotFound, code: "SecretNotFound"},
	{sentinel: secret.ErrDeletedNotFound, status: http.StatusNotFound, code: "SecretNotFound"},
	{sentinel: secret.ErrDeleted, status: http.StatusConflict, code: "Conflict", inner: "ObjectIsDeletedButRecoverable"},
	{sentinel: secret.ErrExists, status: http.StatusConflict, code: "Conflict"},
	{sentinel: errVaultNotFound, status: http.StatusNotFound, code: "VaultNotFound"},
	{sentinel: errNoRoute, status: http.StatusNotFound, code: "NotFound"},
	{sentinel: errMethod, status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"},
	{sentinel: errThrottled, status: http.StatusTooManyRequests, code: "Throttled"},
	{sentinel: errAuditFailed, status: http.StatusServiceUnavailable, code: "ServiceUnavailable"},
	{kind: errkind.Invalid, status: http.StatusBadRequest, code: "BadParameter"},
	{kind: errkind.TooLarge, status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge"},
	{kind: errkind.PermissionDenied, status: http.StatusForbidden, code: "Forbidden"},
	{kind: errkind.NotFound, status: http.StatusNotFound, code: "NotFound"},
	{kind: errkind.Conflict, status: http.StatusConflict, code: "Conflict"},
	{kind: errkind.Unavailable, status: http.StatusServiceUnavailable, code: "ServiceUnavailable"},
}

// lookupError renders err. internal reports a server-side failure (500 or
// 503 without a known cause): its cause must be logged and its message
// replaced by the request id.
func lookupError(err error) (status int, body akv.ErrorResponse, internal bool) {
	k := errkind.KindOf(err)
	for _, row := range errorTable {
		if row.sentinel != nil && !errors.Is(err, row.sentinel) || row.sentinel == nil && row.kind != k {
			continue
		}
		msg := row.message
		if msg == "" {
			msg = errkind.Message(err)
		}
		if msg == "" {
			msg = http.StatusText(row.status)
		}
		internal = row.status == http.StatusServiceUnavailable && row.sentinel == nil
		return row.status, akv.NewError(row.code, msg, row.inner), internal
	}
	return http.StatusInternalServerError, akv.NewError("InternalServerError", "", ""), true
}

// WriteError is the httpx.ErrorWriter of the vault hosts: a Key Vault error
// envelope whose code follows from the status. The middleware uses it for
// the responses it makes itself (the 500 that replaces a panic, a 413).
func WriteError(w http.ResponseWriter, _ *http.Request, status int, message string) {
	code := "InternalServerError"
	switch {
	case status == http.StatusRequestEntityTooLarge:
		code = "RequestEntityTooLarge"
	case status == http.StatusNotFound:
		code = "NotFound"
	case status == http.StatusServiceUnavailable:
		code = "ServiceUnavailable"
	case status < 500:
		code = "BadParameter"
	}
	akv.WriteError(w, status, akv.NewError(code, message, ""))
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
