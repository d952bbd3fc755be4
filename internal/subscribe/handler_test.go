package subscribe

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
)

// recorder is the next handler: it records what reached it and what the
// store held at that moment.
type recorder struct {
	store Store
	seen  []engine.EffectKind
	held  [][]Sub
}

func (r *recorder) Apply(ctx context.Context, user, _ string, fx engine.Effect) error {
	r.seen = append(r.seen, fx.Kind)
	subs, _ := r.store.List(ctx, user)
	r.held = append(r.held, subs)
	return nil
}

func TestHandlerAppliesAndPassesOn(t *testing.T) {
	ctx := t.Context()
	store := NewMemory(DefaultTTL, time.Now)
	next := &recorder{store: store}
	h := NewHandler(store, next)
	apply := func(lang string, fx engine.Effect) {
		t.Helper()
		if err := h.Apply(ctx, "tg:5", lang, fx); err != nil {
			t.Fatal(err)
		}
	}
	apply("fa", engine.Effect{Kind: engine.EffectSubscribe, Flow: "shelter", Lang: "fa"})
	apply("fa", engine.Effect{Kind: engine.EffectSubscribe, Flow: "asylum"}) // Lang "": the person's
	apply("en", engine.Effect{Kind: engine.EffectSetLanguage, Lang: "en"})
	if got, _ := store.List(ctx, "tg:5"); !slices.Equal(got, []Sub{{"asylum", "en"}, {"shelter", "en"}}) {
		t.Errorf("after a change of language the subscriptions are %v, want both in en", got)
	}
	if topics, err := h.Subscribed(ctx, "tg:5"); err != nil || !slices.Equal(topics, []string{"asylum", "shelter"}) {
		t.Errorf("Subscribed = %v, %v", topics, err)
	}
	apply("en", engine.Effect{Kind: engine.EffectUnsubscribe, Flow: "asylum"})
	apply("en", engine.Effect{Kind: engine.EffectErase})
	want := []engine.EffectKind{engine.EffectSubscribe, engine.EffectSubscribe, engine.EffectSetLanguage,
		engine.EffectUnsubscribe, engine.EffectErase}
	if !slices.Equal(next.seen, want) {
		t.Errorf("next saw %v, want every effect %v", next.seen, want)
	}
	if last := next.held[len(next.held)-1]; len(last) != 0 {
		t.Errorf("next erased the person while subscriptions were left: %v", last)
	}
	apply("en", engine.Effect{Kind: engine.EffectSubscribe, Flow: "work"})
	if err := h.Unsubscribe(ctx, "tg:5"); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.List(ctx, "tg:5"); len(got) != 0 {
		t.Errorf("a person who blocked the bot still follows %v", got)
	}
}

func TestHandlerWithoutNext(t *testing.T) {
	ctx := t.Context()
	h := NewHandler(NewMemory(DefaultTTL, time.Now), nil)
	for _, k := range []engine.EffectKind{engine.EffectUnsubscribe, engine.EffectSetLanguage, engine.EffectErase, engine.EffectEmergency} {
		if err := h.Apply(ctx, "tg:1", "en", engine.Effect{Kind: k}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := h.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectSubscribe, Flow: "shelter"}); err != nil {
		t.Errorf("subscribe: %v", err)
	}
	if err := h.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectReferral}); !errors.Is(err, conversation.ErrNoHandler) {
		t.Errorf("a referral nobody handles: %v, want ErrNoHandler", err)
	}
}

// failing is a store that cannot be reached.
type failing struct{ Store }

func (failing) Add(context.Context, string, string, string) error { return errors.New("down") }
func (failing) Remove(context.Context, string, string) error      { return errors.New("down") }

// TestHandlerFailureStopsTheEffect: when the store fails, the effect fails
// (the input is handled again later) and next does not erase the person's
// keys while the topics' indexes may still name them.
func TestHandlerFailureStopsTheEffect(t *testing.T) {
	next := &recorder{store: NewMemory(DefaultTTL, time.Now)}
	h := NewHandler(failing{}, next)
	for _, fx := range []engine.Effect{{Kind: engine.EffectSubscribe, Flow: "shelter"}, {Kind: engine.EffectErase}} {
		if err := h.Apply(t.Context(), "tg:1", "en", fx); err == nil {
			t.Errorf("%s succeeded on a store that is down", fx.Kind)
		}
	}
	if len(next.seen) != 0 {
		t.Errorf("next ran after the store failed: %v", next.seen)
	}
}
