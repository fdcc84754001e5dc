package agent

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
	"unicode/utf8"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// StateFileName is the state file's name in the data directory.
const StateFileName = "agent-state.json"

// The state file's format: an envelope naming the format and its version,
// the SHA-256 of the state member's compact JSON, and the state.
const (
	stateFormat        = "edgevault-agent-state"
	stateFormatVersion = 1
	maxStateFileSize   = 16 << 20
)

// ErrNotInitialized is returned when the data directory has no state file.
var ErrNotInitialized = errors.New("the appliance is not initialised")

// CorruptError reports a state file that cannot be trusted. The file is
// left exactly as it was found: it holds the only copy of the device's
// identity and secrets, so it is never replaced without the operator.
type CorruptError struct {
	Path   string
	Reason string // safe to show: never quotes the file's content
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("agent state file %s is corrupted (%s); it was left unchanged. "+
		"Restore it from a backup, or move it aside, run `edgevault-agent init` again and "+
		"activate the appliance with a new activation key", e.Path, e.Reason)
}

// stateEnvelope is the file's outer JSON.
type stateEnvelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	SHA256  string          `json:"sha256"`
	State   json.RawMessage `json:"state"`
}

// diskState is State as written: secret values are plain here, and only
// here.
type diskState struct {
	Serial             string           `json:"serial"`
	Secrets            []diskSecret     `json:"secrets"`
	Pending            *diskPending     `json:"pending,omitempty"`
	Activation         *diskActivation  `json:"activation,omitempty"`
	NeedsPush          bool             `json:"needsPush,omitempty"`
	DeviceStatus       string           `json:"deviceStatus,omitempty"`
	KeyVaultSyncStatus string           `json:"keyVaultSyncStatus,omitempty"`
	LastSyncAt         *time.Time       `json:"lastSyncAt,omitempty"`
	LastSyncID         string           `json:"lastSyncId,omitempty"`
	CustomerSecrets    []diskCustomerSc `json:"customerSecrets,omitempty"`
}

type diskSecret struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// diskCustomerSc keeps the value as bytes (base64 in JSON): what the
// service sends need not be text.
type diskCustomerSc struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Value      []byte    `json:"value"`
	ReceivedAt time.Time `json:"receivedAt"`
}

type diskPending struct {
	StartedAt  time.Time `json:"startedAt"`
	ResourceID string    `json:"resourceId"`
	KeyID      string    `json:"keyId"`
	DeviceKey  string    `json:"deviceKeyPem"`
	HPKEKey    []byte    `json:"hpkePrivateKey"`
}

type diskActivation struct {
	ActivatedAt    time.Time `json:"activatedAt"`
	ResourceID     string    `json:"resourceId"`
	KeyID          string    `json:"keyId"`
	DeviceAPIURL   string    `json:"deviceApiUrl"`
	DeviceKey      string    `json:"deviceKeyPem"`
	CertificatePEM string    `json:"certificatePem"`
	CAPEM          string    `json:"caPem"`
	HPKEKey        []byte    `json:"hpkePrivateKey"`
	CIK            []byte    `json:"cik"`
	CIKName        string    `json:"cikName"`
	CIKVersion     string    `json:"cikVersion"`
	VaultURI       string    `json:"vaultUri"`
}

func toDisk(s *State) diskState {
	d := diskState{Serial: s.Serial, NeedsPush: s.NeedsPush, DeviceStatus: s.DeviceStatus,
		KeyVaultSyncStatus: s.KeyVaultSyncStatus, LastSyncID: s.LastSyncID}
	if !s.LastSyncAt.IsZero() {
		t := s.LastSyncAt
		d.LastSyncAt = &t
	}
	for _, sec := range s.Secrets {
		d.Secrets = append(d.Secrets, diskSecret{Name: sec.Name, Value: sec.Value.Reveal()})
	}
	for _, c := range s.CustomerSecrets {
		d.CustomerSecrets = append(d.CustomerSecrets, diskCustomerSc{ID: c.ID, Name: c.Name,
			Value: []byte(c.Value.Reveal()), ReceivedAt: c.ReceivedAt})
	}
	if p := s.Pending; p != nil {
		d.Pending = &diskPending{StartedAt: p.StartedAt, ResourceID: p.ResourceID, KeyID: p.KeyID,
			DeviceKey: p.DeviceKey.Reveal(), HPKEKey: []byte(p.HPKEKey.Reveal())}
	}
	if a := s.Activation; a != nil {
		d.Activation = &diskActivation{ActivatedAt: a.ActivatedAt, ResourceID: a.ResourceID, KeyID: a.KeyID,
			DeviceAPIURL: a.DeviceAPIURL, DeviceKey: a.DeviceKey.Reveal(), CertificatePEM: a.CertificatePEM,
			CAPEM: a.CAPEM, HPKEKey: []byte(a.HPKEKey.Reveal()), CIK: []byte(a.CIK.Reveal()),
			CIKName: a.CIKName, CIKVersion: a.CIKVersion, VaultURI: a.VaultURI}
	}
	return d
}

func fromDisk(d diskState) (*State, error) {
	s := &State{Serial: d.Serial, NeedsPush: d.NeedsPush, DeviceStatus: d.DeviceStatus,
		KeyVaultSyncStatus: d.KeyVaultSyncStatus, LastSyncID: d.LastSyncID}
	if err := checkSerial(d.Serial); err != nil {
		return nil, err
	}
	if d.LastSyncAt != nil {
		s.LastSyncAt = *d.LastSyncAt
	}
	seen := map[string]bool{}
	for _, sec := range d.Secrets {
		if err := checkSecretName(sec.Name); err != nil {
			return nil, err
		}
		if seen[sec.Name] {
			return nil, fmt.Errorf("secret %s appears twice", sec.Name)
		}
		seen[sec.Name] = true
		s.Secrets = append(s.Secrets, Secret{Name: sec.Name, Value: sensitive.New(sec.Value)})
	}
	for _, c := range d.CustomerSecrets {
		s.CustomerSecrets = append(s.CustomerSecrets, CustomerSecret{ID: c.ID, Name: c.Name,
			Value: sensitive.New(string(c.Value)), ReceivedAt: c.ReceivedAt})
	}
	if p := d.Pending; p != nil {
		if p.DeviceKey == "" || len(p.HPKEKey) == 0 {
			return nil, errors.New("the pending activation has no keys")
		}
		s.Pending = &Pending{StartedAt: p.StartedAt, ResourceID: p.ResourceID, KeyID: p.KeyID,
			DeviceKey: sensitive.New(p.DeviceKey), HPKEKey: sensitive.New(string(p.HPKEKey))}
	}
	if a := d.Activation; a != nil {
		if a.DeviceKey == "" || a.CertificatePEM == "" || a.CAPEM == "" || len(a.HPKEKey) == 0 ||
			len(a.CIK) != 32 || a.DeviceAPIURL == "" || a.ResourceID == "" {
			return nil, errors.New("the activation record is incomplete")
		}
		s.Activation = &Activation{ActivatedAt: a.ActivatedAt, ResourceID: a.ResourceID, KeyID: a.KeyID,
			DeviceAPIURL: a.DeviceAPIURL, DeviceKey: sensitive.New(a.DeviceKey), CertificatePEM: a.CertificatePEM,
			CAPEM: a.CAPEM, HPKEKey: sensitive.New(string(a.HPKEKey)), CIK: sensitive.New(string(a.CIK)),
			CIKName: a.CIKName, CIKVersion: a.CIKVersion, VaultURI: a.VaultURI}
	}
	return s, nil
}

// encodeState returns the state file's bytes.
func encodeState(s *State) ([]byte, error) {
	body, err := json.Marshal(toDisk(s))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out, err := json.MarshalIndent(stateEnvelope{Format: stateFormat, Version: stateFormatVersion,
		SHA256: hex.EncodeToString(sum[:]), State: body}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// decodeState checks and decodes a state file's bytes. Its error reasons
// never quote the content (a JSON syntax error would quote a character).
func decodeState(b []byte) (*State, string) {
	var env stateEnvelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || dec.More() {
		return nil, "it is not valid JSON (truncated or damaged)"
	}
	if env.Format != stateFormat {
		return nil, "it is not an edgevault-agent state file"
	}
	if env.Version != stateFormatVersion {
		return nil, fmt.Sprintf("unsupported format version %d, this agent reads version %d", env.Version, stateFormatVersion)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.State); err != nil {
		return nil, "its state is not valid JSON"
	}
	sum := sha256.Sum256(compact.Bytes())
	want, err := hex.DecodeString(env.SHA256)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, "its SHA-256 checksum does not match its content"
	}
	var d diskState
	dec = json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, "its state does not have the expected fields"
	}
	s, err := fromDisk(d)
	if err != nil {
		return nil, "invalid state: " + err.Error()
	}
	return s, ""
}

// loadState reads and verifies the state file in dir.
func loadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s in %s (run `edgevault-agent init --data-dir %s --serial SERIAL` first)",
			ErrNotInitialized, StateFileName, dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read agent state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read agent state: %w", err)
	}
	// Like ssh with its private keys: a state file others can read has
	// already leaked its secrets; say so rather than carry on.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("agent state file %s has mode %v: it holds the device's secrets and must be readable by its owner only (chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	if fi.Size() > maxStateFileSize {
		return nil, &CorruptError{Path: path, Reason: "it is larger than any state file the agent writes"}
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("read agent state: %w", err)
	}
	s, reason := decodeState(b)
	if reason != "" {
		return nil, &CorruptError{Path: path, Reason: reason}
	}
	return s, nil
}

// saveState writes the state file atomically: a temporary file in the same
// directory, fsync, rename over the old file, fsync the directory. A crash
// leaves either the old file or the new one, never a mixture.
func saveState(dir string, s *State) (err error) {
	b, err := encodeState(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+StateFileName+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("save agent state: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("save agent state: %w", err)
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(b); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, StateFileName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// validText reports whether v can be stored as a JSON string unchanged.
func validText(v []byte) bool { return utf8.Valid(v) }
