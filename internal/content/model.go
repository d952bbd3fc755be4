// Package content loads what editors write — flows (YAML) and texts (go-i18n
// message files) — into a read-only model, and reports every problem with the
// file, line and column where an editor can fix it.
package content

import (
	"fmt"
	"slices"
	"strings"

	"putokaz/internal/match"
)

// Kind is what a step does.
type Kind string

const (
	KindMessage  Kind = "message"  // say something, offer buttons or continue
	KindQuestion Kind = "question" // ask, validate and save the answer
	KindLocation Kind = "location" // ask the person to share a location
	KindJump     Kind = "jump"     // continue at another step or flow
	KindEnd      Kind = "end"      // say something and offer the way home
	KindReferral Kind = "referral" // refer the person to a service (see referral/)
	KindHandoff  Kind = "handoff"  // connect the person to staff of a service
	KindNearest  Kind = "nearest"  // list the places nearest to a shared location
)

// Expect is how a question's answer is validated.
type Expect string

const (
	ExpectText   Expect = "text"
	ExpectNumber Expect = "number"
	ExpectPhone  Expect = "phone"
	ExpectChoice Expect = "choice"
)

// Pos is a place in a content file.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Ref points at a step; Flow is always filled in after loading.
type Ref struct {
	Flow string
	Step string
}

func (r Ref) String() string { return r.Flow + "/" + r.Step }

// Action is something a button does besides moving to a step.
type Action string

const (
	ActionMenu     Action = "menu"     // go to the main menu
	ActionLanguage Action = "language" // show the language picker
	ActionHelp     Action = "help"     // show the help text
	ActionDelete   Action = "delete"   // ask to erase everything stored
	ActionExit     Action = "exit"     // quick exit: wipe this chat from the phone
)

// Actions lists the actions a button may name, for the checker's sentences.
var Actions = []Action{ActionMenu, ActionLanguage, ActionHelp, ActionDelete, ActionExit}

// Button is a button under a step's message. Exactly one of Go, URL and
// Action is set.
type Button struct {
	Label  string // message ID
	Go     *Ref
	URL    string
	Action Action
	Pos    Pos
}

// Choice is one allowed answer of a choice question.
type Choice struct {
	Label string // message ID
	Value string // what is saved
	Pos   Pos
}

// Step is one named point of a flow.
type Step struct {
	Name string
	Kind Kind
	Say  []string // message IDs shown in order
	// Count names the variable whose number selects plural forms.
	Count   string
	Buttons []Button
	// Ask is the question or location request's message ID.
	Ask     string
	Save    string
	Expect  Expect
	Choices []Choice
	Invalid string // message ID shown when an answer is not valid
	Next    *Ref
	Go      *Ref   // a jump's target
	Service string // referral or handoff service
	// Nearest lists places of these kinds nearest to the location saved in
	// From, each rendered with the Item text, at most Limit of them.
	Nearest []string
	From    string
	Item    string
	Limit   int
	Pos     Pos
}

// Flow is one conversation topic, from one file.
type Flow struct {
	Name      string
	Title     string // message ID
	Keywords  string // message ID holding comma-separated keywords
	Emergency bool
	// Subscribable lets people ask to be told when the topic changes
	// (subscribable: true): its first message carries a button for it and
	// /subscribe lists it.
	Subscribable bool
	// Languages lists the tags of the languages the flow serves; empty means
	// every language. A flow for some languages is offered, opened and
	// checked only for readers of one of them.
	Languages []string
	Start     string
	Steps     map[string]*Step
	Order     []string // step names in file order
	File      string
	Pos       Pos
}

// StartRef is where the flow begins.
func (f *Flow) StartRef() Ref { return Ref{Flow: f.Name, Step: f.Start} }

// Serves reports whether readers of a language may see the flow.
func (f *Flow) Serves(lang string) bool {
	return len(f.Languages) == 0 || slices.Contains(f.Languages, lang)
}

// Language is one language the bot speaks.
type Language struct {
	Tag     string
	Name    string // native name shown in the picker
	RTL     bool
	Aliases []string
	// From names the language this one is transliterated from when a message
	// has no text of its own (Serbian Latin from Cyrillic).
	From string
	Pos  Pos
}

// HomeFlow is the flow that /menu and every "menu" button lead to.
const HomeFlow = "main"

// Content is a loaded, consistent content tree. It is never modified after
// loading, so it can be shared by all conversations and swapped on reload.
type Content struct {
	Flows     map[string]*Flow
	FlowOrder []string
	Languages []Language
	Texts     *Texts
	Directory *Directory
	// Emergency is the flow opened by emergency words from any state.
	Emergency string
	// Keywords maps a folded keyword to its flow.
	Keywords []Keyword
	// Examples are the phrasings people type, per target and language
	// (locales/examples.<tag>.yaml).
	Examples []Example
	// Matcher ranks topics against typed text; built from the examples,
	// keywords and titles at every load.
	Matcher *match.Index
	// Version identifies this content (a hash of its files).
	Version string
	// textLangs lists, for texts used only by flows for some languages,
	// the languages they are needed in; a text not in it is needed in all.
	textLangs map[string][]string
	// Safety lists the safety-critical text names (globs) of
	// locales/safety.yaml; Reviews holds each language's English
	// back-translations (locales/review.<tag>.yaml) by text name, and
	// ReviewFiles the path of each of those files.
	Safety      []string
	Reviews     map[string]map[string]Review
	ReviewFiles map[string]string
	safetyPos   []Pos
	kw          keywordIndex
}

// Keyword is one folded word or phrase that opens a flow.
type Keyword struct {
	Folded string
	Flow   string
	Lang   string
}

// Step finds a step; nil when it does not exist.
func (c *Content) Step(r Ref) *Step {
	f := c.Flows[r.Flow]
	if f == nil {
		return nil
	}
	return f.Steps[r.Step]
}

// Serves reports whether readers of a language may see a flow; false for
// a flow that does not exist.
func (c *Content) Serves(flow, lang string) bool {
	f := c.Flows[flow]
	return f != nil && f.Serves(lang)
}

// TextNeeded reports whether a text must exist in a language: false only
// for texts that flows for other languages alone use.
func (c *Content) TextNeeded(lang, id string) bool {
	langs, limited := c.textLangs[id]
	return !limited || slices.Contains(langs, lang)
}

// Home is where /menu leads.
func (c *Content) Home() Ref { return c.Flows[HomeFlow].StartRef() }

// Language returns the language with this exact tag.
func (c *Content) Language(tag string) (Language, bool) {
	for _, l := range c.Languages {
		if l.Tag == tag {
			return l, true
		}
	}
	return Language{}, false
}

// parseRef reads "step", "flow/step" or "flow/" relative to flow.
func parseRef(s, flow string) Ref {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return Ref{Flow: s[:i], Step: s[i+1:]}
	}
	return Ref{Flow: flow, Step: s}
}
