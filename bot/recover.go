package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"putokaz/internal/backoff"
	"putokaz/internal/lease"
)

// Crash recovery of the update state machine (dispatch.go, state.go).
//
// Exactly once, as far as it holds (README, "Running on Telegram"):
//
//   - Redis unreachable when an update ends (its replies sent): the end —
//     done mark, session write, keyboard state, lease release — is kept in
//     this process (pendingRecords, at most maxPendingRecords chats) and
//     recorded as soon as Redis answers: by a background flusher, and in
//     any case before the chat's next update is handled here. The update
//     is never answered 200 while its end is only in memory: the webhook
//     answers 503 (reason record_pending), and Telegram's re-send, handled
//     after the end is recorded, is a duplicate. A Redis restart therefore
//     answers nothing twice. What it cannot cover: this process dying
//     before Redis is back (the re-send is handled again: its replies
//     repeat, its effect is applied once, from the session it started
//     from), and, with several replicas and a Redis that lost its data, a
//     re-send reaching another replica before the end is recorded.
//   - A killed process: its lease tokens name their instance and update
//     (leaseToken). A re-delivery of that same update takes the lease over
//     as soon as the instance's heartbeat (keys.Instance, renewed every
//     heartbeatEvery, TTL heartbeatTTL) has been seen missing for a
//     heartbeatEvery, or the lease is older than any attempt can hold it;
//     any other update of the chat waits for the lease to expire, so two
//     different updates of one chat never run at once. The update is
//     handled again from the session it started from, and the reply groups
//     the killed process had recorded as sent are skipped
//     (recover_progress.go): only the one in flight at the kill can be
//     seen twice. A live process cut off from
//     Redis for longer than heartbeatTTL while handling looks the same: if
//     it still sends its replies, that update is answered twice. A handler
//     whose lease was taken over stops at its next renewal, and never takes
//     the chat back once its update is done (renewScript).

const (
	// maxPendingRecords bounds the ends kept in memory (one per chat: a
	// chat with a pending end takes no new update until it is recorded).
	maxPendingRecords = 10000
	// heartbeatEvery is how often a process renews its heartbeat key;
	// heartbeatTTL is its lifetime, so a killed process is seen gone
	// within heartbeatTTL+heartbeatEvery (about 2 s).
	heartbeatEvery = 500 * time.Millisecond
	heartbeatTTL   = 3 * heartbeatEvery
	// heartbeatRetry is how soon a failed renewal is tried again.
	heartbeatRetry = 100 * time.Millisecond
	// finishBudget bounds Dispatcher.finish: three tries of at most 5 s
	// with short pauses.
	finishBudget = 16 * time.Second
)

// retryError is a failure after which the update must be delivered again,
// with the reason the webhook logs and counts (putokaz_bot_webhook_retry_total).
type retryError struct {
	reason string
	err    error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryLater labels err with a reason: busy, shutting_down,
// redis_unreachable, record_pending, lease_lost, handler_failed,
// send_failed.
func retryLater(reason string, err error) error {
	var re *retryError
	if errors.As(err, &re) {
		return err // keep the innermost reason
	}
	return &retryError{reason: reason, err: err}
}

// retryReason returns the reason of an error of Process ("error" if none).
func retryReason(err error) string {
	var re *retryError
	switch {
	case errors.As(err, &re):
		return re.reason
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrShuttingDown):
		return "shutting_down"
	case errors.Is(err, errLeaseLost):
		return "lease_lost"
	}
	return "error"
}

// retryStatus is the webhook's answer to a failed update: 503 when the
// update was not handled for a reason outside it (the chat busy, draining,
// Redis), 500 when its handling failed.
func retryStatus(reason string) int {
	switch reason {
	case "busy", "shutting_down", "redis_unreachable", "record_pending":
		return 503
	}
	return 500
}

// leaseToken is the fencing token of one attempt: "<instance>.<update
// id>.<start unix ms>.<random>". Whoever finds the lease busy can tell which
// update holds it, in which process, since when (parseLeaseToken).
func (d *Dispatcher) leaseToken(updateID int64) string {
	return d.instance + "." + strconv.FormatInt(updateID, 10) + "." +
		strconv.FormatInt(time.Now().UnixMilli(), 10) + "." + lease.NewToken()[:16]
}

type leaseHolder struct {
	instance string
	updateID int64
	start    time.Time
}

func parseLeaseToken(tok string) (leaseHolder, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] == "" {
		return leaseHolder{}, false
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	ms, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return leaseHolder{}, false
	}
	return leaseHolder{instance: parts[0], updateID: id, start: time.UnixMilli(ms)}, true
}

// holderGone reports whether the lease held by holder may be taken over by
// this attempt at updateID: the holder handles the same update and is not
// running any more. absentSince carries, across the waits of one begin, when
// the holder's heartbeat was first seen missing. Called with the chat's
// in-process lock held.
func (d *Dispatcher) holderGone(ctx context.Context, holder string, updateID int64, absentSince *time.Time) bool {
	h, ok := parseLeaseToken(holder)
	if !ok || h.updateID != updateID {
		return false // another update of the chat: per-chat order waits for it
	}
	if h.instance == d.instance {
		// Ours, while we hold the chat's in-process lock: that attempt has
		// returned (its end was not recorded, and the lease outlived it).
		return true
	}
	if time.Since(h.start) > d.staleLeaseAge() {
		return true // no live attempt renews its lease this long
	}
	if d.alive == nil {
		return false
	}
	alive, err := d.alive(ctx, h.instance)
	if err != nil || alive {
		*absentSince = time.Time{}
		return false
	}
	// Seen missing twice, a heartbeat period apart: a live process whose
	// heartbeat lapsed during a Redis outage has renewed it by then.
	if absentSince.IsZero() {
		*absentSince = time.Now()
		return false
	}
	return time.Since(*absentSince) >= heartbeatEvery
}

// staleLeaseAge is how long an attempt can hold its lease at most: its
// handling (HandleTimeout), then finish with its retries (finishBudget),
// then the last renewal's LeaseTTL.
func (d *Dispatcher) staleLeaseAge() time.Duration {
	return d.lim.HandleTimeout + finishBudget + d.lim.LeaseTTL
}

// startHeartbeat starts renewing this process's heartbeat (with Redis),
// once, when it takes its first update.
func (d *Dispatcher) startHeartbeat() {
	if d.beat == nil {
		return
	}
	d.beatOnce.Do(func() {
		// next is when to beat again: a period after a renewal, but soon
		// after a failure, so that once Redis is back the heartbeat is
		// renewed well before another replica, which looks twice a period
		// apart, takes this process's leases for a dead one's.
		beat := func() (next time.Duration) {
			ctx, cancel := context.WithTimeout(context.Background(), heartbeatEvery)
			defer cancel()
			if err := d.beat(ctx); err != nil {
				d.m.redisErrors.WithLabelValues("heartbeat").Inc()
				return heartbeatRetry
			}
			return heartbeatEvery
		}
		next := beat()
		go func() {
			t := time.NewTimer(next)
			defer t.Stop()
			for {
				select {
				case <-d.beatStop:
					return
				case <-t.C:
					t.Reset(beat())
				}
			}
		}()
	})
}

func (d *Dispatcher) stopHeartbeat() {
	d.beatOnce.Do(func() {}) // never start it after this
	d.drainMu.Lock()
	defer d.drainMu.Unlock()
	select {
	case <-d.beatStop:
	default:
		close(d.beatStop)
	}
}

// pendingRecords are ends of updates that could not be recorded in Redis,
// by chat.
type pendingRecords struct {
	mu       sync.Mutex
	m        map[string]*pendingRecord
	flushing bool // the background flusher runs
}

type pendingRecord struct {
	updateID int64
	token    string
	chatID   int64
	f        finishArgs
	since    time.Time
}

// keepPending keeps the end of an update for later; false if too many are
// kept already (the update is then handled again on re-delivery).
func (d *Dispatcher) keepPending(chat string, r pendingRecord) bool {
	p := &d.pending
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*pendingRecord{}
	}
	if _, ok := p.m[chat]; !ok && len(p.m) >= maxPendingRecords {
		d.m.pendingDropped.Inc()
		return false
	}
	p.m[chat] = &r
	d.m.pending.Set(float64(len(p.m)))
	if !p.flushing {
		p.flushing = true
		go d.flushLoop()
	}
	return true
}

// flushPending records the chat's pending end, if any. Called with the
// chat's in-process lock held.
func (d *Dispatcher) flushPending(ctx context.Context, chat string) error {
	p := &d.pending
	p.mu.Lock()
	r := p.m[chat]
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	f := r.f
	f.flush = true
	if _, err := d.state.finish(fctx, chat, r.updateID, r.token, f); err != nil {
		d.m.redisErrors.WithLabelValues("flush").Inc()
		return fmt.Errorf("record the end of update %d kept in memory: %w", r.updateID, err)
	}
	p.mu.Lock()
	if p.m[chat] == r {
		delete(p.m, chat)
	}
	d.m.pending.Set(float64(len(p.m)))
	p.mu.Unlock()
	d.m.pendingFlushed.Inc()
	d.log.Info("recorded the end of an update kept in memory while Redis was unreachable", "update_id", r.updateID,
		"chat", d.hash(r.chatID), "after_ms", time.Since(r.since).Milliseconds())
	return nil
}

// flushLoop records pending ends as soon as Redis answers, retrying with
// backoff (100 ms to 1 s), until none is left.
func (d *Dispatcher) flushLoop() {
	delay := 100 * time.Millisecond
	for {
		time.Sleep(delay)
		if d.flushRound(context.Background(), 10*time.Millisecond) {
			return
		}
		delay = min(delay*2, time.Second)
	}
}

// flushRound tries to record every pending end once; a chat whose lock is
// not free within lockWait is left to its handler, which flushes first.
// It reports whether none is left (and then the flusher has stopped).
func (d *Dispatcher) flushRound(ctx context.Context, lockWait time.Duration) bool {
	p := &d.pending
	p.mu.Lock()
	chats := make([]string, 0, len(p.m))
	for c := range p.m {
		chats = append(chats, c)
	}
	p.mu.Unlock()
	for _, chat := range chats {
		lctx, cancel := context.WithTimeout(ctx, lockWait)
		unlock, err := d.locks.Lock(lctx, chat)
		cancel()
		if err != nil {
			continue
		}
		err = d.flushPending(ctx, chat)
		unlock()
		if err != nil {
			break // Redis still unreachable: try all again later
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 {
		p.flushing = false
		return true
	}
	return false
}

// flushAll records what is pending at shutdown, until ctx ends, and says
// how much could not be recorded (those updates are handled again when
// Telegram re-sends them).
func (d *Dispatcher) flushAll(ctx context.Context) error {
	for {
		d.pending.mu.Lock()
		n := len(d.pending.m)
		d.pending.mu.Unlock()
		if n == 0 {
			return nil
		}
		d.flushRound(ctx, time.Second)
		if backoff.Wait(ctx, 100*time.Millisecond) != nil {
			d.pending.mu.Lock()
			n = len(d.pending.m)
			d.pending.mu.Unlock()
			if n == 0 {
				return nil
			}
			d.log.Error("ends of updates not recorded at shutdown; Telegram's re-sends will be handled again", "count", n)
			return fmt.Errorf("%d ends of updates not recorded: Redis unreachable", n)
		}
	}
}
