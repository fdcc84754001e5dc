package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/edgevault/edgevault/internal/bootstrap"
)

// insightsReply is what the test reads of the insights route's answer.
type insightsReply struct {
	Timeline []struct {
		Time      string `json:"time"`
		Operation string `json:"operation"`
		Count     int64  `json:"count"`
	} `json:"timeline"`
	Failures []struct {
		Status int   `json:"status"`
		Count  int64 `json:"count"`
	} `json:"failures"`
	Latency struct {
		P50Ms int64 `json:"p50Ms"`
		P99Ms int64 `json:"p99Ms"`
	} `json:"latency"`
	TopCallers []struct {
		ObjectID string `json:"objectId"`
		Count    int64  `json:"count"`
	} `json:"topCallers"`
	Records int64 `json:"records"`
}

// TestAuditInsights: secrets calls made with the real azsecrets client,
// one answered 404 and one 403, show in the vault's insights, through the
// management API and the CLI.
func TestAuditInsights(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	srv := startInProcess(t, dataDir, "127.0.0.1:0", &syncBuffer{})
	e := newDataEnv(t, srv)
	boot := srv.boot
	vaultID := "/subscriptions/" + boot.SubscriptionID + "/resourceGroups/kv-data/providers/Microsoft.KeyVault/vaults/" + e.name
	mgmt := spToken(t, tokenClient(srv.http, boot), boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience)
	insights := func(tok string) reply {
		t.Helper()
		return send(t, srv.http, request{method: "GET", auth: "Bearer " + tok,
			url: boot.ManagementEndpoint + vaultID + "/providers/Edgevault.Audit/insights?api-version=2024-11-01"})
	}

	if _, err := e.secrets.SetSecret(ctx, "insightful", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := e.secrets.GetSecret(ctx, "insightful", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.secrets.GetSecret(ctx, "missing", "", nil); !hasStatus(err, "SecretNotFound", 404) {
		t.Fatalf("GetSecret missing: %v", err)
	}
	// A principal outside the access policy is denied.
	c := newCLIDriver(t)
	c.must("login", "--bootstrap", filepath.Join(dataDir, bootstrap.FileName))
	var sp servicePrincipal
	created := c.must("sp", "create", "--name", "insights-stranger", "-o", "json")
	c.decode(created, &sp)
	created.mayShow = sp.ClientSecret
	c.secret("the client secret of insights-stranger", sp.ClientSecret)
	stranger := e.client(t, newSDKEnv(t, srv, sp.ClientID, sp.ClientSecret).cred)
	if _, err := stranger.GetSecret(ctx, "insightful", "", nil); !hasStatus(err, "Forbidden", 403) {
		t.Fatalf("GetSecret without an access policy: %v", err)
	}

	var in insightsReply
	decodeReply(t, insights(mgmt), &in)
	ops := map[string]int64{}
	for _, p := range in.Timeline {
		ops[p.Operation] += p.Count
	}
	if ops["SecretSet"] != 1 || ops["SecretGet"] != 5 {
		t.Errorf("operations %v, want 1 SecretSet and 5 SecretGet", ops)
	}
	failures := map[int]int64{}
	for _, f := range in.Failures {
		failures[f.Status] += f.Count
	}
	if failures[404] != 1 || failures[403] != 1 {
		t.Errorf("failures %v, want one 404 and one 403", failures)
	}
	var total int64
	for _, n := range ops {
		total += n
	}
	if in.Records != total || in.Latency.P50Ms < 1 || in.Latency.P99Ms < in.Latency.P50Ms {
		t.Errorf("records %d (timeline %d), latency %+v", in.Records, total, in.Latency)
	}
	callers := map[string]int64{}
	for _, c := range in.TopCallers {
		callers[c.ObjectID] = c.Count
	}
	if callers[boot.ServicePrincipal.ObjectID] < 5 || callers[sp.ObjectID] != 1 {
		t.Errorf("top callers %+v, want %s with 5+ and %s with 1", in.TopCallers, boot.ServicePrincipal.ObjectID, sp.ObjectID)
	}

	// The insights take the logs' access rule.
	strangerMgmt := spToken(t, tokenClient(srv.http, boot), sp.ClientID, sp.ClientSecret, boot.ManagementAudience)
	if r := insights(strangerMgmt); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "AuthorizationFailed") {
		t.Errorf("insights without a role: %d %s", r.status, r.body)
	}

	// The CLI shows the same: the last 24 hours by default, per hour.
	var cliIn insightsReply
	c.decode(c.must("keyvault", "insights", "--name", e.name, "--since", "1h", "-o", "json"), &cliIn)
	if cliIn.Records != in.Records {
		t.Errorf("CLI: %d records, want %d", cliIn.Records, in.Records)
	}
	r := c.must("keyvault", "insights", "--name", e.name)
	for _, want := range []string{"Operations per hour", "SecretGet", "403", "404", boot.ServicePrincipal.ObjectID, sp.ObjectID} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("CLI table lacks %q:\n%s", want, r.stdout)
		}
	}
}
