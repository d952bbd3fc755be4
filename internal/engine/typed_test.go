package engine_test

import (
	"slices"
	"testing"

	"putokaz/internal/engine"
)

func defaultPerson(t *testing.T, lang string) *person {
	p := &person{t: t, e: newEngine(), c: loadDefault(t)}
	p.send(engine.Input{Kind: engine.InButton, Data: "L:" + lang})
	return p
}

// A number typed in any script presses that button of the keyboard on
// screen.
func TestTypedNumberPressesButton(t *testing.T) {
	for _, digit := range []string{"3", "٣", "۳"} {
		p := defaultPerson(t, "en")
		p.text(digit)
		if p.s.Flow != "shelter" {
			t.Errorf("%q on the main menu: at %s/%s, want shelter (button 3)", digit, p.s.Flow, p.s.Step)
		}
	}
	p := defaultPerson(t, "en")
	p.text("99")
	if p.res.Notice != "unknown_text" {
		t.Errorf("a number with no button: notice %q, want unknown_text", p.res.Notice)
	}
}

// A typed number answering a question is the answer, never a button.
func TestTypedNumberAnswersQuestion(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Ask")
	p.text("2")
	p.says("Hello, 2.")
}

func TestTypedTextAnswers(t *testing.T) {
	p := defaultPerson(t, "en")
	p.text("I need legal help")
	if p.s.Flow != "asylum" || p.s.Step != "legal" || p.res.Notice != "keyword" {
		t.Errorf("legal help: at %s/%s (%s), want asylum/legal", p.s.Flow, p.s.Step, p.res.Notice)
	}
	p.says("In danger now? Police 192, ambulance 194.")
	if slices.ContainsFunc(p.res.Effects, func(fx engine.Effect) bool { return fx.Kind == engine.EffectEmergency }) {
		t.Error("help inside a sentence must not raise the emergency")
	}

	p.text("help")
	if p.s.Flow != "emergency" || p.res.Notice != "emergency" {
		t.Errorf("help alone: at %s (%s), want the emergency flow", p.s.Flow, p.res.Notice)
	}

	p.text("lawyer work")
	if p.res.Notice != "did_you_mean" || len(p.buttons()) < 3 {
		t.Errorf("lawyer work: %s with %d buttons, want did you mean", p.res.Notice, len(p.buttons()))
	}

	p.text("xyzzy qwerty lottery")
	if p.res.Notice != "unknown_text" || !slices.Equal(p.res.Unmatched, []string{"xyzzy", "qwerty", "lottery"}) {
		t.Errorf("nothing understood: %s, unmatched %v", p.res.Notice, p.res.Unmatched)
	}
	p.says("192")

	p.text("hello")
	if p.res.Notice != "greeting" || p.s.Flow != "main" {
		t.Errorf("hello: %s at %s", p.res.Notice, p.s.Flow)
	}

	p.text("میخوام برگردم به کشورم")
	if p.last[0].Buttons[0].Data != "L:fa" || p.s.Flow != "voluntary_return" {
		t.Errorf("Farsi from an English speaker: want the offer to switch, then the topic; got %+v", p.last[0])
	}
}

// Inside a question, a word that names a topic is the answer (typed text
// is never matched there).
func TestQuestionAnswersAreNotMatched(t *testing.T) {
	p := newPerson(t, "en")
	p.press("Ask")
	p.text("shelter")
	p.says("Hello, shelter.")
}
