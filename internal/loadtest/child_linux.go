package loadtest

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel kill the child if the load tool dies, so an
// interrupted run leaves no bot behind.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
