package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
)

// The audit pages of a key vault: the audit-log table with its filters
// (this file) and the insights charts (audit_insights.go), for an edge
// resource's vault under /resources/{group}/{name} and for any vault under
// /vaults/{group}/{name}, one implementation for both. They read the
// management API's Edgevault.Audit routes as the user, so the API's RBAC
// (Edgevault.Audit/logs/read) decides who sees a trail.
//
// Filters are GET parameters: they are not secret, and a filtered view is
// a link one can share. The table lists newest first unless the user asks
// for oldest first; the audit API orders by entry id either way
// (order=desc or asc) and pages with an opaque $skipToken, which resumes
// in the order it was issued in. The portal passes that token through as
// the "page" parameter, checked to be plain URL-safe text, with the order
// beside it, and never forwards a URL that came from the browser.

// auditRoutes registers the audit and insights pages.
func (h *Handler) auditRoutes() {
	h.mux.HandleFunc("GET /resources/{group}/{name}/audit", h.auth(h.withTarget(h.resourceTarget, h.auditLogs)))
	h.mux.HandleFunc("GET /resources/{group}/{name}/insights", h.auth(h.withTarget(h.resourceTarget, h.auditInsights)))
	h.mux.HandleFunc("GET /vaults/{group}/{name}/audit", h.auth(h.withTarget(h.vaultTarget, h.auditLogs)))
	h.mux.HandleFunc("GET /vaults/{group}/{name}/insights", h.auth(h.withTarget(h.vaultTarget, h.auditInsights)))
}

// auditTarget is the vault whose trail a page shows, and where the page
// lives.
type auditTarget struct {
	// Edge is true under /resources (the edge resource's tabs), false
	// under /vaults.
	Edge        bool
	Group, Name string
	URL         string // the resource's or vault's page: /resources/g/n or /vaults/g/n
	VaultID     string // the vault's ARM id; "" when the edge resource has no vault yet
	VaultName   string
	// Gone says why the trail cannot be read (the vault was purged); ""
	// when it can.
	Gone string
}

// withTarget resolves the page's vault, then runs page.
func (h *Handler) withTarget(resolve func(*http.Request) (auditTarget, error),
	page func(http.ResponseWriter, *http.Request, auditTarget)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := resolve(r)
		if err != nil {
			h.apiFailure(w, r, err)
			return
		}
		page(w, r, t)
	}
}

// resourceTarget is the vault of an edge resource, from its security
// overview.
func (h *Handler) resourceTarget(r *http.Request) (auditTarget, error) {
	o, err := h.readOverview(r)
	if err != nil {
		return auditTarget{}, err
	}
	group, name := r.PathValue("group"), r.PathValue("name")
	return edgeTarget(group, name, o), nil
}

func edgeTarget(group, name string, o securityOverview) auditTarget {
	t := auditTarget{Edge: true, Group: group, Name: name, URL: resourceURL(group, name)}
	if kv := o.KeyVault; kv != nil && kv.ID != "" {
		t.VaultID, t.VaultName = kv.ID, kv.Name
		if kv.State == "Purged" {
			t.Gone = "The key vault " + kv.Name + " was purged, and its audit trail with it."
		}
	}
	return t
}

// vaultTarget is the vault the path names in the user's subscription.
// Whether it exists, and whether the user may read its trail, is the
// API's answer.
func (h *Handler) vaultTarget(r *http.Request) (auditTarget, error) {
	sub, err := h.subscription(r.Context(), r)
	if err != nil {
		return auditTarget{}, err
	}
	group, name := r.PathValue("group"), r.PathValue("name")
	return auditTarget{Group: group, Name: name, URL: vaultURL(group, name), VaultID: vaultPath(sub, group, name), VaultName: name}, nil
}

// auditPath is the path of one of the vault's Edgevault.Audit routes
// with query q (api-version added).
func (t auditTarget) auditPath(route string, q url.Values) string {
	q.Set("api-version", keyVaultAPIVersion)
	return t.VaultID + "/providers/Edgevault.Audit/" + route + "?" + q.Encode()
}

// auditLogData is the audit-log page's data.
type auditLogData struct {
	Target     auditTarget
	Form       auditForm
	Ranges     []choice
	Operations []choice
	Results    []choice
	Orders     []choice
	Sizes      []choice
	// Errors are the filter problems by field name (range, since, until,
	// operation, caller, result, order, top, page); Problem one of no
	// field.
	Errors  map[string]string
	Problem string
	Records []auditRow
	Shown   bool   // the table was read (no vault and bad filters show none)
	Next    string // the next page's portal URL; "" on the last page
	First   string // the first page's portal URL, when not on it
}

// choice is an option of a select.
type choice struct {
	Value, Label string
	Selected     bool
}

// auditLogs shows one page of the vault's audit records.
func (h *Handler) auditLogs(w http.ResponseWriter, r *http.Request, t auditTarget) {
	f, problems := readAuditForm(r.URL.Query(), h.cfg.Now())
	d := auditLogData{Target: t, Form: f, Errors: problems}
	d.fillChoices()
	switch {
	case t.VaultID == "" || t.Gone != "":
		h.render(w, r, http.StatusOK, "audit", d)
		return
	case len(problems) > 0:
		h.render(w, r, http.StatusBadRequest, "audit", d)
		return
	}
	a, err := h.management(r.Context(), r, http.MethodGet, t.auditPath("logs", f.apiQuery()), nil, http.StatusOK)
	var e *apiError
	if errors.As(err, &e) && e.Status == http.StatusBadRequest {
		// The API's own message, beside the field it names.
		if field := fieldOf(e.Message); field != "" {
			d.Errors = map[string]string{field: e.Message}
		} else {
			d.Problem = e.Message
		}
		h.render(w, r, http.StatusBadRequest, "audit", d)
		return
	}
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	var list arm.AuditLogList
	if err := a.decode(&list); err != nil {
		h.internal(w, r, err)
		return
	}
	d.Shown = true
	d.Records = auditRows(list.Value)
	if tok := skipToken(list.NextLink); tok != "" {
		d.Next = t.URL + "/audit?" + f.linkQuery(tok).Encode()
	}
	if f.Page != "" {
		d.First = t.URL + "/audit?" + f.linkQuery("").Encode()
	}
	h.render(w, r, http.StatusOK, "audit", d)
}

// fieldOf names the filter an API message is about. The API's
// InvalidParameter messages quote the parameter ("The value of 'since'
// must be ..."); the match only places the message, which is shown as the
// API wrote it.
func fieldOf(msg string) string {
	for _, p := range [][2]string{{"'since'", "since"}, {"'until'", "until"}, {"'operation'", "operation"},
		{"'caller'", "caller"}, {"'result'", "result"}, {"'order'", "order"}, {"$top", "top"}, {"$skipToken", "page"}} {
		if strings.Contains(msg, p[0]) {
			return p[1]
		}
	}
	return ""
}

// skipToken is the $skipToken of the API's nextLink: the only part of it
// the portal keeps. "" when there is none or it is not plain text.
func skipToken(nextLink string) string {
	if nextLink == "" {
		return ""
	}
	u, err := url.Parse(nextLink)
	if err != nil {
		return ""
	}
	tok := u.Query().Get("$skipToken")
	if !opaqueToken(tok) {
		return ""
	}
	return tok
}

// opaqueToken reports whether s may be a page token: 1 to 256 of URL's
// unreserved characters. The portal does not read it; the API does.
func opaqueToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// auditRow is one record as the table shows it.
type auditRow struct {
	Time       string
	Operation  string
	Result     string
	Status     int
	Signature  string
	Detail     string // resultDescription: the API's client-safe message
	UPN        string
	ObjectID   string
	AppID      string
	Portal     bool // made through the portal (its appid)
	IP         string
	DurationMs string
	RequestURI string // without its query
}

func auditRows(events []arm.AuditEvent) []auditRow {
	rows := make([]auditRow, 0, len(events))
	for _, e := range events {
		row := auditRow{Time: e.Time, Operation: e.OperationName, Result: e.ResultType,
			Status: e.Properties.HTTPStatusCode, Signature: e.ResultSignature, Detail: e.ResultDescription,
			IP: e.CallerIPAddress, DurationMs: e.DurationMs, RequestURI: e.Properties.RequestURI}
		if t, err := time.Parse(time.RFC3339Nano, e.Time); err == nil {
			row.Time = t.UTC().Format("2006-01-02 15:04:05.000")
		}
		if i := strings.IndexAny(row.RequestURI, "?#"); i >= 0 {
			row.RequestURI = row.RequestURI[:i]
		}
		if id := e.Identity; id != nil {
			row.UPN, row.ObjectID, row.AppID = id.Claim.UPN, id.Claim.ObjectID, id.Claim.AppID
			row.Portal = id.Claim.AppID == ClientID
		}
		rows = append(rows, row)
	}
	return rows
}
