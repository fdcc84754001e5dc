package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/resource"
)

// API versions of the ARM routes the CLI calls, as Azure's.
const (
	resourcesAPIVersion = "2021-04-01" // resource groups, providers
	authzAPIVersion     = "2022-04-01" // role assignments and definitions
	locksAPIVersion     = "2020-05-01" // management locks
)

// maxPages bounds how many nextLinks a list follows, so that a server
// that links a page to itself cannot keep the CLI busy for ever.
const maxPages = 1000

// armClient calls ARM routes on the profile's management endpoint. Unlike
// a bare client.API it reports the status and headers of each answer,
// which long-running operations need (202, Location, Retry-After), and it
// refuses any absolute URL the server hands back (nextLink, Location,
// Azure-AsyncOperation) that is not on the management endpoint, so that
// the bearer token is never sent to another host.
type armClient struct {
	s    *Session
	api  *client.API
	base *url.URL
	rec  *responseRecorder
}

// reply is the status and headers of a 2xx answer.
type reply struct {
	status int
	header http.Header
}

// newARMClient returns a client for the session's management endpoint.
func newARMClient(s *Session) (*armClient, error) {
	base, err := url.Parse(s.Profile.ManagementEndpoint)
	if err != nil || base.Host == "" || base.Scheme != "https" {
		return nil, fmt.Errorf("profile has an invalid management endpoint %q; run 'edgevault login --bootstrap' again", s.Profile.ManagementEndpoint)
	}
	api := s.ManagementAPI()
	hc := *s.HTTP
	rec := &responseRecorder{next: hc.Transport}
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	hc.Transport = rec
	api.HTTP = &hc
	return &armClient{s: s, api: api, base: base, rec: rec}, nil
}

// openARM opens the signed-in session and an ARM client on it.
func openARM() (*armClient, error) {
	s, err := OpenSession()
	if err != nil {
		return nil, err
	}
	return newARMClient(s)
}

// subscription returns the profile's subscription id.
func (c *armClient) subscription() (string, error) {
	if c.s.Profile.SubscriptionID == "" {
		return "", errors.New("the profile has no subscription; run 'edgevault login --bootstrap' again")
	}
	return c.s.Profile.SubscriptionID, nil
}

// url returns the URL of an ARM path (unescaped, starting with "/") on the
// management endpoint with api-version and the extra query parameters.
func (c *armClient) url(path, apiVersion string, query url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawPath = ""
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("api-version", apiVersion)
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends a request through client.API (which decodes ARM errors) and
// returns the status and headers of the 2xx answer.
func (c *armClient) do(ctx context.Context, method, u string, body, out any) (reply, error) {
	c.rec.reset()
	if err := c.api.Do(ctx, method, u, body, out); err != nil {
		return reply{}, err
	}
	status, header := c.rec.last()
	return reply{status: status, header: header}, nil
}

// follow resolves a URL the server returned against base and checks that
// it is on the management endpoint; what names it ("nextLink", "operation
// status URL") goes into the error.
func (c *armClient) follow(base, ref, what string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("server returned an invalid %s %q", what, ref)
	}
	u := b.ResolveReference(r)
	if u.User != nil || !sameOrigin(u, c.base) {
		return "", fmt.Errorf("refusing to follow %s %q: it is not on the management endpoint %s", what, u.Redacted(), c.base.Scheme+"://"+c.base.Host)
	}
	return u.String(), nil
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (RFC 6454), the host compared case-insensitively.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// page is one page of an ARM list (reference/edge-arm.md §3.8, paging).
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink"`
}

// listAll GETs u and every page its nextLinks lead to, and returns the
// items of all pages (never nil).
func listAll[T any](ctx context.Context, c *armClient, u string) ([]T, error) {
	out := []T{}
	seen := map[string]bool{}
	for range maxPages {
		seen[u] = true
		var p page[T]
		if _, err := c.do(ctx, http.MethodGet, u, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Value...)
		if p.NextLink == "" {
			return out, nil
		}
		next, err := c.follow(u, p.NextLink, "nextLink")
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

// responseRecorder is an http.RoundTripper that remembers the status and
// headers of the last response, for the armClient's single goroutine.
type responseRecorder struct {
	next   http.RoundTripper
	status int
	header http.Header
}

// RoundTrip implements http.RoundTripper.
func (r *responseRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.status, r.header = resp.StatusCode, resp.Header.Clone()
	}
	return resp, err
}

func (r *responseRecorder) reset() { r.status, r.header = 0, nil }

func (r *responseRecorder) last() (int, http.Header) {
	if r.header == nil {
		return r.status, http.Header{}
	}
	return r.status, r.header
}

// scopeFlags are the flags that choose the scope of an extension resource
// (lock, role assignment): a full id, a resource group of the profile's
// subscription, or (neither) the subscription itself.
type scopeFlags struct {
	scope         string // --scope or --resource: a full resource id
	scopeFlag     string // the flag's name, for messages
	resourceGroup string
}

// resolve returns the chosen scope as a resource id string.
func (f *scopeFlags) resolve(c *armClient) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	if f.scope != "" {
		id, _ := resource.Parse(f.scope) // validated
		return id.String(), nil
	}
	sub, err := c.subscription()
	if err != nil {
		return "", err
	}
	if f.resourceGroup != "" {
		return resource.NewResourceGroup(sub, f.resourceGroup).String(), nil
	}
	return resource.NewSubscription(sub).String(), nil
}

// validateScopeFlags checks the flags before any network call, so that a
// usage error does not depend on being signed in.
func (f *scopeFlags) validate() error {
	if f.scope != "" && f.resourceGroup != "" {
		return usagef("use either --%s or --resource-group, not both", f.scopeFlag)
	}
	if f.scope != "" {
		if id, err := resource.Parse(f.scope); err != nil || id.Level() == resource.Tenant {
			return usagef("--%s %q is not a resource id (want /subscriptions/...)", f.scopeFlag, f.scope)
		}
	}
	if f.resourceGroup != "" {
		if err := resource.ValidateResourceGroupName(f.resourceGroup); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of a GUID, in
// either case.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// scopeOfExtension is the scope an extension resource id hangs off: the
// id without its last "/providers/{ns}/{type}/{name}".
func scopeOfExtension(id string) string {
	i := strings.LastIndex(strings.ToLower(id), "/providers/")
	if i < 0 {
		return ""
	}
	if i == 0 {
		return "/"
	}
	return id[:i]
}
