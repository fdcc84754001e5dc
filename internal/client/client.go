// Package client is how edgevault's own programs (the CLI, the agent, the
// end-to-end tests) talk to an edgevault server: an HTTP client that trusts
// the server's CA and resolves *.localhost to loopback, a typed wrapper for
// the Azure AD v2-style token endpoint, and a caller for ARM-style JSON APIs.
//
// It imports no server-side package: the wire shapes it speaks are restated
// here, so that the CLI and agent can be built and shipped without the server.
//
// Invariants: secrets (passwords, client secrets, access and refresh tokens)
// are held as sensitive.String in every struct of this package and never
// appear in error text.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// CLIClientID is the well-known public client id of the edgevault CLI, sent
// as client_id in the password and refresh-token grants. The server keeps an
// identical constant (it cannot import this package); the two must agree.
const CLIClientID = "6f0b2c4e-8d7a-4b1e-9c3f-2a5d7e9b1c04"

// DefaultTimeout bounds a whole request (connect, TLS, headers and body) when
// HTTPOptions.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// HTTPOptions configures NewHTTPClient.
type HTTPOptions struct {
	// CAFile names a PEM file of CA certificates to trust, typically the
	// server's generated local CA ("caCertFile" in bootstrap.json).
	CAFile string
	// CAPEM is PEM-encoded CA certificates to trust, in addition to CAFile.
	CAPEM []byte
	// OnlyCA trusts only CAFile and CAPEM, not the system roots. It is an
	// error to set it without a CA.
	OnlyCA bool
	// Timeout bounds each request; zero means DefaultTimeout and a negative
	// value means no overall timeout (for long polls, which should then
	// bound themselves with a context).
	Timeout time.Duration
}

// NewHTTPClient returns an HTTP client for talking to an edgevault server:
// TLS 1.2 or later, trusting the configured CA, and resolving "localhost" and
// every "*.localhost" name to 127.0.0.1 itself (RFC 6761 §6.3 reserves the
// names for loopback, but Go's resolver and many system resolvers do not
// resolve subdomains of localhost). The returned *http.Client also satisfies
// azcore's policy.Transporter, so the Azure SDK clients can use it.
func NewHTTPClient(opts HTTPOptions) (*http.Client, error) {
	roots, err := rootPool(opts)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           loopbackDialer(dialer.DialContext),
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = 0
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// rootPool builds the trusted root set: nil (the system roots) when no CA is
// configured, else the system roots (unless OnlyCA) plus the given CAs.
func rootPool(opts HTTPOptions) (*x509.CertPool, error) {
	pemData := append([]byte(nil), opts.CAPEM...)
	if opts.CAFile != "" {
		b, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pemData = append(append(pemData, '\n'), b...)
	}
	if opts.CAFile == "" && len(opts.CAPEM) == 0 {
		if opts.OnlyCA {
			return nil, errors.New("client: OnlyCA set without a CA")
		}
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !opts.OnlyCA {
		if sys, err := x509.SystemCertPool(); err == nil {
			pool = sys
		}
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("no PEM certificate in CA %q", opts.CAFile)
	}
	return pool, nil
}

// dialFunc is the signature of net.Dialer.DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// loopbackDialer wraps dial so that a connection to localhost or *.localhost
// goes to 127.0.0.1 on the same port. Only the TCP address changes: TLS still
// sends and verifies the original host name.
func loopbackDialer(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && isLocalhost(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dial(ctx, network, addr)
	}
}

// proxy is http.ProxyFromEnvironment, except that *.localhost never goes
// through a proxy (ProxyFromEnvironment exempts only "localhost" itself and
// loopback IPs, and a proxy could not resolve these names anyway).
func proxy(req *http.Request) (*url.URL, error) {
	if isLocalhost(req.URL.Hostname()) {
		return nil, nil
	}
	return http.ProxyFromEnvironment(req)
}

// isLocalhost reports whether host is "localhost" or a name under it, in any
// case and with or without the trailing dot of a fully qualified name.
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
