//go:build !linux

package e2e

import "os/exec"

// setParentDeathSignal is Linux-only; elsewhere test cleanups kill the
// child server.
func setParentDeathSignal(*exec.Cmd) {}
