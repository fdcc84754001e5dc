// Command edgevault-agent is the appliance side of edgevault (DESIGN §2,
// §5.2–5.3): it keeps the device's own secrets, activates with an
// activation key, holds the device certificate and the channel integrity
// key, pushes secrets to the vault when asked, receives secrets sent to
// it, heartbeats, and serves the appliance's local web UI on loopback.
//
// This file only parses flags; internal/agent does the work. The agent
// must never import server-side packages (internal/deps_test.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/edgevault/edgevault/internal/agent"
)

const usage = `edgevault-agent is the appliance side of edgevault: it keeps the device's
secrets, activates with an activation key, escrows its secrets in the key vault
and receives the secrets sent to it.

Usage:
  edgevault-agent <command> [flags]

Commands:
  init       create the appliance's state and device secrets
  activate   activate this appliance with an activation key
  run        run the agent: heartbeat, sync secrets, serve the local UI
  status     show activation and sync status (secret names, never values)

Run "edgevault-agent <command> -h" for a command's flags.

Flags:
  -h, --help   show this help
`

const defaultDataDir = "edgevault-agent-data"

// commands maps each command to its usage and its function.
var commands = map[string]struct {
	usage string
	run   func(ctx context.Context, fs *flag.FlagSet, args []string, io stdio) error
}{
	"init":     {initUsage, runInit},
	"activate": {activateUsage, runActivate},
	"run":      {runUsage, runRun},
	"status":   {statusUsage, runStatus},
}

// stdio is the process's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// errUsage marks an error in the command line (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

// run returns the exit code: 0 for success and help, 1 for a failed
// command, 2 for a bad command line.
func run(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 {
		fmt.Fprint(s.err, usage)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(s.out, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(s.err, "ERROR: unknown command %q\n\n%s", name, usage)
		return 2
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := cmd.run(ctx, fs, args[1:], s)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(s.out, cmd.usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(s.err, "ERROR: %v\n\n%s", strings.TrimPrefix(err.Error(), "usage: "), cmd.usage)
		return 2
	}
	fmt.Fprintf(s.err, "ERROR: %v\n", err)
	return 1
}

// parse parses a command's flags; a bad flag or a stray argument is a
// usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func usageErr(msg string) error { return fmt.Errorf("%w: %s", errUsage, msg) }

const initUsage = `Usage:
  edgevault-agent init --serial SERIAL [--data-dir DIR] [--secret NAME=@PATH]...

Creates a simulated appliance: its serial number and its device secrets
(SystemVolumeBitLockerRecoveryKey, HcsDataVolumeBitLockerExternalKey,
HcsInternalVolumeBitLockerExternalKey, BMCDefaultUserPassword), generated at
random unless read from a file with --secret. The state is kept in
DIR/agent-state.json (mode 0600). An existing state file is never overwritten.

Flags:
  --serial SERIAL       the device serial number: 1-64 letters, digits and '-'
  --data-dir DIR        the agent's data directory (default ./edgevault-agent-data)
  --secret NAME=@PATH   read secret NAME from file PATH (one trailing newline is
                        dropped); NAME is one of the secrets above or another
                        PascalCase name of letters and digits; repeatable
`

func runInit(_ context.Context, fs *flag.FlagSet, args []string, s stdio) error {
	dir := fs.String("data-dir", defaultDataDir, "")
	serial := fs.String("serial", "", "")
	supplied := map[string][]byte{}
	fs.Func("secret", "", func(v string) error {
		name, path, err := agent.ParseSecretFlag(v)
		if err != nil {
			return err
		}
		if _, dup := supplied[name]; dup {
			return fmt.Errorf("secret %s given twice", name)
		}
		b, err := agent.ReadSecretFile(path)
		if err != nil {
			return fmt.Errorf("secret %s: %w", name, err)
		}
		supplied[name] = b
		return nil
	})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *serial == "" {
		return usageErr("--serial is required")
	}
	names, err := agent.Init(*dir, *serial, supplied)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Initialised appliance %s in %s with secrets: %s\n", *serial, *dir, strings.Join(names, ", "))
	fmt.Fprintf(s.out, "Next: edgevault-agent activate --data-dir %s --key-file KEYFILE\n", *dir)
	return nil
}

const activateUsage = `Usage:
  edgevault-agent activate [--data-dir DIR] (--key-file FILE | --key - | --key KEY) [--force]

Activates the appliance with an activation key (from the portal, or from
"edgevault edge activation-key generate"). The server is trusted only if its
CA matches the key's fingerprint. If the answer is lost, run the same command
again: the appliance keeps its keys and the server answers again.

Flags:
  --data-dir DIR    the agent's data directory (default ./edgevault-agent-data)
  --key-file FILE   read the activation key from FILE
  --key -           read the activation key from standard input
  --key KEY         the activation key itself (other users can see it in the
                    process list: prefer --key-file or --key -)
  --force           activate an already activated appliance again, with new keys
  --timeout D       give up after D (default 2m)
`

func runActivate(ctx context.Context, fs *flag.FlagSet, args []string, s stdio) error {
	dir := fs.String("data-dir", defaultDataDir, "")
	keyArg := fs.String("key", "", "")
	keyFile := fs.String("key-file", "", "")
	force := fs.Bool("force", false, "")
	timeout := fs.Duration("timeout", 2*time.Minute, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	var key string
	switch {
	case *keyArg != "" && *keyFile != "":
		return usageErr("give either --key or --key-file, not both")
	case *keyArg == "-":
		b, err := io.ReadAll(io.LimitReader(s.in, 64<<10))
		if err != nil {
			return fmt.Errorf("read the activation key from standard input: %w", err)
		}
		key = string(b)
	case *keyArg != "":
		key = *keyArg
	case *keyFile != "":
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("read the activation key: %w", err)
		}
		key = string(b)
	default:
		return usageErr("an activation key is required: --key-file FILE, --key - or --key KEY")
	}
	a, err := agent.Open(agent.Config{DataDir: *dir})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := a.Activate(ctx, key, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Activated: this appliance is %s\n", res.ResourceID)
	if res.VaultURI != "" {
		fmt.Fprintf(s.out, "Its secrets are escrowed in %s (channel integrity key %s).\n", res.VaultURI, res.CIKName)
	}
	fmt.Fprintf(s.out, "Next: edgevault-agent run --data-dir %s\n", *dir)
	return nil
}

const runUsage = `Usage:
  edgevault-agent run [--data-dir DIR] [--ui 127.0.0.1:PORT] [--heartbeat 10s]

Runs the agent until interrupted (SIGINT, SIGTERM): heartbeats over mTLS,
pushes the device secrets after activation and whenever the service asks for
a sync, and stores the customer secrets sent to the device. Without
activation it needs --ui, whose activation page then takes the key.

Flags:
  --data-dir DIR       the agent's data directory (default ./edgevault-agent-data)
  --ui ADDR            serve the local web UI (status, activation) on ADDR,
                       a loopback address such as 127.0.0.1:8080
  --heartbeat D        the heartbeat interval (default 10s)
  --log-format F       text or json (default text)
`

func runRun(ctx context.Context, fs *flag.FlagSet, args []string, s stdio) error {
	dir := fs.String("data-dir", defaultDataDir, "")
	ui := fs.String("ui", "", "")
	heartbeat := fs.Duration("heartbeat", agent.DefaultHeartbeat, "")
	logFormat := fs.String("log-format", "text", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *heartbeat < time.Second {
		return usageErr("--heartbeat must be at least 1s")
	}
	if *ui != "" {
		if err := agent.CheckUIAddr(*ui); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(s.err, nil)
	case "json":
		h = slog.NewJSONHandler(s.err, nil)
	default:
		return usageErr("--log-format must be text or json")
	}
	a, err := agent.Open(agent.Config{DataDir: *dir, Logger: slog.New(h), SoftwareVersion: version()})
	if err != nil {
		return err
	}
	return a.Run(ctx, agent.RunOptions{Heartbeat: *heartbeat, UIAddr: *ui})
}

const statusUsage = `Usage:
  edgevault-agent status [--data-dir DIR] [-o table|json]

Shows the activation state, resource id, device API, last sync, and the names
(never the values) of the device's secrets and of the customer secrets it has
received.

Flags:
  --data-dir DIR   the agent's data directory (default ./edgevault-agent-data)
  -o FORMAT        table (default) or json
`

func runStatus(_ context.Context, fs *flag.FlagSet, args []string, s stdio) error {
	dir := fs.String("data-dir", defaultDataDir, "")
	out := fs.String("o", "table", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out != "table" && *out != "json" {
		return usageErr("-o must be table or json")
	}
	a, err := agent.Open(agent.Config{DataDir: *dir})
	if err != nil {
		return err
	}
	return agent.WriteStatus(s.out, a.Status(), *out)
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
