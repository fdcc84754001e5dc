package armapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/token"
)

var errMissingToken = errkind.E(errkind.Unauthenticated, "Authentication failed. The 'Authorization' header is missing or is not a Bearer token.")

// Caller is the authenticated principal of a request.
type Caller struct {
	Principal principal.Principal
	Claims    token.Claims
}

type callerKey struct{}

// CallerOf returns the request's authenticated caller.
func CallerOf(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// authenticate validates the bearer token for the management audience and
// loads the principal, so that a deleted or disabled principal's unexpired
// tokens stop working at once.
func (h *Handler) authenticate(r *http.Request) (Caller, error) {
	raw, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return Caller{}, errMissingToken
	}
	claims, err := h.cfg.Tokens.Validate(r.Context(), raw, token.Expect{Audience: h.cfg.Audience})
	if err != nil {
		return Caller{}, err
	}
	p, err := h.cfg.Principals.Principal(r.Context(), claims.ObjectID)
	if errkind.KindOf(err) == errkind.NotFound || (err == nil && (!p.Enabled || p.TenantID != claims.TenantID)) {
		return Caller{}, errkind.E(errkind.Unauthenticated, "The principal of the access token no longer exists or is disabled.")
	}
	if err != nil {
		return Caller{}, err
	}
	return Caller{Principal: p, Claims: claims}, nil
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// challenge sets the WWW-Authenticate header ARM sends with a 401.
func (h *Handler) challenge(w http.ResponseWriter, err error) {
	desc := errkind.Message(err)
	desc = strings.ReplaceAll(desc, `"`, "'")
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+h.cfg.AuthorityHost+`", error="invalid_token", error_description="`+desc+`"`)
}
