package engine

import (
	"strings"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

// A referral step asks for consent, then the service's questions, and only
// then emits EffectReferral. Until that moment everything lives in the
// session's Ref, and leaving (any other step, /menu, "no", cancel) drops it.

func (t *turn) startReferral(st *content.Step) {
	t.s.Ref = &Referral{Service: st.Service, Question: -1}
	t.showReferral()
}

// showReferral shows the current stage: the consent text or a question.
func (t *turn) showReferral() {
	ref := t.s.Ref
	svc := t.c.Directory.Services[ref.Service]
	if svc == nil { // the service vanished from the content
		t.s.Ref = nil
		t.notice = "content_changed"
		t.say(content.TextContentChanged)
		t.enter(t.c.Home())
		return
	}
	if ref.Question < 0 {
		t.say(svc.Consent)
		t.consentNotes(svc, false)
		t.keyboard([]button{{content.TextReferralYes, "ref:yes"}, {content.TextReferralNo, "ref:no"}})
		return
	}
	q := svc.Questions[ref.Question]
	t.say(q.Ask)
	bs := make([]button, 0, len(q.Choices)+2)
	for _, ch := range q.Choices {
		bs = append(bs, button{ch.Label, "choice:" + ch.Value})
	}
	if q.Optional {
		bs = append(bs, button{content.TextReferralSkip, "ref:skip"})
	}
	bs = append(bs, button{content.TextReferralCancel, "ref:cancel"})
	t.keyboard(bs)
}

// referralButton handles consent, skip and cancel.
func (t *turn) referralButton(arg string) {
	ref := t.s.Ref
	if ref == nil {
		t.notice = "stale_button"
		t.say(content.TextStale)
		t.reshow()
		return
	}
	switch {
	case arg == "yes" && ref.Question < 0:
		ref.ConsentAt = t.e.Now().UTC()
		ref.Code = t.e.code()
		ref.ConsentVersion = t.c.Texts.Version(t.s.Lang, t.c.Directory.Services[ref.Service].Consent)
		t.nextQuestion()
	case arg == "no" && ref.Question < 0:
		// Nothing was stored; offer the service's public contacts instead.
		svc := t.c.Directory.Services[ref.Service]
		t.s.Ref = nil
		t.notice = "referral_declined"
		t.say(svc.Declined)
		t.contactsKeyboard()
	case arg == "skip" && ref.Question >= 0 && t.c.Directory.Services[ref.Service].Questions[ref.Question].Optional:
		t.nextQuestion()
	case arg == "cancel":
		t.s.Ref = nil
		t.notice = "referral_cancelled"
		t.say(content.TextReferralDropped)
		t.enter(t.c.Home())
	default:
		t.notice = "stale_button"
		t.say(content.TextStale)
		t.showReferral()
	}
}

// referralAnswer takes a typed (or chosen) answer to the current stage.
func (t *turn) referralAnswer(raw string) {
	ref := t.s.Ref
	svc := t.c.Directory.Services[ref.Service]
	if ref.Question < 0 || svc == nil {
		t.notice = "invalid_answer"
		t.say(content.TextInvalidChoice)
		t.showReferral()
		return
	}
	q := svc.Questions[ref.Question]
	st := &content.Step{Expect: q.Expect, Choices: q.Choices}
	v, ok := validate(st, raw, t.text)
	if !ok {
		t.notice = "invalid_answer"
		t.say(invalidText(q.Expect))
		t.showReferral()
		return
	}
	if ref.Answers == nil {
		ref.Answers = map[string]string{}
	}
	ref.Answers[q.Save] = v
	t.nextQuestion()
}

// contactsKeyboard ends a referral that was not sent: back to the flow's
// start (unless the person is there) or the menu.
func (t *turn) contactsKeyboard() {
	bs := []button{{content.TextMenuButton, "act:menu"}}
	if f := t.c.Flows[t.s.Flow]; f != nil && f.Start != t.s.Step {
		bs = append([]button{{content.TextBackButton, "go:" + f.Name + "/" + f.Start}}, bs...)
	}
	t.keyboard(bs)
}

// serviceOffline tells the person that service cannot be reached through
// the bot now and gives its public contacts. Nothing is stored.
func (t *turn) serviceOffline(service string) {
	svc := t.c.Directory.Services[service]
	t.s.Ref = nil
	t.notice = "service_offline"
	if svc == nil {
		t.say(content.TextContentChanged)
		t.enter(t.c.Home())
		return
	}
	t.sayWith(content.TextServiceOffline, map[string]string{"service": t.text(svc.Name)})
	t.say(svc.Declined)
	t.contactsKeyboard()
}

func (t *turn) nextQuestion() {
	ref := t.s.Ref
	svc := t.c.Directory.Services[ref.Service]
	ref.Question++
	if ref.Question < len(svc.Questions) {
		t.showReferral()
		return
	}
	t.submitReferral(svc)
}

// submitReferral emits the referral; the caller stores it before these
// messages (which quote its code) reach the person.
func (t *turn) submitReferral(svc *content.Service) {
	if t.e.offline(svc.ID) { // its queue went away while the person answered
		t.serviceOffline(svc.ID)
		return
	}
	ref := t.s.Ref
	code := ref.Code
	if code == "" { // cleared by the caller when the code was taken
		code = t.e.code()
	}
	t.fx = append(t.fx, Effect{Kind: EffectReferral, Service: svc.ID, Code: code, Lang: t.s.Lang,
		Vars: ref.Answers, ConsentAt: ref.ConsentAt, ConsentVersion: ref.ConsentVersion})
	t.s.Ref = nil
	t.setVar("code", code)
	t.notice = "referral_sent"
	extra := map[string]string{"code": code, "service": t.text(svc.Name)}
	t.sayWith(content.TextReferralSent, extra)
	t.availability(svc, content.TextReferralOpen, content.TextReferralLater)
	st := t.current()
	if st != nil && st.Next != nil {
		t.enter(*st.Next)
		return
	}
	t.keyboard([]button{{content.TextStatusButton, "status:"}, {content.TextMenuButton, "act:menu"}})
}

// availability tells when staff of a service will answer.
func (t *turn) availability(svc *content.Service, open, later string) {
	t.out = append(t.out, Message{Text: t.availabilityText(svc, open, later), Lang: t.s.Lang})
}

// availabilityText is open when staff are at work now, else later with
// {{.opens}}: the day and time they next are.
func (t *turn) availabilityText(svc *content.Service, open, later string) string {
	now := t.e.Now()
	if svc.Hours.Open(now) {
		return t.text(open)
	}
	next := svc.Hours.NextOpen(now)
	opens := t.text(content.Weekdays[next.Weekday()]) + " " + isolateIfRTL(t.c, t.s.Lang, next.Format("15:04"))
	vars := make(map[string]string, len(t.s.Vars)+1)
	for k, v := range t.s.Vars {
		vars[k] = v
	}
	vars["opens"] = opens
	return t.e.render(t.c, t.s.Lang, later, vars, nil)
}

// consentOf finds the service whose consent text a message step shows (a
// "talk to someone now" step shows it before its handoff), and whether one
// of the step's buttons hands the person over to that service's staff.
func (t *turn) consentOf(st *content.Step) (*content.Service, bool) {
	for _, id := range st.Say {
		for _, svc := range t.c.Directory.Services {
			if svc.Consent != id {
				continue
			}
			for _, b := range st.Buttons {
				if b.Go == nil {
					continue
				}
				if n := t.c.Step(*b.Go); n != nil && n.Kind == content.KindHandoff && n.Service == svc.ID {
					return svc, true
				}
			}
			return svc, false
		}
	}
	return nil, false
}

// consentNotes follows a consent text, before the person answers it: for a
// handoff whether someone is at work now (or when they will be), and who
// runs the service and holds the data.
func (t *turn) consentNotes(svc *content.Service, handoff bool) {
	var parts []string
	if handoff && !t.e.offline(svc.ID) {
		parts = append(parts, t.availabilityText(svc, content.TextHandoffNowOpen, content.TextHandoffNowLater))
	}
	parts = append(parts, t.text(content.TextHolder))
	t.out = append(t.out, Message{Text: strings.Join(parts, "\n\n"), Lang: t.s.Lang})
}

func invalidText(e content.Expect) string {
	switch e {
	case content.ExpectNumber:
		return content.TextInvalidNumber
	case content.ExpectPhone:
		return content.TextInvalidPhone
	case content.ExpectChoice:
		return content.TextInvalidChoice
	}
	return content.TextInvalidText
}

func isolateIfRTL(c *content.Content, lang, s string) string {
	if l, ok := c.Language(lang); ok && l.RTL {
		return textnorm.Isolate(s)
	}
	return s
}

// NormalizeCode turns what people type for a reference code ("pk 7f3q",
// "7F3Q") into its canonical form "PK-7F3Q"; "" if it cannot be one.
func NormalizeCode(s string) string {
	s = strings.ToUpper(textnorm.Fold(s))
	s = strings.NewReplacer(" ", "", "-", "", "O", "0", "I", "1").Replace(s)
	s = strings.TrimPrefix(s, "PK")
	if len(s) != 4 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(codeAlphabet, rune(s[i])) {
			return ""
		}
	}
	return "PK-" + s
}

// StatusQuery tells the caller which referral code an input asks about
// (/status CODE, /status alone for the last one, or the status button), so
// that it can look the state up and pass it in Input.Status.
func StatusQuery(s *Session, in Input) (string, bool) {
	ask := (in.Kind == InCommand && in.Command == "status") || (in.Kind == InButton && in.Data == statusData)
	if !ask {
		return "", false
	}
	if code := NormalizeCode(in.Arg); code != "" {
		return code, true
	}
	if s != nil && s.Vars["code"] != "" {
		return s.Vars["code"], true
	}
	return "", false
}

const statusData = "S"

// status answers /status with the state the caller looked up.
func (t *turn) status() {
	code, ok := StatusQuery(t.s, t.in)
	t.notice = "status"
	if !ok {
		t.say(content.TextStatusAsk)
		t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
		return
	}
	id := map[string]string{StatusReceived: content.TextStatusReceived, StatusClaimed: content.TextStatusClaimed,
		StatusClosed: content.TextStatusClosed}[t.in.Status]
	if id == "" {
		id = content.TextStatusUnknown
	}
	t.sayWith(id, map[string]string{"code": code})
	t.keyboard([]button{{content.TextMenuButton, "act:menu"}})
}

// event tells the person what staff did.
func (t *turn) event() {
	switch t.in.Event {
	case EventHandoffClaimed:
		if t.s.Handoff == "" {
			return
		}
		t.say(content.TextHandoffClaimed)
		t.keyboard([]button{{content.TextHandoffLeave, "leave:"}})
	case EventHandoffClosed:
		if t.s.Handoff == "" {
			return
		}
		t.s.Pending = pendingFeedback + t.s.Handoff
		t.s.Handoff = ""
		t.say(content.TextHandoffClosed)
		t.keyboard([]button{{content.TextFeedbackYes, "fb:yes"}, {content.TextFeedbackNo, "fb:no"}, {content.TextMenuButton, "act:menu"}})
	case EventCaseMessage:
		if t.in.Case == "" {
			return
		}
		t.notice = "event"
		t.openCase(t.in.Case, t.in.CaseService)
		return
	case EventCaseClosed:
		if t.s.Case != nil && t.s.Case.Code == t.in.Case {
			t.s.Case = nil // what they type is the bot's again
		}
		// Told only where the service wants it (directory notify_closed).
		if svc := t.c.Directory.Services[t.in.CaseService]; svc != nil && svc.NotifyClosed && t.in.Case != "" {
			t.sayWith(content.TextCaseClosed, map[string]string{"code": t.in.Case})
		}
	}
	t.notice = "event"
}

const pendingFeedback = "feedback:"

func (t *turn) feedback(v string) {
	if svc, ok := strings.CutPrefix(t.s.Pending, pendingFeedback); ok {
		t.fx = append(t.fx, Effect{Kind: EffectFeedback, Service: svc, Value: v})
	}
	t.s.Pending = ""
	t.say(content.TextFeedbackThanks)
	t.enter(t.c.Home())
}
