package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// maxCASize bounds the CA document fetched before the server is trusted.
const maxCASize = 64 << 10

// ActivateResult describes a completed activation.
type ActivateResult struct {
	ResourceID string
	KeyID      string
	VaultURI   string
	CIKName    string
	CIKVersion string
}

// Activate activates the appliance with an activation key's text
// (DESIGN §5.2). It pins the server by the key's CA fingerprint, makes the
// device key and the HPKE key and saves them as pending before it calls
// the server, so a retry after a lost answer presents the same keys and is
// answered again. An activated appliance is activated again only with
// force, which starts over with new keys.
func (a *Agent) Activate(ctx context.Context, keyText string, force bool) (*ActivateResult, error) {
	a.activateMu.Lock()
	defer a.activateMu.Unlock()

	key, err := activationkey.Parse(keyText)
	if err != nil {
		return nil, err // Parse never quotes the key
	}
	if now := a.now(); !now.Before(key.Expiry) {
		return nil, fmt.Errorf("the %s has expired: generate a new one (`edgevault edge activation-key generate`) and try again", key)
	}
	st := a.State()
	if st.Activation != nil && !force {
		return nil, fmt.Errorf("the appliance is already activated for %s; activating it again (--force) makes new keys and needs a new activation key",
			st.Activation.ResourceID)
	}

	ca, caPEM, err := fetchCA(ctx, key)
	if err != nil {
		return nil, err
	}
	hc, err := pinnedClient(caPEM, nil)
	if err != nil {
		return nil, err
	}
	defer hc.CloseIdleConnections()
	p, err := a.pendingFor(st, key, force)
	if err != nil {
		return nil, err
	}
	dk, err := parseDeviceKey(p.DeviceKey.Reveal())
	if err != nil {
		return nil, err
	}
	hk, err := devicewire.ParseHPKEPrivateKey([]byte(p.HPKEKey.Reveal()))
	if err != nil {
		return nil, errors.New("the pending activation's HPKE key does not parse")
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: st.Serial}}, dk)
	if err != nil {
		return nil, err
	}
	req := devicewire.ActivateRequest{ActivationKey: strings.TrimSpace(keyText), SerialNumber: st.Serial,
		CSR: csr, HPKEPublicKey: hk.PublicKey().Bytes()}
	var resp devicewire.ActivateResponse
	if err := postJSON(ctx, hc, endpoint(key.URL, devicewire.PathActivate), req, &resp); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			return nil, err
		}
		return nil, fmt.Errorf("activate at %s: %w (the device keys are kept: retrying reuses them)", key.URL, err)
	}

	if !strings.EqualFold(resp.ResourceID, key.ResourceID) || resp.KeyID != key.KeyID {
		return nil, errors.New("the server answered for another resource or activation key than the one used")
	}
	cik, err := devicewire.OpenCIK(hk, resp.ResourceID, resp.KeyID, resp.SealedCIK)
	if err != nil {
		return nil, errors.New("the channel integrity key the server sent does not open with this device's HPKE key")
	}
	certPEM, err := checkDeviceCertificate(resp, ca, dk, a.now())
	if err != nil {
		return nil, err
	}
	return a.complete(key, p, resp, certPEM, caPEM, cik)
}

// complete saves a successful activation.
func (a *Agent) complete(key activationkey.Key, p *Pending, resp devicewire.ActivateResponse, certPEM, caPEM string, cik []byte) (*ActivateResult, error) {
	act := &Activation{ActivatedAt: a.now().UTC(), ResourceID: resp.ResourceID, KeyID: resp.KeyID,
		DeviceAPIURL: key.URL, DeviceKey: p.DeviceKey, CertificatePEM: certPEM, CAPEM: caPEM,
		HPKEKey: p.HPKEKey, CIK: sensitive.New(string(cik)), CIKName: resp.CIKName,
		CIKVersion: resp.CIKVersion, VaultURI: resp.VaultURI}
	clear(cik)
	err := a.update(func(s *State) error {
		s.Activation, s.Pending, s.NeedsPush = act, nil, true
		s.DeviceStatus, s.KeyVaultSyncStatus, s.LastSyncAt, s.LastSyncID = "", "", time.Time{}, ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("activated", "resource", act.ResourceID, "keyId", act.KeyID, "vault", act.VaultURI)
	return &ActivateResult{ResourceID: act.ResourceID, KeyID: act.KeyID, VaultURI: act.VaultURI,
		CIKName: act.CIKName, CIKVersion: act.CIKVersion}, nil
}

// pendingFor returns the keys to activate with. A pending activation's
// keys are reused, unless force asks for new ones; even then, keys made
// for this very activation key are reused, so that a forced activation can
// be retried too. New keys are saved before they are used.
func (a *Agent) pendingFor(st *State, key activationkey.Key, force bool) (*Pending, error) {
	if p := st.Pending; p != nil && (!force || p.KeyID == key.KeyID) {
		return p, nil
	}
	p, err := newPending(key, a.now())
	if err != nil {
		return nil, err
	}
	if err := a.update(func(s *State) error { s.Pending = p; return nil }); err != nil {
		return nil, err
	}
	return p, nil
}

// fetchCA gets the server's CA without verifying the connection and keeps
// it only if the activation key pins it: the one connection made without
// verification, and all it yields is checked against the key.
func fetchCA(ctx context.Context, key activationkey.Key) (*x509.Certificate, string, error) {
	der, err := fetchCADER(ctx, key)
	if err != nil {
		return nil, "", err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil || !ca.IsCA {
		return nil, "", errors.New("the pinned CA certificate is not a CA certificate")
	}
	return ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

func fetchCADER(ctx context.Context, key activationkey.Key) ([]byte, error) {
	u := endpoint(key.URL, devicewire.PathCA)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	hc := unverifiedClient()
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the server CA from %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the server CA from %s: HTTP %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCASize))
	if err != nil {
		return nil, fmt.Errorf("fetch the server CA from %s: %w", u, err)
	}
	var first []byte
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if key.MatchesCA(blk.Bytes) {
			return blk.Bytes, nil
		}
		if first == nil {
			first = blk.Bytes
		}
	}
	if first == nil {
		return nil, fmt.Errorf("the server at %s sent no CA certificate", key.URL)
	}
	got := sha256.Sum256(first)
	return nil, fmt.Errorf("CA fingerprint mismatch: the server at %s presented a CA with SHA-256 fingerprint %x, "+
		"but the activation key pins %x; refusing to trust it (the key is for another server, or the connection is intercepted)",
		key.URL, got, key.CAFingerprint)
}

// newPending makes the keys of a new activation.
func newPending(key activationkey.Key, now time.Time) (*Pending, error) {
	dk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(dk)
	if err != nil {
		return nil, err
	}
	hk, _, err := devicewire.GenerateHPKEKey()
	if err != nil {
		return nil, err
	}
	hb, err := hk.Bytes()
	if err != nil {
		return nil, err
	}
	return &Pending{StartedAt: now.UTC(), ResourceID: key.ResourceID, KeyID: key.KeyID,
		DeviceKey: sensitive.New(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))),
		HPKEKey:   sensitive.New(string(hb))}, nil
}

// checkDeviceCertificate checks that the issued certificate chains to the
// pinned CA, is good for client authentication, and certifies the device
// key. It returns the certificate's PEM.
func checkDeviceCertificate(resp devicewire.ActivateResponse, ca *x509.Certificate, dk *ecdsa.PrivateKey, now time.Time) (string, error) {
	b, _ := pem.Decode([]byte(resp.Certificate))
	if b == nil || b.Type != "CERTIFICATE" {
		return "", errors.New("the server sent no device certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("the device certificate does not parse: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	inter := x509.NewCertPool()
	inter.AppendCertsFromPEM([]byte(resp.CABundle))
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("the device certificate does not chain to the pinned CA: %w", err)
	}
	if !dk.PublicKey.Equal(cert.PublicKey) {
		return "", errors.New("the device certificate is not for this device's key")
	}
	return string(pem.EncodeToMemory(b)), nil
}
