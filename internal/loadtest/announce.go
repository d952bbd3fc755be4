package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"putokaz/internal/backoff"
)

// AnnounceControl reaches the subscription store and the queue of urgent
// updates of the system under test (internal/subscribe and
// internal/announce, wired by `putokaz loadtest --announce`), so that the
// scenario subscribes people and queues, approves, pauses and resumes an
// update through the same code as `putokaz announce`.
type AnnounceControl interface {
	// Subscribe makes user (a key "tg:<chat id>") follow the update's topic
	// in lang.
	Subscribe(ctx context.Context, user, lang string) error
	// Queue queues the update, pauses it and has a second editor approve
	// it: it is then ready to send, and does not start before Resume.
	Queue(ctx context.Context) error
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// Progress is the send's state, as `putokaz announce status` shows it.
	Progress(ctx context.Context) (AnnounceProgress, error)
}

// AnnounceProgress is what the queue says of the send.
type AnnounceProgress struct {
	State   string `json:"state"`
	Done    bool   `json:"done"` // nothing more will be sent
	Total   int    `json:"total"`
	Sent    int    `json:"sent"`
	Blocked int    `json:"blocked"`
	Failed  int    `json:"failed"`
	Unknown int    `json:"unknown"` // maybe sent: being sent when a sender died
}

// AnnounceOptions shape the mass-send scenario. Zero values take the
// defaults in brackets.
type AnnounceOptions struct {
	// Subscribers is how many people follow the topic; their chats are
	// firstSubscriber, firstSubscriber+1, ... [1000].
	Subscribers int
	// Langs are the subscribers' languages, given in turn [en].
	Langs []string
	// Rounds is how many times a quiet slice (the send paused) and a send
	// slice (the send running) alternate while the users converse; each
	// slice is Options.Duration / (2·Rounds) [2].
	Rounds int
	// Rate is the configured announce.rate of the system, for the report.
	Rate float64
	// DoneTimeout bounds the wait for the rest of the send once the users
	// stopped [2 min + 3× what Subscribers take at Rate].
	DoneTimeout time.Duration
	// Control is required.
	Control AnnounceControl
}

func (a AnnounceOptions) withDefaults() AnnounceOptions {
	if a.Subscribers <= 0 {
		a.Subscribers = 1000
	}
	if len(a.Langs) == 0 {
		a.Langs = []string{"en"}
	}
	if a.Rounds <= 0 {
		a.Rounds = 2
	}
	if a.Rate <= 0 {
		a.Rate = 30
	}
	if a.DoneTimeout <= 0 {
		a.DoneTimeout = 2*time.Minute + 3*time.Duration(float64(a.Subscribers)/a.Rate*float64(time.Second))
	}
	return a
}

// Lanes of the sender, as its metrics name them (bot.Lane).
var senderLanes = []string{"emergency", "reply", "staff", "bulk"}

// LaneStats are what the sender's metrics say of one lane in a phase.
type LaneStats struct {
	// Sends: messages let through; Waits: those that waited 1 ms or more
	// (for their chat's pacing, a retry_after or the global limit);
	// WaitsOver25ms: those that waited more than 25 ms — less than one
	// token of a 30/s limit, so a message held behind the bulk lane's
	// tokens would show here.
	Sends         float64 `json:"sends"`
	Waits         float64 `json:"waits"`
	WaitsOver25ms float64 `json:"waits_over_25ms"`
	WaitSeconds   float64 `json:"wait_seconds"`
}

// Phase is what the users and the sender saw in one kind of slice.
type Phase struct {
	Seconds        float64 `json:"seconds"`
	Steps          int64   `json:"steps"`
	StepsPerSecond float64 `json:"steps_per_second"`
	// Latency: from a tap to the last message of its reply at the Bot API;
	// Emergency: the same for the steps that typed an emergency word.
	Latency        Latency `json:"latency"`
	Emergency      Latency `json:"emergency_latency"`
	EmergencySteps int64   `json:"emergency_steps"`
	Lost           int64   `json:"lost"`
	Duplicated     int64   `json:"duplicated"`
	Undelivered    int64   `json:"undelivered"`
	// UpdatesSent is how many urgent updates reached the Bot API in the
	// phase's slices, UpdatesPerSecond their rate.
	UpdatesSent      int                  `json:"updates_sent"`
	UpdatesPerSecond float64              `json:"updates_per_second"`
	Lanes            map[string]LaneStats `json:"lanes,omitempty"`

	lat, emerg []time.Duration
}

// AnnounceResult is what the scenario measured.
type AnnounceResult struct {
	Command string  `json:"command,omitempty"`
	Date    string  `json:"date,omitempty"`
	Machine Machine `json:"machine"`
	Name    string  `json:"name"`

	Users     int     `json:"users"`
	ThinkMS   float64 `json:"think_ms"`
	Emergency float64 `json:"emergency_share"`
	Seed      uint64  `json:"seed"`

	Subscribers  int     `json:"subscribers"`
	Rate         float64 `json:"configured_rate"`
	Rounds       int     `json:"rounds"`
	SliceSeconds float64 `json:"slice_seconds"`
	SeedSeconds  float64 `json:"subscribe_seconds"`

	// Quiet: slices with the send paused; Sending: with it running.
	Quiet   Phase `json:"quiet"`
	Sending Phase `json:"sending"`
	// P99Ratio is Sending's reply p99 over Quiet's (the target: ≤ 1.5).
	P99Ratio float64 `json:"p99_ratio"`

	// At the fake Bot API, over the whole send: subscribers reached,
	// second copies, subscribers who got nothing.
	Reached    int `json:"reached"`
	Duplicated int `json:"duplicated"`
	Missing    int `json:"missing"`
	// Worker is what the queue said at the end.
	Worker AnnounceProgress `json:"worker"`
	// Alone is the send after the users stopped: its rate from the first
	// to the last message of that part (the target: the configured rate).
	AloneSent       int     `json:"alone_sent"`
	AloneSeconds    float64 `json:"alone_seconds"`
	AloneRate       float64 `json:"alone_rate"`
	SendSeconds     float64 `json:"send_seconds"`
	TimedOut        bool    `json:"timed_out,omitempty"`
	ConversationErr string  `json:"conversation_errors,omitempty"`

	// Memory of the bot from before the first slice to the end of the
	// send; RSS in MiB.
	Memory      []Sample         `json:"memory,omitempty"`
	RSSFirstMiB float64          `json:"rss_first_mib"`
	RSSMaxMiB   float64          `json:"rss_max_mib"`
	RSSLastMiB  float64          `json:"rss_last_mib"`
	Errors      map[string]int64 `json:"errors,omitempty"`
	StopError   string           `json:"stop_error,omitempty"`
}

// RunAnnounce measures "conversations first": it starts the target with a
// fake Bot API, subscribes a.Subscribers people, queues an urgent update
// (paused) and has it approved, then lets opts.Users people converse while
// the send is paused and running in turn, slice by slice, so that both
// conditions share whatever else the machine does. Then the users stop and
// the rest of the send runs alone until the queue says it is done. Every
// update is counted at the fake Bot API per subscriber; the sender's lane
// metrics are read from the target's /metrics before and after each slice.
func RunAnnounce(ctx context.Context, t Target, opts Options, a AnnounceOptions) (*AnnounceResult, error) {
	if a.Control == nil {
		return nil, errors.New("loadtest: RunAnnounce needs a Control")
	}
	opts = opts.withDefaults()
	a = a.withDefaults()
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = time.Second
	}
	tr, err := startTarget(ctx, t, opts, a.Subscribers)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	res := &AnnounceResult{Name: t.Name, Users: opts.Users, ThinkMS: ms(opts.Think), Emergency: opts.Emergency,
		Seed: opts.Seed, Subscribers: a.Subscribers, Rate: a.Rate, Rounds: a.Rounds}
	bulk := tr.rec.bulk

	t0 := time.Now()
	if err := subscribeAll(ctx, a, opts.Log); err != nil {
		return nil, err
	}
	res.SeedSeconds = time.Since(t0).Seconds()
	if err := a.Control.Queue(ctx); err != nil {
		return nil, fmt.Errorf("queue the update: %w", err)
	}

	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	lanes := func() map[string]float64 {
		if tr.in.BaseURL == "" {
			return nil
		}
		return scrapeMetrics(client, tr.in.BaseURL+"/metrics", laneSeries()...)
	}
	slice := opts.Duration / time.Duration(2*a.Rounds)
	res.SliceSeconds = slice.Seconds()
	quiet, sending := &res.Quiet, &res.Sending
	for round := range a.Rounds {
		for _, send := range []bool{false, true} {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			ph := quiet
			if send {
				ph = sending
				if err := a.Control.Resume(ctx); err != nil {
					return nil, fmt.Errorf("resume the send: %w", err)
				}
				// The worker looks at the queue every second: the slice
				// starts when the send does (or after 3 s without one, when
				// the conversations leave the bulk lane nothing).
				waitForMore(ctx, bulk, bulk.total(), 3*time.Second)
			} else if round > 0 {
				if err := a.Control.Pause(ctx); err != nil {
					return nil, fmt.Errorf("pause the send: %w", err)
				}
				waitQuiet(ctx, bulk, 500*time.Millisecond, 5*time.Second)
			}
			fmt.Fprintf(opts.Log, "loadtest: round %d/%d, %s, %d users for %v (%d updates sent so far)\n",
				round+1, a.Rounds, map[bool]string{false: "send paused", true: "send running"}[send],
				opts.Users, slice, bulk.total())
			m0 := lanes()
			n0 := bulk.total()
			start := time.Now()
			tr.r.run(ctx, start.Add(slice), round == 0 && !send)
			ph.Seconds += slice.Seconds()
			ph.UpdatesSent += bulk.total() - n0
			addLanes(ph, m0, lanes())
			tr.r.harvest(ph)
		}
	}

	// The users are gone: the send runs alone until the queue says done.
	n0 := bulk.total()
	aloneFrom := time.Now()
	deadline := aloneFrom.Add(a.DoneTimeout)
	fmt.Fprintf(opts.Log, "loadtest: the users stopped; waiting for the send to finish (%d of %d sent)\n", n0, a.Subscribers)
	var prog AnnounceProgress
	lastLog := time.Now()
	for {
		prog, err = a.Control.Progress(ctx)
		if err != nil {
			return nil, fmt.Errorf("progress of the send: %w", err)
		}
		if prog.Done || ctx.Err() != nil {
			break
		}
		if time.Now().After(deadline) {
			res.TimedOut = true
			break
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			fmt.Fprintf(opts.Log, "loadtest: %d of %d sent\n", bulk.total(), a.Subscribers)
		}
		_ = backoff.Wait(ctx, 250*time.Millisecond)
	}
	res.Worker = prog
	tr.r.collectStrays(time.Second)
	tr.r.harvest(sending) // strays counted against the send
	tr.samp.stop()
	if err := tr.stop(); err != nil {
		res.StopError = err.Error()
	}

	times := bulk.arrivals()
	res.Reached, res.Duplicated, res.Missing = bulk.tally()
	if len(times) > 1 {
		res.SendSeconds = times[len(times)-1].Sub(times[0]).Seconds()
	}
	var alone []time.Time
	for _, at := range times {
		if !at.Before(aloneFrom) {
			alone = append(alone, at)
		}
	}
	res.AloneSent = len(alone)
	if len(alone) > 1 {
		res.AloneSeconds = alone[len(alone)-1].Sub(alone[0]).Seconds()
		res.AloneRate = float64(len(alone)-1) / res.AloneSeconds
	}
	for _, ph := range []*Phase{quiet, sending} {
		ph.Latency = percentiles(ph.lat)
		ph.Emergency = percentiles(ph.emerg)
		ph.EmergencySteps = int64(len(ph.emerg))
		if ph.Seconds > 0 {
			ph.StepsPerSecond = float64(ph.Steps) / ph.Seconds
			ph.UpdatesPerSecond = float64(ph.UpdatesSent) / ph.Seconds
		}
	}
	if quiet.Latency.P99 > 0 {
		res.P99Ratio = sending.Latency.P99 / quiet.Latency.P99
	}
	res.Memory = tr.samp.samples()
	for i, s := range res.Memory {
		mib := s.RSSMiB
		if i == 0 {
			res.RSSFirstMiB = mib
		}
		res.RSSMaxMiB = max(res.RSSMaxMiB, mib)
		res.RSSLastMiB = mib
	}
	tr.r.mu.Lock()
	for k, v := range tr.r.errors {
		if res.Errors == nil {
			res.Errors = map[string]int64{}
		}
		res.Errors[k] += v
	}
	tr.r.mu.Unlock()
	for k, v := range tr.rec.apiErrors() {
		if res.Errors == nil {
			res.Errors = map[string]int64{}
		}
		res.Errors[k] += v
	}
	return res, ctx.Err()
}

// subscribeAll subscribes the simulated subscribers, a few at a time.
func subscribeAll(ctx context.Context, a AnnounceOptions, log io.Writer) error {
	fmt.Fprintf(log, "loadtest: subscribing %d people\n", a.Subscribers)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(a.Subscribers) || ctx.Err() != nil {
					return
				}
				user := "tg:" + strconv.FormatInt(firstSubscriber+i, 10)
				if err := a.Control.Subscribe(ctx, user, a.Langs[int(i)%len(a.Langs)]); err != nil {
					errs <- fmt.Errorf("subscribe %s: %w", user, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// waitForMore waits until b counts more than n, at most d.
func waitForMore(ctx context.Context, b *bulkCounter, n int, d time.Duration) {
	end := time.Now().Add(d)
	for b.total() <= n && time.Now().Before(end) && backoff.Wait(ctx, 20*time.Millisecond) == nil {
	}
}

// waitQuiet waits until no update arrived for still, at most d.
func waitQuiet(ctx context.Context, b *bulkCounter, still, d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) && time.Since(b.last()) < still && backoff.Wait(ctx, 50*time.Millisecond) == nil {
	}
}

func laneSeries() []string {
	var out []string
	for _, l := range senderLanes {
		q := `{lane="` + l + `"}`
		out = append(out, "putokaz_telegram_lane_sends_total"+q, "putokaz_telegram_lane_waits_total"+q,
			"putokaz_telegram_lane_wait_seconds_sum"+q, "putokaz_telegram_lane_wait_seconds_count"+q,
			`putokaz_telegram_lane_wait_seconds_bucket{lane="`+l+`",le="0.025"}`)
	}
	return out
}

// addLanes adds what the lane metrics grew by between m0 and m1 to ph.
func addLanes(ph *Phase, m0, m1 map[string]float64) {
	if m0 == nil || m1 == nil {
		return
	}
	d := func(name string) float64 { return m1[name] - m0[name] }
	if ph.Lanes == nil {
		ph.Lanes = map[string]LaneStats{}
	}
	for _, l := range senderLanes {
		q := `{lane="` + l + `"}`
		s := ph.Lanes[l]
		s.Sends += d("putokaz_telegram_lane_sends_total" + q)
		s.Waits += d("putokaz_telegram_lane_waits_total" + q)
		s.WaitSeconds += d("putokaz_telegram_lane_wait_seconds_sum" + q)
		s.WaitsOver25ms += d("putokaz_telegram_lane_wait_seconds_count"+q) -
			d(`putokaz_telegram_lane_wait_seconds_bucket{lane="`+l+`",le="0.025"}`)
		ph.Lanes[l] = s
	}
}

// harvest moves what the users measured since the last harvest into ph.
func (r *runner) harvest(ph *Phase) {
	for _, u := range r.users {
		ph.lat = append(ph.lat, u.latencies...)
		ph.emerg = append(ph.emerg, u.emergencyLatencies...)
		ph.Steps += int64(len(u.latencies))
		ph.Lost += int64(u.lost)
		ph.Duplicated += int64(u.duplicated)
		ph.Undelivered += int64(u.undelivered)
		u.latencies, u.emergencyLatencies, u.firstLatencies, u.onceLatencies = nil, nil, nil, nil
		u.lost, u.duplicated, u.undelivered = 0, 0, 0
	}
}
