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
//
// Files: this one runs targets (RunAll); runner.go drives the users and
// delivers their updates; result.go and report.go hold what was measured
// and print it; proc.go samples the system's process and machine.go
// describes the host. spike.go and announce.go are the other two scenarios.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/testkit/botapitest"
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
