// Package identity owns principals' credentials and their authentication:
// user passwords (argon2id), service principals' client secrets (random,
// high entropy, stored as SHA-256), managed identities (records only; no
// credential), and refresh tokens for the CLI's interactive sign-in. It
// answers "who is this?" for the token endpoint; token minting itself is
// the token package's.
//
// Invariants: no credential is stored in a recoverable form; a failed
// authentication says nothing about which part was wrong; refresh tokens
// are single use, and replaying a used one revokes its whole family
// (OAuth 2.0 Security BCP, RFC 9700 §4.14).
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// Authentication failures, shaped for the OAuth2 error codes they become.
var (
	// ErrInvalidClient: unknown client id, wrong secret, disabled client.
	ErrInvalidClient = errkind.E(errkind.Unauthenticated, "client authentication failed")
	// ErrInvalidGrant: wrong user name or password, bad refresh token.
	ErrInvalidGrant = errkind.E(errkind.Unauthenticated, "the provided grant is invalid or expired")
)

// Credential is what the store keeps to authenticate a principal.
type Credential struct {
	PasswordHash    string // users: argon2id PHC string
	SecretHash      []byte // service principals: SHA-256 of the client secret
	SecretCreatedAt time.Time
}

// RefreshToken is a stored refresh token (only its hash is kept).
type RefreshToken struct {
	Hash        []byte
	FamilyID    string
	PrincipalID string
	ClientID    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time
}

// Store persists principals, credentials and refresh tokens.
type Store interface {
	CreatePrincipal(ctx context.Context, p principal.Principal, c Credential) error
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
	// PrincipalByClientID finds a service principal or managed identity.
	PrincipalByClientID(ctx context.Context, clientID string) (principal.Principal, Credential, error)
	// PrincipalByUserName finds a user; userName is already lower-cased.
	PrincipalByUserName(ctx context.Context, tenantID, userName string) (principal.Principal, Credential, error)
	Principals(ctx context.Context, tenantID string, kind principal.Kind) ([]principal.Principal, error)
	DeletePrincipal(ctx context.Context, objectID string) error
	SetClientSecret(ctx context.Context, objectID string, hash []byte, at time.Time) error
	// SetPrincipalEnabled enables or disables a principal (NotFound).
	SetPrincipalEnabled(ctx context.Context, objectID string, enabled bool) error

	InsertRefreshToken(ctx context.Context, t RefreshToken) error
	// RedeemRefreshToken marks the token used, in one statement that
	// succeeds only if it was unused and unexpired at now, and returns it.
	// It returns errkind.NotFound when no such usable token exists.
	RedeemRefreshToken(ctx context.Context, hash []byte, now time.Time) (RefreshToken, error)
	// RefreshTokenFamily returns the family of a token by hash, used or not.
	RefreshTokenFamily(ctx context.Context, hash []byte) (string, error)
	RevokeRefreshTokenFamily(ctx context.Context, familyID string) error
}

// Config configures a Service.
type Config struct {
	Store           Store
	Argon2          Argon2Params     // DefaultArgon2 when zero
	RefreshLifetime time.Duration    // 14 days when zero
	Now             func() time.Time // time.Now when nil
}

// Service manages principals and authenticates them.
type Service struct {
	cfg Config
	// hashing bounds concurrent argon2id verifications: each takes
	// Argon2.Memory of RAM, so a burst of sign-in attempts must queue
	// rather than exhaust memory.
	hashing chan struct{}
	// dummyHash is verified against when a user name is unknown, so the
	// time taken does not reveal whether the user exists. It is computed
	// on first use: an argon2id hash costs too much to pay at every start.
	dummyHash func() (string, error)
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.RefreshLifetime == 0 {
		cfg.RefreshLifetime = 14 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy := sync.OnceValues(func() (string, error) {
		return hashPassword(sensitive.New("no such user"), cfg.Argon2)
	})
	return &Service{cfg: cfg, dummyHash: dummy, hashing: make(chan struct{}, 4)}, nil
}

// UserName normalises a sign-in name: user names compare case-insensitively.
func UserName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NewUser builds a user principal and its credential, without storing it
// (bootstrap stores everything in one transaction).
func (s *Service) NewUser(tenantID, userName, displayName string, pw sensitive.String, admin bool) (principal.Principal, Credential, error) {
	name := UserName(userName)
	if name == "" || len(name) > 256 || pw.Len() < 12 || pw.Len() > 256 {
		return principal.Principal{}, Credential{}, errkind.E(errkind.Invalid,
			"a user needs a sign-in name of at most 256 characters and a password of 12 to 256 characters")
	}
	hash, err := hashPassword(pw, s.cfg.Argon2)
	if err != nil {
		return principal.Principal{}, Credential{}, err
	}
	p := principal.Principal{
		ObjectID: principal.NewID(), TenantID: tenantID, Kind: principal.User,
		DisplayName: displayName, UserName: name, Enabled: true, Admin: admin,
		CreatedAt: s.cfg.Now().UTC(),
	}
	return p, Credential{PasswordHash: hash}, nil
}

// NewServicePrincipal builds a service principal with a fresh client secret,
// without storing it. The secret is returned once and never again.
func (s *Service) NewServicePrincipal(tenantID, displayName string, admin bool) (principal.Principal, Credential, sensitive.String, error) {
	if displayName = strings.TrimSpace(displayName); displayName == "" || len(displayName) > 120 {
		return principal.Principal{}, Credential{}, sensitive.String{}, errkind.E(errkind.Invalid,
			"a service principal needs a display name of 1 to 120 characters")
	}
	now := s.cfg.Now().UTC()
	secret, hash := newClientSecret()
	p := principal.Principal{
		ObjectID: principal.NewID(), TenantID: tenantID, Kind: principal.ServicePrincipal,
		DisplayName: displayName, ClientID: principal.NewID(), Enabled: true, Admin: admin,
		CreatedAt: now,
	}
	return p, Credential{SecretHash: hash, SecretCreatedAt: now}, secret, nil
}

// CreateServicePrincipal creates and stores a service principal and returns
// its client secret (shown once).
func (s *Service) CreateServicePrincipal(ctx context.Context, tenantID, displayName string) (principal.Principal, sensitive.String, error) {
	p, c, secret, err := s.NewServicePrincipal(tenantID, displayName, false)
	if err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	if err := s.cfg.Store.CreatePrincipal(ctx, p, c); err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	return p, secret, nil
}

// CreateManagedIdentity stores a managed identity: a principal that obtains
// tokens through the service, never with a secret of its own.
func (s *Service) CreateManagedIdentity(ctx context.Context, tenantID, displayName string) (principal.Principal, error) {
	p := principal.Principal{
		ObjectID: principal.NewID(), TenantID: tenantID, Kind: principal.ManagedIdentity,
		DisplayName: displayName, ClientID: principal.NewID(), Enabled: true,
		CreatedAt: s.cfg.Now().UTC(),
	}
	return p, s.cfg.Store.CreatePrincipal(ctx, p, Credential{})
}

// ServicePrincipals lists a tenant's service principals.
func (s *Service) ServicePrincipals(ctx context.Context, tenantID string) ([]principal.Principal, error) {
	return s.cfg.Store.Principals(ctx, tenantID, principal.ServicePrincipal)
}

// Users lists a tenant's users.
func (s *Service) Users(ctx context.Context, tenantID string) ([]principal.Principal, error) {
	return s.cfg.Store.Principals(ctx, tenantID, principal.User)
}

// Principal returns a principal by object id.
func (s *Service) Principal(ctx context.Context, objectID string) (principal.Principal, error) {
	return s.cfg.Store.Principal(ctx, objectID)
}

// servicePrincipal finds a tenant's service principal by client id; one of
// another tenant is reported as not found.
func (s *Service) servicePrincipal(ctx context.Context, tenantID, clientID string) (principal.Principal, error) {
	p, _, err := s.cfg.Store.PrincipalByClientID(ctx, clientID)
	if err != nil || p.TenantID != tenantID || p.Kind != principal.ServicePrincipal {
		return principal.Principal{}, errkind.E(errkind.NotFound, "no service principal with client id %q", clientID)
	}
	return p, nil
}

// ResetClientSecret replaces a service principal's secret; the old one
// stops working at once.
func (s *Service) ResetClientSecret(ctx context.Context, tenantID, clientID string) (principal.Principal, sensitive.String, error) {
	p, err := s.servicePrincipal(ctx, tenantID, clientID)
	if err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	secret, hash := newClientSecret()
	if err := s.cfg.Store.SetClientSecret(ctx, p.ObjectID, hash, s.cfg.Now().UTC()); err != nil {
		return principal.Principal{}, sensitive.String{}, err
	}
	return p, secret, nil
}

// SetManagedIdentityEnabled enables or disables a managed identity: a
// disabled one obtains no tokens.
func (s *Service) SetManagedIdentityEnabled(ctx context.Context, objectID string, enabled bool) error {
	p, err := s.Principal(ctx, objectID)
	if err != nil {
		return err
	}
	if p.Kind != principal.ManagedIdentity {
		return errkind.E(errkind.Invalid, "principal %s is not a managed identity", objectID)
	}
	return s.cfg.Store.SetPrincipalEnabled(ctx, objectID, enabled)
}

// DeleteManagedIdentity removes a managed identity with its resource.
func (s *Service) DeleteManagedIdentity(ctx context.Context, objectID string) error {
	err := s.cfg.Store.DeletePrincipal(ctx, objectID)
	if errkind.KindOf(err) == errkind.NotFound {
		return nil
	}
	return err
}

// DeleteServicePrincipal removes a service principal and its refresh tokens.
func (s *Service) DeleteServicePrincipal(ctx context.Context, tenantID, clientID string) error {
	p, err := s.servicePrincipal(ctx, tenantID, clientID)
	if err != nil {
		return err
	}
	return s.cfg.Store.DeletePrincipal(ctx, p.ObjectID)
}

// AuthenticateClient checks a client secret (client_credentials grant).
func (s *Service) AuthenticateClient(ctx context.Context, tenantID, clientID string, secret sensitive.String) (principal.Principal, error) {
	p, c, err := s.cfg.Store.PrincipalByClientID(ctx, clientID)
	if err != nil && errkind.KindOf(err) != errkind.NotFound {
		return principal.Principal{}, err
	}
	sum := sha256.Sum256([]byte(secret.Reveal()))
	ok := err == nil && len(c.SecretHash) == sha256.Size && subtle.ConstantTimeCompare(sum[:], c.SecretHash) == 1
	if !ok || p.TenantID != tenantID || p.Kind != principal.ServicePrincipal || !p.Enabled {
		return principal.Principal{}, ErrInvalidClient
	}
	return p, nil
}

// AuthenticatePassword checks a user's password (password grant).
func (s *Service) AuthenticatePassword(ctx context.Context, tenantID, userName string, pw sensitive.String) (principal.Principal, error) {
	p, c, err := s.cfg.Store.PrincipalByUserName(ctx, tenantID, UserName(userName))
	if err != nil && errkind.KindOf(err) != errkind.NotFound {
		return principal.Principal{}, err
	}
	hash := c.PasswordHash
	if err != nil {
		if hash, err = s.dummyHash(); err != nil {
			return principal.Principal{}, err
		}
		err = errkind.E(errkind.NotFound, "no such user")
	}
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return principal.Principal{}, ctx.Err()
	}
	match, verr := verifyPassword(pw, hash)
	<-s.hashing
	if err != nil || verr != nil || !match || !p.Enabled {
		return principal.Principal{}, ErrInvalidGrant
	}
	return p, nil
}

// clientSecretPrefix marks edgevault client secrets so secret scanners can
// recognise a leaked one.
const clientSecretPrefix = "evcs_"

// newClientSecret returns a 256-bit random secret and its SHA-256. A fast
// hash is right here (unlike for passwords): the secret has full entropy,
// so it cannot be guessed from its hash.
func newClientSecret() (sensitive.String, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := clientSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return sensitive.New(secret), sum[:]
}
