// Package proctest runs a copy of the test binary as a child process that a
// test can really kill (SIGKILL), for crash tests of a server: the child
// runs the test binary's TestMain, which sees its environment variable and
// serves instead of running tests.
//
//	func TestMain(m *testing.M) {
//		if v := os.Getenv(childEnv); v != "" {
//			os.Exit(proctest.Serve(handlerFor(v)))
//		}
//		os.Exit(m.Run())
//	}
//
// and in a test, proctest.Start(t, childEnv+"=...") gives its address.
package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"putokaz/internal/testkit/testlog"
)

// Child is a running copy of the test binary.
type Child struct {
	// Addr is host:port the child serves on.
	Addr string
	// Out holds the child's standard error (its log).
	Out *testlog.Buffer
	cmd *exec.Cmd
}

// Start runs the test binary again (no tests: -test.run=^$) with env added
// to this process's environment, and waits for the line "listening
// <addr>" that Serve prints. The child is killed when the test ends, and
// by the kernel if the test binary dies first (Linux), so no orphan keeps
// serving.
func Start(t testing.TB, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out := &testlog.Buffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: start the child: %v", err)
	}
	c := &Child{cmd: cmd, Out: out}
	t.Cleanup(c.Kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("proctest: the child did not start: %q %v; its output:\n%s", line, err, out.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	c.Addr = addr
	return c
}

// Kill kills the child with SIGKILL (no cleanup, no draining: a crash) and
// waits for it to exit. Killing a dead child does nothing.
func (c *Child) Kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill() // SIGKILL
	_ = c.cmd.Wait()
}

// Serve is the child's side: it serves h on a free loopback port, prints
// "listening <addr>" for Start and returns only if serving fails (the
// child's exit code).
func Serve(h http.Handler) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Fail(err)
	}
	fmt.Println("listening", ln.Addr().String())
	err = http.Serve(ln, h)
	if errors.Is(err, http.ErrServerClosed) {
		return 0
	}
	return Fail(err)
}

// Fail reports why the child could not serve, for Start's failure message,
// and returns the child's exit code.
func Fail(err error) int {
	fmt.Fprintln(os.Stderr, "child:", err)
	return 2
}
