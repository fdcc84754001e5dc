package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKill9Audit: every data-plane request the server acknowledged has its
// audit record after a kill -9, because the record is committed before
// the response leaves. Secrets are written by several clients at once
// until the server is killed; after a restart each acknowledged request's
// x-ms-request-id is found in the vault's audit trail, and the chain
// verifies.
func TestKill9Audit(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) { testKill9Audit(t, db.url(t)) })
	}
}

func testKill9Audit(t *testing.T, databaseURL string) {
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t), databaseURL: databaseURL, extra: []string{"--vault-request-limit", "0"}}
	p := a.start(t)
	boot, hc := p.waitReady(t)
	tc := tokenClient(hc, boot)
	sp := boot.ServicePrincipal
	createLoadVault(t, hc, boot, spToken(t, tc, sp.ClientID, sp.ClientSecret, boot.ManagementAudience), "killvault")
	vaultToken := spToken(t, tc, sp.ClientID, sp.ClientSecret, boot.VaultAudience)
	vaultURL := "https://killvault.vault.localhost:" + strconv.Itoa(a.port)

	var (
		mu    sync.Mutex
		acked []string // x-ms-request-id of every 200
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"value":"v-%d-%d"}`, w, i)
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/secrets/s-%d?api-version=2025-07-01", vaultURL, w), strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+vaultToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked = append(acked, resp.Header.Get("x-ms-request-id"))
					mu.Unlock()
				}
			}
		})
	}
	// Kill once enough writes are acknowledged, while others are in flight.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	p = a.start(t)
	boot, hc = p.waitReady(t)
	mgmt := spToken(t, tokenClient(hc, boot), sp.ClientID, sp.ClientSecret, boot.ManagementAudience)
	vaultID := "/subscriptions/" + boot.SubscriptionID + "/resourceGroups/load/providers/Microsoft.KeyVault/vaults/killvault"
	recorded := auditRequestIDs(t, hc, boot.ManagementEndpoint, mgmt, vaultID)
	missing := 0
	for _, id := range acked {
		if !recorded[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged requests have no audit record after kill -9", missing, len(acked))
	}
	var v struct{ Status string }
	if err := adminAPI(hc, mgmt).Do(context.Background(), "POST", boot.ManagementEndpoint+vaultID+
		"/providers/Edgevault.Audit/verify?api-version=2024-11-01", nil, &v); err != nil || v.Status != "intact" {
		t.Fatalf("chain after kill -9: %+v, %v", v, err)
	}
	t.Logf("%d acknowledged writes, all audited; chain intact", len(acked))
}

// auditRequestIDs pages through a vault's audit trail and returns the
// request ids it holds.
func auditRequestIDs(t *testing.T, hc *http.Client, endpoint, tok, vaultID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	next := endpoint + vaultID + "/providers/Edgevault.Audit/logs?api-version=2024-11-01&$top=1000"
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Value []struct {
				Properties struct {
					RequestID string `json:"requestId"`
				} `json:"properties"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("audit logs: %d %v", resp.StatusCode, err)
		}
		for _, r := range page.Value {
			out[r.Properties.RequestID] = true
		}
		next = page.NextLink
	}
	return out
}
