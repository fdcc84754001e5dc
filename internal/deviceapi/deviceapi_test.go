package deviceapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/pki"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// refusingActivator refuses every key as unknown: the fuzz target looks at
// what the handler does with bodies before and around activation.
type refusingActivator struct{}

func (refusingActivator) Activate(context.Context, activationkey.Key, string, string) (activation.Activation, error) {
	return activation.Activation{}, activation.ErrKeyInvalid
}

func (refusingActivator) CIK(context.Context, edge.Device) ([]byte, error) {
	return nil, errkind.E(errkind.Conflict, "no CIK")
}

type noDevices struct{}

func (noDevices) ByUID(context.Context, string) (edge.Device, error) {
	return edge.Device{}, errkind.E(errkind.NotFound, "none")
}
func (noDevices) Heartbeat(context.Context, edge.Device) (edge.Device, error) {
	return edge.Device{}, errkind.E(errkind.NotFound, "none")
}
func (noDevices) BeginPush(context.Context, resource.ID, string) (edge.Device, error) {
	return edge.Device{}, errkind.E(errkind.NotFound, "none")
}
func (noDevices) FinishPush(context.Context, resource.ID, edge.PushOutcome) (edge.Device, error) {
	return edge.Device{}, errkind.E(errkind.NotFound, "none")
}
func (noDevices) AckCustomerSecrets(context.Context, resource.ID, []string) (edge.Device, error) {
	return edge.Device{}, errkind.E(errkind.NotFound, "none")
}

func (noDevices) Watch(string) <-chan struct{} { return make(chan struct{}) }

type noVault struct{}

func (noVault) GetSecretAs(context.Context, string, string, string, string) (sensitive.String, error) {
	return sensitive.String{}, errkind.E(errkind.NotFound, "none")
}
func (noVault) SetSecretAs(context.Context, string, string, string, sensitive.String) (string, error) {
	return "", errkind.E(errkind.NotFound, "none")
}

func newTestHandler(t testing.TB) (*Handler, []byte) {
	ca, err := pki.LoadOrCreateCA(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Activator: refusingActivator{}, Devices: noDevices{}, Vault: noVault{}, CA: ca,
		TrustPEM: ca.CertPEM(), TrustDER: ca.Cert.Raw}), ca.Cert.Raw
}

// FuzzActivate: whatever an unauthenticated caller posts to the device
// host, the answer is a 4xx in the device API's error shape, never a
// panic or a 5xx.
func FuzzActivate(f *testing.F) {
	h, caDER := newTestHandler(f)
	key := activationkey.Key{URL: "https://device.localhost:8443/", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/d",
		KeyID: "0f8fad5b-d9cb-469f-a165-70867728950e", Expiry: time.Now().Add(time.Hour), CAFingerprint: sha256.Sum256(caDER)}
	good, _ := json.Marshal(devicewire.ActivateRequest{ActivationKey: activationkey.Format(key), SerialNumber: "SN-1", CSR: []byte{1}, HPKEPublicKey: []byte{1}})
	f.Add(good, devicewire.PathActivate)
	f.Add([]byte(`{}`), devicewire.PathActivate)
	f.Add([]byte(`{"pushId":"x","secrets":[]}`), devicewire.PathSecrets)
	f.Add([]byte(`[`), devicewire.PathHeartbeat)
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		req := httptest.NewRequest(http.MethodPost, "https://device.localhost"+devicewire.PathActivate, bytes.NewReader(body))
		if path == devicewire.PathSecrets || path == devicewire.PathHeartbeat || path == devicewire.PathCustomerSecrets {
			req = httptest.NewRequest(http.MethodPost, "https://device.localhost"+path, bytes.NewReader(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("POST %s answered %d, want a 4xx", req.URL.Path, rec.Code)
		}
		var e devicewire.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
			t.Fatalf("answer is not the device API's error shape: %q", rec.Body.String())
		}
	})
}

func TestActivateRefusals(t *testing.T) {
	h, caDER := newTestHandler(t)
	post := func(body any) (int, string) {
		b, _ := json.Marshal(body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "https://device.localhost"+devicewire.PathActivate, bytes.NewReader(b)))
		var e devicewire.Error
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		return rec.Code, e.Error.Code
	}
	key := activationkey.Key{URL: "https://device.localhost:8443/", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/d",
		KeyID: "0f8fad5b-d9cb-469f-a165-70867728950e", Expiry: time.Now().Add(time.Hour), CAFingerprint: sha256.Sum256(caDER)}
	foreign := key
	foreign.CAFingerprint = sha256.Sum256([]byte("another server"))
	expired := key
	expired.Expiry = time.Now().Add(-time.Hour)
	devKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}}, devKey)
	for name, tc := range map[string]struct {
		req  devicewire.ActivateRequest
		code string
	}{
		"malformed key": {devicewire.ActivateRequest{ActivationKey: "evak1_!!", SerialNumber: "SN-1"}, "ActivationKeyMalformed"},
		"foreign key":   {devicewire.ActivateRequest{ActivationKey: activationkey.Format(foreign), SerialNumber: "SN-1"}, "ActivationKeyForOtherServer"},
		"bad serial":    {devicewire.ActivateRequest{ActivationKey: activationkey.Format(key), SerialNumber: "SN 1"}, "InvalidSerialNumber"},
		"bad CSR":       {devicewire.ActivateRequest{ActivationKey: activationkey.Format(key), SerialNumber: "SN-1", CSR: []byte("x")}, "InvalidCertificateRequest"},
		"expired":       {devicewire.ActivateRequest{ActivationKey: activationkey.Format(expired), SerialNumber: "SN-1", CSR: csr, HPKEPublicKey: []byte{1}}, "ActivationKeyExpired"},
		"no HPKE key":   {devicewire.ActivateRequest{ActivationKey: activationkey.Format(key), SerialNumber: "SN-1", CSR: csr}, "InvalidHPKEPublicKey"},
		"unknown key":   {devicewire.ActivateRequest{ActivationKey: activationkey.Format(key), SerialNumber: "SN-1", CSR: csr, HPKEPublicKey: []byte{1}}, "ActivationKeyInvalid"},
	} {
		if status, code := post(tc.req); status/100 != 4 || code != tc.code {
			t.Errorf("%s: %d %s, want 4xx %s", name, status, code, tc.code)
		}
	}
}
