package e2e

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel SIGKILL the child server if the test
// binary dies first (a test timeout panics without running cleanups), so
// no server outlives its test holding a port and a data dir.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
