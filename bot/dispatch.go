package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot/models"

	"putokaz/internal/backoff"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/lease"
)

// Conversation is what the transport needs from the conversation core
// (conversation.Runner).
type Conversation interface {
	// HandleSession processes one input of one person and returns what to
	// send. user is "tg:" + the decimal Telegram user ID. sess is the
	// person's session as begin read it with the chat's lease: the new one
	// is staged in it, and finish writes it with the update's done mark.
	// sess is nil without Redis: the conversation then uses its own store.
	HandleSession(ctx context.Context, user string, sess *conversation.Session, in engine.Input) ([]engine.Message, error)
}

// StaffHandler handles updates from configured staff groups (messages,
// edits, callback queries, membership changes); the referral package
// implements it and sends through the Sender. It runs under the group's
// lease like any update. An error makes the update fail and be re-delivered
// (at most Limits.UpdateAttempts times), so it must be idempotent per
// update_id. Callback queries are answered by the transport after it returns
// (without text); a handler that wants to show a text answers the query
// itself and calls CallbackAnswered, so that it is answered once.
type StaffHandler interface {
	HandleStaff(ctx context.Context, u *models.Update) error
}

var (
	// ErrBusy: the chat's lease was not free within Limits.LeaseWait (another
	// update of the chat is being handled, maybe on another replica). The
	// webhook answers 503 so Telegram delivers the update again later.
	ErrBusy = errors.New("chat busy: another update of it is being handled")
	// ErrShuttingDown: the process is draining and takes no new updates.
	ErrShuttingDown = errors.New("shutting down: not taking new updates")

	errLeaseLost = errors.New("chat lease lost before the session was saved")
)

type answeredCtxKey struct{}

// CallbackAnswered tells the transport that the StaffHandler answered the
// callback query of the update being handled itself (with a text): the
// transport then does not answer it a second time.
func CallbackAnswered(ctx context.Context) {
	if a, ok := ctx.Value(answeredCtxKey{}).(*atomic.Bool); ok {
		a.Store(true)
	}
}

// Dispatcher processes updates: the single path shared by the webhook and
// long polling. For each update it deduplicates update_id, serialises the
// chat (an in-process lock, then the Redis lease across replicas), calls the
// Conversation (or the StaffHandler) with panics recovered, sends the replies
// through the Sender, and only then marks the update done.
type Dispatcher struct {
	conv        Conversation
	staff       StaffHandler // nil: staff groups' updates are ignored
	blocked     BlockedHook  // nil: nobody is told
	sender      *Sender
	state       updateState
	inactive    Inactive
	sessionKey  func(user string) string // nil without Redis
	staffGroups map[int64]bool
	lim         Limits
	m           *metrics
	log         *slog.Logger
	hash        func(int64) string
	errorText   func(lang string) string
	locks       lease.Local // per chat, in this process: queue here instead of polling the Redis lease

	// Crash recovery (recover.go): ends of updates not yet recorded in
	// Redis, this process's instance ID (in its lease tokens) and
	// heartbeat, and the liveness check of other instances (nil without
	// Redis).
	pending  pendingRecords
	instance string
	alive    func(ctx context.Context, instance string) (bool, error)
	beat     func(ctx context.Context) error
	beatOnce sync.Once
	beatStop chan struct{}

	drainMu  sync.Mutex
	draining bool
	inflight sync.WaitGroup
	hard     context.Context // cancelled when the drain deadline passes
	hardStop context.CancelFunc
}

// Process handles one update and returns nil once it is handled (or safely
// dropped: a duplicate, an ignored type, a poison update). An error means
// the update must be delivered again: ErrBusy, ErrShuttingDown, or a failure
// of the conversation, Redis or the Bot API. Callback queries are answered
// through the Sender.
func (d *Dispatcher) Process(ctx context.Context, u *models.Update) error {
	_, err := d.process(ctx, u, false)
	return err
}

// process is Process; with deferAnswer the callback query to answer (if any)
// is returned instead of answered, for the webhook response body. It is
// returned only when the update is finished, so the at-least-once guarantee
// holds whatever happens to the response.
func (d *Dispatcher) process(ctx context.Context, u *models.Update, deferAnswer bool) (answer string, err error) {
	start := time.Now()
	typ := "unknown"
	defer func() {
		if r := recover(); r != nil {
			// A bug outside the recovered handler (classification,
			// rendering): log it and drop the update rather than have
			// Telegram re-send it forever.
			d.m.panics.Inc()
			d.m.updates.WithLabelValues(typ, "panic").Inc()
			d.log.Error("panic while processing update; dropped", "update_id", u.ID, "type", typ,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			answer, err = "", nil
		}
	}()
	in := classify(u, d.staffGroups, d.sender.BotUsername())
	typ = in.typ
	outcome, answer, err := d.handle(ctx, u, in, deferAnswer)
	d.m.updates.WithLabelValues(in.typ, outcome).Inc()
	d.m.handleSeconds.WithLabelValues(in.typ).Observe(time.Since(start).Seconds())
	if d.log.Enabled(ctx, slog.LevelDebug) {
		d.log.Debug("update", "update_id", u.ID, "type", in.typ, "chat", d.hash(in.chatID), "outcome", outcome,
			"ms", time.Since(start).Milliseconds())
	}
	return answer, err
}

// handle takes an update along its path: wait for the chat (waitForChat),
// take its lease and read the session (start), run the conversation or the
// staff handler (run), send the replies and record the update's end with
// the session (reply). It returns the outcome label, the callback to answer
// in the webhook response, and the error that requires re-delivery.
func (d *Dispatcher) handle(ctx context.Context, u *models.Update, in inbound, deferAnswer bool) (outcome, answer string, err error) {
	if in.act == actStaff && d.staff == nil {
		in.act, in.ignoreWhy = actIgnore, "ignored"
	}
	if in.act == actIgnore {
		if in.ignoreWhy == outcomeForged || in.ignoreWhy == outcomeNoSender {
			d.log.Warn("update dropped: its sender cannot be trusted", "update_id", u.ID, "type", in.typ,
				"reason", in.ignoreWhy)
		}
		return in.ignoreWhy, d.answerCallback(ctx, in.callbackID, deferAnswer), nil
	}
	if !d.enter() {
		return "shutting_down", "", retryLater("shutting_down", ErrShuttingDown)
	}
	defer d.leave()
	d.startHeartbeat() // once, before the first lease this process takes
	if !deferAnswer && in.callbackID != "" && in.act == actConversation {
		// Stop the client's spinner at once. Staff callbacks are answered
		// after the StaffHandler, which may answer them itself with a text.
		d.answerCallback(ctx, in.callbackID, false)
		in.callbackID = ""
	}

	wctx, cancelWait := context.WithTimeout(ctx, d.lim.LeaseWait)
	defer cancelWait()
	unlock, outcome, err := d.waitForChat(ctx, wctx, u.ID, chatKey(in.chatID))
	if err != nil {
		return outcome, "", err
	}
	defer unlock()
	a, outcome, err := d.start(ctx, wctx, u, in, deferAnswer)
	if err != nil || a == nil {
		if outcome == "duplicate" {
			// The first delivery's webhook answer (if any) may have been
			// lost with its response: answer the callback again; a second
			// answer is harmless.
			return outcome, d.answerCallback(ctx, in.callbackID, deferAnswer), nil
		}
		return outcome, "", err
	}
	defer a.close()
	if a.br.attempt > d.lim.UpdateAttempts {
		return d.dropPoison(a)
	}
	ops, outcome, err := d.run(a)
	if err != nil {
		return "error", "", err
	}
	return d.reply(a, ops, outcome)
}

// begin takes the chat's lease for the update, waiting with backoff while
// another handler holds it, up to the deadline of ctx. A lease held for
// this same update by a handler that is gone (holderGone: a killed
// process) is taken over at once instead of waited out.
func (d *Dispatcher) begin(ctx context.Context, chat string, updateID int64, token string, reactivate bool, sessionKey string) (beginResult, error) {
	var waitStart, absentSince time.Time
	delay := 5 * time.Millisecond
	for {
		br, err := d.state.begin(ctx, chat, updateID, token, reactivate, sessionKey)
		if err != nil {
			if ctx.Err() != nil {
				return br, ErrBusy
			}
			return br, err
		}
		if br.status != beginBusy {
			if !waitStart.IsZero() {
				d.m.leaseWaitSeconds.Observe(time.Since(waitStart).Seconds())
			}
			return br, nil
		}
		if waitStart.IsZero() {
			waitStart = time.Now()
			d.m.leaseWaits.Inc()
		}
		if d.holderGone(ctx, br.holder, updateID, &absentSince) {
			if ok, err := d.state.takeOver(ctx, chat, br.holder, token); err == nil && ok {
				d.m.leaseTakeovers.Inc()
				d.log.Warn("took over the chat lease of a handler that is gone (a re-delivery of its update)",
					"update_id", updateID, "waited_ms", time.Since(waitStart).Milliseconds())
				continue // begin again: the lease holds our token now
			}
		}
		if err := backoff.Wait(ctx, min(delay, max(br.busyFor, time.Millisecond))); err != nil {
			d.m.leaseWaitSeconds.Observe(time.Since(waitStart).Seconds())
			return br, ErrBusy
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// finish records the end of an attempt, retrying a few times: a lost
// "done" means the update is handled again on re-delivery.
func (d *Dispatcher) finish(ctx context.Context, chat string, updateID int64, token string, chatID int64, f finishArgs) error {
	var err error
	for i := range 3 {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		var ls leaseState
		ls, err = d.state.finish(fctx, chat, updateID, token, f)
		cancel()
		if err == nil {
			switch ls {
			case leaseTaken:
				d.m.leaseLost.Inc()
				d.log.Warn("chat lease expired and was taken by another handler before the update finished",
					"update_id", updateID, "chat", d.hash(chatID))
			case leaseLost:
				// Nothing was recorded: the update runs again from the
				// session it started from.
				d.m.leaseLost.Inc()
				d.log.Warn("chat lease lost before the session was saved; update will be retried",
					"update_id", updateID, "chat", d.hash(chatID))
				return retryLater("lease_lost", fmt.Errorf("update %d: %w", updateID, errLeaseLost))
			}
			return nil
		}
		d.m.redisErrors.WithLabelValues("finish").Inc()
		_ = backoff.Wait(context.Background(), time.Duration(50<<i)*time.Millisecond)
	}
	// Redis is unreachable and the replies (if any) are sent: keep the end
	// in memory and record it when Redis is back, before this chat's next
	// update. The update is still answered as failed (never 200 while its
	// end is only in memory): Telegram's re-send is a duplicate once the
	// end is recorded, and handled again if this process dies first.
	if d.keepPending(chat, pendingRecord{updateID: updateID, token: token, chatID: chatID, f: f, since: time.Now()}) {
		d.log.Error("could not record the end of an update; kept in memory until Redis is back", "update_id", updateID,
			"chat", d.hash(chatID), "done", f.done, "err", err)
		return retryLater("record_pending", fmt.Errorf("update %d: %w", updateID, err))
	}
	d.log.Error("could not record the end of an update", "update_id", updateID, "chat", d.hash(chatID), "done", f.done, "err", err)
	return retryLater("redis_unreachable", fmt.Errorf("update %d: %w", updateID, err))
}

// keepLease renews the lease every third of its TTL until stopped. If the
// lease is lost (taken by another handler after it expired, or not renewed
// for a whole TTL) it calls lost, which cancels the handling.
func (d *Dispatcher) keepLease(chat, token string, chatID int64, lost func()) (stop func()) {
	every := d.lim.LeaseTTL / 3
	var mu sync.Mutex
	var running sync.WaitGroup
	stopped := false
	lastOK := time.Now()
	var t *time.Timer
	tick := func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		running.Add(1)
		mu.Unlock()
		defer running.Done()
		ctx, cancel := context.WithTimeout(context.Background(), every)
		ok, err := d.state.renew(ctx, chat, token)
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		switch {
		case err == nil && ok:
			lastOK = time.Now()
		case err == nil && !ok, time.Since(lastOK) >= d.lim.LeaseTTL:
			// Counted in putokaz_bot_lease_lost_total by finish.
			d.log.Error("chat lease lost while handling; stopping this attempt", "chat", d.hash(chatID), "err", err)
			lost()
			return
		default:
			d.m.redisErrors.WithLabelValues("renew").Inc()
		}
		t.Reset(every)
	}
	mu.Lock()
	t = time.AfterFunc(every, tick)
	mu.Unlock()
	// stop waits for a renewal in flight: it could otherwise take the lease
	// again after finish released it (or erased the chat).
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
		running.Wait()
	}
}

// errPanicked is returned by safeHandle and safeStaff for a recovered panic.
var errPanicked = errors.New("panic recovered")

// safeHandle calls the conversation with panics recovered.
func (d *Dispatcher) safeHandle(ctx context.Context, user string, sess *conversation.Session, in engine.Input) (msgs []engine.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msgs, err = nil, errPanicked
			d.m.panics.Inc()
			d.log.Error("panic in conversation", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return d.conv.HandleSession(ctx, user, sess, in)
}

// safeStaff calls the staff handler with panics recovered.
func (d *Dispatcher) safeStaff(ctx context.Context, u *models.Update) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanicked
			d.m.panics.Inc()
			d.log.Error("panic in staff handler", "update_id", u.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return d.staff.HandleStaff(ctx, u)
}

// answerCallback answers a callback query now (through the Sender), or
// returns its ID for the webhook response when deferred.
func (d *Dispatcher) answerCallback(ctx context.Context, id string, deferred bool) string {
	if id == "" {
		return ""
	}
	if deferred {
		return id
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.sender.Call(actx, "answerCallbackQuery", 0, callbackAnswer{CallbackQueryID: id}, nil); err != nil {
		// Too old or already answered (a re-delivery): nothing to do.
		d.log.Debug("answerCallbackQuery failed", "err", err)
	}
	return ""
}

type callbackAnswer struct {
	Method          string `json:"method,omitempty"` // set only in a webhook response
	CallbackQueryID string `json:"callback_query_id"`
}

// politeError is the generic reply after a failure we cannot fix by retrying.
func (d *Dispatcher) politeError(in inbound) engine.Message {
	lang := in.input.LangHint
	return engine.Message{Text: d.errorText(lang), Lang: lang}
}

func (d *Dispatcher) enter() bool {
	d.drainMu.Lock()
	defer d.drainMu.Unlock()
	if d.draining {
		return false
	}
	d.inflight.Add(1)
	d.m.inflight.Inc()
	return true
}

func (d *Dispatcher) leave() {
	d.m.inflight.Dec()
	d.inflight.Done()
}

// Shutdown stops taking new updates (they get ErrShuttingDown) and waits for
// those in flight until ctx ends. Then it cancels them — their unsent replies
// are kept for the re-delivery — and waits briefly for them to let go.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.drainMu.Lock()
	d.draining = true
	d.drainMu.Unlock()
	done := make(chan struct{})
	go func() {
		d.inflight.Wait()
		close(done)
	}()
	defer d.stopHeartbeat()
	select {
	case <-done:
		return d.flushAll(ctx)
	case <-ctx.Done():
	}
	d.hardStop()
	select {
	case <-done:
		_ = d.flushAll(ctx)
		return fmt.Errorf("drain deadline passed; in-flight updates were cancelled and will be re-delivered: %w", ctx.Err())
	case <-time.After(5 * time.Second):
		return errors.New("drain deadline passed and in-flight updates did not stop")
	}
}
