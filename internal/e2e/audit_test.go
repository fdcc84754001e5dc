package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	_ "modernc.org/sqlite" // the driver the store uses, for tampering

	"github.com/edgevault/edgevault/internal/bootstrap"
)

// auditEvent is what the test reads of an AuditEvent record.
type auditEvent struct {
	Time          string `json:"time"`
	ResourceID    string `json:"resourceId"`
	OperationName string `json:"operationName"`
	ResultType    string `json:"resultType"`
	Identity      *struct {
		Claim struct {
			ObjectID string `json:"oid"`
		} `json:"claim"`
	} `json:"identity"`
	Properties struct {
		ID             string `json:"id"`
		HTTPStatusCode int    `json:"httpStatusCode"`
	} `json:"properties"`
}

type auditList struct {
	Value    []auditEvent `json:"value"`
	NextLink string       `json:"nextLink"`
	Cursor   string       `json:"cursor"`
}

type auditVerification struct {
	Status         string `json:"status"`
	Records        int64  `json:"records"`
	FirstBrokenSeq int64  `json:"firstBrokenSeq"`
	Reason         string `json:"reason"`
}

// TestAuditTrail: secrets calls made with the real azsecrets client are
// read back from the management API and the CLI, each with its operation,
// caller and status; the trail verifies intact, and once a record is
// changed in the database, broken at that record. The trail of a
// soft-deleted vault stays readable.
func TestAuditTrail(t *testing.T) {
	ctx := t.Context()
	dataDir := t.TempDir()
	srv := startInProcess(t, dataDir, "127.0.0.1:0", &syncBuffer{})
	e := newDataEnv(t, srv)
	boot := srv.boot
	vaultID := "/subscriptions/" + boot.SubscriptionID + "/resourceGroups/kv-data/providers/Microsoft.KeyVault/vaults/" + e.name
	mgmt := spToken(t, tokenClient(srv.http, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience)
	api := func(method, path, query, tok string) reply {
		t.Helper()
		u := boot.ManagementEndpoint + vaultID + "/providers/Edgevault.Audit/" + path + "?api-version=2024-11-01"
		if query != "" {
			u += "&" + query
		}
		return send(t, srv.http, request{method: method, url: u, auth: "Bearer " + tok})
	}
	if r := api("GET", "logs", "", mgmt); r.status == http.StatusServiceUnavailable && strings.Contains(string(r.body), "not available") {
		t.Skip("the audit trail is not wired: set armapi.Config.Audit in internal/server")
	}

	// The calls: a set, a get, a get of a missing secret.
	if _, err := e.secrets.SetSecret(ctx, "audited", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.secrets.GetSecret(ctx, "audited", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.secrets.GetSecret(ctx, "missing", "", nil); !hasStatus(err, "SecretNotFound", 404) {
		t.Fatalf("GetSecret missing: %v", err)
	}

	// Every record, one per page, through nextLink.
	var all []auditEvent
	next := ""
	for page := 0; ; page++ {
		var r reply
		if page == 0 {
			r = api("GET", "logs", "$top=1", mgmt)
		} else {
			r = send(t, srv.http, request{method: "GET", url: next, auth: "Bearer " + mgmt})
		}
		var l auditList
		decodeReply(t, r, &l)
		all = append(all, l.Value...)
		if l.NextLink == "" {
			break
		}
		if !strings.HasPrefix(l.NextLink, boot.ManagementEndpoint+"/") || page > 100 {
			t.Fatalf("nextLink %q", l.NextLink)
		}
		next = l.NextLink
	}
	type call struct {
		op     string
		status int
	}
	var calls []call
	for _, ev := range all {
		if ev.ResourceID != strings.ToUpper(vaultID) {
			t.Errorf("record of %s in the trail of %s", ev.ResourceID, vaultID)
		}
		if ev.OperationName == "Authentication" || strings.HasPrefix(ev.OperationName, "Vault") {
			continue // the SDK's unauthenticated challenge requests; the vault's creation (mgmt_audit_test.go)
		}
		calls = append(calls, call{ev.OperationName, ev.Properties.HTTPStatusCode})
		if ev.Identity == nil || ev.Identity.Claim.ObjectID != boot.ServicePrincipal.ObjectID {
			t.Errorf("%s: caller %+v, want %s", ev.OperationName, ev.Identity, boot.ServicePrincipal.ObjectID)
		}
	}
	want := []call{{"SecretSet", 200}, {"SecretGet", 200}, {"SecretGet", 404}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("audited calls %v, want %v", calls, want)
	}

	// Filters, and the cursor of the whole trail sees nothing new.
	var gets auditList
	decodeReply(t, api("GET", "logs", "operation=SecretGet&caller="+boot.ServicePrincipal.ObjectID, mgmt), &gets)
	if len(gets.Value) != 2 || gets.NextLink != "" {
		t.Errorf("SecretGet records: %+v", gets)
	}
	var whole, after auditList
	decodeReply(t, api("GET", "logs", "", mgmt), &whole)
	decodeReply(t, api("GET", "logs", "$skipToken="+url.QueryEscape(whole.Cursor), mgmt), &after)
	if len(whole.Value) != len(all) || len(after.Value) != 0 {
		t.Errorf("whole trail %d records (paged %d), %d after its cursor", len(whole.Value), len(all), len(after.Value))
	}

	var v auditVerification
	decodeReply(t, api("POST", "verify", "", mgmt), &v)
	if v.Status != "intact" || v.Records != int64(len(all)) {
		t.Errorf("verify: %+v, want intact with %d records", v, len(all))
	}

	// A principal without a role at the vault may not read it.
	c := newCLIDriver(t)
	c.must("login", "--bootstrap", filepath.Join(dataDir, bootstrap.FileName))
	var sp servicePrincipal
	created := c.must("sp", "create", "--name", "no-role", "-o", "json")
	c.decode(created, &sp)
	created.mayShow = sp.ClientSecret
	c.secret("the client secret of no-role", sp.ClientSecret)
	stranger := spToken(t, tokenClient(srv.http, boot), sp.ClientID, sp.ClientSecret, boot.ManagementAudience)
	if r := api("GET", "logs", "", stranger); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "AuthorizationFailed") {
		t.Errorf("logs without a role: %d %s", r.status, r.body)
	}
	// A Reader of the vault may read the trail but not verify it.
	c.must("role", "assignment", "create", "--role", "Reader", "--assignee", sp.ClientID, "--scope", vaultID)
	if r := api("GET", "logs", "", stranger); r.status != http.StatusOK {
		t.Errorf("logs as Reader: %d %s", r.status, r.body)
	}
	if r := api("POST", "verify", "", stranger); r.status != http.StatusForbidden {
		t.Errorf("verify as Reader: %d %s", r.status, r.body)
	}

	// The CLI reads the same records and verifies the same chain.
	var cliEvents []auditEvent
	c.decode(c.must("audit", "logs", "--vault", e.name, "-o", "json"), &cliEvents)
	if len(cliEvents) != len(all) {
		t.Errorf("CLI: %d records, want %d", len(cliEvents), len(all))
	}
	if r := c.must("audit", "logs", "--vault", e.name, "--operation", "SecretSet"); !strings.Contains(r.stdout, "SecretSet") ||
		!strings.Contains(r.stdout, boot.ServicePrincipal.ObjectID) || !strings.HasPrefix(r.stdout, "TIME") {
		t.Errorf("CLI table:\n%s", r.stdout)
	}
	if r := c.must("audit", "verify", "--vault", e.name); r.stdout != fmt.Sprintf("intact (%d records)\n", len(all)) {
		t.Errorf("CLI verify: %q", r.stdout)
	}

	// Someone with access to the database changes the caller of the
	// SecretSet record.
	seq := int64(0)
	for i, ev := range all {
		if ev.OperationName == "SecretSet" {
			seq = int64(i + 1) // the trail is this vault's chain, in order
		}
	}
	tamper(t, filepath.Join(dataDir, "edgevault.db"),
		`UPDATE audit_records SET object_id = 'intruder' WHERE resource_key = ? AND seq = ?`, strings.ToLower(vaultID), seq)
	decodeReply(t, api("POST", "verify", "", mgmt), &v)
	if v.Status != "broken" || v.FirstBrokenSeq != seq || v.Reason != "modified" || v.Records != seq-1 {
		t.Errorf("verify after tampering: %+v, want broken at %d (modified)", v, seq)
	}
	r := c.fail("broken at record "+fmt.Sprint(seq), "audit", "verify", "--vault", e.name)
	if !strings.HasPrefix(r.stdout, fmt.Sprintf("broken at record %d: modified", seq)) {
		t.Errorf("CLI verify after tampering: %q", r.stdout)
	}

	// The trail of a soft-deleted vault stays readable.
	if _, err := e.vaults.Delete(ctx, "kv-data", e.name, nil); err != nil {
		t.Fatal(err)
	}
	var deleted auditList
	decodeReply(t, api("GET", "logs", "operation=SecretSet", mgmt), &deleted)
	if len(deleted.Value) != 1 {
		t.Errorf("deleted vault's SecretSet records: %d", len(deleted.Value))
	}
	c.decode(c.must("audit", "logs", "--vault", e.name, "--operation", "SecretSet", "-o", "json"), &cliEvents)
	if len(cliEvents) != 1 {
		t.Errorf("CLI on the deleted vault: %d records", len(cliEvents))
	}
	c.checkOutputs("")
}

// decodeReply decodes a 200 answer's JSON body.
func decodeReply(t *testing.T, r reply, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

// tamper runs a statement on the server's SQLite database behind its
// back, as someone with access to the file could.
func tamper(t *testing.T, path, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(t.Context(), stmt, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampering changed %d rows, want 1", n)
	}
}
