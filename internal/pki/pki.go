// Package pki owns the server's local certificate authority and the TLS
// certificate the server presents when the operator brings none.
//
// On first start LoadOrCreate writes, into one directory (normally
// <data-dir>/tls):
//
//	ca.pem      the local CA certificate (what clients trust and pin)
//	ca.key      its private key, mode 0600
//	server.pem  the server certificate, signed by the CA
//	server.key  its private key, mode 0600
//
// Invariants:
//   - The CA is created once and never replaced behind the operator's back:
//     devices pin its SHA-256 fingerprint (DESIGN.md §5.2), so a missing CA
//     key next to an existing CA certificate is an error, not a reason to
//     mint a new CA.
//   - The server certificate is disposable: it is reissued by the same CA
//     whenever it is missing, unreadable, near expiry or does not name every
//     host of the current DNS suffix (DESIGN.md §3).
//   - Every file is written atomically (temp file, fsync, rename, fsync of
//     the directory), so a crash leaves the old file or the new one, and key
//     files are never readable by anyone but the owner: a key file whose mode
//     is more open than 0600 is refused rather than silently used.
//
// The CA keeps its private key loaded so that it can later sign device
// client certificates for mTLS.
package pki

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"
)

// File names inside the directory given to LoadOrCreate.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server.key"
)

// Bundle is the local CA together with the server certificate it issued.
type Bundle struct {
	// CA is the local certificate authority, private key included.
	CA *CA
	// Server is the server certificate and key, with Leaf set.
	Server tls.Certificate
	// Dir is the absolute path of the directory holding the files.
	Dir string
}

// LoadOrCreate returns the CA and server certificate stored in dir, creating
// whatever is missing. dnsSuffix is the server's DNS suffix (DESIGN.md §3);
// now is the current time, injected so that expiry logic is testable.
//
// The directory is created with mode 0700 if it does not exist.
func LoadOrCreate(dir, dnsSuffix string, now time.Time) (*Bundle, error) {
	suffix, err := normalizeSuffix(dnsSuffix)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	ca, err := LoadOrCreateCA(abs, now)
	if err != nil {
		return nil, err
	}
	server, err := loadOrIssueServer(abs, ca, suffix, now)
	if err != nil {
		return nil, err
	}
	return &Bundle{CA: ca, Server: server, Dir: abs}, nil
}

// CACertFile returns the absolute path of the CA certificate, the file that
// bootstrap.json publishes as caCertFile for clients to trust.
func (b *Bundle) CACertFile() string { return filepath.Join(b.Dir, CACertFile) }

// TLSConfig returns the server's TLS configuration with the bundle's server
// certificate; see ServerTLSConfig.
func (b *Bundle) TLSConfig() *tls.Config { return ServerTLSConfig(b.Server) }

// ServerTLSConfig returns a TLS configuration for the server that presents
// cert. It leaves cipher suites, curves and session tickets at Go's defaults,
// which track current best practice better than a hand-kept list would, and
// only raises the floor to TLS 1.2: the Azure SDKs and every supported
// browser speak 1.2 or 1.3, and nothing older is safe.
//
// NextProtos is left empty on purpose: http.Server.ServeTLS adds "h2" and
// "http/1.1" itself. A caller that wraps a listener with tls.NewListener must
// set NextProtos to offer HTTP/2.
func ServerTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
}

// LoadFiles loads an operator-provided certificate chain and private key
// (--tls-cert and --tls-key), both PEM. The chain is the leaf first, then
// any intermediates. Leaf is set on the result.
//
// Unlike the generated key files, the key file's mode is not checked:
// operator files are often mounted by other tools (Kubernetes secrets are
// 0644 by default, behind symlinks), and refusing them would only push
// operators to copy the key somewhere less controlled.
func LoadFiles(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: load %s and %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}
