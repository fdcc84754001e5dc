package armapi

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/audit"
)

// TestAuditInsightsGolden records a few requests and renders the vault's
// insights in their wire shape.
func TestAuditInsightsGolden(t *testing.T) {
	e := newAuditEnv(t)
	a, b := auditVaultID("kv-a"), auditVaultID("kv-b")
	const alice, bob = "0b7a2c4e-0000-4000-8000-00000000000a", "0b7a2c4e-0000-4000-8000-00000000000b"
	e.record(t,
		auditRecord(a, 1, audit.SecretSet, alice, 200), auditRecord(b, 100, audit.SecretGet, alice, 200),
		auditRecord(a, 2, audit.SecretGet, alice, 200), auditRecord(a, 3, audit.SecretGet, bob, 403),
		auditRecord(a, 70, audit.SecretList, bob, 200), auditRecord(a, 75, audit.SecretGet, alice, 404),
		auditRecord(a, 900, audit.SecretGet, alice, 200))
	in, err := e.w.Insights(t.Context(), a, auditAt.Add(-time.Minute), auditAt.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(AuditInsights(in), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "audit_insights.golden", string(out)+"\n")

	// An empty range renders empty lists, not null.
	in, err = e.w.Insights(t.Context(), a, auditAt.Add(time.Hour), auditAt.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = json.Marshal(AuditInsights(in))
	const want = `{"since":"2026-11-26T13:00:00Z","until":"2026-11-26T14:01:00Z","interval":"PT1M","timeline":[],"failures":[],` +
		`"latency":{"p50Ms":0,"p95Ms":0,"p99Ms":0},"topCallers":[],"records":0}`
	if string(out) != want {
		t.Errorf("empty insights:\n got %s\nwant %s", out, want)
	}
}

func TestInsightsRange(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	defer func(f func() time.Time) { insightsNow = f }(insightsNow)
	insightsNow = func() time.Time { return now }
	tests := []struct {
		query    string
		from, to time.Time
		wantCode string
	}{
		{query: "", from: now.Add(-24 * time.Hour), to: now},
		{query: "since=2026-11-26T11:00:00Z", from: now.Add(-time.Hour), to: now},
		{query: "since=2026-11-20T00:00:00Z&until=2026-11-21T00:00:00Z",
			from: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)},
		{query: "until=2026-11-25T00:00:00Z", from: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
			to: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{query: "since=yesterday", wantCode: "InvalidParameter"},
		{query: "until=1h", wantCode: "InvalidParameter"},
		{query: "since=2026-11-26T13:00:00Z", wantCode: "InvalidParameter"},
		{query: "since=2026-10-01T00:00:00Z", wantCode: "InvalidParameter"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/x?"+tt.query, nil)
		from, to, err := insightsRange(r)
		if tt.wantCode != "" {
			_, d, _ := renderError(err)
			if err == nil || d.Code != tt.wantCode {
				t.Errorf("%q: err %v, want code %s", tt.query, err, tt.wantCode)
			}
			continue
		}
		if err != nil || !from.Equal(tt.from) || !to.Equal(tt.to) {
			t.Errorf("%q: [%v, %v), %v; want [%v, %v)", tt.query, from, to, err, tt.from, tt.to)
		}
	}
}
