package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// echoSurface answers with the surface and label the request was routed to.
func echoSurface() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{
			"surface": SurfaceOf(r.Context()).String(),
			"label":   Label(r.Context()),
		})
	})
}

func allSurfaces() *Hosts {
	e := echoSurface()
	return &Hosts{Login: e, Management: e, Vault: e, Blob: e, Device: e, Portal: e}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// do serves one request to h and returns the status and decoded JSON body.
func do(t *testing.T, h http.Handler, method, host, path string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "https://"+host+path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil && method != http.MethodHead {
		t.Fatalf("%s %s%s: body %q is not JSON: %v", method, host, path, rec.Body, err)
	}
	return rec.Code, rec.Header(), body
}

func TestHostsDispatch(t *testing.T) {
	full := Wrap(allSurfaces(), Options{Logger: discardLogger()})
	empty := Wrap(&Hosts{}, Options{Logger: discardLogger()})
	notFound := map[string]any{"error": map[string]any{
		"code": "NotFound", "message": "The requested resource was not found on this server.",
	}}
	routed := func(s, label string) map[string]any { return map[string]any{"surface": s, "label": label} }
	tests := []struct {
		name       string
		h          http.Handler
		host, path string
		wantStatus int
		wantBody   map[string]any
	}{
		{"login", full, "login.localhost:8443", "/t/oauth2/v2.0/token", 200, routed("login", "")},
		{"management", full, "management.localhost:8443", "/subscriptions", 200, routed("management", "")},
		{"vault", full, "Kv1.vault.localhost:8443", "/secrets/x", 200, routed("vault", "kv1")},
		{"blob", full, "audit1.blob.localhost", "/", 200, routed("blob", "audit1")},
		{"device", full, "device.localhost:8443", "/activate", 200, routed("device", "")},
		{"portal", full, "portal.localhost:8443", "/", 200, routed("portal", "")},
		{"bare suffix", full, "localhost:8443", "/", 200, routed("portal", "")},
		{"unknown host", full, "example.com", "/", 404, notFound},
		{"IP host", full, "127.0.0.1:8443", "/subscriptions", 404, notFound},
		{"vault without name", full, "vault.localhost:8443", "/secrets", 404, notFound},
		{"nil handler", empty, "login.localhost:8443", "/", 404, notFound},
		{"nil vault handler", empty, "kv.vault.localhost:8443", "/secrets/x", 404, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := do(t, tt.h, http.MethodGet, tt.host, tt.path)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if h.Get("Content-Type") != ContentTypeJSON || h.Get(HeaderRequestID) == "" {
				t.Errorf("headers %v, want JSON content type and a request ID", h)
			}
		})
	}
}

func TestHostsUnknownHandler(t *testing.T) {
	h := &Hosts{Unknown: echoSurface()}
	status, _, body := do(t, h, http.MethodGet, "10.1.2.3", "/")
	if status != 200 || body["surface"] != "unknown" {
		t.Errorf("got %d %v, want the Unknown handler", status, body)
	}
}

func TestHealth(t *testing.T) {
	dbDown := errors.New("dial postgres://admin:hunter2@db:5432: connection refused")
	tests := []struct {
		name       string
		ready      func(context.Context) error
		host, path string
		wantStatus int
		wantBody   map[string]any
	}{
		{"healthz on login", nil, "login.localhost:8443", PathHealth, 200, map[string]any{"status": "ok"}},
		{"healthz on unknown host", nil, "example.com", PathHealth, 200, map[string]any{"status": "ok"}},
		{"healthz on IP", nil, "127.0.0.1:8443", PathHealth, 200, map[string]any{"status": "ok"}},
		{"healthz while not ready", func(context.Context) error { return dbDown }, "x.vault.localhost", PathHealth, 200, map[string]any{"status": "ok"}},
		{"readyz without check", nil, "management.localhost", PathReady, 200, map[string]any{"status": "ok"}},
		{"readyz ready", func(context.Context) error { return nil }, "[::1]:8443", PathReady, 200, map[string]any{"status": "ok"}},
		{"readyz not ready", func(context.Context) error { return dbDown }, "portal.localhost", PathReady, 503, map[string]any{"status": "unavailable"}},
		{"other path is dispatched", nil, "example.com", "/healthz/", 404, map[string]any{"error": map[string]any{
			"code": "NotFound", "message": "The requested resource was not found on this server.",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			hosts := &Hosts{Ready: tt.ready, Logger: slog.New(slog.NewTextHandler(&log, nil))}
			status, _, body := do(t, Wrap(hosts, Options{Logger: discardLogger()}), http.MethodGet, tt.host, tt.path)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if status == 503 && !strings.Contains(log.String(), "connection refused") {
				t.Errorf("readiness cause not logged: %q", log.String())
			}
		})
	}
}

// FuzzHosts sends arbitrary Host headers, paths and methods through the
// whole middleware chain: it must never panic, and every answer is JSON
// carrying a request ID.
func FuzzHosts(f *testing.F) {
	f.Add("kv.vault.localhost:8443", "/secrets/a", "GET")
	f.Add("[::1]:1", "/healthz", "POST")
	f.Add("\x00", "", "")
	reg := newRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		f.Fatal(err)
	}
	h := Wrap(&Hosts{Vault: echoSurface(), Blob: echoSurface()}, Options{Logger: discardLogger(), Metrics: m})
	f.Fuzz(func(t *testing.T, host, path, method string) {
		req := &http.Request{
			Method:     method,
			URL:        &url.URL{Path: path},
			Host:       host,
			Header:     http.Header{},
			Body:       http.NoBody,
			RemoteAddr: "192.0.2.1:1234",
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 404 {
			t.Fatalf("status %d", rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q is not JSON", rec.Body)
		}
		if rec.Header().Get(HeaderRequestID) == "" {
			t.Fatal("no request ID")
		}
	})
}
