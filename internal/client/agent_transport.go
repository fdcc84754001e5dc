package client

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// NewTransport returns an HTTP transport with the given TLS configuration
// that, like NewHTTPClient's, dials localhost and *.localhost on 127.0.0.1
// and never sends those names through a proxy. It is for callers that build
// their own TLS configuration: edgevault-agent pins the server CA named by
// its activation key and presents its device certificate.
func NewTransport(tlsConfig *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           loopbackDialer(dialer.DialContext),
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
