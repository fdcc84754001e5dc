package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/portal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

// newPortalHandler serves the portal host. The portal calls the API
// through the server's root handler (s.http, set once wire returns), as
// the signed-in user.
func (s *Server) newPortalHandler() (*portal.Handler, error) {
	return portal.New(portal.Config{
		Auth: portalAuth{s},
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.http.Handler.ServeHTTP(w, r)
		}),
		ManagementHost: s.endpoints.Host("management"),
		VaultHost:      s.endpoints.Host("vault"),
		Logger:         s.log,
	})
}

// portalAuth signs users in with their password in the bootstrap tenant,
// as the login host's password grant does, and issues their tokens.
type portalAuth struct{ s *Server }

func (a portalAuth) SignIn(ctx context.Context, userName string, pw sensitive.String) (portal.User, error) {
	p, err := a.s.identity.AuthenticatePassword(ctx, a.s.boot.TenantID, userName, pw)
	if errors.Is(err, identity.ErrInvalidGrant) {
		return portal.User{}, fmt.Errorf("%w: %w", portal.ErrBadCredentials, err)
	}
	if err != nil {
		return portal.User{}, err
	}
	name := p.UserName
	if name == "" {
		name = p.DisplayName
	}
	return portal.User{ObjectID: p.ObjectID, Name: name, TenantID: p.TenantID}, nil
}

// Token issues a token for the user, who must still exist and be enabled.
func (a portalAuth) Token(ctx context.Context, objectID string, aud portal.Audience) (string, error) {
	p, err := a.s.identity.Principal(ctx, objectID)
	if errkind.KindOf(err) == errkind.NotFound || (err == nil && !p.Enabled) {
		return "", portal.ErrBadCredentials
	}
	if err != nil {
		return "", err
	}
	audience := a.s.endpoints.Management()
	if aud == portal.Vault {
		audience = a.s.endpoints.VaultAudience()
	}
	tok, _, err := a.s.tokens.Issue(ctx, token.Subject{Principal: p, AppID: portal.ClientID}, audience)
	return tok, err
}
