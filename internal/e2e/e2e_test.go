// Package e2e holds edgevault's end-to-end tests: the real server (in this
// process, or the built binary as a child process), the real CLI and the
// project's own HTTP client, talking TLS over loopback as an operator's
// tools would. The tests use only exported API, so they see what a user of
// the programs sees; the per-package tests cover the internals.
//
// Every file here is a _test.go file: the package has no code of its own,
// so it needs no rule in internal/deps_test.go.
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/server"
)

// adminPath is the root of edgevault's admin API on the management host.
const adminPath = "/edgevault/admin"

// cheapArgon2 keeps password hashing cheap in in-process servers.
var cheapArgon2 = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// syncBuffer is a bytes.Buffer that a server's logger and a child
// process's output copier may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// inproc is a server running in the test process.
type inproc struct {
	*server.Server
	boot bootstrap.File
	http *http.Client // trusts only the server's CA
	stop func()       // graceful shutdown; returns once Run has returned
}

// startInProcess runs a server with its data in dir, listening on listen
// ("127.0.0.1:0" for any free port), and logging at info level (which
// includes the access log) to log. The server stops at the end of the test
// unless stopped before.
func startInProcess(t *testing.T, dir, listen string, log io.Writer) *inproc {
	t.Helper()
	return startInProcessDB(t, dir, listen, "", log)
}

// startInProcessDB is startInProcess on the database databaseURL names
// ("" for SQLite in dir).
func startInProcessDB(t *testing.T, dir, listen, databaseURL string, log io.Writer) *inproc {
	t.Helper()
	return startInProcessWith(t, dir, listen, databaseURL, log, nil)
}

// startInProcessWith is startInProcessDB with edit applied to the
// configuration first (nil: none).
func startInProcessWith(t *testing.T, dir, listen, databaseURL string, log io.Writer, edit func(*config.Config), options ...func(*server.Options)) *inproc {
	t.Helper()
	cfg := config.Config{DataDir: dir, Listen: listen, DNSSuffix: "localhost", LogFormat: "text", LogLevel: "info",
		DatabaseURL: databaseURL}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		opts := server.Options{Stdout: io.Discard, Stderr: log, Argon2: cheapArgon2,
			Ready: func(s *server.Server) { ready <- s }}
		for _, o := range options {
			o(&opts)
		}
		done <- server.Run(ctx, cfg, opts)
	}()
	var s *server.Server
	select {
	case s = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	boot, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: boot.CACertFile, OnlyCA: true})
	if err != nil {
		t.Fatal(err)
	}
	return &inproc{Server: s, boot: boot, http: hc, stop: stop}
}

// tokenClient returns a token client for the bootstrap tenant.
func tokenClient(hc *http.Client, boot bootstrap.File) *client.TokenClient {
	return &client.TokenClient{HTTP: hc, AuthorityHost: boot.AuthorityHost, Tenant: boot.TenantID}
}

// spToken gets an access token for audience with a client secret.
func spToken(t testing.TB, tc *client.TokenClient, clientID, secret, audience string) string {
	t.Helper()
	tok, err := tc.ClientCredentials(t.Context(), clientID, sensitive.New(secret), audience)
	if err != nil {
		t.Fatalf("client_credentials for %s: %v", clientID, err)
	}
	return tok.AccessToken.Reveal()
}

// refusedClient reports whether err is the token endpoint refusing a
// client's credentials (and not, say, a connection failure).
func refusedClient(err error) bool {
	var te *client.TokenError
	return errors.As(err, &te) && te.Status == http.StatusUnauthorized && te.Code == "invalid_client"
}

// adminAPI returns a caller of the admin API that sends tok.
func adminAPI(hc *http.Client, tok string) *client.API {
	return &client.API{HTTP: hc, Token: func(context.Context) (sensitive.String, error) { return sensitive.New(tok), nil }}
}

// servicePrincipal is the admin API's service principal; ClientSecret is
// set only in the answers of create and resetSecret.
type servicePrincipal struct {
	ClientID     string `json:"clientId"`
	ObjectID     string `json:"objectId"`
	DisplayName  string `json:"displayName"`
	ClientSecret string `json:"clientSecret"`
}

// listSPs lists the tenant's service principals by client id.
func listSPs(t *testing.T, api *client.API, boot bootstrap.File) map[string]servicePrincipal {
	t.Helper()
	var out struct{ Value []servicePrincipal }
	if err := api.Do(t.Context(), http.MethodGet, boot.ManagementEndpoint+adminPath+"/servicePrincipals", nil, &out); err != nil {
		t.Fatalf("list service principals: %v", err)
	}
	m := make(map[string]servicePrincipal, len(out.Value))
	for _, sp := range out.Value {
		if sp.ClientSecret != "" {
			t.Errorf("list shows the client secret of %s", sp.ClientID)
		}
		m[sp.ClientID] = sp
	}
	return m
}

// jwksKIDs returns the key ids the login host publishes, sorted.
func jwksKIDs(t *testing.T, hc *http.Client, boot bootstrap.File) []string {
	t.Helper()
	resp, err := hc.Get(boot.AuthorityHost + boot.TenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS: status %d, %v", resp.StatusCode, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	slices.Sort(kids)
	return kids
}

// tokenKID returns the kid in a JWT's header: which signing key signed it.
func tokenKID(t *testing.T, raw string) string {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		KID string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil || h.KID == "" {
		t.Fatalf("token header has no kid")
	}
	return h.KID
}

// request is one raw HTTP call, for tests of the wire itself.
type request struct {
	method, url     string
	host            string // the Host header, when it differs from the URL's
	auth            string // the Authorization header; none when empty
	body            string
	clientRequestID string // x-ms-client-request-id; none when empty
}

// reply is an HTTP answer, read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send makes the call. A custom host changes only the Host header: TLS
// still names the URL's host, as a client behind a name-based proxy would.
func send(t *testing.T, hc *http.Client, rq request) reply {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), rq.method, rq.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	if rq.clientRequestID != "" {
		req.Header.Set("x-ms-client-request-id", rq.clientRequestID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}
