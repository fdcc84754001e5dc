package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/server"
)

// The edge benchmarks: generating activation keys, activating devices and
// pushing device secrets, each against a server in the test process (so
// that -cpuprofile sees the server's work) over HTTPS, on SQLite and, when
// EDGEVAULT_TEST_POSTGRES_URL is set, on PostgreSQL. They talk to ARM with
// plain HTTP requests and poll a long-running operation's Location every
// 10 ms, ignoring Retry-After, so that they time the server and not a
// poller's wait. Latencies are measured by the client, one request at a
// time, and reported as p50-ms and p99-ms.
//
//	go test -run '^$' -bench 'GenerateActivationKey|DeviceActivation|DeviceSync' -benchtime 200x -count 3 ./internal/e2e/

// benchDatabases are the databases the edge benchmarks run on: SQLite in
// the data dir always, PostgreSQL when EDGEVAULT_TEST_POSTGRES_URL is set
// (postgresURL skips the sub-benchmark otherwise).
var benchDatabases = []struct {
	name string
	url  func(testing.TB) string
}{
	{"sqlite", func(testing.TB) string { return "" }},
	{"postgres", postgresURL},
}

// BenchmarkGenerateActivationKey times generateActivationKey from the POST
// to the operation's Succeeded result, with fleet edge resources already
// in the subscription. All of them, and the devices the benchmark adds,
// live in one resource group, so that a scan of the group or of the
// subscription would show as growth from fleet=1000 to fleet=10000 (the
// fleet's resources have no vault: generating 10,000 keys first would take
// longer than the benchmark).
//
//   - first: a new edge resource (created with the timer stopped), then its
//     first generation: vault, lock, CIK, storage account, diagnostic
//     setting, access policy, the CIK read back as the managed identity,
//     and the key.
//   - regenerate: a new key for a resource that has its vault, cycling
//     over those that "first" made.
func BenchmarkGenerateActivationKey(b *testing.B) {
	for _, db := range benchDatabases {
		b.Run(db.name, func(b *testing.B) {
			e := startEdgeBench(b, db.url(b))
			e.group(b, "fleet")
			var generated []string
			for _, size := range []int{1000, 10000} {
				b.Run(fmt.Sprintf("fleet=%d", size), func(b *testing.B) {
					start := time.Now()
					e.growFleet(b, "fleet", size)
					b.Logf("fleet of %d edge resources ready in %v", size, time.Since(start).Round(time.Millisecond))
					b.Run("first", func(b *testing.B) {
						lat := make([]time.Duration, 0, b.N)
						for range b.N {
							b.StopTimer()
							name := e.newName("dbe-gen")
							if err := e.putDevice("fleet", name); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
							t0 := time.Now()
							if _, err := e.generate("fleet", name); err != nil {
								b.Fatal(err)
							}
							lat = append(lat, time.Since(t0))
							generated = append(generated, name)
						}
						reportLatency(b, lat)
					})
					b.Run("regenerate", func(b *testing.B) {
						if len(generated) == 0 {
							b.Skip("no generated resource to regenerate (the first sub-benchmark did not run)")
						}
						lat := make([]time.Duration, 0, b.N)
						for i := range b.N {
							t0 := time.Now()
							if _, err := e.generate("fleet", generated[i%len(generated)]); err != nil {
								b.Fatal(err)
							}
							lat = append(lat, time.Since(t0))
						}
						reportLatency(b, lat)
					})
				})
			}
		})
	}
}

// BenchmarkDeviceActivation times a device's activation as the agent does
// it: fetch the CA and pin it by the key's fingerprint, POST /v1/activate
// on a new TLS connection, open the sealed CIK. Each iteration needs a
// fresh edge resource and key, made with the timer stopped.
func BenchmarkDeviceActivation(b *testing.B) {
	for _, db := range benchDatabases {
		b.Run(db.name, func(b *testing.B) {
			e := startEdgeBench(b, db.url(b))
			e.group(b, "act")
			b.ResetTimer()
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				b.StopTimer()
				name := e.newName("dbe-act")
				if err := e.putDevice("act", name); err != nil {
					b.Fatal(err)
				}
				res, err := e.generate("act", name)
				if err != nil {
					b.Fatal(err)
				}
				dev := newTestDevice(b, "SN-"+name)
				b.StartTimer()
				t0 := time.Now()
				if code, ec := dev.activate(b, res.ActivationKey); code != http.StatusOK {
					b.Fatalf("activate: %d %s", code, ec)
				}
				lat = append(lat, time.Since(t0))
				b.StopTimer()
				dev.mtls.CloseIdleConnections()
				b.StartTimer()
			}
			reportLatency(b, lat)
		})
	}
}

// benchSecrets are the four device secrets a sync pushes.
var benchSecrets = map[string]string{
	devicewire.SystemVolumeBitLockerRecoveryKey:      "111111-222222-333333-444444-555555-666666-777777-888888",
	devicewire.HcsDataVolumeBitLockerExternalKey:     "data-volume-external-key-0123456789abcdef",
	devicewire.HcsInternalVolumeBitLockerExternalKey: "internal-volume-external-key-0123456789abcdef",
	devicewire.BMCDefaultUserPassword:                "Pa55w0rd!",
}

// BenchmarkDeviceSync times a sync of an activated device's four secrets.
//
//   - push: POST /v1/secrets with the four secrets sealed under the CIK
//     (sealed with the timer stopped), on the device's kept-alive mTLS
//     connection. The server opens them and writes four secret versions as
//     the device's managed identity: the server's work per sync.
//   - operation: the whole syncDeviceSecrets operation: the POST, the
//     device's long-poll heartbeat (already waiting, as the agent's is)
//     answering with the sync id, the push quoting it, and the operation's
//     result polled every 10 ms until it is Succeeded.
func BenchmarkDeviceSync(b *testing.B) {
	for _, db := range benchDatabases {
		b.Run(db.name, func(b *testing.B) {
			e := startEdgeBench(b, db.url(b))
			e.group(b, "sync")
			if err := e.putDevice("sync", "dbe-sync"); err != nil {
				b.Fatal(err)
			}
			res, err := e.generate("sync", "dbe-sync")
			if err != nil {
				b.Fatal(err)
			}
			dev := newTestDevice(b, "SN-SYNC")
			if code, ec := dev.activate(b, res.ActivationKey); code != http.StatusOK {
				b.Fatalf("activate: %d %s", code, ec)
			}
			b.Cleanup(dev.mtls.CloseIdleConnections)
			b.Run("push", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for range b.N {
					b.StopTimer()
					req := dev.pushRequest(b, "", benchSecrets)
					b.StartTimer()
					t0 := time.Now()
					var pr devicewire.PushResponse
					if code, ec := dev.call(b, devicewire.PathSecrets, req, &pr); code != http.StatusOK || len(pr.Secrets) != 4 {
						b.Fatalf("push: %d %s %+v", code, ec, pr)
					}
					lat = append(lat, time.Since(t0))
				}
				reportLatency(b, lat)
			})
			b.Run("operation", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for range b.N {
					lat = append(lat, e.syncOnce(b, dev, "sync", "dbe-sync"))
				}
				reportLatency(b, lat)
			})
		})
	}
}

// syncOnce runs one syncDeviceSecrets operation with dev answering it, and
// returns the time from the POST to the operation's result.
func (e *edgeBench) syncOnce(b *testing.B, dev *testDevice, group, name string) time.Duration {
	b.Helper()
	// The device waits in its long poll first, as the agent does between
	// heartbeats; its push follows the answer at once.
	pushed := make(chan error, 1)
	go func() {
		var hb devicewire.HeartbeatResponse
		if code, ec := dev.call(b, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{WaitSeconds: 25}, &hb); code != http.StatusOK || hb.SyncID == "" {
			pushed <- fmt.Errorf("heartbeat: %d %s %+v", code, ec, hb)
			return
		}
		secrets := maps.Clone(benchSecrets)
		secrets[devicewire.ChannelIntegrityKey] = string(dev.cik)
		if code, ec := dev.call(b, devicewire.PathSecrets, dev.pushRequest(b, hb.SyncID, secrets), nil); code != http.StatusOK {
			pushed <- fmt.Errorf("push: %d %s", code, ec)
			return
		}
		pushed <- nil
	}()
	time.Sleep(20 * time.Millisecond) // let the long poll reach the server
	t0 := time.Now()
	status, loc, err := e.do(http.MethodPost, e.deviceURL(group, name, "/syncDeviceSecrets"), nil, nil)
	if err != nil || status != http.StatusAccepted || loc == "" {
		b.Fatalf("syncDeviceSecrets: %d %v", status, err)
	}
	var out map[string]any
	if err := e.await(loc, &out); err != nil {
		b.Fatal(err)
	}
	d := time.Since(t0)
	if err := <-pushed; err != nil {
		b.Fatal(err)
	}
	if out["keyVaultSyncStatus"] != "KeyVaultSynced" {
		b.Fatalf("sync result: %v", out)
	}
	return d
}

// reportLatency reports the median, the 99th percentile and the rate of
// the operations whose latencies lat holds, done one at a time.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat))/sum.Seconds(), "ops/s")
}

// edgeBench calls ARM with a management token over one HTTPS client.
type edgeBench struct {
	hc    *http.Client
	boot  bootstrap.File
	token string
	seq   atomic.Int64 // names new resources
	fleet int          // resources growFleet made
}

// startEdgeBench runs a server in the test process with its data in a
// temporary dir and the database databaseURL names ("" for SQLite), and
// returns a caller holding the bootstrap service principal's token.
func startEdgeBench(b testing.TB, databaseURL string) *edgeBench {
	b.Helper()
	srv, _ := startBenchServer(b, databaseURL)
	return newEdgeBench(b, srv.http, srv.boot)
}

// startBenchServer runs a server in the test process on the database
// databaseURL names ("" for SQLite in a temporary dir), logging warnings
// only, and returns it with its data dir.
func startBenchServer(b testing.TB, databaseURL string) (*inproc, string) {
	b.Helper()
	dir := b.TempDir()
	cfg := config.Config{DataDir: dir, Listen: "127.0.0.1:0", DNSSuffix: "localhost", LogFormat: "text", LogLevel: "warn",
		DatabaseURL: databaseURL}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Options{Stdout: io.Discard, Stderr: io.Discard, Argon2: cheapArgon2,
			Ready: func(s *server.Server) { ready <- s }})
	}()
	var s *server.Server
	select {
	case s = <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("server did not start: %v", err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	b.Cleanup(stop)
	boot, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		b.Fatal(err)
	}
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: boot.CACertFile, OnlyCA: true, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(hc.CloseIdleConnections)
	return &inproc{Server: s, boot: boot, http: hc, stop: stop}, dir
}

func newEdgeBench(b testing.TB, hc *http.Client, boot bootstrap.File) *edgeBench {
	b.Helper()
	sp := boot.ServicePrincipal
	tok := spToken(b, tokenClient(hc, boot), sp.ClientID, sp.ClientSecret, boot.ManagementAudience)
	return &edgeBench{hc: hc, boot: boot, token: tok}
}

// newName returns a resource name not used before by e.
func (e *edgeBench) newName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(e.seq.Add(1), 10)
}

func (e *edgeBench) sub() string {
	return e.boot.ManagementEndpoint + "/subscriptions/" + e.boot.SubscriptionID
}

func (e *edgeBench) deviceURL(group, name, action string) string {
	return e.sub() + "/resourceGroups/" + group + "/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/" + name + action +
		"?api-version=2023-12-01"
}

// do sends one ARM request with body as JSON; out, when not nil, receives
// a 2xx answer's body. It returns the status and the Location header.
func (e *edgeBench) do(method, url string, body, out any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, "", fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 && resp.StatusCode != http.StatusAccepted {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, "", fmt.Errorf("%s %s: %v in %s", method, url, err, data)
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// group creates a resource group, registering Microsoft.DataBoxEdge first
// (the SDKs do that on their first MissingSubscriptionRegistration).
func (e *edgeBench) group(b testing.TB, name string) {
	b.Helper()
	if _, _, err := e.do(http.MethodPost, e.sub()+"/providers/Microsoft.DataBoxEdge/register?api-version=2021-04-01", nil, nil); err != nil {
		b.Fatal(err)
	}
	if _, _, err := e.do(http.MethodPut, e.sub()+"/resourcegroups/"+name+"?api-version=2021-04-01", map[string]string{"location": "westeurope"}, nil); err != nil {
		b.Fatal(err)
	}
}

// putDevice creates an Azure Stack Edge Pro resource.
func (e *edgeBench) putDevice(group, name string) error {
	_, _, err := e.do(http.MethodPut, e.deviceURL(group, name, ""), map[string]any{
		"location": "westeurope",
		"sku":      map[string]string{"name": "EdgeP_Base", "tier": "Standard"},
		"tags":     map[string]string{"site": "plant-1"},
	}, nil)
	return err
}

// growFleet creates edge resources named fleet-<n> in group until e's
// fleet holds size of them, with 8 PUTs in flight.
func (e *edgeBench) growFleet(b testing.TB, group string, size int) {
	b.Helper()
	e.parallel(b, e.fleet, size, 8, func(i int) error { return e.putDevice(group, "fleet-"+strconv.Itoa(i)) })
	e.fleet = max(e.fleet, size)
}

// parallel runs f(i) for i in [from, to) on workers goroutines and fails b
// with the first error.
func (e *edgeBench) parallel(b testing.TB, from, to, workers int, f func(i int) error) {
	b.Helper()
	var next atomic.Int64
	next.Store(int64(from))
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(to))
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// generate runs generateActivationKey on a resource to its result.
func (e *edgeBench) generate(group, name string) (activationResult, error) {
	var res activationResult
	status, loc, err := e.do(http.MethodPost, e.deviceURL(group, name, "/generateActivationKey"), nil, nil)
	if err != nil {
		return res, err
	}
	if status != http.StatusAccepted || loc == "" {
		return res, fmt.Errorf("generateActivationKey %s: status %d, Location %q", name, status, loc)
	}
	return res, e.await(loc, &res)
}

// await polls an operation's Location every 10 ms, ignoring Retry-After,
// until it answers 200, and decodes the result into out.
func (e *edgeBench) await(loc string, out any) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		status, _, err := e.do(http.MethodGet, loc, nil, out)
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			return nil
		}
		if status != http.StatusAccepted {
			return fmt.Errorf("operation %s: status %d", loc, status)
		}
	}
	return fmt.Errorf("operation %s did not end within 2 minutes", loc)
}
