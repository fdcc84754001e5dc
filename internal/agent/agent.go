// Package agent is edgevault-agent, the appliance side of edgevault
// (DESIGN.md §2, §5.2–5.3): it keeps the device's own secrets, activates
// with an activation key, holds the device certificate and the channel
// integrity key (CIK), pushes its secrets to the vault when the service
// asks, receives the secrets the service sends it, heartbeats, and serves
// the appliance's local web UI on loopback.
//
// It speaks only the device API's contract (internal/devicewire) and the
// activation key format (internal/activationkey); it links no server code.
//
// Invariants:
//   - All state lives in one file, DIR/agent-state.json (mode 0600),
//     replaced atomically and protected by a checksum; a damaged file is
//     reported, never silently replaced (statefile.go).
//   - Secret values are sensitive.String in memory and never reach a log,
//     an error, the status output or the UI; the state file is the one
//     place they are written.
//   - The server is trusted only through the CA the activation key pins by
//     fingerprint: the one unverified connection fetches that CA, and
//     every later one verifies the server with it as the only root.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Config configures Open.
type Config struct {
	// DataDir holds the state file.
	DataDir string
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// Now is the clock for timestamps and key expiry; nil means time.Now.
	Now func() time.Time
	// SoftwareVersion is sent with heartbeats.
	SoftwareVersion string
	// Terminal receives what is for the person who started the agent
	// (the local UI's one-time password); os.Stderr when nil.
	Terminal io.Writer
}

// Agent is an appliance whose state was loaded from its data directory.
// Its methods are safe for concurrent use (the run loop and the local UI
// share it).
type Agent struct {
	dir      string
	log      *slog.Logger
	terminal io.Writer
	now      func() time.Time
	version  string

	activateMu sync.Mutex // one activation at a time

	mu        sync.Mutex
	st        *State
	activated chan struct{} // closed once the device is activated
}

// Open loads the appliance in cfg.DataDir. A missing state file is
// ErrNotInitialized; a damaged one is a *CorruptError.
func Open(cfg Config) (*Agent, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("no data directory")
	}
	st, err := loadState(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a := &Agent{dir: cfg.DataDir, log: cfg.Logger, now: cfg.Now, version: cfg.SoftwareVersion, st: st, terminal: cfg.Terminal,
		activated: make(chan struct{})}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if st.Activation != nil {
		close(a.activated)
	}
	return a, nil
}

// State returns a copy of the current state.
func (a *Agent) State() *State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.clone()
}

// update applies fn to a copy of the state, saves the copy, and only then
// makes it current: a failed save changes nothing.
func (a *Agent) update(fn func(*State) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	next := a.st.clone()
	if err := fn(next); err != nil {
		return err
	}
	if err := saveState(a.dir, next); err != nil {
		return err
	}
	a.st = next
	if next.Activation != nil {
		select {
		case <-a.activated:
		default:
			close(a.activated)
		}
	}
	return nil
}

// ErrNotActivated is returned by what needs an activated device.
var ErrNotActivated = errors.New("the appliance is not activated: run `edgevault-agent activate` first, or `edgevault-agent run --ui 127.0.0.1:PORT` and activate it from the local UI")

// waitActivated returns when the device is activated or ctx is done.
func (a *Agent) waitActivated(ctx context.Context) error {
	select {
	case <-a.activated:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// APIError is an error answer from the device API.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("the device API refused: %s: %s (HTTP %d)", e.Code, e.Message, e.StatusCode)
}

// uiOut is where the local UI's password is printed.
func (a *Agent) uiOut() io.Writer {
	if a.terminal != nil {
		return a.terminal
	}
	return os.Stderr
}
