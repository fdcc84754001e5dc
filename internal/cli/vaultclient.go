package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/google/uuid"
)

// vaultAPIVersion is the Key Vault data-plane api-version the CLI sends:
// the default of azsecrets v1.5.0 and of @azure/keyvault-secrets 4.11
// (reference/keyvault-wire.md §1.1).
const vaultAPIVersion = "2025-07-01"

// maxVaultBody bounds how much of a data-plane answer is read; a page of
// 25 secrets, or one secret of at most 25 KiB, is far smaller.
const maxVaultBody = 4 << 20

// vaultClient calls the secrets data plane of one vault
// (reference/keyvault-wire.md §1). The vault is served at the root of its
// own host, https://{vault}.vault.{suffix}[:port]; every request carries a
// token for the profile's vault audience, and the client refuses any URL
// the server hands back (nextLink) that is not on that host, so that the
// token is never sent elsewhere.
type vaultClient struct {
	http     *http.Client
	base     *url.URL // https://{vault}.{audience host}
	audience string
	token    func(ctx context.Context) (sensitive.String, error)
}

// openVault opens the signed-in session and a client for vault name.
func openVault(name string) (*vaultClient, error) {
	s, err := OpenSession()
	if err != nil {
		return nil, err
	}
	return newVaultClient(s, name)
}

// newVaultClient returns a client for vault name of the session's server.
func newVaultClient(s *Session, name string) (*vaultClient, error) {
	base, err := vaultURL(s.Profile.VaultAudience, name)
	if err != nil {
		return nil, err
	}
	aud := s.Profile.VaultAudience
	return &vaultClient{
		http: s.HTTP, base: base, audience: aud,
		token: func(ctx context.Context) (sensitive.String, error) { return s.AccessToken(ctx, aud) },
	}, nil
}

// vaultURL derives a vault's URL from the vault audience, as az derives
// https://{vault}.vault.azure.net from the cloud's suffix: the audience
// (the challenge resource) is the parent domain of every vault host, with
// the same port (reference/keyvault-wire.md §2.2, §7).
func vaultURL(audience, name string) (*url.URL, error) {
	a, err := url.Parse(audience)
	if audience == "" || err != nil || a.Scheme != "https" || a.Hostname() == "" || strings.Trim(a.Path, "/") != "" || a.User != nil {
		return nil, fmt.Errorf("profile has no valid vault audience (%q); run 'edgevault login --bootstrap' again", audience)
	}
	return &url.URL{Scheme: "https", Host: strings.ToLower(name) + "." + a.Host}, nil
}

// url returns the URL of path (starting with "/") on the vault, with
// api-version and the extra query parameters.
func (c *vaultClient) url(path string, query url.Values) string {
	u := *c.base
	u.Path = path
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("api-version", vaultAPIVersion)
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends a JSON request to the vault and decodes a JSON answer into out
// (an empty body leaves it untouched). A non-2xx answer is a *vaultError.
func (c *vaultClient) do(ctx context.Context, method, u string, body, out any) error {
	pu, err := url.Parse(u)
	if err != nil || !sameOrigin(pu, c.base) {
		return fmt.Errorf("refusing to send a vault token to %q: it is not the vault %s", u, c.base)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-ms-client-request-id", uuid.NewString())
	req.Header.Set("User-Agent", userAgent())
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	// The token goes first time, without waiting for the 401 challenge the
	// SDKs use to discover the audience: the profile already knows it.
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultBody))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.decodeError(resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, req.URL.Path, err)
	}
	return nil
}

// vaultError is a Key Vault error answer: {"error":{"code","message",
// "innererror":{"code"}}} (reference/keyvault-wire.md §1.6). It prints as
// "(Code/InnerCode) message", as az does.
type vaultError struct {
	Status    int
	Code      string // error.code, e.g. "Forbidden"
	InnerCode string // error.innererror.code, e.g. "SecretDisabled"
	Message   string
	RequestID string
	Hint      string // what the CLI adds, e.g. on an audience mismatch
}

// Error implements error.
func (e *vaultError) Error() string {
	msg := cmp.Or(e.Message, http.StatusText(e.Status))
	code := e.Code
	if e.InnerCode != "" {
		code = strings.TrimPrefix(code+"/"+e.InnerCode, "/")
	}
	if code != "" {
		msg = "(" + code + ") " + msg
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// decodeError builds a *vaultError from an error answer, whatever its body.
// On a 401 it compares the challenge's resource with the audience the
// token was for, the one mistake the CLI can diagnose.
func (c *vaultClient) decodeError(resp *http.Response, data []byte) error {
	e := &vaultError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-ms-request-id")}
	var w struct {
		Error *struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError *struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &w) == nil && w.Error != nil {
		e.Code, e.Message = w.Error.Code, w.Error.Message
		if w.Error.InnerError != nil {
			e.InnerCode = w.Error.InnerError.Code
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		res := challengeParam(resp.Header.Get("WWW-Authenticate"), "resource")
		if res != "" && !strings.EqualFold(strings.TrimRight(res, "/"), strings.TrimRight(c.audience, "/")) {
			e.Hint = fmt.Sprintf("the vault wants tokens for %q but the profile's vault audience is %q; run 'edgevault login --bootstrap' again", res, c.audience)
		}
	}
	return e
}

// challengeParam returns a parameter of a Bearer WWW-Authenticate
// challenge such as `Bearer authorization="https://…/t", resource="https://…"`
// (reference/keyvault-wire.md §2.1), or "" when it is absent.
func challengeParam(header, name string) string {
	rest, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return ""
	}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// follow resolves a nextLink against the page it came from and checks it
// is on the vault. A link without api-version gets the CLI's, as the JS
// SDK adds it (reference/keyvault-wire.md §1.1).
func (c *vaultClient) follow(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("server returned an invalid nextLink %q", ref)
	}
	u := b.ResolveReference(r)
	if u.User != nil || !sameOrigin(u, c.base) {
		return "", fmt.Errorf("refusing to follow nextLink %q: it is not on the vault %s", u.Redacted(), c.base)
	}
	if q := u.Query(); q.Get("api-version") == "" {
		q.Set("api-version", vaultAPIVersion)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// listVault GETs u and every page its nextLinks lead to (the data plane
// pages by at most 25, §1.3), and returns the items of all pages (never nil).
func listVault[T any](ctx context.Context, c *vaultClient, u string) ([]T, error) {
	out := []T{}
	seen := map[string]bool{}
	for range maxPages {
		seen[u] = true
		var p page[T]
		if err := c.do(ctx, http.MethodGet, u, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Value...)
		if p.NextLink == "" {
			return out, nil
		}
		next, err := c.follow(u, p.NextLink)
		if err != nil {
			return nil, err
		}
		if seen[next] {
			return nil, fmt.Errorf("server returned a nextLink loop at %q", p.NextLink)
		}
		u = next
	}
	return nil, fmt.Errorf("list has more than %d pages", maxPages)
}
