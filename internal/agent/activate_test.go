package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// activatedAgent returns an appliance activated against a new fake.
func activatedAgent(t *testing.T) (*Agent, *fakeDevice) {
	t.Helper()
	f := newFakeDevice(t)
	a := initAgent(t)
	if _, err := a.Activate(context.Background(), f.key(time.Now().Add(time.Hour)), false); err != nil {
		t.Fatal(err)
	}
	return a, f
}

func TestActivateSuccess(t *testing.T) {
	f := newFakeDevice(t)
	a := initAgent(t)
	res, err := a.Activate(context.Background(), "  "+f.key(time.Now().Add(time.Hour))+"\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResourceID != testResourceID || res.VaultURI != testVaultURI || res.CIKName != "ase-cik-1" {
		t.Errorf("result = %+v", res)
	}
	// What was saved survives a reload.
	b, err := Open(Config{DataDir: a.dir})
	if err != nil {
		t.Fatal(err)
	}
	st := b.State()
	act := st.Activation
	if act == nil || st.Pending != nil || !st.NeedsPush || st.ActivationState() != Activated {
		t.Fatalf("state after activation: %s, pending %v, needsPush %v", st.ActivationState(), st.Pending != nil, st.NeedsPush)
	}
	if act.CIK.Reveal() != string(f.cik) {
		t.Error("the stored CIK is not the one the server sealed")
	}
	if act.CAPEM != string(f.caPEM) || act.ResourceID != testResourceID || act.KeyID != testKeyID ||
		act.DeviceAPIURL != f.srv.URL+"/" || act.CIKVersion != "v1" || act.VaultURI != testVaultURI {
		t.Errorf("activation record = %+v", act)
	}
	cert, err := deviceCertificate(act)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf.Subject.CommonName != "SN-0001" || !f.devicePub.(*ecdsa.PublicKey).Equal(cert.Leaf.PublicKey) {
		t.Error("the stored certificate is not the device's")
	}
	// Activated once, it refuses another activation without --force.
	if _, err := b.Activate(context.Background(), f.key(time.Now().Add(time.Hour)), false); err == nil ||
		!strings.Contains(err.Error(), "already activated") {
		t.Errorf("second activation: %v, want a refusal", err)
	}
}

func TestActivateCAMismatchRefused(t *testing.T) {
	f := newFakeDevice(t)
	_, other, _ := newCA(t, "someone else's CA")
	k, _ := activationkey.Parse(f.key(time.Now().Add(time.Hour)))
	k.CAFingerprint = sha256.Sum256(other.Raw)
	a := initAgent(t)
	_, err := a.Activate(context.Background(), activationkey.Format(k), false)
	if err == nil || !strings.Contains(err.Error(), "CA fingerprint mismatch") {
		t.Fatalf("Activate = %v, want a CA fingerprint mismatch", err)
	}
	if !strings.Contains(err.Error(), f.srv.URL) {
		t.Errorf("error %q does not name the server", err)
	}
	if f.activateCalls != 0 {
		t.Errorf("%d requests reached %s after the mismatch", f.activateCalls, devicewire.PathActivate)
	}
	if st := a.State(); st.ActivationState() != NotActivated {
		t.Errorf("state %s after a refused activation", st.ActivationState())
	}
}

func TestActivateExpiredKeyRefusedLocally(t *testing.T) {
	f := newFakeDevice(t)
	a := initAgent(t)
	now := time.Now()
	a.now = func() time.Time { return now }
	_, err := a.Activate(context.Background(), f.key(now.Add(-time.Second)), false)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Activate = %v, want an expiry error", err)
	}
	if f.caCalls+f.activateCalls != 0 {
		t.Error("an expired key was sent to the server")
	}
	if _, err := a.Activate(context.Background(), "evak1_bogus", false); !errors.Is(err, activationkey.ErrMalformed) {
		t.Errorf("malformed key: %v", err)
	}
}

func TestActivateRetryAfterLostAnswer(t *testing.T) {
	f := newFakeDevice(t)
	f.dropActivate = 1
	a := initAgent(t)
	key := f.key(time.Now().Add(time.Hour))
	_, err := a.Activate(context.Background(), key, false)
	if err == nil || !strings.Contains(err.Error(), "retrying reuses them") {
		t.Fatalf("first Activate = %v, want a network error", err)
	}
	if st := a.State(); st.ActivationState() != ActivationPending || st.Pending.KeyID != testKeyID {
		t.Fatalf("state after a lost answer: %s", st.ActivationState())
	}
	// A restart in between: the pending keys come from the state file.
	b, err := Open(Config{DataDir: a.dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Activate(context.Background(), key, false); err != nil {
		t.Fatalf("retry: %v (the fake refuses a different device or HPKE key)", err)
	}
	if f.activateCalls != 2 {
		t.Errorf("activate calls = %d, want 2", f.activateCalls)
	}
	if b.State().Activation.CIK.Reveal() != string(f.cik) {
		t.Error("the retry did not store the CIK")
	}
}

func TestActivateServerError(t *testing.T) {
	f := newFakeDevice(t)
	f.activateErr = &devicewire.Error{Error: devicewire.ErrorBody{Code: "ActivationKeyAlreadyUsed",
		Message: "The activation key was used on 2026-01-01 by device SN-9."}}
	a := initAgent(t)
	_, err := a.Activate(context.Background(), f.key(time.Now().Add(time.Hour)), false)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "ActivationKeyAlreadyUsed" || apiErr.StatusCode != 409 {
		t.Fatalf("Activate = %v, want the server's error", err)
	}
	if !strings.Contains(err.Error(), "ActivationKeyAlreadyUsed") || !strings.Contains(err.Error(), "by device SN-9") {
		t.Errorf("error %q does not show the code and message", err)
	}
}

func TestActivateForceStartsOver(t *testing.T) {
	a, f := activatedAgent(t)
	oldKey := a.State().Activation.DeviceKey.Reveal()
	f.mu.Lock()
	f.devicePub, f.hpkePub = nil, nil // the service issued a new key
	f.mu.Unlock()
	if _, err := a.Activate(context.Background(), f.key(time.Now().Add(time.Hour)), true); err != nil {
		t.Fatal(err)
	}
	if a.State().Activation.DeviceKey.Reveal() == oldKey {
		t.Error("--force kept the old device key")
	}
}
