package server

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/sensitive"
)

// BenchmarkServerStart measures a restart on an existing data dir. Only the
// start is timed; each shutdown runs with the timer stopped.
//
// The first start, which bootstraps (argon2id hash of the admin password,
// RSA signing key, CA and server certificate), runs once before the timer.
// Every start uses the production argon2id cost, so that a restart which
// hashed a password would show (it would cost ~100 ms and 64 MiB per start).
//
//   - "ready": from calling Run to the Ready callback: database opened and
//     migrations checked, root key checked against the stored KEKs, CA and
//     server certificate loaded, listener bound, bootstrap found done,
//     signing key unsealed, handlers wired.
//   - "first-token": from calling Run to the first client-credentials token
//     received over a new TLS connection, so that work deferred to the
//     first request (SQLite read connections, TLS session set-up, the first
//     RS256 signature) is counted too.
//   - "process": from exec of a built edgevault binary ("edgevault server")
//     to its start-up summary on stdout, which adds process creation, the
//     Go runtime and package initialisation and flag parsing: what an
//     operator waits for.
func BenchmarkServerStart(b *testing.B) {
	dir := b.TempDir()
	cfg := benchConfig(b, dir)
	_, stop := serve(b, cfg, Options{})
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	boot, err := bootstrap.ReadFile(filepath.Join(dir, bootstrap.FileName))
	if err != nil {
		b.Fatal(err)
	}

	b.Run("ready", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, stop := serve(b, cfg, Options{})
			b.StopTimer()
			if err := stop(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		reportMillis(b)
	})

	b.Run("first-token", func(b *testing.B) {
		ctx := context.Background()
		sp := boot.ServicePrincipal
		for b.Loop() {
			b.StopTimer()
			hc, err := client.NewHTTPClient(client.HTTPOptions{CAFile: boot.CACertFile, OnlyCA: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			srv, stop := serve(b, cfg, Options{})
			// The port is new at every start, so the URLs come from the
			// running server rather than from bootstrap.json.
			e := srv.Endpoints()
			tc := &client.TokenClient{HTTP: hc, AuthorityHost: e.AuthorityHost(), Tenant: boot.TenantID}
			_, err = tc.ClientCredentials(ctx, sp.ClientID, sensitive.New(sp.ClientSecret), e.Management())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			hc.CloseIdleConnections()
			if err := stop(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		reportMillis(b)
	})

	b.Run("process", func(b *testing.B) {
		bin := buildEdgevault(b)
		for b.Loop() {
			cmd := exec.Command(bin, "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn")
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), "edgevault server listening on ") {
			}
			b.StopTimer()
			if sc.Err() != nil {
				b.Fatal(sc.Err())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, out) // read to EOF before Wait closes the pipe
			if err := cmd.Wait(); err != nil {
				b.Fatalf("edgevault server: %v", err)
			}
			b.StartTimer()
		}
		reportMillis(b)
	})
}

// buildEdgevault builds cmd/edgevault into a temporary directory; the
// benchmark is skipped when no go command is at hand.
func buildEdgevault(b *testing.B) string {
	b.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go command to build cmd/edgevault")
	}
	bin := filepath.Join(b.TempDir(), "edgevault")
	build := exec.Command(gocmd, "build", "-o", bin, "github.com/edgevault/edgevault/cmd/edgevault")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("go build: %v", err)
	}
	return bin
}

// reportMillis adds the mean time per operation in milliseconds, the unit
// of the start-up target.
func reportMillis(b *testing.B) {
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
}
