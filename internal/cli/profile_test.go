package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

func TestProfileRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "config")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Profile{
		TenantID: "t", SubscriptionID: "s", AuthorityHost: "https://login.localhost:8443/",
		ManagementEndpoint: "https://management.localhost:8443", ManagementAudience: "https://management.localhost",
		VaultAudience: "https://vault.localhost", CAFile: "/ca.pem",
		PrincipalKind: User, PrincipalName: "admin", RefreshToken: sensitive.New("rt-secret"),
		Tokens: map[string]CachedToken{
			"live":    {AccessToken: sensitive.New("at-live"), ExpiresOn: now.Add(time.Hour)},
			"expired": {AccessToken: sensitive.New("at-expired"), ExpiresOn: now.Add(-time.Second)},
		},
	}
	if err := p.Save(dir, now); err != nil {
		t.Fatal(err)
	}
	got, err := LoadProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != p.TenantID || got.ManagementAudience != p.ManagementAudience || got.CAFile != p.CAFile ||
		got.PrincipalKind != User || got.PrincipalName != "admin" || got.RefreshToken.Reveal() != "rt-secret" ||
		!got.ClientSecret.IsZero() {
		t.Errorf("round trip: got %+v", got)
	}
	if len(got.Tokens) != 1 || got.Tokens["live"].AccessToken.Reveal() != "at-live" || !got.Tokens["live"].ExpiresOn.Equal(now.Add(time.Hour)) {
		t.Errorf("tokens = %+v, want only the live one", got.Tokens)
	}
	// Formatting a profile never shows its secrets.
	if s := fmt.Sprintf("%v %+v %#v", got, *got, got.Tokens); strings.Contains(s, "rt-secret") || strings.Contains(s, "at-live") {
		t.Errorf("formatted profile leaks a secret: %s", s)
	}
	if removed, err := RemoveProfile(dir); !removed || err != nil {
		t.Errorf("RemoveProfile = %v, %v", removed, err)
	}
	if _, err := LoadProfile(dir); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("after remove: %v", err)
	}
	if removed, err := RemoveProfile(dir); removed || err != nil {
		t.Errorf("RemoveProfile again = %v, %v", removed, err)
	}
}

func TestLoadProfileRejectsBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":       "{",
		"future version": `{"version": 99}`,
		"secret type":    `{"version": 1, "refreshToken": 5}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, profileFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadProfile(dir); err == nil || errors.Is(err, ErrNotLoggedIn) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestConfigDir(t *testing.T) {
	t.Setenv(ConfigDirEnv, "/some/where")
	if d, err := ConfigDir(); d != "/some/where" || err != nil {
		t.Errorf("with %s: %q, %v", ConfigDirEnv, d, err)
	}
	t.Setenv(ConfigDirEnv, "")
	t.Setenv("HOME", "/home/test")
	t.Setenv("XDG_CONFIG_HOME", "/home/test/.config")
	if d, err := ConfigDir(); err != nil || filepath.Base(d) != "edgevault" {
		t.Errorf("default: %q, %v", d, err)
	}
}
