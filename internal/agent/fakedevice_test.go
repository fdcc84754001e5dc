package agent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/devicewire"
)

const (
	testResourceID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/edge1"
	testKeyID      = "0b8c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
	testVaultURI   = "https://edge1-kv.vault.localhost:8443/"
)

// fakeDevice is an in-test device API that follows devicewire: a CA made
// for the test signs its TLS certificate and the device's CSR.
type fakeDevice struct {
	t      *testing.T
	srv    *httptest.Server
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	cik    []byte
	secret [32]byte // the activation key's secret

	mu            sync.Mutex
	caCalls       int
	activateCalls int
	devicePub     crypto.PublicKey // the first activation's device key
	hpkePub       []byte
	dropActivate  int               // drop this many activation answers
	activateErr   *devicewire.Error // answer activations with this, as 409
	heartbeats    int
	answers       []devicewire.HeartbeatResponse // next heartbeat answers
	pushes        []openedPush
	acks          [][]string
	events        chan string // "push", "push:<syncId>", "ack", "heartbeat"
}

// openedPush is a push the fake opened with the CIK.
type openedPush struct {
	devicewire.PushRequest
	Values map[string]string
}

func newFakeDevice(t *testing.T) *fakeDevice {
	t.Helper()
	f := &fakeDevice{t: t, events: make(chan string, 1000)}
	f.caKey, f.ca, f.caPEM = newCA(t, "fake edgevault CA")
	f.cik = make([]byte, devicewire.CIKSize)
	rand.Read(f.cik)
	rand.Read(f.secret[:])

	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "device.localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"device.localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, &srvKey.PublicKey, f.caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(f.ca)
	f.srv = httptest.NewUnstartedServer(f.handler())
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: srvKey}},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func newCA(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// key returns an activation key for the fake, expiring at exp.
func (f *fakeDevice) key(exp time.Time) string {
	return activationkey.Format(activationkey.Key{URL: f.srv.URL + "/", ResourceID: testResourceID, KeyID: testKeyID,
		Expiry: exp, CAFingerprint: sha256.Sum256(f.ca.Raw), Secret: f.secret})
}

func (f *fakeDevice) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(devicewire.Error{Error: devicewire.ErrorBody{Code: code, Message: msg}})
}

func (f *fakeDevice) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+devicewire.PathCA, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.caCalls++
		f.mu.Unlock()
		w.Write(f.caPEM)
	})
	mux.HandleFunc("POST "+devicewire.PathActivate, f.activate)
	mux.HandleFunc("POST "+devicewire.PathHeartbeat, f.device(f.heartbeat))
	mux.HandleFunc("POST "+devicewire.PathSecrets, f.device(f.push))
	mux.HandleFunc("POST "+devicewire.PathCustomerSecrets, f.device(f.ack))
	return mux
}

func (f *fakeDevice) activate(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.activateCalls++
	if f.activateErr != nil {
		f.fail(w, http.StatusConflict, f.activateErr.Error.Code, f.activateErr.Error.Message)
		return
	}
	var req devicewire.ActivateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.fail(w, 400, "BadRequest", "not JSON")
		return
	}
	k, err := activationkey.Parse(req.ActivationKey)
	if err != nil || k.Secret != f.secret || k.KeyID != testKeyID {
		f.fail(w, 400, "InvalidActivationKey", "the activation key is not valid")
		return
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != req.SerialNumber {
		f.fail(w, 400, "InvalidCSR", "the CSR is not valid")
		return
	}
	pub := csr.PublicKey.(*ecdsa.PublicKey)
	if f.devicePub == nil {
		f.devicePub, f.hpkePub = pub, req.HPKEPublicKey
	} else if !pub.Equal(f.devicePub) || string(req.HPKEPublicKey) != string(f.hpkePub) {
		f.fail(w, 409, "ActivationKeyAlreadyUsed", "the activation key was already used by another device")
		return
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(100 + f.activateCalls)), Subject: csr.Subject,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, pub, f.caKey)
	if err != nil {
		f.t.Error(err)
		return
	}
	sealed, err := devicewire.SealCIK(req.HPKEPublicKey, testResourceID, testKeyID, f.cik)
	if err != nil {
		f.fail(w, 400, "InvalidHPKEKey", err.Error())
		return
	}
	if f.dropActivate > 0 {
		f.dropActivate--
		panic(http.ErrAbortHandler) // the answer is lost on the way
	}
	json.NewEncoder(w).Encode(devicewire.ActivateResponse{ResourceID: testResourceID, KeyID: testKeyID,
		Certificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), CABundle: string(f.caPEM),
		SealedCIK: sealed, CIKName: "ase-cik-1", CIKVersion: "v1", VaultURI: testVaultURI})
}

// device requires the activated device's client certificate.
func (f *fakeDevice) device(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		pub := f.devicePub
		f.mu.Unlock()
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || pub == nil ||
			!pub.(*ecdsa.PublicKey).Equal(r.TLS.PeerCertificates[0].PublicKey) {
			f.fail(w, 401, "DeviceCertificateRequired", "present the device certificate")
			return
		}
		h(w, r)
	}
}

func (f *fakeDevice) heartbeat(w http.ResponseWriter, r *http.Request) {
	var req devicewire.HeartbeatRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.heartbeats++
	resp := devicewire.HeartbeatResponse{Status: "Online", HeartbeatSeconds: 10}
	if len(f.answers) > 0 {
		resp, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(resp)
	f.emit("heartbeat")
}

func (f *fakeDevice) push(w http.ResponseWriter, r *http.Request) {
	var req devicewire.PushRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.fail(w, 400, "BadRequest", "not JSON")
		return
	}
	p := openedPush{PushRequest: req, Values: map[string]string{}}
	var resp devicewire.PushResponse
	for _, s := range req.Secrets {
		v, err := devicewire.OpenSecret(f.cik, testResourceID, s.Name, req.PushID, s.Ciphertext)
		if err != nil {
			f.t.Errorf("push %s: secret %s does not open with the CIK and its AAD", req.PushID, s.Name)
			resp.Secrets = append(resp.Secrets, devicewire.PushResult{Name: s.Name, Error: "does not open"})
			continue
		}
		p.Values[s.Name] = string(v)
		resp.Secrets = append(resp.Secrets, devicewire.PushResult{Name: s.Name, KeyVaultID: "secrets/" + s.Name + "/v1"})
	}
	resp.SyncStatus = "KeyVaultSynced"
	f.mu.Lock()
	f.pushes = append(f.pushes, p)
	f.mu.Unlock()
	json.NewEncoder(w).Encode(resp)
	if req.SyncID != "" {
		f.emit("push:" + req.SyncID)
	} else {
		f.emit("push")
	}
}

func (f *fakeDevice) ack(w http.ResponseWriter, r *http.Request) {
	var req devicewire.AckRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.acks = append(f.acks, req.IDs)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	f.emit("ack")
}

// sealCustomer seals a customer secret as the service sends it.
func (f *fakeDevice) sealCustomer(id, name, value string) devicewire.SealedSecret {
	c, err := devicewire.SealSecret(f.cik, testResourceID, name, id, []byte(value))
	if err != nil {
		f.t.Fatal(err)
	}
	return devicewire.SealedSecret{ID: id, Name: name, Ciphertext: c}
}

// waitEvent waits for the fake to report want, skipping other events.
func (f *fakeDevice) waitEvent(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-f.events:
			if e == want {
				return
			}
		case <-timeout:
			t.Fatalf("the fake device API did not see %q", want)
		}
	}
}

// emit reports an event without ever blocking the handler.
func (f *fakeDevice) emit(e string) {
	select {
	case f.events <- e:
	default:
	}
}
