package armapi

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/resource"
)

// Operation routes: the status resource (Azure-AsyncOperation) and the
// result (Location) of every long-running operation.

// writeAccepted answers a request that started op: 202 with both URLs.
func (h *Handler) writeAccepted(w http.ResponseWriter, q *request, op operation.Operation) {
	status := arm.OperationURL(h.cfg.Endpoint, arm.OperationStatusID(op.SubscriptionID, op.ID), q.apiVersion)
	result := arm.OperationURL(h.cfg.Endpoint, arm.OperationResultPath(op.SubscriptionID, op.ID), q.apiVersion)
	arm.WriteAccepted(w, http.StatusAccepted, status, result, arm.DefaultRetryAfter, nil)
}

// operationFor returns the operation of the path if the caller may see it:
// the caller started it, or may read what it acts on.
func (h *Handler) operationFor(q *request) (operation.Operation, error) {
	if _, err := h.subscriptionScope(q); err != nil {
		return operation.Operation{}, err
	}
	op, err := h.cfg.Operations.Get(q.ctx(), q.vars["subscriptionId"], q.vars["operationId"])
	if err != nil {
		return operation.Operation{}, err
	}
	if op.PrincipalID == q.caller.Principal.ObjectID {
		return op, nil
	}
	target, err := resource.Parse(op.ResourceID)
	if err != nil {
		return operation.Operation{}, errkind.Wrap(errkind.Internal, err, "operation target is corrupt")
	}
	if err := h.cfg.RBAC.Authorize(q.ctx(), q.caller.Principal, readAction(target), target); err != nil {
		return operation.Operation{}, errkind.E(errkind.NotFound, "The operation '%s' could not be found.", truncate(op.ID))
	}
	return op, nil
}

// readAction is the read action of a resource's type.
func readAction(id resource.ID) string {
	switch id.Level() {
	case resource.ResourceGroup:
		return actGroupRead
	case resource.Subscription:
		return actSubscriptionRd
	}
	return id.Type() + "/read"
}

func (h *Handler) getOperationStatus(w http.ResponseWriter, q *request) {
	op, err := h.operationFor(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	st := arm.AsyncOperationStatus{
		ID: arm.OperationStatusID(op.SubscriptionID, op.ID), Name: op.ID, Status: string(op.Status),
		StartTime: arm.OptionalTime(op.StartedAt), EndTime: arm.OptionalTime(op.EndedAt),
		PercentComplete: op.PercentComplete,
	}
	if op.Error != nil {
		st.Error = &arm.ErrorDetail{Code: op.Error.Code, Message: op.Error.Message}
	}
	if op.Result != nil {
		st.Properties = operationProperties(q, op.PrincipalID, op.Step, string(op.Status), op.Result.Body, op.Result.Sensitive)
	} else {
		st.Properties = operationProperties(q, op.PrincipalID, op.Step, string(op.Status), nil, false)
	}
	arm.WriteOperationStatus(w, st, arm.DefaultRetryAfter)
}

func (h *Handler) getOperationResult(w http.ResponseWriter, q *request) {
	op, err := h.operationFor(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	switch {
	case !op.Status.Terminal():
		arm.WriteOperationPending(w, arm.OperationURL(h.cfg.Endpoint, arm.OperationResultPath(op.SubscriptionID, op.ID), q.apiVersion), arm.DefaultRetryAfter)
	case op.Result == nil:
		writeError(w, q.Request, errkind.E(errkind.Internal, "operation %s ended without a result", op.ID))
	case op.Error != nil:
		arm.WriteError(w, op.Result.Status, arm.ErrorDetail{Code: op.Error.Code, Message: op.Error.Message})
	case op.Result.Sensitive && op.PrincipalID != q.caller.Principal.ObjectID:
		// The result holds a credential (an activation key): only its
		// requester may read it.
		writeError(w, q.Request, errkind.E(errkind.PermissionDenied,
			"The result of operation '%s' holds a credential; only the principal that started the operation can read it.", op.ID))
	default:
		arm.WriteOperationResult(w, op.Result.Status, op.Result.Body)
	}
}

func (h *Handler) deleteGroup(w http.ResponseWriter, q *request) {
	id := h.groupID(q)
	g, err := h.cfg.Groups.Get(q.ctx(), id)
	if err == nil {
		err = arm.CheckPreconditions(q.Request, true, g.ETag)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	op, err := h.cfg.Groups.BeginDelete(q.ctx(), q.caller.Principal, id)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	h.writeAccepted(w, q, op)
}
