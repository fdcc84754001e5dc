package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/devicewire"
)

func TestRunRequiresActivation(t *testing.T) {
	a := initAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Run(ctx, RunOptions{}); !errors.Is(err, ErrNotActivated) {
		t.Errorf("Run = %v, want ErrNotActivated", err)
	}
	if _, err := a.newSession(time.Second); !errors.Is(err, ErrNotActivated) {
		t.Errorf("newSession = %v, want ErrNotActivated", err)
	}
	if err := a.Run(ctx, RunOptions{UIAddr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Run with a public UI address = %v, want a refusal", err)
	}
}

func TestFirstPushThenSyncPushesCIK(t *testing.T) {
	a, f := activatedAgent(t)
	ctx := context.Background()
	s, err := a.newSession(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online", HeartbeatSeconds: 10},
		{Status: "Online", SyncID: "sync-1", HeartbeatSeconds: 10}}
	for range 2 {
		more, err := a.cycle(ctx, s)
		if err != nil || !more {
			t.Fatalf("cycle = %v, %v; want work done", more, err)
		}
	}
	if len(f.pushes) != 2 {
		t.Fatalf("%d pushes, want the first push and the sync's", len(f.pushes))
	}
	st := a.State()
	first, sync := f.pushes[0], f.pushes[1]
	if first.SyncID != "" || len(first.Values) != len(devicewire.DeviceSecretNames) {
		t.Errorf("first push: sync %q, %d secrets; want every device secret", first.SyncID, len(first.Values))
	}
	for _, name := range devicewire.DeviceSecretNames {
		if first.Values[name] != secretValue(t, st, name) || sync.Values[name] != secretValue(t, st, name) {
			t.Errorf("secret %s did not arrive intact", name)
		}
	}
	if sync.SyncID != "sync-1" || sync.Values[devicewire.ChannelIntegrityKey] != string(f.cik) {
		t.Errorf("sync push: sync %q, CIK present %v; want the CIK, quoting sync-1", sync.SyncID,
			sync.Values[devicewire.ChannelIntegrityKey] != "")
	}
	if first.PushID == sync.PushID || uuid.Validate(first.PushID) != nil || uuid.Validate(sync.PushID) != nil {
		t.Errorf("push ids %q, %q: want two fresh UUIDs", first.PushID, sync.PushID)
	}
	if st.NeedsPush || st.LastSyncID != "sync-1" || st.LastSyncAt.IsZero() || st.DeviceStatus != "Online" ||
		st.KeyVaultSyncStatus != "KeyVaultSynced" {
		t.Errorf("state after sync: needsPush %v, lastSyncId %q, status %q, sync %q", st.NeedsPush, st.LastSyncID,
			st.DeviceStatus, st.KeyVaultSyncStatus)
	}
	// Nothing asked: a heartbeat and no push.
	if more, err := a.cycle(ctx, s); err != nil || more || len(f.pushes) != 2 {
		t.Errorf("idle cycle: more %v, err %v, pushes %d", more, err, len(f.pushes))
	}
	// Once taken, the first push is not owed again after a restart.
	if b, _ := Open(Config{DataDir: a.dir}); b.State().NeedsPush {
		t.Error("a reloaded agent would push again")
	}
}

func TestSyncRequestSettlesTheOwedPush(t *testing.T) {
	a, f := activatedAgent(t)
	s, err := a.newSession(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online", SyncID: "sync-0"}}
	if _, err := a.cycle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(f.pushes) != 1 || f.pushes[0].SyncID != "sync-0" || len(f.pushes[0].Values) != len(devicewire.DeviceSecretNames)+1 {
		t.Fatalf("pushes = %d, want one answering sync-0 with the CIK", len(f.pushes))
	}
	if a.State().NeedsPush {
		t.Error("the push is still owed")
	}
}

func TestCustomerSecretReceivedAndAcknowledged(t *testing.T) {
	a, f := activatedAgent(t)
	s, err := a.newSession(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	good := f.sealCustomer("msg-1", "DatabasePassword", "p@ss-customer")
	moved := f.sealCustomer("msg-2", "Other", "x")
	moved.Name = "Renamed" // the AAD binds the name: this one must not open
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online", CustomerSecrets: []devicewire.SealedSecret{good, moved}}}
	if _, err := a.cycle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	st := a.State()
	if len(st.CustomerSecrets) != 1 || st.CustomerSecrets[0].Name != "DatabasePassword" ||
		st.CustomerSecrets[0].Value.Reveal() != "p@ss-customer" || st.CustomerSecrets[0].ID != "msg-1" {
		t.Fatalf("customer secrets = %d stored", len(st.CustomerSecrets))
	}
	if len(f.acks) != 1 || strings.Join(f.acks[0], ",") != "msg-1" {
		t.Errorf("acks = %v, want [[msg-1]]", f.acks)
	}
	// A redelivery (the acknowledgement was lost) is stored once and acknowledged again.
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online", CustomerSecrets: []devicewire.SealedSecret{good}}}
	if _, err := a.cycle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if n := len(a.State().CustomerSecrets); n != 1 || len(f.acks) != 2 {
		t.Errorf("after redelivery: %d stored, %d acks", n, len(f.acks))
	}
}

func TestRunLoop(t *testing.T) {
	a, f := activatedAgent(t)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	f.answers = []devicewire.HeartbeatResponse{{Status: "Online"},
		{Status: "Online", SyncID: "sync-2", CustomerSecrets: []devicewire.SealedSecret{f.sealCustomer("m1", "Token", "customer-token-value")}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, RunOptions{Heartbeat: 50 * time.Millisecond}) }()
	f.waitEvent(t, "push")
	f.waitEvent(t, "ack")
	f.waitEvent(t, "push:sync-2")
	f.waitEvent(t, "heartbeat")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop")
	}
	for _, v := range secretValues(t, a) {
		if strings.Contains(logs.String(), v) {
			t.Error("the log holds a secret value")
		}
	}
	if !strings.Contains(logs.String(), "Token") {
		t.Error("the log does not name the received secret")
	}
}

func TestHealthLogsStateChangesOnly(t *testing.T) {
	a := initAgent(t)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	var h health
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for range 5 {
		h.failed(a, netErr)
	}
	h.failed(a, &APIError{StatusCode: 503, Code: "Unavailable", Message: "later"})
	h.failed(a, &APIError{StatusCode: 503, Code: "Unavailable", Message: "later"})
	h.ok(a)
	h.ok(a)
	if got := strings.Count(logs.String(), "cannot reach"); got != 2 {
		t.Errorf("%d failure lines, want 2 (one per change)\n%s", got, logs.String())
	}
	if got := strings.Count(logs.String(), "reachable again"); got != 1 {
		t.Errorf("%d recovery lines, want 1", got)
	}
}
