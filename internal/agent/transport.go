package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/devicewire"
)

// maxResponseSize bounds a device API answer: a heartbeat can carry up to
// a push's worth of customer secrets.
const maxResponseSize = 4 << 20

// requestTimeout bounds a request that is not a long poll.
const requestTimeout = 60 * time.Second

// endpoint joins the device API's base URL and a devicewire path.
func endpoint(base, path string) string { return strings.TrimSuffix(base, "/") + path }

// unverifiedClient is the one client that does not verify the server: it
// fetches the CA that the activation key's fingerprint then checks.
func unverifiedClient() *http.Client {
	tr := client.NewTransport(&tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}) //nolint:gosec // checked by fingerprint
	return &http.Client{Transport: tr, Timeout: requestTimeout}
}

// pinnedClient trusts only the pinned CA and, with cert, presents the
// device certificate (mTLS).
func pinnedClient(caPEM string, cert *tls.Certificate) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, errors.New("the stored CA is not a PEM certificate")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	// No overall timeout: long polls bound themselves with a context.
	return &http.Client{Transport: client.NewTransport(cfg)}, nil
}

// deviceCertificate assembles the mTLS credential of an activated device.
func deviceCertificate(act *Activation) (*tls.Certificate, error) {
	key, err := parseDeviceKey(act.DeviceKey.Reveal())
	if err != nil {
		return nil, err
	}
	var chain [][]byte
	rest := []byte(act.CertificatePEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("the stored device certificate is not PEM")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("the stored device certificate does not parse: %w", err)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// parseDeviceKey reads the device's PKCS #8 PEM key.
func parseDeviceKey(p string) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("the stored device key is not a PKCS #8 PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("the stored device key does not parse")
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("the stored device key is not an ECDSA key")
	}
	return ek, nil
}

// postJSON posts in and decodes a 200 answer into out (which may be nil).
// A device API error becomes an *APIError.
func postJSON(ctx context.Context, hc *http.Client, url string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}

// decodeAnswer reads a device API response.
func decodeAnswer(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("read the device API's answer: %w", err)
	}
	if len(b) > maxResponseSize {
		return fmt.Errorf("the device API's answer is larger than %d bytes", maxResponseSize)
	}
	if resp.StatusCode/100 != 2 {
		var e devicewire.Error
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return &APIError{StatusCode: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return &APIError{StatusCode: resp.StatusCode, Code: "HTTP" + fmt.Sprint(resp.StatusCode),
			Message: "unexpected answer: " + http.StatusText(resp.StatusCode)}
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 && resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errors.New("the device API's answer is not the expected JSON")
	}
	return nil
}
