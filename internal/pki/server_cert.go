package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/dnsname"
)

const (
	// serverValidity stays under the CA/Browser Forum's 398-day ceiling,
	// which browsers and Apple platforms enforce even for private CAs'
	// leaves in some configurations.
	serverValidity = 397 * 24 * time.Hour

	// renewBefore is how long before expiry a server certificate is
	// reissued at start-up, so that a server restarted now and then never
	// serves an expired certificate.
	renewBefore = 30 * 24 * time.Hour
)

// serverIPs are the loopback addresses every generated certificate names,
// so that https://127.0.0.1:8443 works for tools that skip DNS.
var serverIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// ServerNames returns the DNS names a generated server certificate carries
// for dnsSuffix: the suffix, its wildcard, one name per surface host of
// DESIGN.md §3 and the wildcards for per-vault and per-account hosts, plus
// localhost and *.localhost when the suffix is something else, so that the
// server stays reachable locally. dnsSuffix must already be lowercase
// without a trailing dot.
func ServerNames(dnsSuffix string) []string {
	s := dnsSuffix
	names := []string{
		s, "*." + s,
		"login." + s, "management." + s, "device." + s, "portal." + s,
		"vault." + s, "*.vault." + s,
		"blob." + s, "*.blob." + s,
	}
	if s != "localhost" {
		names = append(names, "localhost", "*.localhost")
	}
	return names
}

// normalizeSuffix lowercases s, drops one trailing dot and checks that what
// remains is a DNS name that can carry the "management." prefix and still
// fit in 253 characters.
func normalizeSuffix(s string) (string, error) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" {
		return "", errors.New("pki: empty DNS suffix")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", fmt.Errorf("pki: DNS suffix %q is an IP address", s)
	}
	if len(s) > 253-len("management.") {
		return "", fmt.Errorf("pki: DNS suffix %q is too long", s)
	}
	for label := range strings.SplitSeq(s, ".") {
		if !dnsname.ValidLabel(label) {
			return "", fmt.Errorf("pki: DNS suffix %q: invalid label %q", s, label)
		}
	}
	return s, nil
}

// loadOrIssueServer returns the server certificate in dir when it is still
// good for suffix at now, and otherwise issues and stores a new one.
func loadOrIssueServer(dir string, ca *CA, suffix string, now time.Time) (tls.Certificate, error) {
	certPath := filepath.Join(dir, ServerCertFile)
	keyPath := filepath.Join(dir, ServerKeyFile)
	keyPEM, err := readKeyFile(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return issueServer(dir, ca, suffix, now)
	case err != nil:
		return tls.Certificate{}, err // mode too open, or unreadable: the operator must look
	}
	certPEM, err := os.ReadFile(certPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return issueServer(dir, ca, suffix, now)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("pki: %w", err)
	}
	// A pair that does not parse or does not match is what a crash between
	// writing server.key and server.pem leaves: reissue.
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil || !serverCertGood(cert.Leaf, ca, suffix, now) {
		return issueServer(dir, ca, suffix, now)
	}
	return cert, nil
}

// serverCertGood reports whether leaf was signed by ca, is valid now and for
// at least renewBefore more, and names exactly the hosts of suffix. Exact
// equality, not mere coverage, also retires names of an older suffix.
func serverCertGood(leaf *x509.Certificate, ca *CA, suffix string, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	if now.Before(leaf.NotBefore) || leaf.NotAfter.Sub(now) < renewBefore {
		return false
	}
	want := ServerNames(suffix)
	got := make([]string, len(leaf.DNSNames))
	for i, n := range leaf.DNSNames {
		got[i] = strings.ToLower(n)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) || len(leaf.IPAddresses) != len(serverIPs) {
		return false
	}
	for _, ip := range serverIPs {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// issueServer makes a new server key and certificate signed by ca and
// writes them, key first (see loadOrIssueServer for why the order matters).
func issueServer(dir string, ca *CA, suffix string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generate server key: %w", err)
	}
	notAfter := now.Add(serverValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter // a leaf outliving its CA fails verification anyway
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: suffix},
		NotBefore:   now.Add(-backdate),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    ServerNames(suffix),
		IPAddresses: serverIPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: create server certificate: %w", err)
	}
	keyPEM, err := encodeKeyPEM(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := encodeCertPEM(der)
	if err := writeFileAtomic(filepath.Join(dir, ServerKeyFile), keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ServerCertFile), certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: load new server certificate: %w", err)
	}
	return cert, nil
}
