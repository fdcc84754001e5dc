package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/edgevault/edgevault/internal/sensitive"
)

// TokenFunc returns a bearer token for the API being called.
type TokenFunc func(ctx context.Context) (sensitive.String, error)

// API calls an ARM-style JSON API (the management endpoint, edgevault's
// admin API) with a bearer token.
type API struct {
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Token supplies the bearer token for every request; nil sends none.
	Token TokenFunc
	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
}

// APIError is an ARM-style error answer: a non-2xx status, usually with a
// body {"error":{"code":"...","message":"..."}}.
type APIError struct {
	Status    int    // HTTP status
	Code      string // error.code, e.g. "NotFound"; empty if the body had none
	Message   string // error.message, safe to show
	RequestID string // the x-ms-request-id response header
}

// Error implements error.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		msg = "(" + e.Code + ") " + msg
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// Do sends a JSON request and decodes a JSON answer. body, when not nil, is
// encoded as the request body; out, when not nil, receives the decoded
// response body of a 2xx answer (an empty body leaves it untouched). Every
// request carries a fresh x-ms-client-request-id. A non-2xx answer is
// returned as *APIError.
func (a *API) Do(ctx context.Context, method, url string, body, out any) error {
	req, err := a.newRequest(ctx, method, url, body)
	if err != nil {
		return err
	}
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16*maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeAPIError(resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, req.URL.Path, err)
	}
	return nil
}

// newRequest builds the request with its JSON body and headers.
func (a *API) newRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-ms-client-request-id", newUUID())
	if a.UserAgent != "" {
		req.Header.Set("User-Agent", a.UserAgent)
	}
	if a.Token != nil {
		tok, err := a.Token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	return req, nil
}

// decodeAPIError builds an *APIError from an error answer, whatever its body.
func decodeAPIError(resp *http.Response, data []byte) error {
	e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-ms-request-id")}
	var w struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &w) == nil && w.Error != nil {
		e.Code, e.Message = w.Error.Code, w.Error.Message
	}
	return e
}

// IsNotFound reports whether err is an *APIError with status 404.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// newUUID returns a random (version 4) UUID, RFC 9562 §5.4.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
