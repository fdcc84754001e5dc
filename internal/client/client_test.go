package client

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevault/edgevault/internal/client/clienttest"
)

func TestIsLocalhost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"login.localhost", true},
		{"myvault.vault.localhost", true},
		{"Management.LocalHost.", true},
		{"notlocalhost", false},
		{"localhost.example.com", false},
		{"example.com", false},
		{"127.0.0.1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isLocalhost(tt.host); got != tt.want {
			t.Errorf("isLocalhost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func hello(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.Host) }

func TestNewHTTPClientResolvesLocalhostAndTrustsCA(t *testing.T) {
	srv := clienttest.NewServer(t, http.HandlerFunc(hello))
	for _, opts := range []HTTPOptions{
		{CAFile: srv.CAFile},
		{CAFile: srv.CAFile, OnlyCA: true},
		{CAPEM: srv.CAPEM, OnlyCA: true},
	} {
		hc, err := NewHTTPClient(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"localhost", "login.localhost", "myvault.vault.localhost"} {
			resp, err := hc.Get(srv.URLFor(host) + "/")
			if err != nil {
				t.Fatalf("GET %s: %v", host, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "hello " + host + ":" + srv.Port; string(b) != want {
				t.Errorf("body = %q, want %q", b, want)
			}
		}
	}
}

func TestNewHTTPClientRejectsUnknownCA(t *testing.T) {
	srv := clienttest.NewServer(t, http.HandlerFunc(hello))
	other := clienttest.NewServer(t, http.HandlerFunc(hello))
	hc, err := NewHTTPClient(HTTPOptions{CAFile: other.CAFile, OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hc.Get(srv.URLFor("login.localhost")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("GET with the wrong CA: err = %v, want a certificate error", err)
	}
}

func TestNewHTTPClientRequiresTLS12(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(hello))
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	defer srv.Close()
	hc, err := NewHTTPClient(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true // isolate the version check
	if _, err := hc.Get(srv.URL); err == nil {
		t.Fatal("TLS 1.1 server accepted")
	}
}

func TestNewHTTPClientOptionErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]HTTPOptions{
		"OnlyCA without CA": {OnlyCA: true},
		"missing file":      {CAFile: filepath.Join(dir, "missing.pem")},
		"not PEM":           {CAFile: notPEM},
	} {
		if _, err := NewHTTPClient(opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewHTTPClientTimeout(t *testing.T) {
	for _, tt := range []struct {
		in, want time.Duration
	}{{0, DefaultTimeout}, {-1, 0}, {5 * time.Second, 5 * time.Second}} {
		hc, err := NewHTTPClient(HTTPOptions{Timeout: tt.in})
		if err != nil {
			t.Fatal(err)
		}
		if hc.Timeout != tt.want {
			t.Errorf("Timeout %v: got %v, want %v", tt.in, hc.Timeout, tt.want)
		}
	}
}

func TestProxyBypassesLocalhost(t *testing.T) {
	req := httptest.NewRequest("GET", "https://login.localhost:8443/x", nil)
	if u, err := proxy(req); u != nil || err != nil {
		t.Fatalf("proxy(login.localhost) = %v, %v; want no proxy", u, err)
	}
}
