package cli

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/errkind"
)

// openAt opens the stored session with a clock the test moves.
func openAt(t *testing.T, now *time.Time) *Session {
	t.Helper()
	s, err := OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return *now }
	return s
}

func TestSessionCachesAndRefreshes(t *testing.T) {
	dir := useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	now := time.Now()
	s := openAt(t, &now)
	ctx := t.Context()

	first, err := s.AccessToken(ctx, mgmtAudience)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(54 * time.Minute) // 1h token, more than RefreshMargin left
	if tok, err := s.AccessToken(ctx, mgmtAudience); err != nil || !tok.Equal(first) {
		t.Fatalf("within lifetime: got a new token (err %v)", err)
	}
	if n := fs.grantCount("refresh_token"); n != 0 {
		t.Fatalf("refresh grants = %d, want 0", n)
	}

	oldRT := s.Profile.RefreshToken
	now = now.Add(2 * time.Minute) // less than RefreshMargin left
	second, err := s.AccessToken(ctx, mgmtAudience)
	if err != nil {
		t.Fatal(err)
	}
	if second.Equal(first) || fs.grantCount("refresh_token") != 1 {
		t.Fatalf("near expiry: token reused or no refresh grant")
	}
	stored, err := LoadProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if stored.RefreshToken.Equal(oldRT) || !stored.RefreshToken.Equal(s.Profile.RefreshToken) {
		t.Error("rotated refresh token not saved")
	}
	if !stored.Tokens[mgmtAudience].AccessToken.Equal(second) {
		t.Error("new access token not cached on disk")
	}
	// The server rotated: the old refresh token is dead.
	if _, err := s.TokenClient().Refresh(ctx, oldRT, mgmtAudience); err == nil {
		t.Error("old refresh token still redeemable")
	}
}

// TestSessionPerAudience checks tokens are redeemed and cached per audience,
// and that a later process reuses the cache on disk.
func TestSessionPerAudience(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	now := time.Now()
	s := openAt(t, &now)
	ctx := t.Context()
	mgmt, err := s.AccessToken(ctx, mgmtAudience)
	if err != nil {
		t.Fatal(err)
	}
	// Another audience gets its own token, by refresh grant.
	vault, err := s.AccessToken(ctx, "https://vault.localhost")
	if err != nil || vault.Equal(mgmt) || fs.grantCount("refresh_token") != 1 {
		t.Fatalf("vault audience: err %v, refresh grants %d", err, fs.grantCount("refresh_token"))
	}
	if got := fs.audiences[len(fs.audiences)-1]; got != "https://vault.localhost" {
		t.Errorf("last grant audience = %q", got)
	}

	// A later process uses the cache from disk.
	s2 := openAt(t, &now)
	if tok, err := s2.AccessToken(ctx, "https://vault.localhost"); err != nil || !tok.Equal(vault) {
		t.Errorf("new session: cached token not used (err %v)", err)
	}
	if fs.grantCount("refresh_token") != 1 {
		t.Error("new session redeemed a grant")
	}
}

func TestSessionServicePrincipalUsesClientCredentials(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile, "--service-principal")
	now := time.Now().Add(time.Hour)
	s := openAt(t, &now)
	if _, err := s.AccessToken(t.Context(), mgmtAudience); err != nil {
		t.Fatal(err)
	}
	if fs.grantCount("client_credentials") != 2 || fs.grantCount("refresh_token") != 0 {
		t.Errorf("grants = %v", fs.grants)
	}
}

func TestSessionRevokedRefreshToken(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	fs.mu.Lock()
	clear(fs.refresh) // the server revoked every refresh token
	fs.mu.Unlock()
	now := time.Now().Add(time.Hour)
	s := openAt(t, &now)
	_, err := s.AccessToken(t.Context(), mgmtAudience)
	if errkind.KindOf(err) != errkind.Unauthenticated || !strings.Contains(err.Error(), "edgevault login") {
		t.Fatalf("err = %v, want Unauthenticated asking to log in", err)
	}
	var te *client.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Errorf("err does not wrap the token error: %v", err)
	}
}

// TestSessionConcurrentRefresh checks that concurrent callers share one
// refresh: refresh tokens rotate, so a second redemption of the same one
// would fail.
func TestSessionConcurrentRefresh(t *testing.T) {
	useConfigDir(t)
	fs := newFakeServer(t)
	mustRun(t, "", "login", "--bootstrap", fs.bootstrapFile)
	now := time.Now().Add(time.Hour)
	s := openAt(t, &now)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := s.AccessToken(context.Background(), mgmtAudience)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := fs.grantCount("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
}

func TestSessionErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSession(dir, &Profile{PrincipalKind: "robot", AuthorityHost: "https://login.localhost:1/", TenantID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessToken(t.Context(), ""); err == nil {
		t.Error("empty audience: no error")
	}
	if _, err := s.AccessToken(t.Context(), "aud"); err == nil || !strings.Contains(err.Error(), "robot") {
		t.Errorf("unknown kind: err = %v", err)
	}
	s.Profile.PrincipalKind = User
	if _, err := s.AccessToken(t.Context(), "aud"); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("user without refresh token: err = %v", err)
	}
	useConfigDir(t)
	if _, err := OpenSession(); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("OpenSession without profile: err = %v", err)
	}
}
