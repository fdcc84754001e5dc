package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/operation"
)

// JobInserter inserts a job in the caller's transaction; *jobs.Queue is
// one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, j jobs.Job) (int64, error)
}

// Operations is the repository of long-running operations
// (operation.Store). It is bound to the job queue because an operation and
// its job are inserted in one transaction.
type Operations struct {
	s    *Store
	jobs JobInserter
}

// Operations returns the operation repository, inserting jobs through q.
func (s *Store) Operations(q JobInserter) *Operations { return &Operations{s: s, jobs: q} }

const operationColumns = `id, subscription_id, kind, resource_id, principal_id, status, percent, step, epoch,
	input, error, result, started_at, ended_at`

// storedError and storedResult are the JSON kept in the error and result
// columns: a storage format, not a wire shape.
type storedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type storedResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Sealed is a sensitive result's body, sealed by the operation
	// service; Body is then empty.
	Sealed []byte `json:"sealed,omitempty"`
}

// CreateOperation inserts op and its job in one transaction.
func (o *Operations) CreateOperation(ctx context.Context, op operation.Operation, job jobs.Job) error {
	errText, resultText, err := encodeOutcome(op)
	if err != nil {
		return err
	}
	return o.s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operations (`+operationColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			op.ID, op.SubscriptionID, op.Kind, op.ResourceID, op.PrincipalID, string(op.Status), op.PercentComplete,
			op.Step, op.Epoch, string(op.Input), errText, resultText, op.StartedAt.UnixNano(), ns(op.EndedAt))
		if err != nil {
			return o.s.wrap(err, "operation")
		}
		if _, err := o.jobs.InsertTx(ctx, tx, job); err != nil {
			return o.s.wrap(err, "operation job")
		}
		return nil
	})
}

// Operation returns an operation by id.
func (o *Operations) Operation(ctx context.Context, id string) (operation.Operation, error) {
	op, err := scanOperation(o.s.read.QueryRowContext(ctx,
		`SELECT `+operationColumns+` FROM operations WHERE id = $1`, id))
	return op, o.s.wrap(err, "operation")
}

// ClaimOperation raises an InProgress operation's epoch, in one statement,
// and returns it; a terminal one is returned unclaimed.
func (o *Operations) ClaimOperation(ctx context.Context, id string) (operation.Operation, bool, error) {
	op, err := scanOperation(o.s.write.QueryRowContext(ctx, `UPDATE operations SET epoch = epoch + 1
		WHERE id = $1 AND status = $2 RETURNING `+operationColumns, id, string(operation.InProgress)))
	if err == nil {
		return op, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return operation.Operation{}, false, o.s.wrap(err, "operation")
	}
	op, err = o.Operation(ctx, id)
	return op, false, err
}

// CheckpointOperation records a step if the operation is still InProgress
// at epoch.
func (o *Operations) CheckpointOperation(ctx context.Context, id string, epoch int, step string, percent int) error {
	res, err := o.s.write.ExecContext(ctx, `UPDATE operations SET step = $1, percent = $2
		WHERE id = $3 AND epoch = $4 AND status = $5`, step, percent, id, epoch, string(operation.InProgress))
	if err != nil {
		return o.s.wrap(err, "operation checkpoint")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return operation.ErrSuperseded
	}
	return nil
}

// FinishOperation writes op's outcome if the operation is still InProgress
// at epoch: the conditional update makes the terminal status write-once.
func (o *Operations) FinishOperation(ctx context.Context, op operation.Operation, epoch int) (bool, error) {
	if !op.Status.Terminal() {
		return false, errkind.E(errkind.Internal, "operation %s: %q is not a terminal status", op.ID, op.Status)
	}
	errText, resultText, err := encodeOutcome(op)
	if err != nil {
		return false, err
	}
	res, err := o.s.write.ExecContext(ctx, `UPDATE operations
		SET status = $1, percent = $2, error = $3, result = $4, ended_at = $5
		WHERE id = $6 AND epoch = $7 AND status = $8`,
		string(op.Status), op.PercentComplete, errText, resultText, ns(op.EndedAt), op.ID, epoch, string(operation.InProgress))
	if err != nil {
		return false, o.s.wrap(err, "operation")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// encodeOutcome returns the stored text of op's error and result ("" for
// none).
func encodeOutcome(op operation.Operation) (errText, resultText string, err error) {
	if op.Error != nil {
		b, _ := json.Marshal(storedError{Code: op.Error.Code, Message: op.Error.Message})
		errText = string(b)
	}
	if op.Result != nil {
		if len(op.Result.Body) > 0 && !json.Valid(op.Result.Body) {
			return "", "", errkind.E(errkind.Internal, "operation %s: result body is not JSON", op.ID)
		}
		b, _ := json.Marshal(storedResult{Status: op.Result.Status, Body: op.Result.Body, Sealed: op.Result.Sealed})
		resultText = string(b)
	}
	return errText, resultText, nil
}

func scanOperation(row interface{ Scan(...any) error }) (operation.Operation, error) {
	var (
		op                              operation.Operation
		status, input, errText, resText string
		started                         int64
		ended                           sql.NullInt64
	)
	err := row.Scan(&op.ID, &op.SubscriptionID, &op.Kind, &op.ResourceID, &op.PrincipalID, &status,
		&op.PercentComplete, &op.Step, &op.Epoch, &input, &errText, &resText, &started, &ended)
	if err != nil {
		return operation.Operation{}, err
	}
	op.Status = operation.Status(status)
	if input != "" {
		op.Input = []byte(input)
	}
	if errText != "" {
		var e storedError
		if err := json.Unmarshal([]byte(errText), &e); err != nil {
			return operation.Operation{}, errkind.Wrap(errkind.Internal, err, "stored operation error is unreadable")
		}
		op.Error = &operation.ErrorInfo{Code: e.Code, Message: e.Message}
	}
	if resText != "" {
		var r storedResult
		if err := json.Unmarshal([]byte(resText), &r); err != nil {
			return operation.Operation{}, errkind.Wrap(errkind.Internal, err, "stored operation result is unreadable")
		}
		op.Result = &operation.Result{Status: r.Status, Body: []byte(r.Body), Sealed: r.Sealed}
	}
	op.StartedAt = fromNS(sql.NullInt64{Int64: started, Valid: true})
	op.EndedAt = fromNS(ended)
	return op, nil
}
