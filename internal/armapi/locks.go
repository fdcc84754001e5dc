package armapi

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/lock"
)

// Locks are extension resources on any scope. Lock routes never ask the
// lock checker: creating and removing locks is how locks are managed, and
// Azure lets an Owner do both whatever is locked.

const (
	actLockRead   = "Microsoft.Authorization/locks/read"
	actLockWrite  = "Microsoft.Authorization/locks/write"
	actLockDelete = "Microsoft.Authorization/locks/delete"
)

func toLock(l lock.Lock) arm.Lock {
	out := arm.Lock{ID: l.ID.String(), Name: l.Name(), Type: lock.ResourceType,
		Properties: arm.LockProperties{Level: string(l.Level), Notes: l.Notes}}
	for _, o := range l.Owners {
		out.Properties.Owners = append(out.Properties.Owners, arm.LockOwner{ApplicationID: o.ApplicationID})
	}
	return out
}

func (h *Handler) putLock(w http.ResponseWriter, q *request) {
	var body arm.LockPut
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		writeError(w, q.Request, err)
		return
	}
	spec := lock.Spec{Level: lock.Level(body.Properties.Level), Notes: body.Properties.Notes}
	for _, o := range body.Properties.Owners {
		spec.Owners = append(spec.Owners, lock.Owner{ApplicationID: o.ApplicationID})
	}
	l, created, err := h.cfg.Locks.Put(q.ctx(), q.caller.Principal, q.scope, q.vars["lockName"], spec)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	_ = httpx.WriteJSON(w, status, toLock(l))
}

func (h *Handler) getLock(w http.ResponseWriter, q *request) {
	l, err := h.cfg.Locks.Get(q.ctx(), q.scope, q.vars["lockName"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toLock(l))
}

func (h *Handler) deleteLock(w http.ResponseWriter, q *request) {
	existed, err := h.cfg.Locks.Delete(q.ctx(), q.scope, q.vars["lockName"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	if existed {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listLocks returns the locks that apply at the scope: at it, above it, and
// (without $filter=atScope()) below it.
func (h *Handler) listLocks(w http.ResponseWriter, q *request) {
	atScope, err := atScopeFilter(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	locks, err := h.cfg.Locks.List(q.ctx(), lock.ListOptions{Scope: q.scope, AtScope: atScope})
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.Lock]{Value: []arm.Lock{}}
	for _, l := range locks {
		out.Value = append(out.Value, toLock(l))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

// atScopeFilter reads $filter: empty or "atScope()".
func atScopeFilter(q *request) (bool, error) {
	switch f := q.URL.Query().Get("$filter"); f {
	case "":
		return false, nil
	case "atScope()":
		return true, nil
	default:
		return false, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidFilter",
			Message: "The $filter '" + truncate(f) + "' is not supported; use atScope()."}
	}
}
