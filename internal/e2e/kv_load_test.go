package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/bootstrap"
)

// BenchmarkKeyVaultHTTPS is the data plane's load test: the real binary
// as a separate process on SQLite, HTTPS with bearer tokens, audit records
// on (they are always on), 1 KiB values; GET and SET at concurrency 1, 16
// and 64; and the same with the server pinned to one core (taskset -c 0),
// the load generator free to use the other. It reports requests/s and the
// p50 and p99 latencies seen by the client.
//
//	go test -run '^$' -bench KeyVaultHTTPS -benchtime 4000x -count 3 ./internal/e2e/
func BenchmarkKeyVaultHTTPS(b *testing.B) {
	servers := []struct {
		name string
		wrap []string
	}{{"cores=all", nil}}
	if taskset, err := exec.LookPath("taskset"); err == nil {
		servers = append(servers, struct {
			name string
			wrap []string
		}{"cores=1", []string{taskset, "-c", "0"}})
	}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			env := newLoadEnv(b, srv.wrap)
			for _, op := range []string{"GET", "SET"} {
				for _, conc := range []int{1, 16, 64} {
					b.Run(fmt.Sprintf("%s/conc=%d", op, conc), func(b *testing.B) { env.run(b, op, conc) })
				}
			}
		})
	}
}

type loadEnv struct {
	hc       *http.Client
	vaultURL string
	token    string
	body     string
}

func newLoadEnv(b *testing.B, wrap []string) *loadEnv {
	b.Helper()
	port := freePort(b)
	p := serverArgs{dataDir: b.TempDir(), port: port, wrap: wrap, extra: []string{"--vault-request-limit", "0"}}.start(b)
	boot, hc := p.waitReady(b)
	// One keep-alive connection per concurrent client.
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	tc := tokenClient(hc, boot)
	mgmt := spToken(b, tc, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.ManagementAudience)
	createLoadVault(b, hc, boot, mgmt, "loadvault")
	return &loadEnv{
		hc:       hc,
		vaultURL: "https://loadvault.vault.localhost:" + strconv.Itoa(port),
		token:    spToken(b, tc, boot.ServicePrincipal.ClientID, boot.ServicePrincipal.ClientSecret, boot.VaultAudience),
		body:     `{"value":"` + strings.Repeat("v", 1024) + `","contentType":"text/plain"}`,
	}
}

// createLoadVault registers Microsoft.KeyVault and creates a vault whose
// access policy gives the bootstrap service principal get and set.
func createLoadVault(b testing.TB, hc *http.Client, boot bootstrap.File, tok, name string) {
	b.Helper()
	api := adminAPI(hc, tok)
	ctx := context.Background()
	sub := boot.ManagementEndpoint + "/subscriptions/" + boot.SubscriptionID
	steps := []struct {
		method, url string
		body        any
	}{
		{"POST", sub + "/providers/Microsoft.KeyVault/register?api-version=2021-04-01", nil},
		{"PUT", sub + "/resourcegroups/load?api-version=2021-04-01", map[string]any{"location": "westeurope"}},
		{"PUT", sub + "/resourceGroups/load/providers/Microsoft.KeyVault/vaults/" + name + "?api-version=2024-11-01", map[string]any{
			"location": "westeurope",
			"properties": map[string]any{
				"tenantId": boot.TenantID, "sku": map[string]string{"family": "A", "name": "standard"},
				"accessPolicies": []map[string]any{{"tenantId": boot.TenantID, "objectId": boot.ServicePrincipal.ObjectID,
					"permissions": map[string][]string{"secrets": {"get", "set"}}}},
			},
		}},
	}
	for _, s := range steps {
		if err := api.Do(ctx, s.method, s.url, s.body, nil); err != nil {
			b.Fatalf("%s %s: %v", s.method, s.url, err)
		}
	}
}

func (e *loadEnv) request(op string, i int) (*http.Request, error) {
	if op == "SET" {
		// Spread writes over a few names: every SET creates a version.
		req, err := http.NewRequest("PUT", e.vaultURL+"/secrets/load-"+strconv.Itoa(i%16)+"?api-version=2025-07-01", strings.NewReader(e.body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	return http.NewRequest("GET", e.vaultURL+"/secrets/load-0/?api-version=2025-07-01", nil)
}

func (e *loadEnv) do(op string, i int) error {
	req, err := e.request(op, i)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", op, resp.StatusCode)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// run performs b.N requests from conc goroutines and reports throughput
// and client-side latency percentiles.
func (e *loadEnv) run(b *testing.B, op string, conc int) {
	for i := range 16 { // the GET target and the SET names exist
		if err := e.do("SET", i); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([][]time.Duration, conc)
	var next sync.Mutex
	n := 0
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := e.do(op, i); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}
