package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

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

type updateCtxKey struct{}
type answeredCtxKey struct{}

// CallbackAnswered tells the transport that the StaffHandler answered the
// callback query of the update being handled itself (with a text): the
// transport then does not answer it a second time.
func CallbackAnswered(ctx context.Context) {
	if a, ok := ctx.Value(answeredCtxKey{}).(*atomic.Bool); ok {
		a.Store(true)
	}
}

// UpdateFromContext returns the Telegram update being handled (for example
// to copy a person's message to staff with copyMessage).
func UpdateFromContext(ctx context.Context) (*models.Update, bool) {
	u, ok := ctx.Value(updateCtxKey{}).(*models.Update)
	return u, ok
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

// handle returns the outcome label, the callback to answer in the webhook
// response, and the error that requires re-delivery.
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

	chat := chatKey(in.chatID)
	wctx, cancelWait := context.WithTimeout(ctx, d.lim.LeaseWait)
	defer cancelWait()
	lockStart := time.Now()
	unlock, waited, err := d.locks.LockWaited(wctx, chat)
	if waited {
		d.m.leaseWaits.Inc()
		d.m.leaseWaitSeconds.Observe(time.Since(lockStart).Seconds())
	}
	if err != nil {
		return "busy", "", retryLater("busy", fmt.Errorf("update %d: %w", u.ID, ErrBusy))
	}
	defer unlock()
	// An earlier update of this chat whose end could not be recorded
	// (Redis was unreachable) is recorded first: a re-delivery of it is
	// then a duplicate, and a later update starts from its session.
	if err := d.flushPending(ctx, chat); err != nil {
		return "error", "", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", u.ID, err))
	}

	token := d.leaseToken(u.ID)
	reactivate := in.act == actConversation || in.act == actUnblocked
	// The person's session travels with the lease. Only in a
	// private chat: its lease and the session share a hash tag (one
	// cluster slot) because chat and user are the same ID.
	sessionKey := ""
	if d.sessionKey != nil && in.act == actConversation && in.userID == in.chatID {
		sessionKey = d.sessionKey(userKey(in.userID))
	}
	br, err := d.begin(wctx, chat, u.ID, token, reactivate, sessionKey)
	switch {
	case errors.Is(err, ErrBusy):
		return "busy", "", retryLater("busy", fmt.Errorf("update %d: %w", u.ID, err))
	case err != nil:
		d.m.redisErrors.WithLabelValues("begin").Inc()
		d.log.Error("could not begin update", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
		return "error", "", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", u.ID, err))
	case br.status == beginDone:
		d.m.dedupeHits.Inc()
		// The first delivery's webhook answer (if any) may have been lost
		// with its response: answer the callback again; a second answer
		// is harmless.
		return "duplicate", d.answerCallback(ctx, in.callbackID, deferAnswer), nil
	}

	// From here on the lease is ours: the handling is detached from the
	// request (a dropped connection must not abort sending half a reply),
	// bounded by HandleTimeout and by the drain deadline.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.lim.HandleTimeout)
	defer cancel()
	stopHard := context.AfterFunc(d.hard, cancel)
	defer stopHard()
	hctx = context.WithValue(hctx, updateCtxKey{}, u)
	if reactivate {
		hctx = withActiveChat(hctx, in.chatID)
	}
	if br.checkErr != nil {
		// Handled as new: at worst a re-delivered /delete runs twice.
		d.m.redisErrors.WithLabelValues("erased_check").Inc()
		d.log.Warn("could not check whether the update erased its person before", "update_id", u.ID,
			"chat", d.hash(in.chatID), "err", br.checkErr)
	}
	// A person's update records the chat's messages for a quick exit and
	// learns whether it asked for one, or erased the person (exit.go).
	var marks *updateMarks
	if in.act == actConversation && in.chatID > 0 && in.chatID == in.userID {
		marks = &updateMarks{chatID: in.chatID}
		hctx = withMarks(hctx, marks)
	}
	var sess *conversation.Session
	if sessionKey != "" {
		sess = conversation.NewSession(br.session)
	}
	stopRenew := d.keepLease(chat, token, in.chatID, cancel)
	finished := false
	finish := func(f finishArgs) error {
		finished = true
		stopRenew()
		return d.finish(ctx, chat, u.ID, token, in.chatID, f)
	}
	defer func() {
		if !finished {
			// Only a panic in our own code gets here: release the chat and
			// drop the update (re-running it would panic again).
			_ = finish(finishArgs{done: true})
		}
	}()

	if br.attempt > d.lim.UpdateAttempts {
		d.m.poison.Inc()
		d.log.Error("poison update dropped after repeated failures", "update_id", u.ID, "type", in.typ,
			"chat", d.hash(in.chatID), "attempts", br.attempt-1)
		if in.act == actConversation {
			ops, _ := render(in.chatID, 0, []engine.Message{d.politeError(in)}, false)
			if _, _, err := d.sender.runOps(hctx, ops, d.log); err != nil {
				d.log.Warn("could not send the error notice for a poison update", "chat", d.hash(in.chatID), "err", err)
			}
		}
		var sent []int
		if marks != nil {
			_, _, sent = marks.state()
			if in.msgID != 0 {
				sent = append(sent, in.msgID)
			}
		}
		if err := finish(finishArgs{done: true, sent: sent}); err != nil {
			return "error", "", err
		}
		return "poison", d.answerCallback(ctx, in.callbackID, deferAnswer), nil
	}

	outcome = "handled"
	var ops []op
	switch {
	case br.outbox != nil:
		// A previous attempt got the replies but could not send them all:
		// send the rest instead of asking the conversation again.
		if err := json.Unmarshal(br.outbox, &ops); err != nil {
			d.log.Error("unreadable stored replies; dropped", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
			ops = nil
		}
	case in.act == actBlocked:
		if err := d.inactive.SetInactive(hctx, in.chatID); err != nil {
			d.m.redisErrors.WithLabelValues("inactive_set").Inc()
			_ = finish(finishArgs{})
			return "error", "", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", u.ID, err))
		}
		d.m.inactiveMarked.Inc()
		if err := d.onBlocked(hctx, userKey(in.userID)); err != nil {
			_ = finish(finishArgs{})
			return "error", "", retryLater("blocked_hook", fmt.Errorf("update %d: %w", u.ID, err))
		}
	case in.act == actUnblocked:
		// begin cleared the inactive mark.
	case in.act == actStaff:
		answered := new(atomic.Bool)
		sctx := context.WithValue(WithLane(hctx, LaneStaff), answeredCtxKey{}, answered)
		perr := d.safeStaff(sctx, u)
		if answered.Load() {
			in.callbackID = "" // answered with its text: once is enough
		}
		if errors.Is(perr, errPanicked) {
			outcome = "panic"
		} else if perr != nil {
			d.log.Warn("staff handler failed; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
				"attempt", br.attempt, "err", perr)
			_ = finish(finishArgs{})
			return "error", "", retryLater("handler_failed", fmt.Errorf("update %d: staff handler: %w", u.ID, perr))
		}
	case in.act == actConversation:
		var emergency *atomic.Bool
		hctx, emergency = withEmergencyMark(hctx)
		msgs, herr := d.safeHandle(hctx, userKey(in.userID), sess, in.input)
		if emergency.Load() {
			hctx = WithLane(hctx, LaneEmergency)
		}
		switch {
		case errors.Is(herr, errPanicked):
			outcome = "panic"
			ops, _ = render(in.chatID, 0, []engine.Message{d.politeError(in)}, br.keyboard)
		case herr != nil:
			d.log.Warn("conversation failed; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
				"attempt", br.attempt, "err", herr)
			_ = finish(finishArgs{})
			return "error", "", retryLater("handler_failed", fmt.Errorf("update %d: conversation: %w", u.ID, herr))
		default:
			var dropped int
			ops, dropped = render(in.chatID, 0, msgs, br.keyboard)
			if dropped > 0 {
				d.m.droppedButtons.Add(float64(dropped))
				d.log.Error("buttons left out: Telegram would reject them (callback data over 64 bytes, bad URL or empty label)",
					"update_id", u.ID, "count", dropped)
			}
		}
	}

	var quickExit, erased bool
	var forget []int
	if marks != nil {
		if quickExit, erased, _ = marks.state(); quickExit && !erased {
			// Before the replies: they are what the person sees after.
			forget = d.quickExit(hctx, chat, in.chatID, in.msgID)
		}
	}
	skip := br.sent // groups an attempt cut off by a kill had sent (recover_progress.go)
	if outcome == "panic" {
		skip = 0 // not the replies it sent
	}
	n, kbd, serr := d.sendReplies(hctx, chat, u.ID, token, ops, skip, marks, !erased)
	var sent []int
	if marks != nil && !erased {
		_, _, sent = marks.state()
		if in.msgID != 0 && !slices.Contains(forget, in.msgID) {
			sent = append(sent, in.msgID)
		}
	}
	if erased {
		// Nothing of the chat may stay, unsent replies neither: the
		// update is done (its re-delivery is recognised by update_id).
		if serr != nil {
			d.log.Warn("could not send all replies after an erasure; not retried", "update_id", u.ID,
				"sent", n, "left", len(ops)-n, "err", serr)
		}
		if err := finish(finishArgs{erased: true}); err != nil {
			return "error", "", err
		}
		return outcome, d.answerCallback(ctx, in.callbackID, deferAnswer), nil
	}
	if serr != nil && !errors.Is(serr, ErrInactive) && !errors.Is(serr, tgbot.ErrorForbidden) {
		// Keep what is left for the next delivery of this update.
		var outbox []byte
		if rest := ops[n:]; len(rest) > 0 {
			outbox, _ = json.Marshal(rest)
		}
		d.log.Warn("could not send all replies; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
			"sent", n, "left", len(ops)-n, "err", serr)
		if err := finish(finishArgs{outbox: outbox, kbd: kbd, session: staged(sessionKey, sess), sent: sent, forget: forget}); err != nil {
			d.log.Error("could not store unsent replies", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
		}
		return "error", "", retryLater("send_failed", fmt.Errorf("update %d: send replies: %w", u.ID, serr))
	}
	// A person who blocked the bot gets nothing more; the update is done.
	if err := finish(finishArgs{done: true, kbd: kbd, session: staged(sessionKey, sess), sent: sent, forget: forget}); err != nil {
		return "error", "", err
	}
	return outcome, d.answerCallback(ctx, in.callbackID, deferAnswer), nil
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
		if err := Wait(ctx, min(delay, max(br.busyFor, time.Millisecond))); err != nil {
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
		_ = Wait(context.Background(), time.Duration(50<<i)*time.Millisecond)
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
