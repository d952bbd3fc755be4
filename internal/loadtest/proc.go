package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sample is one memory reading of the system under test.
type Sample struct {
	// At is seconds since the start of the measured window.
	At float64 `json:"at_s"`
	// RSSMiB is VmRSS from /proc/<pid>/status.
	RSSMiB float64 `json:"rss_mib"`
	// HeapMiB (go_memstats_heap_inuse_bytes) and Goroutines (go_goroutines)
	// come from the system's /metrics; 0 when it has none.
	HeapMiB    float64 `json:"heap_inuse_mib,omitempty"`
	Goroutines int     `json:"goroutines,omitempty"`
}

// sampler reads memory figures of the instance at the start, every period
// (if > 0) and at the end.
type sampler struct {
	in     *Instance
	period time.Duration
	client *http.Client

	mu    sync.Mutex
	t0    time.Time
	out   []Sample
	quit  chan struct{}
	wg    sync.WaitGroup
	valid bool
}

func newSampler(in *Instance, period time.Duration) *sampler {
	return &sampler{in: in, period: period, client: &http.Client{Timeout: 5 * time.Second}, quit: make(chan struct{})}
}

func (s *sampler) start() {
	s.valid = s.in.PID != 0 || s.in.BaseURL != ""
	if !s.valid {
		return
	}
	s.t0 = time.Now()
	s.take()
	if s.period <= 0 {
		return
	}
	s.wg.Go(func() {
		t := time.NewTicker(s.period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.take()
			case <-s.quit:
				return
			}
		}
	})
}

func (s *sampler) stop() {
	if !s.valid {
		return
	}
	close(s.quit)
	s.wg.Wait()
	s.take()
}

func (s *sampler) take() {
	smp := Sample{At: time.Since(s.t0).Seconds()}
	if s.in.PID != 0 {
		if kb, err := procStatusKB(s.in.PID, "VmRSS"); err == nil {
			smp.RSSMiB = float64(kb) / 1024
		}
	}
	if s.in.BaseURL != "" {
		m := scrapeMetrics(s.client, s.in.BaseURL+"/metrics", "go_memstats_heap_inuse_bytes", "go_goroutines")
		smp.HeapMiB = m["go_memstats_heap_inuse_bytes"] / (1 << 20)
		smp.Goroutines = int(m["go_goroutines"])
	}
	s.mu.Lock()
	s.out = append(s.out, smp)
	s.mu.Unlock()
}

func (s *sampler) samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.out...)
}

// procStatusKB reads a "Name: N kB" line of /proc/<pid>/status.
func procStatusKB(pid int, name string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// procCPU is the user+system CPU time of pid (0 for pid 0).
func procCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// scrapeMetrics reads the named unlabelled series of a Prometheus text page.
func scrapeMetrics(c *http.Client, url string, names ...string) map[string]float64 {
	out := map[string]float64{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out
	}
	resp, err := c.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return out
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out
}
