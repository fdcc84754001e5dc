package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/client/clienttest"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// tokenServer answers the token endpoint with status and body, and records
// the last request's path and form.
type tokenServer struct {
	status int
	body   string
	path   string
	form   url.Values
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.path = r.Host + r.URL.Path
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		http.Error(w, "bad content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	_ = r.ParseForm()
	s.form = r.PostForm
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func newTokenClient(t *testing.T, ts *tokenServer) (*TokenClient, string) {
	t.Helper()
	srv := clienttest.NewServer(t, ts)
	hc, err := NewHTTPClient(HTTPOptions{CAFile: srv.CAFile, OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return &TokenClient{
		HTTP:          hc,
		AuthorityHost: srv.URLFor("login.localhost") + "/",
		Tenant:        "tenant-1",
		Now:           func() time.Time { return now },
	}, "login.localhost:" + srv.Port
}

const okBody = `{"token_type":"Bearer","access_token":"AT-1","expires_in":3599,"ext_expires_in":3599,"refresh_token":"RT-2","scope":"https://management.localhost:8443/.default offline_access"}`

func TestTokenGrants(t *testing.T) {
	const aud = "https://management.localhost:8443"
	tests := []struct {
		name string
		call func(context.Context, *TokenClient) (*Token, error)
		want url.Values
	}{
		{"password", func(ctx context.Context, c *TokenClient) (*Token, error) {
			return c.Password(ctx, "admin", sensitive.New("pw&=x"), aud)
		}, url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"admin"},
			"password": {"pw&=x"}, "scope": {aud + "/.default offline_access"}}},
		{"refresh", func(ctx context.Context, c *TokenClient) (*Token, error) {
			return c.Refresh(ctx, sensitive.New("RT-1"), aud)
		}, url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID},
			"refresh_token": {"RT-1"}, "scope": {aud + "/.default offline_access"}}},
		{"client credentials", func(ctx context.Context, c *TokenClient) (*Token, error) {
			return c.ClientCredentials(ctx, "app-1", sensitive.New("s3cret"), aud)
		}, url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"},
			"client_secret": {"s3cret"}, "scope": {aud + "/.default"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := &tokenServer{status: 200, body: okBody}
			c, host := newTokenClient(t, ts)
			tok, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if want := host + "/tenant-1/oauth2/v2.0/token"; ts.path != want {
				t.Errorf("path = %q, want %q", ts.path, want)
			}
			if ts.form.Encode() != tt.want.Encode() {
				t.Errorf("form = %v, want %v", ts.form, tt.want)
			}
			if tok.AccessToken.Reveal() != "AT-1" || tok.RefreshToken.Reveal() != "RT-2" || tok.TokenType != "Bearer" {
				t.Errorf("token = %+v", tok)
			}
			if want := c.Now().Add(3599 * time.Second); !tok.ExpiresOn.Equal(want) {
				t.Errorf("ExpiresOn = %v, want %v", tok.ExpiresOn, want)
			}
		})
	}
}

func TestTokenResponseShapes(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
		wantExp    time.Duration
	}{
		{"string expires_in", `{"access_token":"a","expires_in":"60"}`, false, time.Minute},
		{"no refresh token", `{"access_token":"a","expires_in":10}`, false, 10 * time.Second},
		{"no access token", `{"expires_in":10}`, true, 0},
		{"bad expires_in", `{"access_token":"a","expires_in":"soon"}`, true, 0},
		{"zero expires_in", `{"access_token":"a","expires_in":0}`, true, 0},
		{"not JSON", `<html>`, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTokenClient(t, &tokenServer{status: 200, body: tt.body})
			tok, err := c.ClientCredentials(t.Context(), "app", sensitive.New("s"), "aud")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !tok.ExpiresOn.Equal(c.Now().Add(tt.wantExp)) {
				t.Errorf("ExpiresOn = %v", tok.ExpiresOn)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   TokenError
	}{
		{"invalid_grant", 400,
			`{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials.","error_codes":[50126],"trace_id":"t1","correlation_id":"c1"}`,
			TokenError{Status: 400, Code: "invalid_grant", Description: "AADSTS50126: Error validating credentials.",
				ErrorCodes: []int{50126}, TraceID: "t1", CorrelationID: "c1"}},
		{"invalid_client", 401, `{"error":"invalid_client"}`, TokenError{Status: 401, Code: "invalid_client"}},
		{"not OAuth", 502, `<html>bad gateway</html>`,
			TokenError{Status: 502, Code: "http_502", Description: "token endpoint answered Bad Gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTokenClient(t, &tokenServer{status: tt.status, body: tt.body})
			_, err := c.Password(t.Context(), "admin", sensitive.New("hunter2"), "aud")
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *TokenError", err)
			}
			if te.Code != tt.want.Code || te.Description != tt.want.Description || te.Status != tt.want.Status ||
				te.TraceID != tt.want.TraceID || te.CorrelationID != tt.want.CorrelationID ||
				len(te.ErrorCodes) != len(tt.want.ErrorCodes) {
				t.Errorf("err = %+v, want %+v", te, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want.Code) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestTokenClientConfigErrors(t *testing.T) {
	c := &TokenClient{AuthorityHost: "https://login.localhost:1/"}
	if _, err := c.Refresh(t.Context(), sensitive.New("rt"), "aud"); err == nil {
		t.Error("no tenant: no error")
	}
	c = &TokenClient{HTTP: &http.Client{}, AuthorityHost: "https://login.localhost:1/", Tenant: "t"}
	_, err := c.Password(t.Context(), "u", sensitive.New("hunter2"), "aud")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable server: err = %v", err)
	}
}

func TestEndpoint(t *testing.T) {
	for _, host := range []string{"https://login.localhost:8443/", "https://login.localhost:8443"} {
		c := &TokenClient{AuthorityHost: host, Tenant: "t 1"}
		if got, want := c.Endpoint(), "https://login.localhost:8443/t%201/oauth2/v2.0/token"; got != want {
			t.Errorf("Endpoint() = %q, want %q", got, want)
		}
	}
}
