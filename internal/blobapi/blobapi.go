// Package blobapi serves the read side of the Azure Blob REST API on the
// storage account hosts ({account}.blob.S:P), enough for the official
// azblob clients to list containers, list blobs (flat, with prefix and
// markers) and download blobs, whole or by range. It exists so that audit
// logs delivered into a storage account (reference/keyvault-wire.md §4.3)
// can be read with the tools that read them in Azure.
//
// Every request passes the same pipeline, in this order:
//
//  1. the account, by the Host label (unknown: 404 ResourceNotFound);
//  2. authentication: a bearer token for the storage audience and the
//     account's tenant, else 401 with the storage challenge;
//  3. x-ms-version, then the route (routes.go names each route's RBAC
//     action); writes are refused with 405 UnsupportedHttpVerb, because
//     the service alone writes these blobs;
//  4. authorization: rbac.Authorize of the route's action over the
//     account's resource id, before any container or blob is looked up;
//  5. the handler.
//
// Authorization: the read routes ask rbac for Azure's action names
// (".../blobServices/containers/read" to list containers and read their
// properties, ".../containers/blobs/read", a data action, for blobs).
// Storage Blob Data Reader grants both; Owner and Contributor ("*") and
// Reader ("*/read") grant them too, because rbac lets control-plane
// wildcards cover data actions (rbac compiledRole.allows). In Azure Reader
// alone cannot read blob data with a token; here the owners and readers of
// a storage account may read the audit logs delivered into it.
//
// Invariants:
//   - Errors become Azure Storage XML errors in one table (errors.go), with
//     x-ms-error-code and x-ms-request-id; HEAD responses carry the code
//     in the header only.
//   - Markers are opaque to clients but not trusted: a marker is checked
//     for its shape and for the listing it was issued for (account-wide
//     containers or one container), so a forged one is a 400, never a
//     panic or a listing of something else.
package blobapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/token"
)

// Account is what the blob API needs of a storage account.
type Account struct {
	ID             resource.ID
	TenantID       string
	SubscriptionID string
}

// Key is the account's key in the blob store: its lower-cased resource id.
func (a Account) Key() string { return a.ID.Key() }

// Accounts finds storage accounts by name (the storageaccount service).
// ByName returns an errkind.NotFound error for a name no account has.
type Accounts interface {
	ByName(ctx context.Context, name string) (Account, error)
}

// Tokens validates access tokens (the token.Service).
type Tokens interface {
	Validate(ctx context.Context, raw string, want token.Expect) (token.Claims, error)
}

// Authorizer decides RBAC (the rbac.Service).
type Authorizer interface {
	Authorize(ctx context.Context, p principal.Principal, action string, scope resource.ID) error
}

// Principals finds principals by object id (the identity.Service), so
// that a deleted or disabled principal's unexpired tokens stop working.
type Principals interface {
	Principal(ctx context.Context, objectID string) (principal.Principal, error)
}

// Blobs reads blobs (the blob.Service).
type Blobs interface {
	Containers(ctx context.Context, account string, p blob.Page) ([]blob.Container, error)
	Blobs(ctx context.Context, account, container string, p blob.Page) ([]blob.Properties, error)
	Read(ctx context.Context, account, container, name string, off, n int64) (blob.Properties, []byte, error)
}

// Config configures the handler. Every field without a default is
// required.
type Config struct {
	Accounts   Accounts
	Blobs      Blobs
	Tokens     Tokens
	Authorizer Authorizer
	// Principals, when set, is asked for the caller of every request: a
	// deleted or disabled principal gets 401.
	Principals Principals
	// AuthorityHost is the login host with a trailing slash
	// ("https://login.S:P/").
	AuthorityHost string
	// Audience is the storage audience, "https://storage.S:P"
	// (config.Endpoints.StorageAudience): tokens must carry it and the
	// challenge names it as resource_id.
	Audience string
	Logger   *slog.Logger     // slog.Default() when nil
	Now      func() time.Time // time.Now when nil
}

// Handler serves the blob hosts.
type Handler struct{ cfg Config }

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Accounts == nil, cfg.Blobs == nil, cfg.Tokens == nil, cfg.Authorizer == nil:
		return nil, errkind.E(errkind.Invalid, "blobapi: Accounts, Blobs, Tokens and Authorizer are required")
	case !strings.HasSuffix(cfg.AuthorityHost, "/"), cfg.Audience == "" || strings.HasSuffix(cfg.Audience, "/"):
		return nil, errkind.E(errkind.Invalid, "blobapi: AuthorityHost needs a trailing slash, Audience none")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// exchange is one request in flight.
type exchange struct {
	w       http.ResponseWriter
	r       *http.Request
	name    string // account name, from the Host label
	account Account
	caller  principal.Principal
	version string // x-ms-version, echoed
	// path parameters
	container, blob string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{w: w, r: r, name: httpx.Label(r.Context())}
	if err := h.serve(x); err != nil {
		h.writeError(x, err)
	}
}

func (h *Handler) serve(x *exchange) error {
	ctx := x.r.Context()
	acct, err := h.cfg.Accounts.ByName(ctx, x.name)
	if errkind.KindOf(err) == errkind.NotFound {
		return errNoAccount
	}
	if err != nil {
		return err
	}
	x.account = acct
	if err := h.authenticate(x); err != nil {
		return err
	}
	if x.version, err = checkVersion(x.r.Header.Get("x-ms-version")); err != nil {
		return err
	}
	rt, err := match(x)
	if err != nil {
		return err
	}
	if err := h.cfg.Authorizer.Authorize(ctx, x.caller, rt.action, x.account.ID); err != nil {
		if errkind.KindOf(err) == errkind.PermissionDenied {
			return &errkind.Error{Kind: errkind.PermissionDenied, Err: errPermission, Message: errkind.Message(errPermission)}
		}
		return err
	}
	return rt.handle(h, x)
}

// headers sets the headers every successful response carries.
func (h *Handler) headers(x *exchange) http.Header {
	hd := x.w.Header()
	hd.Set("x-ms-version", x.version)
	hd.Set("Date", h.cfg.Now().UTC().Format(http.TimeFormat))
	return hd
}

// checkVersion accepts any x-ms-version shaped like a service version
// (YYYY-MM-DD) from 2017-11-09, the first that allows OAuth; a missing
// one is refused as Azure refuses it for bearer requests.
func checkVersion(v string) (string, error) {
	if v == "" {
		return "", errMissingVersion
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != len(time.DateOnly) || v < minVersion {
		return "", errBadVersion
	}
	return v, nil
}

// minVersion is the first service version that accepts bearer tokens.
const minVersion = "2017-11-09"
