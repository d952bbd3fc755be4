package loadtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"putokaz/internal/backoff"
)

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
