package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/devicewire"
)

// Fleet figures: the defaults measure 1,000 devices for 60 s.
const (
	fleetDevices   = 1000
	fleetHeartbeat = 30 * time.Second // the server's default --device-heartbeat
	fleetWindow    = 60 * time.Second
)

// BenchmarkFleetHeartbeat measures what a fleet of 1,000 activated devices
// costs the server while they only heartbeat: the real binary as a child
// process on SQLite, each device on its own kept-alive HTTP/2 mTLS
// connection (its own certificate), heartbeats every 30 s spread evenly
// over the interval (33 a second). It reports the server's CPU time over a
// 60 s window as a percentage of one core (utime+stime from
// /proc/<pid>/stat), its resident set (VmRSS, mean and peak of one sample
// a second), and the heartbeats' client-side latency.
//
//   - idle: no heartbeat at all, the connections open: the server's
//     floor.
//   - wait=0: each heartbeat answers at once (WaitSeconds 0).
//   - wait=25: each heartbeat is a 25 s long poll, as the agent sends it
//     when it owes no push (internal/agent: min(interval, 25 s)), so about
//     830 are held by the server at any time.
//
// The setup (1,000 edge resources, keys and activations) takes about a
// minute; each mode then runs for its 60 s window, whatever b.N is.
//
//	go test -run '^$' -bench FleetHeartbeat -benchtime 1x -timeout 30m ./internal/e2e/
func BenchmarkFleetHeartbeat(b *testing.B) {
	port := freePort(b)
	p := serverArgs{dataDir: b.TempDir(), port: port, extra: []string{"--device-heartbeat", fleetHeartbeat.String()}}.start(b)
	boot, hc := p.waitReady(b)
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	e := newEdgeBench(b, hc, boot)
	e.group(b, "fleet")

	start := time.Now()
	fleet := make([]*testDevice, fleetDevices)
	e.parallel(b, 0, fleetDevices, 8, func(i int) error {
		name := "fleet-" + strconv.Itoa(i)
		if err := e.putDevice("fleet", name); err != nil {
			return err
		}
		res, err := e.generate("fleet", name)
		if err != nil {
			return err
		}
		d := newTestDevice(b, "SN-FLEET-"+strconv.Itoa(i))
		if code, ec := d.activate(b, res.ActivationKey); code != http.StatusOK {
			return fmt.Errorf("activate %s: %d %s", name, code, ec)
		}
		// The first heartbeat opens the connection the device keeps.
		if code, ec := d.call(b, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{}, nil); code != http.StatusOK {
			return fmt.Errorf("heartbeat %s: %d %s", name, code, ec)
		}
		fleet[i] = d
		return nil
	})
	b.Cleanup(func() {
		for _, d := range fleet {
			if d != nil && d.mtls != nil {
				d.mtls.CloseIdleConnections()
			}
		}
	})
	b.Logf("%d devices created, keyed, activated and connected in %v", fleetDevices, time.Since(start).Round(time.Second))

	pid := p.cmd.Process.Pid
	// The server's own cost with the devices connected but silent: the job
	// queue's polling, the sweepers, the audit exporter.
	b.Run(fmt.Sprintf("devices=%d/idle", fleetDevices), func(b *testing.B) { runFleet(b, pid, nil, 0) })
	for _, wait := range []int{0, 25} {
		b.Run(fmt.Sprintf("devices=%d/wait=%d", fleetDevices, wait), func(b *testing.B) {
			runFleet(b, pid, fleet, wait)
		})
	}
}

// runFleet lets every device heartbeat every fleetHeartbeat, device i at
// offset i/len(fleet) of the interval, for fleetWindow, and reports the
// server's CPU and memory over that window.
func runFleet(b *testing.B, pid int, fleet []*testDevice, wait int) {
	cpu0 := procCPU(b, pid)
	t0 := time.Now()
	end := t0.Add(fleetWindow)
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs []error
	)
	var wg sync.WaitGroup
	for i, d := range fleet {
		offset := fleetHeartbeat * time.Duration(i) / time.Duration(len(fleet))
		wg.Go(func() {
			for next := t0.Add(offset); next.Before(end); next = next.Add(fleetHeartbeat) {
				time.Sleep(time.Until(next))
				s := time.Now()
				err := heartbeat(d, wait)
				mu.Lock()
				if err == nil {
					lat = append(lat, time.Since(s))
				} else {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	// Sample the resident set once a second until the window ends; the CPU
	// time is read at its two ends (the held long polls of wait>0 end after
	// it, and are not counted).
	var rss []float64
	tick := time.NewTicker(time.Second)
	for now := range tick.C {
		rss = append(rss, procRSS(b, pid))
		if !now.Before(end) {
			break
		}
	}
	tick.Stop()
	cpu1 := procCPU(b, pid)
	elapsed := time.Since(t0)
	wg.Wait()
	if len(errs) > 0 {
		b.Errorf("%d heartbeats failed, the first: %v", len(errs), errs[0])
	}
	b.ReportMetric(100*(cpu1-cpu0).Seconds()/elapsed.Seconds(), "cpu-%core")
	var sum float64
	for _, r := range rss {
		sum += r
	}
	b.ReportMetric(sum/float64(len(rss)), "rss-MB")
	b.ReportMetric(slices.Max(rss), "rss-max-MB")
	if fleet != nil {
		b.ReportMetric(float64(len(lat))/fleetWindow.Seconds(), "heartbeats/s")
	}
	slices.Sort(lat)
	if len(lat) > 0 && wait == 0 { // a long poll's latency is its wait
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// heartbeat sends one heartbeat on d's connection; unlike d.call it may
// run on any goroutine.
func heartbeat(d *testDevice, wait int) error {
	body, _ := json.Marshal(devicewire.HeartbeatRequest{WaitSeconds: wait})
	resp, err := d.mtls.Post(d.base+devicewire.PathHeartbeat, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("heartbeat: %d %s", resp.StatusCode, data)
	}
	return err
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// procCPU returns the user plus system CPU time process pid has used.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	// The fields after the command, which is in parentheses and may hold
	// spaces: utime and stime are fields 14 and 15 of proc(5), the 12th
	// and 13th after the closing parenthesis.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * time.Second / clockTick
}

// procRSS returns process pid's resident set in MiB (VmRSS).
func procRSS(b *testing.B, pid int) float64 {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatalf("VmRSS: %q", rest)
			}
			return kb / 1024
		}
	}
	b.Fatalf("/proc/%d/status has no VmRSS", pid)
	return 0
}
