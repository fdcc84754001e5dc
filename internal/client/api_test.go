package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/edgevault/edgevault/internal/client/clienttest"
	"github.com/edgevault/edgevault/internal/sensitive"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func newAPI(t *testing.T, h http.HandlerFunc) (*API, string) {
	t.Helper()
	srv := clienttest.NewServer(t, h)
	hc, err := NewHTTPClient(HTTPOptions{CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	api := &API{
		HTTP:      hc,
		Token:     func(context.Context) (sensitive.String, error) { return sensitive.New("AT-1"), nil },
		UserAgent: "edgevault-test",
	}
	return api, srv.URLFor("management.localhost")
}

func TestDoSendsHeadersAndDecodes(t *testing.T) {
	var ids []string
	api, base := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		ids = append(ids, r.Header.Get("x-ms-client-request-id"))
		if got := r.Header.Get("Authorization"); got != "Bearer AT-1" {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "edgevault-test" {
			t.Errorf("User-Agent = %q", got)
		}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var in map[string]string
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["displayName"] != "x" {
				t.Errorf("body = %v, %v", in, err)
			}
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, `{"clientId":"c1"}`)
	})
	var out struct{ ClientID string }
	if err := api.Do(t.Context(), http.MethodPost, base+"/edgevault/admin/servicePrincipals", map[string]string{"displayName": "x"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.ClientID != "c1" {
		t.Errorf("out = %+v", out)
	}
	if err := api.Do(t.Context(), http.MethodGet, base+"/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || !uuidRE.MatchString(ids[0]) || !uuidRE.MatchString(ids[1]) || ids[0] == ids[1] {
		t.Errorf("client request ids = %q, want two distinct v4 UUIDs", ids)
	}
}

func TestDoNoContent(t *testing.T) {
	api, base := newAPI(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	out := struct{ A string }{A: "kept"}
	if err := api.Do(t.Context(), http.MethodDelete, base+"/x", nil, &out); err != nil || out.A != "kept" {
		t.Fatalf("Do = %v, out = %+v", err, out)
	}
}

func TestDoErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   APIError
		text   string
	}{
		{"ARM error", 404, `{"error":{"code":"NotFound","message":"Service principal 'x' was not found."}}`,
			APIError{Status: 404, Code: "NotFound", Message: "Service principal 'x' was not found.", RequestID: "req-1"},
			"(NotFound) Service principal 'x' was not found. (request id req-1)"},
		{"not JSON", 502, `<html>`, APIError{Status: 502, RequestID: "req-1"}, "Bad Gateway (request id req-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, base := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("x-ms-request-id", "req-1")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			err := api.Do(t.Context(), http.MethodGet, base+"/x", nil, nil)
			var ae *APIError
			if !errors.As(err, &ae) || *ae != tt.want {
				t.Fatalf("err = %#v, want %#v", err, tt.want)
			}
			if err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", err, tt.text)
			}
			if IsNotFound(err) != (tt.status == 404) {
				t.Errorf("IsNotFound = %v", IsNotFound(err))
			}
		})
	}
}

func TestDoTokenError(t *testing.T) {
	called := false
	api, base := newAPI(t, func(http.ResponseWriter, *http.Request) { called = true })
	want := errors.New("no session")
	api.Token = func(context.Context) (sensitive.String, error) { return sensitive.String{}, want }
	if err := api.Do(t.Context(), http.MethodGet, base+"/x", nil, nil); !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if called {
		t.Error("request sent without a token")
	}
}
