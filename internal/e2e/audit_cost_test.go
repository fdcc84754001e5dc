package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/config"
	"github.com/edgevault/edgevault/internal/server"
)

// BenchmarkAuditCost measures what the durable audit trail costs the Key
// Vault data plane over HTTPS: secret GETs of a 1 KiB value at concurrency
// 64 against an in-process server (SQLite, bearer tokens, access log off),
// once with every request's audit record committed before the response,
// once with records dropped (server.Options.WithoutDataPlaneAudit, which
// no flag can set). Compare req/s of the two within one run.
//
//	go test -run '^$' -bench AuditCost -benchtime 6000x -count 3 ./internal/e2e/
func BenchmarkAuditCost(b *testing.B) {
	for _, mode := range []string{"on", "off"} {
		b.Run("audit="+mode, func(b *testing.B) {
			env := newInProcessLoadEnv(b, mode == "off")
			env.run(b, "GET", 64)
		})
	}
}

func newInProcessLoadEnv(b *testing.B, withoutAudit bool) *loadEnv {
	b.Helper()
	dir := b.TempDir()
	cfg := config.Config{DataDir: dir, Listen: "127.0.0.1:0", DNSSuffix: "localhost", LogFormat: "text", LogLevel: "warn"}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Options{Stdout: io.Discard, Stderr: io.Discard, Argon2: cheapArgon2,
			WithoutDataPlaneAudit: withoutAudit, Ready: func(s *server.Server) { ready <- s }})
	}()
	var srv *server.Server
	select {
	case srv = <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("server did not start: %v", err)
	}
	b.Cleanup(func() { cancel(); <-done })
	boot, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		b.Fatal(err)
	}
	hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: boot.CACertFile, OnlyCA: true})
	if err != nil {
		b.Fatal(err)
	}
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	tc := tokenClient(hc, boot)
	sp := boot.ServicePrincipal
	createLoadVault(b, hc, boot, spToken(b, tc, sp.ClientID, sp.ClientSecret, boot.ManagementAudience), "costvault")
	return &loadEnv{
		hc:       hc,
		vaultURL: "https://costvault.vault.localhost:" + strconv.Itoa(srv.Endpoints().Port),
		token:    spToken(b, tc, sp.ClientID, sp.ClientSecret, boot.VaultAudience),
		body:     `{"value":"` + strings.Repeat("v", 1024) + `","contentType":"text/plain"}`,
	}
}
