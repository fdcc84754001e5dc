package blobapi

import (
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/token"
)

// authenticate checks the bearer token: the storage audience, the
// account's tenant, and (with Principals) a principal that still exists and
// is enabled.
func (h *Handler) authenticate(x *exchange) error {
	raw, ok := bearer(x.r.Header.Get("Authorization"))
	if !ok {
		return h.challenge(x, errNoAuth)
	}
	ctx := x.r.Context()
	claims, err := h.cfg.Tokens.Validate(ctx, raw, token.Expect{Audience: h.cfg.Audience, TenantID: x.account.TenantID})
	if err != nil {
		if errkind.KindOf(err) == errkind.Unauthenticated {
			return h.challenge(x, &errkind.Error{Kind: errkind.Unauthenticated, Err: errBadAuth, Message: errkind.Message(errBadAuth)})
		}
		return err
	}
	x.caller = principal.Principal{ObjectID: claims.ObjectID, TenantID: claims.TenantID, ClientID: claims.AppID, Enabled: true}
	if h.cfg.Principals != nil {
		p, err := h.cfg.Principals.Principal(ctx, claims.ObjectID)
		switch {
		case errkind.KindOf(err) == errkind.NotFound, err == nil && (!p.Enabled || p.TenantID != claims.TenantID):
			return h.challenge(x, errBadAuth)
		case err != nil:
			return err
		}
		x.caller = p
	}
	return nil
}

// challenge sets the storage bearer challenge on the 401:
//
//	Bearer authorization_uri=https://login.S:P/{tenant}/oauth2/authorize resource_id=https://storage.S:P
//
// azblob's challenge policy (internal/shared/challenge_policy.go, v1.8.3)
// splits the header on spaces and each part on "=", takes the tenant from
// the authorization_uri's fourth "/"-field and the token scope from
// resource_id + "/.default"; so the values must not be quoted with spaces
// or contain "=", and there is no comma between the parameters.
func (h *Handler) challenge(x *exchange, err error) error {
	x.w.Header().Set("WWW-Authenticate", "Bearer authorization_uri="+h.cfg.AuthorityHost+x.account.TenantID+
		"/oauth2/authorize resource_id="+h.cfg.Audience)
	return err
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 6750 §2.1).
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
