package agent

import (
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// Activation states, as status and the local UI report them.
const (
	NotActivated      = "NotActivated"
	ActivationPending = "ActivationPending" // keys made, the server's answer not yet stored
	Activated         = "Activated"
)

// State is the appliance's persistent state in memory. Every secret value
// in it is a sensitive.String; the state file (statefile.go) is the one
// place the values are written out.
type State struct {
	Serial  string
	Secrets []Secret // the device's own secrets, pushed to the vault

	// Pending holds the keys of an activation whose answer has not been
	// stored yet: a retry reuses them, so the server recognises the device
	// and answers again (DESIGN §5.2).
	Pending *Pending
	// Activation is nil until the device is activated.
	Activation *Activation

	// NeedsPush is set by activation and cleared by the first push the
	// server accepts.
	NeedsPush          bool
	DeviceStatus       string // as the server last reported it
	KeyVaultSyncStatus string // as the last push reported it
	LastSyncAt         time.Time
	LastSyncID         string // the last sync request answered

	CustomerSecrets []CustomerSecret
}

// Secret is one of the device's own secrets.
type Secret struct {
	Name  string
	Value sensitive.String
}

// CustomerSecret is a secret the service sent to the device.
type CustomerSecret struct {
	ID         string // the message id it came with
	Name       string
	Value      sensitive.String
	ReceivedAt time.Time
}

// Pending is an activation in progress.
type Pending struct {
	StartedAt  time.Time
	ResourceID string
	KeyID      string
	DeviceKey  sensitive.String // ECDSA P-256, PKCS #8 PEM
	HPKEKey    sensitive.String // devicewire's HPKE private key bytes
}

// Activation is what the device received when it was activated.
type Activation struct {
	ActivatedAt    time.Time
	ResourceID     string
	KeyID          string
	DeviceAPIURL   string           // base URL, from the activation key
	DeviceKey      sensitive.String // ECDSA P-256, PKCS #8 PEM
	CertificatePEM string           // the device certificate
	CAPEM          string           // the server CA the key pinned: the only root trusted
	HPKEKey        sensitive.String
	CIK            sensitive.String // the 32 raw bytes of the channel integrity key
	CIKName        string
	CIKVersion     string
	VaultURI       string
}

// ActivationState is NotActivated, ActivationPending or Activated.
func (s *State) ActivationState() string {
	switch {
	case s.Activation != nil:
		return Activated
	case s.Pending != nil:
		return ActivationPending
	}
	return NotActivated
}

// clone returns a copy that shares no slice or pointer with s, so that an
// update can be prepared, saved, and only then made current.
func (s *State) clone() *State {
	c := *s
	c.Secrets = append([]Secret(nil), s.Secrets...)
	c.CustomerSecrets = append([]CustomerSecret(nil), s.CustomerSecrets...)
	if s.Pending != nil {
		p := *s.Pending
		c.Pending = &p
	}
	if s.Activation != nil {
		a := *s.Activation
		c.Activation = &a
	}
	return &c
}

// SecretNames returns the names of the device's secrets, in order.
func (s *State) SecretNames() []string {
	names := make([]string, len(s.Secrets))
	for i, sec := range s.Secrets {
		names[i] = sec.Name
	}
	return names
}

// sensitiveBytes wraps a secret's bytes.
func sensitiveBytes(b []byte) sensitive.String { return sensitive.New(string(b)) }
