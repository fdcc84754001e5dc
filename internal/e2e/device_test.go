package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hpke"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/uuid"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// testDevice speaks the device API the way the agent does, with nothing
// but the standard library and devicewire: it pins the CA by the key's
// fingerprint, activates, then uses its certificate.
type testDevice struct {
	serial string
	key    *ecdsa.PrivateKey
	hpke   hpke.PrivateKey
	hpkePK []byte
	csr    []byte
	base   string
	caPool *x509.CertPool
	act    devicewire.ActivateResponse
	cik    []byte
	mtls   *http.Client
}

func newTestDevice(t testing.TB, serial string) *testDevice {
	t.Helper()
	d := &testDevice{serial: serial}
	var err error
	if d.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if d.hpke, d.hpkePK, err = devicewire.GenerateHPKEKey(); err != nil {
		t.Fatal(err)
	}
	if d.csr, err = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: serial}}, d.key); err != nil {
		t.Fatal(err)
	}
	return d
}

// loopback dials *.localhost on 127.0.0.1.
func loopback(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, _ := net.SplitHostPort(addr)
	return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
}

func (d *testDevice) client(certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: loopback, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: d.caPool, Certificates: certs}}}
}

// pin fetches the CA and checks it against the key, as the agent does.
func (d *testDevice) pin(t testing.TB, key string) activationkey.Key {
	t.Helper()
	k, err := activationkey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	d.base = strings.TrimSuffix(k.URL, "/")
	insecure := &http.Client{Transport: &http.Transport{DialContext: loopback, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer insecure.CloseIdleConnections()
	resp, err := insecure.Get(d.base + devicewire.PathCA)
	if err != nil {
		t.Fatal(err)
	}
	pemData, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d.caPool = x509.NewCertPool()
	if !d.caPool.AppendCertsFromPEM(pemData) {
		t.Fatal("no CA in the answer")
	}
	return k
}

// activate posts the key; it returns the status and error code.
func (d *testDevice) activate(t testing.TB, key string) (int, string) {
	t.Helper()
	k := d.pin(t, key)
	body, _ := json.Marshal(devicewire.ActivateRequest{ActivationKey: key, SerialNumber: d.serial, CSR: d.csr, HPKEPublicKey: d.hpkePK})
	c := d.client()
	defer c.CloseIdleConnections()
	resp, err := c.Post(d.base+devicewire.PathActivate, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e devicewire.Error
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Code
	}
	if err := json.Unmarshal(b, &d.act); err != nil {
		t.Fatal(err)
	}
	if d.cik, err = devicewire.OpenCIK(d.hpke, d.act.ResourceID, k.KeyID, d.act.SealedCIK); err != nil {
		t.Fatal(err)
	}
	der, err := x509.ParseCertificate(pemBlock(t, d.act.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	if d.mtls != nil {
		d.mtls.CloseIdleConnections()
	}
	d.mtls = d.client(tls.Certificate{Certificate: [][]byte{der.Raw}, PrivateKey: d.key, Leaf: der})
	return resp.StatusCode, ""
}

func pemBlock(t testing.TB, s string) []byte {
	t.Helper()
	pool := []byte(s)
	i := bytes.Index(pool, []byte("-----BEGIN CERTIFICATE-----"))
	if i < 0 {
		t.Fatal("no certificate")
	}
	var out []byte
	rest := pool[i:]
	for _, line := range strings.Split(string(rest), "\n")[1:] {
		if strings.HasPrefix(line, "-----END") {
			break
		}
		out = append(out, line...)
	}
	der := make([]byte, len(out))
	n, err := base64.StdEncoding.Decode(der, out)
	if err != nil {
		t.Fatal(err)
	}
	return der[:n]
}

// call posts a message over mTLS and decodes the answer.
func (d *testDevice) call(t testing.TB, path string, req, out any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := d.mtls.Post(d.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e devicewire.Error
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Code
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, ""
}

// pushRequest seals secrets for one push.
func (d *testDevice) pushRequest(t testing.TB, syncID string, secrets map[string]string) devicewire.PushRequest {
	t.Helper()
	req := devicewire.PushRequest{PushID: uuid.NewString(), SyncID: syncID}
	for name, v := range secrets {
		ct, err := devicewire.SealSecret(d.cik, d.act.ResourceID, name, req.PushID, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		req.Secrets = append(req.Secrets, devicewire.SealedSecret{Name: name, Ciphertext: ct})
	}
	return req
}

func TestDeviceAPI(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	e.group(t, "dev-rg")
	e.createDevice(t, "dev-rg", "dbe-dev")
	res := e.generate(t, "dev-rg", "dbe-dev", "")
	dev := newTestDevice(t, "SN-0001")
	if code, ec := dev.activate(t, res.ActivationKey); code != http.StatusOK {
		t.Fatalf("activate: %d %s", code, ec)
	}
	// A retry by the same device gets the same answer; another device is
	// refused with ActivationKeyUsed.
	if code, ec := dev.activate(t, res.ActivationKey); code != http.StatusOK {
		t.Fatalf("retry: %d %s", code, ec)
	}
	if code, ec := newTestDevice(t, "SN-0002").activate(t, res.ActivationKey); code != http.StatusConflict || ec != "ActivationKeyUsed" {
		t.Fatalf("other device: %d %s", code, ec)
	}
	var hb devicewire.HeartbeatResponse
	if code, ec := dev.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{}, &hb); code != http.StatusOK || hb.Status != "Online" {
		t.Fatalf("heartbeat: %d %s %+v", code, ec, hb)
	}
	push := dev.pushRequest(t, "", map[string]string{devicewire.SystemVolumeBitLockerRecoveryKey: "111111-222222", devicewire.BMCDefaultUserPassword: "Pa55w0rd!"})
	var pr devicewire.PushResponse
	if code, ec := dev.call(t, devicewire.PathSecrets, push, &pr); code != http.StatusOK || pr.SyncStatus != "KeyVaultSynced" {
		t.Fatalf("push: %d %s %+v", code, ec, pr)
	}
	if code, ec := dev.call(t, devicewire.PathSecrets, push, nil); code != http.StatusConflict || ec != "PushReplayed" {
		t.Fatalf("replayed push: %d %s", code, ec)
	}
	info, err := e.devices.GetExtendedInformation(context.Background(), "dbe-dev", "dev-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref := info.Properties.DeviceSecrets[devicewire.SystemVolumeBitLockerRecoveryKey]; ref == nil || !strings.HasPrefix(*ref.KeyVaultID, "secrets/SystemVolumeBitLockerRecoveryKey/") {
		t.Fatalf("deviceSecrets = %+v", info.Properties.DeviceSecrets)
	}
}

// beginSync posts syncDeviceSecrets and returns azcore's poller.
func (e *edgeEnv) beginSync(t *testing.T, group, name string) *runtime.Poller[map[string]any] {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, e.deviceURL(group, name, "/syncDeviceSecrets"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.pl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusAccepted) {
		t.Fatal(runtime.NewResponseError(resp))
	}
	p, err := runtime.NewPoller(resp, e.pl, &runtime.NewPollerOptions[map[string]any]{FinalStateVia: runtime.FinalStateViaLocation})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeviceSyncAndCustomerSecrets(t *testing.T) {
	srv := startInProcess(t, t.TempDir(), "127.0.0.1:0", io.Discard)
	e := newEdgeEnv(t, srv, srv.boot.ServicePrincipal.ClientID, srv.boot.ServicePrincipal.ClientSecret)
	ctx := context.Background()
	e.group(t, "sync-rg")
	e.createDevice(t, "sync-rg", "dbe-sync")
	res := e.generate(t, "sync-rg", "dbe-sync", "")
	dev := newTestDevice(t, "SN-SYNC")
	if code, ec := dev.activate(t, res.ActivationKey); code != http.StatusOK {
		t.Fatalf("activate: %d %s", code, ec)
	}
	// Sync: the operation waits for the device, which learns of it by
	// long-poll and pushes everything, the CIK included.
	p := e.beginSync(t, "sync-rg", "dbe-sync")
	var hb devicewire.HeartbeatResponse
	if code, ec := dev.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{WaitSeconds: 5}, &hb); code != http.StatusOK || hb.SyncID == "" {
		t.Fatalf("heartbeat: %d %s %+v", code, ec, hb)
	}
	push := dev.pushRequest(t, hb.SyncID, map[string]string{devicewire.BMCDefaultUserPassword: "Pa55w0rd!", devicewire.ChannelIntegrityKey: string(dev.cik)})
	if code, ec := dev.call(t, devicewire.PathSecrets, push, nil); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, ec)
	}
	out, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond})
	if err != nil || out["keyVaultSyncStatus"] != "KeyVaultSynced" {
		t.Fatalf("sync = %v, %v", out, err)
	}
	// A customer secret reaches the device sealed under the CIK, once.
	var sent struct{ ID, State string }
	if code := e.raw(t, http.MethodPost, e.deviceURL("sync-rg", "dbe-sync", "/sendSecret"), map[string]string{"name": "WifiPassword", "value": "s3cret-wifi"}, &sent); code != http.StatusOK || sent.State != "Queued" {
		t.Fatalf("sendSecret: %d %+v", code, sent)
	}
	hb = devicewire.HeartbeatResponse{}
	if code, ec := dev.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{}, &hb); code != http.StatusOK || len(hb.CustomerSecrets) != 1 {
		t.Fatalf("heartbeat: %d %s %+v", code, ec, hb)
	}
	cs := hb.CustomerSecrets[0]
	v, err := devicewire.OpenSecret(dev.cik, dev.act.ResourceID, cs.Name, cs.ID, cs.Ciphertext)
	if err != nil || string(v) != "s3cret-wifi" || cs.ID != sent.ID {
		t.Fatalf("customer secret %q opens to %q, %v", cs.Name, v, err)
	}
	if code, ec := dev.call(t, devicewire.PathCustomerSecrets, devicewire.AckRequest{IDs: []string{cs.ID}}, nil); code != http.StatusNoContent {
		t.Fatalf("ack: %d %s", code, ec)
	}
	hb = devicewire.HeartbeatResponse{}
	if dev.call(t, devicewire.PathHeartbeat, devicewire.HeartbeatRequest{}, &hb); len(hb.CustomerSecrets) != 0 {
		t.Fatalf("acknowledged secret delivered again: %+v", hb.CustomerSecrets)
	}
	// Without its certificate, the device API refuses.
	anon := dev.client()
	resp, err := anon.Post(dev.base+devicewire.PathHeartbeat, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("heartbeat without a certificate: %d", resp.StatusCode)
	}
}
