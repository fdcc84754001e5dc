package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/devicewire"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// maxSecretNameLength bounds a device secret's name.
const maxSecretNameLength = 64

// Init creates a simulated appliance in dir: its serial number and device
// secrets, generated unless supplied (by name, e.g. read from real
// hardware). It refuses a directory that already holds a state file. It
// returns the names of the secrets it stored.
func Init(dir, serial string, supplied map[string][]byte) ([]string, error) {
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("no data directory")
	}
	st := &State{Serial: serial}
	for _, name := range devicewire.DeviceSecretNames {
		v, ok := supplied[name]
		if !ok {
			g, err := generateSecret(name)
			if err != nil {
				return nil, err
			}
			st.Secrets = append(st.Secrets, Secret{Name: name, Value: g})
			continue
		}
		if err := checkSecretValue(name, v); err != nil {
			return nil, err
		}
		st.Secrets = append(st.Secrets, Secret{Name: name, Value: sensitive.New(string(v))})
	}
	var extra []string
	for name := range supplied {
		if !isDeviceSecretName(name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		if err := checkSecretName(name); err != nil {
			return nil, err
		}
		if err := checkSecretValue(name, supplied[name]); err != nil {
			return nil, err
		}
		st.Secrets = append(st.Secrets, Secret{Name: name, Value: sensitive.New(string(supplied[name]))})
	}
	if len(st.Secrets) > devicewire.MaxPushSecrets-1 {
		return nil, fmt.Errorf("too many secrets: a push carries at most %d besides the channel integrity key", devicewire.MaxPushSecrets-1)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, StateFileName)
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s already exists: this appliance is already initialised. "+
			"Its secrets live only there; to start over, move it aside first", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := saveState(dir, st); err != nil {
		return nil, err
	}
	return st.SecretNames(), nil
}

// ReadSecretFile reads a secret supplied as NAME=@PATH: the file's
// content, less one trailing newline (files written by editors and echo
// end with one).
func ReadSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r")), nil
}

// ParseSecretFlag splits a --secret argument, NAME=@PATH, checking the name.
func ParseSecretFlag(arg string) (name, path string, err error) {
	name, rest, ok := strings.Cut(arg, "=")
	if !ok || !strings.HasPrefix(rest, "@") || len(rest) < 2 {
		return "", "", fmt.Errorf("--secret %q: want NAME=@PATH (the value is read from the file PATH)", name)
	}
	if err := checkSecretName(name); err != nil {
		return "", "", err
	}
	return name, rest[1:], nil
}

func isDeviceSecretName(name string) bool {
	for _, n := range devicewire.DeviceSecretNames {
		if n == name {
			return true
		}
	}
	return false
}

// checkSerial enforces the serial number's form: 1 to 64 letters, digits
// and hyphens.
func checkSerial(s string) error {
	if s == "" || len(s) > devicewire.MaxSerialLength {
		return fmt.Errorf("the serial number must be 1 to %d characters", devicewire.MaxSerialLength)
	}
	for _, c := range s {
		if !isAlnum(c) && c != '-' {
			return errors.New("the serial number may contain only letters, digits and '-'")
		}
	}
	return nil
}

// checkSecretName enforces a device secret's name: PascalCase, letters and
// digits, at most 64. The CIK's name is reserved for the CIK.
func checkSecretName(name string) error {
	if name == "" || len(name) > maxSecretNameLength {
		return fmt.Errorf("secret name %q: must be 1 to %d characters", name, maxSecretNameLength)
	}
	if c := name[0]; c < 'A' || c > 'Z' {
		return fmt.Errorf("secret name %q: must start with a capital letter (PascalCase)", name)
	}
	for _, c := range name {
		if !isAlnum(c) {
			return fmt.Errorf("secret name %q: may contain only letters and digits", name)
		}
	}
	if name == devicewire.ChannelIntegrityKey {
		return fmt.Errorf("secret name %q is reserved for the channel integrity key", name)
	}
	return nil
}

// checkSecretValue checks a supplied secret without quoting it.
func checkSecretValue(name string, v []byte) error {
	switch {
	case len(v) == 0:
		return fmt.Errorf("secret %s is empty", name)
	case len(v) > devicewire.MaxSecretSize:
		return fmt.Errorf("secret %s is %d bytes; the limit is %d", name, len(v), devicewire.MaxSecretSize)
	case !validText(v):
		return fmt.Errorf("secret %s is not UTF-8 text (encode binary keys, e.g. in base64)", name)
	case name == devicewire.SystemVolumeBitLockerRecoveryKey && !ValidRecoveryPassword(string(v)):
		return fmt.Errorf("secret %s is not a BitLocker recovery password (48 digits in 8 hyphen-separated groups of 6, each a multiple of 11 below 720896)", name)
	}
	return nil
}

func isAlnum(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// generateSecret makes a simulated appliance's secret.
func generateSecret(name string) (sensitive.String, error) {
	switch name {
	case devicewire.SystemVolumeBitLockerRecoveryKey:
		return newRecoveryPassword()
	case devicewire.BMCDefaultUserPassword:
		return newPassword(16)
	default: // the BitLocker external keys: 256-bit keys
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return sensitive.String{}, err
		}
		return sensitive.New(base64.StdEncoding.EncodeToString(b)), nil
	}
}

// A BitLocker recovery password is 8 groups of 6 decimal digits; each
// group is a multiple of 11 below 720896 (= 11 × 65536), so it encodes 16
// bits of the 128-bit key and a checksum.
const (
	recoveryGroups     = 8
	recoveryGroupLimit = 720896
)

// newRecoveryPassword returns a random recovery password.
func newRecoveryPassword() (sensitive.String, error) {
	var b strings.Builder
	for i := range recoveryGroups {
		n, err := rand.Int(rand.Reader, big.NewInt(recoveryGroupLimit/11))
		if err != nil {
			return sensitive.String{}, err
		}
		if i > 0 {
			b.WriteByte('-')
		}
		fmt.Fprintf(&b, "%06d", n.Int64()*11)
	}
	return sensitive.New(b.String()), nil
}

// ValidRecoveryPassword reports whether s has the form of a BitLocker
// recovery password.
func ValidRecoveryPassword(s string) bool {
	groups := strings.Split(s, "-")
	if len(groups) != recoveryGroups {
		return false
	}
	for _, g := range groups {
		if len(g) != 6 {
			return false
		}
		n := 0
		for _, c := range g {
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int(c-'0')
		}
		if n%11 != 0 || n >= recoveryGroupLimit {
			return false
		}
	}
	return true
}

// Password character classes. The symbols avoid quotes, backslash and
// space, which BMC consoles and shells handle badly.
const (
	upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lower   = "abcdefghijkmnopqrstuvwxyz"
	digits  = "23456789"
	symbols = "!#$%*+-.=?@^_~"
)

// newPassword returns a random password of n characters with at least one
// of each class, drawn uniformly from their union (rejecting draws that
// miss a class keeps every accepted password equally likely).
func newPassword(n int) (sensitive.String, error) {
	all := upper + lower + digits + symbols
	for {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(all))))
			if err != nil {
				return sensitive.String{}, err
			}
			b[i] = all[k.Int64()]
		}
		s := string(b)
		if strings.ContainsAny(s, upper) && strings.ContainsAny(s, lower) &&
			strings.ContainsAny(s, digits) && strings.ContainsAny(s, symbols) {
			return sensitive.New(s), nil
		}
	}
}
