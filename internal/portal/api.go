package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/edgevault/edgevault/internal/httpx"
)

// The portal's calls to the API. Each is an HTTP request as the browser's
// user would make it with the CLI: a bearer token issued for the user,
// sent through the server's own handler in process, so that the API's
// authentication, authorization, locks and audit decide, not the portal.

// Wire versions the portal speaks.
const (
	edgeAPIVersion         = "2023-12-01"
	subscriptionAPIVersion = "2022-12-01"
	vaultAPIVersion        = "7.5"
	providerAPIVersion     = "2021-04-01"
	keyVaultAPIVersion     = "2023-07-01"
)

// apiError is an answer other than the one expected: its status and the
// API's error code and message (safe to show: the API wrote them for
// clients).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("the API answered %d %s: %s", e.Status, e.Code, e.Message)
}

// answer is an API response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (a answer) decode(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("portal: the API's answer is unreadable: %w", err)
	}
	return nil
}

// management calls the management API as the session's user. target is
// a path with its query ("/subscriptions?api-version=...") or an absolute
// URL on the management host (an operation's status URL). Any status but
// the ones in ok is an *apiError.
func (h *Handler) management(ctx context.Context, r *http.Request, method, target string, body any, ok ...int) (answer, error) {
	u, err := url.Parse(target)
	if err != nil {
		return answer{}, err
	}
	if u.IsAbs() && (u.Scheme != "https" || !strings.EqualFold(u.Host, h.cfg.ManagementHost)) {
		return answer{}, fmt.Errorf("portal: %q is not on the management host", target)
	}
	u.Scheme, u.Host = "https", h.cfg.ManagementHost
	return h.call(ctx, r, Management, method, u, body, ok)
}

// vaultSecret reads a secret's value through the vault data plane as the
// session's user. secretID is the secret's versioned URL, which must be
// on a vault host.
func (h *Handler) vaultSecret(ctx context.Context, r *http.Request, secretID string) (string, error) {
	u, err := url.Parse(secretID)
	if err != nil || u.Scheme != "https" || !strings.HasSuffix(strings.ToLower(u.Host), "."+strings.ToLower(h.cfg.VaultHost)) ||
		!strings.HasPrefix(u.Path, "/secrets/") {
		return "", fmt.Errorf("portal: %q is not a secret on a vault host", secretID)
	}
	u.RawQuery = "api-version=" + vaultAPIVersion
	a, err := h.call(ctx, r, Vault, http.MethodGet, u, nil, []int{http.StatusOK})
	if err != nil {
		return "", err
	}
	var v struct {
		Value string `json:"value"`
	}
	return v.Value, a.decode(&v)
}

// call sends one request as the session's user through the API handler.
func (h *Handler) call(ctx context.Context, r *http.Request, aud Audience, method string, u *url.URL, body any, ok []int) (answer, error) {
	ss := sessionOf(ctx)
	tok, err := h.cfg.Auth.Token(ctx, ss.user.ObjectID, aud)
	if errors.Is(err, ErrBadCredentials) { // the user was disabled or deleted
		return answer{}, &apiError{Status: http.StatusUnauthorized, Code: "SignedOut",
			Message: "Your account can no longer sign in."}
	}
	if err != nil {
		return answer{}, err
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	// The API request is a request of its own: the server's middleware
	// keeps per-request state in the context (request id, surface), which
	// the portal's request must not share. It ends with the portal's
	// request, and names it as its correlation id.
	inner, cancel := context.WithCancel(context.Background())
	defer context.AfterFunc(ctx, cancel)()
	defer cancel()
	req, err := http.NewRequestWithContext(inner, method, u.String(), rd)
	if err != nil {
		return answer{}, err
	}
	if id := httpx.RequestID(ctx); id != "" {
		req.Header.Set(httpx.HeaderCorrelationRequestID, id)
	}
	req.Host = u.Host
	// The audit trail records the browser's address, not the portal's.
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "edgevault-portal")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.cfg.API.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	for _, s := range ok {
		if a.status == s {
			return a, nil
		}
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(a.body, &e)
	return a, &apiError{Status: a.status, Code: e.Error.Code, Message: e.Error.Message}
}

// subscription returns the user's subscription: the first the API lists
// for them, remembered for the session.
func (h *Handler) subscription(ctx context.Context, r *http.Request) (string, error) {
	ss := sessionOf(ctx)
	if sub := ss.cachedSubscription(); sub != "" {
		return sub, nil
	}
	a, err := h.management(ctx, r, http.MethodGet, "/subscriptions?api-version="+subscriptionAPIVersion, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var list struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"value"`
	}
	if err := a.decode(&list); err != nil {
		return "", err
	}
	if len(list.Value) == 0 || list.Value[0].SubscriptionID == "" {
		return "", &apiError{Status: http.StatusForbidden, Code: "NoSubscription", Message: "No subscription is visible to you."}
	}
	ss.setSubscription(ctx, list.Value[0].SubscriptionID)
	return list.Value[0].SubscriptionID, nil
}

// devicePath is the ARM path of an edge resource (without query).
func devicePath(sub, group, name string) string {
	return "/subscriptions/" + url.PathEscape(sub) + "/resourceGroups/" + url.PathEscape(group) +
		"/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/" + url.PathEscape(name)
}
