// Command edgevault is the edgevault server (`edgevault server`) and the
// operator CLI (`edgevault <noun> <verb>`).
package main

import (
	"os"

	"github.com/edgevault/edgevault/internal/cli"
	"github.com/edgevault/edgevault/internal/server"
)

func main() {
	root := cli.NewRoot()
	root.AddCommand(server.Command())
	os.Exit(cli.Execute(root))
}
