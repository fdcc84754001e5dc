// Package portal is edgevault's web portal: server-rendered pages on the
// portal host (portal.S:P and the bare suffix, DESIGN.md §3).
//
// The portal is just another client and holds no privileges of its own.
// Signing in checks a user's password and yields tokens for that user;
// every page then reads and writes through the server's own management
// API, and reveals secret values through the Key Vault data plane, as the
// signed-in user, in process. RBAC, locks, access policies and audit apply
// exactly as they do for the CLI: a page the API refuses is shown as "You
// do not have access".
//
// Invariants:
//   - A session is a random 256-bit id in a __Host- cookie (Secure,
//     HttpOnly, SameSite=Strict). The server keeps it in the database
//     (Config.Sessions), known only by the id's SHA-256, so it survives a
//     restart and every replica shares it; without a store, in memory. It
//     ends after 30 minutes idle, 12 hours in all, or at sign-out; its
//     last use is stored at most once a minute, so idle expiry is exact to
//     within a minute, never late. Expired sessions are deleted when
//     looked up and at every sign-in.
//   - An activation key is shown at most once per operation: the page
//     that shows it first wins one conditional write in the store.
//   - Every POST carries the session's CSRF token, compared in constant
//     time; the sign-in form carries a double-submit token of its own.
//   - Every response has a strict Content-Security-Policy (no inline
//     script or style), X-Frame-Options DENY and Cache-Control no-store.
//   - No secret value is ever in a URL, and in a page only after the user
//     asked to reveal it (or the activation key the user just generated).
package portal

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// ClientID is the application id the portal's tokens carry (appid): the
// audit trail tells a portal action from a CLI one by it.
const ClientID = "3c1f4b7a-52e9-4d0c-8a6e-9f2b1d7c5e30"

// Audience names the surface a token is for.
type Audience string

// The audiences the portal asks tokens for.
const (
	Management Audience = "management"
	Vault      Audience = "vault"
)

// User is the signed-in person.
type User struct {
	ObjectID string
	Name     string
	TenantID string
}

// ErrBadCredentials is what Authenticator.SignIn returns for an unknown
// user or a wrong password; the portal says only that sign-in failed.
var ErrBadCredentials = errors.New("portal: wrong user name or password")

// Authenticator checks passwords and issues tokens for signed-in users.
// The server implements it with the identity and token services, as the
// login host's password grant does.
type Authenticator interface {
	// SignIn checks a user's password; ErrBadCredentials (or an error
	// wrapping it) when the name or the password is wrong.
	SignIn(ctx context.Context, userName string, password sensitive.String) (User, error)
	// Token issues an access token for the user and audience.
	Token(ctx context.Context, objectID string, aud Audience) (string, error)
}

// Config are the portal's dependencies.
type Config struct {
	Auth Authenticator
	// API serves the management and vault hosts: the server's root
	// handler, through which the portal makes every call as the user.
	API http.Handler
	// ManagementHost is "management.S:P", the Host of management calls.
	ManagementHost string
	// VaultHost is "vault.S:P": a secret's URL must be on a vault host
	// under it ({vault}.vault.S:P).
	VaultHost string
	// Sessions keeps the signed-in sessions; nil keeps them in this
	// process's memory (tests; a restart signs everyone out).
	Sessions SessionStore
	// Now is the clock of session expiry; nil means time.Now.
	Now func() time.Time
	// Logger receives failures the page shows only as "something went
	// wrong"; nil means slog.Default().
	Logger *slog.Logger
}

// Session lifetimes.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the portal host.
type Handler struct {
	cfg      Config
	sessions *sessions
	pages    pages
	mux      *http.ServeMux
}

// New returns the portal's handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Auth == nil || cfg.API == nil || cfg.ManagementHost == "" || cfg.VaultHost == "" {
		return nil, errors.New("portal: Auth, API, ManagementHost and VaultHost are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, sessions: newSessions(cfg.Now, cfg.Sessions, cfg.Logger), pages: p, mux: http.NewServeMux()}
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	// Browsers ask for /favicon.ico on pages without an icon link (plain
	// error answers); the portal's icon answers it.
	h.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	h.mux.HandleFunc("GET /signin", h.signInForm)
	h.mux.HandleFunc("POST /signin", h.signIn)
	h.mux.HandleFunc("POST /signout", h.auth(h.signOut))
	h.mux.HandleFunc("GET /{$}", h.auth(h.resourceList))
	h.mux.HandleFunc("POST /resources", h.auth(h.createResource))
	h.mux.HandleFunc("GET /resources/{group}/{name}", h.auth(h.overview))
	h.mux.HandleFunc("POST /resources/{group}/{name}/generate", h.auth(h.generate))
	h.mux.HandleFunc("GET /resources/{group}/{name}/security", h.auth(h.security))
	h.mux.HandleFunc("POST /resources/{group}/{name}/security/sync", h.auth(h.syncSecrets))
	h.mux.HandleFunc("POST /resources/{group}/{name}/security/reveal", h.auth(h.reveal))
	h.mux.HandleFunc("GET /resources/{group}/{name}/delete", h.auth(h.deleteBlade))
	h.mux.HandleFunc("POST /resources/{group}/{name}/delete", h.auth(h.deleteResource))
	h.mux.HandleFunc("GET /resources/{group}/{name}/recover", h.auth(h.recoverBlade))
	h.mux.HandleFunc("POST /resources/{group}/{name}/recover", h.auth(h.recoverVault))
	h.mux.HandleFunc("GET /checkVaultName", h.auth(h.checkVaultName))
	h.mux.HandleFunc("GET /operations/{id}", h.auth(h.operationPage))
	h.mux.HandleFunc("GET /operations/{id}/status", h.auth(h.operationStatus))
	h.deviceRoutes()
	h.auditRoutes()
	h.vaultRoutes()
	return h, nil
}

// contentSecurityPolicy allows nothing inline and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'"

// ServeHTTP sets the security headers on every answer, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}
