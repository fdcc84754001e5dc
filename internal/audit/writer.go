package audit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Store persists the audit trail.
type Store interface {
	// AppendAudit stores records, in order, in one transaction: for each
	// resource it locks the chain head (so replicas append one at a time),
	// links the resource's records after it with Link, inserts them and
	// moves the head. Either every record is committed or none is.
	AppendAudit(ctx context.Context, records []Record) error
	// AuditHead returns the head of id's chain; Seq 0 when it has none.
	AuditHead(ctx context.Context, id resource.ID) (Head, error)
	// AuditChain returns up to limit entries of id's chain with Seq >
	// afterSeq, in Seq order.
	AuditChain(ctx context.Context, id resource.ID, afterSeq int64, limit int) ([]Entry, error)
	// ListAudit returns the entries matching f (normalized: Limit set),
	// in ID order (descending when f.Newest).
	ListAudit(ctx context.Context, f Filter) ([]Entry, error)
	// AuditLastID returns the highest entry id of the whole trail (0 for
	// none): a cheap "anything new?" for the exporter.
	AuditLastID(ctx context.Context) (int64, error)
}

// Observer receives one call per batch written or failed, for metrics
// (records per batch, commit latency). It runs on the writer's goroutine:
// it must be quick and must not call the Writer.
type Observer interface {
	ObserveBatch(records int, elapsed time.Duration, err error)
}

// Defaults for Config.
const (
	DefaultMaxBatch     = 256
	DefaultQueueSize    = 4096
	DefaultMaxWait      = time.Millisecond
	DefaultFlushTimeout = 10 * time.Second
)

// Config holds a Writer's dependencies and tuning.
type Config struct {
	Store Store
	// MaxBatch caps the records committed in one transaction;
	// DefaultMaxBatch when zero.
	MaxBatch int
	// QueueSize bounds the records waiting for a batch; Record blocks
	// (until its context ends) while the queue is full. DefaultQueueSize
	// when zero.
	QueueSize int
	// MaxWait is how long a batch may wait for more records once it has
	// taken those queued. It waits only when the previous batch held more
	// than one record (so a lone caller never waits), and only until the
	// batch is as large as the previous one: callers released together by
	// one commit come back at about the same time, and one wait of a
	// fraction of a millisecond saves a commit (fsync). DefaultMaxWait
	// when zero; negative for no waiting.
	MaxWait time.Duration
	// FlushTimeout bounds one batch's transaction; DefaultFlushTimeout
	// when zero.
	FlushTimeout time.Duration
	// Now is the clock for records without a Time; time.Now when nil.
	Now func() time.Time
	// Observer, if set, is told about every batch.
	Observer Observer
}

// Stats are a Writer's counters since New.
type Stats struct {
	Records       uint64 // records committed
	Batches       uint64 // transactions committed
	FailedRecords uint64 // records whose batch failed
	FailedBatches uint64 // transactions that failed
	Queued        int    // records waiting for a batch now
}

// Writer writes audit records with group commit: one goroutine takes the
// waiting records, commits them in one transaction, and then releases
// every caller with the outcome. Callers of Record never run SQL
// themselves.
type Writer struct {
	store        Store
	now          func() time.Time
	maxBatch     int
	maxWait      time.Duration
	flushTimeout time.Duration
	observer     Observer

	queue    chan *pending
	stopping chan struct{} // closed when Close starts
	done     chan struct{} // closed when the batching goroutine has ended
	// mu orders senders against closing the queue: Record sends holding
	// it for reading; Close closes the queue holding it for writing.
	mu     sync.RWMutex
	closed bool
	once   sync.Once

	records, batches, failedRecords, failedBatches atomic.Uint64
}

// pending is one Record call waiting for its batch.
type pending struct {
	rec  Record
	done chan error // buffered: the batcher never waits for a caller
}

// New returns a Writer and starts its batching goroutine; Close stops it.
func New(cfg Config) (*Writer, error) {
	if cfg.Store == nil {
		return nil, errors.New("audit: Config.Store is required")
	}
	if cfg.MaxBatch < 0 || cfg.QueueSize < 0 || cfg.FlushTimeout < 0 {
		return nil, errors.New("audit: MaxBatch, QueueSize and FlushTimeout may not be negative")
	}
	w := &Writer{
		store:        cfg.Store,
		now:          cfg.Now,
		maxBatch:     cmpOr(cfg.MaxBatch, DefaultMaxBatch),
		maxWait:      cmpOr(cfg.MaxWait, DefaultMaxWait),
		flushTimeout: cmpOr(cfg.FlushTimeout, DefaultFlushTimeout),
		observer:     cfg.Observer,
		queue:        make(chan *pending, cmpOr(cfg.QueueSize, DefaultQueueSize)),
		stopping:     make(chan struct{}),
		done:         make(chan struct{}),
	}
	if w.now == nil {
		w.now = time.Now
	}
	go w.run()
	return w, nil
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Record writes r durably and returns nil once it is committed. Any error
// means the record may not be durable and the caller must fail its
// request closed (never return the secret): errkind.Invalid for a record
// no request could produce, errkind.Unavailable when the store failed or
// the writer is closing, or the context's error when ctx ended first (the
// record may still be written; the caller cannot know).
func (w *Writer) Record(ctx context.Context, r Record) error {
	if r.Time.IsZero() {
		r.Time = w.now()
	}
	r, err := Normalize(r)
	if err != nil {
		return err
	}
	p := &pending{rec: r, done: make(chan error, 1)}
	if err := w.enqueue(ctx, p); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) enqueue(ctx context.Context, p *pending) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errUnavailable(ErrClosed)
	}
	select {
	case w.queue <- p:
		return nil
	case <-w.stopping:
		return errUnavailable(ErrClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, commits every record already queued,
// and returns when the batching goroutine has ended, or with ctx's error
// if ctx ends first (the goroutine then still finishes its work). Record
// calls after Close fail with errkind.Unavailable. Close the Writer after
// the servers that call Record have stopped, and before the store.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		close(w.stopping) // wakes senders blocked on a full queue
		w.mu.Lock()
		w.closed = true
		close(w.queue)
		w.mu.Unlock()
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	return Stats{
		Records:       w.records.Load(),
		Batches:       w.batches.Load(),
		FailedRecords: w.failedRecords.Load(),
		FailedBatches: w.failedBatches.Load(),
		Queued:        len(w.queue),
	}
}

// run is the batching goroutine: it takes a batch, commits it, releases
// its callers, and repeats until the queue is closed and empty.
func (w *Writer) run() {
	defer close(w.done)
	var (
		batch = make([]*pending, 0, w.maxBatch)
		recs  = make([]Record, 0, w.maxBatch)
		timer = time.NewTimer(time.Hour)
		last  int // size of the previous batch
	)
	timer.Stop()
	for {
		p, ok := <-w.queue
		if !ok {
			return
		}
		batch = w.fill(append(batch[:0], p), last, timer)
		recs = recs[:0]
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		err := w.flush(recs)
		for i, p := range batch {
			p.done <- err
			batch[i] = nil // let the caller's record go
		}
		last = len(batch)
	}
}

// fill adds to batch what is queued and, when the previous batch shows
// that callers are arriving together, waits up to maxWait from now for
// as many as last time.
func (w *Writer) fill(batch []*pending, last int, timer *time.Timer) []*pending {
drain:
	for len(batch) < w.maxBatch {
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		default:
			break drain
		}
	}
	want := min(last, w.maxBatch)
	if w.maxWait <= 0 || last <= 1 || len(batch) >= want {
		return batch
	}
	timer.Reset(w.maxWait)
	defer timer.Stop()
	for len(batch) < want {
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// flush commits one batch. Its context is the writer's own, not a
// caller's: a caller giving up must not abort the others' records.
func (w *Writer) flush(recs []Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.flushTimeout)
	defer cancel()
	start := time.Now()
	err := w.store.AppendAudit(ctx, recs)
	if w.observer != nil {
		w.observer.ObserveBatch(len(recs), time.Since(start), err)
	}
	if err != nil {
		w.failedBatches.Add(1)
		w.failedRecords.Add(uint64(len(recs)))
		return errUnavailable(err)
	}
	w.batches.Add(1)
	w.records.Add(uint64(len(recs)))
	return nil
}

// LastID returns the highest entry id committed so far (0 for none).
func (w *Writer) LastID(ctx context.Context) (int64, error) { return w.store.AuditLastID(ctx) }

// List returns a page of entries matching f, in ID order; continue with
// f.After set to the last entry's ID.
func (w *Writer) List(ctx context.Context, f Filter) ([]Entry, error) {
	switch {
	case f.Limit < 0 || f.Limit > MaxLimit:
		return nil, errkind.E(errkind.Invalid, "audit: limit must be between 1 and %d", MaxLimit)
	case f.Limit == 0:
		f.Limit = DefaultLimit
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, errkind.E(errkind.Invalid, "audit: the time range is empty")
	}
	f.CallerObjectID = strings.ToLower(clean(f.CallerObjectID, maxShort)) // as Normalize stores it
	return w.store.ListAudit(ctx, f)
}

// Verify walks the hash chain of id (see verify) and returns what it
// verified, or an error wrapping ErrChainBroken (a *ChainError) when the
// stored records are not those written.
func (w *Writer) Verify(ctx context.Context, id resource.ID) (Verification, error) {
	return verify(ctx, w.store, id)
}
