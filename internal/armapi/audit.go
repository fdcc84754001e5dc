package armapi

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/resource"
)

// The audit trail of a vault, on the management host: edgevault's own
// extension routes under the vault's ARM id, in ARM's error format and
// with the vault's api-versions.
//
//	GET  {vaultId}/providers/Edgevault.Audit/logs?api-version=&since=&until=&operation=&caller=&result=&order=&$top=&$skipToken=
//	POST {vaultId}/providers/Edgevault.Audit/verify?api-version=
//
// Filters are plain query parameters rather than an OData $filter: no
// Azure SDK calls these routes, and five exact-match parameters need no
// expression parser exposed to untrusted input. For the same reason the
// order is a plain "order=asc" (the default: oldest first, in commit
// order) or "order=desc" (newest first), not an OData $orderby: records
// are ordered by their entry id, which is not quite their time.
//
// The $skipToken (also returned as "cursor") is the opaque form of the
// last entry's id; it needs no MAC because every page is filtered to the
// vault the caller is authorized for, so a forged token can only skip or
// repeat that vault's own records. The nextLink keeps the request's
// parameters, order included, so paging continues the same way. In the
// default order the cursor is where polling resumes to see only newer
// records (`edgevault audit logs --follow`); with order=desc it resumes
// with older ones, the next page, and polling for new records is reading
// the first page again.
//
// A soft-deleted vault's trail stays readable, as Azure keeps the logs of
// deleted vaults; a purged vault's does not (the vault no longer exists).

// AuditNamespace is the extension namespace of the audit routes.
const AuditNamespace = "Edgevault.Audit"

// RBAC actions of the audit routes. Reading matches Reader's "*/read";
// verifying walks the whole chain, so it is an action that only
// Contributor and Owner hold.
const (
	actAuditRead   = "Edgevault.Audit/logs/read"
	actAuditVerify = "Edgevault.Audit/logs/verify/action"
)

// auditScope is the vault whose trail is read: the route's {scope} must
// be a vault id in a subscription of the caller's tenant. Whether the
// vault exists is checked after authorization (auditVault), so a caller
// without the permission cannot probe vault names.
func (h *Handler) auditScope(q *request) (resource.ID, error) {
	if !keyvault.IsVaultID(q.scope) {
		return resource.ID{}, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."}
	}
	q.vars["subscriptionId"] = q.scope.SubscriptionID()
	if _, err := h.subscriptionScope(q); err != nil {
		return resource.ID{}, err
	}
	return q.scope, nil
}

// auditVault returns the id of the route's vault, live or soft-deleted.
func (h *Handler) auditVault(q *request) (resource.ID, error) {
	if h.cfg.Audit == nil {
		return resource.ID{}, &arm.Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
			Message: "The audit trail is not available on this server."}
	}
	v, err := h.cfg.Vaults.Get(q.ctx(), q.scope)
	if err == nil {
		return v.ID, nil
	}
	if !errors.Is(err, keyvault.ErrNotFound) {
		return resource.ID{}, err
	}
	// Not live: look among the subscription's soft-deleted vaults.
	after := ""
	for {
		vs, lerr := h.cfg.Vaults.ListDeleted(q.ctx(), q.scope.SubscriptionID(), after, arm.MaxPageSize)
		if lerr != nil {
			return resource.ID{}, lerr
		}
		for _, v := range vs {
			if v.ID.Equal(q.scope) {
				return v.ID, nil
			}
		}
		if len(vs) < arm.MaxPageSize {
			return resource.ID{}, err
		}
		after = strings.ToLower(vs[len(vs)-1].Name())
	}
}

func (h *Handler) listAuditLogs(w http.ResponseWriter, q *request) {
	out, err := h.auditPage(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) auditPage(q *request) (arm.AuditLogList, error) {
	f, size, err := auditFilter(q.Request)
	if err != nil {
		return arm.AuditLogList{}, err
	}
	id, err := h.auditVault(q)
	if err != nil {
		return arm.AuditLogList{}, err
	}
	return h.auditEntries(q.Request, id, f, size)
}

// auditEntries answers one page of id's records matching f.
func (h *Handler) auditEntries(r *http.Request, id resource.ID, f audit.Filter, size int) (arm.AuditLogList, error) {
	f.ResourceID = &id
	// One more than the page, when the store allows it, tells whether a
	// next page exists.
	f.Limit = min(size+1, audit.MaxLimit)
	es, err := h.cfg.Audit.List(r.Context(), f)
	if err != nil {
		return arm.AuditLogList{}, err
	}
	more := len(es) > size || len(es) == audit.MaxLimit
	es = es[:min(len(es), size)]
	out := arm.AuditLogList{Value: make([]arm.AuditEvent, 0, len(es)), Cursor: auditCursor(f.After)}
	for _, e := range es {
		out.Value = append(out.Value, AuditEvent(e))
	}
	if len(es) > 0 {
		last := es[len(es)-1].ID
		out.Cursor = auditCursor(last)
		if more {
			out.NextLink = arm.NextLink(r, h.cfg.Endpoint, strconv.FormatInt(last, 10))
		}
	}
	return out, nil
}

// auditCursor is the $skipToken that resumes after entry id, in the
// encoding arm.NextLink and arm.ParsePage use; "" before the first entry.
func auditCursor(id int64) string {
	if id == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// auditFilter reads the list route's query: since and until (RFC 3339),
// operation (an operationName), caller (an object id), result (Success or
// Failure), order (asc or desc), $top and $skipToken.
func auditFilter(r *http.Request) (audit.Filter, int, error) {
	page, err := arm.ParsePage(r)
	if err != nil {
		return audit.Filter{}, 0, err
	}
	var f audit.Filter
	if page.After != "" {
		if f.After, err = strconv.ParseInt(page.After, 10, 64); err != nil || f.After < 1 {
			return audit.Filter{}, 0, &arm.Error{Status: http.StatusBadRequest, Code: "InvalidSkipToken",
				Message: "The $skipToken is invalid."}
		}
	}
	query := r.URL.Query()
	for name, t := range map[string]*time.Time{"since": &f.From, "until": &f.To} {
		if s := query.Get(name); s != "" {
			if *t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return audit.Filter{}, 0, invalidParameter(name, "an RFC 3339 time")
			}
		}
	}
	if s := query.Get("operation"); s != "" {
		if !isWord(s) {
			return audit.Filter{}, 0, invalidParameter("operation", "an operationName such as SecretGet")
		}
		f.Operation = audit.OperationName(s)
	}
	f.CallerObjectID = query.Get("caller")
	switch s := query.Get("result"); {
	case s == "":
	case strings.EqualFold(s, string(audit.Success)):
		f.ResultType = audit.Success
	case strings.EqualFold(s, string(audit.Failure)):
		f.ResultType = audit.Failure
	default:
		return audit.Filter{}, 0, invalidParameter("result", "Success or Failure")
	}
	switch s := query.Get("order"); {
	case s == "", strings.EqualFold(s, "asc"):
	case strings.EqualFold(s, "desc"):
		f.Newest = true
	default:
		return audit.Filter{}, 0, invalidParameter("order", "asc or desc")
	}
	return f, page.Size, nil
}

func invalidParameter(name, want string) error {
	return &arm.Error{Status: http.StatusBadRequest, Code: "InvalidParameter",
		Message: "The value of '" + name + "' must be " + want + "."}
}

// isWord reports whether s is a plausible operationName: ASCII letters,
// at most 64.
func isWord(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func (h *Handler) verifyAuditLogs(w http.ResponseWriter, q *request) {
	id, err := h.auditVault(q)
	var out arm.AuditVerification
	if err == nil {
		out, err = h.verifyAudit(q.ctx(), id)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

// verifyAudit walks the vault's chain. A broken chain is a result, not an
// error: the request succeeded in finding it.
func (h *Handler) verifyAudit(ctx context.Context, id resource.ID) (arm.AuditVerification, error) {
	v, err := h.cfg.Audit.Verify(ctx, id)
	var broken *audit.ChainError
	switch {
	case errors.As(err, &broken):
		return arm.AuditVerification{Status: arm.AuditBroken, Records: broken.Seq - 1, FirstBrokenSeq: broken.Seq,
			Reason: breakReason(broken.Problem), Detail: broken.Problem}, nil
	case err != nil:
		return arm.AuditVerification{}, err
	}
	return arm.AuditVerification{Status: arm.AuditIntact, Records: v.Entries, Head: hex.EncodeToString(v.Head)}, nil
}

// breakReason classifies a ChainError's problem (audit.verify's wording).
// TODO: give audit.ChainError a typed reason and drop this matching.
func breakReason(problem string) string {
	switch {
	case strings.HasPrefix(problem, "missing"):
		return "deleted"
	case strings.HasPrefix(problem, "content does not match"), strings.HasPrefix(problem, "unknown encoding"):
		return "modified"
	case strings.HasPrefix(problem, "does not follow"):
		return "reordered"
	case strings.HasPrefix(problem, "stored past the chain head"):
		return "inserted"
	case strings.HasPrefix(problem, "does not match the chain head"):
		return "headMismatch"
	}
	return "unknown"
}

// AuditEvent renders a stored entry as Azure's AuditEvent record
// (reference/keyvault-wire.md §4.1): the one rendering of the audit
// trail, shared by the management API and the storage delivery.
func AuditEvent(e audit.Entry) arm.AuditEvent {
	r := e.Record
	out := arm.AuditEvent{
		Time: arm.AuditTime(r.Time), ResourceID: arm.AuditResourceID(r.ResourceID.String()),
		OperationName: string(r.OperationName), OperationVersion: r.OperationVersion,
		Category: string(r.Category), ResultType: string(r.ResultType), ResultSignature: r.ResultSignature,
		ResultDescription: r.ResultDescription, DurationMs: strconv.FormatInt(r.DurationMs, 10),
		CorrelationID: r.CorrelationID,
		Properties: arm.AuditProperties{ID: r.Properties.ID, RequestURI: r.Properties.RequestURI,
			HTTPStatusCode: r.Properties.HTTPStatusCode, ClientInfo: r.Properties.ClientInfo,
			IsAccessPolicyMatch: r.Properties.IsAccessPolicyMatch, TLSVersion: r.Properties.TLSVersion,
			RequestID: r.RequestID},
	}
	if out.Category == "" {
		out.Category = string(audit.AuditEvent)
	}
	if r.CallerIPAddress.IsValid() {
		out.CallerIPAddress = r.CallerIPAddress.String()
	}
	if id := r.Identity; id != (audit.Identity{}) {
		out.Identity = &arm.AuditIdentity{Claim: arm.AuditClaims{ObjectID: id.ObjectID, AppID: id.AppID,
			UPN: id.UPN, TenantID: id.TenantID, IDType: id.IDType}}
	}
	if sp := r.Properties.SecretProperties; sp != nil {
		out.Properties.SecretProperties = &arm.AuditSecretProperties{Attributes: arm.AuditSecretAttributes{
			Enabled: sp.Enabled, NotBefore: arm.AuditUnix(sp.NotBefore), Expires: arm.AuditUnix(sp.Expires)}}
	}
	return out
}
