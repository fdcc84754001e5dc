package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// maxBody bounds how much of a response body is read.
const maxBody = 1 << 20

// TokenClient requests tokens from an edgevault token endpoint, which speaks
// the Azure AD v2 protocol: POST {AuthorityHost}{Tenant}/oauth2/v2.0/token
// with a form-encoded body (RFC 6749 §4.3, §4.4, §6).
type TokenClient struct {
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// AuthorityHost is the login host, e.g. "https://login.localhost:8443/".
	AuthorityHost string
	// Tenant is the tenant id the token is requested in.
	Tenant string
	// Now returns the current time, for computing Token.ExpiresOn; nil
	// means time.Now.
	Now func() time.Time
}

// Token is a successful token response.
type Token struct {
	TokenType    string           // "Bearer"
	AccessToken  sensitive.String // the JWT
	RefreshToken sensitive.String // zero when none was issued
	ExpiresOn    time.Time        // when AccessToken expires
	Scope        string           // scopes granted, space separated
}

// TokenError is an OAuth2 error response (RFC 6749 §5.2, with Azure AD's
// extra fields).
type TokenError struct {
	Status        int    // HTTP status
	Code          string // "error", e.g. "invalid_grant"
	Description   string // "error_description"; safe to show
	ErrorCodes    []int  // "error_codes", Azure AD's AADSTS numbers
	TraceID       string // "trace_id"
	CorrelationID string // "correlation_id"
}

// Error implements error.
func (e *TokenError) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Scope returns the v2 scope that requests a token for audience
// (audience + "/.default", appended verbatim as Azure AD expects).
func Scope(audience string) string { return audience + "/.default" }

// Password runs the resource-owner password grant as the edgevault CLI and
// asks for a refresh token (offline_access).
func (c *TokenClient) Password(ctx context.Context, username string, password sensitive.String, audience string) (*Token, error) {
	return c.request(ctx, url.Values{
		"grant_type": {"password"},
		"client_id":  {CLIClientID},
		"username":   {username},
		"password":   {password.Reveal()},
		"scope":      {Scope(audience) + " offline_access"},
	})
}

// Refresh redeems a refresh token as the edgevault CLI. The server rotates
// refresh tokens: the caller must store the returned Token.RefreshToken and
// discard the old one.
func (c *TokenClient) Refresh(ctx context.Context, refreshToken sensitive.String, audience string) (*Token, error) {
	return c.request(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {CLIClientID},
		"refresh_token": {refreshToken.Reveal()},
		"scope":         {Scope(audience) + " offline_access"},
	})
}

// ClientCredentials runs the client-credentials grant for a service
// principal.
func (c *TokenClient) ClientCredentials(ctx context.Context, clientID string, secret sensitive.String, audience string) (*Token, error) {
	return c.request(ctx, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret.Reveal()},
		"scope":         {Scope(audience)},
	})
}

// Endpoint returns the token endpoint URL.
func (c *TokenClient) Endpoint() string {
	return strings.TrimRight(c.AuthorityHost, "/") + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/token"
}

// request posts form to the token endpoint and decodes the answer.
func (c *TokenClient) request(ctx context.Context, form url.Values) (*Token, error) {
	if c.AuthorityHost == "" || c.Tenant == "" {
		return nil, errors.New("token request: authority host and tenant are required")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error names the URL and the cause, never the form body.
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("token request: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeTokenError(resp.StatusCode, body)
	}
	return c.decodeToken(body)
}

// decodeToken parses a successful token response.
func (c *TokenClient) decodeToken(body []byte) (*Token, error) {
	var w struct {
		TokenType    string          `json:"token_type"`
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		Scope        string          `json:"scope"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, errors.New("token response: not valid JSON")
	}
	if w.AccessToken == "" {
		return nil, errors.New("token response: no access_token")
	}
	// Azure AD v2 sends a number; v1 and ADFS send a string.
	secs, err := strconv.Atoi(strings.Trim(string(w.ExpiresIn), `"`))
	if err != nil || secs <= 0 {
		return nil, errors.New("token response: bad expires_in")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return &Token{
		TokenType:    w.TokenType,
		AccessToken:  sensitive.New(w.AccessToken),
		RefreshToken: sensitive.New(w.RefreshToken),
		ExpiresOn:    now().Add(time.Duration(secs) * time.Second),
		Scope:        w.Scope,
	}, nil
}

// decodeTokenError turns a non-200 answer into a *TokenError; a body that is
// not an OAuth2 error still yields one, coded by the status.
func decodeTokenError(status int, body []byte) error {
	var w struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		ErrorCodes    []int  `json:"error_codes"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
	}
	if json.Unmarshal(body, &w) != nil || w.Error == "" {
		return &TokenError{Status: status, Code: "http_" + strconv.Itoa(status),
			Description: "token endpoint answered " + http.StatusText(status)}
	}
	return &TokenError{
		Status:        status,
		Code:          w.Error,
		Description:   w.Description,
		ErrorCodes:    w.ErrorCodes,
		TraceID:       w.TraceID,
		CorrelationID: w.CorrelationID,
	}
}
