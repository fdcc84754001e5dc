package server

// Benchmarks behind the performance targets of docs/performance.md. They run
// a real server in-process (SQLite in a temporary data dir, the real TLS
// listener) and talk to it with the client package, the way the CLI does.
// Client and server share the machine's cores, so the figures are what one
// host can do end to end, not the server's capacity alone.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/sensitive"
	"github.com/edgevault/edgevault/internal/token"
)

// benchConfig is the configuration of a benchmark server in dir: a free
// loopback port, logs only at warn (a benchmark measures serving, not the
// log writer).
func benchConfig(tb testing.TB, dir string) config.Config {
	tb.Helper()
	cfg := config.Config{DataDir: dir, Listen: "127.0.0.1:0", DNSSuffix: "localhost", LogFormat: "text", LogLevel: "warn"}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// serve runs a server with cfg and opts and returns once it is ready, with
// a stop function that cancels it and waits for Run to return. It is
// startServer's testing.TB twin, shaped so that a benchmark can time a
// start and a stop separately.
func serve(tb testing.TB, cfg config.Config, opts Options) (*Server, func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Server, 1)
	done := make(chan error, 1)
	opts.Stdout, opts.Stderr = io.Discard, io.Discard
	opts.Ready = func(s *Server) { ready <- s }
	go func() { done <- Run(ctx, cfg, opts) }()
	select {
	case s := <-ready:
		return s, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		tb.Fatalf("server did not start: %v", err)
		return nil, nil
	}
}

// benchEnv is a running server with its bootstrap credentials and an HTTP
// client trusting its CA.
type benchEnv struct {
	srv  *Server
	boot bootstrap.File
	http *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	// The password hashing cost only matters to the bootstrap, which is
	// not measured here.
	srv, stop := serve(b, benchConfig(b, dir), Options{Argon2: testArgon2})
	b.Cleanup(func() {
		if err := stop(); err != nil {
			b.Errorf("server shutdown: %v", err)
		}
	})
	f, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		b.Fatal(err)
	}
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: f.CACertFile, OnlyCA: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(hc.CloseIdleConnections)
	return &benchEnv{srv: srv, boot: f, http: hc}
}

// clientCredentials gets a management token for the bootstrap service
// principal through the real token endpoint.
func (e *benchEnv) clientCredentials(ctx context.Context) (*client.Token, error) {
	tc := &client.TokenClient{HTTP: e.http, AuthorityHost: e.boot.AuthorityHost, Tenant: e.boot.TenantID}
	sp := e.boot.ServicePrincipal
	return tc.ClientCredentials(ctx, sp.ClientID, sensitive.New(sp.ClientSecret), e.boot.ManagementAudience)
}

// BenchmarkTokenIssuanceClientCredentials measures the client-credentials
// grant end to end: form POST over a kept-alive HTTPS connection, client
// secret check (SHA-256 against the stored hash, one SQLite read), RS256
// signature with the active key, JSON response decoded by the client.
//
// "serial" is one request at a time (latency-bound); "parallel" keeps
// several requests in flight on the shared connection, which is what a
// fleet of clients does to the server.
func BenchmarkTokenIssuanceClientCredentials(b *testing.B) {
	env := newBenchEnv(b)
	ctx := context.Background()

	// Once, outside the timing: the answer really is a management token
	// for the service principal, and the connection is established.
	tok, err := env.clientCredentials(ctx)
	if err != nil {
		b.Fatal(err)
	}
	c, err := env.srv.tokens.Validate(ctx, tok.AccessToken.Reveal(), token.Expect{Audience: env.boot.ManagementAudience})
	if err != nil || c.ObjectID != env.boot.ServicePrincipal.ObjectID {
		b.Fatalf("issued token: %+v, %v", c, err)
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := env.clientCredentials(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		// Two requests per core in flight, so that the server's signing
		// never waits for a client round trip.
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := env.clientCredentials(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
}

// BenchmarkManagementAuth measures authenticating a management request with
// a token the server has already verified once (the common case: clients
// reuse a token for its hour): bearer token → token.Validate (cache hit,
// claim checks) → principal lookup in SQLite, which makes a deleted or
// disabled principal's tokens stop working at once.
//
//   - "validate+lookup" is exactly those two calls, in process;
//   - "handler" is GET /edgevault/admin/servicePrincipals through the
//     server's whole handler chain (middleware, host routing, guard,
//     permission check, list query, JSON), without TLS or sockets;
//   - "https" is the same request over the kept-alive HTTPS connection;
//   - "https-healthz" is an unauthenticated request on the same
//     connection, the transport floor to subtract from "https".
func BenchmarkManagementAuth(b *testing.B) {
	env := newBenchEnv(b)
	ctx := context.Background()
	tok, err := env.clientCredentials(ctx)
	if err != nil {
		b.Fatal(err)
	}
	raw := tok.AccessToken.Reveal()
	want := token.Expect{Audience: env.boot.ManagementAudience}
	listURL := env.boot.ManagementEndpoint + "/edgevault/admin/servicePrincipals"

	b.Run("validate+lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := env.srv.tokens.Validate(ctx, raw, want)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := env.srv.identity.Principal(ctx, c.ObjectID); err != nil {
				b.Fatal(err)
			}
		}
		reportMicros(b)
	})
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		h := env.srv.http.Handler
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, listURL, nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
		reportMicros(b)
	})
	b.Run("https", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get(b, env.http, listURL, raw)
		}
		reportMicros(b)
	})
	b.Run("https-healthz", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get(b, env.http, env.boot.ManagementEndpoint+"/healthz", "")
		}
		reportMicros(b)
	})
}

// get sends an authenticated GET and drains the answer, which must be 200.
func get(b *testing.B, hc *http.Client, url, bearer string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
}

// reportMicros adds the mean time per operation in microseconds, the unit
// of the validation target.
func reportMicros(b *testing.B) {
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N), "µs/op")
}
