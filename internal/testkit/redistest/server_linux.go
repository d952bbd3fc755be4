package redistest

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill redis-server if the test binary
// dies without running cleanups (e.g. a `go test -timeout` panic), so no
// orphaned servers pile up.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
