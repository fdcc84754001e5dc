package armapi

import (
	"context"
	"errors"
	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/edge"
	"log/slog"
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resourcegroup"
	"github.com/edgevault/edgevault/internal/storageaccount"
	"github.com/edgevault/edgevault/internal/token"
)

// errorRow maps a sentinel or a kind to an ARM status and code. The table
// is ordered: the first row that matches wins, sentinels before kinds.
type errorRow struct {
	sentinel error        // matched with errors.Is when set
	kind     errkind.Kind // matched with errkind.KindOf otherwise
	status   int
	code     string
}

// errorTable is the one place where management-plane errors become wire
// errors (reference/edge-arm.md §3.3–3.4).
var errorTable = []errorRow{
	{sentinel: resourcegroup.ErrNotFound, status: http.StatusNotFound, code: "ResourceGroupNotFound"},
	{sentinel: resourcegroup.ErrLocationChanged, status: http.StatusConflict, code: "InvalidResourceGroupLocation"},
	{sentinel: resourcegroup.ErrDeleting, status: http.StatusConflict, code: "ResourceGroupBeingDeleted"},
	{sentinel: provider.ErrUnknownNamespace, status: http.StatusNotFound, code: "InvalidResourceNamespace"},
	{sentinel: lock.ErrNotFound, status: http.StatusNotFound, code: "LockNotFound"},
	{sentinel: rbac.ErrAuthorizationFailed, status: http.StatusForbidden, code: "AuthorizationFailed"},
	{sentinel: rbac.ErrRoleAssignmentNotFound, status: http.StatusNotFound, code: "RoleAssignmentNotFound"},
	{sentinel: rbac.ErrRoleAssignmentExists, status: http.StatusConflict, code: "RoleAssignmentExists"},
	{sentinel: rbac.ErrUpdateNotPermitted, status: http.StatusBadRequest, code: "RoleAssignmentUpdateNotPermitted"},
	{sentinel: rbac.ErrInvalidAssignmentName, status: http.StatusBadRequest, code: "InvalidRoleAssignmentId"},
	{sentinel: rbac.ErrPrincipalNotFound, status: http.StatusBadRequest, code: "PrincipalNotFound"},
	{sentinel: rbac.ErrPrincipalTypeMismatch, status: http.StatusBadRequest, code: "UnmatchedPrincipalType"},
	{sentinel: rbac.ErrRoleDefinitionNotFound, status: http.StatusBadRequest, code: "RoleDefinitionDoesNotExist"},
	{sentinel: rbac.ErrInvalidScope, status: http.StatusBadRequest, code: "InvalidScope"},
	{sentinel: keyvault.ErrNotFound, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: keyvault.ErrDeletedNotFound, status: http.StatusNotFound, code: "DeletedVaultNotFound"},
	{sentinel: keyvault.ErrNameInvalid, status: http.StatusBadRequest, code: "VaultNameNotValid"},
	{sentinel: keyvault.ErrNameTaken, status: http.StatusConflict, code: "VaultAlreadyExists"},
	{sentinel: keyvault.ErrNameDeleted, status: http.StatusConflict, code: "ConflictError"},
	{sentinel: keyvault.ErrNothingToRecover, status: http.StatusNotFound, code: "SoftDeletedVaultDoesNotExist"},
	{sentinel: keyvault.ErrPurgeProtected, status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"},
	{sentinel: keyvault.ErrLocationChanged, status: http.StatusBadRequest, code: "InvalidResourceLocation"},
	{sentinel: storageaccount.ErrNotFound, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: storageaccount.ErrNameInvalid, status: http.StatusBadRequest, code: "AccountNameInvalid"},
	{sentinel: storageaccount.ErrNameTaken, status: http.StatusConflict, code: "StorageAccountAlreadyTaken"},
	{sentinel: storageaccount.ErrLocationChanged, status: http.StatusBadRequest, code: "InvalidResourceLocation"},
	{sentinel: diagnostics.ErrNotFound, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: diagnostics.ErrStorageAccount, status: http.StatusBadRequest, code: "InvalidStorageAccount"},
	{sentinel: edge.ErrNotFound, status: http.StatusNotFound, code: "ResourceNotFound"},
	{sentinel: edge.ErrNameInvalid, status: http.StatusBadRequest, code: "InvalidResourceName"},
	{sentinel: edge.ErrLocationChanged, status: http.StatusBadRequest, code: "InvalidResourceLocation"},
	{sentinel: edge.ErrBusy, status: http.StatusConflict, code: "AnotherOperationInProgress"},
	{sentinel: activation.ErrNothingToRecover, status: http.StatusConflict, code: "NothingToRecover"},
	{sentinel: activation.ErrVaultNameRequired, status: http.StatusBadRequest, code: "KeyVaultNameRequired"},
	{sentinel: edge.ErrOffline, status: http.StatusConflict, code: "DeviceOffline"},
	{sentinel: edge.ErrReplay, status: http.StatusConflict, code: "PushReplayed"},
	{sentinel: errMissingToken, status: http.StatusUnauthorized, code: "AuthenticationFailed"},
	{sentinel: token.ErrExpired, status: http.StatusUnauthorized, code: "ExpiredAuthenticationToken"},
	{sentinel: token.ErrAudience, status: http.StatusUnauthorized, code: "InvalidAuthenticationTokenAudience"},
	{sentinel: token.ErrTenant, status: http.StatusUnauthorized, code: "InvalidAuthenticationTokenTenant"},
	{kind: errkind.Unauthenticated, status: http.StatusUnauthorized, code: "InvalidAuthenticationToken"},
	{kind: errkind.PermissionDenied, status: http.StatusForbidden, code: "AuthorizationFailed"},
	{kind: errkind.Invalid, status: http.StatusBadRequest, code: "BadRequest"},
	{kind: errkind.TooLarge, status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge"},
	{kind: errkind.NotFound, status: http.StatusNotFound, code: "NotFound"},
	{kind: errkind.Conflict, status: http.StatusConflict, code: "Conflict"},
	{kind: errkind.Locked, status: http.StatusConflict, code: "ScopeLocked"},
	{kind: errkind.PreconditionFailed, status: http.StatusPreconditionFailed, code: "PreconditionFailed"},
	{kind: errkind.Unavailable, status: http.StatusServiceUnavailable, code: "ServiceUnavailable"},
}

// lookupError finds the row for err; unmatched errors are internal.
func lookupError(err error) (int, string) {
	k := errkind.KindOf(err)
	for _, row := range errorTable {
		if row.sentinel != nil {
			if errors.Is(err, row.sentinel) {
				return row.status, row.code
			}
			continue
		}
		if row.kind == k {
			return row.status, row.code
		}
	}
	return http.StatusInternalServerError, "InternalServerError"
}

// renderError turns err into the ARM status and error body the client
// sees. internal reports a server-side failure, whose cause must be logged
// and whose message is replaced by the request id.
func renderError(err error) (status int, d arm.ErrorDetail, internal bool) {
	var wire *arm.Error
	if errors.As(err, &wire) {
		return wire.Status, wire.Detail(), false
	}
	var missing *provider.MissingRegistrationError
	if errors.As(err, &missing) {
		// details[0].target names the namespace: the SDKs' auto-registration
		// policy reads it (reference/edge-arm.md §3.4).
		code := "MissingSubscriptionRegistration"
		return http.StatusConflict, arm.ErrorDetail{Code: code, Message: missing.Error(),
			Details: []arm.ErrorDetail{{Code: code, Target: missing.Namespace, Message: missing.Error()}}}, false
	}
	status, code := lookupError(err)
	msg := errkind.Message(err)
	if msg == "" {
		msg = http.StatusText(status)
	}
	return status, arm.ErrorDetail{Code: code, Message: msg}, status >= 500
}

// ErrorCode maps an error to the status, code and message a failed
// long-running operation ends with: the same table as synchronous errors.
func ErrorCode(err error) (int, string, string) {
	status, d, internal := renderError(err)
	if internal {
		d.Message = "The operation failed because of a server error."
	}
	return status, d.Code, d.Message
}

// writeError answers err. The client sees the error's safe message and the
// request id; a server-side failure's cause is logged here, once.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, d, internal := renderError(err)
	if internal {
		loggerFrom(r.Context()).ErrorContext(r.Context(), "management: request failed", "err", err, "request_id", httpx.RequestID(r.Context()))
		d.Message = "The server could not complete the request. Request id: " + httpx.RequestID(r.Context())
	}
	arm.WriteError(w, status, d)
}

type loggerKey struct{}

// loggerFrom returns the handler's logger, which ServeHTTP puts in the
// request context, or the default logger.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
