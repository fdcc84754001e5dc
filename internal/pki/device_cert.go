package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// DeviceValidity is how long a device certificate is valid (bounded by
// the CA's own validity).
const DeviceValidity = 3 * 365 * 24 * time.Hour

// ErrBadCSR is the cause of every refusal of a device's CSR.
var ErrBadCSR = errors.New("pki: the certificate signing request is not acceptable")

// DeviceURI is the URI SAN naming a device in its certificate.
func DeviceURI(deviceUID string) *url.URL {
	return &url.URL{Scheme: "urn", Opaque: "edgevault:device:" + deviceUID}
}

// DeviceUIDFromCert returns the device UID a device certificate names, or
// "" when it names none.
func DeviceUIDFromCert(c *x509.Certificate) string {
	for _, u := range c.URIs {
		if u.Scheme == "urn" && len(u.Opaque) > len("edgevault:device:") && u.Opaque[:len("edgevault:device:")] == "edgevault:device:" {
			return u.Opaque[len("edgevault:device:"):]
		}
	}
	return ""
}

// KeyFingerprint is the SHA-256 of a public key's PKIX encoding, as
// lowercase hex: how a device is recognised by its key.
func KeyFingerprint(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// CheckDeviceCSR parses a device's CSR and checks its signature, its key
// (ECDSA P-256 or stronger, or RSA of 3072 bits or more) and that its
// subject is CN=serial and nothing else.
func CheckDeviceCSR(der []byte, serial string) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: it does not parse", ErrBadCSR)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: its signature does not verify", ErrBadCSR)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return nil, fmt.Errorf("%w: use an ECDSA key on P-256, P-384 or P-521", ErrBadCSR)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 3072 {
			return nil, fmt.Errorf("%w: an RSA key must have at least 3072 bits", ErrBadCSR)
		}
	default:
		return nil, fmt.Errorf("%w: use an ECDSA or RSA key", ErrBadCSR)
	}
	s := csr.Subject
	if s.CommonName != serial || len(s.Country)+len(s.Organization)+len(s.OrganizationalUnit)+len(s.Locality)+
		len(s.Province)+len(s.StreetAddress)+len(s.PostalCode)+len(s.ExtraNames) > 0 || s.SerialNumber != "" {
		return nil, fmt.Errorf("%w: its subject must be CN=<serial number> and nothing else", ErrBadCSR)
	}
	if len(csr.DNSNames)+len(csr.EmailAddresses)+len(csr.IPAddresses)+len(csr.URIs) > 0 {
		return nil, fmt.Errorf("%w: it must not request subject alternative names", ErrBadCSR)
	}
	return csr, nil
}

// SignDevice issues a client certificate for a checked CSR: subject
// CN=serial, the device's URI SAN, client authentication only.
func (ca *CA) SignDevice(csr *x509.CertificateRequest, serial, deviceUID string, now time.Time) ([]byte, error) {
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(DeviceValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: serial},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{DeviceURI(deviceUID)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign device certificate: %w", err)
	}
	return der, nil
}

// EncodeCertPEM returns a certificate's DER as PEM.
func EncodeCertPEM(der []byte) []byte { return encodeCertPEM(der) }
