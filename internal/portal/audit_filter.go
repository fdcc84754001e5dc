package portal

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// The audit-log page's filters: read from the page's URL, checked where
// the portal must interpret them (times, the range preset, the page
// token), and passed to the audit API, which checks the rest.

// auditForm holds the filters as the user gave them, and the times they
// resolve to.
type auditForm struct {
	Range     string // a key of auditRanges, or "custom"
	Since     string // datetime-local text (UTC), for "custom"
	Until     string
	Operation string
	Caller    string // an object id
	Result    string // Success or Failure
	Order     string // newest or oldest (first)
	Top       string // records per page
	Page      string // the API's opaque $skipToken

	since, until time.Time // zero: unbounded
}

// auditRange is a time-range preset: the last Span (0: all records).
type auditRange struct {
	Key, Label string
	Span       time.Duration
}

// auditRanges are the time-range presets of the audit log.
var auditRanges = []auditRange{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
	{"all", "All time", 0},
}

// auditOperations are the operation names the trail records
// (audit.OperationName values written by the vault data plane, kvapi's
// routes, and by management writes, armapi's routes and activation).
var auditOperations = []string{
	"SecretGet", "SecretSet", "SecretList", "SecretListVersions", "SecretUpdate", "SecretDelete",
	"SecretBackup", "SecretRestore", "SecretGetDeleted", "SecretListDeleted", "SecretRecover", "SecretPurge",
	"VaultPut", "VaultPatch", "VaultDelete", "VaultRecover", "VaultPurge", "VaultAccessPolicyUpdate",
	"Authentication", "Unsupported",
}

// defaultPageSize is the audit table's page size without "top".
const defaultPageSize = "50"

// The audit table's orders. Newest first is the default, as in log
// viewers: the records one looks for are usually the last ones.
const (
	newestFirst = "newest"
	oldestFirst = "oldest"
)

// datetimeLocal is the value format of <input type="datetime-local">
// with seconds; the minutes-only form and RFC 3339 are read too.
const datetimeLocal = "2006-01-02T15:04:05"

// readAuditForm reads the filters of q at now. Problems are by field, in
// words.
func readAuditForm(q url.Values, now time.Time) (auditForm, map[string]string) {
	f := auditForm{Range: q.Get("range"), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
		Operation: strings.TrimSpace(q.Get("operation")), Caller: strings.ToLower(strings.TrimSpace(q.Get("caller"))),
		Result: q.Get("result"), Order: q.Get("order"), Top: strings.TrimSpace(q.Get("top")), Page: q.Get("page")}
	problems := map[string]string{}
	if f.Range == "" {
		f.Range = "24h"
		if f.Since != "" || f.Until != "" {
			f.Range = "custom"
		}
	}
	if f.Top == "" {
		f.Top = defaultPageSize
	}
	switch f.Order {
	case "":
		f.Order = newestFirst
	case newestFirst, oldestFirst:
	default:
		problems["order"] = "Choose newest or oldest first."
	}
	if f.Range == "custom" {
		var err error
		if f.since, err = parseFormTime(f.Since); err != nil {
			problems["since"] = err.Error()
		}
		if f.until, err = parseFormTime(f.Until); err != nil {
			problems["until"] = err.Error()
		}
		if !f.since.IsZero() && !f.until.IsZero() && !f.since.Before(f.until) {
			problems["until"] = "Until must be later than since."
		}
	} else if i := slices.IndexFunc(auditRanges, func(r auditRange) bool { return r.Key == f.Range }); i < 0 {
		problems["range"] = "Choose one of the listed time ranges."
	} else if span := auditRanges[i].Span; span > 0 {
		// Whole seconds, as the form and the next page's link write it, so
		// that every page of the list has the same start.
		f.since = now.Add(-span).UTC().Truncate(time.Second)
	}
	if strings.Contains(f.Caller, "@") {
		problems["caller"] = "The audit log finds callers by object id, not by user name: enter the caller's object id " +
			"(shown in the Caller column)."
	}
	if f.Page != "" && !opaqueToken(f.Page) {
		problems["page"] = "The page link is not valid; start again from the first page."
	}
	if len(problems) == 0 {
		problems = nil
	}
	return f, problems
}

// parseFormTime reads a datetime-local value (UTC) or an RFC 3339 time;
// zero for "".
func parseFormTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{datetimeLocal, "2006-01-02T15:04", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errBadTime
}

type formError string

func (e formError) Error() string { return string(e) }

const errBadTime = formError("Enter a date and time in UTC, such as 2026-11-27T09:30.")

// apiQuery is the audit API's query for the form (api-version aside).
func (f auditForm) apiQuery() url.Values {
	q := url.Values{}
	if !f.since.IsZero() {
		q.Set("since", f.since.Format(time.RFC3339Nano))
	}
	if !f.until.IsZero() {
		q.Set("until", f.until.Format(time.RFC3339Nano))
	}
	for k, v := range map[string]string{"operation": f.Operation, "caller": f.Caller, "result": f.Result,
		"$top": f.Top, "$skipToken": f.Page} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Order != oldestFirst {
		q.Set("order", "desc")
	}
	return q
}

// linkQuery is the portal query of the form's page with token (the
// first page for ""). A relative range is pinned to the times it meant
// for this page, so that the next page continues the same list; the
// order is kept, as the token resumes in it.
func (f auditForm) linkQuery(token string) url.Values {
	q := url.Values{}
	if f.Range == "custom" || f.Range == "all" || token == "" {
		q.Set("range", f.Range)
		if f.Range == "custom" {
			q.Set("since", f.Since)
			q.Set("until", f.Until)
		}
	} else {
		q.Set("range", "custom")
		q.Set("since", f.since.Format(datetimeLocal))
	}
	if f.Order != newestFirst {
		q.Set("order", f.Order)
	}
	for k, v := range map[string]string{"operation": f.Operation, "caller": f.Caller, "result": f.Result,
		"top": f.Top, "page": token} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// fillChoices sets the options of the form's selects, keeping a value
// from the URL that is not among them so the form shows what was asked.
func (d *auditLogData) fillChoices() {
	f := d.Form
	for _, r := range auditRanges {
		d.Ranges = append(d.Ranges, choice{r.Key, r.Label, r.Key == f.Range})
	}
	d.Ranges = append(d.Ranges, choice{"custom", "Custom (since / until)", f.Range == "custom"})
	d.Operations = choices(append([]string{""}, auditOperations...), f.Operation, "Any operation")
	d.Results = choices([]string{"", "Success", "Failure"}, f.Result, "Any result")
	d.Orders = []choice{{newestFirst, "Newest first", f.Order == newestFirst}, {oldestFirst, "Oldest first", f.Order == oldestFirst}}
	d.Sizes = choices([]string{"25", "50", "100", "200"}, f.Top, "")
}

// choices are the options values, the one equal to current selected
// (added when missing); "" is labelled none.
func choices(values []string, current, none string) []choice {
	out := make([]choice, 0, len(values)+1)
	found := false
	for _, v := range values {
		c := choice{Value: v, Label: v, Selected: v == current}
		if v == "" {
			c.Label = none
		}
		found = found || c.Selected
		out = append(out, c)
	}
	if !found {
		out = append(out, choice{Value: current, Label: current, Selected: true})
	}
	return out
}
