package kvapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/akv"
)

// The fuzz targets drive the whole handler (host router, middleware,
// pipeline, real SQLite store) with an authorised caller, so that every
// parser of request input is reached: the path router, the query, the
// JSON bodies, the backup blob and the skip token. The invariants: no
// panic, no 5xx, and every answer a well-formed Key Vault response.

var fuzzStatuses = map[int]bool{200: true, 204: true, 400: true, 403: true, 404: true, 405: true, 409: true, 413: true}

// checkFuzzAnswer enforces the invariants of every fuzzed request.
func checkFuzzAnswer(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if !fuzzStatuses[w.Code] {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if w.Code == 204 {
		return
	}
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("status %d with a non-JSON body: %q", w.Code, w.Body)
	}
	if w.Code >= 400 {
		e, _ := v["error"].(map[string]any)
		if code, _ := e["code"].(string); code == "" {
			t.Fatalf("error without code: %s", w.Body)
		}
	}
}

func fuzzFixture(f *testing.F) (*fixture, string) {
	fx := newFixture(f, func(c *Config) { c.Throttle.Requests = -1 })
	do := fx.as(fx.admin)
	must(f, do("PUT", "/secrets/seed", `{"value":"v"}`), 200)
	must(f, do("PUT", "/secrets/gone", `{"value":"v"}`), 200)
	must(f, do("DELETE", "/secrets/gone", ""), 200)
	return fx, fx.token(fx.admin)
}

func fuzzServe(fx *fixture, r *http.Request, tok string) *httptest.ResponseRecorder {
	r.Host = "myvault.vault.localhost:8443"
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	return w
}

// FuzzRoute fuzzes secret names and ids: the path (and query) of requests
// of every method.
func FuzzRoute(f *testing.F) {
	fx, tok := fuzzFixture(f)
	for _, s := range []string{
		"/secrets", "/secrets/", "/secrets/seed", "/secrets/seed/", "/secrets/seed/versions", "/secrets/seed/backup",
		"/secrets/seed/0123456789abcdef0123456789abcdef", "/deletedsecrets/gone", "/deletedsecrets/gone/recover",
		"/secrets/restore", "/SeCrEtS/SEED/", "/secrets/a%2Fb", "/secrets/%zz", "/secrets//", "//secrets",
		"/secrets/seed?maxresults=0", "/secrets/" + strings.Repeat("a", 200), "/secrets/..", "/secrets/seed/%00",
	} {
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE", "POST"} {
			f.Add(m, s)
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		switch method {
		case "GET", "PUT", "PATCH", "DELETE", "POST":
		default:
			return
		}
		u, err := url.ParseRequestURI(path)
		if err != nil || u.Host != "" {
			return
		}
		q := u.Query()
		q.Set("api-version", api)
		u.RawQuery = q.Encode()
		r := httptest.NewRequest(method, "/", strings.NewReader(`{"value":"x"}`))
		r.URL, r.RequestURI = u, u.RequestURI()
		checkFuzzAnswer(t, fuzzServe(fx, r, tok))
	})
}

// FuzzBody fuzzes the JSON bodies of set, update and restore.
func FuzzBody(f *testing.F) {
	fx, tok := fuzzFixture(f)
	var bk struct{ Value string }
	must(f, fx.as(fx.admin)("POST", "/secrets/seed/backup", ""), 200).json(f, &bk)
	for _, s := range []string{
		`{"value":"v"}`, `{"value":"v","contentType":"c","tags":{"a":"b","n":null},"attributes":{"enabled":false,"nbf":1,"exp":2}}`,
		`{"value":null}`, `{"tags":{}}`, `{"attributes":{}}`, `{"attributes":{"exp":-1e300}}`, `{"value":"` + bk.Value + `"}`,
		`{"value":"AQID-g"}`, `{"value":"` + bk.Value + `=="}`, `[]`, `null`, `{"value":"\ud800"}`, `{"tags":{"":""}}`, ``, `{`,
	} {
		for op := range byte(3) {
			f.Add(op, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		var method, path string
		switch op % 3 {
		case 0:
			method, path = "PUT", "/secrets/fuzzed"
		case 1:
			method, path = "PATCH", "/secrets/seed/"
		case 2:
			method, path = "POST", "/secrets/restore"
		}
		r := httptest.NewRequest(method, path+"?api-version="+api, strings.NewReader(string(body)))
		checkFuzzAnswer(t, fuzzServe(fx, r, tok))
	})
}

// FuzzSkipToken fuzzes $skiptoken: only a token the server minted for this
// vault and list opens.
func FuzzSkipToken(f *testing.F) {
	fx, tok := fuzzFixture(f)
	do := fx.as(fx.admin)
	for i := range 3 {
		must(f, do("PUT", fmt.Sprintf("/secrets/p%d", i), `{"value":"v"}`), 200)
	}
	var l list
	must(f, do("GET", "/secrets?maxresults=1", ""), 200).json(f, &l)
	minted := strings.Split(strings.SplitN(*l.NextLink, "$skiptoken=", 2)[1], "&")[0]
	f.Add(minted)
	for _, s := range fuzzSeeds(f, "FuzzSkipToken") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, skip string) {
		r := httptest.NewRequest("GET", "/secrets?api-version="+api+"&$skiptoken="+url.QueryEscape(skip), nil)
		w := fuzzServe(fx, r, tok)
		checkFuzzAnswer(t, w)
		if w.Code == 200 && skip != "" {
			got, err := akv.DecodeBlob(skip)
			if want, _ := akv.DecodeBlob(minted); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("a token the server did not mint was accepted: %q", skip)
			}
		}
	})
}

// fuzzSeeds reads the string seeds of testdata/fuzz/name, which -update
// writes from malformedSkipTokens.
func fuzzSeeds(f *testing.F, name string) []string {
	dir := filepath.Join("testdata", "fuzz", name)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Fatal(err)
		}
		for seed, v := range malformedSkipTokens {
			if err := os.WriteFile(filepath.Join(dir, seed), []byte(fmt.Sprintf("go test fuzz v1\nstring(%q)\n", v)), 0o644); err != nil {
				f.Fatal(err)
			}
		}
	}
	var out []string
	for _, v := range malformedSkipTokens {
		out = append(out, v)
	}
	return out
}

// malformedSkipTokens are parser edge cases, kept in the corpus.
var malformedSkipTokens = map[string]string{
	"empty":       "",
	"short":       "AA",
	"padding":     "AAAA==",
	"std-base64":  "ab+/",
	"not-base64":  "!!!",
	"long":        strings.Repeat("A", 2000),
	"blob-header": "AQE",
	"json":        `{"NextMarker":"x"}`,
}
