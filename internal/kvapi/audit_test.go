package kvapi

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/resource"
)

// If the audit record cannot be written, no secret value is returned.
func TestAuditFailureWithholdsResult(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	must(t, do("PUT", "/secrets/s", `{"value":"hunter2"}`), 200)
	f.audit.fail = errInjected
	for _, q := range [][3]string{{"GET", "/secrets/s/", ""}, {"PUT", "/secrets/s", `{"value":"hunter3"}`}, {"GET", "/secrets", ""}} {
		r := do(q[0], q[1], q[2])
		if code, _ := r.errCode(); r.status != 503 || code != "ServiceUnavailable" || strings.Contains(string(r.body), "hunter") {
			t.Errorf("%s %s with audit down: %d %s", q[0], q[1], r.status, r.body)
		}
	}
	if !strings.Contains(f.logs.String(), "audit record not written") {
		t.Error("audit failure not logged")
	}
}

// Secret values never reach the log, the audit records or error bodies.
func TestValuesStayOutOfLogsAndAudit(t *testing.T) {
	f := newFixture(t)
	do := f.as(f.admin)
	const value = "correct-horse-battery-staple"
	must(t, do("PUT", "/secrets/s", `{"value":"`+value+`"}`), 200)
	must(t, do("GET", "/secrets/s/", ""), 200)
	do("PUT", "/secrets/bad_name", `{"value":"`+value+`"}`)
	do("PUT", "/secrets/s", `{"value":"`+value+`","tags":"x"}`)
	var bk struct{ Value string }
	must(t, do("POST", "/secrets/s/backup", ""), 200).json(t, &bk)
	if strings.Contains(bk.Value, hex.EncodeToString([]byte(value))) {
		t.Error("backup holds the value in clear")
	}
	f.store.Close() // every later request fails inside the store
	do("GET", "/secrets/s/", "")
	if strings.Contains(f.logs.String(), value) {
		t.Errorf("log holds the value:\n%s", f.logs)
	}
	for _, rec := range f.audit.records {
		if strings.Contains(fmt.Sprintf("%+v", rec), value) {
			t.Errorf("audit record holds the value: %+v", rec)
		}
	}
}

// The record's request fields: the URI keeps only api-version and
// maxresults; the correlation id is the client's request id.
func TestAuditRecordFields(t *testing.T) {
	f := newFixture(t)
	r := f.do(req{method: "GET", path: "/secrets?api-version=" + api + "&maxresults=5&$skiptoken=c2VjcmV0&other=x",
		tok: f.token(f.admin), header: map[string]string{"User-Agent": "azsdk-go-azsecrets/v1.5.1", "x-ms-client-request-id": "corr-1"}})
	must(t, r, 400)
	rec := f.audit.last(t)
	want := AuditRecord{
		Time: f.clock.now(), OperationName: "SecretList", OperationVersion: api, VaultUID: f.vault.UID,
		ResourceID: f.vault.ID, VaultName: "myvault", TenantID: f.tenant,
		CallerObjectID: f.admin.ObjectID, CallerAppID: f.admin.ClientID, CallerTenantID: f.tenant, CallerIDType: "app",
		ClientIP: netip.MustParseAddr("192.0.2.1"), ObjectID: "https://myvault.vault.localhost:8443", RequestID: r.header.Get("x-ms-request-id"), CorrelationID: "corr-1",
		RequestURI: "https://myvault.vault.localhost:8443/secrets?api-version=" + api + "&maxresults=5",
		ResultType: "Failure", ResultSignature: "Bad Request", ResultDescription: "The $skiptoken is not valid for this list.",
		StatusCode: 400, DurationMs: rec.DurationMs, ClientInfo: "azsdk-go-azsecrets/v1.5.1", IsAccessPolicyMatch: true,
	}
	if diff := cmp.Diff(want, rec, cmp.Comparer(func(a, b resource.ID) bool { return a.String() == b.String() }),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("audit record (-want +got):\n%s", diff)
	}
}

// Set and update records carry the version and its attributes.
func TestAuditRecordOfSet(t *testing.T) {
	f := newFixture(t)
	var b bundle
	must(t, f.as(f.admin)("PUT", "/secrets/s", `{"value":"v","attributes":{"exp":1900000000}}`), 200).json(t, &b)
	rec := f.audit.last(t)
	if rec.ObjectID != b.ID || rec.SecretVersion == "" || rec.SecretAttributes == nil || !rec.SecretAttributes.Enabled ||
		rec.SecretAttributes.Expires.Unix() != 1900000000 {
		t.Errorf("set record = %+v (%+v)", rec, rec.SecretAttributes)
	}
}
