package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestAccessLogKeepsSecrets proves the log never carries a bearer token, a
// query value or a form value, whatever the handler does with them: reads
// them, fails, panics, or is refused for a too-large body.
func TestAccessLogKeepsSecrets(t *testing.T) {
	const (
		token  = "eyJtokenSECRETx1"
		query  = "querySECRETy2"
		form   = "formSECRETz3"
		cookie = "cookieSECRETw4"
	)
	readForm := func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil && IsTooLarge(err) {
			WriteARMError(w, r, http.StatusRequestEntityTooLarge, "too large")
			return
		}
		_ = r.Form.Get("password") + r.Form.Get("client_secret")
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		limit   int64
	}{
		{"ok", readForm, 0},
		{"error", func(w http.ResponseWriter, r *http.Request) {
			readForm(w, r)
			WriteARMError(w, r, http.StatusUnauthorized, "denied")
		}, 0},
		{"panic", func(w http.ResponseWriter, r *http.Request) {
			readForm(w, r)
			panic("handler failed")
		}, 0},
		{"too large", readForm, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuffer
			h := Wrap(&Hosts{Login: tt.handler}, Options{Logger: log.logger(), MaxBodyBytes: tt.limit})
			body := "grant_type=password&username=admin&password=" + form
			req := httptest.NewRequest("POST",
				"https://login.localhost:8443/t/oauth2/v2.0/token?client_secret="+query+"&api-version=1", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Cookie", "session="+cookie)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			h.ServeHTTP(httptest.NewRecorder(), req)

			if log.Len() == 0 {
				t.Fatal("nothing logged")
			}
			for _, secret := range []string{token, query, form, cookie} {
				if strings.Contains(log.String(), secret) {
					t.Errorf("log contains %q:\n%s", secret, log.String())
				}
			}
		})
	}
}

func TestAccessLogRecord(t *testing.T) {
	var log logBuffer
	h := Wrap(&Hosts{Vault: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("12345"))
	})}, Options{Logger: log.logger()})
	req := httptest.NewRequest("PUT", "https://kv1.vault.localhost:8443/secrets/a%2Fb?b=2&api-version=7.5&b=3&flag", nil)
	req.Header.Set(HeaderClientRequestID, "client-1")
	req.RemoteAddr = "192.0.2.7:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	recs := log.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d log records, want 1", len(recs))
	}
	want := map[string]any{
		"level":             "INFO",
		"msg":               "http request",
		"method":            "PUT",
		"surface":           "vault",
		"host":              "kv1.vault.localhost:8443",
		"path":              "/secrets/a%2Fb",
		"query":             []any{"api-version", "b", "flag"},
		"status":            float64(201),
		"bytes":             float64(5),
		"request_id":        rec.Header().Get(HeaderRequestID),
		"client_request_id": "client-1",
		"remote_addr":       "192.0.2.7:5555",
	}
	if diff := cmp.Diff(want, recs[0], cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		return k == "time" || k == "duration"
	})); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if _, ok := recs[0]["duration"].(float64); !ok {
		t.Errorf("duration %v, want a number", recs[0]["duration"])
	}
}

func TestQueryNames(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('A'+i)) + "=1"
	}
	tests := []struct {
		raw  string
		want []string
	}{
		{"", []string{}},
		{"a=1&b=2&a=3", []string{"a", "b"}},
		{"%zz=1&ok=2", []string{"ok"}},
		{"secretvalueonly", []string{"secretvalueonly"}},
		{strings.Repeat("k", 100) + "=v", []string{strings.Repeat("k", 64) + "..."}},
		{strings.Join(many, "&"), nil},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = tt.raw
		got := queryNames(r)
		if tt.want == nil {
			if len(got) != maxLoggedQueryNames+1 || got[maxLoggedQueryNames] != "..." {
				t.Errorf("queryNames(many) = %d names, want %d and a marker", len(got), maxLoggedQueryNames)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("queryNames(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
}

// TestAccessLogStandalone checks that AccessLog learns the surface from
// Hosts without the rest of the chain.
func TestAccessLogStandalone(t *testing.T) {
	var log logBuffer
	h := AccessLog(log.logger())(&Hosts{})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://kv.vault.localhost/", nil))
	recs := log.records(t)
	if len(recs) != 1 || recs[0]["surface"] != "vault" || recs[0]["status"] != float64(404) {
		t.Errorf("records %v, want one for a vault 404", recs)
	}
}
