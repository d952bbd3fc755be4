package app

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"putokaz/internal/loadtest"
)

// TestLoadtestCommand builds the binary and runs `putokaz loadtest` briefly
// as a user would: both systems start as child processes (a real `putokaz
// serve` and the go-telegram/bot baseline) against real Redis, users get
// every reply exactly once, and the JSON report carries both results and
// their ratio.
func TestLoadtestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	bin := buildPutokaz(t)
	cmd := exec.Command(bin, "loadtest", "--users", "5", "--duration", "2s", "--json", "--redis", redistestURL())
	cmd.Dir = t.TempDir() // no config.yaml: the defaults, the built-in content
	cmd.Env = append(os.Environ(), "REDIS_URL=", "TELEGRAM_TOKEN=", "CONTENT_DIR=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("putokaz loadtest: %v\n%s", err, stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Results) != 2 || rep.Ratio == nil {
		t.Fatalf("want ours and the baseline with a ratio, got %d results\n%s", len(rep.Results), stdout.String())
	}
	for _, r := range rep.Results {
		if r.CPUPer1kSteps <= 0 || r.ToolCPUPer1kSteps <= 0 {
			t.Errorf("%s: CPU per 1000 steps not measured: bot %v, load tool %v", r.Name, r.CPUPer1kSteps, r.ToolCPUPer1kSteps)
		}
		if r.Steps < 10 || r.Lost != 0 || r.Duplicated != 0 || r.Undelivered != 0 || r.ErrorCount() != 0 {
			t.Errorf("%s: %d steps, lost %d, duplicated %d, undelivered %d, errors %v", r.Name, r.Steps, r.Lost,
				r.Duplicated, r.Undelivered, r.Errors)
		}
	}
	if !strings.HasPrefix(rep.Results[0].Name, "ours (putokaz serve") {
		t.Errorf("first result %q, want ours", rep.Results[0].Name)
	}
	if !strings.Contains(stderr.String(), "deleted") {
		t.Errorf("the run's Redis keys were not cleaned up:\n%s", stderr.String())
	}
}
