package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// ConfigDirEnv names the environment variable that overrides the CLI's config
// directory (tests and multi-server setups use it).
const ConfigDirEnv = "EDGEVAULT_CONFIG_DIR"

// profileFile is the name of the profile inside the config directory.
const profileFile = "profile.json"

// profileVersion is the format version written to the profile file.
const profileVersion = 1

// ErrNotLoggedIn is returned when there is no profile.
var ErrNotLoggedIn = errkind.E(errkind.Unauthenticated, "not logged in: run 'edgevault login'")

// PrincipalKind is the kind of principal a profile is signed in as; the
// value is the one written to the profile and shown by `account show`.
type PrincipalKind string

// The kinds of principal the CLI signs in as.
const (
	User             PrincipalKind = "user"
	ServicePrincipal PrincipalKind = "servicePrincipal"
)

// Profile is the signed-in state: where the server is, who is signed in, the
// long-lived credential (a user's refresh token or, as az does, a service
// principal's client secret) and a cache of access tokens per audience.
type Profile struct {
	TenantID           string
	SubscriptionID     string
	AuthorityHost      string // e.g. "https://login.localhost:8443/"
	ManagementEndpoint string // e.g. "https://management.localhost:8443"
	ManagementAudience string
	VaultAudience      string
	StorageAudience    string
	DeviceEndpoint     string
	PortalURL          string
	CAFile             string // absolute path of the server's CA PEM; "" = system roots

	PrincipalKind PrincipalKind
	PrincipalName string           // user name or client id
	RefreshToken  sensitive.String // users only
	ClientSecret  sensitive.String // service principals only

	Tokens map[string]CachedToken // by audience
}

// CachedToken is an access token cached in the profile.
type CachedToken struct {
	AccessToken sensitive.String
	ExpiresOn   time.Time
}

// ConfigDir returns the CLI's config directory: $EDGEVAULT_CONFIG_DIR when
// set, else "edgevault" in os.UserConfigDir.
func ConfigDir() (string, error) {
	if d := os.Getenv(ConfigDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory (set %s): %w", ConfigDirEnv, err)
	}
	return filepath.Join(d, "edgevault"), nil
}

// storedSecret is how a secret is written in the CLI's own 0600 files
// (the profile, and the server's bootstrap.json it reads): in the clear.
// Use it only in the file structs below, never in output.
type storedSecret sensitive.String

// MarshalJSON writes the secret in the clear.
func (s storedSecret) MarshalJSON() ([]byte, error) {
	return json.Marshal(sensitive.String(s).Reveal())
}

// IsZero reports whether the secret is empty (for omitzero).
func (s storedSecret) IsZero() bool { return sensitive.String(s).IsZero() }

// UnmarshalJSON reads a secret written in the clear.
func (s *storedSecret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("secret: want a JSON string")
	}
	*s = storedSecret(sensitive.New(v))
	return nil
}

// profileJSON is the on-disk shape of a Profile.
type profileJSON struct {
	Version            int                   `json:"version"`
	TenantID           string                `json:"tenantId"`
	SubscriptionID     string                `json:"subscriptionId,omitempty"`
	AuthorityHost      string                `json:"authorityHost"`
	ManagementEndpoint string                `json:"managementEndpoint"`
	ManagementAudience string                `json:"managementAudience"`
	VaultAudience      string                `json:"vaultAudience,omitempty"`
	StorageAudience    string                `json:"storageAudience,omitempty"`
	DeviceEndpoint     string                `json:"deviceEndpoint,omitempty"`
	PortalURL          string                `json:"portalUrl,omitempty"`
	CAFile             string                `json:"caCertFile,omitempty"`
	PrincipalKind      PrincipalKind         `json:"principalKind"`
	PrincipalName      string                `json:"principalName"`
	RefreshToken       storedSecret          `json:"refreshToken,omitzero"`
	ClientSecret       storedSecret          `json:"clientSecret,omitzero"`
	Tokens             map[string]cachedJSON `json:"tokens,omitempty"`
}

// cachedJSON is the on-disk shape of a CachedToken.
type cachedJSON struct {
	AccessToken storedSecret `json:"accessToken"`
	ExpiresOn   time.Time    `json:"expiresOn"`
}

// LoadProfile reads the profile from dir; ErrNotLoggedIn when there is none.
func LoadProfile(dir string) (*Profile, error) {
	b, err := os.ReadFile(filepath.Join(dir, profileFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotLoggedIn
	}
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	var j profileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("read profile %s: %w; run 'edgevault login' again", filepath.Join(dir, profileFile), err)
	}
	if j.Version != profileVersion {
		return nil, fmt.Errorf("profile format version %d is not supported; run 'edgevault login' again", j.Version)
	}
	p := &Profile{
		TenantID: j.TenantID, SubscriptionID: j.SubscriptionID,
		AuthorityHost: j.AuthorityHost, ManagementEndpoint: j.ManagementEndpoint,
		ManagementAudience: j.ManagementAudience, VaultAudience: j.VaultAudience,
		StorageAudience: j.StorageAudience, DeviceEndpoint: j.DeviceEndpoint,
		PortalURL: j.PortalURL, CAFile: j.CAFile,
		PrincipalKind: j.PrincipalKind, PrincipalName: j.PrincipalName,
		RefreshToken: sensitive.String(j.RefreshToken), ClientSecret: sensitive.String(j.ClientSecret),
		Tokens: make(map[string]CachedToken, len(j.Tokens)),
	}
	for aud, t := range j.Tokens {
		p.Tokens[aud] = CachedToken{AccessToken: sensitive.String(t.AccessToken), ExpiresOn: t.ExpiresOn}
	}
	return p, nil
}

// Save writes the profile to dir atomically: the directory is created with
// mode 0700 if missing, the file is written with mode 0600 to a temporary
// name, synced, and renamed over the old one, so a reader or a crash never
// sees half a profile. Expired access tokens are dropped on the way.
func (p *Profile) Save(dir string, now time.Time) error {
	j := profileJSON{
		Version: profileVersion, TenantID: p.TenantID, SubscriptionID: p.SubscriptionID,
		AuthorityHost: p.AuthorityHost, ManagementEndpoint: p.ManagementEndpoint,
		ManagementAudience: p.ManagementAudience, VaultAudience: p.VaultAudience,
		StorageAudience: p.StorageAudience, DeviceEndpoint: p.DeviceEndpoint,
		PortalURL: p.PortalURL, CAFile: p.CAFile,
		PrincipalKind: p.PrincipalKind, PrincipalName: p.PrincipalName,
		RefreshToken: storedSecret(p.RefreshToken), ClientSecret: storedSecret(p.ClientSecret),
		Tokens: make(map[string]cachedJSON),
	}
	for aud, t := range p.Tokens {
		if t.ExpiresOn.After(now) {
			j.Tokens[aud] = cachedJSON{AccessToken: storedSecret(t.AccessToken), ExpiresOn: t.ExpiresOn.UTC()}
		}
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, profileFile), append(b, '\n'))
}

// RemoveProfile deletes the profile in dir, reporting whether there was one.
func RemoveProfile(dir string) (bool, error) {
	err := os.Remove(filepath.Join(dir, profileFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove profile: %w", err)
	}
	return true, nil
}

// writeFileAtomic writes data to name with mode 0600 by temp file and
// rename, creating the parent directory with mode 0700.
func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}
