package storetest

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
)

func init() {
	register("Operations", testOperations)
	register("OperationJobAtomic", testOperationJobAtomic)
}

// fakeJobs stands in for the job queue: it checks that it is handed the
// transaction that inserted the operation, and can fail.
type fakeJobs struct {
	fail     error
	inserted []jobs.Job
}

type fakeArgs struct{ OperationID string }

func (fakeArgs) Kind() string { return "fake" }

func (f *fakeJobs) InsertTx(ctx context.Context, tx *sql.Tx, j jobs.Job) (int64, error) {
	var n int
	// The row is visible only inside the inserting transaction.
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM operations WHERE id = $1`,
		j.Args.(fakeArgs).OperationID).Scan(&n); err != nil || n != 1 {
		return 0, errors.New("job inserted outside the operation's transaction")
	}
	if f.fail != nil {
		return 0, f.fail
	}
	f.inserted = append(f.inserted, j)
	return int64(len(f.inserted)), nil
}

func sampleOperation() operation.Operation {
	sub := principal.NewID()
	return operation.Operation{
		ID: principal.NewID(), SubscriptionID: sub, Kind: "resourceGroups/delete",
		ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg1", PrincipalID: principal.NewID(),
		Status: operation.InProgress, Input: []byte(`{"force":true}`), StartedAt: at,
	}
}

func testOperations(t *testing.T, open Opener) {
	s := open(t)
	q := &fakeJobs{}
	ops := s.Operations(q)
	op := sampleOperation()
	if err := ops.CreateOperation(ctx, op, jobs.Job{Args: fakeArgs{op.ID}}); err != nil {
		t.Fatal(err)
	}
	if len(q.inserted) != 1 {
		t.Fatalf("jobs inserted = %d, want 1", len(q.inserted))
	}
	got, err := ops.Operation(ctx, op.ID)
	if err != nil || !cmp.Equal(got, op) {
		t.Fatalf("Operation = %v; diff %s", err, cmp.Diff(op, got))
	}
	wantKind(t, ops.CreateOperation(ctx, op, jobs.Job{Args: fakeArgs{op.ID}}), errkind.Conflict)
	_, err = ops.Operation(ctx, principal.NewID())
	wantKind(t, err, errkind.NotFound)
	_, _, err = ops.ClaimOperation(ctx, principal.NewID())
	wantKind(t, err, errkind.NotFound)

	// Each claim raises the epoch; only the latest epoch may write.
	for want := 1; want <= 2; want++ {
		got, claimed, err := ops.ClaimOperation(ctx, op.ID)
		if err != nil || !claimed || got.Epoch != want {
			t.Fatalf("claim %d: epoch %d, claimed %v, %v", want, got.Epoch, claimed, err)
		}
	}
	if err := ops.CheckpointOperation(ctx, op.ID, 1, "stale", 10); !errors.Is(err, operation.ErrSuperseded) {
		t.Errorf("checkpoint at a stale epoch: %v, want ErrSuperseded", err)
	}
	if err := ops.CheckpointOperation(ctx, op.ID, 2, "vaultCreated", 40); err != nil {
		t.Fatal(err)
	}
	got, _ = ops.Operation(ctx, op.ID)
	if got.Step != "vaultCreated" || got.PercentComplete != 40 || got.Status != operation.InProgress {
		t.Errorf("after checkpoint: step %q, percent %d, status %s", got.Step, got.PercentComplete, got.Status)
	}

	done := got
	done.Status, done.PercentComplete, done.EndedAt = operation.Succeeded, 100, at.Add(1500)
	done.Result = &operation.Result{Status: 200, Body: []byte(`{"name":"rg1"}`)}
	if ok, err := ops.FinishOperation(ctx, done, 1); err != nil || ok {
		t.Errorf("finish at a stale epoch = %v, %v; want false", ok, err)
	}
	inProgress := done
	inProgress.Status = operation.InProgress
	_, err = ops.FinishOperation(ctx, inProgress, 2)
	wantKind(t, err, errkind.Internal)
	if ok, err := ops.FinishOperation(ctx, done, 2); err != nil || !ok {
		t.Fatalf("finish = %v, %v; want true", ok, err)
	}
	// The terminal status is written once.
	failed := done
	failed.Status, failed.Error = operation.Failed, &operation.ErrorInfo{Code: "Conflict", Message: "late"}
	if ok, err := ops.FinishOperation(ctx, failed, 2); err != nil || ok {
		t.Errorf("second finish = %v, %v; want false", ok, err)
	}
	if err := ops.CheckpointOperation(ctx, op.ID, 2, "late", 50); !errors.Is(err, operation.ErrSuperseded) {
		t.Errorf("checkpoint after the end: %v, want ErrSuperseded", err)
	}
	got, err = ops.Operation(ctx, op.ID)
	if err != nil || !cmp.Equal(got, done) {
		t.Errorf("finished operation: %v; diff %s", err, cmp.Diff(done, got))
	}
	got, claimed, err := ops.ClaimOperation(ctx, op.ID)
	if err != nil || claimed || !cmp.Equal(got, done) {
		t.Errorf("claim of an ended operation: claimed %v, %v; diff %s", claimed, err, cmp.Diff(done, got))
	}

	// A failure keeps its error and status; an empty body stays empty.
	op2 := sampleOperation()
	op2.Input = nil
	if err := ops.CreateOperation(ctx, op2, jobs.Job{Args: fakeArgs{op2.ID}}); err != nil {
		t.Fatal(err)
	}
	claimedOp, _, _ := ops.ClaimOperation(ctx, op2.ID)
	claimedOp.Status, claimedOp.EndedAt = operation.Failed, at.Add(2000)
	claimedOp.Error = &operation.ErrorInfo{Code: "ScopeLocked", Message: "The scope is locked."}
	claimedOp.Result = &operation.Result{Status: 409}
	if ok, err := ops.FinishOperation(ctx, claimedOp, claimedOp.Epoch); err != nil || !ok {
		t.Fatalf("finish failed operation = %v, %v", ok, err)
	}
	got, err = ops.Operation(ctx, op2.ID)
	if err != nil || !cmp.Equal(got, claimedOp) {
		t.Errorf("failed operation: %v; diff %s", err, cmp.Diff(claimedOp, got))
	}
}

// testOperationJobAtomic checks that an operation is not stored when its
// job cannot be.
func testOperationJobAtomic(t *testing.T, open Opener) {
	s := open(t)
	q := &fakeJobs{fail: errkind.E(errkind.Unavailable, "queue down")}
	ops := s.Operations(q)
	op := sampleOperation()
	wantKind(t, ops.CreateOperation(ctx, op, jobs.Job{Args: fakeArgs{op.ID}}), errkind.Unavailable)
	_, err := ops.Operation(ctx, op.ID)
	wantKind(t, err, errkind.NotFound)
}
