package armapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/resource"
)

// Audit records of vault management writes (docs/architecture.md,
// "Audit"): every authenticated PUT, PATCH and DELETE of a vault, change
// of its access policies and purge of a deleted vault leaves one
// AuditEvent record (reference/keyvault-wire.md §4.1) in the vault's hash
// chain, whatever its outcome, including 403 and the provider's 4xx.
// Routes opt in with their route.Audit operation name; serve applies
// auditWrite around the guard's authorization and the handler, so
// handlers know nothing of it.
//
// Fail closed, as the data plane does: the response is held in a buffer
// until the record is durable. When the record cannot be written the
// client gets 503 instead of the held answer. The write itself has then
// already happened (management writes are not rolled back: the store's
// transaction is over by the time the handler returns), so a 503 here
// means "outcome unknown, read the resource". Azure writes its records
// after the fact; we prefer that no client sees a success the trail does
// not hold. PUT, PATCH, DELETE and the access-policy update are idempotent,
// so a client's retry converges; a retried purge answers 404.
//
// Unauthenticated requests are not recorded here (the vault id in the path
// is unproven, and anyone could grow a chain), nor are failed requests
// whose path names a subscription outside the caller's tenant: a caller
// writes only into the chains of its own tenant.

// Operation names of management writes: Azure's (§4.2) where one exists.
// Azure lists no name for the accessPolicies route (its
// VaultAccessPolicyChangedEventGridNotification is an Event Grid event,
// not a request); VaultAccessPolicyUpdate is edgevault's.
const (
	// VaultAccessPolicyUpdate records PUT .../accessPolicies/{add|replace|remove}.
	VaultAccessPolicyUpdate audit.OperationName = "VaultAccessPolicyUpdate"
)

// maxPeek bounds how much of a vault PUT body is read to tell a recovery
// (createMode "recover") from a create or update.
const maxPeek = 1 << 20

// auditWrite runs next (the route's authorization and handler) with the
// response held, records the outcome under rt.Audit and then sends the
// response, or 503 when the record fails. next reports whether the
// request reached the resource provider; one that did not (409
// MissingSubscriptionRegistration, which the SDKs answer by registering
// and retrying) is ARM's answer, not the vault's, and is not recorded.
func (h *Handler) auditWrite(w http.ResponseWriter, q *request, rt *route, next func(http.ResponseWriter) bool) {
	if h.cfg.Audit == nil {
		next(w)
		return
	}
	start := time.Now()
	op := rt.Audit
	if op == audit.VaultPut && isRecover(q.Request) {
		op = audit.VaultRecover
	}
	id := h.auditTarget(q, op)
	buf := &heldResponse{header: http.Header{}, status: http.StatusOK}
	reached := next(buf)
	if !reached || buf.status >= 400 && !h.ownSubscription(q, id) {
		buf.send(w)
		return
	}
	rec := h.mgmtRecord(q, op, id, buf, start)
	if err := h.cfg.Audit.Record(q.ctx(), rec); err != nil {
		writeError(w, q.Request, err)
		return
	}
	buf.send(w)
}

// auditTarget is the resource whose chain receives the record: the vault
// of the path, or for a purge the deleted vault (found by location and
// name, before it is gone), else the subscription. The purge lookup runs
// before authorization, but its result only chooses the chain: nothing of
// it reaches the caller.
func (h *Handler) auditTarget(q *request, op audit.OperationName) resource.ID {
	if op != audit.VaultPurge {
		return vaultID(q)
	}
	if h.cfg.Vaults != nil && q.scope.Level() == resource.Subscription {
		v, err := h.cfg.Vaults.GetDeleted(q.ctx(), q.scope.SubscriptionID(), q.vars["location"], q.vars["vaultName"])
		if err == nil {
			return v.ID
		}
	}
	return q.scope
}

// ownSubscription reports whether id lies in a subscription of the
// caller's tenant.
func (h *Handler) ownSubscription(q *request, id resource.ID) bool {
	if h.cfg.Subscriptions == nil || id.SubscriptionID() == "" {
		return false
	}
	sub, err := h.cfg.Subscriptions.Subscription(q.ctx(), id.SubscriptionID())
	return err == nil && sub.TenantID == q.caller.Principal.TenantID
}

// isRecover reports whether a vault PUT asks for createMode "recover".
// The body is read up to maxPeek and put back for the handler.
func isRecover(r *http.Request) bool {
	if r.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxPeek))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil {
		return false
	}
	var body struct {
		Properties *struct {
			CreateMode *string `json:"createMode"`
		} `json:"properties"`
	}
	if json.Unmarshal(head, &body) != nil || body.Properties == nil || body.Properties.CreateMode == nil {
		return false
	}
	return strings.EqualFold(*body.Properties.CreateMode, string(keyvault.CreateRecover))
}

// mgmtRecord is the AuditEvent of a management write as answered.
func (h *Handler) mgmtRecord(q *request, op audit.OperationName, id resource.ID, buf *heldResponse, start time.Time) audit.Record {
	c := q.caller.Claims
	rec := audit.Record{
		Time: start.UTC(), ResourceID: id, OperationName: op, OperationVersion: q.apiVersion,
		ResultType: audit.Success, ResultSignature: http.StatusText(buf.status),
		DurationMs:      time.Since(start).Milliseconds(),
		CallerIPAddress: peerIP(q.Request),
		CorrelationID:   httpx.ClientRequestID(q.ctx()),
		RequestID:       httpx.RequestID(q.ctx()),
		Identity: audit.Identity{TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: c.AppID,
			UPN: c.UserName, IDType: string(c.IDType)},
		Properties: audit.Properties{ID: id.String(), RequestURI: h.cfg.Endpoint + q.URL.RequestURI(),
			HTTPStatusCode: buf.status, ClientInfo: q.UserAgent()},
	}
	if buf.status >= 300 {
		rec.ResultType, rec.ResultDescription = audit.Failure, errorMessage(buf.body.Bytes())
	}
	return rec
}

// errorMessage is the client-safe message of an ARM error body.
func errorMessage(body []byte) string {
	var e arm.ErrorResponse
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Message
}

// peerIP is the TCP peer; no forwarding header is trusted.
func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// heldResponse is a ResponseWriter that keeps the response until send.
type heldResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *heldResponse) Header() http.Header { return b.header }

func (b *heldResponse) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *heldResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// send writes the held response to w.
func (b *heldResponse) send(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
