package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	// caValidity is long because every device pins the CA: replacing it
	// means re-activating the fleet.
	caValidity = 10 // years

	// backdate is subtracted from NotBefore so that a client whose clock
	// runs a little behind the server's still accepts a fresh certificate.
	backdate = 5 * time.Minute
)

// CA is the server's local certificate authority. It holds its private key
// so that it can issue the server certificate and, later, device client
// certificates.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate

	key     *ecdsa.PrivateKey
	certPEM []byte
}

// Fingerprint returns the SHA-256 of the CA certificate's DER encoding, as
// lowercase hex. Activation keys carry it so that an agent can pin the
// server before it trusts anything else (DESIGN.md §5.2).
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Pool returns a new certificate pool holding only the CA certificate, for
// clients that verify the server and for the server when it verifies device
// client certificates.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// CertPEM returns the CA certificate in PEM form, as stored in ca.pem.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// LoadOrCreateCA returns the CA stored in dir (ca.pem and ca.key), creating
// it when neither file exists. The directory is created with mode 0700 if
// it does not exist.
//
// A ca.pem without its ca.key is an error: the key cannot be recovered and a
// new CA would silently break every device that pinned the old one. A
// ca.key without ca.pem is what a crash between the two writes leaves (the
// key is written first), and since nobody can have pinned a certificate that
// was never written, a new certificate is made for the existing key.
func LoadOrCreateCA(dir string, now time.Time) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: create directory: %w", err)
	}
	certPath := filepath.Join(dir, CACertFile)
	keyPath := filepath.Join(dir, CAKeyFile)

	keyPEM, err := readKeyFile(keyPath)
	keyMissing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !keyMissing {
		return nil, err
	}
	certPEM, err := os.ReadFile(certPath)
	certMissing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !certMissing {
		return nil, fmt.Errorf("pki: %w", err)
	}

	switch {
	case keyMissing && certMissing:
		return createCA(dir, now)
	case keyMissing:
		return nil, fmt.Errorf("pki: %s exists but %s is missing; restore the key, "+
			"or move both aside to create a new CA (devices pinned to the old CA must then be re-activated)",
			certPath, keyPath)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	if certMissing {
		return newCACert(dir, key, now)
	}
	return loadCA(certPath, certPEM, key, now)
}

// createCA makes a new CA key and certificate and writes them, key first.
func createCA(dir string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	keyPEM, err := encodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	return newCACert(dir, key, now)
}

// newCACert self-signs a CA certificate for key and writes it to ca.pem.
func newCACert(dir string, key *ecdsa.PrivateKey, now time.Time) (*CA, error) {
	var short [4]byte
	rand.Read(short[:]) // never fails (crypto/rand, Go 1.24+)
	tmpl := &x509.Certificate{
		// SerialNumber nil: x509 draws a random RFC 5280 serial.
		Subject:               pkix.Name{CommonName: "edgevault local CA " + hex.EncodeToString(short[:])},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caValidity, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA signs leaves only (server and device certificates), never
		// another CA: a stolen leaf key cannot mint certificates.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse new CA certificate: %w", err)
	}
	certPEM := encodeCertPEM(der)
	if err := writeFileAtomic(filepath.Join(dir, CACertFile), certPEM, 0o644); err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, certPEM: certPEM}, nil
}

// loadCA checks that a stored CA certificate is a usable CA for key.
func loadCA(path string, certPEM []byte, key *ecdsa.PrivateKey, now time.Time) (*CA, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", path)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("pki: %s does not match %s", path, CAKeyFile)
	}
	if !now.Before(cert.NotAfter) {
		return nil, fmt.Errorf("pki: the local CA in %s expired on %s; move %s and %s aside to create a new one "+
			"(devices must then be re-activated)", path, cert.NotAfter.UTC().Format(time.DateOnly), CACertFile, CAKeyFile)
	}
	// Re-encode rather than keep the file's bytes, so CertPEM never carries
	// whatever else someone appended to ca.pem.
	return &CA{Cert: cert, key: key, certPEM: encodeCertPEM(cert.Raw)}, nil
}
