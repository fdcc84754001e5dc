// Package deviceapi serves the device host (DESIGN.md §5.2–5.3): the
// appliance's agent fetches the CA it pins, activates with an activation
// key, then, authenticated by its device certificate (mutual TLS),
// heartbeats, pushes its secrets into the vault and receives customer
// secrets. The messages and their cryptography are internal/devicewire's.
//
// Invariants:
//   - Only activation and the CA are served without a client certificate;
//     every other route needs a certificate the server's CA issued, naming
//     a device whose recorded device key is the certificate's key, and acts
//     on that device only.
//   - Every activation attempt, and every refused push, is an audit record
//     on the edge resource (when the key names one), saying what happened.
//   - A push is checked whole (each secret opens under the CIK with its
//     name and the push id) before anything is written; a push id is
//     accepted once.
//   - Secret values exist in clear only in memory, on their way into the
//     vault; they are never logged or echoed.
package deviceapi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"time"

	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/activationkey"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/edge"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/pki"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Activator consumes activation keys (activation.Service).
type Activator interface {
	Activate(ctx context.Context, key activationkey.Key, serial, deviceKey string) (activation.Activation, error)
	CIK(ctx context.Context, d edge.Device) ([]byte, error)
}

// Devices is the device side of edge resources (edge.Service).
type Devices interface {
	ByUID(ctx context.Context, uid string) (edge.Device, error)
	Heartbeat(ctx context.Context, d edge.Device) (edge.Device, error)
	BeginPush(ctx context.Context, id resource.ID, pushID string) (edge.Device, error)
	FinishPush(ctx context.Context, id resource.ID, o edge.PushOutcome) (edge.Device, error)
	AckCustomerSecrets(ctx context.Context, id resource.ID, ids []string) (edge.Device, error)
	// Watch returns a channel closed at the device's next change made by
	// this process.
	Watch(uid string) <-chan struct{}
}

// Vault reads and writes secrets acting as a device's managed identity,
// through the Key Vault data plane (its access policy, its audit trail).
type Vault interface {
	GetSecretAs(ctx context.Context, identityID, vaultURI, name, version string) (value sensitive.String, err error)
	SetSecretAs(ctx context.Context, identityID, vaultURI, name string, value sensitive.String) (version string, err error)
}

// Auditor writes audit records.
type Auditor interface {
	Record(ctx context.Context, r audit.Record) error
}

// Config configures a Handler.
type Config struct {
	Activator Activator
	Devices   Devices
	Vault     Vault
	Audit     Auditor
	// CA issues device certificates.
	CA *pki.CA
	// TrustPEM is the CA certificate agents pin (the activation keys'
	// fingerprint is of it), served at devicewire.PathCA.
	TrustPEM []byte
	// TrustDER is its DER, to compare with a key's fingerprint.
	TrustDER []byte
	// Heartbeat is the interval agents are told to heartbeat at;
	// OfflineAfter the silence after which a device is Offline.
	Heartbeat    time.Duration
	OfflineAfter time.Duration
	// Recheck is how often a held heartbeat reads its device again, for
	// changes another replica made (DefaultRecheck when zero); a server
	// that is the only one on its database sets it to the longest wait.
	Recheck time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Handler serves the device host.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// Body limits: an activation is small; a push holds up to
// devicewire.MaxPushSecrets sealed secrets, base64 in JSON.
const (
	maxActivateBody = 64 << 10
	maxPushBody     = 2 << 20
	maxSmallBody    = 64 << 10
)

// New returns the device host's handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = edge.DefaultOfflineAfter
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+devicewire.PathCA, h.getCA)
	h.mux.HandleFunc("POST "+devicewire.PathActivate, h.activate)
	h.mux.HandleFunc("POST "+devicewire.PathHeartbeat, h.withDevice(h.heartbeat))
	h.mux.HandleFunc("POST "+devicewire.PathSecrets, h.withDevice(h.push))
	h.mux.HandleFunc("POST "+devicewire.PathCustomerSecrets, h.withDevice(h.ack))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "No device API route matches the request.")
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeError(w http.ResponseWriter, status int, code, message string) {
	_ = httpx.WriteJSON(w, status, devicewire.Error{Error: devicewire.ErrorBody{Code: code, Message: message}})
}

// decode reads a JSON body of at most limit bytes, refusing unknown
// members and trailing data.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return true
	}
	if httpx.IsTooLarge(err) {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLarge", "The request body is too large.")
	} else {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "The request body is not the expected JSON document.")
	}
	return false
}

func (h *Handler) getCA(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(h.cfg.TrustPEM)
}

// validSerial: letters, digits and hyphens.
var validSerial = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// activate consumes an activation key and answers with the device's
// certificate and its CIK sealed to the agent's HPKE key.
func (h *Handler) activate(w http.ResponseWriter, r *http.Request) {
	started := h.cfg.Now()
	var req devicewire.ActivateRequest
	if !decode(w, r, maxActivateBody, &req) {
		return
	}
	key, err := activationkey.Parse(req.ActivationKey)
	if err != nil {
		h.auditActivation(r, resource.ID{}, "", req.SerialNumber, started, http.StatusBadRequest, "the activation key is malformed")
		writeError(w, http.StatusBadRequest, "ActivationKeyMalformed", err.Error())
		return
	}
	rid, _ := resource.Parse(key.ResourceID)
	fail := func(status int, code, message string) {
		h.auditActivation(r, rid, key.KeyID, req.SerialNumber, started, status, message)
		writeError(w, status, code, message)
	}
	if !key.MatchesCA(h.cfg.TrustDER) {
		fail(http.StatusBadRequest, "ActivationKeyForOtherServer",
			"The activation key was issued by another edgevault server (its CA fingerprint is not this server's).")
		return
	}
	if len(req.SerialNumber) == 0 || len(req.SerialNumber) > devicewire.MaxSerialLength || !validSerial.MatchString(req.SerialNumber) {
		fail(http.StatusBadRequest, "InvalidSerialNumber", "The serial number must be 1 to 64 letters, digits and hyphens.")
		return
	}
	csr, err := pki.CheckDeviceCSR(req.CSR, req.SerialNumber)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidCertificateRequest", err.Error())
		return
	}
	if len(req.HPKEPublicKey) == 0 {
		fail(http.StatusBadRequest, "InvalidHPKEPublicKey", "The HPKE public key is missing.")
		return
	}
	deviceKey, err := pki.KeyFingerprint(csr.PublicKey)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidCertificateRequest", "The request's public key cannot be encoded.")
		return
	}
	if time.Now().After(key.Expiry) {
		fail(http.StatusBadRequest, "ActivationKeyExpired", "The activation key expired at "+key.Expiry.UTC().Format(time.RFC3339)+"; generate a new one.")
		return
	}
	act, err := h.cfg.Activator.Activate(r.Context(), key, req.SerialNumber, deviceKey)
	if err != nil {
		status, code := activationError(err)
		if status >= 500 {
			h.cfg.Logger.ErrorContext(r.Context(), "activation failed", "err", err)
		}
		fail(status, code, errkind.Message(err))
		return
	}
	d := act.Device
	cik, err := h.cfg.Activator.CIK(r.Context(), d)
	var sealed []byte
	if err == nil {
		// The CIK as the vault holds it, read as the managed identity: the
		// real access path, audited, must work for the device to activate.
		_, err = h.cfg.Vault.GetSecretAs(r.Context(), d.IdentityID, d.Link.VaultURI, d.Link.CIKName, d.Link.CIKVersion)
	}
	if err == nil {
		sealed, err = devicewire.SealCIK(req.HPKEPublicKey, d.ID.String(), act.Key.ID, cik)
		clear(cik)
		if err != nil {
			fail(http.StatusBadRequest, "InvalidHPKEPublicKey", err.Error())
			return
		}
	}
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "activation: channel integrity key unavailable", "err", err)
		fail(http.StatusConflict, "KeyVaultNotAccessible",
			"The edge resource's managed identity could not read the channel integrity key from its key vault: "+errkind.Message(err))
		return
	}
	der, err := h.cfg.CA.SignDevice(csr, req.SerialNumber, d.UID, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "activation: signing", "err", err)
		fail(http.StatusInternalServerError, "InternalError", "The device certificate could not be issued.")
		return
	}
	outcome := "activated"
	if act.Repeat {
		outcome = "activated again (the same device retried)"
	}
	h.auditActivation(r, d.ID, key.KeyID, req.SerialNumber, started, http.StatusOK, outcome)
	_ = httpx.WriteJSON(w, http.StatusOK, devicewire.ActivateResponse{
		ResourceID: d.ID.String(), KeyID: act.Key.ID, Certificate: string(pki.EncodeCertPEM(der)),
		CABundle: string(h.cfg.TrustPEM), SealedCIK: sealed, CIKName: d.Link.CIKName, CIKVersion: d.Link.CIKVersion,
		VaultURI: d.Link.VaultURI,
	})
}

// activationError maps Activate's errors to the device API's.
func activationError(err error) (int, string) {
	switch {
	case errors.Is(err, activation.ErrKeyInvalid):
		return http.StatusUnauthorized, "ActivationKeyInvalid"
	case errors.Is(err, activation.ErrKeyUsed):
		return http.StatusConflict, "ActivationKeyUsed"
	case errors.Is(err, activation.ErrKeyExpired):
		return http.StatusBadRequest, "ActivationKeyExpired"
	case errors.Is(err, activation.ErrKeyRevoked):
		return http.StatusBadRequest, "ActivationKeyRevoked"
	case errors.Is(err, activation.ErrResourceGone):
		return http.StatusNotFound, "ResourceNotFound"
	}
	switch errkind.KindOf(err) {
	case errkind.Conflict:
		return http.StatusConflict, "Conflict"
	case errkind.Invalid:
		return http.StatusBadRequest, "InvalidRequest"
	case errkind.Unavailable:
		return http.StatusServiceUnavailable, "ServiceUnavailable"
	}
	return http.StatusInternalServerError, "InternalError"
}

// auditActivation records an activation attempt on the edge resource the
// key names (nothing when the key names none: a malformed key).
func (h *Handler) auditActivation(r *http.Request, rid resource.ID, keyID, serial string, started time.Time, status int, outcome string) {
	if rid.Level() != resource.Resource || h.cfg.Audit == nil {
		return
	}
	result := "Success"
	if status >= 400 {
		result = "Failure"
	}
	if len(serial) > devicewire.MaxSerialLength {
		serial = serial[:devicewire.MaxSerialLength]
	}
	err := h.cfg.Audit.Record(r.Context(), audit.Record{
		Time: started.UTC(), ResourceID: rid, OperationName: "DeviceActivate", ResultType: audit.ResultType(result),
		ResultSignature: http.StatusText(status), ResultDescription: outcome, DurationMs: h.cfg.Now().Sub(started).Milliseconds(),
		CallerIPAddress: remoteAddr(r), RequestID: w3cRequestID(r),
		Identity:   audit.Identity{IDType: "Device", UPN: "serial:" + serial},
		Properties: audit.Properties{ID: keyID, RequestURI: r.URL.Path, HTTPStatusCode: status, ClientInfo: r.UserAgent()},
	})
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "audit of an activation attempt failed", "err", err)
	}
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

func w3cRequestID(r *http.Request) string { return httpx.RequestID(r.Context()) }

// withDevice authenticates a request by its client certificate and passes
// the device on.
func (h *Handler) withDevice(next func(http.ResponseWriter, *http.Request, edge.Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var leaf *x509.Certificate
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			leaf = r.TLS.VerifiedChains[0][0]
		}
		if leaf == nil {
			writeError(w, http.StatusUnauthorized, "ClientCertificateRequired",
				"This route needs the device certificate issued at activation (mutual TLS).")
			return
		}
		uid := pki.DeviceUIDFromCert(leaf)
		fp, err := pki.KeyFingerprint(leaf.PublicKey)
		var d edge.Device
		if uid != "" && err == nil {
			d, err = h.cfg.Devices.ByUID(r.Context(), uid)
		}
		if uid == "" || err != nil || d.Agent.DeviceKey != fp {
			if err != nil && errkind.KindOf(err) != errkind.NotFound {
				h.cfg.Logger.ErrorContext(r.Context(), "device lookup", "err", err)
				writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Try again later.")
				return
			}
			writeError(w, http.StatusForbidden, "DeviceNotRecognized",
				"The device certificate does not belong to an activated edge resource (deleted, or activated again with another key).")
			return
		}
		next(w, r, d)
	}
}

// maxWait bounds a heartbeat's long poll.
const maxWait = 25 * time.Second

// DefaultRecheck is Config.Recheck's default.
const DefaultRecheck = 5 * time.Second

func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request, d edge.Device) {
	var req devicewire.HeartbeatRequest
	if !decode(w, r, maxSmallBody, &req) {
		return
	}
	d, err := h.cfg.Devices.Heartbeat(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Long poll: wait for a change this process makes to the device (a
	// sync asked for, a customer secret queued) and, where other replicas
	// may change it (Config.Recheck), read it again now and then. Each
	// wake subscribes before it reads, so no change falls between.
	wait := min(time.Duration(max(req.WaitSeconds, 0))*time.Second, maxWait)
	deadline := time.Now().Add(wait)
	pending := func(d edge.Device) bool { return d.Agent.SyncID != "" || len(d.Agent.Outbox) > 0 }
	if !pending(d) && wait > 0 {
		changed := h.cfg.Devices.Watch(d.UID)
		if d, err = h.cfg.Devices.ByUID(r.Context(), d.UID); err != nil {
			h.fail(w, r, err)
			return
		}
		for !pending(d) && time.Now().Before(deadline) {
			select {
			case <-r.Context().Done():
				return
			case <-changed:
			case <-time.After(min(time.Until(deadline), h.cfg.Recheck)):
			}
			changed = h.cfg.Devices.Watch(d.UID)
			if d, err = h.cfg.Devices.ByUID(r.Context(), d.UID); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	}
	resp := devicewire.HeartbeatResponse{Status: string(d.StatusAt(h.cfg.Now(), h.cfg.OfflineAfter)),
		SyncID: d.Agent.SyncID, HeartbeatSeconds: int(h.cfg.Heartbeat / time.Second)}
	for _, cs := range d.Agent.Outbox {
		resp.CustomerSecrets = append(resp.CustomerSecrets, devicewire.SealedSecret{ID: cs.ID, Name: cs.Name, Ciphertext: cs.Sealed})
	}
	_ = httpx.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) ack(w http.ResponseWriter, r *http.Request, d edge.Device) {
	var req devicewire.AckRequest
	if !decode(w, r, maxSmallBody, &req) {
		return
	}
	if _, err := h.cfg.Devices.AckCustomerSecrets(r.Context(), d.ID, req.IDs); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail answers an unexpected error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch errkind.KindOf(err) {
	case errkind.NotFound:
		writeError(w, http.StatusNotFound, "ResourceNotFound", errkind.Message(err))
	case errkind.Conflict:
		writeError(w, http.StatusConflict, "Conflict", errkind.Message(err))
	case errkind.Invalid:
		writeError(w, http.StatusBadRequest, "InvalidRequest", errkind.Message(err))
	default:
		h.cfg.Logger.ErrorContext(r.Context(), "device API", "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Try again later.")
	}
}
