package engine

import (
	"strconv"
	"strings"

	"putokaz/internal/content"
	"putokaz/internal/match"
	"putokaz/internal/textnorm"
)

// pressTyped presses a button of the keyboard on screen when the person
// typed its number ("3", "٣", "۳"), as the terminal chat does.
func (t *turn) pressTyped() bool {
	f := textnorm.Fold(t.in.Text)
	if f == "" || len(f) > 3 || strings.Trim(f, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(f)
	if err != nil || n < 1 || n > len(t.s.Targets) {
		return false
	}
	t.in = Input{Kind: InButton, Data: buttonData(t.s.Menu, n-1), LangHint: t.in.LangHint}
	t.button()
	return true
}

// understood answers typed text that is not an answer to a question.
func (t *turn) understood(a Answer) {
	t.offerLanguage(a.Lang, a.langWords)
	switch a.Kind {
	case AnswerEmergency:
		t.emergency(a.Keyword)
	case AnswerOpen:
		r, ok := t.targetRef(a.Targets[0])
		if !ok {
			t.nothing()
			return
		}
		t.notice = "keyword"
		if a.DangerLine {
			t.say(content.TextMatchDanger)
		}
		t.enter(r)
	case AnswerAsk:
		// Each offered topic is a button with its flow's title (a flow
		// without one cannot be offered).
		var bs []button
		for _, target := range a.Targets {
			if r, ok := t.targetRef(target); ok && t.c.Flows[r.Flow].Title != "" {
				bs = append(bs, button{t.c.Flows[r.Flow].Title, "go:" + r.Flow + "/" + r.Step})
			}
		}
		if len(bs) < 2 {
			if len(bs) == 1 {
				a.Kind, a.Targets = AnswerOpen, []string{strings.TrimPrefix(bs[0].target, "go:")}
				a.Lang = "" // offered above already
				t.understood(a)
				return
			}
			t.nothing()
			return
		}
		t.notice = "did_you_mean"
		if a.DangerLine {
			t.say(content.TextMatchDanger)
		}
		t.say(content.TextMatchAsk)
		t.keyboard(append(bs, button{content.TextMenuButton, "act:menu"}))
	case AnswerGreeting, AnswerThanks:
		t.notice = "greeting"
		if a.Kind == AnswerThanks {
			t.say(content.TextMatchThanks)
		} else {
			t.say(content.TextMatchGreeting)
		}
		t.enter(t.c.Home())
	default:
		t.unmatched = match.Words(t.in.Text)
		t.nothing()
	}
}

// nothing: what the bot can do, the emergency number, the menu.
func (t *turn) nothing() {
	t.notice = "unknown_text"
	t.say(content.TextMatchNothing)
	t.enter(t.c.Home())
}

// targetRef resolves a matcher target (flow or flow/step).
func (t *turn) targetRef(target string) (content.Ref, bool) {
	flow, step, hasStep := strings.Cut(target, "/")
	f := t.c.Flows[flow]
	if f == nil {
		return content.Ref{}, false
	}
	if !hasStep {
		return f.StartRef(), true
	}
	r := content.Ref{Flow: flow, Step: step}
	return r, t.c.Step(r) != nil
}

// offerLanguage offers, with one button, to continue in the language the
// person wrote in when it is clearly another of the bot's languages; the
// offer is written in that language. Serbian in either script is one
// language here. Two known words of another script are clear enough;
// in the same script (English for a Serbian speaker, Farsi for an Arabic
// one) it takes three, as short phrases are borrowed across languages.
func (t *turn) offerLanguage(tag string, words float64) {
	if tag == "" || t.s.Lang == "" || sameFamily(tag, t.s.Lang) {
		return
	}
	if latinScript(tag) == latinScript(t.s.Lang) && words < 3 {
		return
	}
	l, ok := t.c.Language(tag)
	if !ok {
		return
	}
	t.out = append(t.out, Message{
		Text:    t.e.render(t.c, tag, content.TextMatchSwitch, nil, nil),
		Lang:    tag,
		Buttons: []Button{{Label: l.Name, Data: "L:" + tag}},
	})
}

func latinScript(tag string) bool {
	f, _ := match.FamilyOf(tag)
	return f == match.English || f == match.Serbian
}

func sameFamily(a, b string) bool {
	fa, oka := match.FamilyOf(a)
	fb, okb := match.FamilyOf(b)
	return oka && okb && fa == fb
}
