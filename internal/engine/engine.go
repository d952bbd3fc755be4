package engine

import (
	"cmp"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/match"
	"putokaz/internal/textnorm"
)

// SessionVersion is the current encoding of Session; older blobs are reset.
const SessionVersion = 1

// maxHops bounds steps run for one input; the checker rejects loops, this
// guards against content it has not seen.
const maxHops = 32

// Engine runs conversations. Its clock and randomness are injected so that
// transcripts are reproducible.
type Engine struct {
	Now func() time.Time
	// Rand returns random bits (for referral codes).
	Rand func() uint64
	// Offline, if set, reports services that cannot receive referrals or
	// handoffs (no staff queue is configured for them): people who reach
	// one get its public contacts instead of a request nobody would read.
	Offline func(service string) bool
	// Org names who runs the bot and holds the data: every text can show
	// it as {{.org}} and {{.data_contact}}.
	Org Organisation
}

// Organisation names who runs the bot and where to ask about data
// (config.yaml: organisation). Empty parts fall back to the content's
// texts common.org.unnamed and common.org.no_contact, so that a sentence
// never shows a gap.
type Organisation struct {
	// Name is the organisation's name in languages without one of their own.
	Name string
	// Names are the name by language tag. A language transliterated from
	// another (Serbian Latin from Cyrillic) uses that one's, transliterated.
	Names map[string]string
	// DataContact is where to ask about data: an e-mail or a web page.
	DataContact string
}

// vars are the organisation's values for texts in lang, unescaped.
func (o Organisation) vars(c *content.Content, lang string) (org, contact string) {
	org = o.Names[lang]
	if org == "" {
		if l, ok := c.Language(lang); ok && l.From != "" && o.Names[l.From] != "" {
			org = textnorm.CyrToLat(o.Names[l.From])
		}
	}
	if org == "" {
		org = o.Name
	}
	if org == "" {
		org, _ = c.Texts.Render(lang, content.TextOrgUnnamed, nil, nil)
	}
	contact = o.DataContact
	if contact == "" {
		contact, _ = c.Texts.Render(lang, content.TextOrgNoContact, nil, nil)
	}
	return org, contact
}

func (e *Engine) offline(service string) bool { return e.Offline != nil && e.Offline(service) }

// New returns an engine with the given clock and random source.
func New(now func() time.Time, rnd func() uint64) *Engine {
	return &Engine{Now: now, Rand: rnd}
}

// turn is the work of one input.
type turn struct {
	e      *Engine
	c      *content.Content
	s      *Session
	in     Input
	out    []Message
	fx     []Effect
	notice string
	erased bool
	// unmatched: the words of a typed message that nothing matched.
	unmatched []string
}

// Handle processes one input. s is the person's session (nil for a new
// person); it is updated in place and returned in the result.
func (e *Engine) Handle(c *content.Content, s *Session, in Input) Result {
	if s == nil {
		s = &Session{V: SessionVersion}
	}
	t := &turn{e: e, c: c, s: s, in: in}
	if in.Subs != nil {
		s.Subs = slices.Sorted(slices.Values(*in.Subs))
		if len(s.Subs) == 0 {
			s.Subs = nil
		}
	}
	if s.Lang != "" {
		if _, ok := c.Language(s.Lang); !ok {
			s.Lang = "" // a language removed from the content: ask again
		}
	}
	t.handle()
	for i := range t.fx {
		t.fx[i].Origin = in.Origin
	}
	s.Seen = e.Now().UTC()
	res := Result{Messages: t.out, Effects: t.fx, Session: s, Notice: t.notice, Unmatched: t.unmatched}
	if t.erased {
		res.Session = nil
	}
	return res
}

// Recover starts over for a person whose stored session could not be read
// (corrupt or from an incompatible version): a notice, then normal handling.
func (e *Engine) Recover(c *content.Content, in Input) Result {
	res := e.Handle(c, nil, in)
	reset := Message{Text: e.render(c, content.DefaultLanguage, content.TextReset, nil, nil), Lang: content.DefaultLanguage}
	if res.Session != nil && res.Session.Lang != "" {
		reset.Lang = res.Session.Lang
		reset.Text = e.render(c, reset.Lang, content.TextReset, nil, nil)
	}
	res.Messages = append([]Message{reset}, res.Messages...)
	res.Notice = "reset"
	return res
}

func (t *turn) handle() {
	in, s := t.in, t.s
	if in.Kind == InButton {
		if tag, ok := strings.CutPrefix(in.Data, "L:"); ok {
			t.chooseLanguage(tag)
			return
		}
		if in.Data == restartData {
			t.in = Input{Kind: InCommand, Command: "start", LangHint: in.LangHint}
			t.command()
			return
		}
	}
	if in.Kind == InCommand {
		t.command()
		return
	}
	if in.Kind == InEvent {
		if s.Lang == "" {
			// The caller may know the person's language (their case's).
			s.Lang = t.guess()
			if s.Lang == "" {
				s.Lang = content.DefaultLanguage
			}
		}
		t.event()
		return
	}
	if in.Kind == InButton && in.Data == statusData {
		t.ensureLang()
		t.status()
		return
	}
	if in.Kind == InText {
		// Emergency words open the emergency flow from anywhere. In a
		// question only a message that is nothing but one counts; outside
		// one, a generic call for help ("help", "doctor") inside a sentence
		// is left to typed(), which opens the topic the sentence asks for.
		st := t.current()
		exact := st != nil && st.Kind == content.KindQuestion && s.Handoff == "" && s.Case == nil
		folded := textnorm.Fold(in.Text)
		var kw content.Keyword
		var ok bool
		if exact || s.Handoff != "" || s.Case != nil || s.Ref != nil {
			kw, ok = t.c.MatchEmergency(folded, exact)
		} else {
			kw, ok = t.c.MatchDanger(folded)
		}
		if ok {
			t.emergency(kw)
			return
		}
		if s.Lang == "" && t.firstWords(folded) {
			return
		}
	}
	if s.Lang == "" {
		t.picker("")
		return
	}
	if s.Pending == pendingDelete {
		s.Pending = ""
	}
	if in.Case != "" && in.Kind != InButton {
		// A reply to a staff message of an open referral goes to its case.
		t.openCase(in.Case, in.CaseService)
		t.fx = append(t.fx, Effect{Kind: EffectRelay, Service: in.CaseService, Code: in.Case, Input: &t.in})
		if t.notice == "" {
			t.notice = "relayed"
		}
		return
	}
	if s.Handoff != "" && in.Kind != InButton {
		t.fx = append(t.fx, Effect{Kind: EffectRelay, Service: s.Handoff, Input: &t.in})
		t.notice = "relayed"
		return
	}
	if s.Case != nil && in.Kind != InButton {
		t.fx = append(t.fx, Effect{Kind: EffectRelay, Service: s.Case.Service, Code: s.Case.Code, Input: &t.in})
		t.notice = "relayed"
		return
	}
	switch in.Kind {
	case InButton:
		t.button()
	case InText:
		t.typed()
	case InLocation:
		t.location()
	case InContact:
		t.contact()
	case InMedia:
		if in.Media == "edited" {
			t.notice = "edited"
			t.say(content.TextEdited)
			t.reshow()
			return
		}
		t.notice = "media"
		t.say(content.TextMedia)
		t.reshow()
	default:
		t.notice = "media"
		t.say(content.TextMedia)
		t.reshow()
	}
}

const (
	pendingDelete = "delete"
	pendingStart  = "start:"
	restartData   = "R"
)

// current is the step the person stands on, nil if none or gone.
func (t *turn) current() *content.Step {
	if t.s.Flow == "" {
		return nil
	}
	return t.c.Step(content.Ref{Flow: t.s.Flow, Step: t.s.Step})
}

func (t *turn) command() {
	s := t.s
	switch t.in.Command {
	case "start":
		payload := t.in.Arg
		if payload != "" && t.c.Flows[payload] == nil {
			payload = "" // an unknown deep link still starts normally
		}
		if s.Lang == "" {
			if payload != "" {
				s.Pending = pendingStart + payload
			}
			t.picker("")
			return
		}
		t.endHandoff(false)
		t.endCase(false)
		if payload != "" {
			t.enter(t.c.Flows[payload].StartRef())
			return
		}
		t.enter(t.c.Home())
	case "language":
		t.picker(s.Lang)
	case "menu":
		if s.Lang == "" {
			t.picker("")
			return
		}
		t.endHandoff(true)
		t.endCase(true)
		t.enter(t.c.Home())
	case "help":
		if s.Lang == "" {
			t.picker("")
			return
		}
		t.say(content.TextHelp)
		t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
	case "status":
		t.ensureLang()
		t.status()
	case "delete":
		t.ensureLang()
		s.Pending = pendingDelete
		t.say(content.TextDeleteConfirm)
		t.keyboard([]button{{content.TextDeleteYes, "del:yes"}, {content.TextDeleteNo, "del:no"}})
	case "exit":
		t.quickExit()
	case "subscribe", "unsubscribe":
		if s.Lang == "" {
			t.picker("")
			return
		}
		if t.in.Command == "subscribe" {
			t.subscribeList()
			return
		}
		t.unsubscribeList(true)
	default:
		t.notice = "unknown_command"
		if s.Lang == "" {
			t.picker("")
			return
		}
		t.say(content.TextUnknownCommand)
		t.reshow()
	}
}

// ensureLang gives a person without a language the default one for system
// texts (for /delete before any choice).
func (t *turn) ensureLang() {
	if t.s.Lang == "" {
		t.s.Lang = t.guess()
		if t.s.Lang == "" {
			t.s.Lang = content.DefaultLanguage
		}
	}
}

func (t *turn) guess() string {
	return MatchLanguage(t.c.Languages, t.in.LangHint)
}

// picker shows the language picker: the prompt in every language and a
// button per language with its native name, the best guess first.
func (t *turn) picker(current string) {
	first := current
	if first == "" {
		first = t.guess()
	}
	langs := orderLanguages(t.c.Languages, first)
	var lines []string
	for _, l := range langs {
		lines = append(lines, t.e.render(t.c, l.Tag, content.TextLanguagePrompt, nil, nil))
	}
	m := Message{Text: strings.Join(lines, "\n"), Lang: langs[0].Tag}
	for _, l := range langs {
		m.Buttons = append(m.Buttons, Button{Label: l.Name, Data: "L:" + l.Tag})
	}
	t.out = append(t.out, m)
	t.notice = "language_picker"
}

func (t *turn) chooseLanguage(tag string) {
	if _, ok := t.c.Language(tag); !ok {
		t.notice = "stale_button"
		t.picker(t.s.Lang)
		return
	}
	t.s.Lang = tag
	t.fx = append(t.fx, Effect{Kind: EffectSetLanguage, Lang: tag})
	t.say(content.TextLanguageChosen)
	t.privacyOnce()
	if flow, ok := strings.CutPrefix(t.s.Pending, pendingStart); ok {
		t.s.Pending = ""
		if f := t.c.Flows[flow]; f != nil {
			t.enter(f.StartRef())
			return
		}
	}
	t.s.Pending = ""
	if t.s.Handoff != "" || t.s.Case != nil || t.current() != nil {
		t.reshow() // changing language mid-flow keeps the place
		return
	}
	t.enter(t.c.Home())
}

// firstWords answers what a person typed before choosing a language, in
// the language it is written in, when that language and a topic (or a
// danger) are both clear: "i need legal help with my asylum case" opens
// legal help in English rather than the picker, or the emergency numbers
// for its word "help". Anything less clear gets the picker (false).
func (t *turn) firstWords(folded string) bool {
	a := Understand(t.c, "", t.in.Text)
	lang := a.Lang
	if _, ok := t.c.Language(lang); !ok {
		lang = ""
	}
	switch {
	case a.Kind == AnswerEmergency:
		kw := a.Keyword
		if kw.Lang == "" {
			kw.Lang = cmp.Or(lang, t.guess(), content.DefaultLanguage)
		}
		t.emergency(kw)
		return true
	case lang == "" || a.Kind == AnswerNothing:
		// No clear language or topic: a call for help ("doctor") still
		// gets an answer in the language of its word — the topic the
		// sentence asks for, else the emergency numbers.
		kw, ok := t.c.MatchEmergency(folded, false)
		if !ok {
			return false
		}
		if _, known := t.c.Language(kw.Lang); a.Kind == AnswerNothing || !known {
			t.emergency(kw)
			return true
		}
		lang = t.scriptOf(kw.Lang)
	}
	t.s.Lang = lang
	t.fx = append(t.fx, Effect{Kind: EffectSetLanguage, Lang: lang})
	t.privacyOnce()
	t.understood(a)
	return true
}

// scriptOf is lang in the script the person typed: a Serbian word typed in
// Latin letters gets Serbian in Latin letters, whichever script the
// keyword list it was found in is written in.
func (t *turn) scriptOf(lang string) string {
	if f, ok := match.FamilyOf(lang); ok {
		if tag := langTag(t.c, f, t.in.Text); tag != "" {
			return tag
		}
	}
	return lang
}

// privacyOnce shows the short privacy notice the first time it can: after
// the first choice of a language, or — for a person whose language an
// emergency word set, or who chose one before the notice existed — before
// the first main menu.
func (t *turn) privacyOnce() {
	if !t.s.Privacy {
		t.s.Privacy = true
		t.say(content.TextPrivacy)
	}
}

func (t *turn) emergency(kw content.Keyword) {
	if t.s.Lang == "" {
		// The person has not chosen a language yet: answer in the language
		// of the word they typed, and keep that choice.
		t.s.Lang = t.scriptOf(kw.Lang)
		t.fx = append(t.fx, Effect{Kind: EffectSetLanguage, Lang: t.s.Lang})
	}
	t.notice = "emergency"
	switch {
	case t.s.Handoff != "":
		t.fx = append(t.fx, Effect{Kind: EffectEmergency, Service: t.s.Handoff},
			Effect{Kind: EffectRelay, Service: t.s.Handoff, Input: &t.in})
	case t.s.Case != nil:
		// Staff of the referral being talked about see the alert and the
		// words; the person gets the emergency flow like anyone.
		cs := t.s.Case
		t.fx = append(t.fx, Effect{Kind: EffectEmergency, Service: cs.Service, Code: cs.Code},
			Effect{Kind: EffectRelay, Service: cs.Service, Code: cs.Code, Input: &t.in})
	case t.in.Case != "":
		t.fx = append(t.fx, Effect{Kind: EffectEmergency, Service: t.in.CaseService, Code: t.in.Case},
			Effect{Kind: EffectRelay, Service: t.in.CaseService, Code: t.in.Case, Input: &t.in})
	default:
		t.fx = append(t.fx, Effect{Kind: EffectEmergency})
	}
	t.s.Pending = ""
	t.enter(t.c.Flows[t.c.Emergency].StartRef())
}

// openCase starts relaying what the person types to the referral code
// (staff wrote to them about it, or they answered a staff message). A
// person talking to staff live keeps that chat; one preparing a referral
// keeps it too (their answers must not go to staff). It says so (with a
// way out) only when the conversation is new.
func (t *turn) openCase(code, service string) {
	s := t.s
	if s.Handoff != "" || s.Ref != nil || (s.Case != nil && s.Case.Code == code) {
		return
	}
	s.Case = &CaseTalk{Code: code, Service: service}
	t.notice = "case_open"
	t.say(content.TextCaseOpen)
	t.keyboard([]button{{content.TextCaseLeave, "leave:"}})
}

// endCase stops relaying to a referral's staff.
func (t *turn) endCase(say bool) {
	if t.s.Case == nil {
		return
	}
	t.s.Case = nil
	if say {
		t.say(content.TextCaseLeft)
	}
}

func (t *turn) endHandoff(say bool) {
	if t.s.Handoff == "" {
		return
	}
	t.fx = append(t.fx, Effect{Kind: EffectHandoffEnd, Service: t.s.Handoff})
	t.s.Handoff = ""
	if say {
		t.say(content.TextHandoffLeft)
	}
}

// button handles a press. Its data names the keyboard it belongs to; a press
// on any keyboard but the last one shown is stale.
func (t *turn) button() {
	s := t.s
	menu, idx, ok := parseData(t.in.Data)
	if !ok || menu != s.Menu || idx >= len(s.Targets) {
		t.notice = "stale_button"
		t.say(content.TextStale)
		t.reshow()
		return
	}
	target := s.Targets[idx]
	kind, arg, _ := strings.Cut(target, ":")
	if s.Pending == pendingDelete && kind != "del" {
		s.Pending = ""
	}
	if (kind == "go" || kind == "act" || kind == "leave") && target != "act:"+string(content.ActionExit) {
		t.endHandoff(true) // a quick exit ends it without a word
		t.endCase(true)
	}
	switch kind {
	case "go":
		flow, step, _ := strings.Cut(arg, "/")
		r := content.Ref{Flow: flow, Step: step}
		if t.c.Step(r) == nil {
			t.notice = "content_changed"
			t.say(content.TextContentChanged)
			t.enter(t.c.Home())
			return
		}
		t.enter(r)
	case "act":
		t.action(content.Action(arg))
	case "choice":
		if s.Ref != nil {
			t.referralAnswer(arg)
			return
		}
		st := t.current()
		if st == nil || st.Kind != content.KindQuestion {
			t.notice = "stale_button"
			t.say(content.TextStale)
			t.reshow()
			return
		}
		t.answer(st, arg)
	case "del":
		s.Pending = ""
		if arg == "yes" {
			t.say(content.TextDeleteDone)
			t.out[len(t.out)-1].Buttons = []Button{{Label: t.text(content.TextStartButton), Data: restartData}}
			t.fx = append(t.fx, Effect{Kind: EffectErase})
			if s.Handoff != "" {
				t.fx = append(t.fx, Effect{Kind: EffectHandoffEnd, Service: s.Handoff})
			}
			t.erased = true
			t.notice = "erased"
			return
		}
		t.say(content.TextDeleteKept)
		t.reshow()
	case "leave":
		t.enter(t.c.Home())
	case "ref":
		t.referralButton(arg)
	case "fb":
		t.feedback(arg)
	case "status":
		t.in.Data = statusData
		t.status()
	case "sub", "subl", "unsub", "back":
		t.subButton(kind, arg)
	default:
		t.notice = "stale_button"
		t.say(content.TextStale)
		t.reshow()
	}
}

func (t *turn) action(a content.Action) {
	switch a {
	case content.ActionMenu:
		t.enter(t.c.Home())
	case content.ActionLanguage:
		t.picker(t.s.Lang)
	case content.ActionHelp:
		t.in = Input{Kind: InCommand, Command: "help"}
		t.command()
	case content.ActionDelete:
		t.in = Input{Kind: InCommand, Command: "delete"}
		t.command()
	case content.ActionExit:
		t.quickExit()
	default:
		t.enter(t.c.Home())
	}
}

// text handles typed words: an answer to a question, or a keyword.
func (t *turn) typed() {
	if t.s.Ref != nil {
		t.referralAnswer(t.in.Text)
		return
	}
	st := t.current()
	if st != nil && st.Kind == content.KindQuestion {
		t.answer(st, t.in.Text)
		return
	}
	if t.pressTyped() {
		return
	}
	if st == nil && t.s.Flow != "" && t.s.Handoff == "" {
		// The step the person stood on is gone (content changed): say so
		// rather than "I did not understand".
		t.notice = "content_changed"
		t.say(content.TextContentChanged)
		t.enter(t.c.Home())
		return
	}
	t.understood(Understand(t.c, t.s.Lang, t.in.Text))
}

// location handles a shared location: the answer to a location step, or,
// anywhere else, the places nearest to it (the home flow's nearby step).
// A location outside the area the services cover says so and gives the
// local emergency number instead.
func (t *turn) location() {
	st := t.current()
	abroad := !inServiceArea(t.in.Lat, t.in.Lon)
	if t.s.Ref == nil && st != nil && st.Kind == content.KindLocation {
		if abroad {
			t.say(content.TextLocationAbroad)
		}
		t.setVar(st.Save, formatLocation(t.in.Lat, t.in.Lon))
		t.enter(*st.Next)
		return
	}
	nearby := content.Ref{Flow: content.HomeFlow, Step: content.NearbyStep}
	nb := t.c.Step(nearby)
	switch {
	case abroad:
		t.notice = "location_abroad"
		t.say(content.TextLocationAbroad)
		if t.s.Ref != nil {
			t.showReferral()
			return
		}
		t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
	case t.s.Ref != nil || nb == nil || nb.Kind != content.KindNearest || nb.From == "":
		// In the middle of a referral, going elsewhere would drop it.
		t.notice = "unexpected_location"
		t.say(content.TextLocationUnknown)
		t.reshow()
	default:
		t.notice = "location_nearby"
		t.setVar(nb.From, formatLocation(t.in.Lat, t.in.Lon))
		t.enter(nearby)
	}
}

func formatLocation(lat, lon float64) string {
	return strconv.FormatFloat(lat, 'f', 5, 64) + "," + strconv.FormatFloat(lon, 'f', 5, 64)
}

// quickExit wipes the conversation from the person's phone: the transport
// deletes the chat's messages (EffectQuickExit), and the conversation starts
// over on a neutral screen that names no topic. A chat with staff ends
// without a word to the person; a referral being prepared is dropped.
func (t *turn) quickExit() {
	t.ensureLang()
	s := t.s
	if s.Handoff != "" {
		t.fx = append(t.fx, Effect{Kind: EffectHandoffEnd, Service: s.Handoff})
		s.Handoff = ""
	}
	s.Case = nil
	code := s.Vars["code"] // /status still works; nothing on the phone shows it
	s.Flow, s.Step, s.Ref, s.Pending, s.Vars = "", "", nil, "", nil
	if code != "" {
		t.setVar("code", code)
	}
	// An update arriving later would bring the chat back on a phone just
	// wiped: the quick exit stops every subscription too.
	t.fx = append(t.fx, Effect{Kind: EffectUnsubscribe}, Effect{Kind: EffectQuickExit})
	s.Subs = nil
	t.notice = "quick_exit"
	t.say(content.TextExitDone)
	// Only "start again": every older keyboard is stale from now on.
	s.Menu++
	s.Targets = s.Targets[:0]
	t.out[len(t.out)-1].Buttons = []Button{{Label: t.text(content.TextStartButton), Data: restartData}}
}

func (t *turn) contact() {
	st := t.current()
	if st != nil && st.Kind == content.KindQuestion && st.Expect == content.ExpectPhone {
		t.answer(st, t.in.Text)
		return
	}
	t.notice = "media"
	t.say(content.TextMedia)
	t.reshow()
}

// answer validates an answer to a question and moves on, or asks again.
func (t *turn) answer(st *content.Step, raw string) {
	v, ok := validate(st, raw, func(id string) string { return t.text(id) })
	if !ok {
		t.notice = "invalid_answer"
		id := st.Invalid
		if id == "" {
			id = map[content.Expect]string{content.ExpectNumber: content.TextInvalidNumber,
				content.ExpectPhone: content.TextInvalidPhone, content.ExpectChoice: content.TextInvalidChoice}[st.Expect]
			if id == "" {
				id = content.TextInvalidText
			}
		}
		t.say(id)
		t.ask(st)
		return
	}
	t.setVar(st.Save, v)
	t.enter(*st.Next)
}

func (t *turn) setVar(name, v string) {
	if t.s.Vars == nil {
		t.s.Vars = map[string]string{}
	}
	t.s.Vars[name] = v
}

// reshow shows the current step again (after a notice), or the menu.
func (t *turn) reshow() {
	if t.s.Handoff != "" {
		t.keyboard([]button{{content.TextHandoffLeave, "leave:"}})
		return
	}
	if t.s.Case != nil {
		t.keyboard([]button{{content.TextCaseLeave, "leave:"}})
		return
	}
	if t.s.Ref != nil {
		t.showReferral()
		return
	}
	st := t.current()
	if st == nil {
		if t.s.Flow != "" {
			t.notice = "content_changed"
			t.say(content.TextContentChanged)
		}
		t.enter(t.c.Home())
		return
	}
	if !t.c.Serves(t.s.Flow, t.s.Lang) {
		// The person changed to a language this flow does not serve.
		t.enter(t.c.Home())
		return
	}
	switch st.Kind {
	case content.KindQuestion, content.KindLocation:
		t.ask(st)
	case content.KindReferral, content.KindHandoff:
		// Showing these again would start a referral or handoff anew.
		t.enter(t.c.Home())
	default:
		t.enter(content.Ref{Flow: t.s.Flow, Step: t.s.Step})
	}
}

// enter runs steps from r until one waits for the person.
func (t *turn) enter(r content.Ref) {
	if r == t.c.Home() {
		t.privacyOnce()
	}
	for hops := 0; ; hops++ {
		if f := t.c.Flows[r.Flow]; f != nil && !f.Serves(t.s.Lang) {
			// A flow for other languages (a /start link, an old button):
			// the reader could not read it, so the menu instead.
			r = t.c.Home()
		}
		st := t.c.Step(r)
		if st == nil || hops >= maxHops {
			t.notice = "content_changed"
			t.say(content.TextContentChanged)
			r = t.c.Home()
			st = t.c.Step(r)
			if hops >= maxHops+1 || st == nil {
				return
			}
		}
		t.s.Flow, t.s.Step = r.Flow, r.Step
		t.s.Ref = nil // moving on abandons a referral that was not sent
		count := t.count(st)
		switch st.Kind {
		case content.KindMessage:
			t.sayAll(st.Say, count)
			if svc, handoff := t.consentOf(st); svc != nil {
				t.consentNotes(svc, handoff)
			}
			if len(st.Buttons) > 0 || st.Next == nil {
				t.stepKeyboard(st)
				return
			}
			r = *st.Next
		case content.KindQuestion, content.KindLocation:
			t.ask(st)
			return
		case content.KindJump:
			r = *st.Go
		case content.KindEnd:
			t.sayAll(st.Say, count)
			t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
			return
		case content.KindReferral, content.KindHandoff:
			if t.e.offline(st.Service) {
				t.serviceOffline(st.Service)
				return
			}
			if st.Kind == content.KindReferral {
				t.sayAll(st.Say, count)
				t.startReferral(st)
				return
			}
			t.s.Handoff = st.Service
			// A live chat has a reference code like a referral: drawn here
			// (the caller stores the case under it before the person sees
			// it, and handles the input again with a fresh code if it is
			// taken), so that /status answers for it and the person can
			// quote it on the phone.
			code := t.e.code()
			t.fx = append(t.fx, Effect{Kind: EffectHandoff, Service: st.Service, Code: code, Lang: t.s.Lang})
			t.setVar("code", code)
			t.sayAll(st.Say, count)
			t.sayWith(content.TextHandoffCode, map[string]string{"code": code})
			if svc := t.c.Directory.Services[st.Service]; svc != nil {
				t.availability(svc, content.TextHandoffOpen, content.TextHandoffLater)
			}
			t.keyboardWith([]button{{content.TextHandoffLeave, "leave:"}}, st)
			return
		case content.KindNearest:
			t.nearest(st)
			return
		}
	}
}

// ask shows a question (or location request) with its buttons.
func (t *turn) ask(st *content.Step) {
	t.say(st.Ask)
	if st.Kind == content.KindLocation {
		m := &t.out[len(t.out)-1]
		m.RequestLocation = true
		m.LocationLabel = t.text(content.TextLocationButton)
	}
	bs := make([]button, 0, len(st.Choices)+len(st.Buttons))
	for _, ch := range st.Choices {
		bs = append(bs, button{ch.Label, "choice:" + ch.Value})
	}
	t.keyboardWith(bs, st)
}

func (t *turn) stepKeyboard(st *content.Step) {
	if len(st.Buttons) == 0 {
		// The checker rejects dead ends; never leave a person stuck anyway.
		t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
		return
	}
	t.keyboardWith(nil, st)
}

type button struct {
	label  string // message ID
	target string
}

func (t *turn) keyboardWith(bs []button, st *content.Step) {
	var urls []Button
	toggle := t.subToggle(st)
	for _, b := range st.Buttons {
		switch {
		case b.Go != nil:
			if !t.c.Serves(b.Go.Flow, t.s.Lang) {
				continue // a flow for other languages: shown only to its readers
			}
			bs = append(bs, button{b.Label, "go:" + b.Go.Flow + "/" + b.Go.Step})
		case b.Action != "":
			bs = append(bs, button{b.Label, "act:" + string(b.Action)})
		case b.URL != "":
			urls = append(urls, Button{Label: t.text(b.Label), URL: b.URL})
		}
	}
	if toggle != nil {
		// Last, so the topic's own buttons keep their places.
		bs = append(bs, *toggle)
	}
	t.keyboard(bs)
	if len(urls) > 0 {
		m := &t.out[len(t.out)-1]
		m.Buttons = append(m.Buttons, urls...)
	}
}

// keyboard attaches buttons to the last message and remembers their
// targets under a new keyboard number.
func (t *turn) keyboard(bs []button) {
	raw := make([]rawButton, len(bs))
	for i, b := range bs {
		raw[i] = t.sys(b.label, b.target)
	}
	t.keyboardRaw(raw)
}

// keyboardRaw is keyboard with labels that are already text.
func (t *turn) keyboardRaw(bs []rawButton) {
	if len(t.out) == 0 {
		t.out = append(t.out, Message{Lang: t.s.Lang})
	}
	s := t.s
	s.Menu++
	s.Targets = s.Targets[:0]
	m := &t.out[len(t.out)-1]
	m.Buttons = make([]Button, 0, len(bs))
	for i, b := range bs {
		s.Targets = append(s.Targets, b.target)
		m.Buttons = append(m.Buttons, Button{Label: b.text, Data: buttonData(s.Menu, i)})
	}
}

// buttonData is a button's callback data: the keyboard number and the
// button's index, never the target itself, so forged data cannot jump to a
// step the person was not offered.
func buttonData(menu uint32, idx int) string {
	return "m" + strconv.FormatUint(uint64(menu), 36) + "." + strconv.Itoa(idx)
}

func parseData(d string) (uint32, int, bool) {
	rest, ok := strings.CutPrefix(d, "m")
	if !ok {
		return 0, 0, false
	}
	m, i, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, 0, false
	}
	menu, err := strconv.ParseUint(m, 36, 32)
	if err != nil {
		return 0, 0, false
	}
	idx, err := strconv.Atoi(i)
	if err != nil || idx < 0 {
		return 0, 0, false
	}
	return uint32(menu), idx, true
}

func (t *turn) count(st *content.Step) any {
	if st.Count == "" {
		return nil
	}
	n, err := strconv.Atoi(t.s.Vars[st.Count])
	if err != nil {
		return 0
	}
	return n
}

func (t *turn) sayAll(ids []string, count any) {
	for _, id := range ids {
		t.out = append(t.out, Message{Text: t.e.render(t.c, t.s.Lang, id, t.s.Vars, count), Lang: t.s.Lang})
	}
}

// sayWith renders a text with extra values (content, not person input,
// but escaped all the same).
func (t *turn) sayWith(id string, extra map[string]string) {
	vars := make(map[string]string, len(t.s.Vars)+len(extra))
	for k, v := range t.s.Vars {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	t.out = append(t.out, Message{Text: t.e.render(t.c, t.s.Lang, id, vars, nil), Lang: t.s.Lang})
}

func (t *turn) say(id string) {
	t.out = append(t.out, Message{Text: t.text(id), Lang: t.s.Lang})
}

func (t *turn) text(id string) string {
	return t.e.render(t.c, t.s.Lang, id, t.s.Vars, nil)
}

// render localizes a text. Variables come from the person, so they are
// escaped for Telegram's HTML; a text that cannot be rendered falls back to
// the generic error text rather than showing template debris.
func (e *Engine) render(c *content.Content, lang, id string, vars map[string]string, count any) string {
	if s, ok := c.Texts.Plain(lang, id); ok {
		return s
	}
	data := make(map[string]string, len(vars)+4)
	for k, v := range vars {
		data[k] = html.EscapeString(v)
	}
	org, contact := e.Org.vars(c, lang)
	org, contact = html.EscapeString(org), html.EscapeString(contact)
	if l, ok := c.Language(lang); ok && l.RTL {
		// A name in Latin letters (or an e-mail) must not turn an Arabic or
		// Farsi line left-to-right: isolate it, in its own direction.
		org, contact = fsi+org+textnorm.PDI, fsi+contact+textnorm.PDI
	}
	data["org"], data["data_contact"] = org, contact
	data["commands"] = content.CommandList
	if count != nil {
		data["Count"] = fmt.Sprint(count)
	}
	s, err := c.Texts.Render(lang, id, data, count)
	if err != nil {
		if s, err = c.Texts.Render(lang, content.TextError, nil, nil); err != nil {
			return "…"
		}
	}
	return s
}

// fsi opens a first-strong isolate (U+2068): its content keeps its own
// direction and does not change the paragraph's.
const fsi = "\u2068"

// codeAlphabet leaves out 0/O and 1/I so a code can be read aloud and typed.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func (e *Engine) code() string {
	r := e.Rand()
	b := []byte("PK-????")
	for i := 3; i < len(b); i++ {
		b[i] = codeAlphabet[r%uint64(len(codeAlphabet))]
		r /= uint64(len(codeAlphabet))
	}
	return string(b)
}
