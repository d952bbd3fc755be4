package engine_test

import (
	"slices"
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/engine"
)

// newReader is a person on the default content (which has subscribable
// topics) who chose lang.
func newReader(t *testing.T, lang string) *person {
	p := &person{t: t, e: newEngine(), c: loadDefault(t)}
	p.send(engine.Input{Kind: engine.InButton, Data: "L:" + lang})
	return p
}

// tr is a text as the content has it (no variables).
func (p *person) tr(lang, id string) string {
	p.t.Helper()
	s, err := p.c.Texts.Render(lang, id, nil, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

func (p *person) open(flow string) {
	p.t.Helper()
	p.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: flow})
}

func (p *person) effect(kind engine.EffectKind) (engine.Effect, bool) {
	for _, fx := range p.res.Effects {
		if fx.Kind == kind {
			return fx, true
		}
	}
	return engine.Effect{}, false
}

func TestSubscribeButtonOnlyOnAFollowableTopicsFirstMessage(t *testing.T) {
	p := newReader(t, "en")
	sub := p.tr("en", content.TextSubButton)
	has := func() bool {
		return slices.ContainsFunc(p.buttons(), func(b engine.Button) bool { return b.Label == sub })
	}
	p.open("shelter")
	if !has() {
		t.Fatalf("no %q under the first message of shelter: %+v", sub, p.buttons())
	}
	if bs := p.buttons(); bs[len(bs)-1].Label != sub {
		t.Errorf("the toggle must come last, so the topic's buttons keep their places: %+v", bs)
	}
	p.press("All centres")
	if has() {
		t.Error("the toggle is under a later step of the topic too")
	}
	p.open("about")
	if has() {
		t.Error("a topic that is not subscribable offers the toggle")
	}
	p.cmd("menu")
	if has() {
		t.Error("the main menu offers the toggle")
	}
}

func TestSubscribeToggleUnderTheTopic(t *testing.T) {
	p := newReader(t, "fa")
	p.open("asylum")
	before := p.buttons()
	p.press(p.tr("fa", content.TextSubButton))
	fx, ok := p.effect(engine.EffectSubscribe)
	if !ok || fx.Flow != "asylum" || fx.Lang != "fa" {
		t.Fatalf("effects %+v, want subscribe asylum in fa", p.res.Effects)
	}
	if !slices.Equal(p.s.Subs, []string{"asylum"}) || p.s.Flow != "asylum" {
		t.Errorf("session %+v: subscribed topic not remembered, or the place lost", p.s)
	}
	if len(p.last) != 1 || !strings.Contains(p.last[0].Text, "/unsubscribe") {
		t.Errorf("want one line that says how to stop: %s", dump(p.last))
	}
	after := p.buttons()
	if len(after) != len(before) || after[0].Label != before[0].Label {
		t.Errorf("the topic's buttons are not kept: %+v, were %+v", after, before)
	}
	stop := p.tr("fa", content.TextUnsubButton)
	if after[len(after)-1].Label != stop {
		t.Errorf("the toggle did not turn over: %+v", after)
	}
	p.press(stop)
	if fx, ok := p.effect(engine.EffectUnsubscribe); !ok || fx.Flow != "asylum" {
		t.Fatalf("effects %+v, want unsubscribe asylum", p.res.Effects)
	}
	if len(p.s.Subs) != 0 {
		t.Errorf("still subscribed in the session: %v", p.s.Subs)
	}
}

func TestSubscribeListMarksAndToggles(t *testing.T) {
	p := newReader(t, "ar")
	p.cmd("subscribe")
	for _, b := range p.buttons() {
		if strings.HasPrefix(b.Label, "✅") {
			t.Errorf("nothing followed yet, but %q is marked", b.Label)
		}
	}
	title := p.tr("ar", "shelter.title")
	p.press(title)
	if fx, ok := p.effect(engine.EffectSubscribe); !ok || fx.Flow != "shelter" {
		t.Fatalf("effects %+v", p.res.Effects)
	}
	if !slices.ContainsFunc(p.buttons(), func(b engine.Button) bool { return b.Label == title+" ✅" }) {
		t.Errorf("in a right-to-left language the mark follows the title: %+v", p.buttons())
	}
	p.press(title + " ✅")
	if _, ok := p.effect(engine.EffectUnsubscribe); !ok {
		t.Fatalf("a second press must stop it: %+v", p.res.Effects)
	}
	menu := p.tr("ar", content.TextMenuButton)
	if bs := p.buttons(); bs[len(bs)-1].Label != menu {
		t.Errorf("no way to the main menu: %+v", bs)
	}
}

func TestUnsubscribeOneAllAndNone(t *testing.T) {
	p := newReader(t, "en")
	p.cmd("unsubscribe")
	p.says(p.tr("en", content.TextUnsubNone))
	p.press(p.tr("en", content.TextSubChoose))
	p.says(p.tr("en", content.TextSubList))
	// The store knows more than the session (it expired): it wins.
	p.send(engine.Input{Kind: engine.InCommand, Command: "unsubscribe", Subs: &[]string{"work", "health"}})
	if !slices.Equal(p.s.Subs, []string{"health", "work"}) {
		t.Fatalf("session topics %v, want the store's, sorted", p.s.Subs)
	}
	p.press(p.tr("en", "health.title"))
	if fx, ok := p.effect(engine.EffectUnsubscribe); !ok || fx.Flow != "health" {
		t.Fatalf("effects %+v", p.res.Effects)
	}
	p.press(p.tr("en", content.TextUnsubAll))
	if fx, ok := p.effect(engine.EffectUnsubscribe); !ok || fx.Flow != "" {
		t.Fatalf("stop all: effects %+v, want unsubscribe with no topic", p.res.Effects)
	}
	if p.s.Subs != nil {
		t.Errorf("session still has %v", p.s.Subs)
	}
}

func TestSubscribeAsksForALanguageFirst(t *testing.T) {
	p := &person{t: t, e: newEngine(), c: loadDefault(t)}
	for _, cmd := range []string{"subscribe", "unsubscribe"} {
		p.cmd(cmd)
		if p.res.Notice != "language_picker" {
			t.Errorf("/%s without a language: notice %q, want the picker", cmd, p.res.Notice)
		}
	}
}
