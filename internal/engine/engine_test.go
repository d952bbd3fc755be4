package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/engine"
)

func loadDefault(t testing.TB) *content.Content {
	t.Helper()
	c, diags := content.Load(content.Embedded())
	if c == nil {
		t.Fatalf("default content does not load:\n%v", diags)
	}
	return c
}

func newEngine() *engine.Engine {
	var n uint64
	return engine.New(func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) },
		func() uint64 { n += 7919; return n })
}

// person drives the engine like one Telegram user.
type person struct {
	t    *testing.T
	e    *engine.Engine
	c    *content.Content
	s    *engine.Session
	last []engine.Message
	res  engine.Result
}

func newPerson(t *testing.T, lang string) *person {
	p := &person{t: t, e: newEngine(), c: loadDefault(t)}
	if lang != "" {
		p.send(engine.Input{Kind: engine.InButton, Data: "L:" + lang})
	}
	return p
}

func (p *person) send(in engine.Input) engine.Result {
	p.t.Helper()
	p.res = p.e.Handle(p.c, p.s, in)
	p.s = p.res.Session
	p.last = p.res.Messages
	if len(p.last) == 0 && p.s != nil && p.s.Handoff == "" {
		p.t.Fatalf("input %+v produced no message", in)
	}
	return p.res
}

func (p *person) text(s string) engine.Result {
	return p.send(engine.Input{Kind: engine.InText, Text: s})
}
func (p *person) cmd(s string) engine.Result {
	return p.send(engine.Input{Kind: engine.InCommand, Command: s})
}

// press presses the button whose label contains label, on the last message.
func (p *person) press(label string) engine.Result {
	p.t.Helper()
	for _, m := range p.last {
		for _, b := range m.Buttons {
			if strings.Contains(b.Label, label) && b.Data != "" {
				return p.send(engine.Input{Kind: engine.InButton, Data: b.Data})
			}
		}
	}
	p.t.Fatalf("no button %q in %s", label, dump(p.last))
	return engine.Result{}
}

func (p *person) buttons() []engine.Button {
	var bs []engine.Button
	for _, m := range p.last {
		bs = append(bs, m.Buttons...)
	}
	return bs
}

func (p *person) says(sub string) {
	p.t.Helper()
	if !strings.Contains(dump(p.last), sub) {
		p.t.Fatalf("want %q in:\n%s", sub, dump(p.last))
	}
}

func dump(ms []engine.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Text)
		for _, bt := range m.Buttons {
			fmt.Fprintf(&b, "\n  [%s] %s%s", bt.Data, bt.Label, bt.URL)
		}
		b.WriteString("\n---\n")
	}
	return b.String()
}

func TestFirstContactShowsPickerWithGuessFirst(t *testing.T) {
	cases := []struct{ hint, first string }{
		{"fa", "fa"}, {"prs", "fa"}, {"fa-AF", "fa"}, {"ar-SY", "ar"}, {"sr", "sr-Cyrl"}, {"sr-RS", "sr-Cyrl"},
		{"hr", "sr-Latn"}, {"bs", "sr-Latn"}, {"cnr", "sr-Latn"}, {"en-US", "en"},
		// No confident regional guesses: Kurdish, Uzbek and Pashto get the default order.
		{"ku", "sr-Cyrl"}, {"uz", "sr-Cyrl"}, {"ps", "sr-Cyrl"}, {"", "sr-Cyrl"},
	}
	for _, tc := range cases {
		p := newPerson(t, "")
		p.send(engine.Input{Kind: engine.InCommand, Command: "start", LangHint: tc.hint})
		bs := p.buttons()
		if len(bs) != 5 {
			t.Fatalf("hint %q: want 5 language buttons, got %d", tc.hint, len(bs))
		}
		if bs[0].Data != "L:"+tc.first {
			t.Errorf("hint %q: first button %q, want %q", tc.hint, bs[0].Data, "L:"+tc.first)
		}
		if p.s.Lang != "" {
			t.Errorf("hint %q: a hint must not choose the language (got %q)", tc.hint, p.s.Lang)
		}
	}
}

func TestLanguageChoiceIsStoredAndChangeable(t *testing.T) {
	p := newPerson(t, "")
	p.cmd("start")
	res := p.send(engine.Input{Kind: engine.InButton, Data: "L:fa"})
	if p.s.Lang != "fa" || len(res.Effects) == 0 || res.Effects[0].Kind != engine.EffectSetLanguage {
		t.Fatalf("language not stored: %+v %+v", p.s, res.Effects)
	}
	p.cmd("language")
	p.send(engine.Input{Kind: engine.InButton, Data: "L:sr-Latn"})
	if p.s.Lang != "sr-Latn" {
		t.Fatalf("lang = %q", p.s.Lang)
	}
	p.says("Jezik")
}

func TestStartPayloadOpensFlowAfterLanguage(t *testing.T) {
	p := newPerson(t, "")
	p.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: "voluntary_return"})
	p.send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	if p.s.Flow != "voluntary_return" {
		t.Fatalf("flow = %q, want voluntary_return", p.s.Flow)
	}
	// An unknown payload starts normally.
	p.send(engine.Input{Kind: engine.InCommand, Command: "start", Arg: "no_such_flow"})
	if p.s.Flow != content.HomeFlow {
		t.Fatalf("flow = %q, want main", p.s.Flow)
	}
}

func TestStaleAndForgedButtons(t *testing.T) {
	p := newPerson(t, "en")
	old := p.buttons()[1].Data // "Going home" on the menu
	p.press("Going home")
	for _, data := range []string{old, "m9999.0", "mzzz.1", "garbage", "", "m1.-1", "m1.99999999999999999999", "L:xx", "go:main/menu"} {
		before := p.s.Step
		res := p.send(engine.Input{Kind: engine.InButton, Data: data})
		if res.Session == nil {
			t.Fatalf("data %q erased the session", data)
		}
		if p.s.Step != before && data != "L:xx" {
			t.Errorf("data %q moved the person from %q to %q", data, before, p.s.Step)
		}
		if len(p.buttons()) == 0 {
			t.Errorf("data %q: the answer has no buttons (dead end)", data)
		}
	}
	p.res = p.e.Handle(p.c, p.s, engine.Input{Kind: engine.InButton, Data: old})
	if p.res.Notice != "stale_button" {
		t.Errorf("notice = %q, want stale_button", p.res.Notice)
	}
}

func TestKeywordsInEveryLanguage(t *testing.T) {
	cases := map[string]string{
		"return": "voluntary_return", "I want to go home": "voluntary_return", "POVRATAK": "voluntary_return",
		"повратак": "voluntary_return", "shelter": "shelter",
	}
	for text, flow := range cases {
		p := newPerson(t, "en")
		p.text(text)
		if p.s.Flow != flow {
			t.Errorf("%q opened %q, want %q", text, p.s.Flow, flow)
		}
	}
	p := newPerson(t, "en")
	res := p.text("qwertyuiop")
	if res.Notice != "unknown_text" || p.s.Flow != content.HomeFlow || len(p.buttons()) == 0 {
		t.Errorf("unknown text: notice %q flow %q", res.Notice, p.s.Flow)
	}
}

func TestEmergencyWordsFromAnyState(t *testing.T) {
	for _, word := range []string{"help", "POLICE!", "pomoć", "pomoc", "помоћ", "кмк", "کمک", "كمك", "مساعدة", "مساعده"} {
		p := newPerson(t, "")
		p.cmd("start")
		res := p.text(word)
		if word == "кмк" {
			if p.s.Flow == "emergency" {
				t.Errorf("%q is not an emergency word", word)
			}
			continue
		}
		if p.s.Flow != "emergency" {
			t.Errorf("%q before choosing a language: flow %q, want emergency (notice %s)", word, p.s.Flow, res.Notice)
			continue
		}
		if p.s.Lang == "" {
			t.Errorf("%q: emergency must answer in a language", word)
		}
	}
	// Mid-question: the exact word still works.
	p := newPerson(t, "en")
	p.press("Going home")
	p.press("Check my situation")
	p.text("police")
	if p.s.Flow != "emergency" {
		t.Fatalf("emergency word during a question: flow %q", p.s.Flow)
	}
}

func TestQuestionsValidateAndSave(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Going home")
	p.press("Check my situation")
	p.text("maybe") // not a choice
	if p.res.Notice != "invalid_answer" || p.s.Step != "document" {
		t.Fatalf("invalid choice: notice %q step %q", p.res.Notice, p.s.Step)
	}
	p.text("yes") // typed choice, matched to the button label
	if p.s.Vars["document"] != "has_document" || p.s.Step != "family" {
		t.Fatalf("typed choice: vars %v step %q", p.s.Vars, p.s.Step)
	}
	p.text("three")
	if p.s.Step != "family" {
		t.Fatalf("invalid number accepted")
	}
	p.text("۳") // Persian digit
	if p.s.Vars["family"] != "3" {
		t.Fatalf("family = %q", p.s.Vars["family"])
	}
	p.says("3 people")
}

func TestPluralForms(t *testing.T) {
	for _, tc := range []struct{ n, want string }{{"1", "1 person"}, {"2", "2 people"}} {
		p := newPerson(t, "en")
		p.press("Going home")
		p.press("Check my situation")
		p.press("Yes")
		p.text(tc.n)
		p.says(tc.want)
	}
}

func TestDeleteAsksThenErases(t *testing.T) {
	p := newPerson(t, "en")
	p.cmd("delete")
	p.press("No")
	if p.s == nil || p.s.Lang != "en" {
		t.Fatalf("No erased the session")
	}
	p.cmd("delete")
	res := p.press("Yes")
	if res.Session != nil {
		t.Fatal("Yes kept the session")
	}
	found := false
	for _, fx := range res.Effects {
		found = found || fx.Kind == engine.EffectErase
	}
	if !found {
		t.Fatal("no erase effect")
	}
	// The "start again" button works on an empty session.
	p.s = nil
	p.press("Start again")
	if len(p.buttons()) != 5 {
		t.Fatalf("restart should show the language picker, got %s", dump(p.last))
	}
}

func TestSessionOnVanishedStepGoesHome(t *testing.T) {
	p := newPerson(t, "en")
	p.s.Flow, p.s.Step = "gone", "nowhere"
	p.text("hello")
	if p.s.Flow != content.HomeFlow {
		t.Fatalf("flow %q", p.s.Flow)
	}
	p.s.Flow, p.s.Step = "gone", "nowhere"
	p.send(engine.Input{Kind: engine.InMedia, Media: "sticker"})
	if p.s.Flow != content.HomeFlow || len(p.buttons()) == 0 {
		t.Fatalf("media on a vanished step: flow %q", p.s.Flow)
	}
}

func TestRecoverAfterUnreadableSession(t *testing.T) {
	if _, err := engine.DecodeSession([]byte("{not json")); err == nil {
		t.Fatal("garbage decoded")
	}
	if _, err := engine.DecodeSession([]byte(`{"v":99}`)); err == nil {
		t.Fatal("future version decoded")
	}
	e, c := newEngine(), loadDefault(t)
	res := e.Recover(c, engine.Input{Kind: engine.InText, Text: "hi"})
	if res.Notice != "reset" || len(res.Messages) < 2 || res.Session == nil {
		t.Fatalf("recover: %+v", res)
	}
}

func TestUnknownCommandAndMedia(t *testing.T) {
	p := newPerson(t, "ar")
	p.cmd("frobnicate")
	if p.res.Notice != "unknown_command" || len(p.buttons()) == 0 {
		t.Fatalf("unknown command: %+v", p.res)
	}
	p.send(engine.Input{Kind: engine.InMedia, Media: "sticker"})
	if p.res.Notice != "media" || len(p.buttons()) == 0 {
		t.Fatalf("sticker: %+v", p.res)
	}
	p.send(engine.Input{Kind: engine.InLocation, Lat: 44.8, Lon: 20.4})
	if p.res.Notice != "unexpected_location" || len(p.buttons()) == 0 {
		t.Fatalf("location: %+v", p.res)
	}
}

func TestLocationStep(t *testing.T) {
	p := newPerson(t, "en")
	p.press("A place to stay")
	p.press("Nearest")
	var asked bool
	for _, m := range p.last {
		asked = asked || m.RequestLocation
	}
	if !asked {
		t.Fatalf("no location request: %s", dump(p.last))
	}
	p.send(engine.Input{Kind: engine.InLocation, Lat: 44.81, Lon: 20.46})
	if p.s.Vars["location"] != "44.81000,20.46000" {
		t.Fatalf("location = %q", p.s.Vars["location"])
	}
}

// TestRandomWalksNeverDeadEnd presses random buttons and types random
// things in every language: every answer must carry a way on, and the
// engine must never panic or lose the session.
func TestRandomWalksNeverDeadEnd(t *testing.T) {
	c := loadDefault(t)
	e := newEngine()
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"help", "return", "hello", "3", "+381 60 123 4567", "", "<script>", "yes", "povratak", "بازگشت"}
	for walk := range 300 {
		var s *engine.Session
		var last []engine.Message
		for step := range 40 {
			var in engine.Input
			var bs []engine.Button
			for _, m := range last {
				for _, b := range m.Buttons {
					if b.Data != "" {
						bs = append(bs, b)
					}
				}
			}
			switch r := rng.IntN(10); {
			case r < 6 && len(bs) > 0:
				in = engine.Input{Kind: engine.InButton, Data: bs[rng.IntN(len(bs))].Data}
			case r < 8:
				in = engine.Input{Kind: engine.InText, Text: texts[rng.IntN(len(texts))]}
			case r < 9:
				in = engine.Input{Kind: engine.InCommand, Command: engine.Commands[rng.IntN(len(engine.Commands))]}
			default:
				in = engine.Input{Kind: engine.InLocation, Lat: 44, Lon: 20}
			}
			res := e.Handle(c, s, in)
			if res.Session == nil && !hasErase(res) {
				t.Fatalf("walk %d step %d: session lost without erase", walk, step)
			}
			waits := false
			for _, m := range res.Messages {
				waits = waits || m.Waits()
				if m.Text == "" {
					t.Fatalf("walk %d step %d: empty message", walk, step)
				}
			}
			if !waits {
				t.Fatalf("walk %d step %d: input %+v left the person without a button:\n%s", walk, step, in, dump(res.Messages))
			}
			s, last = res.Session, res.Messages
		}
	}
}

func hasErase(r engine.Result) bool {
	for _, fx := range r.Effects {
		if fx.Kind == engine.EffectErase {
			return true
		}
	}
	return false
}

func TestCheckAcceptsDefaultContent(t *testing.T) {
	if ds := engine.Check(loadDefault(t)); len(ds) > 0 {
		t.Fatalf("engine check: %v", ds)
	}
}
