// Package operation owns long-running operations (ARM's asynchronous
// operations, edge-arm.md §3.5): an operation is a durable record of work
// that a request started and that a handler, run as a job on the durable
// queue (internal/jobs), finishes later, on whichever replica, after any
// number of crashes and restarts. Transports report its status; they never
// run it.
//
// Invariants:
//   - An operation and its job are created in one transaction: neither
//     exists without the other (Store.CreateOperation).
//   - Status moves from InProgress to exactly one terminal status
//     (Succeeded, Failed, Canceled), written once by a conditional update;
//     a terminal operation never changes again.
//   - Handlers run at least once and may run again after a crash, so they
//     are idempotent, and they checkpoint (Progress.Checkpoint) so a retry
//     resumes after the last step done (reliability.md §3).
//   - Each attempt takes the operation over by raising its epoch; the
//     writes of an attempt (checkpoints, the result) require its epoch, so
//     an attempt presumed dead that is in fact still running cannot
//     overwrite a newer one's work (fencing, reliability.md §3.2 rule 4).
package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/jobs"
	"github.com/edgevault/edgevault/internal/principal"
)

// Status is an operation's status; the values are ARM's wire values.
type Status string

const (
	InProgress Status = "InProgress"
	Succeeded  Status = "Succeeded"
	Failed     Status = "Failed"
	Canceled   Status = "Canceled"
)

// Terminal reports whether s is a final status.
func (s Status) Terminal() bool { return s == Succeeded || s == Failed || s == Canceled }

// Operation is one long-running operation.
type Operation struct {
	ID             string // GUID; the name of its status resource
	SubscriptionID string
	Kind           string // which handler runs it, e.g. "resourceGroups/delete"
	ResourceID     string // the resource it acts on
	PrincipalID    string // who started it
	Status         Status
	// PercentComplete is 0–100, as last checkpointed; 100 once Succeeded.
	PercentComplete int
	// Step is the last step the handler checkpointed as done; "" before
	// the first.
	Step string
	// Epoch is raised by every attempt that takes the operation over.
	Epoch int
	// Input is what the handler needs, as JSON; see DecodeInput.
	Input []byte
	// Error says why it failed; set exactly when Status is Failed or
	// Canceled.
	Error *ErrorInfo
	// Result is the final response, what the operation's Location URL
	// answers once it is done; nil while InProgress.
	Result    *Result
	StartedAt time.Time
	EndedAt   time.Time // zero while InProgress
}

// DecodeInput unmarshals the operation's input into v.
func (op Operation) DecodeInput(v any) error {
	if err := json.Unmarshal(op.Input, v); err != nil {
		return errkind.Wrap(errkind.Internal, err, "operation input is unreadable")
	}
	return nil
}

// ErrorInfo is why an operation failed, as the client sees it.
type ErrorInfo struct {
	Code    string // the wire error code, e.g. "ResourceGroupNotFound"
	Message string // safe for the client
}

// Result is an operation's final response. Status is the transport's
// status code (the domain chooses it no more than it chooses the body: the
// handler's transport-side builder or Config.ErrorCode does); Body is JSON,
// or empty for none.
type Result struct {
	Status int
	Body   []byte
	// Sensitive marks a body that holds a credential (an activation key):
	// it is sealed at rest (Config.Sealer) and the transport serves it
	// only to the operation's initiator.
	Sensitive bool
	// Sealed is the sealed body, as the Store keeps a Sensitive result;
	// Service.Get opens it back into Body.
	Sealed []byte
}

// Sealer encrypts sensitive results at rest (the envelope keyring).
type Sealer interface {
	Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error)
}

// sealScope is the key scope of sealed results.
const sealScope = "operation-results"

// resultAAD binds a sealed result to its operation.
func resultAAD(id string) []byte { return []byte("edgevault/operation-result/v1\x00" + id) }

// Store persists operations; store.Operations implements it.
type Store interface {
	// CreateOperation inserts op and, in the same transaction, the job
	// that runs it.
	CreateOperation(ctx context.Context, op Operation, job jobs.Job) error
	// Operation returns an operation by id (errkind.NotFound).
	Operation(ctx context.Context, id string) (Operation, error)
	// ClaimOperation raises the epoch of an InProgress operation and
	// returns it with the new epoch and claimed = true. For a terminal
	// operation it returns it unchanged with claimed = false.
	ClaimOperation(ctx context.Context, id string) (op Operation, claimed bool, err error)
	// CheckpointOperation records step and percent if the operation is
	// InProgress at epoch; otherwise it returns ErrSuperseded.
	CheckpointOperation(ctx context.Context, id string, epoch int, step string, percent int) error
	// FinishOperation writes op's terminal status, percent, error, result
	// and end time if the operation is InProgress at epoch, and reports
	// whether it did.
	FinishOperation(ctx context.Context, op Operation, epoch int) (bool, error)
}

// ErrSuperseded is returned by Progress.Checkpoint when another attempt
// has taken the operation over, or it has already ended. The handler must
// stop and return it.
var ErrSuperseded = errkind.E(errkind.Conflict, "the operation was taken over by another attempt")

// Handler runs an operation of one kind. It returns the final response on
// success; an error makes the operation Failed, except that errors of kind
// errkind.Unavailable (transient) are retried with backoff while attempts
// remain, and Reschedule asks to be run again later. A panic fails the
// operation. ctx is cancelled when the attempt's time is up or the server
// stops: the handler then returns promptly, and the attempt is retried.
type Handler func(ctx context.Context, op Operation, progress *Progress) (Result, error)

// Defaults; see Config.
const DefaultMaxAttempts = 8

// Config configures a Service.
type Config struct {
	Store Store
	// Queue runs the operations' jobs; New registers the work function,
	// so New comes before Queue.Start.
	Queue *jobs.Queue
	// ErrorCode maps a handler's error to the response a failed operation
	// ends with: the transport's status code and the wire code and safe
	// message (the transport's one error table).
	ErrorCode func(error) (status int, code, message string)
	Logger    *slog.Logger
	// Sealer seals Sensitive results; without one, a handler's Sensitive
	// result fails its operation rather than be stored in the clear.
	Sealer Sealer
	// MaxAttempts bounds how many times a handler runs for one operation
	// (DefaultMaxAttempts when zero). With River's default backoff, 8
	// attempts span about 80 minutes.
	MaxAttempts int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service starts operations and runs them.
type Service struct {
	store       Store
	log         *slog.Logger
	errorCode   func(error) (int, string, string)
	sealer      Sealer
	maxAttempts int
	now         func() time.Time

	mu       sync.RWMutex
	handlers map[string]Handler
}

// New returns a Service and registers its work function with cfg.Queue.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Queue == nil || cfg.ErrorCode == nil {
		return nil, errors.New("operation: Store, Queue and ErrorCode are required")
	}
	s := &Service{
		store:       cfg.Store,
		log:         cfg.Logger,
		errorCode:   cfg.ErrorCode,
		sealer:      cfg.Sealer,
		maxAttempts: cfg.MaxAttempts,
		now:         cfg.Now,
		handlers:    map[string]Handler{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := jobs.Register(cfg.Queue, s.work); err != nil {
		return nil, fmt.Errorf("operation: %w", err)
	}
	return s, nil
}

// Register sets the handler for operations of kind. Register every kind
// before the queue starts: a job whose kind has no handler is retried,
// then fails.
func (s *Service) Register(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.handlers[kind]; ok || kind == "" || h == nil {
		panic(fmt.Sprintf("operation: bad or duplicate registration of kind %q", kind))
	}
	s.handlers[kind] = h
}

func (s *Service) handler(kind string) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[kind]
}

// StartRequest asks for a new operation.
type StartRequest struct {
	// ID is the operation's id; empty for a new random one. A caller that
	// must record the id before the operation can run (and so before
	// Start) chooses it with NewID.
	ID             string
	Kind           string
	SubscriptionID string
	ResourceID     string
	PrincipalID    string
	// Input is what the handler will need, marshalled to JSON; nil for
	// none.
	Input any
}

// Start creates an InProgress operation and schedules its handler; the
// operation is durable when Start returns.
func (s *Service) Start(ctx context.Context, req StartRequest) (Operation, error) {
	if s.handler(req.Kind) == nil {
		return Operation{}, errkind.E(errkind.Internal, "no handler for operations of kind %q", req.Kind)
	}
	var input []byte
	if req.Input != nil {
		b, err := json.Marshal(req.Input)
		if err != nil {
			return Operation{}, errkind.Wrap(errkind.Internal, err, "operation input cannot be encoded")
		}
		input = b
	}
	id := req.ID
	if id == "" {
		id = NewID()
	}
	op := Operation{
		ID:             id,
		SubscriptionID: req.SubscriptionID,
		Kind:           req.Kind,
		ResourceID:     req.ResourceID,
		PrincipalID:    req.PrincipalID,
		Status:         InProgress,
		Input:          input,
		StartedAt:      s.now().UTC(),
	}
	// One attempt more than handler runs: an attempt after the last one
	// only records the failure (see work), so an operation whose last
	// attempt died with its process still ends.
	job := jobs.Job{Args: runArgs{OperationID: op.ID}, MaxAttempts: s.maxAttempts + 1}
	if err := s.store.CreateOperation(ctx, op, job); err != nil {
		return Operation{}, err
	}
	return op, nil
}

// NewID returns a new operation id.
func NewID() string { return principal.NewID() }

// Get returns the operation id of subscriptionID. An operation of another
// subscription is NotFound, like one that does not exist: status URLs are
// scoped to the subscription, and the caller must not learn of others'
// operations (edge-arm.md §3.5; reliability.md §3.1, ARM RP contract).
func (s *Service) Get(ctx context.Context, subscriptionID, id string) (Operation, error) {
	op, err := s.store.Operation(ctx, id)
	if err == nil && !strings.EqualFold(op.SubscriptionID, subscriptionID) {
		err = errkind.E(errkind.NotFound, "operation %q not found", id)
	}
	if err != nil {
		return Operation{}, err
	}
	if r := op.Result; r != nil && r.Sealed != nil {
		if s.sealer == nil {
			return Operation{}, errkind.E(errkind.Internal, "operation %s has a sealed result and no sealer is configured", op.ID)
		}
		body, err := s.sealer.Open(ctx, sealScope, resultAAD(op.ID), r.Sealed)
		if err != nil {
			return Operation{}, errkind.Wrap(errkind.Internal, err, "operation "+op.ID+": sealed result does not open")
		}
		op.Result = &Result{Status: r.Status, Body: body, Sensitive: true}
	}
	return op, nil
}
