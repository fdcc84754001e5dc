package operation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
)

const wait = 20 * time.Second

func startReq(kind string, input any) operation.StartRequest {
	sub := principal.NewID()
	return operation.StartRequest{Kind: kind, SubscriptionID: sub,
		ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg1", PrincipalID: principal.NewID(), Input: input}
}

type echoInput struct{ Name string }

func TestOutcomes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newReplica(t, b.cfg(t), replicaOpts{handlers: map[string]operation.Handler{
			"test/echo": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
				var in echoInput
				if err := op.DecodeInput(&in); err != nil {
					return operation.Result{}, err
				}
				return operation.Result{Status: 200, Body: fmt.Appendf(nil, `{"name":%q}`, in.Name)}, nil
			},
			"test/empty": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				return operation.Result{Status: 204}, nil
			},
			"test/conflict": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				return operation.Result{}, errkind.E(errkind.Conflict, "rg1 is in use")
			},
			"test/panic": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				panic("handler bug")
			},
			"test/badbody": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				return operation.Result{Status: 200, Body: []byte("{not json")}, nil
			},
		}})
		tests := []struct {
			kind   string
			input  any
			status operation.Status
			result *operation.Result
			err    *operation.ErrorInfo
		}{
			{"test/echo", echoInput{"rg1"}, operation.Succeeded, &operation.Result{Status: 200, Body: []byte(`{"name":"rg1"}`)}, nil},
			{"test/empty", nil, operation.Succeeded, &operation.Result{Status: 204}, nil},
			{"test/conflict", nil, operation.Failed, &operation.Result{Status: 409},
				&operation.ErrorInfo{Code: "Conflict", Message: "rg1 is in use"}},
			{"test/panic", nil, operation.Failed, &operation.Result{Status: 500},
				&operation.ErrorInfo{Code: "InternalServerError", Message: "An internal error occurred."}},
			{"test/badbody", nil, operation.Failed, &operation.Result{Status: 500},
				&operation.ErrorInfo{Code: "InternalServerError", Message: "An internal error occurred."}},
		}
		for _, tt := range tests {
			t.Run(tt.kind, func(t *testing.T) {
				req := startReq(tt.kind, tt.input)
				started, err := r.svc.Start(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if started.Status != operation.InProgress || started.ID == "" {
					t.Fatalf("Start = %+v", started)
				}
				got := waitEnded(t, r.svc, req.SubscriptionID, started.ID, wait)
				want := started
				want.Status, want.Result, want.Error, want.Epoch = tt.status, tt.result, tt.err, 1
				if tt.status == operation.Succeeded {
					want.PercentComplete = 100
				}
				if got.EndedAt.Before(got.StartedAt) {
					t.Errorf("EndedAt %v before StartedAt %v", got.EndedAt, got.StartedAt)
				}
				want.EndedAt = got.EndedAt
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("operation (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestStartAndGet(t *testing.T) {
	r := newReplica(t, backends()[0].cfg(t), replicaOpts{handlers: map[string]operation.Handler{
		"test/noop": noop,
	}})
	if _, err := r.svc.Start(ctx, startReq("test/unknown", nil)); errkind.KindOf(err) != errkind.Internal {
		t.Errorf("Start of an unregistered kind: %v, want Internal", err)
	}
	if _, err := r.svc.Start(ctx, startReq("test/noop", func() {})); errkind.KindOf(err) != errkind.Internal {
		t.Errorf("Start with unencodable input: %v, want Internal", err)
	}
	req := startReq("test/noop", nil)
	op, err := r.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Status URLs are subscription-scoped: another subscription's caller
	// cannot see the operation, nor tell it exists.
	if _, err := r.svc.Get(ctx, principal.NewID(), op.ID); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("Get from another subscription: %v, want NotFound", err)
	}
	if _, err := r.svc.Get(ctx, req.SubscriptionID, principal.NewID()); errkind.KindOf(err) != errkind.NotFound {
		t.Errorf("Get of an unknown id: %v, want NotFound", err)
	}
	waitEnded(t, r.svc, req.SubscriptionID, op.ID, wait)
}

func noop(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
	return operation.Result{Status: 200}, nil
}

// TestRetries: transient errors are retried with backoff, bounded; other
// errors are not.
func TestRetries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var flaky, down atomic.Int32
		r := newReplica(t, b.cfg(t), replicaOpts{maxAttempts: 3, handlers: map[string]operation.Handler{
			"test/flaky": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				if flaky.Add(1) < 3 {
					return operation.Result{}, errkind.E(errkind.Unavailable, "database busy")
				}
				return operation.Result{Status: 200}, nil
			},
			"test/down": func(context.Context, operation.Operation, *operation.Progress) (operation.Result, error) {
				down.Add(1)
				return operation.Result{}, errkind.E(errkind.Unavailable, "still down")
			},
		}})
		req := startReq("test/flaky", nil)
		op, err := r.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got := waitEnded(t, r.svc, req.SubscriptionID, op.ID, wait)
		if got.Status != operation.Succeeded || flaky.Load() != 3 || got.Epoch != 3 {
			t.Errorf("flaky: %s after %d runs (epoch %d), want Succeeded after 3", got.Status, flaky.Load(), got.Epoch)
		}
		req = startReq("test/down", nil)
		op, err = r.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = waitEnded(t, r.svc, req.SubscriptionID, op.ID, wait)
		want := &operation.ErrorInfo{Code: "ServiceUnavailable", Message: "still down"}
		if got.Status != operation.Failed || down.Load() != 3 || !cmp.Equal(got.Error, want) {
			t.Errorf("down: %s %+v after %d runs, want Failed %+v after 3", got.Status, got.Error, down.Load(), want)
		}
	})
}

// TestCheckpoints: a retried operation resumes after its last checkpoint.
func TestCheckpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		var ran []string
		step := func(name string, fail *bool) operation.Step {
			return operation.Step{Name: name, Percent: 40, Do: func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				ran = append(ran, name)
				if fail != nil && *fail {
					*fail = false
					return errkind.E(errkind.Unavailable, "lost the database mid-step")
				}
				return nil
			}}
		}
		failB := true
		var seen []string
		r := newReplica(t, b.cfg(t), replicaOpts{handlers: map[string]operation.Handler{
			"test/steps": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
				mu.Lock()
				seen = append(seen, p.Step())
				mu.Unlock()
				err := p.RunSteps(ctx, []operation.Step{step("a", nil), step("b", &failB), step("c", nil)})
				return operation.Result{Status: 200}, err
			},
		}})
		req := startReq("test/steps", nil)
		op, err := r.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got := waitEnded(t, r.svc, req.SubscriptionID, op.ID, wait)
		if got.Status != operation.Succeeded || got.Step != "c" {
			t.Errorf("operation %s at step %q, want Succeeded at c", got.Status, got.Step)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"a", "b", "b", "c"}; !cmp.Equal(ran, want) {
			t.Errorf("steps run %v, want %v", ran, want)
		}
		if want := []string{"", "a"}; !cmp.Equal(seen, want) {
			t.Errorf("attempts started at checkpoints %q, want %q", seen, want)
		}
	})
}

// TestShutdownResume: a server stopping mid-operation hands it back, and
// the next one (after a restart, or another replica) finishes it.
func TestShutdownResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.cfg(t)
		entered := make(chan struct{})
		a := newReplica(t, cfg, replicaOpts{handlers: map[string]operation.Handler{
			"test/slow": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
				if err := p.Checkpoint(ctx, "begun", 10); err != nil {
					return operation.Result{}, err
				}
				close(entered)
				<-ctx.Done() // works until the server stops
				return operation.Result{}, ctx.Err()
			},
		}})
		req := startReq("test/slow", nil)
		op, err := a.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		<-entered
		stopped, cancel := context.WithCancel(ctx)
		cancel() // no grace: cancel the running handler at once
		if err := a.q.Stop(stopped); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if got, _ := a.svc.Get(ctx, req.SubscriptionID, op.ID); got.Status != operation.InProgress {
			t.Fatalf("after shutdown: %s, want InProgress", got.Status)
		}
		var resumedAt atomic.Value
		bb := newReplica(t, cfg, replicaOpts{handlers: map[string]operation.Handler{
			"test/slow": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
				resumedAt.Store(p.Step())
				return operation.Result{Status: 200}, nil
			},
		}})
		got := waitEnded(t, bb.svc, req.SubscriptionID, op.ID, wait)
		if got.Status != operation.Succeeded || resumedAt.Load() != "begun" || got.Epoch != 2 {
			t.Errorf("resumed: %s, from step %v, epoch %d; want Succeeded from \"begun\" at epoch 2",
				got.Status, resumedAt.Load(), got.Epoch)
		}
	})
}

// TestCrashResume: a server that dies or hangs mid-operation leaves its
// job "running"; River's rescuer, on whichever replica leads next, takes it
// for abandoned once it has run longer than RescueAfter, and the operation
// completes there. If the first server was only hung and wakes up, fencing
// discards what it then tries to write.
func TestCrashResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.cfg(t)
		entered := make(chan struct{})
		release := make(chan struct{})
		// The stuck server's clock runs an hour behind: its attempt, and
		// its leadership lease, look an hour old to the next server, which
		// stands in for waiting out RescueAfter and the lease. Its one
		// worker is the stuck one, so it fetches nothing more.
		a := newReplica(t, cfg, replicaOpts{
			jobs: jobs.Config{Now: func() time.Time { return time.Now().Add(-time.Hour) }, Concurrency: 1},
			handlers: map[string]operation.Handler{
				"test/stuck": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
					if err := p.Checkpoint(ctx, "one", 50); err != nil {
						return operation.Result{}, err
					}
					close(entered)
					<-release // hung, deaf to its context
					if err := p.Checkpoint(ctx, "two", 90); !errors.Is(err, operation.ErrSuperseded) {
						t.Errorf("stale checkpoint: %v, want ErrSuperseded", err)
					}
					return operation.Result{Status: 200, Body: []byte(`"stale"`)}, nil
				},
			},
		})
		req := startReq("test/stuck", nil)
		op, err := a.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		<-entered

		var runs atomic.Int32
		bb := newReplica(t, cfg, replicaOpts{handlers: map[string]operation.Handler{ // production timeouts
			"test/stuck": func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
				runs.Add(1)
				if p.Step() != "one" {
					t.Errorf("resumed at step %q, want \"one\"", p.Step())
				}
				return operation.Result{Status: 200, Body: []byte(`"fresh"`)}, nil
			},
		}})
		got := waitEnded(t, bb.svc, req.SubscriptionID, op.ID, wait)
		if got.Status != operation.Succeeded || runs.Load() != 1 || got.Epoch != 2 {
			t.Fatalf("after the rescue: %s after %d runs, epoch %d; want Succeeded after 1, epoch 2",
				got.Status, runs.Load(), got.Epoch)
		}
		// The first server wakes up and finishes its attempt; Stop waits
		// for it. Nothing it wrote may show.
		close(release)
		if err := a.q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := bb.svc.Get(ctx, req.SubscriptionID, op.ID)
		if err != nil || !cmp.Equal(after, got) {
			t.Errorf("the stale attempt changed the operation: %v; diff %s", err, cmp.Diff(got, after))
		}
	})
}

// TestReplicasRunOnce: two replicas on one PostgreSQL database run each
// operation exactly once.
func TestReplicasRunOnce(t *testing.T) {
	bs := backends()
	if len(bs) < 2 {
		t.Skip("EDGEVAULT_TEST_POSTGRES_URL not set")
	}
	cfg := bs[1].cfg(t)
	var mu sync.Mutex
	runs := map[string][]int{} // operation → replica of each run
	handler := func(replica int) operation.Handler {
		return func(ctx context.Context, op operation.Operation, p *operation.Progress) (operation.Result, error) {
			mu.Lock()
			runs[op.ID] = append(runs[op.ID], replica)
			mu.Unlock()
			return operation.Result{Status: 200}, nil
		}
	}
	replicas := []*replica{
		newReplica(t, cfg, replicaOpts{handlers: map[string]operation.Handler{"test/once": handler(0)}}),
		newReplica(t, cfg, replicaOpts{handlers: map[string]operation.Handler{"test/once": handler(1)}}),
	}
	const n = 40
	req := startReq("test/once", nil)
	ids := make([]string, n)
	for i := range n {
		op, err := replicas[i%2].svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = op.ID
	}
	perReplica := [2]int{}
	for _, id := range ids {
		if got := waitEnded(t, replicas[0].svc, req.SubscriptionID, id, wait); got.Status != operation.Succeeded {
			t.Errorf("%s: %s", id, got.Status)
		}
		mu.Lock()
		if len(runs[id]) != 1 {
			t.Errorf("operation %s ran %d times (replicas %v), want once", id, len(runs[id]), runs[id])
		} else {
			perReplica[runs[id][0]]++
		}
		mu.Unlock()
	}
	t.Logf("runs per replica: %v", perReplica)
}
