package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"testing"
	"time"
)

func csrFor(t testing.TB, key any, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestDeviceCSRAndCertificate(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := csrFor(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}})
	for name, der := range map[string][]byte{
		"garbage":       []byte("not a csr"),
		"wrong subject": csrFor(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-2"}}),
		"extra subject": csrFor(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1", Organization: []string{"x"}}}),
		"SAN":           csrFor(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}, DNSNames: []string{"evil.example"}}),
		"URI SAN":       csrFor(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}, URIs: []*url.URL{DeviceURI("other")}}),
		"weak curve":    csrFor(t, p224, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}}),
		"weak RSA":      csrFor(t, rsa2048, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}}),
	} {
		if _, err := CheckDeviceCSR(der, "SN-1"); !errors.Is(err, ErrBadCSR) {
			t.Errorf("%s: err = %v, want ErrBadCSR", name, err)
		}
	}
	csr, err := CheckDeviceCSR(good, "SN-1")
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.SignDevice(csr, "SN-1", "uid-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	if DeviceUIDFromCert(cert) != "uid-1" || cert.Subject.CommonName != "SN-1" {
		t.Errorf("certificate names %q, CN %q", DeviceUIDFromCert(cert), cert.Subject.CommonName)
	}
	want, _ := KeyFingerprint(&p256.PublicKey)
	if got, _ := KeyFingerprint(cert.PublicKey); got != want {
		t.Error("certificate key is not the CSR's")
	}
}

// FuzzCheckDeviceCSR: CSRs from unauthenticated callers never panic the
// check, and whatever passes is signed by its own key with CN=serial.
func FuzzCheckDeviceCSR(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(csrFor(f, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "SN-1"}}), "SN-1")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, "SN-1")
	f.Fuzz(func(t *testing.T, der []byte, serial string) {
		csr, err := CheckDeviceCSR(der, serial)
		if err != nil {
			if !errors.Is(err, ErrBadCSR) {
				t.Fatalf("error %v is not ErrBadCSR", err)
			}
			return
		}
		if csr.Subject.CommonName != serial || csr.CheckSignature() != nil {
			t.Fatal("an unacceptable CSR passed")
		}
	})
}
