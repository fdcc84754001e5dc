// Package armapi serves the management host: the ARM-style API. Today it
// holds authentication for the host, the route table with each route's
// required permission, and edgevault's own administration routes; the ARM
// core (subscriptions, resource groups, providers, RBAC, locks) is added
// route by route on the same table.
//
// Every route names its permission in routes.go, and a test fails when one
// has none (deny by default, as SPIRE's policy table).
package armapi

import (
	"context"
	"github.com/edgevault/edgevault/internal/activation"
	"github.com/edgevault/edgevault/internal/alert"
	"github.com/edgevault/edgevault/internal/edge"
	"log/slog"

	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/diagnostics"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/operation"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/provider"
	"github.com/edgevault/edgevault/internal/rbac"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/storageaccount"
	"github.com/edgevault/edgevault/internal/token"
)

// Tokens validates tokens and rotates signing keys (the token.Service).
type Tokens interface {
	Validate(ctx context.Context, raw string, want token.Expect) (token.Claims, error)
	Rotate(ctx context.Context) (token.Rotation, error)
}

// Principals manages principals (the identity.Service).
type Principals interface {
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
	ServicePrincipals(ctx context.Context, tenantID string) ([]principal.Principal, error)
	Users(ctx context.Context, tenantID string) ([]principal.Principal, error)
	CreateServicePrincipal(ctx context.Context, tenantID, displayName string) (principal.Principal, sensitive.String, error)
	ResetClientSecret(ctx context.Context, tenantID, clientID string) (principal.Principal, sensitive.String, error)
	DeleteServicePrincipal(ctx context.Context, tenantID, clientID string) error
}

// RootKeys rotates the envelope root key (the envelope.Keyring); it
// returns the new root key's id once every key-encryption key is rewrapped.
type RootKeys interface {
	RotateRootKey(ctx context.Context) (string, error)
}

// Authorizer is RBAC: one decision per request, and whether a principal
// holds any role at or below a scope (what makes a subscription visible).
type Authorizer interface {
	Authorize(ctx context.Context, p principal.Principal, action string, scope resource.ID) error
	Visible(ctx context.Context, p principal.Principal, scope resource.ID) (bool, error)
}

// Operations reads long-running operations (the operation.Service).
type Operations interface {
	Get(ctx context.Context, subscriptionID, id string) (operation.Operation, error)
}

// Subscriptions reads subscriptions.
type Subscriptions interface {
	Subscription(ctx context.Context, id string) (principal.Subscription, error)
	Subscriptions(ctx context.Context, tenantID string) ([]principal.Subscription, error)
}

// Config configures the handler.
type Config struct {
	Tokens        Tokens
	Principals    Principals
	RootKeys      RootKeys
	Audience      string // the management audience tokens must carry
	AuthorityHost string // for the WWW-Authenticate challenge
	// Endpoint is the public base URL of the management host, for
	// nextLink, Location and Azure-AsyncOperation (never the request's
	// Host header).
	Endpoint        string
	RBAC            Authorizer
	Subscriptions   Subscriptions
	Groups          *resourcegroup.Service
	Providers       *provider.Service
	Locks           *lock.Service
	Operations      Operations
	RoleAssignments *rbac.Service
	// Logger receives the causes of server-side failures (slog.Default
	// when nil).
	Logger *slog.Logger
	// Exists reports whether a resource (below a resource group) exists;
	// resource types register with it as they are built. nil: none exist.
	Exists func(ctx context.Context, id resource.ID) (bool, error)
	Vaults *keyvault.Service // Microsoft.KeyVault vaults
	// StorageAccounts serves Microsoft.Storage/storageAccounts.
	StorageAccounts *storageaccount.Service
	// Diagnostics serves Microsoft.Insights/diagnosticSettings on vaults
	// (404 while nil).
	Diagnostics *diagnostics.Service
	// Audit is the audit trail, read by the Edgevault.Audit routes (503
	// when nil).
	Audit *audit.Writer
	// Edge serves Microsoft.DataBoxEdge/dataBoxEdgeDevices (404 while
	// nil); Activation its activation keys and Alerts its alerts.
	Edge       *edge.Service
	Activation *activation.Service
	Alerts     *alert.Service
}

// Handler serves the management host.
type Handler struct {
	cfg    Config
	routes []route
}

// New returns the management host's handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg}
	h.routes = h.table()
	for i := range h.routes {
		h.routes[i].pattern = compile(h.routes[i].Pattern)
	}
	return h
}
