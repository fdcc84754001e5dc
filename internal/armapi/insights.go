package armapi

import (
	"net/http"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/httpx"
)

// Insights of a vault's audit trail, beside its logs and with the same
// access rule (Edgevault.Audit/logs/read):
//
//	GET {vaultId}/providers/Edgevault.Audit/insights?api-version=&since=&until=
//
// since and until are RFC 3339 times; until defaults to now and since to
// DefaultInsightsRange before until. The answer is computed from the
// store's per-minute rollups (audit.Insights), so its cost follows the
// range, not the size of the trail.

// DefaultInsightsRange is the range of an insights request without since,
// as the Key Vault Insights workbook shows the last 24 hours by default.
const DefaultInsightsRange = 24 * time.Hour

// insightsNow is the clock that defaults until. Tests replace it.
var insightsNow = time.Now

func (h *Handler) getAuditInsights(w http.ResponseWriter, q *request) {
	out, err := h.auditInsights(q)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) auditInsights(q *request) (arm.AuditInsights, error) {
	from, to, err := insightsRange(q.Request)
	if err != nil {
		return arm.AuditInsights{}, err
	}
	id, err := h.auditVault(q)
	if err != nil {
		return arm.AuditInsights{}, err
	}
	in, err := h.cfg.Audit.Insights(q.ctx(), id, from, to)
	if err != nil {
		return arm.AuditInsights{}, err
	}
	return AuditInsights(in), nil
}

// insightsRange reads since and until.
func insightsRange(r *http.Request) (from, to time.Time, err error) {
	query := r.URL.Query()
	to = insightsNow()
	if s := query.Get("until"); s != "" {
		if to, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, time.Time{}, invalidParameter("until", "an RFC 3339 time")
		}
	}
	from = to.Add(-DefaultInsightsRange)
	if s := query.Get("since"); s != "" {
		if from, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, time.Time{}, invalidParameter("since", "an RFC 3339 time")
		}
	}
	switch {
	case !from.Before(to):
		return time.Time{}, time.Time{}, invalidParameter("since", "before until")
	case to.Sub(from) > audit.MaxInsightsRange:
		return time.Time{}, time.Time{}, invalidParameter("since", "at most 31 days before until")
	}
	return from, to, nil
}

// AuditInsights renders insights in their wire shape; lists are never
// null.
func AuditInsights(in audit.Insights) arm.AuditInsights {
	out := arm.AuditInsights{
		Since: in.From.UTC().Format(time.RFC3339), Until: in.To.UTC().Format(time.RFC3339), Interval: "PT1M",
		Timeline: make([]arm.AuditTimelinePoint, 0, len(in.Timeline)), Failures: make([]arm.AuditStatusCount, 0, len(in.Failures)),
		Latency:    arm.AuditLatency{P50Ms: in.P50Ms, P95Ms: in.P95Ms, P99Ms: in.P99Ms},
		TopCallers: make([]arm.AuditCallerCount, 0, len(in.TopCallers)), Records: in.Records,
	}
	if in.Interval == time.Hour {
		out.Interval = "PT1H"
	}
	for _, p := range in.Timeline {
		out.Timeline = append(out.Timeline, arm.AuditTimelinePoint{Time: p.Time.UTC().Format(time.RFC3339),
			Operation: string(p.Operation), Count: p.Records})
	}
	for _, f := range in.Failures {
		out.Failures = append(out.Failures, arm.AuditStatusCount{Status: f.HTTPStatus, Count: f.Records})
	}
	for _, c := range in.TopCallers {
		out.TopCallers = append(out.TopCallers, arm.AuditCallerCount{ObjectID: c.ObjectID, Count: c.Records})
	}
	return out
}
