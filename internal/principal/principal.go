// Package principal is the vocabulary of who can act in edgevault: users,
// service principals and managed identities, each identified by an object id
// (a GUID) within one tenant. It owns no storage and no credentials; those
// belong to the identity package.
package principal

import (
	"time"

	"github.com/google/uuid"
)

// Kind is the kind of a principal. The values are Azure's principalType
// strings, as they appear in role assignments and token claims.
type Kind string

const (
	User             Kind = "User"
	ServicePrincipal Kind = "ServicePrincipal"
	// ManagedIdentity principals are created by the service (the system-
	// assigned identity of an edge resource). Azure reports them with
	// principalType ServicePrincipal; we keep the distinction internally
	// because they authenticate differently (no client secret).
	ManagedIdentity Kind = "ManagedIdentity"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	return k == User || k == ServicePrincipal || k == ManagedIdentity
}

// Principal is an identity that can hold tokens and be granted access.
type Principal struct {
	ObjectID    string // GUID, lowercase, unique across tenants
	TenantID    string
	Kind        Kind
	DisplayName string
	// UserName is the sign-in name of a user (user principal name), unique
	// per tenant, compared case-insensitively. Empty for other kinds.
	UserName string
	// ClientID is the application id of a service principal or managed
	// identity (the appid claim). Empty for users.
	ClientID string
	// Enabled is false for a disabled principal: it cannot obtain tokens.
	Enabled bool
	// Admin marks a tenant administrator, who may manage principals and the
	// server's keys (the role Entra calls Global Administrator).
	Admin     bool
	CreatedAt time.Time
}

// NewID returns a fresh random object id or client id.
func NewID() string { return uuid.NewString() }

// ValidID reports whether s is a GUID in its canonical lowercase form.
func ValidID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// Tenant is a directory: the root of ownership for subscriptions and
// principals.
type Tenant struct {
	ID          string
	DisplayName string
	CreatedAt   time.Time
}

// Subscription is a billing and management boundary within a tenant; every
// resource lives under one.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
	State       string // Azure's subscription state: "Enabled", ...
	CreatedAt   time.Time
}

// CLIClientID is the well-known application (client) id of the edgevault
// CLI, a public client: it signs users in with the password grant and holds
// no secret, like the Azure CLI's well-known id.
const CLIClientID = "6f0b2c4e-8d7a-4b1e-9c3f-2a5d7e9b1c04"
