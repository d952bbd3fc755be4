package loadtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"putokaz/bot"
	"putokaz/internal/backoff"
	"putokaz/internal/testkit/botapitest"
)

// A crisis spike: thousands of people write within a minute (a border
// closes, a centre burns). Unlike Run, whose users wait for each reply
// before their next tap, the spike plays Telegram's side of a webhook:
//
//   - each person writes at their own moment (spread over Window) and then
//     a few more times, Gap apart, whether or not an answer came;
//   - like Telegram, the driver keeps at most MaxConnections requests in
//     flight, delivers one chat's updates in sequence, and re-sends an
//     update after a non-2xx answer or a timeout, with a growing pause,
//     until it is accepted;
//   - the fake Bot API can play Telegram's flood control (APIRate): 429
//     with retry_after beyond that many messages a second.
//
// It measures what people see: whether and when each got a first answer
// (from the moment they wrote), whether earlier writers were answered
// earlier, emergency answers apart, the bot's memory and its 503s.

// SpikeOptions shape a spike. Zero values take the defaults in brackets.
type SpikeOptions struct {
	// People write for the first time spread uniformly over Window [3000,
	// 60s]; each sends Updates messages [3], the next ones a pause of Gap
	// (uniform in [Gap/2, 3·Gap/2]) after the previous [8s].
	People  int
	Window  time.Duration
	Updates int
	Gap     time.Duration
	// EmergencyShare of the people open with an emergency word ("police",
	// "sos", ...) instead of /start [0.05].
	EmergencyShare float64
	// MaxConnections caps requests in flight, as the webhook's
	// max_connections [0: what the bot registered, else 40].
	MaxConnections int
	// PostTimeout is how long the driver waits for one webhook answer before
	// it gives up on the request and re-sends [60s].
	PostTimeout time.Duration
	// Timeout: a message not accepted and answered this long after it was
	// written counts as unanswered [5m].
	Timeout time.Duration
	// APIRate makes the fake Bot API answer 429 beyond this many messages
	// a second over all chats (0: no limit), with APIRetryAfter [1s];
	// APIChatRate likewise per chat (0: no limit; bursts of 3).
	APIRate       float64
	APIChatRate   float64
	APIRetryAfter int
	// SampleEvery is the period of memory samples [1s].
	SampleEvery time.Duration
	// Seed makes the people's choices reproducible (0: random).
	Seed uint64
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

func (o SpikeOptions) withDefaults() SpikeOptions {
	if o.People <= 0 {
		o.People = 3000
	}
	if o.Window <= 0 {
		o.Window = 60 * time.Second
	}
	if o.Updates <= 0 {
		o.Updates = 3
	}
	if o.Gap <= 0 {
		o.Gap = 8 * time.Second
	}
	if o.EmergencyShare == 0 {
		o.EmergencyShare = 0.05
	}
	if o.PostTimeout <= 0 {
		o.PostTimeout = 60 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.APIRetryAfter <= 0 {
		o.APIRetryAfter = 1
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = time.Second
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// emergencyWords open the emergency flow of the default content from
// anywhere; otherWords match other flows or nothing.
var (
	emergencyWords = []string{"police", "sos", "policija", "help me"}
	otherWords     = []string{"shelter", "asylum", "where can I sleep", "smeštaj", "azil", "لجوء", "پناهندگی", "hello"}
)

// SpikeResult is what a spike measured.
type SpikeResult struct {
	Name     string  `json:"name"`
	People   int     `json:"people"`
	Messages int     `json:"messages_written"`
	WindowS  float64 `json:"window_s"`
	// Answered: people whose first message got an answer within Timeout;
	// Unanswered: messages (of anyone) without one.
	Answered   int `json:"people_answered"`
	Unanswered int `json:"messages_unanswered"`
	// FirstAnswer: from a person writing their first message to the first
	// message the bot sent them.
	FirstAnswer Latency `json:"first_answer"`
	P95S        float64 `json:"first_answer_p95_s"`
	// Fairness of first answers against the order people wrote in:
	// Kendall's tau (1: answered exactly in arrival order) and the share of
	// pairs answered more than a second out of order.
	KendallTau   float64 `json:"kendall_tau"`
	Inversions1s float64 `json:"inversions_beyond_1s"`
	// Emergency: from writing an emergency word to the first message of the
	// answer; Others the same for every other message. EmergencyInBot and
	// OthersInBot start when the request reached the bot (without the wait
	// for a free connection at "Telegram").
	EmergencyN     int     `json:"emergency_messages"`
	Emergency      Latency `json:"emergency_answer"`
	Others         Latency `json:"other_answer"`
	EmergencyInBot Latency `json:"emergency_answer_in_bot"`
	OthersInBot    Latency `json:"other_answer_in_bot"`
	// Bound: with APIRate, the first answers of an ideal sender that uses
	// the whole rate, message after message in the order people wrote;
	// BoundRatio is FirstAnswer's p95 over its p95.
	APIRate    float64  `json:"api_rate,omitempty"`
	Bound      *Latency `json:"bound_first_answer,omitempty"`
	BoundRatio float64  `json:"p95_over_bound,omitempty"`
	// What the bot sent and how Telegram's side answered.
	BotMessages    int64            `json:"bot_messages"`
	MessagesPerSec float64          `json:"bot_messages_per_second"`
	API429         int64            `json:"api_429"`
	Webhook        map[string]int64 `json:"webhook_answers"`
	Resent         int64            `json:"resent_updates"`
	DurationS      float64          `json:"duration_s"`
	RSSMaxMiB      float64          `json:"rss_max_mib"`
	RSSStartMiB    float64          `json:"rss_start_mib"`
	Memory         []Sample         `json:"memory,omitempty"`
	// Lanes are the bot's own lane metrics at the end (sends, wait seconds).
	Lanes     map[string]float64 `json:"bot_lanes,omitempty"`
	StopError string             `json:"stop_error,omitempty"`
}

// spikeMsg is one message a person wrote.
type spikeMsg struct {
	person    int
	written   time.Time // when the person wrote it
	reached   time.Time // first request that reached the bot
	answered  time.Time // first message of the answer (zero: none)
	msgs      int       // messages the bot sent for it
	emergency bool
	first     bool
}

// Spike starts a fake Bot API (with flood control if asked) and the target,
// plays the spike and returns what it measured.
func Spike(ctx context.Context, t Target, o SpikeOptions) (*SpikeResult, error) {
	o = o.withDefaults()
	rec := newRecorder(o.People)
	sent := make([]atomic.Int64, o.People) // messages per chat
	var api429 atomic.Int64
	observe := func(c botapitest.Call) {
		rec.observe(c)
		if c.Status == http.StatusTooManyRequests {
			api429.Add(1)
			return
		}
		if i := c.ChatID - firstChat; c.OK && i >= 0 && i < int64(o.People) && isMessageMethod(c.Method) {
			sent[i].Add(1)
		}
	}
	fopts := botapitest.Options{OnCall: observe, NoLog: true}
	if o.APIRate > 0 || o.APIChatRate > 0 {
		fopts.Flood = &botapitest.Flood{PerSecond: o.APIRate, PerChatPerSecond: o.APIChatRate, RetryAfter: o.APIRetryAfter}
	}
	fake := botapitest.NewServer(fopts)
	defer fake.Close()
	secret := randomHex(16)
	env := Env{APIURL: fake.URL(), Token: fake.Token(), Secret: secret, WebhookPath: "/telegram/" + randomHex(8)}
	fmt.Fprintf(o.Log, "loadtest: starting %s\n", t.Name)
	in, err := t.Start(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", t.Name, err)
	}
	var stopOnce sync.Once
	var stopErr error
	stop := func() { stopOnce.Do(func() { stopErr = in.Stop() }) }
	defer stop()
	if !in.Sync {
		return nil, fmt.Errorf("%s answers its webhook before handling: the spike needs one that answers after", t.Name)
	}
	if err := rec.waitWebhook(ctx, in.WebhookURL, 30*time.Second); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	conns := o.MaxConnections
	if conns == 0 {
		conns = rec.maxConnections()
		if conns == 0 {
			conns = telegramDefaultMaxConnections
		}
	}
	d := &spikeDriver{o: o, url: in.WebhookURL, secret: secret, rec: rec, sent: sent,
		conns: make(chan struct{}, max(conns, 1)), status: map[string]int64{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConns: conns + 16, MaxIdleConnsPerHost: conns + 16,
			IdleConnTimeout: time.Minute, DisableCompression: true}}}
	defer d.client.CloseIdleConnections()
	d.nextUpdate.Store(int64(rand.N(1 << 30)))
	samp := newSampler(in, o.SampleEvery)
	samp.start()
	fmt.Fprintf(o.Log, "loadtest: spike: %d people writing %d messages each within %v, at most %d requests in flight, API limit %s\n",
		o.People, o.Updates, o.Window, conns, rateText(o.APIRate))
	start := time.Now()
	msgs := d.run(ctx)
	elapsed := time.Since(start)
	lanes := map[string]float64{}
	if in.BaseURL != "" {
		var names []string
		for _, l := range bot.Lanes {
			for _, m := range []string{"putokaz_telegram_lane_sends_total", "putokaz_telegram_lane_waits_total",
				"putokaz_telegram_lane_wait_seconds_sum"} {
				names = append(names, m+`{lane="`+l.String()+`"}`)
			}
		}
		names = append(names, "putokaz_telegram_global_blocks_total")
		for k, v := range scrapeMetrics(samp.client, in.BaseURL+"/metrics", names...) {
			lanes[strings.TrimPrefix(k, "putokaz_telegram_")] = v
		}
	}
	samp.stop()
	stop()
	res := summarise(t.Name, o, msgs, elapsed)
	res.API429 = api429.Load()
	res.Webhook, res.Resent = d.status, d.resent.Load()
	res.Memory = samp.samples()
	for i, s := range res.Memory {
		if i == 0 {
			res.RSSStartMiB = s.RSSMiB
		}
		res.RSSMaxMiB = max(res.RSSMaxMiB, s.RSSMiB)
	}
	if len(lanes) > 0 {
		res.Lanes = lanes
	}
	if stopErr != nil {
		res.StopError = stopErr.Error()
	}
	return res, ctx.Err()
}

func rateText(r float64) string {
	if r <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g messages/s", r)
}

// isMessageMethod: a call that puts a message in a chat or changes one.
func isMessageMethod(m string) bool {
	return strings.HasPrefix(m, "send") && m != "sendChatAction" || m == "copyMessage" || m == "forwardMessage" ||
		strings.HasPrefix(m, "editMessage")
}

// spikeDriver plays Telegram for the spike.
type spikeDriver struct {
	o      SpikeOptions
	url    string
	secret string
	rec    *recorder
	sent   []atomic.Int64
	client *http.Client
	conns  chan struct{} // requests in flight (FIFO for those waiting)

	nextUpdate atomic.Int64
	resent     atomic.Int64
	mu         sync.Mutex
	status     map[string]int64
}

// run plays every person and returns their messages.
func (d *spikeDriver) run(ctx context.Context) []*spikeMsg {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(d.o.Seed, d.o.Seed^0x5bd1e995))
	type plan struct {
		at        time.Duration
		emergency bool
		gaps      []time.Duration
	}
	plans := make([]plan, d.o.People)
	for i := range plans {
		p := plan{at: time.Duration(rng.Int64N(int64(d.o.Window))), emergency: rng.Float64() < d.o.EmergencyShare}
		for range d.o.Updates - 1 {
			p.gaps = append(p.gaps, d.o.Gap/2+time.Duration(rng.Int64N(int64(d.o.Gap)+1)))
		}
		plans[i] = p
	}
	out := make([][]*spikeMsg, d.o.People)
	var wg sync.WaitGroup
	for i := range d.o.People {
		wg.Go(func() {
			p := plans[i]
			u := newSimUser(firstChat+int64(i), d.rec.mailbox(firstChat+int64(i)), d.o.Seed+uint64(i)*0x9e3779b97f4a7c15)
			at := t0.Add(p.at)
			for k := range d.o.Updates {
				if k > 0 {
					at = at.Add(p.gaps[k-1])
				}
				if backoff.Wait(ctx, time.Until(at)) != nil {
					return
				}
				m := &spikeMsg{person: i, written: time.Now(), first: k == 0}
				var act action
				switch {
				case k == 0 && p.emergency:
					act, m.emergency = u.text(d.nextUpdate.Add(1), "emergency", emergencyWords[u.rng.IntN(len(emergencyWords))]), true
				case k == 0:
					act = u.text(d.nextUpdate.Add(1), "start", "/start")
				default:
					act = d.follow(u)
				}
				before := d.sent[i].Load()
				ok := d.deliver(ctx, act.body, m)
				replies := u.box.take()
				if ok {
					m.msgs = int(d.sent[i].Load() - before)
					for _, r := range replies {
						if !r.edit {
							m.answered = r.at
							break
						}
					}
					u.record(m.written, m.written, true, 1, replies)
				}
				out[i] = append(out[i], m)
			}
		})
	}
	wg.Wait()
	var all []*spikeMsg
	for _, ms := range out {
		all = append(all, ms...)
	}
	return all
}

// follow is a person's next message: a button of the last answer they got,
// else a typed word (an emergency word now and then).
func (d *spikeDriver) follow(u *simUser) action {
	id := d.nextUpdate.Add(1)
	for i := len(u.last) - 1; i >= 0; i-- {
		if b := u.last[i].buttons; len(b) > 0 {
			return u.press(id, "button", u.last[i].msgID, b[u.rng.IntN(len(b))])
		}
	}
	return u.text(id, "type", otherWords[u.rng.IntN(len(otherWords))])
}

// deliver POSTs an update as Telegram does: one request per free
// connection, again after a non-2xx answer or a timeout, with a pause that
// doubles from 1 s to 30 s, until it is accepted or Timeout has passed since
// it was written.
func (d *spikeDriver) deliver(ctx context.Context, body []byte, m *spikeMsg) bool {
	giveUp := m.written.Add(d.o.Timeout)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			d.resent.Add(1)
			if backoff.Wait(ctx, min(time.Second<<(attempt-1), 30*time.Second)) != nil {
				return false
			}
		}
		if time.Now().After(giveUp) || ctx.Err() != nil {
			return false
		}
		status := d.post(ctx, body, m)
		d.mu.Lock()
		d.status[status]++
		d.mu.Unlock()
		if status == "200" {
			return true
		}
	}
}

func (d *spikeDriver) post(ctx context.Context, body []byte, m *spikeMsg) string {
	select {
	case d.conns <- struct{}{}:
		defer func() { <-d.conns }()
	case <-ctx.Done():
		return "canceled"
	}
	if m.reached.IsZero() {
		m.reached = time.Now()
	}
	rctx, cancel := context.WithTimeout(ctx, d.o.PostTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.url, bytesReader(body))
	if err != nil {
		return "error"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", d.secret)
	resp, err := d.client.Do(req)
	if err != nil {
		if rctx.Err() != nil && ctx.Err() == nil {
			return "timeout"
		}
		return "network error"
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}
