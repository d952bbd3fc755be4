package bot

import (
	"context"
	"errors"
	"slices"
	"sync"

	tgbot "github.com/go-telegram/bot"

	"putokaz/internal/engine"
)

// The quick exit (/exit) and erasure (/delete) on Telegram.
//
// Every message of a private chat — what the person sent that reached us,
// and what the bot sent there (replies, staff replies, notices), edits
// included — has its ID recorded in the chat's set (keys.ChatMessages):
// an update's with its finish (no extra round trip), other sends at once.
// The set keeps the newest keptMessages IDs younger than 48 hours, the time
// Telegram lets a bot delete messages of a private chat, and expires 48
// hours after the last one.
//
// On a quick exit the dispatcher reads the set (one round trip), deletes
// those messages and the one that asked for the exit with deleteMessages
// (up to 100 per call) before it sends the result's messages, and forgets
// the deleted IDs with the update's finish. deleteMessages sends no message:
// it does not wait for the chat's rate limiter, so replies still queued for
// the chat (a staff reply on its way) do not hold it up.
//
// An update that erased its person (/delete) leaves nothing that names the
// chat: its finish removes the chat's dedupe set, attempt counts, keyboard
// flag and message IDs, and records the update as done under
// keys.UpdateErased (the update_id alone), where begin looks when a chat
// has no dedupe set — so a re-delivery is still not handled twice.

// maxDeleteBatch is deleteMessages' limit of message IDs per call.
const maxDeleteBatch = 100

// updateMarks is what the handling of a person's update tells the transport
// besides its messages (QuickExit, Erased), and the IDs of the messages the
// Sender sent to the chat meanwhile.
type updateMarks struct {
	chatID int64

	mu        sync.Mutex
	quickExit bool
	erased    bool
	sent      []int
}

type marksCtxKey struct{}

func withMarks(ctx context.Context, m *updateMarks) context.Context {
	return context.WithValue(ctx, marksCtxKey{}, m)
}

func marksFrom(ctx context.Context) *updateMarks {
	m, _ := ctx.Value(marksCtxKey{}).(*updateMarks)
	return m
}

func (m *updateMarks) add(id int) {
	m.mu.Lock()
	m.sent = append(m.sent, id)
	m.mu.Unlock()
}

func (m *updateMarks) state() (quickExit, erased bool, sent []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.quickExit, m.erased, slices.Clone(m.sent)
}

// QuickExit asks for the quick exit of the private chat whose update is
// being handled (engine.EffectQuickExit): before the update's replies are
// sent, its recorded messages — the person's and the bot's, younger than 48
// hours — are deleted, the message that asked included. It reports false
// outside the handling of a person's update (nothing will be deleted).
func QuickExit(ctx context.Context) bool {
	m := marksFrom(ctx)
	if m == nil {
		return false
	}
	m.mu.Lock()
	m.quickExit = true
	m.mu.Unlock()
	return true
}

// Erased tells the transport that the update being handled erased its
// person (engine.EffectErase): its end leaves no key or value that names
// the chat. It reports false outside the handling of a person's update.
func Erased(ctx context.Context) bool {
	m := marksFrom(ctx)
	if m == nil {
		return false
	}
	m.mu.Lock()
	m.erased = true
	m.mu.Unlock()
	return true
}

// EffectHandler carries out the conversation's effects
// (conversation.EffectHandler, which this package does not import).
type EffectHandler interface {
	Apply(ctx context.Context, user, lang string, fx engine.Effect) error
}

// Effects wraps the effect handler of a conversation served on Telegram:
// engine.EffectQuickExit becomes QuickExit (next never sees it), and
// engine.EffectErase, once next has applied it, Erased. next may be nil.
func Effects(next EffectHandler) EffectHandler { return effects{next} }

type effects struct{ next EffectHandler }

func (e effects) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	if fx.Kind == engine.EffectQuickExit {
		QuickExit(ctx)
		return nil
	}
	if fx.Kind == engine.EffectEmergency {
		markEmergency(ctx) // the answer goes in LaneEmergency (lane.go)
	}
	if e.next != nil {
		if err := e.next.Apply(ctx, user, lang, fx); err != nil {
			return err
		}
	}
	if fx.Kind == engine.EffectErase {
		Erased(ctx)
	}
	return nil
}

// deleteMessagesParams are deleteMessages' parameters.
type deleteMessagesParams struct {
	ChatID     int64 `json:"chat_id"`
	MessageIDs []int `json:"message_ids"`
}

// quickExit deletes the chat's recorded messages and own (the message that
// asked, 0 for none), and returns the IDs to forget: those deleted and
// those Telegram refused for good (too old, already gone). Failures are
// logged without content and counted; the replies go out whatever happens.
func (d *Dispatcher) quickExit(ctx context.Context, chat string, chatID int64, own int) (forget []int) {
	d.m.quickExits.Inc()
	ids, err := d.state.messages(ctx, chat)
	if err != nil {
		d.m.redisErrors.WithLabelValues("messages").Inc()
		d.log.Error("could not read the chat's message ids for a quick exit; deleting only the last message",
			"chat", d.hash(chatID), "err", err)
	}
	if own != 0 {
		ids = append(ids, own)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for batch := range slices.Chunk(ids, maxDeleteBatch) {
		// Chat 0: deleting sends nothing, so it waits for no chat limiter.
		err := d.sender.Call(ctx, "deleteMessages", 0, deleteMessagesParams{ChatID: chatID, MessageIDs: batch}, nil)
		n := float64(len(batch))
		switch {
		case err == nil:
			d.m.quickExitMessages.WithLabelValues("deleted").Add(n)
			forget = append(forget, batch...)
		case errors.Is(err, tgbot.ErrorBadRequest):
			// Too old, or none of them left: they never will be deletable.
			d.m.quickExitMessages.WithLabelValues("refused").Add(n)
			d.log.Warn("Telegram refused to delete messages for a quick exit", "chat", d.hash(chatID),
				"count", len(batch), "reason", reasonOf(err))
			forget = append(forget, batch...)
		default:
			// Kept: another /exit tries them again.
			d.m.quickExitMessages.WithLabelValues("failed").Add(n)
			d.log.Error("could not delete messages for a quick exit", "chat", d.hash(chatID), "count", len(batch),
				"err", err)
		}
	}
	return forget
}

// reasonOf is Telegram's description of a refusal (it never quotes a
// message).
func reasonOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Description
	}
	return "unknown"
}
