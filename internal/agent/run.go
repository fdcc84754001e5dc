package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/devicewire"
)

// RunOptions configures Run.
type RunOptions struct {
	// Heartbeat is the interval between heartbeats; zero means 10s. The
	// server's HeartbeatSeconds shortens it.
	Heartbeat time.Duration
	// UIAddr, when set, serves the local UI there; it must be loopback.
	UIAddr string
	// UIReady, when set, receives the UI's address and its one-time
	// password once it listens.
	UIReady func(addr, password string)
}

// DefaultHeartbeat is RunOptions.Heartbeat's default.
const DefaultHeartbeat = 10 * time.Second

// maxWait is the longest long poll the agent asks for (the server holds
// at most 30s; asking for less keeps the request clear of idle timeouts).
const maxWait = 25 * time.Second

// Backoff after a failure: doubling from minBackoff to maxBackoff, with
// jitter so that a fleet does not reconnect in step.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// Run runs the appliance until ctx is done: it serves the local UI if
// asked, waits for activation if the UI can provide it, then heartbeats,
// pushes its secrets after activation and whenever the service asks, and
// stores the customer secrets it receives. Network and server errors are
// retried with backoff; Run returns nil when ctx is cancelled.
func (a *Agent) Run(ctx context.Context, opts RunOptions) error {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.UIAddr != "" {
		stop, err := a.serveUI(opts.UIAddr, opts.UIReady)
		if err != nil {
			return err
		}
		defer stop()
	}
	if a.State().Activation == nil {
		if opts.UIAddr == "" {
			return ErrNotActivated
		}
		a.log.Info("not activated: waiting for an activation key on the local UI", "url", "http://"+opts.UIAddr+"/activate")
		if err := a.waitActivated(ctx); err != nil {
			return nil
		}
	}
	return a.loop(ctx, opts.Heartbeat)
}

// session is what the loop needs to talk to the device API as the device.
type session struct {
	hc         *http.Client
	base       string
	resourceID string
	cik        []byte
	interval   time.Duration
}

func (a *Agent) newSession(interval time.Duration) (*session, error) {
	st := a.State()
	act := st.Activation
	if act == nil {
		return nil, ErrNotActivated
	}
	cert, err := deviceCertificate(act)
	if err != nil {
		return nil, err
	}
	hc, err := pinnedClient(act.CAPEM, cert)
	if err != nil {
		return nil, err
	}
	return &session{hc: hc, base: act.DeviceAPIURL, resourceID: act.ResourceID,
		cik: []byte(act.CIK.Reveal()), interval: interval}, nil
}

// loop heartbeats until ctx is done.
func (a *Agent) loop(ctx context.Context, interval time.Duration) error {
	s, err := a.newSession(interval)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	a.log.Info("running", "resource", s.resourceID, "deviceApi", s.base, "heartbeat", interval)
	var h health
	backoff := minBackoff
	var wait time.Duration
	for {
		if !sleep(ctx, wait) {
			return nil
		}
		start := time.Now()
		more, err := a.cycle(ctx, s)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			h.failed(a, err)
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		h.ok(a)
		backoff = minBackoff
		if more {
			wait = 0 // there was work: ask again at once
		} else {
			wait = s.interval - time.Since(start)
		}
	}
}

// sleep waits d or until ctx is done, reporting whether to carry on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cycle is one round: a heartbeat (a long poll, unless a push is owed),
// then what its answer asks, and the first push after activation if still
// owed. The heartbeat comes first so that a push the server keeps refusing
// does not also make the device look Offline. more reports work done,
// after which the next heartbeat need not wait.
func (a *Agent) cycle(ctx context.Context, s *session) (more bool, err error) {
	owed := a.State().NeedsPush
	resp, err := a.heartbeat(ctx, s, !owed)
	if err != nil {
		return false, err
	}
	if resp.HeartbeatSeconds > 0 {
		if d := time.Duration(resp.HeartbeatSeconds) * time.Second; d < s.interval {
			s.interval = d
		}
	}
	if len(resp.CustomerSecrets) > 0 {
		n, err := a.receive(ctx, s, resp.CustomerSecrets)
		if err != nil {
			return false, err
		}
		more = n > 0
	}
	// A sync request's push includes the CIK; it also settles the push
	// owed since activation.
	if resp.SyncID != "" || owed {
		if err := a.push(ctx, s, resp.SyncID); err != nil {
			return false, err
		}
		more = true
	}
	return more, nil
}

// heartbeat reports in and records the status the server answers.
func (a *Agent) heartbeat(ctx context.Context, s *session, longPoll bool) (*devicewire.HeartbeatResponse, error) {
	wait := min(s.interval, maxWait)
	if !longPoll {
		wait = 0
	}
	ctx, cancel := context.WithTimeout(ctx, wait+requestTimeout)
	defer cancel()
	var resp devicewire.HeartbeatResponse
	req := devicewire.HeartbeatRequest{SoftwareVersion: a.version, WaitSeconds: int(wait / time.Second)}
	if err := postJSON(ctx, s.hc, endpoint(s.base, devicewire.PathHeartbeat), req, &resp); err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	if a.State().DeviceStatus != resp.Status {
		a.log.Info("device status", "status", resp.Status)
		if err := a.update(func(st *State) error { st.DeviceStatus = resp.Status; return nil }); err != nil {
			return nil, err
		}
	}
	return &resp, nil
}

// push sends every device secret, and with a sync request the CIK too,
// each sealed under the CIK for this push.
func (a *Agent) push(ctx context.Context, s *session, syncID string) error {
	st := a.State()
	pushID := uuid.NewString()
	req := devicewire.PushRequest{PushID: pushID, SyncID: syncID}
	for _, sec := range st.Secrets {
		c, err := devicewire.SealSecret(s.cik, s.resourceID, sec.Name, pushID, []byte(sec.Value.Reveal()))
		if err != nil {
			return err
		}
		req.Secrets = append(req.Secrets, devicewire.SealedSecret{Name: sec.Name, Ciphertext: c})
	}
	if syncID != "" {
		// The CIK travels as its 32 raw bytes; the server checks them against
		// the device's CIK before it restores the vault's copy.
		c, err := devicewire.SealSecret(s.cik, s.resourceID, devicewire.ChannelIntegrityKey, pushID, s.cik)
		if err != nil {
			return err
		}
		req.Secrets = append(req.Secrets, devicewire.SealedSecret{Name: devicewire.ChannelIntegrityKey, Ciphertext: c})
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var resp devicewire.PushResponse
	if err := postJSON(ctx, s.hc, endpoint(s.base, devicewire.PathSecrets), req, &resp); err != nil {
		return fmt.Errorf("push secrets: %w", err)
	}
	failed := 0
	for _, r := range resp.Secrets {
		if r.Error != "" {
			failed++
			a.log.Warn("the vault did not take a secret", "secret", r.Name, "error", r.Error)
		}
	}
	a.log.Info("pushed secrets", "pushId", pushID, "syncId", syncID, "secrets", len(req.Secrets),
		"failed", failed, "keyVaultSyncStatus", resp.SyncStatus)
	return a.update(func(st *State) error {
		st.NeedsPush = false
		st.KeyVaultSyncStatus = resp.SyncStatus
		st.LastSyncAt = a.now().UTC()
		if syncID != "" {
			st.LastSyncID = syncID
		}
		return nil
	})
}

// receive opens and stores customer secrets, then acknowledges those
// stored. A secret that does not open is not acknowledged (the service
// keeps it pending) and is logged by name and id. It returns how many were
// stored.
func (a *Agent) receive(ctx context.Context, s *session, in []devicewire.SealedSecret) (int, error) {
	var got []CustomerSecret
	var ids []string
	for _, m := range in {
		if m.ID == "" || m.Name == "" || len(m.Name) > 256 {
			a.log.Warn("ignored a customer secret without a proper id or name", "id", m.ID)
			continue
		}
		v, err := devicewire.OpenSecret(s.cik, s.resourceID, m.Name, m.ID, m.Ciphertext)
		if err != nil {
			a.log.Warn("a customer secret does not open with the channel integrity key; not acknowledged", "secret", m.Name, "id", m.ID)
			continue
		}
		got = append(got, CustomerSecret{ID: m.ID, Name: m.Name, Value: sensitiveBytes(v), ReceivedAt: a.now().UTC()})
		clear(v)
		ids = append(ids, m.ID)
	}
	if len(got) == 0 {
		return 0, nil
	}
	err := a.update(func(st *State) error {
		for _, c := range got {
			st.CustomerSecrets = storeCustomerSecret(st.CustomerSecrets, c)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range got {
		a.log.Info("received a customer secret", "secret", c.Name, "id", c.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if err := postJSON(ctx, s.hc, endpoint(s.base, devicewire.PathCustomerSecrets), devicewire.AckRequest{IDs: ids}, nil); err != nil {
		return 0, fmt.Errorf("acknowledge customer secrets: %w", err)
	}
	return len(got), nil
}

// storeCustomerSecret adds c, replacing an earlier secret of the same
// name (the newer value wins) or the same id (a redelivery after a lost
// acknowledgement).
func storeCustomerSecret(list []CustomerSecret, c CustomerSecret) []CustomerSecret {
	for i := range list {
		if list[i].Name == c.Name || list[i].ID == c.ID {
			list[i] = c
			return list
		}
	}
	return append(list, c)
}

// health logs the connection's state changes, not every attempt.
type health struct {
	failing  bool
	class    string
	attempts int
	since    time.Time
}

func (h *health) failed(a *Agent, err error) {
	h.attempts++
	c := errorClass(err)
	if h.failing && c == h.class {
		return
	}
	if !h.failing {
		h.since = time.Now()
	}
	h.failing, h.class = true, c
	a.log.Warn("cannot reach the device API; retrying with backoff", "error", err)
}

func (h *health) ok(a *Agent) {
	if h.failing {
		a.log.Info("device API reachable again", "failedAttempts", h.attempts, "after", time.Since(h.since).Round(time.Second))
	}
	*h = health{}
}

// errorClass groups errors whose repetition is not news.
func errorClass(err error) string {
	var apiErr *APIError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		return "api:" + apiErr.Code
	case errors.As(err, &netErr):
		return "network"
	}
	return "other"
}
