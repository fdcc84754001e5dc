package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestIDs(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		name            string
		client, corr    string // request headers; "" means absent
		wantClient      string // echoed x-ms-client-request-id
		wantCorrIsOwnID bool
		wantCorrelation string
	}{
		{name: "none", wantCorrIsOwnID: true},
		{name: "guid", client: "9b4e7d0c-0000-4000-8000-000000000001", wantClient: "9b4e7d0c-0000-4000-8000-000000000001", wantCorrIsOwnID: true},
		{name: "correlation echoed", client: "c1", corr: "corr-1", wantClient: "c1", wantCorrelation: "corr-1"},
		{name: "256 chars", client: long, wantClient: long, wantCorrIsOwnID: true},
		{name: "257 chars", client: long + "a", corr: long + "a", wantCorrIsOwnID: true},
		{name: "control char", client: "a\x01b", corr: "a\x7fb", wantCorrIsOwnID: true},
		{name: "non-ASCII", client: "caf\u00e9", corr: "\u00e9", wantCorrIsOwnID: true},
		{name: "printable punctuation", client: "a b~!{}", wantClient: "a b~!{}", wantCorrIsOwnID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctxID, ctxClient string
			h := RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctxID, ctxClient = RequestID(r.Context()), ClientRequestID(r.Context())
			}))
			req := httptest.NewRequest("GET", "https://login.localhost/", nil)
			if tt.client != "" {
				req.Header[http.CanonicalHeaderKey(HeaderClientRequestID)] = []string{tt.client}
			}
			if tt.corr != "" {
				req.Header[http.CanonicalHeaderKey(HeaderCorrelationRequestID)] = []string{tt.corr}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			id := rec.Header().Get(HeaderRequestID)
			if !uuidV4.MatchString(id) || id != ctxID {
				t.Errorf("request ID %q (context %q), want the same UUIDv4", id, ctxID)
			}
			if got := rec.Header().Values(HeaderClientRequestID); tt.wantClient == "" && len(got) != 0 ||
				tt.wantClient != "" && (len(got) != 1 || got[0] != tt.wantClient) {
				t.Errorf("echoed client ID %q, want %q", got, tt.wantClient)
			}
			if ctxClient != tt.wantClient {
				t.Errorf("ClientRequestID = %q, want %q", ctxClient, tt.wantClient)
			}
			want := tt.wantCorrelation
			if tt.wantCorrIsOwnID {
				want = id
			}
			if got := rec.Header().Get(HeaderCorrelationRequestID); got != want {
				t.Errorf("correlation ID %q, want %q", got, want)
			}
		})
	}
}

func TestRequestIDsUnique(t *testing.T) {
	h := RequestIDs(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	seen := map[string]bool{}
	for range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		id := rec.Header().Get(HeaderRequestID)
		if seen[id] {
			t.Fatalf("request ID %s issued twice", id)
		}
		seen[id] = true
	}
}

func TestLimitBody(t *testing.T) {
	tests := []struct {
		limit  int64
		size   int
		tooBig bool
	}{
		{10, 0, false},
		{10, 10, false},
		{10, 11, true},
		{0, DefaultMaxBodyBytes, false},
		{0, DefaultMaxBodyBytes + 1, true},
		{-1, DefaultMaxBodyBytes + 1, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.limit, tt.size), func(t *testing.T) {
			h := LimitBody(tt.limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				if IsTooLarge(fmt.Errorf("reading: %w", err)) {
					WriteARMError(w, r, http.StatusRequestEntityTooLarge, "too large")
					return
				}
				if err != nil {
					t.Errorf("ReadAll: %v", err)
				}
			}))
			req := httptest.NewRequest("PUT", "/", bytes.NewReader(make([]byte, tt.size)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Code == http.StatusRequestEntityTooLarge; got != tt.tooBig {
				t.Errorf("413 = %v, want %v", got, tt.tooBig)
			}
		})
	}
	if IsTooLarge(io.ErrUnexpectedEOF) || IsTooLarge(nil) {
		t.Error("IsTooLarge true for an unrelated error")
	}
}

// logBuffer is a JSON slog handler's output, split into records.
type logBuffer struct{ bytes.Buffer }

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (b *logBuffer) count(t *testing.T, msg string) int {
	n := 0
	for _, r := range b.records(t) {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}

const panicMsg = "http: panic serving request"

func TestRecover(t *testing.T) {
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "3")
		panic("boom: internal detail 42")
	})
	tests := []struct {
		host     string
		wantBody func(id string) map[string]any
	}{
		{"login.localhost", func(id string) map[string]any {
			return map[string]any{"error": "server_error",
				"error_description": "The server encountered an internal error. Request ID: " + id + "."}
		}},
		{"management.localhost", func(id string) map[string]any {
			return map[string]any{"error": map[string]any{"code": "InternalServerError",
				"message": "The server encountered an internal error. Request ID: " + id + "."}}
		}},
		{"example.com", func(id string) map[string]any {
			return map[string]any{"error": map[string]any{"code": "InternalServerError",
				"message": "The server encountered an internal error. Request ID: " + id + "."}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			var log logBuffer
			h := Wrap(&Hosts{Login: boom, Management: boom, Unknown: boom}, Options{
				Logger: log.logger(),
				Errors: map[Surface]ErrorWriter{Login: WriteOAuthError},
			})
			status, hdr, body := do(t, h, "GET", tt.host, "/")
			id := hdr.Get(HeaderRequestID)
			if status != 500 || hdr.Get("Content-Type") != ContentTypeJSON {
				t.Errorf("status %d, type %q; want 500 JSON", status, hdr.Get("Content-Type"))
			}
			if diff := cmp.Diff(tt.wantBody(id), body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if n := log.count(t, panicMsg); n != 1 {
				t.Errorf("%d panic records, want 1", n)
			}
			for _, r := range log.records(t) {
				if r["msg"] == panicMsg && (r["panic"] != "boom: internal detail 42" ||
					!strings.Contains(r["stack"].(string), "TestRecover") || r["request_id"] != id) {
					t.Errorf("panic record %v lacks value, stack or request ID", r)
				}
			}
		})
	}
}

func TestRecoverAbort(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantLogs int
	}{
		{"ErrAbortHandler passes through", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, 0},
		{"panic after the response started", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("partial"))
			panic(errors.New("late"))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuffer
			h := Recover(log.logger(), nil)(tt.handler)
			func() {
				defer func() {
					if v := recover(); v != http.ErrAbortHandler {
						t.Errorf("recovered %v, want http.ErrAbortHandler", v)
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			}()
			if n := log.count(t, panicMsg); n != tt.wantLogs {
				t.Errorf("%d panic records, want %d", n, tt.wantLogs)
			}
		})
	}
}

// TestRecoverKeepsServing runs a real server: after a handler panics, and
// after one aborts, the next request on it is served normally.
func TestRecoverKeepsServing(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	srv := httptest.NewUnstartedServer(Wrap(&Hosts{Portal: mux}, Options{Logger: discardLogger()}))
	srv.Start()
	defer srv.Close()

	get := func(path string) (int, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "localhost"
		resp, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := get("/panic"); code != 500 {
		t.Errorf("/panic: %d %v, want 500", code, err)
	}
	if _, err := get("/abort"); err == nil {
		t.Error("/abort: got a response, want the connection aborted")
	}
	if code, err := get("/ok"); code != 200 {
		t.Errorf("/ok after panics: %d %v, want 200", code, err)
	}
}
