package engine

import (
	"slices"
	"strings"
	"unicode"

	"putokaz/internal/content"
	"putokaz/internal/match"
	"putokaz/internal/textnorm"
)

// AnswerKind is how the engine answers a typed message that is not an
// answer to a question.
type AnswerKind uint8

const (
	// AnswerNothing: nothing understood; what the bot can do, the emergency
	// number, the menu.
	AnswerNothing AnswerKind = iota
	// AnswerOpen: one clear topic (Targets[0]).
	AnswerOpen
	// AnswerAsk: "Did you mean …?" with two or three topics (Targets).
	AnswerAsk
	// AnswerGreeting and AnswerThanks: a greeting and the menu.
	AnswerGreeting
	AnswerThanks
	// AnswerEmergency: the emergency flow, from anywhere.
	AnswerEmergency
)

func (k AnswerKind) String() string {
	return [...]string{"nothing", "open", "ask", "greeting", "thanks", "emergency"}[k]
}

// Answer is what Understand decided.
type Answer struct {
	Kind AnswerKind
	// Targets are flows or flow/step references (Open: one; Ask: two or three).
	Targets []string
	// DangerLine adds one line of emergency numbers: the message called for
	// help or a doctor inside a sentence about another topic.
	DangerLine bool
	// Lang is the content language the message is written in, when that is
	// clear, else "".
	Lang string
	// Keyword is the emergency word found (AnswerEmergency by keyword).
	Keyword content.Keyword
	// langWords is how many words of the message Lang knows.
	langWords float64
}

// Understand decides how to answer typed text outside a question. It is
// pure and shared by the engine and the evaluation (putokaz eval).
//
// A named immediate danger (attacked, ambulance, fire, …) opens the
// emergency flow. Otherwise the matcher ranks every topic: one clear winner
// opens, two or three close ones are offered, a greeting or thanks is
// greeted. A generic call for help ("help", "doctor") opens the topic the
// rest of the sentence asks for, with a line of emergency numbers, and the
// emergency flow only when nothing else is understood. A service word
// (police, trafficking) opens a topic only when it is the one clear winner,
// with the line of emergency numbers; otherwise the emergency flow.
//
// lang is the reader's language: topics written for other languages only
// (a flow's languages) are never offered to them.
func Understand(c *content.Content, lang, text string) Answer {
	folded := textnorm.Fold(text)
	// A danger word after a negation ("nije opasno") names no danger; the
	// rest of the message is searched again without it.
	for rest := folded; ; {
		kw, ok := c.MatchDanger(rest)
		if !ok {
			break
		}
		if !match.Negated(rest, kw.Folded) {
			return Answer{Kind: AnswerEmergency, Targets: []string{c.Emergency}, Keyword: kw}
		}
		rest = strings.TrimSpace(strings.ReplaceAll(" "+rest+" ", " "+kw.Folded+" ", " "))
	}
	skw, service := c.MatchService(folded)
	gkw, generic := c.MatchEmergency(folded, false)
	if match.ViolenceNow(folded) {
		// "он ме туче сад": violence happening now is a danger now.
		if !generic {
			gkw = content.Keyword{Flow: c.Emergency, Lang: lang}
		}
		return Answer{Kind: AnswerEmergency, Targets: []string{c.Emergency}, Keyword: gkw}
	}
	if service {
		gkw = skw
	}
	var a Answer
	if c.Matcher != nil {
		// The whole message is ranked, the service word too: "the police
		// pushed us back over the border" is about push-backs because of
		// the police. What the rest of it says (q) must still be enough
		// to name a topic.
		q := text
		if service {
			q = strings.Replace(folded, skw.Folded, " ", 1)
		}
		res := c.Matcher.Match(text)
		res.Candidates = slices.DeleteFunc(res.Candidates, func(cand match.Candidate) bool {
			return c.Flows[cand.Flow()] != nil && !c.Serves(cand.Flow(), lang)
		})
		if res.LangKnown {
			a.Lang = langTag(c, res.Lang, text)
			a.langWords = res.LangWords
		}
		d, cs := res.Decide()
		// Two words besides the service word, at least, to say what else
		// the message is about: "call the police" is a call for the police.
		if service && (d != match.Open || cs[0].Target == match.Greeting || cs[0].Target == match.Thanks ||
			len(match.Words(q)) < 2) {
			// The police (or a crime) named with no clear topic: danger.
			return Answer{Kind: AnswerEmergency, Targets: []string{c.Emergency}, Keyword: skw, Lang: a.Lang}
		}
		switch d {
		case match.Open:
			a.Targets = []string{cs[0].Target}
			switch cs[0].Target {
			case match.Greeting:
				a.Kind = AnswerGreeting
			case match.Thanks:
				a.Kind = AnswerThanks
			case c.Emergency:
				a.Kind = AnswerEmergency
			default:
				a.Kind = AnswerOpen
				a.DangerLine = generic || service
				if sensitive(c, cs[0].Flow()) || service {
					break
				}
				// A disclosure topic close behind another is offered
				// beside it, never hidden behind it.
				if d, ok := res.Beside(func(cand match.Candidate) bool { return sensitive(c, cand.Flow()) }); ok {
					a.Kind, a.Targets, a.DangerLine = AnswerAsk, []string{cs[0].Target, d.Target}, generic
				}
			}
			return a
		case match.Ask:
			if top := cs[0].Target; top == c.Emergency || sensitive(c, cs[0].Flow()) {
				// Someone disclosing violence, a child alone or a danger
				// should not have to pick among topics: the best of them
				// is a safe answer.
				a.Kind, a.Targets = AnswerOpen, []string{top}
				if top == c.Emergency {
					a.Kind = AnswerEmergency
				} else {
					a.DangerLine = generic
				}
				return a
			}
			a.Kind = AnswerAsk
			for _, cand := range cs {
				a.Targets = append(a.Targets, cand.Target)
			}
			a.DangerLine = generic
			return a
		}
	}
	if generic {
		return Answer{Kind: AnswerEmergency, Targets: []string{c.Emergency}, Keyword: gkw, Lang: a.Lang}
	}
	if kw, ok := c.MatchKeywordFor(folded, lang); ok {
		// Keywords stay for exact words the ranking does not know (all
		// stop words, say).
		a.Kind, a.Targets = AnswerOpen, []string{kw.Flow}
		if kw.Flow == c.Emergency {
			a.Kind = AnswerEmergency
		}
		return a
	}
	a.Kind = AnswerNothing
	return a
}

// sensitive reports a flow where disclosures land: its editors put the
// quick exit (someone may look at this phone) on one of its steps.
func sensitive(c *content.Content, flow string) bool {
	f := c.Flows[flow]
	if f == nil {
		return false
	}
	for _, st := range f.Steps {
		for _, b := range st.Buttons {
			if b.Action == content.ActionExit {
				return true
			}
		}
	}
	return false
}

// langTag turns a matcher family into the content's language tag: Serbian
// is Cyrillic when the message has Cyrillic letters.
func langTag(c *content.Content, f match.Family, text string) string {
	tag := f.String()
	if f == match.Serbian {
		tag = "sr-Latn"
		for _, r := range text {
			if unicode.Is(unicode.Cyrillic, r) {
				tag = "sr-Cyrl"
				break
			}
		}
	}
	if _, ok := c.Language(tag); !ok {
		return ""
	}
	return tag
}

// Got is the answer as an evaluation counts it (see match.Judge).
func (a Answer) Got() match.Got {
	return match.Got{Kind: a.Kind.String(), Targets: a.Targets}
}
