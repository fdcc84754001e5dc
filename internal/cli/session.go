package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// RefreshMargin is how long before its expiry a cached access token is
// replaced, so that it does not expire in flight.
const RefreshMargin = 5 * time.Minute

// Session is a signed-in profile in use: it hands out access tokens per
// audience, from the cache while they have more than RefreshMargin left,
// else from a refresh-token grant (users) or a client-credentials grant
// (service principals), saving the new token and the rotated refresh token
// to the profile. Commands use it to call the server. It is safe for
// concurrent use.
type Session struct {
	// Profile is the signed-in state; the Session updates its tokens.
	Profile *Profile
	// Dir is the config directory the profile is saved to.
	Dir string
	// HTTP is the client for all requests, trusting Profile.CAFile.
	HTTP *http.Client
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex // serialises token redemption, since refresh tokens rotate
}

// OpenSession loads the profile from the config directory.
func OpenSession() (*Session, error) {
	dir, err := ConfigDir()
	if err != nil {
		return nil, err
	}
	p, err := LoadProfile(dir)
	if err != nil {
		return nil, err
	}
	return NewSession(dir, p)
}

// NewSession returns a session for profile p saved in dir.
func NewSession(dir string, p *Profile) (*Session, error) {
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: p.CAFile})
	if err != nil {
		return nil, err
	}
	if p.Tokens == nil {
		p.Tokens = make(map[string]CachedToken)
	}
	return &Session{Profile: p, Dir: dir, HTTP: hc}, nil
}

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// TokenClient returns a token client for the profile's tenant.
func (s *Session) TokenClient() *client.TokenClient {
	return &client.TokenClient{HTTP: s.HTTP, AuthorityHost: s.Profile.AuthorityHost, Tenant: s.Profile.TenantID, Now: s.Now}
}

// AccessToken returns a valid access token for audience.
func (s *Session) AccessToken(ctx context.Context, audience string) (sensitive.String, error) {
	if audience == "" {
		return sensitive.String{}, errors.New("no audience configured for this endpoint; run 'edgevault login --bootstrap' again")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if t, ok := s.Profile.Tokens[audience]; ok && t.ExpiresOn.Sub(now) > RefreshMargin {
		return t.AccessToken, nil
	}
	tok, err := s.redeem(ctx, audience)
	if err != nil {
		return sensitive.String{}, err
	}
	s.Profile.Tokens[audience] = CachedToken{AccessToken: tok.AccessToken, ExpiresOn: tok.ExpiresOn}
	if s.Profile.PrincipalKind == User && !tok.RefreshToken.IsZero() {
		s.Profile.RefreshToken = tok.RefreshToken
	}
	// A rotated refresh token that is not saved is lost, and the old one no
	// longer works: failing to save is an error even though tok is good.
	if err := s.Profile.Save(s.Dir, now); err != nil {
		return sensitive.String{}, err
	}
	return tok.AccessToken, nil
}

// redeem gets a new token for audience with the profile's credential.
func (s *Session) redeem(ctx context.Context, audience string) (*client.Token, error) {
	tc := s.TokenClient()
	var (
		tok *client.Token
		err error
	)
	switch s.Profile.PrincipalKind {
	case User:
		if s.Profile.RefreshToken.IsZero() {
			return nil, ErrNotLoggedIn
		}
		tok, err = tc.Refresh(ctx, s.Profile.RefreshToken, audience)
	case ServicePrincipal:
		tok, err = tc.ClientCredentials(ctx, s.Profile.PrincipalName, s.Profile.ClientSecret, audience)
	default:
		return nil, fmt.Errorf("profile has unknown principal kind %q; run 'edgevault login' again", s.Profile.PrincipalKind)
	}
	var te *client.TokenError
	if errors.As(err, &te) && (te.Code == "invalid_grant" || te.Code == "invalid_client") {
		return nil, errkind.Wrap(errkind.Unauthenticated, err, "sign-in expired or revoked; run 'edgevault login' again")
	}
	if err != nil {
		return nil, fmt.Errorf("get token for %s: %w", audience, err)
	}
	return tok, nil
}

// ManagementAPI returns a caller for the management endpoint, with tokens
// for the management audience.
func (s *Session) ManagementAPI() *client.API {
	return &client.API{
		HTTP:      s.HTTP,
		UserAgent: userAgent(),
		Token: func(ctx context.Context) (sensitive.String, error) {
			return s.AccessToken(ctx, s.Profile.ManagementAudience)
		},
	}
}

// ManagementURL returns the URL of path (which starts with "/") on the
// management endpoint.
func (s *Session) ManagementURL(path string) string {
	return strings.TrimRight(s.Profile.ManagementEndpoint, "/") + path
}
