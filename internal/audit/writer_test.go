package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// TestDurable: a record acknowledged is in the store after the writer and
// the store are closed and the database opened again.
func TestDurable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.cfg(t)
		st := openStore(t, cfg)
		w, err := audit.New(audit.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		vault := vaultID("v1")
		const n = 100
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := w.Record(ctx, record(vault, i)); err != nil {
					t.Errorf("Record %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		st.Close()

		w2 := newWriter(t, audit.Config{Store: openStore(t, cfg)})
		got := all(t, w2, &vault)
		if len(got) != n {
			t.Fatalf("%d records after reopen, want %d", len(got), n)
		}
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.CorrelationID] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct records, want %d", len(seen), n)
		}
		if v, err := w2.Verify(ctx, vault); err != nil || v.Entries != n {
			t.Errorf("Verify = %+v, %v", v, err)
		}
	})
}

// TestRoundTrip: what List returns is the record as normalized.
func TestRoundTrip(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	vault := vaultID("v1")
	r := record(vault, 1)
	r.Properties.SecretProperties = &audit.SecretAttributes{Enabled: true, NotBefore: at, Expires: at.Add(time.Hour)}
	r.Time = time.Time{} // the writer's clock
	if err := w.Record(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := all(t, w, nil)
	if len(got) != 1 {
		t.Fatalf("%d entries", len(got))
	}
	if got[0].Time.IsZero() || time.Since(got[0].Time) > time.Minute {
		t.Errorf("Time = %v, want the writer's clock", got[0].Time)
	}
	r.Time = got[0].Time
	want, _ := audit.Normalize(r)
	if diff := cmp.Diff(want, got[0].Record, recordCmp); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestGroupCommit: records queued while a batch is being committed are
// committed together, in one transaction.
func TestGroupCommit(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	g := newGatedStore(st)
	obs := &batchSizes{}
	w := newWriter(t, audit.Config{Store: g, MaxWait: -1, Observer: obs})
	vault := vaultID("v1")
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Go(func() { errs <- w.Record(ctx, record(vault, 0)) })
	<-g.entered // the first batch is in flight
	for i := 1; i < n; i++ {
		wg.Go(func() { errs <- w.Record(ctx, record(vault, i)) })
	}
	waitFor(t, "63 queued records", func() bool { return w.Stats().Queued == n-1 })
	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := w.Stats()
	if s.Records != n || s.Batches != 2 || s.FailedBatches != 0 || s.Queued != 0 {
		t.Errorf("Stats = %+v, want %d records in 2 transactions", s, n)
	}
	if sizes, _ := obs.get(); !cmp.Equal(sizes, []int{1, n - 1}) {
		t.Errorf("observed batch sizes %v, want [1 %d]", sizes, n-1)
	}
	if v, err := w.Verify(ctx, vault); err != nil || v.Entries != n {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

// TestGroupCommitUnderLoad: many callers at once against real SQLite
// share transactions without any gate.
func TestGroupCommitUnderLoad(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	const callers, each = 32, 20
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				if err := w.Record(ctx, record(vaultID(fmt.Sprint("v", c%4)), c*each+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s := w.Stats()
	if s.Records != callers*each || s.Batches >= s.Records/2 {
		t.Errorf("Stats = %+v: %d records took %d transactions", s, s.Records, s.Batches)
	}
	t.Logf("%d records in %d transactions", s.Records, s.Batches)
}

// TestFailClosed: when a batch cannot be committed, every caller in it
// gets an Unavailable error and nothing of it is stored; the writer goes
// on with the next batch.
func TestFailClosed(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	g := newGatedStore(st)
	w := newWriter(t, audit.Config{Store: g, MaxWait: -1})
	vault := vaultID("v1")
	injected := errors.New("disk on fire")
	first := make(chan error, 1)
	go func() { first <- w.Record(ctx, record(vault, 0)) }()
	<-g.entered
	const n = 10
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		go func() { errs <- w.Record(ctx, record(vault, i)) }()
	}
	waitFor(t, "queued records", func() bool { return w.Stats().Queued == n })
	g.setFail(injected) // the first batch fails too
	close(g.release)
	for i := range n + 1 {
		var err error
		if i < n {
			err = <-errs
		} else {
			err = <-first
		}
		if !errors.Is(err, injected) || errkind.KindOf(err) != errkind.Unavailable {
			t.Errorf("waiter %d: err = %v (kind %v), want the injected error as Unavailable", i, err, errkind.KindOf(err))
		}
	}
	if got := all(t, w, nil); len(got) != 0 {
		t.Errorf("%d records stored from failed batches", len(got))
	}
	if s := w.Stats(); s.FailedBatches != 2 || s.FailedRecords != n+1 || s.Records != 0 {
		t.Errorf("Stats = %+v", s)
	}
	g.setFail(nil)
	if err := w.Record(ctx, record(vault, 99)); err != nil {
		t.Fatalf("after the failure: %v", err)
	}
	if v, err := w.Verify(ctx, vault); err != nil || v.Entries != 1 {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

// TestFailClosedMidTransaction: a batch failing inside the store's
// transaction, after some records were written, leaves none of them.
func TestFailClosedMidTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := openStore(t, b.cfg(t))
		g := newGatedStore(st)
		w := newWriter(t, audit.Config{Store: g, MaxWait: -1})
		a, z := vaultID("a-vault"), vaultID("z-vault")
		db, _ := st.JobsDB()
		// A forged row takes z-vault's first sequence number, so the
		// insert fails after a-vault's head has moved in the transaction.
		forge(t, db, z, 1)
		go func() { _ = w.Record(ctx, record(a, 0)) }()
		<-g.entered
		errs := make(chan error, 3)
		for i, v := range []resource.ID{a, a, z} {
			go func() { errs <- w.Record(ctx, record(v, i+1)) }()
		}
		waitFor(t, "queued records", func() bool { return w.Stats().Queued == 3 })
		close(g.release)
		for range 3 {
			if err := <-errs; errkind.KindOf(err) != errkind.Unavailable {
				t.Errorf("err = %v, want Unavailable", err)
			}
		}
		entries := all(t, w, &a)
		if len(entries) != 1 || entries[0].CorrelationID != "0" {
			t.Errorf("a-vault holds %d entries, want only the first batch's", len(entries))
		}
		if v, err := w.Verify(ctx, a); err != nil || v.Entries != 1 {
			t.Errorf("Verify = %+v, %v", v, err)
		}
	})
}

// TestCancelledWaiter: a caller giving up does not cost the others their
// records.
func TestCancelledWaiter(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	g := newGatedStore(st)
	w := newWriter(t, audit.Config{Store: g, MaxWait: -1})
	vault := vaultID("v1")
	go func() { _ = w.Record(ctx, record(vault, 0)) }()
	<-g.entered
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- w.Record(cctx, record(vault, 1)) }()
	others := make(chan error, 3)
	for i := 2; i < 5; i++ {
		go func() { others <- w.Record(ctx, record(vault, i)) }()
	}
	waitFor(t, "queued records", func() bool { return w.Stats().Queued == 4 })
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(g.release)
	for range 3 {
		if err := <-others; err != nil {
			t.Errorf("other waiter: %v", err)
		}
	}
	// The cancelled record was queued already: it is written (an audit
	// record too many is the safe side).
	if v, err := w.Verify(ctx, vault); err != nil || v.Entries != 5 {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

// TestBoundedQueue: with the queue full, Record waits for room until its
// context ends.
func TestBoundedQueue(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	g := newGatedStore(st)
	w := newWriter(t, audit.Config{Store: g, MaxWait: -1, QueueSize: 2})
	vault := vaultID("v1")
	done := make(chan error, 3)
	go func() { done <- w.Record(ctx, record(vault, 0)) }()
	<-g.entered
	for i := 1; i <= 2; i++ {
		go func() { done <- w.Record(ctx, record(vault, i)) }()
	}
	waitFor(t, "a full queue", func() bool { return w.Stats().Queued == 2 })
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Record(cctx, record(vault, 3)); !errors.Is(err, context.Canceled) {
		t.Errorf("Record on a full queue = %v, want context.Canceled", err)
	}
	close(g.release)
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestCloseFlushes: Close commits what is queued before it returns, and
// later records are refused.
func TestCloseFlushes(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	g := newGatedStore(st)
	w, err := audit.New(audit.Config{Store: g, MaxWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	vault := vaultID("v1")
	done := make(chan error, 4)
	go func() { done <- w.Record(ctx, record(vault, 0)) }()
	<-g.entered
	for i := 1; i < 4; i++ {
		go func() { done <- w.Record(ctx, record(vault, i)) }()
	}
	waitFor(t, "queued records", func() bool { return w.Stats().Queued == 3 })

	// While the store is held, Close gives up with its context.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := w.Close(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with the store held = %v", err)
	}
	err = w.Record(ctx, record(vault, 9))
	if !errors.Is(err, audit.ErrClosed) || errkind.KindOf(err) != errkind.Unavailable {
		t.Errorf("Record after Close = %v", err)
	}
	close(g.release)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Errorf("queued record: %v", err)
		}
	}
	r := newWriter(t, audit.Config{Store: st})
	if v, err := r.Verify(ctx, vault); err != nil || v.Entries != 4 {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

// TestOrderPerVault: each caller's records appear in its vault's chain in
// the order it made them, however callers and vaults interleave.
func TestOrderPerVault(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	vaults := []resource.ID{vaultID("v1"), vaultID("v2")}
	const callers, each = 8, 25
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				r := record(vaults[i%2], i)
				r.CorrelationID = fmt.Sprintf("%d/%d", c, i)
				if err := w.Record(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, v := range vaults {
		last := map[string]int{}
		entries := all(t, w, &v)
		for i, e := range entries {
			if e.Seq != int64(i+1) {
				t.Fatalf("%s: entry %d has seq %d", v.Name(), i, e.Seq)
			}
			caller, n, _ := cut(e.CorrelationID)
			if prev, ok := last[caller]; ok && n <= prev {
				t.Errorf("%s: caller %s's record %d after %d", v.Name(), caller, n, prev)
			}
			last[caller] = n
		}
		if want := map[string]int{"v1": callers * 13, "v2": callers * 12}[v.Name()]; len(entries) != want {
			t.Errorf("%s: %d entries, want %d", v.Name(), len(entries), want)
		}
	}
}

// cut splits "caller/n".
func cut(s string) (string, int, bool) {
	caller, num, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	return caller, n, ok && err == nil
}

// TestInvalidRecord: a record no request could produce is refused before
// it can fail a batch.
func TestInvalidRecord(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	for name, r := range map[string]audit.Record{
		"no operation":  {Time: at},
		"bad operation": {Time: at, OperationName: "Secret Get"},
		"ancient":       {Time: time.Unix(1, 0), OperationName: audit.SecretGet},
		"bad status":    {Time: at, OperationName: audit.SecretGet, Properties: audit.Properties{HTTPStatusCode: 1000}},
	} {
		if err := w.Record(ctx, r); errkind.KindOf(err) != errkind.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	if s := w.Stats(); s.Batches+s.FailedBatches != 0 {
		t.Errorf("invalid records reached the store: %+v", s)
	}
}

func TestListFilterErrors(t *testing.T) {
	st := openStore(t, backends()[0].cfg(t))
	w := newWriter(t, audit.Config{Store: st})
	for _, f := range []audit.Filter{{Limit: -1}, {Limit: audit.MaxLimit + 1}, {From: at, To: at}} {
		if _, err := w.List(ctx, f); errkind.KindOf(err) != errkind.Invalid {
			t.Errorf("List(%+v) = %v, want Invalid", f, err)
		}
	}
	// The caller filter matches object ids case-insensitively, as stored.
	if err := w.Record(ctx, record(vaultID("v1"), 1)); err != nil {
		t.Fatal(err)
	}
	got, err := w.List(ctx, audit.Filter{CallerObjectID: "0B7A2C4E-0000-4000-8000-00000000000A"})
	if err != nil || len(got) != 1 {
		t.Errorf("List by upper-case object id = %d entries, %v", len(got), err)
	}
}

func TestNewRequiresStore(t *testing.T) {
	if _, err := audit.New(audit.Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := audit.New(audit.Config{Store: newGatedStore(nil), QueueSize: -1}); err == nil {
		t.Error("New with a negative queue size succeeded")
	}
}
