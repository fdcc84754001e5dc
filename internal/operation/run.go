package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
)

// runArgs are the arguments of an operation's job: only its id, since the
// row holds the rest. The kind is stored in every job row: never rename it.
type runArgs struct {
	OperationID string
}

func (runArgs) Kind() string { return "operation" }

// finishTimeout bounds writing an attempt's outcome after the attempt's own
// context has ended (it may end just as the handler returns). It is kept
// well inside the gap between jobs.DefaultJobTimeout and
// jobs.DefaultRescueAfter, so the outcome is written before anyone may
// presume the attempt dead.
const finishTimeout = 10 * time.Second

// work is the job's work function: one attempt at an operation.
func (s *Service) work(ctx context.Context, r jobs.Run[runArgs]) error {
	op, claimed, err := s.store.ClaimOperation(ctx, r.Args.OperationID)
	switch {
	case errkind.KindOf(err) == errkind.NotFound:
		// Cannot happen while rows and jobs are created together and
		// only ended operations are deleted; nothing to run.
		s.log.ErrorContext(ctx, "operation job without operation", "operation", r.Args.OperationID, "job", r.ID)
		return jobs.Cancel(err)
	case err != nil:
		return err // retried
	case !claimed:
		return nil // already ended: a retry after the outcome was written
	}
	log := s.log.With("operation", op.ID, "kind", op.Kind, "attempt", r.Attempt, "epoch", op.Epoch)
	// The job has one attempt more than the handler has runs; see Start.
	last := r.Attempt >= r.MaxAttempts-1
	if r.Attempt >= r.MaxAttempts {
		return s.fail(ctx, log, op, errkind.E(errkind.Unavailable,
			"the operation did not complete after %d attempts", r.MaxAttempts-1))
	}
	h := s.handler(op.Kind)
	if h == nil {
		err := errkind.E(errkind.Internal, "no handler for operations of kind %q", op.Kind)
		if last {
			return s.fail(ctx, log, op, err)
		}
		// Perhaps a replica of another release: let another take it.
		log.WarnContext(ctx, "no handler for operation; retrying")
		return err
	}
	p := &Progress{s: s, id: op.ID, epoch: op.Epoch, step: op.Step, percent: op.PercentComplete}
	res, err := run(ctx, h, op, p)
	var later *rescheduleError
	switch {
	case err == nil:
		return s.succeed(ctx, log, op, res)
	case errors.Is(err, ErrSuperseded):
		// A newer attempt owns the operation, or it has ended. Returning
		// an error would schedule yet another attempt, which would take
		// over from the newer one in turn.
		log.WarnContext(ctx, "operation attempt superseded")
		return nil
	case errors.As(err, &later):
		return jobs.Snooze(later.after)
	case ctx.Err() == context.Canceled:
		// The server is stopping: hand the job back without counting an
		// attempt, to be resumed at once by another replica or by this
		// one when it restarts.
		log.InfoContext(ctx, "operation interrupted by shutdown")
		return jobs.Snooze(0)
	case (ctx.Err() != nil || errkind.KindOf(err) == errkind.Unavailable) && !last:
		// Out of time for this attempt, or a transient failure: retry
		// with backoff.
		log.WarnContext(ctx, "operation attempt failed; will retry", "err", err)
		return err
	}
	return s.fail(ctx, log, op, err)
}

// run calls the handler, turning a panic into an error.
func run(ctx context.Context, h Handler, op Operation, p *Progress) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, op, p)
}

type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// succeed records the handler's result.
func (s *Service) succeed(ctx context.Context, log *slog.Logger, op Operation, res Result) error {
	if len(res.Body) > 0 && !json.Valid(res.Body) {
		return s.fail(ctx, log, op, errkind.E(errkind.Internal, "operation %s produced an invalid response body", op.Kind))
	}
	if res.Sensitive {
		if s.sealer == nil {
			return s.fail(ctx, log, op, errkind.E(errkind.Internal, "operation %s produced a sensitive result and no sealer is configured", op.Kind))
		}
		sealed, err := s.sealer.Seal(ctx, sealScope, resultAAD(op.ID), res.Body)
		if err != nil {
			return err // retried: nothing was written
		}
		res = Result{Status: res.Status, Sensitive: true, Sealed: sealed}
	}
	op.Status, op.PercentComplete, op.Result = Succeeded, 100, &res
	return s.finish(ctx, log, op)
}

// fail records err as the reason op failed. The cause is logged here, once:
// there is no request to log it with.
func (s *Service) fail(ctx context.Context, log *slog.Logger, op Operation, err error) error {
	if pe, ok := errors.AsType[*panicError](err); ok {
		log.ErrorContext(ctx, "operation handler panicked", "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		err = errkind.Wrap(errkind.Internal, err, "the operation failed unexpectedly")
	} else {
		log.WarnContext(ctx, "operation failed", "err", err)
	}
	status, code, message := s.errorCode(err)
	op.Status, op.Error, op.Result = Failed, &ErrorInfo{Code: code, Message: message}, &Result{Status: status}
	return s.finish(ctx, log, op)
}

// finish writes op's outcome, once, and only if this attempt still owns it.
func (s *Service) finish(ctx context.Context, log *slog.Logger, op Operation) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	op.EndedAt = s.now().UTC()
	done, err := s.store.FinishOperation(ctx, op, op.Epoch)
	if err != nil {
		return err // retried: the handler runs again, idempotently
	}
	if !done {
		log.WarnContext(ctx, "operation outcome not recorded: superseded or already ended", "status", op.Status)
		return nil
	}
	log.InfoContext(ctx, "operation ended", "status", op.Status)
	return nil
}

// Reschedule returns an error that has the handler run again after d
// without counting an attempt: for an operation that waits on something
// outside (a device to push its secrets). The handler checkpoints before.
func Reschedule(after time.Duration) error { return &rescheduleError{after: max(after, 0)} }

type rescheduleError struct{ after time.Duration }

func (e *rescheduleError) Error() string { return fmt.Sprintf("operation rescheduled in %s", e.after) }

// Progress is a running handler's view of its checkpoints.
type Progress struct {
	s       *Service
	id      string
	epoch   int
	step    string
	percent int
}

// Step returns the last step checkpointed as done; "" before the first.
func (p *Progress) Step() string { return p.step }

// Checkpoint durably records step as done and the operation's percentage
// complete (0–99; 100 is for Succeeded). It returns ErrSuperseded if
// another attempt has taken the operation over: the handler must then stop
// at once and return that error.
func (p *Progress) Checkpoint(ctx context.Context, step string, percent int) error {
	percent = min(max(percent, 0), 99)
	if err := p.s.store.CheckpointOperation(ctx, p.id, p.epoch, step, percent); err != nil {
		return err
	}
	p.step, p.percent = step, percent
	return nil
}

// Step is one idempotent step of a multi-step operation.
type Step struct {
	Name    string // unique within the operation; recorded as its checkpoint
	Percent int    // the operation's percentage complete once it is done
	Do      func(ctx context.Context) error
}

// RunSteps runs steps in order, skipping those up to and including the
// last one checkpointed, and checkpoints after each: a retried operation
// resumes where the last attempt stopped. Each step must be idempotent,
// since an attempt may die after its effect and before its checkpoint.
func (p *Progress) RunSteps(ctx context.Context, steps []Step) error {
	start := 0
	if p.step != "" {
		i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == p.step })
		if i < 0 {
			return errkind.E(errkind.Internal, "operation checkpoint %q is not one of its steps", p.step)
		}
		start = i + 1
	}
	for _, st := range steps[start:] {
		if err := st.Do(ctx); err != nil {
			return err
		}
		if err := p.Checkpoint(ctx, st.Name, st.Percent); err != nil {
			return err
		}
	}
	return nil
}
