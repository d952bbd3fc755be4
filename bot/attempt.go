package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
)

// The steps of one update's path after classify, in the order
// Dispatcher.handle takes them: waitForChat, start (the lease, and the
// person's session), run (converse for a person's update), reply (send,
// then finish: the done mark with the session), or dropPoison.

// waitForChat queues behind the chat's other updates in this process (the
// Redis lease serialises replicas: start) and then records the end of an
// earlier update of the chat that Redis could not record (pendingRecords):
// a re-delivery of it is then a duplicate, and this update starts from its
// session.
func (d *Dispatcher) waitForChat(ctx, wctx context.Context, updateID int64, chat string) (unlock func(), outcome string, err error) {
	lockStart := time.Now()
	unlock, waited, err := d.locks.LockWaited(wctx, chat)
	if waited {
		d.m.leaseWaits.Inc()
		d.m.leaseWaitSeconds.Observe(time.Since(lockStart).Seconds())
	}
	if err != nil {
		return nil, "busy", retryLater("busy", fmt.Errorf("update %d: %w", updateID, ErrBusy))
	}
	if err := d.flushPending(ctx, chat); err != nil {
		unlock()
		return nil, "error", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", updateID, err))
	}
	return unlock, "", nil
}

// attempt is one update handled under its chat's lease, from start to its
// end (finish).
type attempt struct {
	u           *models.Update
	in          inbound
	chat, token string
	br          beginResult
	deferAnswer bool
	// ctx is the handling's: detached from the request (a dropped
	// connection must not abort sending half a reply), bounded by
	// HandleTimeout and the drain deadline, cancelled if the lease is lost.
	ctx context.Context
	// marks: a person's update records the chat's messages for a quick
	// exit and learns whether it asked for one, or erased the person
	// (exit.go); nil for other updates.
	marks *updateMarks
	// sess is the person's session as begin read it (nil without Redis or
	// outside a private chat); sessionKey is where finish writes it.
	sess       *conversation.Session
	sessionKey string
	req        context.Context // the request's, for finish
	d          *Dispatcher
	finished   bool
	stopRenew  func()
	cancel     func()
}

// start takes the chat's lease for the update (begin: with the person's
// session in a private chat) and returns the attempt that holds it; nil
// with outcome "duplicate" for an update already done.
func (d *Dispatcher) start(ctx, wctx context.Context, u *models.Update, in inbound, deferAnswer bool) (*attempt, string, error) {
	chat := chatKey(in.chatID)
	token := d.leaseToken(u.ID)
	reactivate := in.act == actConversation || in.act == actUnblocked
	// The person's session travels with the lease. Only in a private chat:
	// its lease and the session share a hash tag (one cluster slot)
	// because chat and user are the same ID.
	sessionKey := ""
	if d.sessionKey != nil && in.act == actConversation && in.userID == in.chatID {
		sessionKey = d.sessionKey(userKey(in.userID))
	}
	br, err := d.begin(wctx, chat, u.ID, token, reactivate, sessionKey)
	switch {
	case errors.Is(err, ErrBusy):
		return nil, "busy", retryLater("busy", fmt.Errorf("update %d: %w", u.ID, err))
	case err != nil:
		d.m.redisErrors.WithLabelValues("begin").Inc()
		d.log.Error("could not begin update", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
		return nil, "error", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", u.ID, err))
	case br.status == beginDone:
		d.m.dedupeHits.Inc()
		return nil, "duplicate", nil
	}

	a := &attempt{u: u, in: in, chat: chat, token: token, br: br, deferAnswer: deferAnswer, sessionKey: sessionKey,
		req: ctx, d: d}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.lim.HandleTimeout)
	stopHard := context.AfterFunc(d.hard, cancel)
	a.cancel = func() { stopHard(); cancel() }
	if reactivate {
		hctx = withActiveChat(hctx, in.chatID)
	}
	if br.checkErr != nil {
		// Handled as new: at worst a re-delivered /delete runs twice.
		d.m.redisErrors.WithLabelValues("erased_check").Inc()
		d.log.Warn("could not check whether the update erased its person before", "update_id", u.ID,
			"chat", d.hash(in.chatID), "err", br.checkErr)
	}
	if in.act == actConversation && in.chatID > 0 && in.chatID == in.userID {
		a.marks = &updateMarks{chatID: in.chatID}
		hctx = withMarks(hctx, a.marks)
	}
	if sessionKey != "" {
		a.sess = conversation.NewSession(br.session)
	}
	a.ctx = hctx
	a.stopRenew = d.keepLease(chat, token, in.chatID, cancel)
	return a, "", nil
}

// finish records the end of the attempt (Dispatcher.finish) and lets the
// lease go.
func (a *attempt) finish(f finishArgs) error {
	a.finished = true
	a.stopRenew()
	return a.d.finish(a.req, a.chat, a.u.ID, a.token, a.in.chatID, f)
}

// close ends the handling's context; an attempt not finished by then was
// cut short by a panic in our own code: the chat is released and the
// update dropped (re-running it would panic again).
func (a *attempt) close() {
	if !a.finished {
		_ = a.finish(finishArgs{done: true})
	}
	a.cancel()
}

// answer is the callback answer of the handled update (see answerCallback).
func (a *attempt) answer() string {
	return a.d.answerCallback(a.req, a.in.callbackID, a.deferAnswer)
}

// sentIDs are the chat's message IDs to record with the update's end: the
// replies sent and the person's own message (unless a quick exit deleted
// it: forget).
func (a *attempt) sentIDs(forget []int) []int {
	if a.marks == nil {
		return nil
	}
	_, _, sent := a.marks.state()
	if a.in.msgID != 0 && !slices.Contains(forget, a.in.msgID) {
		sent = append(sent, a.in.msgID)
	}
	return sent
}

// dropPoison ends an update that failed UpdateAttempts times: it is
// dropped, and a person gets the apology.
func (d *Dispatcher) dropPoison(a *attempt) (outcome, answer string, err error) {
	in := a.in
	d.m.poison.Inc()
	d.log.Error("poison update dropped after repeated failures", "update_id", a.u.ID, "type", in.typ,
		"chat", d.hash(in.chatID), "attempts", a.br.attempt-1)
	if in.act == actConversation {
		ops, _ := render(in.chatID, 0, []engine.Message{d.politeError(in)}, false)
		if _, _, err := d.sender.runOps(a.ctx, ops, d.log); err != nil {
			d.log.Warn("could not send the error notice for a poison update", "chat", d.hash(in.chatID), "err", err)
		}
	}
	if err := a.finish(finishArgs{done: true, sent: a.sentIDs(nil)}); err != nil {
		return "error", "", err
	}
	return "poison", a.answer(), nil
}

// run hands the update to what handles it and returns the replies to send:
// the unsent replies of an earlier attempt, else the conversation's (a
// person's update) or none (the staff handler's and membership changes).
// An error has ended the attempt already: the update must be re-delivered.
func (d *Dispatcher) run(a *attempt) (ops []op, outcome string, err error) {
	in, u := a.in, a.u
	outcome = "handled"
	switch {
	case a.br.outbox != nil:
		// A previous attempt got the replies but could not send them all:
		// send the rest instead of asking the conversation again.
		if err := json.Unmarshal(a.br.outbox, &ops); err != nil {
			d.log.Error("unreadable stored replies; dropped", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
			ops = nil
		}
		if len(ops) > 0 && ops[0].Emergency {
			a.ctx = WithLane(a.ctx, LaneEmergency)
		}
	case in.act == actBlocked:
		if err := d.inactive.SetInactive(a.ctx, in.chatID); err != nil {
			d.m.redisErrors.WithLabelValues("inactive_set").Inc()
			_ = a.finish(finishArgs{})
			return nil, "", retryLater("redis_unreachable", fmt.Errorf("update %d: %w", u.ID, err))
		}
		d.m.inactiveMarked.Inc()
		if err := d.onBlocked(a.ctx, userKey(in.userID)); err != nil {
			_ = a.finish(finishArgs{})
			return nil, "", retryLater("blocked_hook", fmt.Errorf("update %d: %w", u.ID, err))
		}
	case in.act == actUnblocked:
		// begin cleared the inactive mark.
	case in.act == actStaff:
		answered := new(atomic.Bool)
		sctx := context.WithValue(WithLane(a.ctx, LaneStaff), answeredCtxKey{}, answered)
		perr := d.safeStaff(sctx, u)
		if answered.Load() {
			a.in.callbackID = "" // answered with its text: once is enough
		}
		if errors.Is(perr, errPanicked) {
			outcome = "panic"
		} else if perr != nil {
			d.log.Warn("staff handler failed; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
				"attempt", a.br.attempt, "err", perr)
			_ = a.finish(finishArgs{})
			return nil, "", retryLater("handler_failed", fmt.Errorf("update %d: staff handler: %w", u.ID, perr))
		}
	case in.act == actConversation:
		return d.converse(a)
	}
	return ops, outcome, nil
}

// converse runs a person's update through the conversation and renders its
// replies; an emergency answer goes in LaneEmergency.
func (d *Dispatcher) converse(a *attempt) (ops []op, outcome string, err error) {
	in, u := a.in, a.u
	var emergency *atomic.Bool
	a.ctx, emergency = withEmergencyMark(a.ctx)
	msgs, herr := d.safeHandle(a.ctx, userKey(in.userID), a.sess, in.input)
	if emergency.Load() {
		a.ctx = WithLane(a.ctx, LaneEmergency)
	}
	switch {
	case errors.Is(herr, errPanicked):
		ops, _ = render(in.chatID, 0, []engine.Message{d.politeError(in)}, a.br.keyboard)
		return ops, "panic", nil
	case herr != nil:
		d.log.Warn("conversation failed; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
			"attempt", a.br.attempt, "err", herr)
		_ = a.finish(finishArgs{})
		return nil, "", retryLater("handler_failed", fmt.Errorf("update %d: conversation: %w", u.ID, herr))
	}
	ops, dropped := render(in.chatID, 0, msgs, a.br.keyboard)
	if dropped > 0 {
		d.m.droppedButtons.Add(float64(dropped))
		d.log.Error("buttons left out: Telegram would reject them (callback data over 64 bytes, bad URL or empty label)",
			"update_id", u.ID, "count", dropped)
	}
	return ops, "handled", nil
}

// reply deletes the chat's messages first if the update asked for a quick
// exit, sends the replies, and records the update's end with the session:
// done, or (when sending failed) with the replies left for its
// re-delivery.
func (d *Dispatcher) reply(a *attempt, ops []op, outcome string) (string, string, error) {
	in, u := a.in, a.u
	var quickExit, erased bool
	var forget []int
	if a.marks != nil {
		if quickExit, erased, _ = a.marks.state(); quickExit && !erased {
			// Before the replies: they are what the person sees after.
			forget = d.quickExit(a.ctx, a.chat, in.chatID, in.msgID)
		}
	}
	skip := a.br.sent // groups an attempt cut off by a kill had sent (recover_progress.go)
	if outcome == "panic" {
		skip = 0 // not the replies it sent
	}
	n, kbd, serr := d.sendReplies(a.ctx, a.chat, u.ID, a.token, ops, skip, a.marks, !erased)
	if erased {
		// Nothing of the chat may stay, unsent replies neither: the
		// update is done (its re-delivery is recognised by update_id).
		if serr != nil {
			d.log.Warn("could not send all replies after an erasure; not retried", "update_id", u.ID,
				"sent", n, "left", len(ops)-n, "err", serr)
		}
		if err := a.finish(finishArgs{erased: true}); err != nil {
			return "error", "", err
		}
		return outcome, a.answer(), nil
	}
	sent, session := a.sentIDs(forget), staged(a.sessionKey, a.sess)
	if serr != nil && !errors.Is(serr, ErrInactive) && !errors.Is(serr, tgbot.ErrorForbidden) {
		// Keep what is left for the next delivery of this update.
		var outbox []byte
		if rest := ops[n:]; len(rest) > 0 {
			if LaneOf(a.ctx) == LaneEmergency {
				for i := range rest {
					rest[i].Emergency = true
				}
			}
			outbox, _ = json.Marshal(rest)
		}
		d.log.Warn("could not send all replies; update will be retried", "update_id", u.ID, "chat", d.hash(in.chatID),
			"sent", n, "left", len(ops)-n, "err", serr)
		if err := a.finish(finishArgs{outbox: outbox, kbd: kbd, session: session, sent: sent, forget: forget}); err != nil {
			d.log.Error("could not store unsent replies", "update_id", u.ID, "chat", d.hash(in.chatID), "err", err)
		}
		return "error", "", retryLater("send_failed", fmt.Errorf("update %d: send replies: %w", u.ID, serr))
	}
	// A person who blocked the bot gets nothing more; the update is done.
	if err := a.finish(finishArgs{done: true, kbd: kbd, session: session, sent: sent, forget: forget}); err != nil {
		return "error", "", err
	}
	return outcome, a.answer(), nil
}
