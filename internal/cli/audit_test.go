package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeAudit serves the Edgevault.Audit routes of the fake Key Vault, as
// armapi answers them: AuditEvent records paged by an opaque cursor (the
// last record's id), and a verification result per vault. Its state is
// guarded by the fakeServer's mutex (held by auth).
type fakeAudit struct {
	records  map[string][]map[string]any // lower-case vault name → records; id = index+1
	verify   map[string]map[string]any   // lower-case vault name → verify answer
	pageSize int
	queries  []string // the query of every logs request
}

func newFakeAudit(e *kvEnv) *fakeAudit {
	a := &fakeAudit{records: map[string][]map[string]any{}, verify: map[string]map[string]any{}, pageSize: 2}
	a.add("kv-prod", "SecretSet", adminObjectID, "", 200, 12)
	a.add("kv-prod", "SecretGet", aliceObjectID, "", 200, 3)
	a.add("kv-prod", "SecretGet", aliceObjectID, "", 403, 1)
	a.add("kv-old", "VaultDelete", "", "ops@contoso.example", 200, 40)
	a.verify["kv-prod"] = map[string]any{"status": "intact", "records": 3, "head": strings.Repeat("ab", 32)}
	a.verify["kv-old"] = map[string]any{"status": "broken", "records": 1, "firstBrokenSeq": 2, "reason": "modified",
		"detail": "content does not match its hash"}
	const vaultPath = "management.localhost/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}/providers/Edgevault.Audit"
	e.fs.mux.HandleFunc("GET "+vaultPath+"/logs", e.fs.auth(e.k.arm(a.logs)))
	e.fs.mux.HandleFunc("POST "+vaultPath+"/verify", e.fs.auth(e.k.arm(a.serveVerify)))
	return a
}

// add appends a record to a vault's trail.
func (a *fakeAudit) add(vault, op, oid, upn string, status, ms int) {
	key := strings.ToLower(vault)
	n := len(a.records[key]) + 1
	result, sig := "Success", http.StatusText(status)
	if status >= 400 {
		result = "Failure"
	}
	claim := map[string]any{"appid": "app-1"}
	if oid != "" {
		claim["oid"] = oid
	}
	if upn != "" {
		claim["upn"] = upn
	}
	a.records[key] = append(a.records[key], map[string]any{
		"time":          fakeTime.Add(time.Duration(n) * time.Minute).Format("2006-01-02T15:04:05.0000000Z"),
		"resourceId":    strings.ToUpper("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + vault),
		"operationName": op, "operationVersion": "7.5", "category": "AuditEvent", "resultType": result,
		"resultSignature": sig, "durationMs": strconv.Itoa(ms), "callerIpAddress": "192.0.2.7",
		"correlationId": fmt.Sprintf("corr-%d", n), "identity": map[string]any{"claim": claim},
		"properties": map[string]any{"id": "https://" + vault + ".vault.localhost/secrets/s1", "httpStatusCode": status,
			"requestUri": "https://" + vault + ".vault.localhost/secrets/s1?api-version=7.5", "clientInfo": "azsecrets/1.5.1"},
	})
}

func (a *fakeAudit) logs(w http.ResponseWriter, r *http.Request) {
	a.queries = append(a.queries, r.URL.RawQuery)
	recs, ok := a.records[strings.ToLower(r.PathValue("name"))]
	if !ok {
		armError(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+r.PathValue("name")+"' was not found.")
		return
	}
	after := 0
	if tok := r.URL.Query().Get("$skipToken"); tok != "" {
		b, _ := base64.RawURLEncoding.DecodeString(tok)
		after, _ = strconv.Atoi(string(b))
	}
	cursor := func(id int) string {
		if id == 0 {
			return ""
		}
		return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(id)))
	}
	out := map[string]any{"value": []any{}, "cursor": cursor(after)}
	page := []any{}
	for id := after + 1; id <= len(recs) && len(page) < a.pageSize; id++ {
		page = append(page, recs[id-1])
		out["cursor"] = cursor(id)
	}
	out["value"] = page
	if last := after + len(page); last < len(recs) {
		q := r.URL.Query()
		q.Set("$skipToken", cursor(last))
		out["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, out)
}

func (a *fakeAudit) serveVerify(w http.ResponseWriter, r *http.Request) {
	v, ok := a.verify[strings.ToLower(r.PathValue("name"))]
	if !ok {
		armError(w, 404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+r.PathValue("name")+"' was not found.")
		return
	}
	writeJSON(w, 200, v)
}

func auditArgs(args ...string) []string { return append([]string{"audit"}, args...) }

var auditGoldenCases = []kvCase{
	{name: "audit_help", args: auditArgs()},
	{name: "audit_logs", args: auditArgs("logs", "--vault", "kv-prod")},
	{name: "audit_logs_json", args: auditArgs("logs", "--vault", "kv-prod", "-g", "rg-prod", "-o", "json")},
	{name: "audit_logs_deleted_vault", args: auditArgs("logs", "--vault", "KV-OLD")},
	{name: "audit_logs_not_found", args: auditArgs("logs", "--vault", "kv-none")},
	{name: "audit_logs_no_vault", args: auditArgs("logs")},
	{name: "audit_logs_bad_since", args: auditArgs("logs", "--vault", "kv-prod", "--since", "yesterday")},
	{name: "audit_logs_bad_result", args: auditArgs("logs", "--vault", "kv-prod", "--result", "maybe")},
	{name: "audit_logs_follow_until", args: auditArgs("logs", "--vault", "kv-prod", "--follow", "--until", "1h")},
	{name: "audit_verify", args: auditArgs("verify", "--vault", "kv-prod")},
	{name: "audit_verify_json", args: auditArgs("verify", "--vault", "kv-prod", "-o", "json")},
	{name: "audit_verify_broken", args: auditArgs("verify", "--vault", "kv-old")},
	{name: "audit_verify_broken_json", args: auditArgs("verify", "--vault", "kv-old", "-o", "json")},
}

func TestAuditGolden(t *testing.T) {
	for _, tc := range auditGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubSleep(t)
			stubTerminal(t, false, false)
			e := newKVEnv(t, true)
			newFakeAudit(e)
			r := runCLI(t, tc.stdin, tc.args...)
			got := fmt.Sprintf("exit: %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
			golden(t, tc.name, strings.ReplaceAll(got, ":"+e.fs.srv.Port, ":8443"))
		})
	}
}

// TestAuditLogsFilters: the flags become the route's query, --since as a
// time relative to now.
func TestAuditLogsFilters(t *testing.T) {
	stubSleep(t)
	old := auditNow
	t.Cleanup(func() { auditNow = old })
	auditNow = func() time.Time { return fakeTime }
	e := newKVEnv(t, true)
	a := newFakeAudit(e)
	mustRun(t, "", "audit", "logs", "--vault", "kv-prod", "-g", "rg-prod", "--since", "90m", "--until", "2030-01-02T04:00:00+01:00",
		"--operation", "SecretGet", "--caller", aliceObjectID, "--result", "failure", "--top", "50", "--order", "DESC")
	q, err := url.ParseQuery(a.queries[0])
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"api-version": {keyVaultAPIVersion}, "since": {"2030-01-02T01:34:05Z"}, "until": {"2030-01-02T03:00:00Z"},
		"operation": {"SecretGet"}, "caller": {aliceObjectID}, "result": {"failure"}, "$top": {"50"}, "order": {"desc"}}
	if q.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", q.Encode(), want.Encode())
	}
}

// TestAuditLogsFollow: --follow prints what exists, then polls from the
// cursor at the injected interval, printing each new record once, until
// interrupted (which is a success).
func TestAuditLogsFollow(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			fixVersion(t, "dev", "")
			stubTerminal(t, false, false)
			e := newKVEnv(t, true)
			a := newFakeAudit(e)
			var waits []time.Duration
			old := sleep
			t.Cleanup(func() { sleep = old })
			sleep = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				switch len(waits) {
				case 1: // nothing new
				case 2:
					e.fs.mu.Lock()
					a.add("kv-prod", "SecretDelete", adminObjectID, "", 200, 7)
					a.add("kv-prod", "SecretList", aliceObjectID, "", 200, 2)
					a.add("kv-prod", "SecretGet", aliceObjectID, "", 404, 1)
					e.fs.mu.Unlock()
				default:
					return context.Canceled // the interrupt
				}
				return nil
			}
			r := mustRun(t, "", "audit", "logs", "--vault", "kv-prod", "-g", "rg-prod", "--follow", "--interval", "250ms", "-o", format)
			if len(waits) != 3 || waits[0] != 250*time.Millisecond {
				t.Errorf("waits %v, want 3 of 250ms", waits)
			}
			var skips []string
			for _, q := range a.queries {
				v, _ := url.ParseQuery(q)
				skips = append(skips, v.Get("$skipToken"))
			}
			// First page, its nextLink, then polls from the cursor after
			// record 3 twice (nothing new the first time), then the
			// nextLink of the new records' first page (after 5).
			want := []string{"", "Mg", "Mw", "Mw", "NQ"}
			if strings.Join(skips, ",") != strings.Join(want, ",") {
				t.Errorf("$skipTokens %v, want %v", skips, want)
			}
			golden(t, "audit_logs_follow_"+format, r.stdout)
		})
	}
}

// TestAuditLogsOrderUsage: a bad --order, and --follow with newest first,
// are usage errors before any request.
func TestAuditLogsOrderUsage(t *testing.T) {
	e := newKVEnv(t, true)
	a := newFakeAudit(e)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--order", "newest"}, `invalid --order "newest"`},
		{[]string{"--order", "desc", "--follow"}, "--follow lists oldest first"},
	} {
		r := runCLI(t, "", append([]string{"audit", "logs", "--vault", "kv-prod", "-g", "rg-prod"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if len(a.queries) != 0 {
		t.Errorf("a refused command sent %d requests", len(a.queries))
	}
}
