package proctest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the child if the test binary dies
// without running its cleanups (a -timeout panic).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
