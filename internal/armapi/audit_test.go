package armapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
)

var auditAt = time.Date(2026, 11, 26, 12, 0, 0, 123456700, time.UTC)

func auditVaultID(name string) resource.ID {
	return resource.NewResourceGroup("00000000-0000-0000-0000-000000000001", "Edge-RG").
		Child("Microsoft.KeyVault", "vaults", name)
}

// auditRecord is record n of vault: a SecretGet by caller, n kept in
// DurationMs and CorrelationID.
func auditRecord(vault resource.ID, n int, op audit.OperationName, caller string, status int) audit.Record {
	match := status != http.StatusForbidden
	r := audit.Record{
		Time: auditAt.Add(time.Duration(n) * time.Second), ResourceID: vault, OperationName: op,
		OperationVersion: "7.5", ResultType: audit.Success, ResultSignature: http.StatusText(status), DurationMs: int64(n),
		CallerIPAddress: netip.MustParseAddr("192.0.2.7"), CorrelationID: fmt.Sprint(n), RequestID: fmt.Sprintf("req-%d", n),
		Identity: audit.Identity{TenantID: "t1", ObjectID: caller, AppID: "app1", IDType: "app"},
		Properties: audit.Properties{ID: "https://" + strings.ToLower(vault.Name()) + ".vault.localhost:8443/secrets/s1",
			RequestURI:     "https://" + strings.ToLower(vault.Name()) + ".vault.localhost:8443/secrets/s1?api-version=7.5",
			HTTPStatusCode: status, ClientInfo: "azsecrets/1.5.1", IsAccessPolicyMatch: &match, TLSVersion: "TLS1_3"},
	}
	if status >= 400 {
		r.ResultType, r.ResultDescription = audit.Failure, "Access denied."
	}
	return r
}

// TestAuditEventGolden renders entries as AuditEvent JSON: the wire shape
// the management API and the storage delivery share.
func TestAuditEventGolden(t *testing.T) {
	full := auditRecord(auditVaultID("kv-edge"), 3, audit.SecretSet, "0b7a2c4e-0000-4000-8000-00000000000a", 200)
	full.Identity.UPN = "alice@contoso.example"
	full.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, Expires: time.Unix(1900000000, 0)}
	anonymous := audit.Record{Time: auditAt, ResourceID: auditVaultID("kv-edge"), OperationName: audit.Authentication,
		OperationVersion: "7.5", ResultType: audit.Failure, ResultSignature: "Unauthorized",
		ResultDescription: "Unauthorized", Properties: audit.Properties{HTTPStatusCode: 401, RequestURI: "https://kv-edge.vault.localhost:8443/secrets"}}
	var b strings.Builder
	for _, r := range []audit.Record{full, anonymous} {
		out, err := json.MarshalIndent(AuditEvent(audit.Entry{ID: 9, Seq: 4, Record: r}), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
		b.WriteString("\n")
	}
	compareGolden(t, "audit_event.golden", b.String())
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s changed; run go test ./internal/armapi -update if intended (-want +got):\n%s", path, diff)
	}
}

func TestAuditFilter(t *testing.T) {
	since := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		query    string
		want     audit.Filter
		size     int
		wantCode string
	}{
		{query: "", size: arm.DefaultPageSize},
		{query: "since=2026-11-26T11:00:00Z&until=2026-11-26T13:00:00Z&operation=SecretGet&caller=ABC&result=failure&$top=5",
			want: audit.Filter{From: since, To: since.Add(2 * time.Hour), Operation: audit.SecretGet, CallerObjectID: "ABC",
				ResultType: audit.Failure}, size: 5},
		{query: "$skipToken=" + auditCursor(42), want: audit.Filter{After: 42}, size: arm.DefaultPageSize},
		{query: "order=desc&$skipToken=" + auditCursor(42), want: audit.Filter{After: 42, Newest: true}, size: arm.DefaultPageSize},
		{query: "order=DESC&result=Success", want: audit.Filter{ResultType: audit.Success, Newest: true}, size: arm.DefaultPageSize},
		{query: "order=asc", size: arm.DefaultPageSize},
		{query: "order=newest", wantCode: "InvalidParameter"},
		{query: "order=desc%20", wantCode: "InvalidParameter"},
		{query: "order=time%20desc", wantCode: "InvalidParameter"},
		{query: "$top=5000", size: arm.MaxPageSize},
		{query: "since=yesterday", wantCode: "InvalidParameter"},
		{query: "until=1h", wantCode: "InvalidParameter"},
		{query: "operation=Secret%20Get", wantCode: "InvalidParameter"},
		{query: "result=Maybe", wantCode: "InvalidParameter"},
		{query: "$top=0", wantCode: "InvalidParameter"},
		{query: "$skipToken=" + auditCursor(0) + "x", wantCode: "InvalidSkipToken"},
		{query: "$skipToken=bm90LWEtbnVtYmVy", wantCode: "InvalidSkipToken"}, // "not-a-number"
		{query: "$skipToken=LTU", wantCode: "InvalidSkipToken"},              // "-5"
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/x?"+tt.query, nil)
		f, size, err := auditFilter(r)
		if tt.wantCode != "" {
			_, d, _ := renderError(err)
			if err == nil || d.Code != tt.wantCode {
				t.Errorf("%q: err %v, want code %s", tt.query, err, tt.wantCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.query, err)
			continue
		}
		if diff := cmp.Diff(tt.want, f); diff != "" || size != tt.size {
			t.Errorf("%q: size %d, want %d; filter (-want +got):\n%s", tt.query, size, tt.size, diff)
		}
	}
	// A bad order is reported in ARM's format, naming the parameter.
	_, d, _ := renderError(func() error { _, _, err := auditFilter(httptest.NewRequest("GET", "/x?order=up", nil)); return err }())
	if d.Message != "The value of 'order' must be asc or desc." {
		t.Errorf("order=up: %+v", d)
	}
}

// auditEnv is a handler over a real SQLite store and audit writer.
type auditEnv struct {
	h  *Handler
	st *store.Store
	w  *audit.Writer
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(ctx) })
	return &auditEnv{h: New(Config{Audit: w, Endpoint: "https://management.localhost:8443"}), st: st, w: w}
}

func (e *auditEnv) record(t *testing.T, rs ...audit.Record) {
	t.Helper()
	for _, r := range rs {
		if err := e.w.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// page GETs one page of vault's records with query, as the route would.
func (e *auditEnv) page(t *testing.T, vault resource.ID, query string) arm.AuditLogList {
	t.Helper()
	r := httptest.NewRequest("GET", vault.String()+"/providers/Edgevault.Audit/logs?api-version=2024-11-01&"+query, nil)
	f, size, err := auditFilter(r)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.h.auditEntries(r, vault, f, size)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func correlationIDs(l arm.AuditLogList) []string {
	var ids []string
	for _, ev := range l.Value {
		ids = append(ids, ev.CorrelationID)
	}
	return ids
}

// TestAuditEntries pages one vault's records (never another's) with
// nextLink and cursor, and filters them.
func TestAuditEntries(t *testing.T) {
	e := newAuditEnv(t)
	a, b := auditVaultID("kv-a"), auditVaultID("kv-b")
	const alice, bob = "0b7a2c4e-0000-4000-8000-00000000000a", "0b7a2c4e-0000-4000-8000-00000000000b"
	e.record(t,
		auditRecord(a, 1, audit.SecretSet, alice, 200), auditRecord(b, 100, audit.SecretGet, alice, 200),
		auditRecord(a, 2, audit.SecretGet, alice, 200), auditRecord(a, 3, audit.SecretGet, bob, 403),
		auditRecord(a, 4, audit.SecretList, bob, 200), auditRecord(a, 5, audit.SecretGet, alice, 404))

	p1 := e.page(t, a, "$top=2")
	if got := correlationIDs(p1); !cmp.Equal(got, []string{"1", "2"}) || p1.NextLink == "" {
		t.Fatalf("page 1: %v, nextLink %q", got, p1.NextLink)
	}
	next, err := url.Parse(p1.NextLink)
	if err != nil || next.Host != "management.localhost:8443" || next.Query().Get("$skipToken") != p1.Cursor || next.Query().Get("$top") != "2" {
		t.Fatalf("nextLink %q, cursor %q", p1.NextLink, p1.Cursor)
	}
	var got []string
	for q := next.RawQuery; ; {
		p := e.page(t, a, q)
		got = append(got, correlationIDs(p)...)
		if p.NextLink == "" {
			if len(p.Value) > 0 && p.Cursor == "" {
				t.Error("a last page without cursor")
			}
			break
		}
		n, _ := url.Parse(p.NextLink)
		q = n.RawQuery
	}
	if !cmp.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("later pages: %v", got)
	}

	// Following: the cursor of the last page sees only what comes after.
	all := e.page(t, a, "")
	if all.NextLink != "" || len(all.Value) != 5 {
		t.Fatalf("whole trail: %d records, nextLink %q", len(all.Value), all.NextLink)
	}
	e.record(t, auditRecord(a, 6, audit.SecretDelete, alice, 200))
	tail := e.page(t, a, "$skipToken="+all.Cursor)
	if got := correlationIDs(tail); !cmp.Equal(got, []string{"6"}) {
		t.Errorf("after the cursor: %v", got)
	}
	empty := e.page(t, a, "$skipToken="+tail.Cursor)
	if len(empty.Value) != 0 || empty.Cursor != tail.Cursor {
		t.Errorf("nothing new: %v, cursor %q, want %q", correlationIDs(empty), empty.Cursor, tail.Cursor)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"operation=SecretGet", []string{"2", "3", "5"}},
		{"caller=" + strings.ToUpper(bob), []string{"3", "4"}},
		{"result=Failure", []string{"3", "5"}},
		{"since=" + url.QueryEscape(auditAt.Add(4*time.Second).Format(time.RFC3339Nano)), []string{"4", "5", "6"}},
		{"until=" + url.QueryEscape(auditAt.Add(3*time.Second).Format(time.RFC3339Nano)), []string{"1", "2"}},
	} {
		if got := correlationIDs(e.page(t, a, tt.query)); !cmp.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	if got := correlationIDs(e.page(t, b, "")); !cmp.Equal(got, []string{"100"}) {
		t.Errorf("vault b: %v", got)
	}
	if ev := all.Value[2]; ev.ResourceID != strings.ToUpper(a.String()) || ev.Identity == nil ||
		ev.Identity.Claim.ObjectID != bob || ev.Properties.HTTPStatusCode != 403 || ev.OperationName != "SecretGet" {
		t.Errorf("record 3: %+v", ev)
	}
}

// TestAuditEntriesNewest pages one vault's records newest first: the
// nextLink keeps order=desc and the filters, the pages neither skip nor
// repeat a record, and the cursor of a page is where the next, older one
// starts.
func TestAuditEntriesNewest(t *testing.T) {
	e := newAuditEnv(t)
	a, b := auditVaultID("kv-a"), auditVaultID("kv-b")
	const alice, bob = "0b7a2c4e-0000-4000-8000-00000000000a", "0b7a2c4e-0000-4000-8000-00000000000b"
	e.record(t,
		auditRecord(a, 1, audit.SecretSet, alice, 200), auditRecord(b, 100, audit.SecretGet, alice, 200),
		auditRecord(a, 2, audit.SecretGet, alice, 200), auditRecord(a, 3, audit.SecretGet, bob, 403),
		auditRecord(a, 4, audit.SecretList, bob, 200), auditRecord(a, 5, audit.SecretGet, alice, 404),
		auditRecord(a, 6, audit.SecretGet, bob, 200), auditRecord(b, 101, audit.SecretGet, bob, 200))

	if got := correlationIDs(e.page(t, a, "order=desc")); !cmp.Equal(got, []string{"6", "5", "4", "3", "2", "1"}) {
		t.Errorf("newest first: %v", got)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"order=desc&$top=2", []string{"6", "5", "4", "3", "2", "1"}},
		{"order=desc&$top=4", []string{"6", "5", "4", "3", "2", "1"}},
		{"order=desc&$top=1&operation=SecretGet", []string{"6", "5", "3", "2"}},
		{"order=desc&$top=2&caller=" + bob + "&since=" + url.QueryEscape(auditAt.Add(4*time.Second).Format(time.RFC3339Nano)), []string{"6", "4"}},
		{"order=desc&$top=2&until=" + url.QueryEscape(auditAt.Add(5*time.Second).Format(time.RFC3339Nano)), []string{"4", "3", "2", "1"}},
	} {
		var got []string
		q := tt.query
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%s: paging does not end", tt.query)
			}
			p := e.page(t, a, q)
			got = append(got, correlationIDs(p)...)
			if p.NextLink == "" {
				break
			}
			n, err := url.Parse(p.NextLink)
			if err != nil || n.Query().Get("order") != "desc" || n.Query().Get("$skipToken") != p.Cursor {
				t.Fatalf("%s: nextLink %q, cursor %q", tt.query, p.NextLink, p.Cursor)
			}
			q = n.RawQuery
		}
		if !cmp.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	// The cursor of a page in either order resumes the other way from the
	// same record.
	p := e.page(t, a, "order=desc&$top=3")
	if got := correlationIDs(p); !cmp.Equal(got, []string{"6", "5", "4"}) {
		t.Fatalf("first page: %v", got)
	}
	if got := correlationIDs(e.page(t, a, "$skipToken="+p.Cursor)); !cmp.Equal(got, []string{"5", "6"}) {
		t.Errorf("oldest first after the cursor: %v", got)
	}
	// Before the first record there is nothing; the cursor stays.
	first := e.page(t, a, "order=desc&$top=1&operation=SecretSet")
	if got := correlationIDs(first); !cmp.Equal(got, []string{"1"}) || first.NextLink != "" {
		t.Fatalf("SecretSet: %v, nextLink %q", got, first.NextLink)
	}
	if empty := e.page(t, a, "order=desc&$skipToken="+first.Cursor); len(empty.Value) != 0 || empty.Cursor != first.Cursor {
		t.Errorf("before the first record: %v, cursor %q, want %q", correlationIDs(empty), empty.Cursor, first.Cursor)
	}
	if got := correlationIDs(e.page(t, b, "order=desc")); !cmp.Equal(got, []string{"101", "100"}) {
		t.Errorf("vault b: %v", got)
	}
}

// TestVerifyAudit reports an intact chain, then where tampering in the
// database broke it, as a result rather than an error.
func TestVerifyAudit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tamper string // $1 is the resource key
		want   arm.AuditVerification
	}{
		{"modified", `UPDATE audit_records SET object_id = 'intruder' WHERE resource_key = $1 AND seq = 3`,
			arm.AuditVerification{Status: "broken", Records: 2, FirstBrokenSeq: 3, Reason: "modified"}},
		{"deleted", `DELETE FROM audit_records WHERE resource_key = $1 AND seq = 2`,
			arm.AuditVerification{Status: "broken", Records: 1, FirstBrokenSeq: 2, Reason: "deleted"}},
		{"reordered", `UPDATE audit_records SET prev_hash = hash WHERE resource_key = $1 AND seq = 4`,
			arm.AuditVerification{Status: "broken", Records: 3, FirstBrokenSeq: 4, Reason: "reordered"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newAuditEnv(t)
			a, b := auditVaultID("kv-a"), auditVaultID("kv-b")
			for i := range 5 {
				e.record(t, auditRecord(a, i, audit.SecretGet, "x", 200), auditRecord(b, i, audit.SecretGet, "x", 200))
			}
			v, err := e.h.verifyAudit(ctx, a)
			if err != nil || v.Status != "intact" || v.Records != 5 || len(v.Head) != 64 {
				t.Fatalf("before: %+v, %v", v, err)
			}
			db, _ := e.st.JobsDB() // the store's writer connection
			if _, err := db.ExecContext(ctx, tt.tamper, a.Key()); err != nil {
				t.Fatal(err)
			}
			v, err = e.h.verifyAudit(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			v.Detail = ""
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("after (-want +got):\n%s", diff)
			}
			if v, err := e.h.verifyAudit(ctx, b); err != nil || v.Status != "intact" {
				t.Errorf("the other vault: %+v, %v", v, err)
			}
		})
	}
}

func TestBreakReason(t *testing.T) {
	for problem, want := range map[string]string{
		"missing (the chain head is at 6)":  "deleted",
		"content does not match its hash":   "modified",
		"unknown encoding format 9":         "modified",
		"does not follow entry 2":           "reordered",
		"stored past the chain head (at 6)": "inserted",
		"does not match the chain head":     "headMismatch",
		"something audit.verify never says": "unknown",
	} {
		if got := breakReason(problem); got != want {
			t.Errorf("breakReason(%q) = %q, want %q", problem, got, want)
		}
	}
}

// FuzzAuditFilter: any query either yields a filter the audit writer
// accepts the shape of, or a 400 in ARM's format; never a panic or a
// server error.
func FuzzAuditFilter(f *testing.F) {
	for _, q := range []string{"", "since=2026-11-26T11:00:00Z&operation=SecretGet", "$skipToken=NDI&$top=5",
		"result=failure&caller=x", "$skipToken=%00", "until=9999-99-99", "order=desc&$skipToken=NDI", "order=sideways"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/x", nil)
		r.URL.RawQuery = query
		fl, size, err := auditFilter(r)
		if err != nil {
			if status, _, internal := renderError(err); status != http.StatusBadRequest || internal {
				t.Fatalf("%q: status %d for %v", query, status, err)
			}
			return
		}
		if size < 1 || size > arm.MaxPageSize || fl.After < 0 || !isWord(string(fl.Operation)) {
			t.Fatalf("%q: size %d, filter %+v", query, size, fl)
		}
	})
}
