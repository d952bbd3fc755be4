package bot

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the child bot if the test binary dies
// without running its cleanups (a -timeout panic), so no orphan keeps
// serving and beating its heartbeat.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
