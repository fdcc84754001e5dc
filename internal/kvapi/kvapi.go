// Package kvapi serves the Key Vault secrets data plane on the vault hosts
// ({name}.vault.S:P), at the URL root, as the official Azure SDKs expect it
// (reference/keyvault-wire.md §1, §2, §8).
//
// Every request passes the same pipeline, in this order:
//
//  1. the vault, by the Host label (unknown or soft-deleted: 404
//     VaultNotFound, the way an unknown vault's host does not resolve in
//     Azure; there is no vault to audit the request to);
//  2. authentication: a bearer token for the vault audience and the vault's
//     tenant, else 401 with the challenge, before anything else about the
//     request is looked at (SDKs send their first request without token and
//     without body);
//  3. per-vault throttling (429 Throttled with Retry-After); only
//     authenticated requests count, so an anonymous client cannot use up a
//     vault's budget;
//  4. the route (routes.go names each route's permission and audit
//     operation), then the api-version;
//  5. the access policy: the caller's object id must hold the route's
//     secret permission, checked before any secret is looked up, so a
//     caller without get cannot probe names;
//  6. the handler, then the audit record, then the response.
//
// Invariants:
//   - Every request to an existing vault, allowed or denied, is audited
//     before its response is sent; when the record cannot be written the
//     client gets 503 and no secret value.
//   - Secret values appear only in the bodies of get and set responses:
//     never in logs, errors, audit records or metrics.
//   - Errors become wire errors in one table (errors.go); the client sees a
//     safe message, and an internal failure's cause is logged once, here.
//   - Paging tokens are sealed by the envelope and bound to the vault, the
//     operation and the secret, so forged or foreign tokens are refused.
package kvapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/keyvault"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/secret"
	"github.com/edgevault/edgevault/internal/token"
)

// Vaults finds vaults by name (the keyvault.Service). ByName returns an
// errkind.NotFound error for a name no live vault has, soft-deleted ones
// included.
type Vaults interface {
	ByName(ctx context.Context, name string) (keyvault.Vault, error)
}

// Tokens validates access tokens (the token.Service).
type Tokens interface {
	Validate(ctx context.Context, raw string, want token.Expect) (token.Claims, error)
}

// Principals finds principals by object id (the identity.Service), so
// that a deleted or disabled principal's unexpired tokens stop working.
type Principals interface {
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
}

// Sealer seals paging tokens (the envelope.Keyring).
type Sealer interface {
	Seal(ctx context.Context, scope string, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, scope string, aad, blob []byte) ([]byte, error)
}

// Defaults.
const (
	// DefaultThrottleRequests per DefaultThrottleWindow is Azure's limit
	// for secrets per vault (reference/keyvault-wire.md §5).
	DefaultThrottleRequests = 2000
	DefaultThrottleWindow   = 10 * time.Second
	// DefaultMaxBodyBytes bounds set and update bodies: a 25,600-byte
	// value, 15 tags and a content type, even fully \u-escaped, fit.
	DefaultMaxBodyBytes = 256 << 10
	// DefaultMaxRestoreBytes bounds restore bodies: the largest backup
	// blob (secret.MaxBackupBytes) in base64url, within the server's
	// default 1 MiB body limit.
	DefaultMaxRestoreBytes = 1 << 20
	// auditTimeout bounds the audit write, which runs even when the
	// client has gone away.
	auditTimeout = 10 * time.Second
)

// Throttle is the per-vault request limit: Requests per Window, as a token
// bucket (a vault may burst Requests at once, then Requests/Window per
// second). Each server process counts on its own.
type Throttle struct {
	Requests int           // DefaultThrottleRequests when 0; negative: no limit
	Window   time.Duration // DefaultThrottleWindow when 0
}

// Config configures the handler. Every field without a default is
// required.
type Config struct {
	Vaults  Vaults
	Secrets *secret.Service
	Tokens  Tokens
	Sealer  Sealer  // paging tokens
	Auditor Auditor // every request's record; fail closed
	// Principals, when set, is asked for the caller of every request: a
	// deleted or disabled principal gets 401.
	Principals Principals
	// AuthorityHost is the login host with a trailing slash
	// ("https://login.S:P/"); the challenge's authorization is
	// AuthorityHost + the vault's tenant.
	AuthorityHost string
	// Resource is the challenge resource and the audience tokens must
	// carry: "https://vault.S:P" (config.Endpoints.VaultAudience), a
	// proper parent domain of every vault host, same port, no trailing
	// slash (reference/keyvault-wire.md §2.2).
	Resource        string
	Throttle        Throttle
	MaxBodyBytes    int64 // DefaultMaxBodyBytes when 0
	MaxRestoreBytes int64 // DefaultMaxRestoreBytes when 0
	// Logger receives the causes of server-side failures; slog.Default
	// when nil. It never receives a secret value.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Handler serves the vault hosts.
type Handler struct {
	cfg          Config
	resourceHost string // Resource without its scheme: "vault.S:P"
	limiter      *limiter
	log          *slog.Logger
	now          func() time.Time
}

// New returns the data-plane handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Vaults == nil || cfg.Secrets == nil || cfg.Tokens == nil || cfg.Sealer == nil || cfg.Auditor == nil {
		return nil, errors.New("kvapi: Vaults, Secrets, Tokens, Sealer and Auditor are required")
	}
	host, ok := strings.CutPrefix(cfg.Resource, "https://")
	if !ok || host == "" || strings.ContainsAny(host, "/?#") {
		return nil, errors.New("kvapi: Resource must be an https URL without path or trailing slash")
	}
	if !strings.HasPrefix(cfg.AuthorityHost, "https://") || !strings.HasSuffix(cfg.AuthorityHost, "/") {
		return nil, errors.New("kvapi: AuthorityHost must be an https URL ending in /")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxRestoreBytes <= 0 {
		cfg.MaxRestoreBytes = DefaultMaxRestoreBytes
	}
	h := &Handler{cfg: cfg, resourceHost: host, log: cfg.Logger, now: cfg.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.limiter = newLimiter(cfg.Throttle)
	return h, nil
}

// result is what a pipeline step or handler answers: a body (nil for
// none) with a status, or an error that errors.go renders.
type result struct {
	status int
	body   any
	err    error
	header http.Header // extra response headers (WWW-Authenticate, Retry-After)
}

func ok(body any) result    { return result{status: http.StatusOK, body: body} }
func fail(err error) result { return result{err: err} }

// ServeHTTP runs the pipeline of the package documentation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := h.newExchange(w, r)
	v, err := h.cfg.Vaults.ByName(r.Context(), x.vaultName)
	if err != nil {
		if errkind.KindOf(err) == errkind.NotFound {
			err = errVaultNotFound
		}
		h.write(x, h.render(x, fail(err)))
		return
	}
	x.vault = v
	res := h.serve(x)
	h.finish(x, res)
}

// serve runs steps 2 to 6 up to the handler.
func (h *Handler) serve(x *exchange) result {
	rt, params, methodOK := match(x.r.Method, x.r.URL)
	if rt != nil {
		x.route, x.params = rt, params
		x.secretName, x.secretVersion = params.name, params.version
	}
	if res, ok := h.authenticate(x); !ok {
		return res
	}
	if ok, retry := h.limiter.allow(x.vault.UID, h.now()); !ok {
		return throttled(retry)
	}
	if rt == nil {
		if methodOK {
			return fail(errMethod)
		}
		return fail(errNoRoute)
	}
	if err := x.checkAPIVersion(); err != nil {
		return fail(err)
	}
	if !x.vault.Allows(x.claims.TenantID, x.claims.ObjectID, rt.perm) {
		return fail(accessDenied(x, rt.perm))
	}
	x.policyMatch = true
	if rt.named && !secret.ValidName(params.name) {
		return fail(invalidName(params.name))
	}
	return rt.handle(h, x)
}

// finish renders the result, audits it, and writes it; a failed audit
// replaces the response with 503.
func (h *Handler) finish(x *exchange, res result) {
	out := h.render(x, res)
	// The record is written even if the client has gone away: the
	// operation may already have happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.r.Context()), auditTimeout)
	defer cancel()
	if err := h.cfg.Auditor.Record(ctx, x.auditRecord(out.status, out.message)); err != nil {
		h.log.ErrorContext(ctx, "vault: audit record not written; response withheld", "err", err,
			"request_id", x.requestID, "vault", x.vaultName)
		out = h.render(x, fail(errAuditFailed))
	}
	h.write(x, out)
}
