package announce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Subscribers is what the sender needs of the subscription store
// (internal/subscribe; declared here, where it is used).
type Subscribers interface {
	// Count is how many live subscriptions a topic has in a language.
	Count(ctx context.Context, topic, lang string) (int, error)
	// Page walks the subscribers of topic in lang: start with cursor "" and
	// stop when next is "".
	Page(ctx context.Context, topic, lang, cursor string, n int) (users []string, next string, err error)
	// Remove ends a person's subscriptions (topic "" = all of them).
	Remove(ctx context.Context, user, topic string) error
}

// Deliverer sends one message (Telegram HTML) to a person.
type Deliverer interface {
	// Deliver waits for the message's turn (rate limits), then calls ready
	// right before the request goes out, and sends only if ready returns
	// nil (else it returns ready's error). It returns nil once the message
	// is sent, ErrBlocked when the person blocked the bot, or another error
	// when it could not be sent. It waits out 429 retry_after itself.
	Deliver(ctx context.Context, user, text string, ready func() error) error
}

// ErrBlocked is returned by a Deliverer for a person who blocked the bot.
var ErrBlocked = errors.New("the person blocked the bot")

// errNotClaimed: the recipient is no longer claimed (withdrawn): not sent.
var errNotClaimed = errors.New("recipient no longer claimed")

// Worker sends approved announcements, one at a time. Every replica of
// `putokaz serve` runs one; the lease of an announcement lets only one of
// them send it, and another takes it over when the holder dies (its lease
// runs out).
type Worker struct {
	Queue       *Queue
	Subscribers Subscribers
	Deliverer   Deliverer
	// Rate is the most messages per second the worker sends (default 30).
	Rate float64
	// InFlight is how many messages may be on their way at once (default:
	// what 0.2 s of Rate is, 1 to 256, for Telegram's latency). A kill of
	// the process leaves at most these unknown: only the ones whose request
	// may have gone out (Sending); the ones claimed and not yet sent are
	// sent by the next worker.
	InFlight int
	// LeaseTTL is how long a dead worker holds an announcement (default
	// 15 s); Poll is how often the queue is looked at (default 1 s).
	LeaseTTL, Poll time.Duration
	// Drain bounds how long messages in flight may take when the worker
	// stops (default 30 s); what is still in flight then is counted unknown.
	Drain   time.Duration
	Log     *slog.Logger
	Metrics *Metrics
}

func (w *Worker) defaults() {
	if w.Rate <= 0 {
		w.Rate = 30
	}
	if w.LeaseTTL <= 0 {
		w.LeaseTTL = 15 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Drain <= 0 {
		w.Drain = 30 * time.Second
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.Metrics == nil {
		w.Metrics, _ = NewMetrics(nil)
	}
}

// Run looks at the queue every Poll and sends what is approved, until ctx
// ends.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		if err := w.Once(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("urgent updates: queue not readable; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once does one round: ends what expired, cleans up what ended, and sends
// the oldest approved announcement unless another worker is sending it.
func (w *Worker) Once(ctx context.Context) error {
	w.defaults()
	list, err := w.Queue.List(ctx)
	if err != nil {
		return err
	}
	for _, st := range list {
		if ctx.Err() != nil {
			return nil
		}
		if !st.State.Terminal() && !st.Expires.After(w.Queue.now()) {
			if err := w.Queue.expireIfDue(ctx, st.ID); err != nil {
				return err
			}
			st, err = w.Queue.Status(ctx, st.ID)
			if err != nil {
				return err
			}
		}
		switch {
		case st.State.Terminal():
			if err := w.tidy(ctx, st.ID); err != nil {
				return err
			}
		case (st.State == StateApproved || st.State == StateSending) && !st.Paused:
			// Only the oldest: one update at a time across replicas (when
			// another replica holds it, this one waits), so the rate is
			// the configured one, not one per replica.
			_, err := w.send(ctx, st.ID)
			return err
		}
	}
	return nil
}

// tidy deletes the lists of an ended announcement once, under its lease.
func (w *Worker) tidy(ctx context.Context, id string) error {
	cleaned, err := w.Queue.rdb.HGet(ctx, w.Queue.k.Meta(id), "cleaned").Result()
	if err == nil && cleaned == "1" {
		return nil
	}
	token := newToken()
	ok, err := w.Queue.acquire(ctx, id, token, w.LeaseTTL)
	if err != nil || !ok {
		return err // someone else holds it: they will tidy
	}
	defer w.Queue.release(context.WithoutCancel(ctx), id, token)
	return w.Queue.cleanup(ctx, id, token)
}

// send sends one announcement while it holds its lease. sent is false when
// another worker holds it.
func (w *Worker) send(ctx context.Context, id string) (sent bool, err error) {
	token := newToken()
	ok, err := w.Queue.acquire(ctx, id, token, w.LeaseTTL)
	if err != nil || !ok {
		return false, err
	}
	log := w.Log.With("update", id)
	// The lease is renewed in the background; when that fails the send
	// stops taking new recipients (another worker may have it now).
	sendCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var done atomic.Int64 // messages finished, for the published rate
	hb := make(chan struct{})
	go func() {
		defer close(hb)
		w.heartbeat(sendCtx, id, token, &done, func(err error) { stop(err) })
	}()
	defer func() {
		stop(nil)
		<-hb
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := w.Queue.release(rctx, id, token); rerr != nil {
			log.Warn("urgent update: lease not released; another worker waits for it to run out", "err", rerr)
		}
	}()
	st, err := w.Queue.Status(sendCtx, id)
	if err != nil {
		return true, err
	}
	if st.State == StateApproved {
		if err := w.list(sendCtx, st, token); err != nil {
			return true, w.stopErr(sendCtx, err)
		}
		log.Info("urgent update: recipients listed; sending")
	}
	why, err := w.deliver(ctx, sendCtx, st, token, &done)
	if err != nil {
		return true, w.stopErr(sendCtx, err)
	}
	log.Info("urgent update: sender stopped", "why", why)
	if why == "done" || why == "expired" || why == "cancelled" {
		if st, err := w.Queue.Status(ctx, id); err == nil {
			log.Info("urgent update ended", "state", st.State, "sent", st.Sent, "blocked", st.Blocked,
				"failed", st.Failed, "unknown", st.Unknown, "withdrawn", st.Withdrawn)
		}
		if err := w.Queue.cleanup(context.WithoutCancel(ctx), id, token); err != nil && !errors.Is(err, errLeaseLost) {
			return true, err
		}
	}
	return true, nil
}

// stopErr turns the end of the send's context into no error (stopping, or
// the lease lost: another worker goes on).
func (w *Worker) stopErr(sendCtx context.Context, err error) error {
	if errors.Is(err, errLeaseLost) || sendCtx.Err() != nil {
		return nil
	}
	return err
}

func (w *Worker) heartbeat(ctx context.Context, id, token string, done *atomic.Int64, lost func(error)) {
	every := w.LeaseTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	last, lastAt := done.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := done.Load()
			r := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			err := w.Queue.renew(ctx, id, token, w.LeaseTTL, r)
			if errors.Is(err, errLeaseLost) {
				w.Log.Warn("urgent update: lease lost; another worker goes on", "update", id)
				lost(err)
				return
			}
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("urgent update: lease not renewed; trying again", "update", id, "err", err)
			}
		}
	}
}

// list snapshots the recipients: the subscribers of every topic in every
// language, each person once, paged with a cursor kept in Redis.
func (w *Worker) list(ctx context.Context, st Status, token string) error {
	raw, err := w.Queue.rdb.HGet(ctx, w.Queue.k.Meta(st.ID), "snap").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read listing position of update %s: %w", st.ID, err)
	}
	pos := parseSnap(raw)
	until := st.Expires.Add(personalGrace)
	for pos.topic < len(st.Topics) {
		for pos.lang < len(st.Langs) {
			users, next, err := w.Subscribers.Page(ctx, st.Topics[pos.topic], st.Langs[pos.lang], pos.cursor, 1000)
			if err != nil {
				return fmt.Errorf("list subscribers of update %s: %w", st.ID, err)
			}
			after := snapPos{topic: pos.topic, lang: pos.lang, cursor: next}
			if next == "" {
				after = snapPos{topic: pos.topic, lang: pos.lang + 1}
			}
			if err := w.Queue.snapshot(ctx, st.ID, token, st.Langs[pos.lang], after.String(), until, users); err != nil {
				return err
			}
			pos = after
		}
		pos = snapPos{topic: pos.topic + 1}
	}
	return w.Queue.start(ctx, st.ID, token)
}

// deliver sends to the recipients, at most Rate per second with a few
// messages in flight, until the list ends or the send must stop. It
// returns why it stopped. Messages being sent finish (within Drain) even
// when ctx ends, so that their results are recorded; recipients claimed and
// not yet handed to the Bot API go back to the queue.
func (w *Worker) deliver(ctx, sendCtx context.Context, st Status, token string, done *atomic.Int64) (string, error) {
	inFlight := w.InFlight
	if inFlight <= 0 {
		// Enough in flight to keep the rate with Telegram's latency
		// (~0.2 s).
		inFlight = min(max(int(math.Ceil(w.Rate*0.2)), 1), 256)
	}
	// Recipients are claimed a few at a time (what 50 ms of the rate
	// sends): fewer round trips than one each, and a kill re-queues them.
	batch := min(max(int(math.Ceil(w.Rate*0.05)), 1), inFlight)
	// The limiter allows a burst of one batch, so that a late wake-up
	// (a busy machine) does not cost rate; the average stays at Rate.
	lim := rate.NewLimiter(rate.Limit(w.Rate), batch)
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	var ended outcomes // sends that ended, recorded with the next send's step
	// flush records what no send carried, once the sends have ended.
	flush := func() {
		wg.Wait()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := w.Queue.results(rctx, st.ID, ended.take()); err != nil {
			w.Log.Warn("urgent update: results not recorded (those people are counted unknown)", "update", st.ID, "err", err)
		}
	}
	// Sends outlive sendCtx by at most Drain, so a stop records results.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		// Whatever ends the loop (an error of Redis too), the messages on
		// their way finish, within Drain, and are recorded: cutting them
		// off would leave them unknown, and maybe never sent.
		t := time.AfterFunc(w.Drain, cancel)
		defer t.Stop()
		flush()
		cancel()
	}()
	stopDrain := context.AfterFunc(sendCtx, func() {
		t := time.AfterFunc(w.Drain, cancel)
		context.AfterFunc(dctx, func() { t.Stop() })
	})
	defer stopDrain()
	// settle ends a stop: once our sends are recorded, what we claimed and
	// did not send goes back to the queue at once (not when the next worker
	// takes the lease).
	settle := func() {
		flush()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := w.Queue.acquireAgain(rctx, st.ID, token); err != nil && !errors.Is(err, errLeaseLost) {
			w.Log.Warn("urgent update: claimed recipients not re-queued; the next worker does it", "update", st.ID, "err", err)
		}
	}
	texts := map[string]string{}
	until := st.Expires.Add(personalGrace)
	var claimedBuf []string // claimed, not yet handed to the Bot API
	for {
		if sendCtx.Err() != nil {
			settle()
			return "stopping", nil
		}
		slots <- struct{}{} // a free slot first, so nothing is claimed long before it is sent
		if len(claimedBuf) == 0 {
			c, err := w.Queue.claim(sendCtx, st.ID, token, min(batch, inFlight-len(slots)+1), until)
			if err != nil {
				<-slots
				return "", err
			}
			switch c.stop {
			case "":
				claimedBuf = c.entries
			case "drain":
				<-slots
				// Only entries another worker left (or a result that
				// could not be recorded): once ours are recorded, those
				// claimed go back to the queue, those being sent are
				// counted unknown.
				flush()
				if _, err := w.Queue.acquireAgain(sendCtx, st.ID, token); err != nil {
					return "", err
				}
				continue
			case "lease":
				<-slots
				return "", errLeaseLost
			default:
				<-slots
				if c.stop == "expired" {
					if now, err := w.Queue.Status(sendCtx, st.ID); err == nil {
						w.Metrics.skipped.WithLabelValues("expired").Add(float64(now.Left()))
					}
				}
				// Paused, cancelled, expired: the messages on their way
				// finish (the deferred flush).
				return c.stop, nil
			}
			if len(claimedBuf) == 0 {
				<-slots
				continue
			}
		}
		e := claimedBuf[0]
		lang, user, _ := strings.Cut(e, " ")
		text, ok := texts[lang]
		if !ok {
			var err error
			if text, err = w.Queue.Text(dctx, st.ID, lang); err != nil {
				<-slots
				return "", err
			}
			texts[lang] = text
		}
		if err := lim.Wait(sendCtx); err != nil {
			<-slots
			settle() // e and the rest of the claim go back to the queue
			return "stopping", nil
		}
		claimedBuf = claimedBuf[1:]
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if w.one(dctx, st.ID, token, e, user, text, until, &ended) {
				done.Add(1)
			}
		}()
	}
}

// one sends to one person; how it ended goes to ended, recorded with a
// later send's step (or flushed). It reports false when nothing was tried:
// the entry was no longer claimed (the person erased their data), or marking
// it sending failed (it stays claimed, and goes back to the queue).
func (w *Worker) one(ctx context.Context, id, token, entry, user, text string, until time.Time, ended *outcomes) bool {
	asked, marked := false, false
	ready := func() error {
		asked = true
		prev := ended.take()
		ok, err := w.Queue.sending(ctx, id, token, entry, until, prev)
		if err != nil && !errors.Is(err, errLeaseLost) {
			ended.add(prev...) // maybe not recorded: again (counted once)
			w.Log.Warn("urgent update: a recipient could not be marked sending; not sent now", "update", id, "err", err)
		}
		if err != nil {
			return err
		}
		if !ok {
			return errNotClaimed
		}
		marked = true
		return nil
	}
	err := w.Deliverer.Deliver(ctx, user, text, ready)
	if !marked {
		if asked || ctx.Err() != nil {
			return false // stays claimed, or was withdrawn: not sent
		}
		// Refused before its turn (not a Telegram user): failed, not
		// claimed again and again.
		if ready() != nil {
			return false
		}
	}
	counter := "sent"
	switch {
	case err == nil:
		w.Metrics.sent.Inc()
	case errors.Is(err, ErrBlocked):
		counter = "blocked"
		w.Metrics.skipped.WithLabelValues("blocked").Inc()
		// Telegram said so: the person no longer wants anything from us.
		if rerr := w.Subscribers.Remove(ctx, user, ""); rerr != nil {
			w.Log.Warn("urgent update: subscriptions of a person who blocked the bot not removed", "update", id, "err", rerr)
		}
	case ctx.Err() != nil:
		counter = "unknown" // cut off while stopping: maybe sent, never again
		w.Metrics.skipped.WithLabelValues("unknown").Inc()
	default:
		counter = "failed"
		w.Metrics.failed.Inc()
		w.Log.Warn("urgent update: a message could not be sent", "update", id, "err", err)
	}
	ended.add(outcome{entry, counter})
	return true
}

// outcomes collects how sends ended until a step records them.
type outcomes struct {
	mu   sync.Mutex
	list []outcome
}

func (o *outcomes) add(x ...outcome) {
	o.mu.Lock()
	o.list = append(o.list, x...)
	o.mu.Unlock()
}

func (o *outcomes) take() []outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	x := o.list
	o.list = nil
	return x
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
