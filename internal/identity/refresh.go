package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
)

const refreshTokenPrefix = "evrt_"

// IssueRefreshToken starts a new refresh-token family for p signed in
// through clientID.
func (s *Service) IssueRefreshToken(ctx context.Context, p principal.Principal, clientID string) (sensitive.String, error) {
	return s.issueRefresh(ctx, p.ObjectID, clientID, principal.NewID())
}

func (s *Service) issueRefresh(ctx context.Context, principalID, clientID, family string) (sensitive.String, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	now := s.cfg.Now().UTC()
	err := s.cfg.Store.InsertRefreshToken(ctx, RefreshToken{
		Hash: sum[:], FamilyID: family, PrincipalID: principalID, ClientID: clientID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshLifetime),
	})
	if err != nil {
		return sensitive.String{}, err
	}
	return sensitive.New(tok), nil
}

// RedeemRefreshToken consumes a refresh token and returns its principal and
// the token that replaces it. A token that was already used is a sign of
// theft (RFC 9700 §4.14.2): its whole family is revoked, so neither the
// thief nor the victim can continue without signing in again.
func (s *Service) RedeemRefreshToken(ctx context.Context, tenantID, clientID string, tok sensitive.String) (principal.Principal, sensitive.String, error) {
	sum := sha256.Sum256([]byte(tok.Reveal()))
	rt, err := s.cfg.Store.RedeemRefreshToken(ctx, sum[:], s.cfg.Now().UTC())
	if errkind.KindOf(err) == errkind.NotFound {
		if family, ferr := s.cfg.Store.RefreshTokenFamily(ctx, sum[:]); ferr == nil {
			if rerr := s.cfg.Store.RevokeRefreshTokenFamily(ctx, family); rerr != nil {
				return principal.Principal{}, sensitive.String{}, rerr
			}
		}
		return principal.Principal{}, sensitive.String{}, ErrInvalidGrant
	}
	if err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	if rt.ClientID != clientID {
		return principal.Principal{}, sensitive.String{}, ErrInvalidGrant
	}
	p, err := s.cfg.Store.Principal(ctx, rt.PrincipalID)
	if err != nil || p.TenantID != tenantID || !p.Enabled {
		return principal.Principal{}, sensitive.String{}, ErrInvalidGrant
	}
	next, err := s.issueRefresh(ctx, p.ObjectID, clientID, rt.FamilyID)
	if err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	return p, next, nil
}
