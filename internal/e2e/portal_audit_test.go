package e2e

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// auditTableRow is one row of the portal's audit-log table, as text.
type auditTableRow struct{ Text, Operation, Result, Status string }

var (
	auditTags = regexp.MustCompile(`<[^>]+>`)
	// A row's cells: time, operation, then result and status.
	auditCells = regexp.MustCompile(`^\S+ \S+ (\S+) (Success|Failure) (\d{3})`)
	nextPage   = regexp.MustCompile(`<a href="([^"]+)" rel="next">Next page</a>`)
)

// auditTable reads the rows of the first table body in page.
func auditTable(t testing.TB, page string) []auditTableRow {
	t.Helper()
	_, body, ok := strings.Cut(page, "<tbody>")
	if !ok {
		return nil
	}
	body, _, _ = strings.Cut(body, "</tbody>")
	var rows []auditTableRow
	for _, tr := range strings.Split(body, "<tr>")[1:] {
		text := strings.Join(strings.Fields(auditTags.ReplaceAllString(tr, " ")), " ")
		m := auditCells.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("unreadable row %q", text)
		}
		rows = append(rows, auditTableRow{Text: text, Operation: m[1], Result: m[2], Status: m[3]})
	}
	return rows
}

// TestPortalAuditPages: vault reads made with azsecrets (one refused for
// lack of an access policy, one of a missing secret) show on the edge
// resource's audit-log page, which filters them by operation, result,
// caller and time and pages through them newest first (the default) or
// oldest first; the insights page counts them;
// bad filters answer 400 with the message beside the field; and no secret
// value appears on any of the pages.
func TestPortalAuditPages(t *testing.T) {
	ctx := context.Background()
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	boot := srv.boot
	e := newEdgeEnv(t, srv, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret)
	e.group(t, "audit-rg")
	e.createDevice(t, "audit-rg", "dbe-audit")
	res := e.generate(t, "audit-rg", "dbe-audit", "")
	vaultName := res.KeyVaultID[strings.LastIndex(res.KeyVaultID, "/")+1:]
	if _, err := e.vaults.UpdateAccessPolicy(ctx, "audit-rg", vaultName, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: to.Ptr(boot.TenantID), ObjectID: to.Ptr(boot.ServicePrincipal.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{
				to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsSet)}},
		}}},
	}, nil); err != nil {
		t.Fatal(err)
	}

	// The reads, after a mark in time.
	time.Sleep(10 * time.Millisecond)
	mark := time.Now().UTC()
	const value = "audit-page-secret-value-Zq81xW"
	sc := e.vaultSecrets(t, res.KeyVaultURI)
	if _, err := sc.SetSecret(ctx, "audited", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sc.GetSecret(ctx, "audited", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sc.GetSecret(ctx, "missing", "", nil); !hasStatus(err, "SecretNotFound", 404) {
		t.Fatalf("GetSecret missing: %v", err)
	}
	stranger, strangerID := e.principalWithRole(t, "audit-stranger", "", "")
	if _, err := stranger.vaultSecrets(t, res.KeyVaultURI).GetSecret(ctx, "audited", "", nil); !hasStatus(err, "Forbidden", 403) {
		t.Fatalf("GetSecret without an access policy: %v", err)
	}

	p := signInPortal(t, srv, boot.Admin.Username, boot.Admin.Password)
	base := "/resources/audit-rg/dbe-audit"
	list := func(query string) []auditTableRow {
		t.Helper()
		status, page := p.get(base + "/audit?" + query)
		if status != http.StatusOK {
			t.Fatalf("audit?%s: %d\n%s", query, status, page)
		}
		if strings.Contains(page, value) {
			t.Fatalf("audit?%s shows the secret value", query)
		}
		return auditTable(t, page)
	}
	count := func(rows []auditTableRow, match func(auditTableRow) bool) int {
		n := 0
		for _, r := range rows {
			if match(r) {
				n++
			}
		}
		return n
	}

	all := list("range=all&top=200")
	// Newest first by default: the reverse of oldest first.
	oldest := list("range=all&top=200&order=oldest")
	if len(oldest) != len(all) || len(all) < 10 {
		t.Fatalf("%d records oldest first, %d newest first", len(oldest), len(all))
	}
	for i := range all {
		if all[i].Text != oldest[len(oldest)-1-i].Text {
			t.Errorf("record %d newest first is %s, oldest first %s", i, all[i].Text, oldest[len(oldest)-1-i].Text)
		}
	}
	if all[0].Status != "403" || oldest[0].Operation != "VaultPut" {
		t.Errorf("newest %s, oldest %s", all[0].Text, oldest[0].Text)
	}
	ops := map[string]int{}
	for _, r := range all {
		ops[r.Operation+" "+r.Status]++
	}
	// generateActivationKey's writes (the vault, the CIK) and the managed
	// identity's read of the CIK, the access policy update, then the
	// reads.
	for _, want := range []string{"VaultPut 200", "SecretSet 200", "VaultAccessPolicyUpdate 200"} {
		if ops[want] == 0 {
			t.Errorf("no %s record in %v", want, ops)
		}
	}
	since := url.Values{"range": {"custom"}, "since": {mark.Format(time.RFC3339Nano)}, "top": {"200"}}
	reads := list(since.Encode())
	readOps := map[string]int{}
	for _, r := range reads {
		readOps[r.Operation+" "+r.Status]++
	}
	// Each azsecrets client's first request is its unauthenticated
	// challenge, recorded as Authentication 401.
	if want := map[string]int{"SecretSet 200": 1, "SecretGet 200": 3, "SecretGet 404": 1, "SecretGet 403": 1,
		"Authentication 401": 2}; !maps.Equal(readOps, want) {
		t.Errorf("records since the reads %v, want %v", readOps, want)
	}
	denied := all[slices.IndexFunc(all, func(r auditTableRow) bool { return r.Status == "403" })]
	if !strings.Contains(denied.Text, strangerID) || denied.Result != "Failure" || strings.Contains(denied.Text, "api-version") {
		t.Errorf("the denied read: %s", denied.Text)
	}

	// Each filter.
	since.Set("operation", "SecretGet")
	if rows := list(since.Encode()); len(rows) != 5 || count(rows, func(r auditTableRow) bool { return r.Operation == "SecretGet" }) != 5 {
		t.Errorf("operation=SecretGet: %v", rows)
	}
	since.Del("operation")
	failures := list("range=all&result=Failure&top=200")
	if len(failures) != 4 || count(failures, func(r auditTableRow) bool { return r.Result == "Failure" }) != 4 ||
		count(all, func(r auditTableRow) bool { return r.Result == "Failure" }) != 4 {
		t.Errorf("result=Failure: %v", failures)
	}
	if rows := list("range=all&caller=" + strings.ToUpper(strangerID)); len(rows) != 1 || rows[0].Status != "403" {
		t.Errorf("caller=%s: %v", strangerID, rows)
	}
	until := url.Values{"range": {"custom"}, "until": {mark.Format(time.RFC3339Nano)}, "top": {"200"}}.Encode()
	if rows := list(until); len(rows)+len(reads) != len(all) || count(rows, func(r auditTableRow) bool { return r.Operation == "Authentication" }) != 0 {
		t.Errorf("until the reads: %v", rows)
	}
	if rows := list("range=1h"); len(rows) != min(len(all), 50) {
		t.Errorf("the last hour has %d records, want %d", len(rows), min(len(all), 50))
	}
	if rows := list("range=custom&since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04"))); len(rows) != 0 {
		t.Errorf("records from the future: %v", rows)
	}

	// Paging with $top 2 walks the same records in the same order, in
	// either order.
	for _, order := range []struct {
		query string
		all   []auditTableRow
	}{{"", all}, {"&order=oldest", oldest}} {
		var paged []auditTableRow
		for next := base + "/audit?range=all&top=2" + order.query; next != ""; {
			status, page := p.get(next)
			if status != http.StatusOK {
				t.Fatalf("%s: %d", next, status)
			}
			rows := auditTable(t, page)
			if len(rows) > 2 {
				t.Fatalf("a page of %d records with top=2", len(rows))
			}
			paged = append(paged, rows...)
			next = ""
			if m := nextPage.FindStringSubmatch(page); m != nil {
				next = strings.ReplaceAll(m[1], "&amp;", "&")
			}
			if len(paged) > len(all)+2 {
				t.Fatal("paging does not end")
			}
		}
		if len(paged) != len(order.all) {
			t.Fatalf("%s: paging read %d records, one page %d", order.query, len(paged), len(order.all))
		}
		for i := range order.all {
			if paged[i].Text != order.all[i].Text {
				t.Errorf("%s: record %d: paged %s, listed %s", order.query, i, paged[i].Text, order.all[i].Text)
			}
		}
	}

	// Bad filters: 400, the form, and the message beside its field.
	for _, tc := range []struct{ query, field, want string }{
		{"operation=Secret-Get", "operation", "The value of &#39;operation&#39; must be an operationName such as SecretGet."},
		{"result=Sometimes", "result", "The value of &#39;result&#39; must be Success or Failure."},
		{"top=-1", "top", "The value of $top must be a positive integer."},
		{"range=custom&since=last+tuesday", "since", "Enter a date and time in UTC"},
		{"page=not%2Fa%2Ftoken", "page", "The page link is not valid"},
		{"page=Zm9v", "page", "The $skipToken is invalid."},
		{"order=asc", "order", "Choose newest or oldest first."},
	} {
		status, page := p.get(base + "/audit?" + tc.query)
		m := regexp.MustCompile(`<p class="error" id="err-` + tc.field + `"[^>]*>([^<]*)`).FindStringSubmatch(page)
		if status != http.StatusBadRequest || m == nil || !strings.Contains(m[1], tc.want) || !strings.Contains(page, `<form method="get"`) {
			t.Errorf("%s: %d, error %q, want %q", tc.query, status, m, tc.want)
		}
	}

	// The insights count what the log lists.
	status, page := p.get(base + "/insights")
	if status != http.StatusOK || strings.Contains(page, value) {
		t.Fatalf("insights: %d (or the secret value shows)\n%s", status, page)
	}
	failed := count(all, func(r auditTableRow) bool { return r.Status >= "400" })
	for _, want := range []string{
		`<dd id="total-records">` + strconv.Itoa(len(all)) + `</dd>`, `<dd id="total-failures">` + strconv.Itoa(failed) + `</dd>`,
		"SecretGet</td><td class=\"num\">" + strconv.Itoa(count(all, func(r auditTableRow) bool { return r.Operation == "SecretGet" })) + "</td>", "<td>403</td><td class=\"num\">1</td>", "<td>404</td><td class=\"num\">1</td>",
		strangerID, `<title id="chart-timeline-t">Operations over time</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("insights lack %s\n%s", want, page[strings.Index(page, "<table class=\"legend\">"):][:600])
		}
	}

	// The Security page's section: the newest records first.
	status, page = p.get(base + "/security")
	if status != http.StatusOK || strings.Contains(page, value) {
		t.Fatalf("security: %d (or the secret value shows)", status)
	}
	_, section, _ := strings.Cut(page, "Recent audit records")
	recent := auditTable(t, section)
	if len(recent) != min(len(all), 10) || recent[0].Status != "403" || !strings.Contains(section, "Last 24 hours: <strong>"+strconv.Itoa(len(all))+"</strong> records") {
		t.Errorf("security section: %v", recent)
	}

	// The same pages for the vault as a key vault.
	status, page = p.get("/vaults/audit-rg/" + vaultName + "/audit?range=all&top=200")
	if rows := auditTable(t, page); status != http.StatusOK || len(rows) != len(all) {
		t.Errorf("/vaults audit: %d, %d rows", status, len(rows))
	}
	if status, page = p.get("/vaults/audit-rg/" + vaultName + "/insights?range=1h"); status != http.StatusOK ||
		!strings.Contains(page, `<dd id="total-records">`+strconv.Itoa(len(all))+`</dd>`) {
		t.Errorf("/vaults insights: %d", status)
	}
	if status, _ = p.get("/vaults/audit-rg/no-such-vault/audit"); status != http.StatusNotFound {
		t.Errorf("a vault that does not exist: %d", status)
	}
}
