package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Child describes a system under test run as a child process, configured
// through the environment like `putokaz serve`.
type Child struct {
	Name string
	// Path and Args run the process (e.g. os.Executable() and "serve").
	Path string
	Args []string
	// Env is added to this process's environment (KEY=VALUE); the Telegram
	// variables (TELEGRAM_TOKEN, TELEGRAM_API_URL, TELEGRAM_WEBHOOK_URL,
	// TELEGRAM_WEBHOOK_SECRET) and LISTEN_ADDR are set by Start.
	Env []string
	// Sync: see Instance.Sync.
	Sync bool
	// Output receives the child's stdout and stderr (nil: kept only for
	// error messages).
	Output io.Writer
}

// telegramVars are replaced in the inherited environment.
var telegramVars = []string{"TELEGRAM_TOKEN", "TELEGRAM_API_URL", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET",
	"LISTEN_ADDR"}

// Target runs the child for a load test.
func (c Child) Target() Target {
	return Target{Name: c.Name, Start: c.start}
}

func (c Child) start(ctx context.Context, env Env) (*Instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	url := "http://" + addr + env.WebhookPath
	vars := []string{
		"TELEGRAM_TOKEN=" + env.Token,
		"TELEGRAM_API_URL=" + env.APIURL,
		"TELEGRAM_WEBHOOK_URL=" + url,
		"TELEGRAM_WEBHOOK_SECRET=" + env.Secret,
		"LISTEN_ADDR=" + addr,
	}
	drop := map[string]bool{}
	for _, k := range append(keysOf(c.Env), telegramVars...) {
		drop[k] = true
	}
	var environ []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			environ = append(environ, kv)
		}
	}
	// Not exec.CommandContext: the child gets SIGTERM and time to drain
	// in Stop, not SIGKILL when ctx ends.
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(append(environ, c.Env...), vars...)
	tail := &tailBuffer{max: 16 << 10}
	out := io.Writer(tail)
	if c.Output != nil {
		out = io.MultiWriter(tail, c.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Path, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				stopErr = errors.New("did not stop within 30s of SIGTERM; killed")
				return
			}
			var ee *exec.ExitError
			if errors.As(waitErr, &ee) && !ee.Exited() {
				return // ended by our signal
			}
			if waitErr != nil {
				stopErr = fmt.Errorf("%w; last output:\n%s", waitErr, tail.String())
			}
		})
		return stopErr
	}
	in := &Instance{WebhookURL: url, PID: cmd.Process.Pid, BaseURL: "http://" + addr, Sync: c.Sync, Stop: stop}
	if err := waitHealthy(ctx, in.BaseURL+"/healthz", exited, 30*time.Second); err != nil {
		_ = stop()
		return nil, fmt.Errorf("%w; its output:\n%s", err, tail.String())
	}
	return in, nil
}

func keysOf(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	return out
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// waitHealthy polls url until it answers 200, the process exits or timeout.
func waitHealthy(ctx context.Context, url string, exited <-chan struct{}, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %v", url, timeout)
		}
		select {
		case <-exited:
			return errors.New("the process exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
