// Package jobs is edgevault's durable job queue: work that must survive a
// crash or a restart (long-running ARM operations, activation, recovery,
// sync, sweepers) is inserted as a job row in the database and run by
// whichever server replica fetches it first. It is a thin layer over River
// (github.com/riverqueue/river), which has drivers for both of our
// databases through database/sql: riversqlite for SQLite and
// riverdatabasesql for PostgreSQL (DESIGN.md §7).
//
// Invariants and guarantees:
//   - A job inserted with InsertTx exists exactly when the caller's
//     transaction commits, so a row and the job that works on it can never
//     exist one without the other.
//   - At most one replica runs a given job at a time: River locks a job
//     when fetching it (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has
//     one process by construction, the server locks its data directory).
//   - A job runs at least once. A job whose process died while running it
//     stays "running" until River's rescuer (on the elected leader) finds it
//     older than RescueAfter and schedules it again, so work functions must
//     be idempotent; a job interrupted by Stop is handed back at once.
//   - River's tables are created by River's own migrations (rivermigrate),
//     run by Start under a lock, idempotently.
//
// Why River rather than a queue of our own: a spike showed both drivers
// working over the store's own pools (modernc SQLite through database/sql;
// pgx's stdlib driver, with pgx's pool only for LISTEN), rivermigrate
// creating River's tables in a test schema through search_path, and
// InsertTx taking the store's *sql.Tx on both. River brings what a
// hand-written queue would have to grow and prove: locking fetches, retries
// with backoff, rescue of jobs whose process died, leader-elected
// maintenance (rescuer, scheduler, cleaners), snooze, cancellation and
// graceful stop. What it does not give, we add: a lock around its
// migrations (see migrate.go), and fencing, which belongs to the work
// (internal/operation). Its limits, accepted: River's SQLite driver is
// young ("minimal real world vetting", its docs say); on SQLite a new job
// is noticed by polling an outbox table every 50 ms, so a job starts some
// tens of milliseconds after its insert commits; and resuming the jobs of
// a replica that died and did not come back waits for RescueAfter plus the
// rescuer's 30-second round (and the dead leader's 15-second lease). A
// process that restarts resumes its own predecessor's jobs at once (Start,
// resumeAbandoned).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// Defaults; see Config.
const (
	DefaultConcurrency = 10
	DefaultJobTimeout  = 45 * time.Second
	DefaultRescueAfter = time.Minute
)

// How often River looks for jobs. An insert notifies the replicas (LISTEN/
// NOTIFY on PostgreSQL, an outbox table polled every 50 ms on SQLite), but
// River sends at most one notification per queue per fetchCooldown, and a
// job whose notification was so suppressed waits for the next poll. With
// River's defaults (100 ms, 1 s) an operation started within 100 ms of the
// previous one, which a client script easily does, waited up to a second;
// we keep the cooldown at River's minimum, so that hardly happens, and the
// poll at 200 ms, so that it costs little when it does. A fetch is one
// indexed query.
const (
	fetchCooldown     = time.Millisecond
	fetchPollInterval = 200 * time.Millisecond
)

// Config configures a Queue.
type Config struct {
	// DB is the pool the queue shares with the store (store.JobsDB), so
	// that InsertTx can take the store's transactions. With SQLite it is
	// the store's single writer connection.
	DB *sql.DB
	// Dialect is "sqlite" or "postgres".
	Dialect string
	// URL, for PostgreSQL, is the database URL; when set, the queue holds
	// one extra connection that LISTENs for River's insert notifications,
	// so a job inserted on any replica starts within milliseconds instead
	// of at the next poll (FetchPollInterval, one second).
	URL string
	// Schema is the PostgreSQL schema of River's tables; empty means the
	// connection's search_path (what the store uses).
	Schema string
	// Logger receives River's logs; nil discards them.
	Logger *slog.Logger
	// Concurrency is how many jobs this process runs at once
	// (DefaultConcurrency when zero).
	Concurrency int
	// JobTimeout bounds one attempt: the work function's context is
	// cancelled after it (DefaultJobTimeout when zero; negative: never).
	// Long work checkpoints and finishes in a later attempt.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay "running" before it is taken
	// for abandoned (its process died) and run again (DefaultRescueAfter
	// when zero). It must exceed JobTimeout: a job that is still running
	// past it may run twice at once, which fencing in the work function
	// must then make harmless.
	RescueAfter time.Duration
	// Backoff is the delay before retrying a job whose attempt failed;
	// nil means River's default (attempt⁴ seconds, with jitter).
	Backoff func(attempt int) time.Duration
	// Now, when set, is the queue's clock (tests); River otherwise uses the
	// database's.
	Now func() time.Time
	// ID names this client in River's tables (attempted_by, leader); empty
	// means a generated one. A replica that keeps its ID across restarts
	// (the server's replica-id file) resumes at start the jobs its previous
	// process was running.
	ID string
}

// Args are a job's arguments. They are stored as JSON (encoding/json), and
// Kind names the work function that runs them; it must be stable across
// releases, since jobs outlive the binary that inserted them.
type Args interface {
	Kind() string
}

// Job is a job to insert.
type Job struct {
	Args Args
	// MaxAttempts bounds how many times the job is run (River's default of
	// 25 when zero). Snoozes do not count.
	MaxAttempts int
}

// Run is one attempt at a job, as its work function sees it.
type Run[T Args] struct {
	ID          int64
	Args        T
	Attempt     int // 1 on the first attempt
	MaxAttempts int // the job is discarded when an attempt at MaxAttempts fails
}

// Queue is the job queue: a River client over the store's database.
type Queue struct {
	cfg     Config
	log     *slog.Logger
	workers *river.Workers

	mu       sync.Mutex
	kinds    int // work functions registered
	started  bool
	client   *river.Client[*sql.Tx]
	listener *pgxpool.Pool
}

// ErrNotStarted is returned by Insert and InsertTx before Start.
var ErrNotStarted = errors.New("jobs: the queue is not started")

// New returns a queue; register work functions, then Start it.
func New(cfg Config) (*Queue, error) {
	if cfg.DB == nil {
		return nil, errors.New("jobs: DB is required")
	}
	if cfg.Dialect != "sqlite" && cfg.Dialect != "postgres" {
		return nil, fmt.Errorf("jobs: unknown dialect %q", cfg.Dialect)
	}
	if cfg.Dialect == "sqlite" && (cfg.Schema != "" || cfg.URL != "") {
		return nil, errors.New("jobs: Schema and URL are for PostgreSQL")
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = DefaultRescueAfter
	}
	if cfg.JobTimeout > 0 && cfg.RescueAfter <= cfg.JobTimeout {
		return nil, errors.New("jobs: RescueAfter must exceed JobTimeout")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{cfg: cfg, log: log, workers: river.NewWorkers()}, nil
}

// Register sets the work function for jobs whose Args are of type T. It
// must be called before Start. A work function returns nil when the job is
// done; an error to have it retried after Backoff, until MaxAttempts; or
// Snooze or Cancel.
func Register[T Args](q *Queue, work func(ctx context.Context, r Run[T]) error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: Register after Start")
	}
	err := river.AddWorkerSafely(q.workers, river.WorkFunc(func(ctx context.Context, j *river.Job[T]) error {
		return work(ctx, Run[T]{ID: j.ID, Args: j.Args, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts})
	}))
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	q.kinds++
	return nil
}

// Snooze returns an error that has the job run again after d without
// counting an attempt: for work that waits on something outside (a device
// to sync) or that was interrupted by a shutdown (d = 0).
func Snooze(d time.Duration) error { return river.JobSnooze(max(d, 0)) }

// Cancel returns an error that ends the job for good, whatever its
// remaining attempts.
func Cancel(err error) error { return river.JobCancel(err) }

// Start runs River's migrations and starts working jobs. The queue keeps
// running after ctx is cancelled (ctx only bounds the start-up itself and
// carries values); Stop ends it.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: already started")
	}
	if err := q.migrate(ctx); err != nil {
		return err
	}
	if err := q.resumeAbandoned(ctx); err != nil {
		return err
	}
	driver, err := q.driver(ctx)
	if err != nil {
		return err
	}
	client, err := river.NewClient(driver, q.riverConfig())
	if err != nil {
		q.closeListener()
		return fmt.Errorf("jobs: %w", err)
	}
	// A queue without work functions only inserts (River refuses to start
	// a client with no workers).
	if q.kinds > 0 {
		if err := client.Start(context.WithoutCancel(ctx)); err != nil {
			q.closeListener()
			return fmt.Errorf("jobs: start: %w", err)
		}
	}
	q.client, q.started = client, true
	return nil
}

// resumeAbandoned makes jobs left running by a dead process available
// again at once, where that is knowable, instead of waiting for River's
// rescuer (RescueAfter plus its round):
//   - On SQLite only one process uses the database (the server locks its
//     data directory), so at start every running job belongs to a process
//     that died.
//   - On PostgreSQL, a job whose last attempt was made by this client's ID
//     was run by this replica's previous process — the ID is the
//     replica's, kept in its data directory, which one process at a time
//     holds — so it died with that process. Jobs other replicas were
//     running are left to the rescuer.
func (q *Queue) resumeAbandoned(ctx context.Context) error {
	var err error
	switch {
	case q.cfg.Dialect == "sqlite":
		// scheduled_at in River's own format (its SQLite queries compare
		// it as text with datetime('now', 'subsec')).
		_, err = q.cfg.DB.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec')
			WHERE state = 'running'`)
	case q.cfg.ID != "":
		table := "river_job"
		if q.cfg.Schema != "" {
			table = `"` + strings.ReplaceAll(q.cfg.Schema, `"`, `""`) + `".river_job`
		}
		_, err = q.cfg.DB.ExecContext(ctx, `UPDATE `+table+` SET state = 'available', scheduled_at = now()
			WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1`, q.cfg.ID)
	}
	if err != nil {
		return fmt.Errorf("jobs: resuming jobs of a previous process: %w", err)
	}
	return nil
}

// driver returns River's driver for the dialect, sharing cfg.DB.
func (q *Queue) driver(ctx context.Context) (riverdriver.Driver[*sql.Tx], error) {
	if q.cfg.Dialect == "sqlite" {
		return riversqlite.New(q.cfg.DB), nil
	}
	if q.cfg.URL == "" {
		return riverdatabasesql.New(q.cfg.DB), nil
	}
	pc, err := pgxpool.ParseConfig(q.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("jobs: listener URL: %w", err)
	}
	// River hijacks the listening connection; one is all it needs.
	pc.MaxConns, pc.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("jobs: listener: %w", err)
	}
	q.listener = pool
	return riverdatabasesql.NewWithPgxListener(q.cfg.DB, pool), nil
}

func (q *Queue) riverConfig() *river.Config {
	c := &river.Config{
		Logger:               q.log,
		ID:                   q.cfg.ID,
		Schema:               q.cfg.Schema,
		JobTimeout:           q.cfg.JobTimeout,
		Workers:              q.workers,
		FetchCooldown:        fetchCooldown,
		FetchPollInterval:    fetchPollInterval,
		RescueStuckJobsAfter: q.cfg.RescueAfter,
	}
	if q.cfg.Backoff != nil {
		c.RetryPolicy = backoffPolicy{q.cfg.Backoff, q.now}
	}
	if q.cfg.Now != nil {
		c.Test.Time = clock(q.cfg.Now)
		// Without River's start-up jitter, so tests start promptly.
		c.TestOnly = true
	}
	if q.kinds > 0 {
		c.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.cfg.Concurrency}}
	} else {
		c.Workers = nil // insert only: kinds are checked where they are worked
	}
	return c
}

func (q *Queue) now() time.Time {
	if q.cfg.Now != nil {
		return q.cfg.Now()
	}
	return time.Now()
}

// Stop stops fetching jobs and waits for the running ones until ctx is
// done; then it cancels them (their work functions see their context
// cancelled) and waits a little more. Jobs interrupted so are run again,
// here after a restart or at once on another replica, if their work
// functions return Snooze(0) on cancellation.
func (q *Queue) Stop(ctx context.Context) error {
	// Not under q.mu: a running job may insert jobs while we wait for it.
	c, err := q.riverClient()
	if err != nil {
		return nil // never started
	}
	err = c.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = c.StopAndCancel(hard)
	}
	q.mu.Lock()
	q.closeListener()
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

func (q *Queue) closeListener() {
	if q.listener != nil {
		q.listener.Close()
		q.listener = nil
	}
}

// Insert inserts a job in its own transaction.
func (q *Queue) Insert(ctx context.Context, j Job) (int64, error) {
	c, err := q.riverClient()
	if err != nil {
		return 0, err
	}
	res, err := c.Insert(ctx, j.Args, q.insertOpts(j))
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", j.Args.Kind(), err)
	}
	return res.Job.ID, nil
}

// InsertTx inserts a job in the caller's transaction, which must be on
// Config.DB: the job exists if and only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, j Job) (int64, error) {
	c, err := q.riverClient()
	if err != nil {
		return 0, err
	}
	res, err := c.InsertTx(ctx, tx, j.Args, q.insertOpts(j))
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", j.Args.Kind(), err)
	}
	return res.Job.ID, nil
}

func (q *Queue) insertOpts(j Job) *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: j.MaxAttempts}
}

func (q *Queue) riverClient() (*river.Client[*sql.Tx], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client == nil {
		return nil, ErrNotStarted
	}
	return q.client, nil
}

// backoffPolicy adapts Config.Backoff to River's retry policy.
type backoffPolicy struct {
	backoff func(int) time.Duration
	now     func() time.Time
}

func (p backoffPolicy) NextRetry(j *rivertype.JobRow) time.Time {
	return p.now().Add(p.backoff(j.Attempt))
}

// clock adapts Config.Now to River's time generator.
type clock func() time.Time

func (c clock) Now() time.Time { return c() }
func (c clock) NowOrNil() *time.Time {
	t := c().UTC()
	return &t
}
