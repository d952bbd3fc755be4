//go:build !linux

package redistest

import "os/exec"

// setParentDeathSignal is Linux-only; elsewhere cleanup relies on t.Cleanup.
func setParentDeathSignal(*exec.Cmd) {}
