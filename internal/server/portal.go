package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/portal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/store"
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
		Sessions:       portalSessions{s.store},
		Logger:         s.log,
	})
}

// portalSessions keeps the portal's sessions in the database, so a
// restart signs no one out and replicas share them. The store cannot
// import the portal (a transport), so this adapts the store's rows to the
// portal's records.
type portalSessions struct{ st *store.Store }

var _ portal.SessionStore = portalSessions{}

func (p portalSessions) CreateSession(ctx context.Context, r portal.SessionRecord) error {
	ps := store.PortalSession{IDHash: r.IDHash, UserObjectID: r.User.ObjectID, UserName: r.User.Name,
		TenantID: r.User.TenantID, Subscription: r.Subscription, CreatedAt: r.Created, LastSeenAt: r.LastSeen}
	for _, op := range r.Operations {
		ps.Operations = append(ps.Operations, store.PortalOperation(op))
	}
	return p.st.CreatePortalSession(ctx, ps)
}

func (p portalSessions) Session(ctx context.Context, idHash []byte) (portal.SessionRecord, error) {
	ps, err := p.st.PortalSession(ctx, idHash)
	if err != nil {
		return portal.SessionRecord{}, err
	}
	r := portal.SessionRecord{IDHash: ps.IDHash, Created: ps.CreatedAt, LastSeen: ps.LastSeenAt, Subscription: ps.Subscription,
		User: portal.User{ObjectID: ps.UserObjectID, Name: ps.UserName, TenantID: ps.TenantID}}
	for _, op := range ps.Operations {
		r.Operations = append(r.Operations, portal.OperationRecord(op))
	}
	return r, nil
}

func (p portalSessions) TouchSession(ctx context.Context, idHash []byte, at time.Time) error {
	return p.st.TouchPortalSession(ctx, idHash, at)
}

func (p portalSessions) DeleteSession(ctx context.Context, idHash []byte) error {
	return p.st.DeletePortalSession(ctx, idHash)
}

func (p portalSessions) DeleteExpiredSessions(ctx context.Context, seenBy, createdBy time.Time) error {
	_, err := p.st.DeleteExpiredPortalSessions(ctx, seenBy, createdBy)
	return err
}

func (p portalSessions) SetSessionSubscription(ctx context.Context, idHash []byte, subscription string) error {
	return p.st.SetPortalSessionSubscription(ctx, idHash, subscription)
}

func (p portalSessions) AddSessionOperation(ctx context.Context, idHash []byte, op portal.OperationRecord) error {
	return p.st.AddPortalSessionOperation(ctx, idHash, store.PortalOperation(op))
}

func (p portalSessions) SetKeyShown(ctx context.Context, idHash []byte, opID string, shown bool) (bool, error) {
	return p.st.SetPortalOperationKeyShown(ctx, idHash, opID, shown)
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
