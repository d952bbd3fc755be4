package referral

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"putokaz/internal/backoff"
	"putokaz/internal/lease"
)

// worker delivers one outbox stream. Only the holder of the stream's lease
// reads it, so entries go out one at a time, in order, and a staff group's
// rate limit is not multiplied by the number of replicas.
type worker struct {
	s        *Desk
	stream   string
	deliver  func(ctx context.Context, e entry) error
	attempts int
	base     time.Duration
	maxWait  time.Duration
}

// workers returns the outbox streams this configuration delivers: one per
// staff group, the person stream (through conv), and one per queue with a
// webhook.
func (s *Desk) workers(conv Conversation) []*worker {
	groups := map[int64]bool{}
	var hooks []string
	for key, q := range s.cfg.Queues {
		groups[q.Group] = true
		if q.WebhookURL != "" {
			hooks = append(hooks, key)
		}
	}
	sort.Strings(hooks)
	gs := make([]int64, 0, len(groups))
	for g := range groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i] < gs[j] })
	var out []*worker
	for _, g := range gs {
		out = append(out, &worker{s: s, stream: s.staffStream(g), deliver: s.deliverStaff, attempts: s.cfg.Attempts,
			base: s.cfg.BackoffBase, maxWait: s.cfg.BackoffMax})
	}
	deliverPerson := func(ctx context.Context, e entry) error { return s.deliverPerson(ctx, conv, e) }
	out = append(out, &worker{s: s, stream: personStream, deliver: deliverPerson, attempts: s.cfg.Attempts,
		base: s.cfg.BackoffBase, maxWait: s.cfg.BackoffMax})
	for _, key := range hooks {
		q := s.cfg.Queues[key]
		out = append(out, &worker{s: s, stream: "hook:" + key, attempts: s.cfg.WebhookAttempts,
			base: s.cfg.WebhookBackoffBase, maxWait: s.cfg.WebhookBackoffMax,
			deliver: func(ctx context.Context, e entry) error { return s.deliverHook(ctx, q, e) }})
	}
	return out
}

// Run delivers the outbox until ctx ends: start it with the transport, stop
// it on shutdown (an entry being delivered then is delivered again later,
// by this or another replica). What staff did reaches a person through conv
// (the conversation core, built with this desk as its effect handler).
// It returns nil after ctx ends.
func (s *Desk) Run(ctx context.Context, conv Conversation) error {
	if conv == nil {
		s.log.Warn("no conversation: claimed/closed notices to people in a handoff wait for a replica that has one")
	}
	var wg sync.WaitGroup
	for _, w := range s.workers(conv) {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Go(func() { s.sweepLoop(ctx) })
	if !s.noRemindLoop {
		wg.Go(func() { s.remindLoop(ctx) })
	}
	wg.Wait()
	return nil
}

// sweepLoop looks for cases whose retention ended every SweepEvery (the
// first time soon after the start) and queues the deletion of their
// messages in the staff group. Replicas may sweep at once: each case is
// queued once (store.expire).
func (s *Desk) sweepLoop(ctx context.Context) {
	first := min(s.cfg.SweepEvery, time.Duration(1+rand.Int64N(int64(10*time.Second))))
	for backoff.Wait(ctx, first) == nil {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep for ended cases failed; retrying later", "err", err)
		}
		first = s.cfg.SweepEvery
	}
}

// Sweep queues "expired" on its staff stream for every case whose
// retention ended while its messages are still in the staff group, and
// returns after one pass (the outbox delivers the deletions).
func (s *Desk) Sweep(ctx context.Context) error {
	codes, err := s.store.staleTraces(ctx, traceGrace)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, code := range codes {
		tr, err := s.store.trace(ctx, code)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if tr == nil {
			// Nothing left to delete (the trace expired too).
			if err := s.store.dropTrace(ctx, code); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if _, err := s.store.expire(ctx, code, s.staffStream(tr.group)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *worker) run(ctx context.Context) {
	log := w.s.log.With("stream", w.stream)
	for ctx.Err() == nil {
		if err := w.s.store.ensure(ctx, w.stream); err != nil {
			log.Error("outbox stream not usable; retrying", "err", err)
			_ = backoff.Wait(ctx, time.Second)
			continue
		}
		break
	}
	token := lease.NewToken()
	poll := max(w.s.cfg.LeaseTTL/3, 10*time.Millisecond)
	for ctx.Err() == nil {
		ok, err := w.s.store.lease(ctx, w.stream, token, w.s.cfg.LeaseTTL)
		if err != nil && ctx.Err() == nil {
			log.Warn("outbox lease unavailable; retrying", "err", err)
		}
		if !ok {
			_ = backoff.Wait(ctx, poll)
			continue
		}
		w.hold(ctx, token)
		// Released (or lost): let another replica have a go before we
		// try again.
		_ = backoff.Wait(ctx, poll)
	}
}

// hold delivers while the lease is ours.
func (w *worker) hold(ctx context.Context, token string) {
	log := w.s.log.With("stream", w.stream)
	lctx, lost := context.WithCancel(ctx)
	defer lost()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		every := max(w.s.cfg.LeaseTTL/3, 5*time.Millisecond)
		last := time.Now()
		for backoff.Wait(lctx, every) == nil {
			ok, err := w.s.store.lease(lctx, w.stream, token, w.s.cfg.LeaseTTL)
			switch {
			case err == nil && ok:
				last = time.Now()
			case err == nil && !ok, time.Since(last) >= w.s.cfg.LeaseTTL:
				if lctx.Err() == nil {
					log.Warn("outbox lease lost; another worker takes over")
				}
				lost()
				return
			}
		}
	}()
	defer func() {
		lost()
		<-renewed
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = w.s.store.unlease(uctx, w.stream, token)
		cancel()
	}()
	for lctx.Err() == nil {
		entries, wait, err := w.s.store.read(lctx, w.stream, w.s.consumer, w.s.cfg.MinIdle, w.s.cfg.Block, 16)
		if errors.Is(err, errStreamLost) {
			w.s.m.streamsLost.WithLabelValues(w.stream).Inc()
			log.Error("outbox stream lost with Redis's data; created again so that new entries are delivered", "err", err)
			continue
		}
		if err != nil {
			if lctx.Err() == nil {
				log.Warn("outbox read failed; retrying", "err", err)
				_ = backoff.Wait(lctx, time.Second)
			}
			continue
		}
		if wait {
			// Older entries of a dead consumer are not claimable yet.
			_ = backoff.Wait(lctx, min(max(w.s.cfg.MinIdle/4, 10*time.Millisecond), time.Second))
			continue
		}
		if len(entries) == 0 {
			w.s.m.lag.WithLabelValues(w.stream).Set(0)
			w.sample(lctx)
			continue
		}
		for _, e := range entries {
			if !w.one(lctx, e) {
				break // retry from the oldest entry after the backoff
			}
		}
		w.sample(lctx)
	}
}

func (w *worker) sample(ctx context.Context) {
	if n, err := w.s.store.pending(ctx, w.stream); err == nil {
		w.s.m.pending.WithLabelValues(w.stream).Set(float64(n))
	}
}

// one delivers an entry; false means it failed and will be retried (after
// the backoff already waited here).
func (w *worker) one(ctx context.Context, e entry) bool {
	log := w.s.log.With("stream", w.stream, "event", e.Event, "case", w.s.hash(e.Code))
	if t := e.time(); !t.IsZero() {
		w.s.m.lag.WithLabelValues(w.stream).Set(time.Since(t).Seconds())
	}
	if w.s.beforeDeliver != nil {
		w.s.beforeDeliver(ctx, w.stream, e)
		if ctx.Err() != nil {
			return false
		}
	}
	var err error
	if e.Event == "" || e.Code == "" {
		err = errSkip // deleted while pending: nothing to deliver
	} else {
		err = w.deliver(ctx, e)
	}
	if ctx.Err() != nil {
		return false // stopping or lease lost: not the entry's fault
	}
	if err == nil || errors.Is(err, errSkip) {
		if w.s.beforeAck != nil {
			w.s.beforeAck(ctx, w.stream, e)
			if ctx.Err() != nil {
				return false
			}
		}
		if aerr := w.s.store.ack(ctx, w.stream, e); aerr != nil {
			log.Warn("could not acknowledge a delivered entry; it may be delivered again", "err", aerr)
			return false
		}
		if err == nil {
			w.s.m.delivered.WithLabelValues(w.stream, e.Event).Inc()
		} else {
			w.s.m.skipped.WithLabelValues(w.stream, e.Event).Inc()
		}
		return true
	}
	n, ferr := w.s.store.fail(ctx, w.stream, e)
	if ferr != nil {
		log.Warn("could not count a failed delivery", "err", ferr)
		_ = backoff.Wait(ctx, w.backoff(1))
		return false
	}
	if n >= w.attempts {
		reason := reasonOf(err)
		if berr := w.s.store.bury(ctx, w.stream, e, reason, n, w.s.cfg.DeadMax); berr != nil {
			log.Error("could not move an undeliverable entry to the dead-letter stream", "err", berr)
			_ = backoff.Wait(ctx, w.backoff(n))
			return false
		}
		w.s.m.dead.WithLabelValues(w.stream, e.Event).Inc()
		log.Error("ALERT: outbox entry could not be delivered and was moved to the dead-letter stream; staff did not get it",
			"attempts", n, "reason", reason)
		return true
	}
	w.s.m.retried.WithLabelValues(w.stream, e.Event).Inc()
	wait := w.backoff(n)
	log.Warn("outbox delivery failed; will retry", "attempt", n, "retry_in", wait.String(), "reason", reasonOf(err))
	_ = backoff.Wait(ctx, wait)
	return false
}

// errSkip: nothing to deliver any more (the case expired, was withdrawn,
// or the card is posted already); the entry is acknowledged.
var errSkip = errors.New("nothing to deliver")

// backoff is the pause after the n-th failure: exponential, capped, with
// jitter so that replicas do not retry in step.
func (w *worker) backoff(n int) time.Duration {
	d := backoff.Window(w.base, w.maxWait, n)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// reasonOf classifies an error for the dead-letter stream and logs without
// its text (a Bot API description or an HTTP body might quote data).
func reasonOf(err error) string {
	var he *hookError
	var rl *RateLimitError
	switch {
	case errors.As(err, &he):
		return he.reason()
	case errors.As(err, &rl):
		return "staff side rate limit"
	case errors.Is(err, ErrRejected):
		return "staff side refused (400)"
	case errors.Is(err, ErrForbidden):
		return "staff side forbidden (403): is the bot still in the group?"
	case errors.Is(err, ErrNotFound):
		return "staff side not found (404)"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrUnavailable):
		return "staff side unavailable"
	}
	return "error"
}
