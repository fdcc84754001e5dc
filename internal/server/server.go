// Package server is edgevault's composition root: it reads the
// configuration, opens the store and the keys, bootstraps on first start,
// wires every surface onto one TLS listener routed by host, and shuts down
// gracefully. It is the only package that knows every other.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgevault/edgevault/internal/armapi"
	"github.com/edgevault/edgevault/internal/audit"
	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/blobapi"
	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/identity"
	"github.com/edgevault/edgevault/internal/kvapi"
	"github.com/edgevault/edgevault/internal/loginapi"
	"github.com/edgevault/edgevault/internal/pki"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/store"
	"github.com/edgevault/edgevault/internal/token"
)

// Options are the process-level dependencies of Run.
type Options struct {
	Stdout, Stderr io.Writer
	// Ready, when set, receives the server once it is listening (tests).
	Ready func(*Server)
	// Argon2 overrides the password hashing cost (tests only).
	Argon2 identity.Argon2Params
	// WithoutDataPlaneAudit drops the Key Vault data plane's audit records
	// instead of writing them. It exists only so that a benchmark can
	// measure what the audit trail costs; no flag or variable sets it, and
	// a server run from the command line always audits.
	WithoutDataPlaneAudit bool
	// VaultClock, when set, is the key vaults' clock (soft-delete dates,
	// retention, purge): tests move it forward to see retention end. No
	// flag sets it.
	VaultClock func() time.Time
}

// Server is a running edgevault server.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	store     *store.Store
	keyring   *envelope.Keyring
	tokens    *token.Service
	identity  *identity.Service
	endpoints config.Endpoints
	caFile    string
	// caDER is the certificate devices pin (activation keys carry its
	// fingerprint): the local CA, or the root of the configured chain.
	caDER []byte
	// ca issues device certificates and verifies them on the device host.
	ca *pki.CA
	// identityTokens caches the vault tokens of managed identities.
	identityTokens identityTokenCache
	listener       net.Listener
	http           *http.Server
	metrics        *http.Server
	boot           bootstrap.Result
	arm            armServices
	audit          *audit.Writer
	blobs          *blob.Service
	closers        []func() // run in reverse by close
}

// Addr returns the address the TLS listener is bound to.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Endpoints returns the server's public URLs.
func (s *Server) Endpoints() config.Endpoints { return s.endpoints }

// Run starts the server and blocks until ctx is cancelled, then shuts down
// gracefully (in-flight requests get up to 15 seconds).
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	started := time.Now()
	s, err := start(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer s.close()
	s.log.Info("edgevault server ready", "addr", s.listener.Addr().String(), "database", s.store.Dialect(),
		"startup_ms", time.Since(started).Milliseconds())
	printSummary(opts.Stdout, s)
	if opts.Ready != nil {
		opts.Ready(s)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.http.ServeTLS(s.listener, "", "") }()
	if s.metrics != nil {
		go func() { errc <- s.metrics.ListenAndServe() }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(background(), 15*time.Second)
	defer cancel()
	err = s.http.Shutdown(sctx)
	if s.metrics != nil {
		err = errors.Join(err, s.metrics.Shutdown(sctx))
	}
	return err
}

// start does everything but serving; on error it releases what it opened.
// The result is unnamed: the deferred cleanup must see the server, not the
// nil that an error return assigns to a named result.
func start(ctx context.Context, cfg config.Config, opts Options) (_ *Server, err error) {
	logger, err := newLogger(cfg, opts.Stderr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, unlock)
	if err := s.openState(ctx, opts); err != nil {
		return nil, err
	}
	tlsCfg, err := s.loadTLS()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.listener = ln
	s.closers = append(s.closers, func() { ln.Close() })
	s.endpoints = cfg.Endpoints(ln.Addr().(*net.TCPAddr).Port)
	if s.boot, err = bootstrap.Run(ctx, bootstrap.Config{
		Store: s.store, Identity: s.identity, DataDir: cfg.DataDir, Endpoints: s.bootstrapEndpoints(),
	}); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.wire(opts, tlsCfg); err != nil {
		return nil, err
	}
	if err := s.startQueue(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openState opens the database and the keys.
func (s *Server) openState(ctx context.Context, opts Options) error {
	st, err := store.Open(ctx, store.Config{URL: s.cfg.DatabaseURL, DataDir: s.cfg.DataDir})
	if err != nil {
		return err
	}
	s.store = st
	s.closers = append(s.closers, func() { st.Close() })
	if s.keyring, err = envelope.New(envelope.Config{RootKeyFile: s.cfg.RootKeyFile, Store: st}); err != nil {
		return err
	}
	// Finish a root-key rotation a crash interrupted, and check that the
	// root key opens the keys in the database.
	if err := s.keyring.Resume(ctx); err != nil {
		return fmt.Errorf("root key: %w", err)
	}
	if s.identity, err = identity.New(identity.Config{Store: st, Argon2: opts.Argon2}); err != nil {
		return err
	}
	return nil
}

// loadTLS returns the TLS configuration: the operator's certificate, or the
// generated one. The local CA is created either way (devices will get
// their client certificates from it).
func (s *Server) loadTLS() (*tls.Config, error) {
	bundle, err := pki.LoadOrCreate(filepath.Join(s.cfg.DataDir, "tls"), s.cfg.DNSSuffix, time.Now())
	if err != nil {
		return nil, err
	}
	s.ca = bundle.CA
	if s.cfg.TLSCert == "" {
		s.caFile = bundle.CACertFile()
		s.caDER = bundle.CA.Cert.Raw
		return s.withDeviceTLS(bundle.TLSConfig()), nil
	}
	cert, err := pki.LoadFiles(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	s.caDER = cert.Certificate[len(cert.Certificate)-1]
	return s.withDeviceTLS(pki.ServerTLSConfig(cert)), nil
}

// withDeviceTLS makes cfg ask for a client certificate on the device host
// only: devices authenticate with the certificate the local CA issued at
// activation. Other hosts never ask (browsers would prompt).
func (s *Server) withDeviceTLS(cfg *tls.Config) *tls.Config {
	device := cfg.Clone()
	device.ClientAuth = tls.VerifyClientCertIfGiven
	device.ClientCAs = s.ca.Pool()
	host := "device." + s.cfg.DNSSuffix
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if strings.EqualFold(hello.ServerName, host) {
			return device, nil
		}
		return nil, nil
	}
	return cfg
}

func (s *Server) bootstrapEndpoints() bootstrap.Endpoints {
	e := s.endpoints
	return bootstrap.Endpoints{
		AuthorityHost: e.AuthorityHost(), ManagementEndpoint: e.Management(), ManagementAudience: e.Management(),
		VaultAudience: e.VaultAudience(), StorageAudience: e.StorageAudience(), DeviceEndpoint: e.Device(),
		PortalURL: e.Portal(), CACertFile: s.caFile,
	}
}

// wire builds the token service and every surface's handler.
func (s *Server) wire(opts Options, tlsCfg *tls.Config) error {
	var err error
	s.tokens, err = token.New(token.Config{Store: s.store, Sealer: s.keyring, AuthorityHost: s.endpoints.AuthorityHost()})
	if err != nil {
		return err
	}
	if err := s.tokens.EnsureKey(context.Background()); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if err := s.newARMServices(opts.VaultClock); err != nil {
		return err
	}
	vault, err := s.newVaultHandler(opts.WithoutDataPlaneAudit)
	if err != nil {
		return err
	}
	blobHosts, err := s.newBlobHandler()
	if err != nil {
		return err
	}
	portalHandler, err := s.newPortalHandler()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := httpx.NewMetrics(reg)
	if err != nil {
		return err
	}
	hosts := &httpx.Hosts{
		Router: httpx.Router{Suffix: s.cfg.DNSSuffix},
		Login: loginapi.New(loginapi.Config{
			Tokens: s.tokens, Identities: s.identity, Tenants: s.store,
			AuthorityHost: s.endpoints.AuthorityHost(), Audiences: s.endpoints.Audiences(),
		}),
		Management: armapi.New(armapi.Config{
			Tokens: s.tokens, Principals: s.identity, RootKeys: s.keyring,
			Audience: s.endpoints.Management(), AuthorityHost: s.endpoints.AuthorityHost(),
			Endpoint: s.endpoints.Management(), RBAC: s.arm.rbac, RoleAssignments: s.arm.rbac,
			Subscriptions: s.store, Groups: s.arm.groups, Providers: s.arm.providers, Locks: s.arm.locks,
			Operations: s.arm.operations, Logger: s.log,
			Vaults: s.arm.vaults, StorageAccounts: s.arm.storage, Diagnostics: s.arm.diagnostics,
			Exists: func(ctx context.Context, id resource.ID) (bool, error) {
				if ok, err := s.arm.vaults.Exists(ctx, id); ok || err != nil {
					return ok, err
				}
				if ok, err := s.arm.edge.Exists(ctx, id); ok || err != nil {
					return ok, err
				}
				return s.arm.storage.Exists(ctx, id)
			},
			Audit: s.audit,
			Edge:  s.arm.edge, Activation: s.arm.activation, Alerts: s.arm.alerts,
		}),
		Vault:  vault,
		Blob:   blobHosts,
		Device: s.newDeviceHandler(),
		Portal: portalHandler,
		Ready:  s.store.Ping,
		Logger: s.log,
	}
	s.http = &http.Server{
		Handler: httpx.Wrap(hosts, httpx.Options{
			Logger: s.log, Metrics: metrics,
			Errors: map[httpx.Surface]httpx.ErrorWriter{httpx.Login: httpx.WriteOAuthError, httpx.Vault: kvapi.WriteError,
				httpx.Blob: blobapi.WriteError},
		}),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.MetricsListen != "" {
		s.metrics = &http.Server{
			Addr:              s.cfg.MetricsListen,
			Handler:           httpx.MetricsHandler(reg),
			ReadHeaderTimeout: 10 * time.Second,
		}
	}
	return nil
}

// close releases everything start opened, in reverse order.
func (s *Server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
