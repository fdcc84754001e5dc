package auditexport_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/auditexport"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/storageaccount"
)

func TestBlobName(t *testing.T) {
	id, err := resource.Parse("/subscriptions/0b7a2c4e-0000-4000-8000-000000000001/resourceGroups/Edge-RG/providers/Microsoft.KeyVault/vaults/My-Vault")
	if err != nil {
		t.Fatal(err)
	}
	got := auditexport.BlobName(id, time.Date(2026, 3, 4, 5, 59, 59, 0, time.FixedZone("x", 3600)))
	want := "resourceId=/SUBSCRIPTIONS/0B7A2C4E-0000-4000-8000-000000000001/RESOURCEGROUPS/EDGE-RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/MY-VAULT/y=2026/m=03/d=04/h=04/m=00/PT1H.json"
	if got != want {
		t.Fatalf("BlobName = %s\nwant       %s", got, want)
	}
}

// TestDelivery: records from the setting's creation on, and only those,
// arrive once, in order, in their hour's blob, rendered exactly as
// Render; a restarted exporter carries on from the cursor.
func TestDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vault, other := vaultID(e.sub, "v1"), vaultID(e.sub, "v2")
		acct := e.account(t, "auditlogs")
		created := at.Add(10 * time.Minute)
		for n := range 3 { // before the setting: never delivered
			e.record(t, vault, 100+n, at.Add(time.Duration(n)*time.Minute))
		}
		e.settings.set(auditexport.Setting{ID: "/x/diag1", ResourceID: vault, StorageAccountID: acct.ID, CreatedAt: created})
		for n := range 4 {
			e.record(t, vault, n, created.Add(time.Duration(n)*time.Minute))
		}
		e.record(t, other, 999, created) // no setting
		x := e.exporter(t, auditexport.Config{})
		if n, err := x.RunOnce(ctx); n != 4 || err != nil {
			t.Fatalf("RunOnce = %d, %v; want 4", n, err)
		}
		if n, err := x.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("second RunOnce = %d, %v; want 0", n, err)
		}
		// The next hour's records go to the next hour's blob; a new
		// exporter (a restart) resumes from the stored cursor.
		for n := 4; n < 6; n++ {
			e.record(t, vault, n, at.Add(time.Hour+time.Duration(n)*time.Second))
		}
		e.record(t, vault, 6, at.Add(50*time.Minute))
		x = e.exporter(t, auditexport.Config{})
		if n, err := x.RunOnce(ctx); n != 3 || err != nil {
			t.Fatalf("RunOnce after restart = %d, %v; want 3", n, err)
		}
		if d := cmp.Diff([]int{0, 1, 2, 3, 6}, e.lines(t, acct.ID, vault, at)); d != "" {
			t.Errorf("hour 01 (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]int{4, 5}, e.lines(t, acct.ID, vault, at.Add(time.Hour))); d != "" {
			t.Errorf("hour 02 (-want +got):\n%s", d)
		}
		if got := e.lines(t, acct.ID, other, created); got != nil {
			t.Errorf("a vault without a setting was exported: %v", got)
		}
		// Each line is Render of its entry.
		entries, err := e.w.List(ctx, audit.Filter{ResourceID: &vault, From: created, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		for _, en := range entries {
			if en.Time.Before(at.Add(time.Hour)) {
				b, _ := render(en)
				want.Write(append(b, '\n'))
			}
		}
		_, got, err := e.st.ReadBlob(ctx, acct.ID.Key(), auditexport.Container, auditexport.BlobName(vault, at), 0, 1<<20)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("blob = %v\n%s\nwant\n%s", err, got, want.Bytes())
		}
	})
}

// TestBatches: a batch holds BatchSize records, a pass MaxPerPass; the
// rest comes next pass, in order.
func TestBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vault := vaultID(e.sub, "v1")
		acct := e.account(t, "auditlogs")
		e.settings.set(auditexport.Setting{ID: "/x/diag1", ResourceID: vault, StorageAccountID: acct.ID, CreatedAt: at})
		for n := range 10 {
			e.record(t, vault, n, at.Add(time.Duration(n)*time.Second))
		}
		x := e.exporter(t, auditexport.Config{BatchSize: 3, MaxPerPass: 7})
		for i, want := range []int{7, 3, 0} {
			if n, err := x.RunOnce(ctx); n != want || err != nil {
				t.Fatalf("pass %d = %d, %v; want %d", i, n, err, want)
			}
		}
		if d := cmp.Diff(seq(0, 10), e.lines(t, acct.ID, vault, at)); d != "" {
			t.Errorf("blob (-want +got):\n%s", d)
		}
		props, _, err := e.st.ReadBlob(ctx, acct.ID.Key(), auditexport.Container, auditexport.BlobName(vault, at), 0, 0)
		if err != nil || props.Appends != 4 {
			t.Errorf("appends = %d, %v; want 4 (3+3+1, 3)", props.Appends, err)
		}
	})
}

// TestStops: removing the setting stops delivery; a deleted or deleting
// account is skipped without an error, including when it goes after the
// exporter checked it (the store's check); a re-created setting starts
// at its new creation.
func TestStops(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vault := vaultID(e.sub, "v1")
		acct := e.account(t, "auditlogs")
		s := auditexport.Setting{ID: "/x/diag1", ResourceID: vault, StorageAccountID: acct.ID, CreatedAt: at}
		e.settings.set(s)
		x := e.exporter(t, auditexport.Config{})
		e.record(t, vault, 0, at.Add(time.Second))
		if n, err := x.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}

		e.settings.set() // removed
		e.record(t, vault, 1, at.Add(2*time.Second))
		if n, err := x.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("RunOnce without setting = %d, %v", n, err)
		}
		// Re-created: record 1 was made while no setting existed.
		s.CreatedAt = at.Add(3 * time.Second)
		e.settings.set(s)
		e.record(t, vault, 2, at.Add(4*time.Second))
		if n, err := x.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce after re-creation = %d, %v", n, err)
		}

		// Deleting (the store's check: Exists says yes).
		blind := e.exporter(t, auditexport.Config{Accounts: alwaysAccounts{}})
		deleting := acct
		deleting.ProvisioningState, deleting.Version = storageaccount.Deleting, 2
		if err := e.st.UpdateAccount(ctx, deleting, 1); err != nil {
			t.Fatal(err)
		}
		e.record(t, vault, 3, at.Add(5*time.Second))
		for _, x := range []*auditexport.Exporter{x, blind} {
			if n, err := x.RunOnce(ctx); n != 0 || err != nil {
				t.Fatalf("RunOnce to a deleting account = %d, %v", n, err)
			}
		}
		if err := e.st.DeleteAccount(ctx, acct.UID); err != nil {
			t.Fatal(err)
		}
		for _, x := range []*auditexport.Exporter{x, blind} {
			if n, err := x.RunOnce(ctx); n != 0 || err != nil {
				t.Fatalf("RunOnce to a deleted account = %d, %v", n, err)
			}
		}
		if d := cmp.Diff([]int{0, 2}, e.lines(t, acct.ID, vault, at)); d != "" {
			t.Errorf("blob (-want +got):\n%s", d)
		}
	})
}

// TestReplicas: exporters racing on one database deliver every record
// exactly once, in order.
func TestReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vaults := []resource.ID{vaultID(e.sub, "v1"), vaultID(e.sub, "v2")}
		acct := e.account(t, "auditlogs")
		var settings []auditexport.Setting
		for _, v := range vaults {
			settings = append(settings, auditexport.Setting{ID: "/x/diag" + v.Name(), ResourceID: v, StorageAccountID: acct.ID, CreatedAt: at})
		}
		e.settings.set(settings...)
		const perVault = 60
		var (
			wg    sync.WaitGroup
			total [3]int
		)
		done := make(chan struct{})
		for r := range 3 {
			x := e.exporter(t, auditexport.Config{BatchSize: 7})
			wg.Go(func() {
				for {
					n, err := x.RunOnce(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					total[r] += n
					select {
					case <-done:
						if n == 0 {
							return
						}
					default:
					}
				}
			})
		}
		for n := range perVault {
			for _, v := range vaults {
				e.record(t, v, n, at.Add(time.Duration(n)*time.Second))
			}
		}
		close(done)
		wg.Wait()
		// One last pass: what the racers left after their final look.
		last, err := e.exporter(t, auditexport.Config{}).RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := total[0] + total[1] + total[2] + last; got != 2*perVault {
			t.Errorf("delivered %d (%v + %d), want %d", got, total, last, 2*perVault)
		}
		for _, v := range vaults {
			if d := cmp.Diff(seq(0, perVault), e.lines(t, acct.ID, v, at)); d != "" {
				t.Errorf("%s (-want +got):\n%s", v.Name(), d)
			}
		}
	})
}

// countingAccounts counts Exists calls: one per setting a pass looks at.
type countingAccounts struct {
	auditexport.Accounts
	calls atomic.Int64
}

func (c *countingAccounts) Exists(ctx context.Context, id resource.ID) (bool, error) {
	c.calls.Add(1)
	return c.Accounts.Exists(ctx, id)
}

// TestIdlePassesSkipped: once a pass found nothing to deliver, passes
// skip the per-setting reads until a record is written, a setting changes,
// or idleRecheck has passed — and then deliver as before.
func TestIdlePassesSkipped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vault := vaultID(e.sub, "v1")
		acct := e.account(t, "idlelogs")
		e.settings.set(auditexport.Setting{ID: "/x/idle", ResourceID: vault, StorageAccountID: acct.ID, CreatedAt: at})
		now := at.Add(2 * time.Hour)
		accounts := &countingAccounts{Accounts: storeAccounts{e.st}}
		x := e.exporter(t, auditexport.Config{Accounts: accounts, Now: func() time.Time { return now }})
		if n, err := x.RunOnce(ctx); n != 0 || err != nil || accounts.calls.Load() != 1 {
			t.Fatalf("first pass = %d, %v, %d lookups; want 0, nil, 1", n, err, accounts.calls.Load())
		}
		for range 3 {
			if n, err := x.RunOnce(ctx); n != 0 || err != nil {
				t.Fatal(n, err)
			}
		}
		if got := accounts.calls.Load(); got != 1 {
			t.Fatalf("idle passes looked at the settings %d more times, want none", got-1)
		}
		e.record(t, vault, 1, at.Add(time.Minute))
		if n, err := x.RunOnce(ctx); n != 1 || err != nil || accounts.calls.Load() != 2 {
			t.Fatalf("pass after a record = %d, %v, %d lookups; want 1, nil, 2", n, err, accounts.calls.Load())
		}
		x.RunOnce(ctx) // finds nothing: idle again
		now = now.Add(31 * time.Second)
		if _, err := x.RunOnce(ctx); err != nil || accounts.calls.Load() != 4 {
			t.Fatalf("after idleRecheck: %v, %d lookups; want a full pass", err, accounts.calls.Load())
		}
	})
}

// TestIdlePassesSkipVersionedSettings: with versioned settings, an idle
// pass reads only their version, not the settings; a new version (a
// setting changed) makes a full pass.
func TestIdlePassesSkipVersionedSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vault := vaultID(e.sub, "v1")
		acct := e.account(t, "versionedlogs")
		e.settings.set(auditexport.Setting{ID: "/x/versioned", ResourceID: vault, StorageAccountID: acct.ID, CreatedAt: at})
		vs := &versionedSettings{fakeSettings: e.settings, version: "1"}
		now := at.Add(2 * time.Hour)
		accounts := &countingAccounts{Accounts: storeAccounts{e.st}}
		x := e.exporter(t, auditexport.Config{Settings: vs, Accounts: accounts, Now: func() time.Time { return now }})
		if n, err := x.RunOnce(ctx); n != 0 || err != nil || vs.reads.Load() != 1 {
			t.Fatalf("first pass = %d, %v, %d reads of the settings; want 0, nil, 1", n, err, vs.reads.Load())
		}
		for range 3 {
			if _, err := x.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := vs.reads.Load(); got != 1 {
			t.Fatalf("idle passes read the settings %d more times, want none", got-1)
		}
		vs.fakeSettings.mu.Lock()
		vs.version = "2"
		vs.fakeSettings.mu.Unlock()
		if n, err := x.RunOnce(ctx); n != 0 || err != nil || vs.reads.Load() != 2 || accounts.calls.Load() != 2 {
			t.Fatalf("pass after a new version = %d, %v, %d reads, %d lookups; want 0, nil, 2, 2", n, err, vs.reads.Load(), accounts.calls.Load())
		}
		e.record(t, vault, 1, at.Add(time.Minute))
		if n, err := x.RunOnce(ctx); n != 1 || err != nil || vs.reads.Load() != 3 {
			t.Fatalf("pass after a record = %d, %v, %d reads; want 1, nil, 3", n, err, vs.reads.Load())
		}
	})
}
