package content

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"
	"unicode"

	xplural "golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"putokaz/internal/textnorm"
)

// System texts: messages the engine itself shows, which every content tree
// must provide in every language.
const (
	TextLanguagePrompt  = "common.language.prompt"
	TextLanguageChosen  = "common.language.chosen"
	TextMenuButton      = "common.btn.menu"
	TextBackButton      = "common.btn.back"
	TextStale           = "common.stale"
	TextUnknownText     = "common.unknown_text"
	TextUnknownCommand  = "common.unknown_command"
	TextMedia           = "common.media"
	TextHelp            = "common.help"
	TextLocationButton  = "common.location.button"
	TextLocationUnknown = "common.location.unexpected"
	TextContentChanged  = "common.content_changed"
	TextReset           = "common.reset"
	TextDeleteConfirm   = "common.delete.confirm"
	TextDeleteYes       = "common.delete.yes"
	TextDeleteNo        = "common.delete.no"
	TextDeleteDone      = "common.delete.done"
	TextDeleteKept      = "common.delete.kept"
	TextStartButton     = "common.btn.start"
	TextInvalidText     = "common.invalid.text"
	TextInvalidNumber   = "common.invalid.number"
	TextInvalidPhone    = "common.invalid.phone"
	TextInvalidChoice   = "common.invalid.choice"
	TextError           = "common.error"
	TextHandoffLeave    = "common.handoff.leave"
	TextHandoffLeft     = "common.handoff.left"
	TextHandoffClaimed  = "common.handoff.claimed"
	TextHandoffClosed   = "common.handoff.closed"
	TextHandoffOpen     = "common.handoff.open"
	TextHandoffLater    = "common.handoff.later"
	TextFeedbackYes     = "common.feedback.yes"
	TextFeedbackNo      = "common.feedback.no"
	TextFeedbackThanks  = "common.feedback.thanks"
	TextReferralYes     = "common.referral.yes"
	TextReferralNo      = "common.referral.no"
	TextReferralSkip    = "common.referral.skip"
	TextReferralCancel  = "common.referral.cancel"
	TextReferralDropped = "common.referral.cancelled"
	TextReferralSent    = "common.referral.sent"
	TextReferralOpen    = "common.referral.open"
	TextReferralLater   = "common.referral.later"
	TextServiceOffline  = "common.referral.offline"
	TextStatusAsk       = "common.status.ask"
	TextStatusReceived  = "common.status.received"
	TextStatusClaimed   = "common.status.claimed"
	TextStatusClosed    = "common.status.closed"
	TextStatusUnknown   = "common.status.unknown"
	TextStatusButton    = "common.status.button"
	TextNearestNone     = "common.nearest.none"
	TextEdited          = "common.edited"
	// TextPrivacy is the short privacy notice shown once, after the first
	// choice of a language.
	TextPrivacy = "common.privacy"
	// TextExitDone follows a quick exit: how to delete the chat itself.
	TextExitDone = "common.exit.done"
	// TextHolder names who runs the service and holds the data; the engine
	// shows it with every referral and handoff consent.
	TextHolder = "common.holder"
	// TextHandoffNowOpen and TextHandoffNowLater tell, before a person
	// agrees to talk to staff, whether someone is at work now or when.
	TextHandoffNowOpen  = "common.talk_now.open"
	TextHandoffNowLater = "common.talk_now.later"
	// TextLocationAbroad answers a location outside the area the
	// directory's services cover.
	TextLocationAbroad = "common.abroad"
	// TextOrgUnnamed and TextOrgNoContact stand in for {{.org}} and
	// {{.data_contact}} when config.yaml does not name them.
	TextOrgUnnamed   = "common.org.unnamed"
	TextOrgNoContact = "common.org.no_contact"
	// Answers to typed text (issue 12).
	TextMatchAsk      = "common.match.ask"      // "Did you mean …?" above the topics
	TextMatchNothing  = "common.match.nothing"  // what the bot can do, the emergency number
	TextMatchGreeting = "common.match.greeting" // a greeting, before the menu
	TextMatchThanks   = "common.match.thanks"   // "you are welcome", before the menu
	TextMatchDanger   = "common.match.danger"   // one line of emergency numbers
	TextMatchSwitch   = "common.match.switch"   // in the language the person wrote: continue in it?
	// TextCaseFrom heads a staff message about a referral ({{.service}},
	// {{.code}}); TextCaseOpen tells the person that what they write now
	// goes to that case, TextCaseLeave is the button that stops it and
	// TextCaseLeft confirms it.
	TextCaseFrom  = "common.case_talk.from"
	TextCaseOpen  = "common.case_talk.open"
	TextCaseLeave = "common.case_talk.leave"
	TextCaseLeft  = "common.case_talk.left"
	// TextCaseClosed tells the person that staff closed their referral
	// ({{.code}}), for services with notify_closed in the directory.
	TextCaseClosed = "common.case_closed"
	// TextHandoffCode gives the person the reference code of their live
	// chat with staff ({{.code}}), for /status and the phone.
	TextHandoffCode = "live_chat.code"
	// Subscriptions to topic updates (issue 17). TextSubButton and
	// TextUnsubButton toggle a topic under its first message; TextSubDone
	// and TextUnsubDone confirm ({{.topic}} is its title); TextSubList heads
	// /subscribe, TextSubNoTopics says there is nothing to follow;
	// TextUnsubList heads /unsubscribe, TextUnsubAll is its "stop all"
	// button and TextUnsubAllDone confirms it; TextUnsubNone is /unsubscribe
	// without subscriptions, and TextSubChoose its button to /subscribe.
	TextSubButton    = "subscribe.button"
	TextUnsubButton  = "subscribe.stop_button"
	TextSubDone      = "subscribe.done"
	TextUnsubDone    = "subscribe.stopped"
	TextSubList      = "subscribe.list"
	TextSubNoTopics  = "subscribe.no_topics"
	TextSubChoose    = "subscribe.choose"
	TextUnsubList    = "subscribe.mine"
	TextUnsubAll     = "subscribe.stop_all"
	TextUnsubAllDone = "subscribe.all_stopped"
	TextUnsubNone    = "subscribe.none"
	// TextTransportError is the Telegram transport's apology when it gives
	// up on a message (a crash while handling it, or too many failures), in
	// the language of the person's Telegram app.
	TextTransportError = "transport.error"
)

// Command is a /command the engine understands in every language, and the
// text that describes it in Telegram's command menu.
type Command struct {
	Name string // without the slash
	Text string // its description, a system text
}

// Commands is the one list of commands: the engine answers them, the
// Telegram menu shows them (in this order) and the checker requires their
// texts. It lives here, under both, because the engine imports content.
var Commands = []Command{
	{"start", "common.command.start"},
	{"menu", "common.command.menu"},
	{"language", "common.command.language"},
	{"help", "common.command.help"},
	{"status", "common.command.status"},
	{"delete", "common.command.delete"},
	{"exit", "common.command.exit"},
	{"subscribe", "common.command.subscribe"},
	{"unsubscribe", "common.command.unsubscribe"},
}

// CommandList is the commands a person can type, as a text shows them
// ({{.commands}}): every command but /start, which /menu does too.
var CommandList = func() string {
	var names []string
	for _, c := range Commands {
		if c.Name != "start" {
			names = append(names, "/"+c.Name)
		}
	}
	return strings.Join(names, ", ")
}()

// Weekdays are the texts naming days, for "staff answer from Monday 09:00".
var Weekdays = [7]string{"common.weekday.sun", "common.weekday.mon", "common.weekday.tue", "common.weekday.wed",
	"common.weekday.thu", "common.weekday.fri", "common.weekday.sat"}

// SystemTexts lists every system text, for the checker: those named above,
// then the commands' (Commands).
var SystemTexts = append([]string{
	TextLanguagePrompt, TextLanguageChosen, TextMenuButton, TextBackButton, TextStale, TextUnknownText,
	TextUnknownCommand, TextMedia, TextHelp, TextLocationButton, TextLocationUnknown,
	TextContentChanged, TextReset, TextDeleteConfirm, TextDeleteYes, TextDeleteNo, TextDeleteDone,
	TextDeleteKept, TextStartButton, TextInvalidText, TextInvalidNumber, TextInvalidPhone,
	TextInvalidChoice, TextError, TextHandoffLeave, TextHandoffLeft, TextHandoffClaimed, TextHandoffClosed,
	TextHandoffOpen, TextHandoffLater, TextFeedbackYes, TextFeedbackNo, TextFeedbackThanks,
	TextReferralYes, TextReferralNo, TextReferralSkip, TextReferralCancel, TextReferralDropped, TextReferralSent,
	TextReferralOpen, TextReferralLater, TextServiceOffline, TextStatusAsk, TextStatusReceived, TextStatusClaimed, TextStatusClosed,
	TextStatusUnknown, TextStatusButton, TextNearestNone, TextEdited,
	TextPrivacy, TextExitDone, TextHolder, TextHandoffNowOpen, TextHandoffNowLater, TextLocationAbroad,
	TextOrgUnnamed, TextOrgNoContact,
	TextMatchAsk, TextMatchNothing, TextMatchGreeting, TextMatchThanks, TextMatchDanger, TextMatchSwitch,
	TextCaseFrom, TextCaseOpen, TextCaseLeave, TextCaseLeft, TextCaseClosed, TextHandoffCode,
	TextSubButton, TextUnsubButton, TextSubDone, TextUnsubDone, TextSubList, TextSubNoTopics, TextSubChoose,
	TextUnsubList, TextUnsubAll, TextUnsubAllDone, TextUnsubNone,
	Weekdays[0], Weekdays[1], Weekdays[2], Weekdays[3], Weekdays[4], Weekdays[5], Weekdays[6],
	TextUpdateHeader, TextUpdateFooter, TextTransportError,
}, commandTexts()...)

func commandTexts() []string {
	out := make([]string, len(Commands))
	for i, c := range Commands {
		out[i] = c.Text
	}
	return out
}

// StaffPrefix starts the names of texts staff read (case cards, buttons
// in staff groups): the referral package uses them, not flows, and they may
// exist in English only.
const StaffPrefix = "staff."

// BuiltinVars are variables the engine fills in itself.
// code and service describe a referral; opens is when staff next work;
// name, address, distance and map describe a place in a nearest list;
// org and data_contact name who runs the bot and where to ask about data
// (config.yaml), and commands lists the commands (CommandList), in every
// text; topic is the title of a topic: the one an
// urgent update concerns, or one followed or left (subscriptions).
var BuiltinVars = []string{"code", "service", "Count", "opens", "name", "address", "distance", "map", "org", "data_contact",
	"commands", "topic"}

// NearbyStep is the step of the home flow that a location shared outside a
// location step opens (a nearest step, if the content has one).
const NearbyStep = "nearby"

// MaxButtons is Telegram's practical limit of buttons under one message.
const MaxButtons = 100

// MaxTextLen is Telegram's limit of a message text, in UTF-16 code units.
const MaxTextLen = 4096

// MaxAnswerLen is the longest free-text answer the engine accepts, in
// characters; the checker counts it for every {{variable}} when it bounds
// the length of a rendered text.
const MaxAnswerLen = 300

type checker struct {
	flowsDir string
	// locales and localesDir hold the examples files.
	locales    fs.FS
	localesDir string
	c          *Content
	fl         *flowLoader
	diags      *Diags
	vars       map[string]bool
}

func (ck *checker) run() {
	for _, id := range SystemTexts {
		ck.fl.useID(id, Pos{File: builtIn, Line: 1, Col: 1}, false)
	}
	ck.vars = map[string]bool{}
	for _, v := range BuiltinVars {
		ck.vars[v] = true
	}
	for _, f := range ck.c.Flows {
		for _, s := range f.Steps {
			if s.Save != "" {
				ck.vars[s.Save] = true
			}
		}
	}
	ck.flows()
	ck.steps()
	ck.reachability()
	ck.cycles()
	ck.flowLanguages()
	ck.textsExist()
	ck.textsWellFormed()
	ck.translations()
	ck.safety()
	ck.keywords()
	if ck.locales != nil {
		ck.loadExamples(ck.locales, ck.localesDir)
	}
	ck.indexMatcher()
	ck.examplesMatch()
}

// knownVar reports whether a variable is saved by some step; when a step was
// rejected, any variable is taken as known (the rejected step may save it).
func (ck *checker) knownVar(name string) bool {
	return ck.vars[name] || len(ck.fl.broken) > 0
}

func (ck *checker) flows() {
	c := ck.c
	if len(ck.fl.brokenFlows) > 0 {
		return // the missing main or emergency flow may be the rejected one
	}
	if c.Flows[HomeFlow] == nil {
		ck.diags.errorf(Pos{File: ck.flowsDir, Line: 1, Col: 1}, "there is no flow %q: it is the main menu that /menu leads to", HomeFlow)
	}
	var emergency []*Flow
	for _, name := range c.FlowOrder {
		if f := c.Flows[name]; f.Emergency {
			emergency = append(emergency, f)
		}
	}
	switch len(emergency) {
	case 0:
		ck.diags.errorf(Pos{File: ck.flowsDir, Line: 1, Col: 1}, "no flow is marked \"emergency: true\"; emergency words must open one from anywhere")
	case 1:
		c.Emergency = emergency[0].Name
		if emergency[0].Keywords == "" {
			ck.diags.errorf(emergency[0].Pos, "the emergency flow needs keywords (help, police, pomoć, ...) so people can reach it by typing")
		}
	default:
		ck.diags.errorf(emergency[1].Pos, "only one flow can be the emergency flow; %q is one already", emergency[0].Name)
	}
	ck.subscribable()
}

// subscribable checks the topics people can follow: /subscribe names them
// by their title, and the button to follow one hangs under the flow's first
// message, so the flow needs both.
func (ck *checker) subscribable() {
	for _, name := range ck.c.FlowOrder {
		f := ck.c.Flows[name]
		if !f.Subscribable {
			continue
		}
		pos := ck.fl.subscribablePos[name]
		switch st := f.Steps[f.Start]; {
		case name == HomeFlow:
			ck.diags.errorf(pos, "the main menu cannot be followed: mark the topics people would want to hear about (\"subscribable: true\" in their own flows)")
		case f.Title == "":
			ck.diags.errorf(pos, "flow %q is subscribable but has no title: /subscribe and the confirmation name a topic by its title", name)
		case st == nil || st.Kind != KindMessage || len(st.Buttons) == 0:
			ck.diags.errorf(pos, "flow %q is subscribable, so its first step %q must be a message with buttons: the button to follow the topic goes under it", name, f.Start)
		}
	}
}

func (ck *checker) steps() {
	if s := ck.c.Step(Ref{Flow: HomeFlow, Step: NearbyStep}); s != nil && s.Kind != KindNearest {
		ck.diags.errorf(s.Pos, "step %q of flow %q is what a location shared anywhere opens, so it must list the nearest places (\"nearest:\"); it is a %s step",
			NearbyStep, HomeFlow, s.Kind)
	}
	for _, name := range ck.c.FlowOrder {
		f := ck.c.Flows[name]
		for _, sn := range f.Order {
			s := f.Steps[sn]
			if ck.fl.broken[s] {
				continue // rejected while loading: that error says enough
			}
			where := fmt.Sprintf("step %q", s.Name)
			n := len(s.Buttons) + len(s.Choices)
			if n > MaxButtons {
				ck.diags.errorf(s.Pos, "%s has %d buttons; Telegram shows at most %d", where, n, MaxButtons)
			}
			switch s.Kind {
			case KindMessage:
				if len(s.Buttons) == 0 && s.Next == nil {
					ck.diags.errorf(s.Pos, "%s is a dead end: add buttons (at least back or menu) or \"next:\"", where)
				}
				if len(s.Buttons) > 0 && s.Next != nil {
					ck.diags.errorf(s.Pos, "%s has both buttons and \"next:\"; with buttons the person chooses where to go — remove next", where)
				}
			case KindQuestion, KindLocation:
				if len(s.Buttons) == 0 {
					ck.diags.errorf(s.Pos, "%s waits for an answer but has no button to go back; add a cancel, back or menu button", where)
				}
				if s.Next == nil {
					ck.diags.errorf(s.Pos, "%s needs \"next:\" — where to go after the answer", where)
				}
			case KindReferral, KindHandoff:
				switch {
				case s.Service == "":
					ck.diags.errorf(s.Pos, "%s needs the name of a service", where)
				case ck.c.Directory.Services[s.Service] == nil:
					ck.diags.errorf(s.Pos, "%s names service %q, which is not in %s%s", where, s.Service, DirectoryFile,
						suggest(s.Service, serviceNames(ck.c.Directory)))
				}
			case KindNearest:
				if len(s.Buttons) == 0 {
					ck.diags.errorf(s.Pos, "%s waits for the person but has no button; add back or menu", where)
				}
				if s.From != "" && !ck.knownVar(s.From) {
					ck.diags.errorf(s.Pos, "%s reads the location from %q, but no step saves it", where, s.From)
				}
				for _, k := range s.Nearest {
					if !ck.placeKinds()[k] {
						ck.diags.errorf(s.Pos, "%s lists places of kind %q, but no place in %s has it", where, k, DirectoryFile)
					}
				}
			}
			if s.Count != "" && !ck.knownVar(s.Count) {
				ck.diags.errorf(s.Pos, "%s counts with variable %q, but no step saves it", where, s.Count)
			}
			for _, b := range s.Buttons {
				for _, l := range ck.c.Languages {
					if t, ok := ck.c.Texts.byLang[l.Tag][b.Label]; ok && textnorm.UTF16Len(t.Forms["other"]) > 40 {
						ck.diags.warnf(t.Pos, "button text %q is %d characters in %s; it may be cut on a small phone (keep it under 40)",
							b.Label, textnorm.UTF16Len(t.Forms["other"]), l.Tag)
					}
				}
			}
		}
	}
}

func serviceNames(d *Directory) []string {
	var out []string
	for id := range d.Services {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (ck *checker) placeKinds() map[string]bool {
	kinds := map[string]bool{}
	for _, p := range ck.c.Directory.Places {
		for _, k := range p.Kinds {
			kinds[k] = true
		}
	}
	return kinds
}

// successors are the steps a step can lead to.
func successors(s *Step) []*Ref {
	var out []*Ref
	for _, b := range s.Buttons {
		if b.Go != nil {
			out = append(out, b.Go)
		}
	}
	return append(out, s.Next, s.Go)
}

func (ck *checker) reachability() {
	c := ck.c
	if ck.fl.anyBroken() {
		// A rejected step or flow may have led anywhere: fix it first.
		return
	}
	reached := map[Ref]bool{}
	linked := map[string]bool{HomeFlow: true}
	var queue []Ref
	visit := func(r Ref) {
		if !reached[r] && c.Step(r) != nil {
			reached[r] = true
			queue = append(queue, r)
		}
	}
	for _, name := range c.FlowOrder {
		visit(c.Flows[name].StartRef()) // every flow can be opened by keyword or /start
	}
	visit(Ref{Flow: HomeFlow, Step: NearbyStep}) // a location shared anywhere opens it
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, n := range successors(c.Step(r)) {
			if n != nil {
				if n.Flow != r.Flow {
					linked[n.Flow] = true
				}
				visit(*n)
			}
		}
	}
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		for _, sn := range f.Order {
			if !reached[Ref{Flow: name, Step: sn}] {
				ck.diags.errorf(f.Steps[sn].Pos, "step %q can never be reached: no button, next or go leads to it", sn)
			}
		}
		if !linked[name] && f.Keywords == "" && !f.Emergency {
			ck.diags.warnf(f.Pos, "flow %q has no keywords and no button leads to it; only a /start link can open it", name)
		}
	}
}

// cycles finds loops of steps that continue on their own (go, next without
// buttons): the engine would spin without ever waiting for the person.
func (ck *checker) cycles() {
	c := ck.c
	auto := func(s *Step) *Ref {
		switch s.Kind {
		case KindJump:
			return s.Go
		case KindMessage, KindReferral:
			if len(s.Buttons) == 0 {
				return s.Next
			}
		}
		return nil
	}
	state := map[Ref]int{} // 1 visiting, 2 done
	var walk func(r Ref) bool
	walk = func(r Ref) bool {
		switch state[r] {
		case 1:
			return true
		case 2:
			return false
		}
		state[r] = 1
		s := c.Step(r)
		if s != nil && !ck.fl.broken[s] {
			if n := auto(s); n != nil && walk(*n) {
				if state[r] == 1 {
					ck.diags.errorf(s.Pos, "step %q is part of a loop of steps that never wait for the person (go/next); add buttons somewhere in the loop", r.Step)
				}
				state[r] = 2
				return true
			}
		}
		state[r] = 2
		return false
	}
	for _, name := range c.FlowOrder {
		for _, sn := range c.Flows[name].Order {
			walk(Ref{Flow: name, Step: sn})
		}
	}
}

func (ck *checker) textsExist() {
	c := ck.c
	ids := make([]string, 0, len(ck.fl.ids))
	for id := range ck.fl.ids {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		use := ck.fl.ids[id][0]
		where := use.Pos.String()
		if use.Pos.File == builtIn {
			where = "the bot itself"
		}
		var missing []Language
		needed := 0
		for _, l := range c.Languages {
			if !c.TextNeeded(l.Tag, id) {
				continue // only flows for other languages use it
			}
			needed++
			if !c.Texts.Has(l.Tag, id) {
				missing = append(missing, l)
			}
		}
		if needed == 0 {
			continue
		}
		if len(missing) == needed {
			if c.Texts.broken {
				continue // an unreadable locale file is reported once, not per text
			}
			p := use.Pos
			if p.File == builtIn {
				p = Pos{File: ck.localeFile(c.Languages[0]), Line: 1, Col: 1}
			}
			if needed < len(c.Languages) {
				ck.diags.errorf(p, "there is no text %q in any language; add it to the locales/active.*.yaml files of %s (used by %s)", id, languageTags(missing), where)
				continue
			}
			ck.diags.errorf(p, "there is no text %q in any language; add it to every locales/active.*.yaml file (used by %s)", id, where)
			continue
		}
		for _, l := range missing {
			if !c.Texts.files[l.Tag] {
				continue // the missing file is reported once, not per text
			}
			*ck.diags = append(*ck.diags, Diag{Pos: Pos{File: ck.localeFile(l), Line: 1, Col: 1}, Severity: Error, missingText: true,
				Msg: fmt.Sprintf("text %q is missing in %s (used by %s)", id, l.Tag, where)})
		}
	}
	if ck.fl.anyBroken() {
		return // a rejected step or flow may use any text
	}
	for _, l := range c.Languages {
		for _, id := range c.Texts.IDs(l.Tag) {
			if _, used := ck.fl.ids[id]; !used && !strings.HasPrefix(id, StaffPrefix) {
				if t := c.Texts.byLang[l.Tag][id]; !t.Generated {
					ck.diags.warnf(t.Pos, "text %q is not used by any flow", id)
				}
			}
		}
	}
}

const builtIn = "(built in)"

func (ck *checker) localeFile(l Language) string {
	return path.Join(ck.c.Texts.dir, "active."+l.Tag+".yaml")
}

// keywordIDs are texts holding keyword lists; they are typed, not shown.
func (ck *checker) keywordIDs() map[string]bool {
	out := map[string]bool{}
	for id, uses := range ck.fl.ids {
		for _, u := range uses {
			if u.Keywords {
				out[id] = true
			}
		}
	}
	return out
}

var longDigits = regexp.MustCompile(`\+?[0-9][0-9 ()\-]+[0-9]`)

func (ck *checker) textsWellFormed() {
	c := ck.c
	kw := ck.keywordIDs()
	for _, l := range c.Languages {
		need := pluralForms(l.Tag)
		for _, id := range c.Texts.IDs(l.Tag) {
			t := c.Texts.byLang[l.Tag][id]
			if len(t.Forms) > 1 || t.Forms["other"] == "" {
				var lack []string
				for _, f := range need {
					if t.Forms[f] == "" {
						lack = append(lack, f)
					}
				}
				if len(lack) > 0 {
					ck.diags.errorf(t.Pos, "text %q counts things, and %s needs the plural forms %s; add: %s",
						id, l.Tag, strings.Join(need, ", "), strings.Join(lack, ", "))
				}
			}
			for _, form := range pluralKeys {
				src, ok := t.Forms[form]
				if !ok {
					continue
				}
				ck.template(t, src)
				if n := textnorm.UTF16Len(src) + strings.Count(src, "{{")*MaxAnswerLen; n > MaxTextLen {
					ck.diags.errorf(t.Pos, "text %q in %s can be %d characters long; Telegram allows %d — split it into two texts", id, l.Tag, n, MaxTextLen)
				}
				if l.RTL && !kw[id] {
					// Tags are not shown (Telegram makes them formatting), so
					// "<b>عنوان</b>" starts with an Arabic letter.
					if !textnorm.StartsWithArabicLetter(tagRe.ReplaceAllString(src, "")) {
						ck.diags.errorf(t.Pos, "text %q in %s must start with an Arabic-script letter, or the phone shows it left-to-right; move numbers, links and emoji after the first word", id, l.Tag)
					}
					if loc := longDigits.FindStringIndex(stripIsolated(src)); loc != nil {
						ck.diags.warnf(t.Pos, "text %q in %s has a number or code that is not wrapped in direction marks (U+2066 … U+2069); it may read in the wrong order", id, l.Tag)
					}
				}
			}
			if t.Hash != "" && l.Tag != DefaultLanguage && t.Hash != c.Texts.SourceHash(id) {
				ck.diags.warnf(t.Pos, "text %q in %s was translated from an older English text; update it (putokaz translate export %s)", id, l.Tag, l.Tag)
			}
			if l.Tag != DefaultLanguage && !t.Generated && !kw[id] {
				if en, ok := c.Texts.byLang[DefaultLanguage][id]; ok && en.Forms["other"] == t.Forms["other"] && hasLetters(en.Forms["other"]) {
					ck.diags.warnf(t.Pos, "text %q in %s is the same as in English; is it translated?", id, l.Tag)
				}
			}
		}
	}
}

// stripIsolated removes text between isolate marks, which is already safe.
func stripIsolated(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch r {
		case '\u2066', '\u2067', '\u2068':
			depth++
		case '\u2069':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func hasLetters(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters > 3
}

// template checks a text's {{...}} parts: valid syntax and known variables.
func (ck *checker) template(t *text, src string) {
	if !strings.Contains(src, "{{") {
		return
	}
	trees, err := parse.Parse("t", src, "{{", "}}", map[string]any{})
	if err != nil {
		ck.diags.errorf(t.Pos, "text %q in %s has a broken {{...}} part: %v", t.ID, t.Lang, strings.TrimPrefix(err.Error(), "template: t:"))
		return
	}
	for _, tree := range trees {
		walkFields(tree.Root, func(name string) {
			if !ck.knownVar(name) {
				known := make([]string, 0, len(ck.vars))
				for v := range ck.vars {
					known = append(known, v)
				}
				slices.Sort(known)
				ck.diags.errorf(t.Pos, "text %q in %s uses {{.%s}}, but no step saves %q (variables: %s)", t.ID, t.Lang, name, name, strings.Join(known, ", "))
			}
		})
	}
}

func walkFields(n parse.Node, fn func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkFields(c, fn)
		}
	case *parse.ActionNode:
		walkFields(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkFields(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkFields(a, fn)
		}
	case *parse.FieldNode:
		fn(n.Ident[0])
	case *parse.IfNode:
		walkFields(n.Pipe, fn)
		walkFields(n.List, fn)
		walkFields(n.ElseList, fn)
	case *parse.RangeNode:
		walkFields(n.Pipe, fn)
		walkFields(n.List, fn)
		walkFields(n.ElseList, fn)
	case *parse.WithNode:
		walkFields(n.Pipe, fn)
		walkFields(n.List, fn)
		walkFields(n.ElseList, fn)
	}
}

// pluralForms lists the CLDR plural forms a language uses for whole numbers
// (the counts we pass are whole), asking x/text's CLDR tables.
func pluralForms(tag string) []string {
	t, err := language.Parse(tag)
	if err != nil {
		return []string{"other"}
	}
	names := map[xplural.Form]string{xplural.Zero: "zero", xplural.One: "one", xplural.Two: "two",
		xplural.Few: "few", xplural.Many: "many", xplural.Other: "other"}
	seen := map[string]bool{}
	for i := 0; i <= 1000; i++ {
		seen[names[xplural.Cardinal.MatchPlural(t, i, 0, 0, 0, 0)]] = true
	}
	var out []string
	for _, k := range pluralKeys {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// keywords folds every flow's keywords and reports a word claimed by two flows.
func (ck *checker) keywords() {
	c := ck.c
	type claim struct {
		flow, lang string
		pos        Pos
	}
	claimed := map[string]claim{}
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		if f.Keywords == "" {
			continue
		}
		for _, l := range c.Languages {
			t, ok := c.Texts.byLang[l.Tag][f.Keywords]
			if !ok {
				continue
			}
			for _, w := range SplitKeywords(t.Forms["other"]) {
				folded := textnorm.Fold(w)
				if folded == "" {
					continue
				}
				if prev, ok := claimed[folded]; ok {
					if prev.flow != name {
						ck.diags.errorf(t.Pos, "keyword %q (%s) is claimed by flow %q and by flow %q (%s, %s); a word can open only one flow",
							w, l.Tag, name, prev.flow, prev.lang, prev.pos)
					}
					continue
				}
				claimed[folded] = claim{flow: name, lang: l.Tag, pos: t.Pos}
				c.Keywords = append(c.Keywords, Keyword{Folded: folded, Flow: name, Lang: l.Tag})
			}
		}
	}
	// Longer phrases first, so "go home" wins over "home".
	slices.SortStableFunc(c.Keywords, func(a, b Keyword) int { return len(b.Folded) - len(a.Folded) })
	c.indexKeywords()
}

// SplitKeywords splits a keywords text at commas and line breaks.
func SplitKeywords(s string) []string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '،' || r == ';' })
	for i, w := range words {
		words[i] = strings.TrimSpace(w)
	}
	return words
}
