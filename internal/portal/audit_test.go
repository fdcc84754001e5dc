package portal

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
)

const (
	kvID   = "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"
	bobID  = "22222222-2222-2222-2222-222222222222"
	devURL = "/resources/rg1/dev1"
)

// auditAPI is fakeAPI with a vault id in the security overview and the
// Edgevault.Audit routes, which answer from events as the real API does
// (filters, order, $top, $skipToken, nextLink, InvalidParameter
// messages).
type auditAPI struct {
	fake *fakeAPI

	mu       sync.Mutex
	events   []arm.AuditEvent // in entry-id order
	insights arm.AuditInsights
	noVault  bool
	forbid   bool
	logs     []url.Values // the query of every logs call
	ins      []url.Values // the query of every insights call
	paths    []string
}

func (a *auditAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	_, route, isAudit := strings.Cut(p, "/providers/Edgevault.Audit/")
	switch {
	case strings.HasSuffix(p, "/securityOverview"):
		rec := httptest.NewRecorder()
		a.fake.ServeHTTP(rec, r)
		var o map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &o)
		if kv, ok := o["keyVault"].(map[string]any); ok {
			kv["id"] = kvID
		}
		if a.noVault {
			delete(o, "keyVault")
		}
		writeJSON(w, rec.Code, o)
	case isAudit:
		a.mu.Lock()
		defer a.mu.Unlock()
		a.paths = append(a.paths, p)
		if r.Header.Get("Authorization") != "Bearer tok-"+aliceID+"-management" || r.URL.Query().Get("api-version") != keyVaultAPIVersion {
			writeErr(w, 401, "Unauthorized", "bad token or version")
			return
		}
		if a.forbid {
			writeErr(w, 403, "AuthorizationFailed", "The client does not have authorization to perform action 'Edgevault.Audit/logs/read'.")
			return
		}
		if route == "insights" {
			a.ins = append(a.ins, r.URL.Query())
			writeJSON(w, 200, a.insights)
			return
		}
		a.logs = append(a.logs, r.URL.Query())
		a.list(w, r)
	default:
		a.fake.ServeHTTP(w, r)
	}
}

// list answers the logs route, oldest first or, with order=desc, newest
// first; the $skipToken is an index in events.
func (a *auditAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	top, after := 100, -1
	var desc bool
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		desc, after = true, len(a.events)
	default:
		writeErr(w, 400, "InvalidParameter", "The value of 'order' must be asc or desc.")
		return
	}
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeErr(w, 400, "InvalidParameter", "The value of $top must be a positive integer.")
			return
		}
		top = n
	}
	if s := q.Get("$skipToken"); s != "" {
		b, _ := base64.RawURLEncoding.DecodeString(s)
		n, err := strconv.Atoi(string(b))
		if err != nil {
			writeErr(w, 400, "InvalidSkipToken", "The $skipToken is invalid.")
			return
		}
		after = n
	}
	if op := q.Get("operation"); op != "" && !regexp.MustCompile(`^[A-Za-z]+$`).MatchString(op) {
		writeErr(w, 400, "InvalidParameter", "The value of 'operation' must be an operationName such as SecretGet.")
		return
	}
	if res := q.Get("result"); res != "" && res != "Success" && res != "Failure" {
		writeErr(w, 400, "InvalidParameter", "The value of 'result' must be Success or Failure.")
		return
	}
	since, _ := time.Parse(time.RFC3339Nano, q.Get("since"))
	until, _ := time.Parse(time.RFC3339Nano, q.Get("until"))
	out := arm.AuditLogList{Value: []arm.AuditEvent{}}
	order := slices.All(a.events)
	if desc {
		order = slices.Backward(a.events)
	}
	for i, e := range order {
		t, _ := time.Parse(time.RFC3339Nano, e.Time)
		switch {
		case !desc && i <= after, desc && i >= after, t.Before(since), !until.IsZero() && !t.Before(until),
			q.Get("operation") != "" && e.OperationName != q.Get("operation"),
			q.Get("caller") != "" && (e.Identity == nil || e.Identity.Claim.ObjectID != q.Get("caller")),
			q.Get("result") != "" && e.ResultType != q.Get("result"):
			continue
		}
		if len(out.Value) == top {
			q.Set("$skipToken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(after))))
			out.NextLink = "https://" + mgmtHost + r.URL.Path + "?" + q.Encode()
			break
		}
		out.Value = append(out.Value, e)
		after = i
	}
	writeJSON(w, 200, out)
}

// event is a record of op at t by caller with status.
func event(t time.Time, op, caller string, status int) arm.AuditEvent {
	e := arm.AuditEvent{Time: arm.AuditTime(t), OperationName: op, ResultType: "Success", ResultSignature: http.StatusText(status),
		DurationMs: "3", CallerIPAddress: "192.0.2.7",
		Identity: &arm.AuditIdentity{Claim: arm.AuditClaims{ObjectID: caller, UPN: "alice@example.test", AppID: ClientID}},
		Properties: arm.AuditProperties{HTTPStatusCode: status,
			RequestURI: "https://kv1." + vaultHost + "/secrets/BitLockerRecoveryKey?api-version=7.5"}}
	if status >= 300 {
		e.ResultType, e.ResultDescription = "Failure", "The user does not have secrets get permission on key vault 'kv1'."
	}
	return e
}

// newAuditFixture is newFixture with the audit API around the fake:
// five records a minute apart ending ten minutes before the clock.
func newAuditFixture(t *testing.T) (*fixture, *auditAPI, *browser) {
	t.Helper()
	f := newFixture(t)
	a := &auditAPI{fake: f.api}
	start := f.now.Add(-15 * time.Minute)
	for i, op := range []string{"SecretSet", "SecretGet", "SecretGet", "SecretList", "SecretGet"} {
		status, caller := 200, aliceID
		if i == 2 {
			status, caller = 403, bobID
		}
		a.events = append(a.events, event(start.Add(time.Duration(i)*time.Minute), op, caller, status))
	}
	h, err := New(Config{Auth: fakeAuth{}, API: a, ManagementHost: mgmtHost, VaultHost: vaultHost, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	b, _ := f.signIn(t)
	return f, a, b
}

// tableRows returns the text of the records table's body rows.
func tableRows(page string) []string {
	_, body, ok := strings.Cut(page, "<tbody>")
	if !ok {
		return nil
	}
	body, _, _ = strings.Cut(body, "</tbody>")
	var rows []string
	for _, r := range strings.Split(body, "<tr>")[1:] {
		rows = append(rows, strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(r, " ")), " "))
	}
	return rows
}

func TestAuditLogPage(t *testing.T) {
	f, a, b := newAuditFixture(t)
	res, page := b.do("GET", devURL+"/audit", nil)
	if res.StatusCode != 200 {
		t.Fatalf("%d\n%s", res.StatusCode, page)
	}
	rows := tableRows(page)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5:\n%s", len(rows), strings.Join(rows, "\n"))
	}
	// Newest first by default.
	if !strings.HasPrefix(rows[0], "2026-11-27 09:49:00.000 SecretGet") || !strings.HasPrefix(rows[4], "2026-11-27 09:45:00.000 SecretSet") ||
		!strings.Contains(page, "5 records on this page, newest first.") {
		t.Errorf("not newest first:\n%s", strings.Join(rows, "\n"))
	}
	want := "2026-11-27 09:47:00.000 SecretGet Failure 403 Forbidden The user does not have secrets get permission on key vault &#39;kv1&#39;. alice@example.test " +
		bobID + " through the portal 192.0.2.7 3 ms https://kv1.vault.localhost:8443/secrets/BitLockerRecoveryKey"
	if rows[2] != want {
		t.Errorf("row 3:\n got %s\nwant %s", rows[2], want)
	}
	if strings.Contains(page, "api-version=7.5") {
		t.Error("the request URI keeps its query")
	}
	// The default range is the last 24 hours, asked of the API as RFC 3339.
	q := a.logs[len(a.logs)-1]
	if got := q.Get("since"); got != f.now.Add(-24*time.Hour).Format(time.RFC3339Nano) || q.Get("$top") != "50" || q.Get("until") != "" ||
		q.Get("order") != "desc" {
		t.Errorf("API query %v", q)
	}
	if a.paths[0] != kvID+"/providers/Edgevault.Audit/logs" {
		t.Errorf("API path %s", a.paths[0])
	}
	if !strings.Contains(page, `aria-current="page">Audit logs`) || strings.Contains(page, "style=") {
		t.Error("no current Audit logs tab, or an inline style")
	}
}

func TestAuditLogFilters(t *testing.T) {
	f, a, b := newAuditFixture(t)
	for _, tc := range []struct {
		query string
		want  url.Values // in the API's query
		rows  int
	}{
		{"operation=SecretGet", url.Values{"operation": {"SecretGet"}}, 3},
		{"result=Failure", url.Values{"result": {"Failure"}}, 1},
		{"caller=+" + strings.ToUpper(bobID) + "+", url.Values{"caller": {bobID}}, 1},
		{"range=1h&top=25", url.Values{"since": {f.now.Add(-time.Hour).Format(time.RFC3339Nano)}, "$top": {"25"}}, 5},
		{"range=custom&since=2026-11-27T09:46&until=2026-11-27T09:48:00", url.Values{"since": {"2026-11-27T09:46:00Z"}, "until": {"2026-11-27T09:48:00Z"}}, 2},
		{"since=2026-11-27T09:48:30Z", url.Values{"since": {"2026-11-27T09:48:30Z"}}, 1},
		{"range=all", url.Values{"since": nil}, 5},
		{"order=oldest&operation=SecretGet", url.Values{"order": nil, "operation": {"SecretGet"}}, 3},
		{"order=newest", url.Values{"order": {"desc"}}, 5},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res, page := b.do("GET", devURL+"/audit?"+tc.query, nil)
			if res.StatusCode != 200 {
				t.Fatalf("%d\n%s", res.StatusCode, page)
			}
			q := a.logs[len(a.logs)-1]
			for k, v := range tc.want {
				if !slices.Equal(q[k], v) {
					t.Errorf("API %s = %q, want %q", k, q[k], v)
				}
			}
			if rows := tableRows(page); len(rows) != tc.rows {
				t.Errorf("%d rows, want %d:\n%s", len(rows), tc.rows, strings.Join(rows, "\n"))
			}
		})
	}
}

func TestAuditLogBadFilters(t *testing.T) {
	_, a, b := newAuditFixture(t)
	for _, tc := range []struct {
		query, field, want string
		asksAPI            bool
	}{
		{"range=custom&since=yesterday", "since", "Enter a date and time in UTC", false},
		{"range=custom&since=2026-11-27T10:00&until=2026-11-27T09:00", "until", "Until must be later than since.", false},
		{"range=fortnight", "range", "Choose one of the listed time ranges.", false},
		{"caller=alice@example.test", "caller", "not by user name", false},
		{"page=..%2Fsecrets", "page", "The page link is not valid", false},
		{"page=https%3A%2F%2Fevil.test%2Fx", "page", "The page link is not valid", false},
		{"operation=Secret-Get", "operation", "The value of &#39;operation&#39; must be an operationName such as SecretGet.", true},
		{"result=Maybe", "result", "The value of &#39;result&#39; must be Success or Failure.", true},
		{"order=desc", "order", "Choose newest or oldest first.", false},
		{"top=0", "top", "The value of $top must be a positive integer.", true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			before := len(a.logs)
			res, page := b.do("GET", devURL+"/audit?"+tc.query, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("%d, want 400\n%s", res.StatusCode, page)
			}
			// The message is beside its field, which is marked invalid.
			m := regexp.MustCompile(`<p class="error" id="err-` + tc.field + `"[^>]*>([^<]*)`).FindStringSubmatch(page)
			if m == nil || !strings.Contains(m[1], tc.want) {
				t.Errorf("error of %s: %q, want %q\n%s", tc.field, m, tc.want, page)
			}
			if (tc.field != "page" && !strings.Contains(page, `aria-describedby="err-`+tc.field+`"`)) || !strings.Contains(page, `<form method="get"`) {
				t.Error("the field is not marked invalid, or the form is missing")
			}
			if asked := len(a.logs) > before; asked != tc.asksAPI {
				t.Errorf("asked the API: %v, want %v", asked, tc.asksAPI)
			}
			if tableRows(page) != nil {
				t.Error("a refused filter shows records")
			}
		})
	}
}

func TestAuditLogPaging(t *testing.T) {
	for _, tc := range []struct {
		order string
		want  []int // the events listed, in order
	}{
		{"", []int{4, 3, 1, 0}},
		{"oldest", []int{0, 1, 3, 4}},
	} {
		t.Run("order="+tc.order, func(t *testing.T) {
			f, a, b := newAuditFixture(t)
			var seen []string
			next := devURL + "/audit?top=2&result=Success"
			if tc.order != "" {
				next += "&order=" + tc.order
			}
			for pages := 0; next != ""; pages++ {
				if pages > 3 {
					t.Fatal("paging does not end")
				}
				res, page := b.do("GET", next, nil)
				if res.StatusCode != 200 {
					t.Fatalf("%s: %d\n%s", next, res.StatusCode, page)
				}
				seen = append(seen, tableRows(page)...)
				next = ""
				if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">Next page</a>`).FindStringSubmatch(page); m != nil {
					next = strings.ReplaceAll(m[1], "&amp;", "&")
					u, _ := url.Parse(next)
					// The portal's own link, the filters and order kept
					// and the relative range pinned; the token passed
					// through, nothing else.
					if u.Path != devURL+"/audit" || u.Query().Get("result") != "Success" || u.Query().Get("range") != "custom" ||
						u.Query().Get("order") != tc.order ||
						u.Query().Get("since") != f.now.Add(-24*time.Hour).Format(datetimeLocal) || !opaqueToken(u.Query().Get("page")) {
						t.Errorf("next link %s", next)
					}
				}
				if pages > 0 && !strings.Contains(page, ">First page</a>") {
					t.Error("no link to the first page")
				}
			}
			if len(seen) != len(tc.want) {
				t.Fatalf("%d records over the pages, want the 4 successes:\n%s", len(seen), strings.Join(seen, "\n"))
			}
			for i, s := range seen {
				if want := a.events[tc.want[i]]; !strings.HasPrefix(s, tableTime(want)+" "+want.OperationName) {
					t.Errorf("record %d is %s, want event %d", i, s, tc.want[i])
				}
			}
			q := a.logs[len(a.logs)-1]
			if q.Get("$skipToken") == "" || q.Get("$top") != "2" || (q.Get("order") == "desc") != (tc.order == "") {
				t.Errorf("the last page's API query %v", q)
			}
		})
	}
}

// tableTime is e's time as the tables show it.
func tableTime(e arm.AuditEvent) string {
	t, _ := time.Parse(time.RFC3339Nano, e.Time)
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

func TestAuditNoVault(t *testing.T) {
	_, a, b := newAuditFixture(t)
	a.noVault = true
	for _, p := range []string{"/audit", "/insights"} {
		res, page := b.do("GET", devURL+p, nil)
		if res.StatusCode != 200 || !strings.Contains(page, "has no key vault yet") {
			t.Errorf("%s: %d\n%s", p, res.StatusCode, page)
		}
	}
	_, page := b.do("GET", devURL+"/security", nil)
	if strings.Contains(page, "Recent audit records") {
		t.Error("the Security page has an audit section without a vault")
	}
	if len(a.paths) != 0 {
		t.Errorf("audit API called without a vault: %v", a.paths)
	}
}

func TestVaultAuditPages(t *testing.T) {
	_, a, b := newAuditFixture(t)
	res, page := b.do("GET", "/vaults/rg1/kv1/audit?operation=SecretList", nil)
	if res.StatusCode != 200 || len(tableRows(page)) != 1 || !strings.Contains(page, `href="/vaults/rg1/kv1/insights"`) {
		t.Errorf("%d\n%s", res.StatusCode, page)
	}
	res, page = b.do("GET", "/vaults/rg1/kv1/insights", nil)
	if res.StatusCode != 200 || !strings.Contains(page, "<svg") {
		t.Errorf("%d\n%s", res.StatusCode, page)
	}
	for _, p := range a.paths {
		if !strings.HasPrefix(p, kvID+"/providers/Edgevault.Audit/") {
			t.Errorf("API path %s", p)
		}
	}
	// The API's refusal is the portal's.
	a.forbid = true
	res, page = b.do("GET", "/vaults/rg1/kv1/audit", nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "You do not have access") {
		t.Errorf("refused: %d\n%s", res.StatusCode, page)
	}
}

// sampleInsights are 24 hours of insights with two operations.
func sampleInsights(now time.Time) arm.AuditInsights {
	since := now.Add(-24 * time.Hour).Truncate(time.Hour)
	in := arm.AuditInsights{Since: since.Format(time.RFC3339), Until: now.Format(time.RFC3339), Interval: "PT1H",
		Failures:   []arm.AuditStatusCount{{Status: 403, Count: 4}, {Status: 404, Count: 2}},
		Latency:    arm.AuditLatency{P50Ms: 2, P95Ms: 16, P99Ms: 64},
		TopCallers: []arm.AuditCallerCount{{ObjectID: aliceID, Count: 30}, {ObjectID: bobID, Count: 7}},
		Records:    37}
	for i := range 3 {
		in.Timeline = append(in.Timeline,
			arm.AuditTimelinePoint{Time: since.Add(time.Duration(20+i) * time.Hour).Format(time.RFC3339), Operation: "SecretGet", Count: 10},
			arm.AuditTimelinePoint{Time: since.Add(time.Duration(20+i) * time.Hour).Format(time.RFC3339), Operation: "SecretSet", Count: 2})
	}
	in.Timeline = append(in.Timeline, arm.AuditTimelinePoint{Time: since.Add(23 * time.Hour).Format(time.RFC3339), Operation: "VaultPut", Count: 1})
	return in
}

func TestInsightsPage(t *testing.T) {
	f, a, b := newAuditFixture(t)
	a.insights = sampleInsights(f.now)
	res, page := b.do("GET", devURL+"/insights", nil)
	if res.StatusCode != 200 {
		t.Fatalf("%d\n%s", res.StatusCode, page)
	}
	if got := a.ins[0].Get("since"); got != f.now.Add(-24*time.Hour).Format(time.RFC3339) {
		t.Errorf("since %s", got)
	}
	for _, want := range []string{
		`<dd id="total-records">37</dd>`, `<dd id="total-failures">6</dd>`, `<dd id="latency">2 / 16 / 64 ms</dd>`,
		`role="img" aria-labelledby="chart-timeline-t chart-timeline-d"`, `<title id="chart-timeline-t">Operations over time</title>`,
		`<title id="chart-failures-t">Failures by HTTP status</title>`, `<title id="chart-latency-t">Latency percentiles</title>`,
		`<title id="chart-callers-t">Top callers</title>`,
		"SecretGet</td><td class=\"num\">30</td>", "SecretSet</td><td class=\"num\">6</td>", "VaultPut</td><td class=\"num\">1</td>",
		"403 Forbidden", ">16 ms</text>", "<td>404</td><td class=\"num\">2</td>", aliceID, `aria-current="page">Insights`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, "<polyline"); n != 3 {
		t.Errorf("%d lines, want 3", n)
	}
	if strings.Contains(page, "style=") || strings.Contains(page, "<script>") {
		t.Error("inline style or script")
	}
	// Every preset asks its own range; an unknown one is refused.
	res, _ = b.do("GET", devURL+"/insights?range=7d", nil)
	if got := a.ins[len(a.ins)-1].Get("since"); res.StatusCode != 200 || got != f.now.Add(-7*24*time.Hour).Format(time.RFC3339) {
		t.Errorf("7d: %d since %s", res.StatusCode, got)
	}
	calls := len(a.ins)
	res, page = b.do("GET", devURL+"/insights?range=3y", nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Choose one of the listed time ranges.") || len(a.ins) != calls {
		t.Errorf("bad range: %d\n%s", res.StatusCode, page)
	}
}

func TestTimelineChart(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := timelineChart(sampleInsights(now))
	if len(c.Series) != 3 || c.Series[0].Name != "SecretGet" || c.Series[0].Total != 30 || c.Series[2].Name != "VaultPut" {
		t.Fatalf("series %+v", c.Series)
	}
	// 24 hourly points; the peak (10) reaches the top of a 0-10 axis.
	pts := strings.Fields(c.Series[0].Points)
	if len(pts) != 24 || !strings.HasSuffix(pts[20], fmt.Sprintf(",%.1f", c.Top)) || !strings.HasSuffix(pts[0], fmt.Sprintf(",%.1f", c.Bottom)) {
		t.Errorf("points %v", pts)
	}
	if labels := []string{c.YTicks[0].Label, c.YTicks[1].Label, c.YTicks[2].Label}; !slices.Equal(labels, []string{"0", "5", "10"}) {
		t.Errorf("y ticks %v", labels)
	}
	// Beyond six operations, the quietest share a line.
	in := arm.AuditInsights{Since: "2026-11-27T09:00:00Z", Until: "2026-11-27T10:00:00Z", Interval: "PT1M"}
	for i := range 9 {
		in.Timeline = append(in.Timeline, arm.AuditTimelinePoint{Time: "2026-11-27T09:30:00Z", Operation: fmt.Sprintf("Op%c", 'A'+i), Count: int64(20 - i)})
	}
	c = timelineChart(in)
	if len(c.Series) != 7 || c.Series[6].Name != "Other operations" || c.Series[6].Total != 14+13+12 {
		t.Errorf("series %+v", c.Series)
	}
	for _, v := range []struct{ in, want int64 }{{0, 1}, {1, 1}, {3, 5}, {10, 10}, {11, 20}, {999, 1000}} {
		if got := niceCeil(v.in); got != v.want {
			t.Errorf("niceCeil(%d) = %d, want %d", v.in, got, v.want)
		}
	}
}

func TestSecurityAuditSection(t *testing.T) {
	f, a, b := newAuditFixture(t)
	// 1,500 records a minute apart, the last 25 hours' worth; the newest
	// is SecretList.
	a.events = nil
	start := f.now.Add(-1500 * time.Minute)
	for i := range 1500 {
		a.events = append(a.events, event(start.Add(time.Duration(i)*time.Minute), "SecretGet", aliceID, 200))
	}
	a.events[1499].OperationName = "SecretList"
	a.insights = sampleInsights(f.now)
	res, page := b.do("GET", devURL+"/security", nil)
	if res.StatusCode != 200 {
		t.Fatalf("%d\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, "Last 24 hours: <strong>37</strong> records, <strong>6</strong> answered with an error (HTTP 400 or above), p95 latency <strong>16 ms</strong>.") {
		t.Errorf("no summary:\n%s", page)
	}
	_, section, _ := strings.Cut(page, "Recent audit records")
	rows := tableRows(section)
	if len(rows) != recentRecords || !strings.HasPrefix(rows[0], tableTime(a.events[1499])+" SecretList") ||
		!strings.HasPrefix(rows[9], tableTime(a.events[1490])+" SecretGet") {
		t.Errorf("recent rows, newest first:\n%s", strings.Join(rows, "\n"))
	}
	// One insights call for the summary, one page of the list newest
	// first for the rows: no time filter, no paging.
	if len(a.ins) != 1 || a.ins[0].Get("since") != "" {
		t.Errorf("insights calls %v", a.ins)
	}
	if len(a.logs) != 1 || a.logs[0].Get("order") != "desc" || a.logs[0].Get("$top") != "10" ||
		a.logs[0].Get("since") != "" || a.logs[0].Get("$skipToken") != "" {
		t.Errorf("logs calls %v", a.logs)
	}
	for _, want := range []string{`href="/resources/rg1/dev1/audit">All audit logs`, `href="/resources/rg1/dev1/insights">Insights`} {
		if !strings.Contains(section, want) {
			t.Errorf("section lacks %s", want)
		}
	}

	// Records older than 24 hours are not recent: the section shows the
	// newer of the ten newest (the oldest exactly 24 hours old), and none
	// when all are older.
	a.events = a.events[:1500-24*60+3]
	_, page = b.do("GET", devURL+"/security", nil)
	_, section, _ = strings.Cut(page, "Recent audit records")
	if rows := tableRows(section); len(rows) != 3 || !strings.HasPrefix(rows[2], tableTime(a.events[len(a.events)-3])) {
		t.Errorf("the last 24 hours' three:\n%s", strings.Join(rows, "\n"))
	}
	a.events = a.events[:50]
	_, page = b.do("GET", devURL+"/security", nil)
	_, section, _ = strings.Cut(page, "Recent audit records")
	if section, _, _ = strings.Cut(section, "</section>"); tableRows(section) != nil ||
		!strings.Contains(section, "No audit records in the last 24 hours.") {
		t.Errorf("old records shown as recent:\n%s", section)
	}

	// A user who may not read the trail still sees the Security page.
	a.forbid = true
	res, page = b.do("GET", devURL+"/security", nil)
	if res.StatusCode != 200 || !strings.Contains(page, "You cannot read this key vault&#39;s audit trail") {
		t.Errorf("refused trail: %d\n%s", res.StatusCode, page)
	}
}
