package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
)

// The insights page of a vault's audit trail, and the audit section of an
// edge resource's Security page. Both read the audit API's insights,
// which the store computes from per-minute rollups, so their cost follows
// the time range and not the size of the trail.

// insightsRanges are the insights page's range presets; 24h is the
// default, as the API's.
var insightsRanges = []auditRange{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
}

// insightsData is the insights page's data.
type insightsData struct {
	Target     auditTarget
	Ranges     []choice
	Range      string
	Problem    string // a bad range, in words
	Shown      bool
	Since      string
	Until      string
	Records    int64
	Failures   int64
	Latency    arm.AuditLatency
	Timeline   lineChart
	FailureBar barChart
	LatencyBar barChart
	CallerBar  barChart
	Callers    []arm.AuditCallerCount
	FailureBy  []arm.AuditStatusCount
}

// auditInsights shows the charts of the vault's trail over a preset range.
func (h *Handler) auditInsights(w http.ResponseWriter, r *http.Request, t auditTarget) {
	d := insightsData{Target: t, Range: r.URL.Query().Get("range")}
	if d.Range == "" {
		d.Range = "24h"
	}
	i := slices.IndexFunc(insightsRanges, func(x auditRange) bool { return x.Key == d.Range })
	for _, x := range insightsRanges {
		d.Ranges = append(d.Ranges, choice{x.Key, x.Label, x.Key == d.Range})
	}
	switch {
	case t.VaultID == "" || t.Gone != "":
		h.render(w, r, http.StatusOK, "insights", d)
		return
	case i < 0:
		d.Problem = "Choose one of the listed time ranges."
		h.render(w, r, http.StatusBadRequest, "insights", d)
		return
	}
	q := url.Values{"since": {h.cfg.Now().Add(-insightsRanges[i].Span).UTC().Format(time.RFC3339)}}
	in, err := h.readInsights(r, t, q)
	if err != nil {
		h.apiFailure(w, r, err)
		return
	}
	d.fill(in)
	h.render(w, r, http.StatusOK, "insights", d)
}

// readInsights reads the vault's insights with query q (since, until).
func (h *Handler) readInsights(r *http.Request, t auditTarget, q url.Values) (arm.AuditInsights, error) {
	var in arm.AuditInsights
	a, err := h.management(r.Context(), r, http.MethodGet, t.auditPath("insights", q), nil, http.StatusOK)
	if err != nil {
		return in, err
	}
	return in, a.decode(&in)
}

// fill sets the page's numbers and charts from in.
func (d *insightsData) fill(in arm.AuditInsights) {
	d.Shown, d.Records, d.Latency, d.Callers, d.FailureBy = true, in.Records, in.Latency, in.TopCallers, in.Failures
	d.Since, d.Until = displayTime(in.Since), displayTime(in.Until)
	d.Timeline = timelineChart(in)
	var labels []string
	var values []int64
	for _, f := range in.Failures {
		d.Failures += f.Count
		labels = append(labels, strconv.Itoa(f.Status)+" "+http.StatusText(f.Status))
		values = append(values, f.Count)
	}
	d.FailureBar = barRows("chart-failures", "Failures by HTTP status",
		"Records answered with HTTP status 400 or above, by status; the numbers are beside the bars.", 200, labels, values, "")
	d.LatencyBar = barRows("chart-latency", "Latency percentiles",
		"Request duration percentiles in milliseconds: p50, p95 and p99, each the upper bound of its histogram bucket.",
		80, []string{"p50", "p95", "p99"}, []int64{in.Latency.P50Ms, in.Latency.P95Ms, in.Latency.P99Ms}, " ms")
	labels, values = nil, nil
	for _, c := range in.TopCallers {
		labels = append(labels, c.ObjectID)
		values = append(values, c.Count)
	}
	d.CallerBar = barRows("chart-callers", "Top callers",
		"The callers with the most records, by object id, counted over the whole hours of the range.", 290, labels, values, "")
}

// displayTime shows an RFC 3339 time as the portal does.
func displayTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// securityAuditData is the audit section of the Security page.
type securityAuditData struct {
	URL     string // the edge resource's page
	Problem string // why the trail could not be read
	Recent  []auditRow
	// Records, Failures (HTTP 400 and above) and P95Ms are of the last 24
	// hours.
	Records, Failures, P95Ms int64
}

// recentRecords is how many records the Security page shows.
const recentRecords = 10

// securityAudit is the audit section of the Security page for the vault
// in o (nil when there is none); the partial "security-audit" shows it.
// It reads the last 24 hours' insights for the summary, and the newest
// records with one newest-first page of the list, which reads those
// records and no others however long the trail.
func (h *Handler) securityAudit(r *http.Request, o securityOverview) (any, error) {
	t := edgeTarget(r.PathValue("group"), r.PathValue("name"), o)
	if t.VaultID == "" || t.Gone != "" {
		return nil, nil
	}
	d := &securityAuditData{URL: t.URL}
	in, err := h.readInsights(r, t, url.Values{})
	if err == nil {
		d.Records, d.P95Ms = in.Records, in.Latency.P95Ms
		for _, f := range in.Failures {
			d.Failures += f.Count
		}
		d.Recent, err = h.recent(r, t, h.cfg.Now().Add(-24*time.Hour), recentRecords)
	}
	var e *apiError
	switch {
	case errors.As(err, &e) && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized):
		return &securityAuditData{URL: t.URL, Problem: "You cannot read this key vault's audit trail: " + e.Message}, nil
	case errors.As(err, &e) && e.Status < 500:
		return &securityAuditData{URL: t.URL, Problem: "The audit trail could not be read: " + e.Message}, nil
	case err != nil:
		return nil, err
	}
	return d, nil
}

// recent returns the n newest records of the vault's trail that are not
// older than since, newest first. The list is asked without since and
// the older records are dropped here: the newest n are the first page
// whatever their time, while a since would make the API look past every
// older record when fewer than n are recent.
func (h *Handler) recent(r *http.Request, t auditTarget, since time.Time, n int) ([]auditRow, error) {
	q := url.Values{"order": {"desc"}, "$top": {strconv.Itoa(n)}}
	a, err := h.management(r.Context(), r, http.MethodGet, t.auditPath("logs", q), nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var list arm.AuditLogList
	if err := a.decode(&list); err != nil {
		return nil, err
	}
	events := list.Value[:min(len(list.Value), n)]
	for i, e := range events {
		if at, err := time.Parse(time.RFC3339Nano, e.Time); err == nil && at.Before(since) {
			events = events[:i]
			break
		}
	}
	return auditRows(events), nil
}
