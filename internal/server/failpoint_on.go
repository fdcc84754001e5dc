//go:build failpoints

package server

import (
	"fmt"
	"os"
)

// Builds tagged failpoints (crash tests only, never a release) exit the
// process with status 3, as a crash would, when the activation operation
// reaches the point named by EDGEVAULT_FAILPOINT (e.g. "CreateKeyVault" or
// "CreateKeyVault/done"; see activation.Config.Failpoint).
func init() {
	want := os.Getenv("EDGEVAULT_FAILPOINT")
	if want == "" {
		return
	}
	failpoint = func(point string) {
		if point == want {
			fmt.Fprintf(os.Stderr, "edgevault: failpoint %s reached; exiting\n", point)
			os.Exit(3)
		}
	}
}
