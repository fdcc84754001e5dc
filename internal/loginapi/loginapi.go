// Package loginapi serves the login host: an OAuth 2.0 / OpenID Connect
// issuer shaped like the Microsoft identity platform v2.0 endpoints, so that
// azidentity and @azure/identity work against it with only an authority
// host and DisableInstanceDiscovery (reference/keyvault-wire.md §2.5):
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/discovery/v2.0/keys
//	POST /{tenant}/oauth2/v2.0/token
//
// The token endpoint supports client_credentials (secret in the form or in
// HTTP Basic), password (the CLI's users) and refresh_token. Errors use the
// OAuth 2.0 shape (RFC 6749 §5.2) with Entra's extra fields; any malformed
// request gets a 4xx, never a 500.
package loginapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

// Tokens issues tokens and publishes keys (the token.Service).
type Tokens interface {
	Issue(ctx context.Context, sub token.Subject, audience string) (string, token.Claims, error)
	JWKS(ctx context.Context) (jose.JSONWebKeySet, error)
	IssuerFor(tenantID string) string
}

// Identities authenticates principals (the identity.Service).
type Identities interface {
	AuthenticateClient(ctx context.Context, tenantID, clientID string, secret sensitive.String) (principal.Principal, error)
	AuthenticatePassword(ctx context.Context, tenantID, userName string, pw sensitive.String) (principal.Principal, error)
	IssueRefreshToken(ctx context.Context, p principal.Principal, clientID string) (sensitive.String, error)
	RedeemRefreshToken(ctx context.Context, tenantID, clientID string, tok sensitive.String) (principal.Principal, sensitive.String, error)
}

// Tenants answers whether a tenant exists.
type Tenants interface {
	Tenant(ctx context.Context, id string) (principal.Tenant, error)
}

// Config configures the handler.
type Config struct {
	Tokens     Tokens
	Identities Identities
	Tenants    Tenants
	// AuthorityHost is the login host's URL with a trailing slash.
	AuthorityHost string
	// Audiences are the resources tokens may be requested for, without
	// trailing slash (management, vault, storage).
	Audiences []string
}

// Handler serves the login host.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// maxFormBytes bounds a token request body. Real requests are well under
// 4 KiB (the claims parameter is the largest field).
const maxFormBytes = 64 << 10

// New returns the login host's handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", h.discovery)
	h.mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", h.keys)
	h.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", h.token)
	h.mux.HandleFunc("/{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, oauthError{Code: "invalid_request", Description: "the token endpoint accepts only POST", ErrorCode: 900561})
	})
	h.mux.HandleFunc("/{tenant}/oauth2/v2.0/authorize", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusBadRequest, oauthError{Code: "unsupported_response_type",
			Description: "interactive sign-in is not supported; use the client_credentials or password grant", ErrorCode: 700005})
	})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, oauthError{Code: "invalid_request", Description: "no such endpoint on the login host", ErrorCode: 900144})
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// tenant checks the {tenant} path segment names an existing tenant.
func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := strings.ToLower(r.PathValue("tenant"))
	if principal.ValidID(id) {
		if _, err := h.cfg.Tenants.Tenant(r.Context(), id); err == nil {
			return id, true
		}
	}
	writeError(w, r, http.StatusBadRequest, oauthError{Code: "invalid_request", ErrorCode: 90002,
		Description: "Tenant not found. Check that the tenant id in the authority URL is right."})
	return "", false
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	base := h.cfg.AuthorityHost + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                h.cfg.Tokens.IssuerFor(tenant),
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials", "password", "refresh_token"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{string(token.Algorithm)},
		"scopes_supported":                      []string{"openid", "profile", "offline_access"},
		"claims_supported":                      []string{"iss", "aud", "tid", "oid", "appid", "idtyp", "iat", "nbf", "exp", "sub", "upn"},
		"tenant_region_scope":                   "EV",
		"cloud_instance_name":                   strings.TrimSuffix(strings.TrimPrefix(h.cfg.AuthorityHost, "https://"), "/"),
	})
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.tenant(w, r); !ok {
		return
	}
	set, err := h.cfg.Tokens.JWKS(r.Context())
	if err != nil {
		writeServerError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, set)
}
