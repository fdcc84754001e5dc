//go:build !race

package e2e

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// TestActivationRace: 50 appliances activate with one key at the same
// moment, 200 times (a new key each time); exactly one wins each time and
// the 49 others are told the key was used. On SQLite and PostgreSQL.
// Built without the race detector only (make test runs it apart): it
// tests the database's single-winner update, and under -race its 10,000
// activations would take many minutes.
func TestActivationRace(t *testing.T) {
	if testing.Short() {
		t.Skip("200 trials of 50 concurrent activations")
	}
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	} {
		t.Run(db.name, func(t *testing.T) { testActivationRace(t, db.url(t)) })
	}
}

func testActivationRace(t *testing.T, databaseURL string) {
	const (
		trials  = 200
		devices = 50
	)
	srv := startInProcessDB(t, t.TempDir(), "127.0.0.1:0", databaseURL, io.Discard)
	e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	e.group(t, "race-rg")
	e.createDevice(t, "race-rg", "dbe-race")
	fleet := make([]*testDevice, devices)
	for i := range fleet {
		fleet[i] = newTestDevice(t, "SN-RACE-"+string(rune('A'+i/26))+string(rune('a'+i%26)))
	}
	for trial := range trials {
		key := e.generateFast(t, "race-rg", "dbe-race")
		type outcome struct {
			code int
			err  string
		}
		outcomes := make([]outcome, devices)
		var start sync.WaitGroup
		start.Add(1)
		var wg sync.WaitGroup
		for i, d := range fleet {
			wg.Go(func() {
				start.Wait()
				c, ec := d.activate(t, key)
				outcomes[i] = outcome{c, ec}
			})
		}
		start.Done()
		wg.Wait()
		won := 0
		for _, o := range outcomes {
			switch {
			case o.code == http.StatusOK:
				won++
			case o.code == http.StatusConflict && o.err == "ActivationKeyUsed":
			default:
				t.Fatalf("trial %d: an activation ended %d %s, want 200 or 409 ActivationKeyUsed", trial, o.code, o.err)
			}
		}
		if won != 1 {
			t.Fatalf("trial %d: %d of %d concurrent activations with one key succeeded, want exactly 1", trial, won, devices)
		}
	}
}

// generateFast generates a key and polls the operation's Location URL
// every 10 ms, ignoring Retry-After (azcore's poller honours it, which
// would make 200 trials take minutes).
func (e *edgeEnv) generateFast(t *testing.T, group, name string) string {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, e.deviceURL(group, name, "/generateActivationKey"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("generateActivationKey: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var res activationResult
		if code := e.raw(t, http.MethodGet, loc, nil, &res); code == http.StatusOK {
			return res.ActivationKey
		} else if code != http.StatusAccepted {
			t.Fatalf("operation result: %d", code)
		}
	}
	t.Fatal("the operation did not end within a minute")
	return ""
}
