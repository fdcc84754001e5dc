package kvapi

import (
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/token"
)

// authenticate checks the bearer token: the vault audience, the vault's
// tenant, and (with Principals) a principal that still exists and is
// enabled. On failure it returns the 401 with the challenge, or the error
// of a dependency that failed.
func (h *Handler) authenticate(x *exchange) (result, bool) {
	raw, ok := bearer(x.r.Header.Get("Authorization"))
	if !ok {
		return h.challenge(x, errMissingToken), false
	}
	ctx := x.r.Context()
	claims, err := h.cfg.Tokens.Validate(ctx, raw, token.Expect{Audience: h.cfg.Resource, TenantID: x.vault.TenantID})
	if err != nil {
		if errkind.KindOf(err) == errkind.Unauthenticated {
			return h.challenge(x, err), false
		}
		return fail(err), false // the key store failed: not the caller's fault
	}
	if h.cfg.Principals != nil {
		p, err := h.cfg.Principals.Principal(ctx, claims.ObjectID)
		switch {
		case errkind.KindOf(err) == errkind.NotFound, err == nil && (!p.Enabled || p.TenantID != claims.TenantID):
			return h.challenge(x, errPrincipalGone), false
		case err != nil:
			return fail(err), false
		}
	}
	x.authenticated, x.claims = true, claims
	return result{}, true
}

// challenge answers 401 with the challenge Key Vault sends
// (reference/keyvault-wire.md §2.1–2.3): exactly
//
//	Bearer authorization="{authorityHost}{tenantId}", resource="https://vault.S:P"
//
// with comma and space between the parameters. The Go SDK takes the tenant
// from the authorization URL's first path segment and the token scope from
// resource + "/.default", and checks that the vault host ends with
// "." + the resource host, port included.
func (h *Handler) challenge(x *exchange, err error) result {
	v := `Bearer authorization="` + h.cfg.AuthorityHost + x.vault.TenantID + `", resource="` + h.cfg.Resource + `"`
	return result{err: err, header: http.Header{"Www-Authenticate": {v}}}
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
