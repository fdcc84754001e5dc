package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
)

// Defaults for Config.
const (
	DefaultLifetime = time.Hour
	// DefaultSkew is the clock skew tolerated on exp, nbf and iat. RFC 8725
	// asks for "small"; a minute covers NTP-synchronised hosts.
	DefaultSkew = time.Minute
	// MaxTokenSize bounds what the validator will parse at all.
	MaxTokenSize = 8 << 10
)

// Validation failures. All are errkind.Unauthenticated; their messages are
// safe to show (they never echo token content).
var (
	ErrMalformed  = errkind.E(errkind.Unauthenticated, "the access token is malformed")
	ErrUnknownKey = errkind.E(errkind.Unauthenticated, "the access token is signed by an unknown key")
	ErrSignature  = errkind.E(errkind.Unauthenticated, "the access token signature is invalid")
	ErrExpired    = errkind.E(errkind.Unauthenticated, "the access token has expired")
	ErrNotYet     = errkind.E(errkind.Unauthenticated, "the access token is not yet valid")
	ErrAudience   = errkind.E(errkind.Unauthenticated, "the access token audience is invalid")
	ErrIssuer     = errkind.E(errkind.Unauthenticated, "the access token issuer is invalid")
	ErrTenant     = errkind.E(errkind.Unauthenticated, "the access token is for another tenant")
)

// Config configures a Service.
type Config struct {
	Store  Store
	Sealer Sealer
	// AuthorityHost is the login host URL with a trailing slash, e.g.
	// "https://login.localhost:8443/". A tenant's issuer is
	// AuthorityHost + tenant + "/v2.0", as on the Microsoft identity platform.
	AuthorityHost string
	Lifetime      time.Duration    // access token lifetime; DefaultLifetime when zero
	Skew          time.Duration    // DefaultSkew when zero
	Now           func() time.Time // time.Now when nil
}

// Service issues and validates access tokens.
type Service struct {
	cfg      Config
	keys     *keyring
	verified *verifiedCache
}

// New returns a Service. It does not touch the store until first use;
// call EnsureKey at start-up to create the first signing key.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("token: Store and Sealer are required")
	}
	if !strings.HasPrefix(cfg.AuthorityHost, "https://") || !strings.HasSuffix(cfg.AuthorityHost, "/") {
		return nil, errors.New("token: AuthorityHost must be an https URL ending in /")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	refresh := time.Minute
	return &Service{cfg: cfg, verified: newVerifiedCache(10_000), keys: &keyring{
		store:  cfg.Store,
		sealer: cfg.Sealer,
		now:    cfg.Now,
		// A retired key must verify every token signed with it, including
		// by a replica that has not yet reloaded (up to refresh later).
		retention:    cfg.Lifetime + cfg.Skew + refresh,
		refreshEvery: refresh,
	}}, nil
}

// Lifetime returns the access token lifetime.
func (s *Service) Lifetime() time.Duration { return s.cfg.Lifetime }

// IssuerFor returns the issuer (iss) of tokens for a tenant.
func (s *Service) IssuerFor(tenantID string) string {
	return s.cfg.AuthorityHost + tenantID + "/v2.0"
}

// EnsureKey creates the first signing key when the store has none.
func (s *Service) EnsureKey(ctx context.Context) error {
	ks, err := s.keys.refresh(ctx, true)
	if err != nil {
		return err
	}
	if ks.active != nil {
		return nil
	}
	_, err = s.keys.rotate(ctx)
	return err
}

// Rotation describes the result of Rotate.
type Rotation struct {
	KeyID             string
	PreviousKeyID     string    // empty when there was none
	PreviousRetiresAt time.Time // when the previous key leaves the JWKS
}

// Rotate creates a new signing key; the previous one stops signing at once
// and stays in the JWKS until every token it signed has expired.
func (s *Service) Rotate(ctx context.Context) (Rotation, error) {
	prev, err := s.keys.refresh(ctx, true)
	if err != nil {
		return Rotation{}, err
	}
	k, err := s.keys.rotate(ctx)
	if err != nil {
		return Rotation{}, err
	}
	r := Rotation{KeyID: k.ID}
	if prev.active != nil {
		r.PreviousKeyID = prev.active.id
		r.PreviousRetiresAt = k.CreatedAt.Add(s.keys.retention)
	}
	return r, nil
}

// JWKS returns the published key set (active and not yet expired retired keys).
func (s *Service) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	ks, err := s.keys.refresh(ctx, false)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return ks.jwks(), nil
}

// Subject is who a token is issued to.
type Subject struct {
	Principal principal.Principal
	AppID     string // the client application; for users, the client they signed in with
}

// Issue signs an access token for sub and audience. It returns the token
// and its claims.
func (s *Service) Issue(ctx context.Context, sub Subject, audience string) (string, Claims, error) {
	ks, err := s.keys.refresh(ctx, false)
	if err != nil {
		return "", Claims{}, err
	}
	if ks.active == nil {
		return "", Claims{}, errkind.E(errkind.Unavailable, "no signing key")
	}
	now := s.cfg.Now().Truncate(time.Second)
	p := sub.Principal
	c := Claims{
		ID:        newTokenID(),
		Issuer:    s.IssuerFor(p.TenantID),
		Audience:  audience,
		TenantID:  p.TenantID,
		ObjectID:  p.ObjectID,
		AppID:     sub.AppID,
		IDType:    App,
		Subject:   p.ObjectID,
		Name:      p.DisplayName,
		IssuedAt:  now,
		NotBefore: now,
		Expiry:    now.Add(s.cfg.Lifetime),
	}
	if p.Kind == principal.User {
		c.IDType = User
		c.UserName = p.UserName
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: ks.active.private, KeyID: ks.active.id}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", Claims{}, err
	}
	raw, err := jwt.Signed(signer).Claims(toWire(c)).Serialize()
	if err != nil {
		return "", Claims{}, err
	}
	return raw, c, nil
}

// Expect is what a surface requires of a token.
type Expect struct {
	Audience string // required: the surface's audience
	TenantID string // optional: the only tenant accepted
}

// Validate verifies raw and returns its claims. The checks follow RFC 8725:
// RS256 only; the key comes from our key set by kid; signature; exp, nbf
// and iat within the skew; aud exact; iss equal to the issuer of the token's
// own tid; tid equal to want.TenantID when set. The signature check is
// skipped for a token already verified (see verifiedCache); the claim
// checks always run.
func (s *Service) Validate(ctx context.Context, raw string, want Expect) (Claims, error) {
	if raw == "" || len(raw) > MaxTokenSize {
		return Claims{}, ErrMalformed
	}
	sum := sha256.Sum256([]byte(raw))
	if e, ok := s.verified.get(sum); ok && s.keys.published(e.kid) {
		return e.claims, s.checkClaims(e.claims, want)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{Algorithm})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return Claims{}, ErrMalformed
	}
	key, err := s.keys.lookup(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return Claims{}, err
	}
	var w wireClaims
	if err := tok.Claims(key.public, &w); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return Claims{}, ErrSignature
		}
		return Claims{}, ErrMalformed
	}
	c := fromWire(w)
	if err := s.checkClaims(c, want); err != nil {
		return Claims{}, err
	}
	s.verified.put(sum, verifiedEntry{kid: key.id, claims: c})
	return c, nil
}

func (s *Service) checkClaims(c Claims, want Expect) error {
	now, skew := s.cfg.Now(), s.cfg.Skew
	switch {
	case c.Expiry.Unix() == 0 || c.ObjectID == "" || c.TenantID == "" || c.IssuedAt.Unix() == 0:
		return ErrMalformed
	case c.IDType != App && c.IDType != User:
		return ErrMalformed
	case !now.Before(c.Expiry.Add(skew)):
		return ErrExpired
	case now.Add(skew).Before(c.NotBefore), now.Add(skew).Before(c.IssuedAt):
		return ErrNotYet
	case want.Audience == "" || c.Audience != want.Audience:
		return ErrAudience
	case !principal.ValidID(c.TenantID) || c.Issuer != s.IssuerFor(c.TenantID):
		return ErrIssuer
	case want.TenantID != "" && c.TenantID != want.TenantID:
		return ErrTenant
	}
	return nil
}

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
