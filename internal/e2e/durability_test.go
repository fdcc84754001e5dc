package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// DESIGN.md §7: "An acknowledged write survives kill -9." These tests run
// the real binary as a child process, SIGKILL it while writes are in
// flight, restart it on the same data directory and database, and check
// that everything it acknowledged is still there.

// ledger records what the server acknowledged. After the crash every
// acknowledged write must hold; a write in flight at the kill may or may
// not have happened, so what it touched is checked less strictly.
type ledger struct {
	mu       sync.Mutex
	live     map[string]string   // client id → current secret, creation acknowledged
	deleted  map[string]string   // client id → last secret, deletion acknowledged
	replaced map[string][]string // client id → secrets that acknowledged resets replaced
	unsure   map[string]bool     // client ids a reset or delete was in flight for at the kill
}

func newLedger() *ledger {
	return &ledger{live: map[string]string{}, deleted: map[string]string{}, replaced: map[string][]string{}, unsure: map[string]bool{}}
}

func (l *ledger) created(id, secret string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live[id] = secret
}

func (l *ledger) reset(id, secret string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.replaced[id] = append(l.replaced[id], l.live[id])
	l.live[id] = secret
}

func (l *ledger) removed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deleted[id] = l.live[id]
	delete(l.live, id)
}

func (l *ledger) inFlight(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unsure[id] = true
}

// The admin API writes, each recorded in the ledger once acknowledged.

func createSP(ctx context.Context, api *client.API, boot bootstrap.File, name string, l *ledger) (string, error) {
	var sp servicePrincipal
	if err := api.Do(ctx, http.MethodPost, boot.ManagementEndpoint+adminPath+"/servicePrincipals", map[string]string{"displayName": name}, &sp); err != nil {
		return "", err
	}
	if sp.ClientID == "" || sp.ClientSecret == "" || sp.DisplayName != name {
		return "", fmt.Errorf("create %s: answer lacks client id, secret or name", name)
	}
	l.created(sp.ClientID, sp.ClientSecret)
	return sp.ClientID, nil
}

func resetSP(ctx context.Context, api *client.API, boot bootstrap.File, id string, l *ledger) error {
	var sp servicePrincipal
	if err := api.Do(ctx, http.MethodPost, boot.ManagementEndpoint+adminPath+"/servicePrincipals/"+id+"/resetSecret", nil, &sp); err != nil {
		return err
	}
	if sp.ClientID != id || sp.ClientSecret == "" {
		return fmt.Errorf("reset %s: answer lacks client id or secret", id)
	}
	l.reset(id, sp.ClientSecret)
	return nil
}

func deleteSP(ctx context.Context, api *client.API, boot bootstrap.File, id string, l *ledger) error {
	if err := api.Do(ctx, http.MethodDelete, boot.ManagementEndpoint+adminPath+"/servicePrincipals/"+id, nil, nil); err != nil {
		return err
	}
	l.removed(id)
	return nil
}

// writeUntilKilled runs one writer per owned principal. Each writes without
// pause: create, create, reset the secret of its own principal, delete the
// principal it created last. Once killAfter writes were acknowledged the
// server gets SIGKILL, with the other writers' requests in flight. It
// returns when every writer has seen the server die.
func writeUntilKilled(t *testing.T, p *proc, api *client.API, boot bootstrap.File, owned []string, l *ledger) {
	t.Helper()
	const killAfter = 40
	var (
		acked   atomic.Int64
		killed  atomic.Bool
		enough  = make(chan struct{})
		stopped = make(chan struct{})
		wg      sync.WaitGroup
	)
	ctx := t.Context()
	for w, own := range owned {
		wg.Go(func() {
			var mine []string // principals this writer created and has not deleted
			for i := 0; ; i++ {
				var (
					target string // the existing principal the write touches
					err    error
				)
				switch {
				case i%4 == 2:
					target = own
					err = resetSP(ctx, api, boot, own, l)
				case i%4 == 3 && len(mine) > 0:
					target = mine[len(mine)-1]
					mine = mine[:len(mine)-1]
					err = deleteSP(ctx, api, boot, target, l)
				default:
					var id string
					id, err = createSP(ctx, api, boot, fmt.Sprintf("inflight-%d-%d", w, i), l)
					mine = append(mine, id)
				}
				var apiErr *client.APIError
				switch {
				case err == nil:
					if acked.Add(1) == killAfter {
						close(enough)
					}
					continue
				case killed.Load() && !errors.As(err, &apiErr):
					// No answer: the request died with the server.
					if target != "" {
						l.inFlight(target)
					}
				default:
					t.Errorf("writer %d before the kill: %v", w, err)
				}
				return
			}
		})
	}
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-enough:
	case <-stopped:
		t.Fatalf("the writers stopped after %d acknowledged writes, before the kill", acked.Load())
	}
	killed.Store(true) // before the kill, so that every failure it causes is seen as such
	p.kill()
	<-stopped
	t.Logf("kill -9 after %d acknowledged concurrent writes: %d principals created, %d deleted, %d reset; %d writes cut off",
		acked.Load(), len(l.live)+len(l.deleted), len(l.deleted), len(l.replaced), len(l.unsure))
}

// checkLedger checks, after the restart, that every acknowledged write
// holds: created principals are listed and sign in with their secret,
// deleted ones are gone and refused, and replaced secrets stay replaced.
func checkLedger(t *testing.T, hc *http.Client, boot bootstrap.File, api *client.API, l *ledger) {
	t.Helper()
	ctx := t.Context()
	tc := tokenClient(hc, boot)
	listed := listSPs(t, api, boot)
	for id, secret := range l.live {
		if l.unsure[id] {
			continue // a reset or delete of it may have committed unacknowledged
		}
		if _, ok := listed[id]; !ok {
			t.Errorf("acknowledged service principal %s is lost", id)
			continue
		}
		if _, err := tc.ClientCredentials(ctx, id, sensitive.New(secret), boot.ManagementAudience); err != nil {
			t.Errorf("service principal %s cannot sign in with its acknowledged secret: %v", id, err)
		}
	}
	for id, secret := range l.deleted {
		if _, ok := listed[id]; ok {
			t.Errorf("deleted service principal %s is back", id)
		}
		if _, err := tc.ClientCredentials(ctx, id, sensitive.New(secret), boot.ManagementAudience); !refusedClient(err) {
			t.Errorf("deleted service principal %s: sign-in gave %v, want invalid_client", id, err)
		}
	}
	for id, old := range l.replaced {
		for i, secret := range old {
			if _, err := tc.ClientCredentials(ctx, id, sensitive.New(secret), boot.ManagementAudience); !refusedClient(err) {
				t.Errorf("service principal %s: secret %d, replaced by an acknowledged reset, gave %v, want invalid_client", id, i, err)
			}
		}
	}
}

// TestKill9 is DESIGN.md §7's promise, against SQLite and (when
// EDGEVAULT_TEST_POSTGRES_URL is set) PostgreSQL.
func TestKill9(t *testing.T) {
	tests := []struct {
		name        string
		databaseURL func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", postgresURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testKill9(t, tt.databaseURL(t)) })
	}
}

func testKill9(t *testing.T, databaseURL string) {
	ctx := t.Context()
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t), databaseURL: databaseURL}
	p := a.start(t)
	boot, hc := p.waitReady(t)
	bootBytes := readBootstrapBytes(t, a.dataDir)
	tc := tokenClient(hc, boot)
	bsp := boot.ServicePrincipal
	before := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience)
	api := adminAPI(hc, before)
	l := newLedger()

	// Acknowledged writes one at a time: a principal for each writer to
	// come, and a signing key rotation.
	owned := make([]string, 4)
	for i := range owned {
		id, err := createSP(ctx, api, boot, fmt.Sprintf("owned-%d", i), l)
		if err != nil {
			t.Fatal(err)
		}
		owned[i] = id
	}
	var rot struct {
		KID         string `json:"kid"`
		PreviousKID string `json:"previousKid"`
	}
	if err := api.Do(ctx, http.MethodPost, boot.ManagementEndpoint+adminPath+"/signingKeys/rotate", nil, &rot); err != nil {
		t.Fatal(err)
	}
	if rot.KID == "" || rot.PreviousKID != tokenKID(t, before) {
		t.Fatalf("rotation = %+v, want a new kid replacing %s", rot, tokenKID(t, before))
	}
	after := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience)
	if got := tokenKID(t, after); got != rot.KID {
		t.Fatalf("token after the rotation is signed by %s, want %s", got, rot.KID)
	}

	writeUntilKilled(t, p, api, boot, owned, l)

	// The lock on the data dir died with the process: the restart works.
	boot, hc = a.start(t).waitReady(t)
	if !bytes.Equal(readBootstrapBytes(t, a.dataDir), bootBytes) {
		t.Error("the restart changed bootstrap.json")
	}
	tc = tokenClient(hc, boot)
	fresh := spToken(t, tc, bsp.ClientID, bsp.ClientSecret, boot.ManagementAudience)
	if got := tokenKID(t, fresh); got != rot.KID {
		t.Errorf("after the restart tokens are signed by %s, want the rotated key %s", got, rot.KID)
	}
	checkLedger(t, hc, boot, adminAPI(hc, fresh), l)
	want := []string{rot.KID, rot.PreviousKID}
	slices.Sort(want)
	if diff := cmp.Diff(want, jwksKIDs(t, hc, boot)); diff != "" {
		t.Errorf("JWKS after the restart (-want +got):\n%s", diff)
	}
	for name, tok := range map[string]string{"before the rotation": before, "after the rotation": after} {
		if err := adminAPI(hc, tok).Do(ctx, http.MethodGet, boot.ManagementEndpoint+adminPath+"/servicePrincipals", nil, nil); err != nil {
			t.Errorf("token issued %s, before the kill: %v", name, err)
		}
	}
}

// TestDataDirLock: a second server on a data dir in use refuses to start,
// says why, and changes nothing; kill -9 of the first releases the lock.
func TestDataDirLock(t *testing.T) {
	a := serverArgs{dataDir: t.TempDir(), port: freePort(t)}
	first := a.start(t)
	_, hc := first.waitReady(t)
	bootBytes := readBootstrapBytes(t, a.dataDir)

	second := serverArgs{dataDir: a.dataDir, port: freePort(t)}.start(t)
	select {
	case <-second.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("a second server on the same data dir is still running:\n%s", second.output)
	}
	var exit *exec.ExitError
	if !errors.As(second.err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("second server: %v, want exit status 1", second.err)
	}
	msg := "data dir " + a.dataDir + " is in use by another edgevault server"
	if out := second.output.String(); !strings.Contains(out, msg) {
		t.Errorf("second server said:\n%s\nwant it to say %q", out, msg)
	}
	resp, err := hc.Get("https://management.localhost:" + strconv.Itoa(a.port) + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the first server stopped serving: %v", err)
	}
	resp.Body.Close()

	first.kill()
	a.start(t).waitReady(t)
	if !bytes.Equal(readBootstrapBytes(t, a.dataDir), bootBytes) {
		t.Error("bootstrap.json changed")
	}
}
