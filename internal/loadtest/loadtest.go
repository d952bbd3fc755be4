// Package loadtest drives simulated Telegram users against a webhook bot and
// measures, for every step, the time from the user's tap to the bot's reply
// reaching the (fake) Bot API. It is the engine of `putokaz loadtest`.
//
// One run of a Target:
//
//   - a fake Bot API (botapitest) that answers every call of the bot with a
//     real-shaped answer, watched by a recorder that notes each call's
//     arrival time and files each sendMessage (text, inline keyboard) in a
//     mailbox per chat before the bot gets its answer (recorder.go);
//   - the system under test, started by the Target (a child process or an
//     in-process server) with the fake as its Bot API;
//   - Options.Users simulated people (user.go), each in its own private chat:
//     /start, choose a language, press random buttons of the last message
//     they got, sometimes type a keyword or a command. Each step is one
//     webhook POST (at most MaxConnections at once, like Telegram); a POST
//     answered with something other than 200 is delivered again, as Telegram
//     does. The user waits for the reply before the next step.
//
// A reply is "lost" when a step got no message within Options.Timeout, and
// "duplicated" when a message came that no step was waiting for (after the
// step was complete, or for a re-delivered update that had been handled).
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/bot/botapitest"
	"putokaz/internal/backoff"
)

// Options shape the simulated load. Zero values take the defaults in brackets.
type Options struct {
	// Users is the number of simulated people, all active at once [100].
	Users int
	// Duration is how long users start new steps [60s]; steps in flight at
	// the end are finished (bounded by Timeout).
	Duration time.Duration
	// Think is the mean pause of a user between seeing a reply and the next
	// tap (uniform in [Think/2, 3·Think/2]); 0 means tap at once (closed loop,
	// the most load Users people can produce) [0].
	Think time.Duration
	// Timeout bounds one step: delivery of the update (with re-deliveries)
	// and the wait for its reply [30s].
	Timeout time.Duration
	// MaxConnections caps concurrent webhook POSTs, as Telegram does with the
	// webhook's max_connections; negative means no cap [0: what the bot
	// registered with setWebhook, else Telegram's default, 40].
	MaxConnections int
	// MaxDeliveries is how often one update is POSTed before the user gives
	// up on it (Telegram keeps trying much longer) [8].
	MaxDeliveries int
	// Redeliver is the probability that a handled update is POSTed once more
	// (Telegram re-sending after a lost 200); its reply, if any, counts as a
	// duplicate [0].
	Redeliver float64
	// APILatency is added by the fake Bot API to every answer [0].
	APILatency time.Duration
	// Rounds cuts Duration into slices alternating between the targets of
	// RunAll [1: each target for the whole Duration, one after the other].
	Rounds int
	// SampleEvery is the period of memory samples of the system under test
	// (RSS from /proc, Go heap and goroutines from /metrics when it has
	// them); 0 samples only at the start and the end.
	SampleEvery time.Duration
	// Redis, when set, is asked for its CPU time (INFO cpu) at the start and
	// the end of the window. Other clients of the same server count too.
	Redis redis.UniversalClient
	// Emergency is the probability that a step types an emergency word
	// ("help", "police", ...) whose answer goes in the sender's emergency
	// lane; such steps are measured apart (RunAnnounce) [0].
	Emergency float64
	// Seed makes the users' choices reproducible (0: random; the seed used
	// is in the Result).
	Seed uint64
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.Users <= 0 {
		o.Users = 100
	}
	if o.Duration <= 0 {
		o.Duration = 60 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 8
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Env is what a Target is given to start the system under test.
type Env struct {
	// APIURL is the Bot API base URL (the fake) and Token the bot token
	// it accepts.
	APIURL, Token string
	// WebhookPath is the path of the webhook the bot must serve and register
	// with setWebhook (on 127.0.0.1 and a port of its choice); Secret is
	// its secret_token.
	WebhookPath, Secret string
}

// Instance is a running system under test.
type Instance struct {
	// WebhookURL is where updates are POSTed; the bot must register it with
	// setWebhook before it counts as started.
	WebhookURL string
	// PID is the process to sample (RSS, CPU time); 0 for in-process
	// servers, which are not sampled.
	PID int
	// BaseURL is the system's HTTP root for /metrics ("" if
	// it has none).
	BaseURL string
	// Sync is true when the webhook answers only after the update is
	// handled, so every reply has arrived when the POST returns; false for a
	// handler that answers first and handles later (go-telegram/bot).
	Sync bool
	// Stop ends the system and waits for it.
	Stop func() error
}

// Target names and starts a system under test.
type Target struct {
	Name  string
	Start func(ctx context.Context, env Env) (*Instance, error)
}

// Run starts a fake Bot API and the target, drives the users for
// Options.Duration and returns what was measured.
func Run(ctx context.Context, t Target, opts Options) (*Result, error) {
	res, err := RunAll(ctx, []Target{t}, opts)
	if len(res) == 0 {
		return nil, err
	}
	return res[0], err
}

// RunAll measures several targets on the same machine. Each gets its own fake
// Bot API, recorder and users, and is started before any is measured. With
// Options.Rounds > 1 the window of each target is cut into that many slices
// that alternate between the targets (A B A B ...), so that whatever else
// the machine is doing falls on all of them alike; users keep their
// conversations across slices. Results are in the order of targets (partial
// results with an error when a start fails or ctx ends).
func RunAll(ctx context.Context, targets []Target, opts Options) ([]*Result, error) {
	opts = opts.withDefaults()
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	var runs []*targetRun
	defer func() {
		for _, tr := range runs {
			tr.close()
		}
	}()
	for _, t := range targets {
		tr, err := startTarget(ctx, t, opts, 0)
		if err != nil {
			return nil, err
		}
		runs = append(runs, tr)
	}
	rounds := max(1, opts.Rounds)
	slice := opts.Duration / time.Duration(rounds)
	for round := range rounds {
		for _, tr := range runs {
			if ctx.Err() != nil {
				break
			}
			if rounds > 1 {
				fmt.Fprintf(opts.Log, "loadtest: %s: round %d/%d, %v\n", tr.t.Name, round+1, rounds, slice)
			} else {
				fmt.Fprintf(opts.Log, "loadtest: %s: %d users for %v\n", tr.t.Name, opts.Users, slice)
			}
			tr.drive(ctx, slice, round == 0)
		}
	}
	var out []*Result
	for _, tr := range runs {
		out = append(out, tr.finish(ctx))
	}
	return out, ctx.Err()
}

// targetRun is one target with its own fake Bot API, recorder and users.
type targetRun struct {
	t     Target
	opts  Options
	fake  *botapitest.Server
	rec   *recorder
	in    *Instance
	r     *runner
	samp  *sampler
	res   *Result
	quit  chan struct{}
	wg    sync.WaitGroup
	stops sync.Once
	stopE error

	window, drain time.Duration
	cpu, toolCPU  time.Duration
	redisCPU      float64
	redisOK       bool
}

// startTarget starts t with its fake Bot API; subscribers is how many chats
// from firstSubscriber on receive urgent updates (RunAnnounce).
func startTarget(ctx context.Context, t Target, opts Options, subscribers int) (*targetRun, error) {
	tr := &targetRun{t: t, opts: opts, quit: make(chan struct{}), redisOK: opts.Redis != nil}
	tr.rec = newRecorder(opts.Users)
	tr.rec.bulk = newBulkCounter(subscribers)
	tr.fake = botapitest.NewServer(botapitest.Options{Latency: opts.APILatency, OnCall: tr.rec.observe, NoLog: true})
	secret := randomHex(16)
	env := Env{APIURL: tr.fake.URL(), Token: tr.fake.Token(), Secret: secret, WebhookPath: "/telegram/" + randomHex(8)}
	fmt.Fprintf(opts.Log, "loadtest: starting %s\n", t.Name)
	in, err := t.Start(ctx, env)
	if err != nil {
		tr.close()
		return nil, fmt.Errorf("start %s: %w", t.Name, err)
	}
	tr.in = in
	if err := tr.rec.waitWebhook(ctx, in.WebhookURL, 30*time.Second); err != nil {
		tr.close()
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	tr.r = newRunner(tr.rec, in, secret, opts)
	tr.res = &Result{Name: t.Name, Users: opts.Users, Sync: in.Sync, Seed: opts.Seed,
		MaxConnections: tr.r.opts.MaxConnections}
	tr.samp = newSampler(in, opts.SampleEvery)
	tr.samp.start()
	return tr, nil
}

// drive runs the users for one slice of the window and adds up CPU time.
func (tr *targetRun) drive(ctx context.Context, d time.Duration, first bool) {
	cpu0, _ := procCPU(tr.in.PID)
	tool0, _ := procCPU(os.Getpid())
	rcpu0, rerr0 := redisCPU(ctx, tr.opts.Redis)
	start := time.Now()
	tr.r.run(ctx, start.Add(d), first)
	elapsed := time.Since(start) // the slice plus the steps in flight at its end
	cpu1, _ := procCPU(tr.in.PID)
	tool1, _ := procCPU(os.Getpid())
	rcpu1, rerr1 := redisCPU(ctx, tr.opts.Redis)
	tr.window += d
	tr.drain += elapsed - d
	tr.cpu += cpu1 - cpu0
	tr.toolCPU += tool1 - tool0
	if rerr0 != nil || rerr1 != nil {
		tr.redisOK = false
	}
	tr.redisCPU += rcpu1 - rcpu0
}

// finish stops the target and summarises.
func (tr *targetRun) finish(ctx context.Context) *Result {
	res := tr.res
	// Replies that arrive now were waited for by nobody: give them a moment.
	tr.r.collectStrays(time.Second)
	tr.samp.stop()
	if err := tr.stop(); err != nil {
		res.StopError = err.Error()
	}
	tr.r.fill(res, tr.window)
	res.Drain = tr.drain.Seconds()
	res.LoadAvg = loadAvg()
	res.APICalls = tr.rec.callCounts()
	// CPU over the slices (with their drains), per step completed in them.
	if tr.in.PID != 0 && tr.cpu > 0 && res.Steps > 0 {
		res.CPUSeconds = tr.cpu.Seconds()
		res.CPUPer1kSteps = res.CPUSeconds / float64(res.Steps) * 1000
		// With the bot in a child, this process is the load tool alone.
		res.ToolCPUPer1kSteps = tr.toolCPU.Seconds() / float64(res.Steps) * 1000
	}
	if tr.redisOK && res.Steps > 0 {
		res.RedisCPUSeconds = tr.redisCPU
		res.RedisCPUPer1kSteps = res.RedisCPUSeconds / float64(res.Steps) * 1000
	}
	res.Memory = tr.samp.samples()
	return res
}

func (tr *targetRun) stop() error {
	tr.stops.Do(func() {
		if tr.in != nil {
			tr.stopE = tr.in.Stop()
		}
	})
	return tr.stopE
}

func (tr *targetRun) close() {
	_ = tr.stop()
	select {
	case <-tr.quit:
	default:
		close(tr.quit)
	}
	tr.wg.Wait()
	if tr.r != nil {
		tr.r.client.CloseIdleConnections()
	}
	tr.fake.Close()
}

// runner drives the users of one run.
type runner struct {
	rec    *recorder
	in     *Instance
	secret string
	opts   Options
	client *http.Client
	conns  chan struct{} // nil: no cap
	users  []*simUser

	nextUpdate atomic.Int64
	windowEnd  time.Time // users start no step after it

	mu     sync.Mutex
	errors map[string]int64
}

func newRunner(rec *recorder, in *Instance, secret string, opts Options) *runner {
	tr := &http.Transport{
		MaxIdleConns:        opts.Users + 16,
		MaxIdleConnsPerHost: opts.Users + 16,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	r := &runner{rec: rec, in: in, secret: secret, opts: opts,
		client: &http.Client{Transport: tr, Timeout: opts.Timeout},
		errors: map[string]int64{}}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = rec.maxConnections()
		if opts.MaxConnections == 0 {
			opts.MaxConnections = telegramDefaultMaxConnections
		}
		r.opts.MaxConnections = opts.MaxConnections
	}
	if opts.MaxConnections > 0 {
		r.conns = make(chan struct{}, opts.MaxConnections)
	}
	r.nextUpdate.Store(int64(rand.N(1 << 30)))
	for i := range opts.Users {
		chat := firstChat + int64(i)
		u := newSimUser(chat, rec.mailbox(chat), opts.Seed+uint64(i)*0x9e3779b97f4a7c15)
		u.emergency = opts.Emergency
		r.users = append(r.users, u)
	}
	return r
}

// telegramDefaultMaxConnections is setWebhook's default max_connections.
const telegramDefaultMaxConnections = 40

// firstChat is the chat (= user) ID of the first simulated person.
const firstChat = 7_000_000_001

func (r *runner) countError(kind string) {
	r.mu.Lock()
	r.errors[kind]++
	r.mu.Unlock()
}

// run lets the users take steps until deadline; first spreads their arrival.
func (r *runner) run(ctx context.Context, deadline time.Time, first bool) {
	r.windowEnd = deadline
	var wg sync.WaitGroup
	for i, u := range r.users {
		wg.Go(func() {
			// People arrive spread over a second, or over a think time:
			// not all at the same instant.
			spread := max(time.Second, r.opts.Think)
			if d := time.Duration(i) * spread / time.Duration(len(r.users)); first && d > 0 {
				if backoff.Wait(ctx, d) != nil {
					return
				}
			}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				r.step(ctx, u)
				if r.opts.Think > 0 {
					d := r.opts.Think/2 + time.Duration(u.rng.Int64N(int64(r.opts.Think)+1))
					if backoff.Wait(ctx, min(d, time.Until(deadline))) != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// step performs one action of u and waits for its reply.
func (r *runner) step(ctx context.Context, u *simUser) {
	if stray := u.box.take(); len(stray) > 0 {
		u.countStrays(len(stray))
	}
	id := r.nextUpdate.Add(1)
	act := u.next(id)
	t0 := time.Now()
	deadline := t0.Add(r.opts.Timeout)
	delivered, attempts := r.deliver(ctx, act.body, deadline)

	var replies []reply
	switch {
	case !delivered:
		// Never accepted: Telegram would keep trying; we stop here. Take
		// what arrived anyway (a bot may have answered before failing).
		replies = u.box.waitAny(ctx, time.Now().Add(200*time.Millisecond))
	case r.in.Sync:
		replies = u.box.take()
		if len(replies) == 0 {
			replies = u.box.waitAny(ctx, deadline)
		}
	default:
		replies = u.box.waitAny(ctx, deadline)
	}
	n := len(u.latencies)
	u.record(t0, r.windowEnd, delivered, attempts, replies)
	if act.kind == "emergency" && len(u.latencies) > n {
		u.emergencyLatencies = append(u.emergencyLatencies, u.latencies[n])
	}
	if delivered && len(replies) > 0 && r.opts.Redeliver > 0 && u.rng.Float64() < r.opts.Redeliver {
		u.redeliveries++
		if ok, _ := r.deliver(ctx, act.body, time.Now().Add(r.opts.Timeout)); ok {
			// A handled update must not be answered again.
			if dup := u.box.waitAny(ctx, time.Now().Add(100*time.Millisecond)); len(dup) > 0 {
				u.duplicated += len(dup)
			}
		}
	}
}

// deliver POSTs one update until it is answered 200, as Telegram does, at
// most MaxDeliveries times and not after deadline. It returns whether it was
// accepted and how many POSTs that took.
func (r *runner) deliver(ctx context.Context, body []byte, deadline time.Time) (bool, int) {
	for attempt := range r.opts.MaxDeliveries {
		if attempt > 0 {
			// Telegram waits longer; keep the load test moving.
			if backoff.Wait(ctx, min(time.Duration(50<<attempt)*time.Millisecond, time.Second)) != nil {
				return false, attempt
			}
		}
		if time.Now().After(deadline) {
			return false, attempt
		}
		status, err := r.post(ctx, body, deadline)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return false, attempt + 1
			}
			r.countError("webhook: network error")
		case status == http.StatusOK:
			return true, attempt + 1
		default:
			r.countError(fmt.Sprintf("webhook: HTTP %d", status))
		}
	}
	return false, r.opts.MaxDeliveries
}

func (r *runner) post(ctx context.Context, body []byte, deadline time.Time) (int, error) {
	if r.conns != nil {
		select {
		case r.conns <- struct{}{}:
			defer func() { <-r.conns }()
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, r.in.WebhookURL, bytesReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", r.secret)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	// The body may carry a method (answerCallbackQuery); Telegram would
	// perform it. It needs no reply, so it is only read.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// collectStrays waits d for messages nobody waits for and counts them.
func (r *runner) collectStrays(d time.Duration) {
	time.Sleep(d)
	for _, u := range r.users {
		if stray := u.box.take(); len(stray) > 0 {
			u.countStrays(len(stray))
		}
	}
}

// fill summarises the users' records into res; window is the time in which
// users started steps.
func (r *runner) fill(res *Result, window time.Duration) {
	var inWindow, inWindowReplies int64
	var lat, first, once []time.Duration
	for _, u := range r.users {
		lat = append(lat, u.latencies...)
		first = append(first, u.firstLatencies...)
		once = append(once, u.onceLatencies...)
		res.Redelivered += int64(u.redelivered)
		res.Steps += int64(len(u.latencies))
		res.Replies += u.replies
		inWindow += int64(u.inWindow)
		inWindowReplies += u.inWindowReplies
		res.Lost += int64(u.lost)
		res.Duplicated += int64(u.duplicated)
		res.Late += int64(u.late)
		res.Undelivered += int64(u.undelivered)
		res.Redeliveries += int64(u.redeliveries)
		for k, v := range u.actions {
			if res.Actions == nil {
				res.Actions = map[string]int64{}
			}
			res.Actions[k] += v
		}
	}
	res.Seconds = window.Seconds()
	if res.Seconds > 0 {
		res.StepsPerSecond = float64(inWindow) / res.Seconds
		res.RepliesPerSecond = float64(inWindowReplies) / res.Seconds
	}
	res.Latency = percentiles(lat)
	res.FirstReply = percentiles(first)
	res.AcceptedAtOnce = percentiles(once)
	r.mu.Lock()
	for k, v := range r.errors {
		if res.Errors == nil {
			res.Errors = map[string]int64{}
		}
		res.Errors[k] = v
	}
	r.mu.Unlock()
	for k, v := range r.rec.apiErrors() {
		if res.Errors == nil {
			res.Errors = map[string]int64{}
		}
		res.Errors[k] = v
	}
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	// P95 is filled by the spike (percentiles95) only.
	P95 float64 `json:"p95_ms,omitempty"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		// nearest rank
		i := int(float64(len(d))*p+0.999999) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Result is what one run of a target measured.
type Result struct {
	Name  string `json:"name"`
	Users int    `json:"users"`
	Sync  bool   `json:"sync_webhook"`
	Seed  uint64 `json:"seed"`
	// MaxConnections is the cap on concurrent webhook POSTs used (-1: none).
	MaxConnections int `json:"max_connections"`
	// Seconds is the window in which users started steps (Options.Duration);
	// Drain how long the steps in flight at its end took to finish.
	Seconds float64 `json:"seconds"`
	Drain   float64 `json:"drain_seconds"`
	// Steps are completed steps (a reply arrived), Replies their messages,
	// both including the drain. The rates count only steps completed within
	// the window.
	Steps            int64   `json:"steps"`
	StepsPerSecond   float64 `json:"steps_per_second"`
	Replies          int64   `json:"replies"`
	RepliesPerSecond float64 `json:"replies_per_second"`
	// Latency is from the tap (the update ready for delivery) to the last
	// message of the step's reply reaching the Bot API; FirstReply to its
	// first message.
	Latency    Latency `json:"latency"`
	FirstReply Latency `json:"first_reply"`
	// AcceptedAtOnce is Latency over the steps whose first POST was
	// answered 200 (without the re-deliveries of failed updates).
	AcceptedAtOnce Latency `json:"latency_accepted_at_once"`
	// Redelivered: steps whose update had to be POSTed more than once
	// (the bot answered 500 or 503).
	Redelivered int64 `json:"redelivered_steps"`
	// Lost: steps whose update was accepted but got no reply in time.
	Lost int64 `json:"lost"`
	// Duplicated: messages no step waited for.
	Duplicated int64 `json:"duplicated"`
	// Late: messages that came after their step had been counted lost.
	Late int64 `json:"late"`
	// Undelivered: updates never answered 200 within MaxDeliveries.
	Undelivered  int64            `json:"undelivered"`
	Redeliveries int64            `json:"redeliveries"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	Actions      map[string]int64 `json:"actions,omitempty"`
	APICalls     map[string]int64 `json:"api_calls,omitempty"`
	// CPUSeconds is the user+system CPU time of the system's process in the
	// window (0 in-process).
	CPUSeconds    float64 `json:"cpu_seconds,omitempty"`
	CPUPer1kSteps float64 `json:"cpu_seconds_per_1000_steps,omitempty"`
	// ToolCPUPer1kSteps is the load tool's own CPU time (users, recorder,
	// fake Bot API) per 1000 steps: on one box it competes with the bot.
	ToolCPUPer1kSteps float64 `json:"tool_cpu_seconds_per_1000_steps,omitempty"`
	// RedisCPUSeconds is the Redis server's CPU time in the window.
	RedisCPUSeconds    float64  `json:"redis_cpu_seconds,omitempty"`
	RedisCPUPer1kSteps float64  `json:"redis_cpu_seconds_per_1000_steps,omitempty"`
	Memory             []Sample `json:"memory,omitempty"`
	// LoadAvg is the machine's load average at the end of the window.
	LoadAvg   string `json:"load_average_after,omitempty"`
	StopError string `json:"stop_error,omitempty"`
}

// ErrorCount is the total of Errors.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

var errNoWebhook = errors.New("the bot did not call setWebhook")

// Machine describes where a run happened (for the report).
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	LoadAvg   string `json:"load_average_before,omitempty"`
}

// ThisMachine reads nproc, the CPU model and the load average.
func ThisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, LoadAvg: loadAvg()}
}

// redisCPU is used_cpu_user + used_cpu_sys of the Redis server, in seconds.
func redisCPU(ctx context.Context, rdb redis.UniversalClient) (float64, error) {
	if rdb == nil {
		return 0, nil
	}
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			total += f
			found++
		}
	}
	if found != 2 {
		return 0, errors.New("INFO cpu without used_cpu_user/used_cpu_sys")
	}
	return total, nil
}
