// Package devicewire is the contract between edgevault-agent and the
// server's device API (DESIGN.md §5.2–5.3): the JSON messages on the
// device host and the cryptography both sides apply to what travels in
// them. It is shared by the agent and the server, so it imports nothing of
// either.
//
// Two layers protect secrets in transit, beyond TLS:
//   - The channel integrity key (CIK, 32 bytes) reaches the agent once, at
//     activation, sealed with HPKE (RFC 9180) to the agent's hybrid
//     ML-KEM-768+X25519 key, with info binding the resource id and the key
//     id (SealCIK, OpenCIK).
//   - Every secret after that — device secrets pushed to the vault,
//     customer secrets sent to the device — is sealed with AES-256-GCM
//     under the CIK, with AAD binding the resource id, the secret's name
//     and the message id (SealSecret, OpenSecret), so a sealed secret
//     cannot be replayed under another name, for another device, or in
//     another message.
package devicewire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// API paths on the device host.
const (
	// PathCA serves the CA certificate (PEM) without authentication: the
	// agent checks it against the activation key's fingerprint before it
	// trusts the server.
	PathCA              = "/v1/ca"
	PathActivate        = "/v1/activate"
	PathHeartbeat       = "/v1/heartbeat"
	PathSecrets         = "/v1/secrets"
	PathCustomerSecrets = "/v1/customerSecrets/ack"
)

// Device secret names (edge-arm.md §1.6), the agent's own secrets.
const (
	SystemVolumeBitLockerRecoveryKey      = "SystemVolumeBitLockerRecoveryKey"
	HcsDataVolumeBitLockerExternalKey     = "HcsDataVolumeBitLockerExternalKey"
	HcsInternalVolumeBitLockerExternalKey = "HcsInternalVolumeBitLockerExternalKey"
	BMCDefaultUserPassword                = "BMCDefaultUserPassword"
	// ChannelIntegrityKey is the name under which the agent pushes the CIK
	// itself, to restore it in the vault.
	ChannelIntegrityKey = "ChannelIntegrityKey"
)

// DeviceSecretNames are the secrets every agent escrows.
var DeviceSecretNames = []string{SystemVolumeBitLockerRecoveryKey, HcsDataVolumeBitLockerExternalKey,
	HcsInternalVolumeBitLockerExternalKey, BMCDefaultUserPassword}

// Limits the server enforces (and the agent respects).
const (
	MaxSecretSize   = 16 << 10 // a secret's plaintext
	MaxPushSecrets  = 32       // secrets in one push
	MaxSerialLength = 64
)

// ActivateRequest is POST PathActivate, the only call without a client
// certificate.
type ActivateRequest struct {
	ActivationKey string `json:"activationKey"`
	SerialNumber  string `json:"serialNumber"`
	// CSR is the DER of a PKCS #10 request for the device's ECDSA P-256
	// (or stronger) key, base64.
	CSR []byte `json:"csr"`
	// HPKEPublicKey is the agent's ML-KEM-768+X25519 public key.
	HPKEPublicKey []byte `json:"hpkePublicKey"`
}

// ActivateResponse answers an activation.
type ActivateResponse struct {
	ResourceID string `json:"resourceId"`
	KeyID      string `json:"keyId"`
	// Certificate is the device certificate, PEM; CABundle the CA, PEM.
	Certificate string `json:"certificate"`
	CABundle    string `json:"caBundle"`
	// SealedCIK is SealCIK's output for the agent's HPKE key.
	SealedCIK  []byte `json:"sealedCik"`
	CIKName    string `json:"cikName"`
	CIKVersion string `json:"cikVersion"`
	VaultURI   string `json:"vaultUri"`
}

// HeartbeatRequest is POST PathHeartbeat (client certificate).
type HeartbeatRequest struct {
	SoftwareVersion string `json:"softwareVersion,omitempty"`
	// WaitSeconds, when positive, asks the server to hold the answer up to
	// that long (at most 30) until there is something to do (long poll).
	WaitSeconds int `json:"waitSeconds,omitempty"`
}

// HeartbeatResponse tells the agent what the service wants.
type HeartbeatResponse struct {
	Status string `json:"status"` // the device status the server records, e.g. Online
	// SyncID, when not empty, asks the agent to push all its secrets (the
	// CIK too), quoting it.
	SyncID string `json:"syncId,omitempty"`
	// CustomerSecrets are secrets sent to the device, sealed under the CIK
	// with their ID as message id; the agent acknowledges them.
	CustomerSecrets []SealedSecret `json:"customerSecrets,omitempty"`
	// HeartbeatSeconds is the interval the server expects.
	HeartbeatSeconds int `json:"heartbeatSeconds"`
}

// SealedSecret is one secret sealed under the CIK.
type SealedSecret struct {
	ID         string `json:"id,omitempty"` // message id of a customer secret
	Name       string `json:"name"`
	Ciphertext []byte `json:"ciphertext"` // SealSecret's output
}

// PushRequest is POST PathSecrets: the agent's secrets for the vault.
type PushRequest struct {
	// PushID is unique per push (a UUID); it is in every secret's AAD and
	// the server refuses a push ID it has seen.
	PushID  string         `json:"pushId"`
	SyncID  string         `json:"syncId,omitempty"` // the sync it answers, if any
	Secrets []SealedSecret `json:"secrets"`
}

// PushResponse says where each secret went.
type PushResponse struct {
	SyncStatus string       `json:"keyVaultSyncStatus"`
	Secrets    []PushResult `json:"secrets"`
}

// PushResult is one pushed secret's fate.
type PushResult struct {
	Name       string `json:"name"`
	KeyVaultID string `json:"keyVaultId,omitempty"` // secrets/<name>/<version>
	Error      string `json:"error,omitempty"`
}

// AckRequest is POST PathCustomerSecrets: customer secrets stored.
type AckRequest struct {
	IDs []string `json:"ids"`
}

// Error is the device API's error body.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is a code and a message safe to show.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The HPKE suite of CIK delivery.
var (
	hpkeKEM  = hpke.MLKEM768X25519()
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.AES256GCM()
)

// GenerateHPKEKey returns a new ML-KEM-768+X25519 private key and its
// public key's bytes.
func GenerateHPKEKey() (hpke.PrivateKey, []byte, error) {
	k, err := hpkeKEM.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	return k, k.PublicKey().Bytes(), nil
}

// ParseHPKEPrivateKey reads a key saved with PrivateKey.Bytes.
func ParseHPKEPrivateKey(b []byte) (hpke.PrivateKey, error) { return hpkeKEM.NewPrivateKey(b) }

// CIKInfo is the HPKE info of a CIK delivery: it binds the resource and
// the activation key.
func CIKInfo(resourceID, keyID string) []byte {
	return frame("edgevault/cik/v1", resourceID, keyID)
}

// CIKSize is the CIK's length.
const CIKSize = 32

// ErrOpen is the cause of every failure to open a sealed value.
var ErrOpen = errors.New("sealed value does not open")

// SealCIK seals the CIK to an agent's HPKE public key.
func SealCIK(publicKey []byte, resourceID, keyID string, cik []byte) ([]byte, error) {
	pk, err := hpkeKEM.NewPublicKey(publicKey)
	if err != nil {
		return nil, fmt.Errorf("HPKE public key is not an ML-KEM-768+X25519 key: %w", err)
	}
	return hpke.Seal(pk, hpkeKDF, hpkeAEAD, CIKInfo(resourceID, keyID), cik)
}

// OpenCIK opens SealCIK's output.
func OpenCIK(k hpke.PrivateKey, resourceID, keyID string, sealed []byte) ([]byte, error) {
	cik, err := hpke.Open(k, hpkeKDF, hpkeAEAD, CIKInfo(resourceID, keyID), sealed)
	if err != nil || len(cik) != CIKSize {
		return nil, ErrOpen
	}
	return cik, nil
}

// SecretAAD binds a sealed secret to its resource, name and message.
func SecretAAD(resourceID, name, messageID string) []byte {
	return frame("edgevault/secret/v1", resourceID, name, messageID)
}

// SealSecret seals plaintext under the CIK: a 12-byte random nonce, then
// the AES-256-GCM ciphertext and tag.
func SealSecret(cik []byte, resourceID, name, messageID string, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(cik)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plaintext, SecretAAD(resourceID, name, messageID)), nil
}

// OpenSecret opens SealSecret's output; any damage, or another resource,
// name or message id, is ErrOpen.
func OpenSecret(cik []byte, resourceID, name, messageID string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(cik)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() || len(sealed) > aead.NonceSize()+aead.Overhead()+MaxSecretSize {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], SecretAAD(resourceID, name, messageID))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func newGCM(cik []byte) (cipher.AEAD, error) {
	if len(cik) != CIKSize {
		return nil, fmt.Errorf("the channel integrity key must be %d bytes", CIKSize)
	}
	b, err := aes.NewCipher(cik)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// frame joins parts unambiguously: each is length-prefixed.
func frame(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}
