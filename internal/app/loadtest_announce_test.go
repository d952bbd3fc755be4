package app

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"putokaz/internal/loadtest"
)

var builtBinary struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// TestMain removes the binary buildPutokaz built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}

// buildPutokaz builds the binary once for the package's tests, with the
// load tool (-tags loadtest) that they run.
func buildPutokaz(t *testing.T) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "putokaz-app-test-")
		if b.err == nil {
			b.out, b.err = exec.Command("go", "build", "-tags", "loadtest", "-o", filepath.Join(b.dir, "putokaz"), "putokaz").CombinedOutput()
		}
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return filepath.Join(b.dir, "putokaz")
}

// `putokaz loadtest --announce` as a user runs it, briefly: serve as a
// child with its default limits, the update queued through announce.Queue,
// everyone subscribed gets it once, and the Redis keys are cleaned up.
func TestLoadtestAnnounceCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs putokaz serve")
	}
	bin := buildPutokaz(t)
	cmd := exec.Command(bin, "loadtest", "--announce", "60", "--users", "5", "--think", "1s", "--duration", "4s",
		"--json", "--redis", redistestURL())
	cmd.Dir = t.TempDir() // no config.yaml: the defaults, the built-in content
	cmd.Env = append(os.Environ(), "REDIS_URL=", "TELEGRAM_TOKEN=", "CONTENT_DIR=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("putokaz loadtest --announce: %v\n%s", err, stderr.String())
	}
	var res loadtest.AnnounceResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Reached != 60 || res.Duplicated != 0 || res.Missing != 0 || res.Worker.Sent != 60 || res.Worker.Unknown != 0 {
		t.Errorf("reached %d of 60, %d duplicated, %d missing; queue %+v", res.Reached, res.Duplicated, res.Missing, res.Worker)
	}
	if !strings.Contains(res.Name, "rate_limits telegram, announce.rate 30") || res.Rounds != 2 || res.Users != 5 {
		t.Errorf("ran %q, %d rounds, %d users; want serve's defaults, 2 rounds, 5 users", res.Name, res.Rounds, res.Users)
	}
	if res.Quiet.Steps == 0 || res.Sending.Steps == 0 || res.Quiet.Lost+res.Sending.Lost != 0 {
		t.Errorf("conversations: %+v / %+v", res.Quiet, res.Sending)
	}
	if res.Machine.CPUs == 0 || !strings.HasPrefix(res.Command, "putokaz loadtest --announce 60") {
		t.Errorf("report without machine or command: %+v, %q", res.Machine, res.Command)
	}
	// The saved JSON prints as the text report.
	saved := filepath.Join(t.TempDir(), "announce.json")
	if err := os.WriteFile(saved, stdout.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(bin, "loadtest", "--report", saved).CombinedOutput()
	if err != nil || !strings.Contains(string(text), "60 of 60 subscribers reached, 0 duplicated, 0 missing") ||
		!strings.Contains(string(text), "lane emergency") {
		t.Errorf("--report of the saved JSON: %v\n%s", err, text)
	}
	if !strings.Contains(stderr.String(), "deleted") {
		t.Errorf("the run's Redis keys were not cleaned up:\n%s", stderr.String())
	}
}
