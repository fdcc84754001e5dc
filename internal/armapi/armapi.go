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
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
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
	CreateServicePrincipal(ctx context.Context, tenantID, displayName string) (principal.Principal, sensitive.String, error)
	ResetClientSecret(ctx context.Context, tenantID, clientID string) (principal.Principal, sensitive.String, error)
	DeleteServicePrincipal(ctx context.Context, tenantID, clientID string) error
}

// RootKeys rotates the envelope root key (the envelope.Keyring); it
// returns the new root key's id once every key-encryption key is rewrapped.
type RootKeys interface {
	RotateRootKey(ctx context.Context) (string, error)
}

// Config configures the handler.
type Config struct {
	Tokens        Tokens
	Principals    Principals
	RootKeys      RootKeys
	Audience      string // the management audience tokens must carry
	AuthorityHost string // for the WWW-Authenticate challenge
}

// Handler serves the management host.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the management host's handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.Method+" "+rt.Pattern, h.guard(rt))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		arm.WriteError(w, http.StatusNotFound, arm.ErrorDetail{Code: "NotFound",
			Message: "No HTTP resource was found that matches the request URI."})
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// guard authenticates the caller and checks the route's permission before
// the route's handler runs, so no handler can forget either.
func (h *Handler) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := h.authenticate(r)
		if err != nil {
			h.challenge(w, err)
			writeError(w, r, err)
			return
		}
		if err := rt.Permission.check(caller); err != nil {
			writeError(w, r, err)
			return
		}
		rt.Handler(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller)))
	})
}
