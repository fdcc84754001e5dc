package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func TestMetrics(t *testing.T) {
	reg := newRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice on one registry succeeded")
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := Wrap(&Hosts{Login: ok, Management: boom}, Options{Logger: discardLogger(), Metrics: m})
	for _, req := range []struct{ method, host string }{
		{"GET", "login.localhost"},
		{"GET", "login.localhost:8443"},
		{"POST", "kv1.vault.localhost"},
		{"BREW", "login.localhost"},
		{"DELETE", "management.localhost"},
		{"GET", "127.0.0.1"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, "https://"+req.host+"/", nil))
	}

	rec := httptest.NewRecorder()
	MetricsHandler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`edgevault_http_requests_total{code="200",method="GET",surface="login"} 2`,
		`edgevault_http_requests_total{code="200",method="OTHER",surface="login"} 1`,
		`edgevault_http_requests_total{code="404",method="POST",surface="vault"} 1`,
		`edgevault_http_requests_total{code="500",method="DELETE",surface="management"} 1`,
		`edgevault_http_requests_total{code="404",method="GET",surface="unknown"} 1`,
		`edgevault_http_request_duration_seconds_count{surface="login"} 3`,
		`edgevault_http_request_duration_seconds_bucket{surface="vault",le="60"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "BREW") {
		t.Error("an arbitrary method became a label value")
	}
}

func TestMetricMethod(t *testing.T) {
	for in, want := range map[string]string{
		"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
		"DELETE": "DELETE", "OPTIONS": "OPTIONS", "get": "OTHER", "TRACE": "OTHER", "": "OTHER",
	} {
		if got := metricMethod(in); got != want {
			t.Errorf("metricMethod(%q) = %q, want %q", in, got, want)
		}
	}
}
