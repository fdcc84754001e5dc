package loginapi

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

// tokenResponse is the successful token response (RFC 6749 §5.1), with
// ext_expires_in as Entra sends it; MSAL accepts it (reference §2.5).
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// grant is a parsed token request.
type grant struct {
	tenant       string
	kind         string
	clientID     string
	clientSecret sensitive.String
	audience     string
	offline      bool // offline_access requested: return a refresh token
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	form, oerr := readForm(w, r)
	if oerr != nil {
		writeError(w, r, oerr.status(), *oerr)
		return
	}
	g, oerr := h.parseGrant(r, tenant, form)
	if oerr != nil {
		writeError(w, r, oerr.status(), *oerr)
		return
	}
	var (
		p       principal.Principal
		appID   string
		refresh sensitive.String
		err     error
	)
	switch g.kind {
	case "client_credentials":
		p, err = h.cfg.Identities.AuthenticateClient(r.Context(), tenant, g.clientID, g.clientSecret)
		appID = p.ClientID
	case "password":
		p, err = h.cfg.Identities.AuthenticatePassword(r.Context(), tenant, form.Get("username"), sensitive.New(form.Get("password")))
		appID = g.clientID
		if err == nil && g.offline {
			refresh, err = h.cfg.Identities.IssueRefreshToken(r.Context(), p, g.clientID)
		}
	case "refresh_token":
		p, refresh, err = h.cfg.Identities.RedeemRefreshToken(r.Context(), tenant, g.clientID, sensitive.New(form.Get("refresh_token")))
		appID = g.clientID
	}
	if err != nil {
		h.authFailure(w, r, g, err)
		return
	}
	raw, claims, err := h.cfg.Tokens.Issue(r.Context(), token.Subject{Principal: p, AppID: appID}, g.audience)
	if err != nil {
		writeServerError(w, r, err)
		return
	}
	lifetime := int64(claims.Expiry.Sub(claims.IssuedAt).Seconds())
	w.Header().Set("Cache-Control", "no-store") // RFC 6749 §5.1
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType: "Bearer", Scope: g.audience + "/.default",
		ExpiresIn: lifetime, ExtExpiresIn: lifetime,
		AccessToken: raw, RefreshToken: refresh.Reveal(),
	})
}

func (h *Handler) authFailure(w http.ResponseWriter, r *http.Request, g grant, err error) {
	switch {
	case errors.Is(err, identity.ErrInvalidClient):
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="edgevault"`)
		}
		writeError(w, r, http.StatusUnauthorized, oauthError{Code: "invalid_client", ErrorCode: 7000215,
			Description: "Invalid client secret provided, or the client does not exist in this tenant."})
	case errors.Is(err, identity.ErrInvalidGrant) && g.kind == "password":
		writeError(w, r, http.StatusBadRequest, oauthError{Code: "invalid_grant", ErrorCode: 50126,
			Description: "Error validating credentials due to invalid username or password."})
	case errors.Is(err, identity.ErrInvalidGrant):
		writeError(w, r, http.StatusBadRequest, oauthError{Code: "invalid_grant", ErrorCode: 70008,
			Description: "The refresh token is invalid, expired or already used. Sign in again."})
	default:
		writeServerError(w, r, err)
	}
}

// readForm parses an application/x-www-form-urlencoded body of bounded size.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, &oauthError{Code: "invalid_request", ErrorCode: 900144,
			Description: "The request body must be application/x-www-form-urlencoded."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if httpx.IsTooLarge(err) {
			return nil, &oauthError{Code: "invalid_request", Description: "The request body is too large.", ErrorCode: 900144, httpStatus: http.StatusRequestEntityTooLarge}
		}
		return nil, &oauthError{Code: "invalid_request", Description: "The request body is not a valid form.", ErrorCode: 900144}
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			// RFC 6749 §3.1: parameters must not be included more than once.
			return nil, &oauthError{Code: "invalid_request", ErrorCode: 90015,
				Description: "The parameter '" + safeName(k) + "' is repeated."}
		}
	}
	return r.PostForm, nil
}

// parseGrant validates the grant type, client and scope.
func (h *Handler) parseGrant(r *http.Request, tenant string, form url.Values) (grant, *oauthError) {
	g := grant{tenant: tenant, kind: form.Get("grant_type")}
	switch g.kind {
	case "client_credentials", "password", "refresh_token":
	case "":
		return g, &oauthError{Code: "invalid_request", ErrorCode: 900144, Description: "The request body must contain the parameter 'grant_type'."}
	default:
		return g, &oauthError{Code: "unsupported_grant_type", ErrorCode: 70003, Description: "The grant type is not supported. Use client_credentials, password or refresh_token."}
	}
	if oerr := g.parseClient(r, form); oerr != nil {
		return g, oerr
	}
	aud, offline, oerr := h.parseScope(form.Get("scope"))
	g.audience, g.offline = aud, offline
	return g, oerr
}

// parseClient reads client authentication from the form or from HTTP
// Basic (RFC 6749 §2.3.1, where both parts are form-urlencoded first).
func (g *grant) parseClient(r *http.Request, form url.Values) *oauthError {
	g.clientID = form.Get("client_id")
	secret := form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		if secret != "" {
			return &oauthError{Code: "invalid_request", ErrorCode: 900144, Description: "Use only one client authentication method."}
		}
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (g.clientID != "" && g.clientID != u) {
			return &oauthError{Code: "invalid_client", ErrorCode: 7000215, Description: "Malformed HTTP Basic client credentials.", httpStatus: http.StatusUnauthorized}
		}
		g.clientID, secret = u, p
	}
	g.clientSecret = sensitive.New(secret)
	switch {
	case g.clientID == "":
		return &oauthError{Code: "invalid_request", ErrorCode: 900144, Description: "The request body must contain the parameter 'client_id'."}
	case g.kind == "client_credentials" && secret == "":
		return &oauthError{Code: "invalid_client", ErrorCode: 7000218, Description: "The request body must contain 'client_secret' or client credentials in HTTP Basic.", httpStatus: http.StatusUnauthorized}
	case g.kind != "client_credentials" && g.clientID != principal.CLIClientID:
		return &oauthError{Code: "unauthorized_client", ErrorCode: 700016,
			Description: "This client is not allowed to use the " + g.kind + " grant; only the edgevault CLI is."}
	case g.kind != "client_credentials" && secret != "":
		return &oauthError{Code: "invalid_request", ErrorCode: 900144, Description: "A public client must not send a client secret."}
	}
	return nil
}

// parseScope finds the one "<resource>/.default" scope among the OIDC
// scopes MSAL adds (openid, profile, offline_access) and checks the
// resource is one of ours. Trailing slashes on the resource are ignored,
// as Entra does ("https://management.azure.com//.default").
func (h *Handler) parseScope(scope string) (audience string, offline bool, oerr *oauthError) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "email":
		case "offline_access":
			offline = true
		default:
			resources = append(resources, s)
		}
	}
	if len(resources) != 1 || !strings.HasSuffix(resources[0], "/.default") {
		return "", false, &oauthError{Code: "invalid_scope", ErrorCode: 70011,
			Description: "The scope must name exactly one resource as '<resource>/.default'."}
	}
	res := strings.TrimRight(strings.TrimSuffix(resources[0], "/.default"), "/")
	for _, a := range h.cfg.Audiences {
		if strings.EqualFold(a, res) {
			return a, offline, nil
		}
	}
	return "", false, &oauthError{Code: "invalid_scope", ErrorCode: 500011,
		Description: "The resource principal was not found in the tenant. Known resources: " + strings.Join(h.cfg.Audiences, ", ") + "."}
}

// safeName keeps a parameter name printable and short before it is echoed.
func safeName(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '\'' || r == '"' {
			return '?'
		}
		return r
	}, s)
}
