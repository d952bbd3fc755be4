package announce

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
)

// The kill -9 measurement: a sending process (this test binary, run again
// as a child) sends an update to N subscribers through a fake Bot API; it
// is killed with SIGKILL half-way and a new one takes over. Small by
// default (a test); the README's numbers come from
//
//	go test ./internal/announce -run TestKillNineMidSend -v -measure.n 100000 -measure.rate 1000
var (
	measureN    = flag.Int("measure.n", 2000, "subscribers of the kill -9 measurement")
	measureRate = flag.Int("measure.rate", 1000, "messages per second of the kill -9 measurement")
)

const childEnv = "PUTOKAZ_ANNOUNCE_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what the sending child needs.
type childSpec struct {
	RedisURL, Prefix, ID, API string
	N, Rate                   int
}

// runChild is a sending process: a worker whose subscribers are the N
// people of the measurement and whose deliverer posts to the fake Bot API.
func runChild(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts, err := redis.ParseURL(s.RedisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	q := NewQueue(redis.NewClient(opts), keys.New(s.Prefix), 2)
	w := &Worker{Queue: q, Subscribers: synthSubs{n: s.N}, Deliverer: &httpDeliverer{api: s.API, c: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 512}}}, Rate: float64(s.Rate), LeaseTTL: 2 * time.Second, Poll: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if err := w.Once(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		st, err := q.Status(ctx, s.ID)
		if err == nil && st.State.Terminal() {
			return 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 1
}

// synthSubs are the n subscribers of subscribe(), made up page by page as
// a store in Redis would hand them out, so the child's memory is the
// sender's own.
type synthSubs struct{ n int }

var synthLangs = []string{"en", "sr-Cyrl", "sr-Latn", "ar", "fa"}

func (s synthSubs) Count(_ context.Context, topic, lang string) (int, error) {
	i := slices.Index(synthLangs, lang)
	if topic != "shelter" || i < 0 || i >= s.n {
		return 0, nil
	}
	return (s.n - i + len(synthLangs) - 1) / len(synthLangs), nil
}

func (s synthSubs) Page(_ context.Context, topic, lang, cursor string, n int) ([]string, string, error) {
	li := slices.Index(synthLangs, lang)
	if topic != "shelter" || li < 0 {
		return nil, "", nil
	}
	from, _ := strconv.Atoi(cursor) // the index among this language's people
	var out []string
	for j := from; j < from+n; j++ {
		i := li + j*len(synthLangs)
		if i >= s.n {
			return out, "", nil
		}
		out = append(out, fmt.Sprintf("tg:%d", 1000+i))
	}
	return out, strconv.Itoa(from + n), nil
}

func (synthSubs) Remove(context.Context, string, string) error { return nil }

// httpDeliverer posts sendMessage to a Bot API.
type httpDeliverer struct {
	api string
	c   *http.Client
}

func (d *httpDeliverer) Deliver(ctx context.Context, user, text string, ready func() error) error {
	if err := ready(); err != nil {
		return err
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(user, "tg:"), 10, 64)
	body, _ := json.Marshal(map[string]any{"chat_id": id, "text": text, "parse_mode": "HTML"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.api+"/bot"+botapitest.DefaultToken+"/sendMessage", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("sendMessage: %d", resp.StatusCode)
	}
	return nil
}

// TestKillNineMidSend: nobody receives the update twice across a SIGKILL
// of the sending process half-way and a new process taking over; what is
// not received is at most what the killed process was sending (its request
// to the Bot API out, or about to go), and the record counts it as unknown;
// what it had claimed and not sent, the next process sends. It also measures the rate and the sender's
// memory.
func TestKillNineMidSend(t *testing.T) {
	_, k := redistest.New(t)
	n, rateWant := *measureN, *measureRate
	var mu sync.Mutex
	got := make(map[int64]int, n)
	var times []time.Time
	api := botapitest.NewServer(botapitest.Options{NoLog: true, OnCall: func(c botapitest.Call) {
		if c.Method != "sendMessage" {
			return
		}
		mu.Lock()
		got[c.ChatID]++
		times = append(times, time.Now())
		mu.Unlock()
	}})
	defer api.Close()
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(times)
	}
	q := NewQueue(newClient(t), k, 2)
	queueApproved(t, q, "m1", time.Now().Add(time.Hour))
	spec, _ := json.Marshal(childSpec{RedisURL: redisURL(), Prefix: k.Prefix(), ID: "m1", API: api.URL(), N: n, Rate: rateWant})

	start := func() (*exec.Cmd, *memSampler) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, sampleMemory(cmd.Process.Pid)
	}
	first, mem1 := start()
	deadline := time.Now().Add(time.Duration(n/rateWant+60) * time.Second)
	for received() < n/2 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("the first sender sent %d of %d", received(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	mem1.stop()
	killedAt := received()
	killTime := time.Now()
	second, mem2 := start()
	err := second.Wait()
	mem2.stop()
	if err != nil {
		t.Fatalf("the second sender: %v", err)
	}
	st, err := q.Status(t.Context(), "m1")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	dup := 0
	for _, c := range got {
		if c > 1 {
			dup++
		}
	}
	missing := n - len(got)
	inFlight := min(max(rateWant/5, 1), 256)
	if dup != 0 || st.State != StateDone || st.Unknown > inFlight || st.Unknown < missing ||
		st.Sent+st.Unknown+st.Failed != n {
		t.Fatalf("%d people received it twice, %d never (in flight at most %d); record %+v", dup, missing, inFlight, st)
	}
	// The rate of each process, steady: from one second after its first
	// message (connections made, the runtime warm) to the kill, and to its
	// last message.
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	after := times[killedAt:]
	if len(after) < 2 {
		t.Fatalf("the second sender sent %d; use more subscribers", len(after))
	}
	r1, r2 := steadyRate(times[:killedAt]), steadyRate(after)
	overall := float64(len(times)) / (times[len(times)-1].Sub(times[0]).Seconds())
	t.Logf("%d subscribers at %d/s: killed after %d; %d received twice, %d never received (%d in flight allowed), record: sent %d, unknown %d",
		n, rateWant, killedAt, dup, missing, inFlight, st.Sent, st.Unknown)
	t.Logf("rate: %.1f/s before the kill, %.1f/s after (configured %d/s); takeover gap %.1fs; %.1f/s from first to last message, gap included",
		r1, r2, rateWant, after[0].Sub(killTime).Seconds(), overall)
	t.Logf("sender RSS: first %s, second %s", mem1, mem2)
	if n >= 10000 { // a measurement, not the quick test (which may run under -race)
		for _, r := range []float64{r1, r2} {
			if r > float64(rateWant)*1.05 || r < float64(rateWant)*0.95 {
				t.Errorf("rate %.1f/s is not within 5%% of %d/s", r, rateWant)
			}
		}
	}
}

// memSampler samples a process's resident memory twice a second.
type memSampler struct {
	mu      sync.Mutex
	samples []int // kB
	done    chan struct{}
	wg      sync.WaitGroup
}

func sampleMemory(pid int) *memSampler {
	m := &memSampler{done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
			}
			data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
					kb, _ := strconv.Atoi(f[1])
					m.mu.Lock()
					m.samples = append(m.samples, kb)
					m.mu.Unlock()
				}
			}
		}
	}()
	return m
}

func (m *memSampler) stop() { close(m.done); m.wg.Wait() }

// String: the samples at every tenth of the run, and the largest, in MB.
func (m *memSampler) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return "(no samples)"
	}
	var at []string
	for i := 0; i <= 10; i++ {
		at = append(at, fmt.Sprintf("%.0f", float64(m.samples[min(i*len(m.samples)/10, len(m.samples)-1)])/1024))
	}
	return fmt.Sprintf("%d samples, MB at each tenth: %s; max %.1f MB", len(m.samples), strings.Join(at, " "),
		float64(slices.Max(m.samples))/1024)
}

func redisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return redistest.DefaultURL
}

// steadyRate is messages per second from one second after the first to the
// last (or over everything when that is too short).
func steadyRate(ts []time.Time) float64 {
	from := 0
	for from < len(ts)-2 && ts[from].Sub(ts[0]) < time.Second {
		from++
	}
	if ts[len(ts)-1].Sub(ts[from]) < time.Second {
		from = 0
	}
	return float64(len(ts)-1-from) / ts[len(ts)-1].Sub(ts[from]).Seconds()
}
