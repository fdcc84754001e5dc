package e2e

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop test schemas

	"github.com/edgevault/edgevault/internal/bootstrap"
	"github.com/edgevault/edgevault/internal/client"
	"github.com/edgevault/edgevault/internal/store/pgtest"
)

// The real binary as a child process, for the tests that must kill it.

// builtBinary is an edgevault binary, built once per test run.
type builtBinary struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

// binary is the edgevault binary; failpointBuild the one tagged failpoints.
var binary, failpointBuild builtBinary

// edgevaultBinary builds ./cmd/edgevault on first use (a few seconds) and
// returns its path. The import path resolves from this package's directory,
// which is inside the module.
func edgevaultBinary(t testing.TB) string { return buildBinary(t, &binary, "") }

// failpointBinary is edgevaultBinary built with the failpoints tag, whose
// server exits at the point EDGEVAULT_FAILPOINT names (crash tests only).
func failpointBinary(t testing.TB) string { return buildBinary(t, &failpointBuild, "failpoints") }

func buildBinary(t testing.TB, b *builtBinary, tags string) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "edgevault-e2e-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "edgevault")
		out, err := exec.Command("go", "build", "-tags", tags, "-o", b.path, "github.com/edgevault/edgevault/cmd/edgevault").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build -tags %q ./cmd/edgevault: %v\n%s", tags, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{binary.dir, failpointBuild.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// serverArgs are the flags of one `edgevault server` child process.
type serverArgs struct {
	dataDir     string
	port        int
	databaseURL string // "" for SQLite in dataDir
	// wrap, when set, runs the server through another command (e.g.
	// taskset -c 0 to pin it to one core).
	wrap []string
	// extra are more server flags.
	extra []string
	// env are more environment variables (the test's EDGEVAULT_* are not
	// passed on); failpoints selects failpointBinary.
	env        []string
	failpoints bool
}

// proc is an edgevault server running as a child process.
type proc struct {
	cmd    *exec.Cmd
	output *syncBuffer   // stdout and stderr
	exited chan struct{} // closed once the process has been reaped
	err    error         // Wait's result; read it after exited is closed
	args   serverArgs
}

// start starts `edgevault server` with a. The child gets no EDGEVAULT_*
// variables from the test's environment, so only the flags configure it.
func (a serverArgs) start(t testing.TB) *proc {
	t.Helper()
	args := []string{"server", "--data-dir", a.dataDir, "--listen", "127.0.0.1:" + strconv.Itoa(a.port), "--log-level", "warn"}
	if a.databaseURL != "" {
		args = append(args, "--database-url", a.databaseURL)
	}
	args = append(args, a.extra...)
	bin := edgevaultBinary
	if a.failpoints {
		bin = failpointBinary
	}
	cmd := exec.Command(bin(t), args...)
	if len(a.wrap) > 0 {
		cmd = exec.Command(a.wrap[0], append(append(a.wrap[1:len(a.wrap):len(a.wrap)], bin(t)), args...)...)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGEVAULT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, a.env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, output: out, exited: make(chan struct{}), args: a}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of edgevault server on port %d:\n%s", a.port, out)
		}
	})
	return p
}

// kill sends SIGKILL, as kill -9 does, and waits until the process is gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill() // ErrProcessDone when it already exited
	<-p.exited
}

// waitReady waits until the server answers /readyz with 200 on the
// management host and returns its bootstrap file and a client trusting its
// CA. Polling is the only way to learn that another process is ready; the
// deadline bounds it, and the child's early exit ends it at once.
func (p *proc) waitReady(t testing.TB) (bootstrap.File, *http.Client) {
	t.Helper()
	const timeout = 60 * time.Second
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	readyz := "https://management.localhost:" + strconv.Itoa(p.args.port) + "/readyz"
	var (
		boot bootstrap.File
		hc   *http.Client
	)
	for {
		if hc == nil {
			// bootstrap.json appears by atomic rename: a read sees all or nothing.
			if f, err := bootstrap.ReadFile(filepath.Join(p.args.dataDir, bootstrap.FileName)); err == nil {
				boot = f
				if hc, err = client.NewHTTPClient(client.HTTPOptions{CAFile: f.CACertFile, OnlyCA: true, Timeout: 30 * time.Second}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if hc != nil {
			if resp, err := hc.Get(readyz); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return boot, hc
				}
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("edgevault server exited during start-up: %v\n%s", p.err, p.output)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("edgevault server not ready after %v:\n%s", timeout, p.output)
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1, below the ephemeral port
// ranges (Linux 32768–60999, IANA 49152–65535). The restarted server must
// listen on the same port as before the kill (the port is part of the
// token issuer and of bootstrap.json), and a port outside those ranges
// cannot be taken meanwhile as some connection's source port.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + mrand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// postgresURL returns a URL for a fresh schema in the database that
// EDGEVAULT_TEST_POSTGRES_URL names (as internal/store's tests do), and
// drops the schema when the test ends. It skips the test when the variable
// is unset.
func postgresURL(t testing.TB) string { return pgtest.URL(t) }

func readBootstrapBytes(t *testing.T, dataDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, bootstrap.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
