//go:build !linux

package bot

import "os/exec"

// dieWithParent: only Linux can tie a child's life to its parent.
func dieWithParent(*exec.Cmd) {}
