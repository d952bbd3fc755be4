package subscribe

import (
	"context"
	"fmt"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
)

// Handler applies the conversation's subscription effects to a Store and
// passes every effect on to next (the transport's or staff's handler):
//
//   - engine.EffectSubscribe: Add (Flow, Lang);
//   - engine.EffectUnsubscribe: Remove (Flow; "" = every topic);
//   - engine.EffectSetLanguage: the person's subscriptions move to Lang;
//   - engine.EffectErase: every subscription goes (from the topics' indexes
//     too) before next erases the person's keys.
//
// It also tells the conversation which topics a person follows
// (conversation.SubscriptionLookup), so that a session that expired does
// not forget them.
type Handler struct {
	store Store
	next  conversation.EffectHandler
}

// NewHandler wraps next (which may be nil: then effects nobody else
// handles fail with conversation.ErrNoHandler, as without a handler).
func NewHandler(store Store, next conversation.EffectHandler) *Handler {
	return &Handler{store: store, next: next}
}

// Apply implements conversation.EffectHandler. Every operation is
// idempotent, so a retried input applies it again safely.
func (h *Handler) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	switch fx.Kind {
	case engine.EffectSubscribe:
		l := fx.Lang
		if l == "" {
			l = lang
		}
		if err := h.store.Add(ctx, user, fx.Flow, l); err != nil {
			return err
		}
	case engine.EffectUnsubscribe:
		if err := h.store.Remove(ctx, user, fx.Flow); err != nil {
			return err
		}
	case engine.EffectSetLanguage:
		subs, err := h.store.List(ctx, user)
		if err != nil {
			return fmt.Errorf("move subscriptions to %s: %w", fx.Lang, err)
		}
		for _, s := range subs {
			if s.Lang == fx.Lang {
				continue
			}
			if err := h.store.Add(ctx, user, s.Topic, fx.Lang); err != nil {
				return fmt.Errorf("move subscriptions to %s: %w", fx.Lang, err)
			}
		}
	case engine.EffectErase:
		if err := h.store.Remove(ctx, user, ""); err != nil {
			return fmt.Errorf("erase subscriptions: %w", err)
		}
	}
	if h.next != nil {
		return h.next.Apply(ctx, user, lang, fx)
	}
	switch fx.Kind {
	case engine.EffectSubscribe, engine.EffectUnsubscribe, engine.EffectSetLanguage, engine.EffectErase,
		engine.EffectEmergency, engine.EffectHandoffEnd:
		return nil
	}
	return fmt.Errorf("%s: %w", fx.Kind, conversation.ErrNoHandler)
}

// Subscribed implements conversation.SubscriptionLookup: the topics user
// follows, sorted.
func (h *Handler) Subscribed(ctx context.Context, user string) ([]string, error) {
	subs, err := h.store.List(ctx, user)
	if err != nil {
		return nil, err
	}
	topics := make([]string, len(subs))
	for i, s := range subs {
		topics[i] = s.Topic
	}
	return topics, nil
}

// Unsubscribe ends every subscription of user: for a person who blocked
// the bot (Telegram's my_chat_member "kicked").
func (h *Handler) Unsubscribe(ctx context.Context, user string) error {
	if err := h.store.Remove(ctx, user, ""); err != nil {
		return fmt.Errorf("unsubscribe a person who blocked the bot: %w", err)
	}
	return nil
}
