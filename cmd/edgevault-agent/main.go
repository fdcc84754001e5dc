// Command edgevault-agent is the appliance side of edgevault: it will keep
// the device's own secrets, activate with an activation key, hold the device
// certificate and channel integrity key, and sync secrets with the server
// (DESIGN §2, §5). This is a placeholder that prints its future usage; it
// must never import server-side packages.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `edgevault-agent is the appliance side of edgevault.

Usage:
  edgevault-agent <command> [flags]

Commands (not implemented yet):
  init       create the agent's local state and device secrets
  activate   activate this device with an activation key
  run        run the agent: heartbeat, sync secrets, serve the local UI
  status     show activation and sync status

Flags:
  -h, --help   show this help
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run returns the exit code: 0 for help, 1 for a command that is not
// implemented yet, 2 for no or an unknown command.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "init", "activate", "run", "status":
		fmt.Fprintf(stderr, "ERROR: %q is not implemented yet\n", args[0])
		return 1
	default:
		fmt.Fprintf(stderr, "ERROR: unknown command %q\n\n%s", args[0], usage)
	}
	return 2
}
