package referral

import (
	"html"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"putokaz/internal/content"
)

// Staff-facing texts. They live in the content (locales/active.en.yaml,
// group "staff:") so that they can be reworded without a release, and are
// shown in the staff language (Config.StaffLanguage: active.sr-Cyrl.yaml has
// them in Serbian, transliterated for sr-Latn). The English below
// is the fallback when the content lacks a text (an older content folder, the
// test fixture): a case card must never fail to render.
//
// They have no {{.variables}}: the card is composed here from labels, so
// that nothing the person typed ever goes through a template.
const (
	tCardReferral    = "staff.card.referral"
	tCardHandoff     = "staff.card.handoff"
	tCardService     = "staff.card.service"
	tCardLanguage    = "staff.card.language"
	tCardLangOther   = "staff.card.language_other"
	tCardReceived    = "staff.card.received"
	tCardConsent     = "staff.card.consent"
	tCardVersion     = "staff.card.consent_version"
	tCardAnswers     = "staff.card.answers"
	tCardNoAnswers   = "staff.card.no_answers"
	tButtonClaim     = "staff.button.claim"
	tButtonClose     = "staff.button.close"
	tRelayPerson     = "staff.relay.person"
	tRelayEdited     = "staff.relay.edited"
	tRelayNotCopied  = "staff.relay.not_copied"
	tNoticeEmergency = "staff.notice.emergency"
	tNoticeLeft      = "staff.notice.left"
	tNoticeWithdrew  = "staff.notice.withdrew"
	tAnswerClaimed   = "staff.answer.claimed"
	tAnswerTaken     = "staff.answer.already_claimed"
	tAnswerClosed    = "staff.answer.closed"
	tAnswerNotOpen   = "staff.answer.not_open"
	tAnswerWithdrawn = "staff.answer.withdrawn"
	tAnswerNotCase   = "staff.answer.not_case"
	tAnswerOther     = "staff.answer.other_group"
	tAnswerBlocked   = "staff.answer.blocked"
	tAnswerCommand   = "staff.answer.unknown_command"
	tAnswerNotMember = "staff.answer.not_member"
	tStatusLabel     = "staff.status.label"
	tStatusWaiting   = "staff.status.waiting"
	tStatusClaimed   = "staff.status.claimed"
	tStatusClosed    = "staff.status.closed"
	tStatusWithdrawn = "staff.status.withdrawn"
	tStatusClaimedBy = "staff.status.claimed_by"
	tStatusClosedBy  = "staff.status.closed_by"
	tStatusSomeone   = "staff.status.someone"
	tGuideCard       = "staff.guide.card"
	tGuideHelp       = "staff.guide.help"
	tReminderTopic   = "staff.reminder.topic"
	tReminderHow     = "staff.reminder.how"
	tReminderGeneral = "staff.reminder.general"
	tWaitingTitle    = "staff.waiting.title"
	tWaitingNone     = "staff.waiting.none"
	tWaitingFor      = "staff.waiting.for"
	tWaitingSince    = "staff.waiting.since"
	tWaitingOverdue  = "staff.waiting.overdue"
	tWaitingMore     = "staff.waiting.more"
)

// defaultTexts are the English fallbacks (kept equal to active.en.yaml by a
// test).
var defaultTexts = map[string]string{
	tCardReferral:    "📋 Referral",
	tCardHandoff:     "💬 A person wants to talk",
	tCardService:     "Service",
	tCardLanguage:    "Language",
	tCardLangOther:   "not a language of this queue",
	tCardReceived:    "Received",
	tCardConsent:     "Consent given",
	tCardVersion:     "consent text version",
	tCardAnswers:     "Answers",
	tCardNoAnswers:   "none",
	tButtonClaim:     "✋ Claim",
	tButtonClose:     "✅ Close",
	tRelayPerson:     "👤",
	tRelayEdited:     "(edited)",
	tRelayNotCopied:  "The person sent something that cannot be shown here:",
	tNoticeEmergency: "🚨 The person typed an emergency word and was shown the emergency numbers.",
	tNoticeLeft:      "🚪 The person left the chat.",
	tNoticeWithdrew:  "🗑 The person withdrew and erased their data (/delete). The case is closed; nothing more reaches them.",
	tAnswerClaimed:   "Claimed: this case is yours.",
	tAnswerTaken:     "This case was already claimed.",
	tAnswerClosed:    "Case closed.",
	tAnswerNotOpen:   "This case is closed; nothing was sent.",
	tAnswerWithdrawn: "The person withdrew; nothing was sent.",
	tAnswerNotCase:   "This is not an open case: write inside a case's topic (or reply to its card).",
	tAnswerOther:     "This button does not belong to a case of this group.",
	tAnswerBlocked:   "Not delivered: the person has blocked the bot.",
	tAnswerCommand:   "Unknown command. In a case: /note text (internal, not sent), /close.",
	tAnswerNotMember: "Only members of this staff group can act on its cases.",
	tStatusLabel:     "Status",
	tStatusWaiting:   "⏳ waiting to be claimed",
	tStatusClaimed:   "✋ claimed",
	tStatusClosed:    "✅ closed",
	tStatusWithdrawn: "🗑 withdrawn: the person erased their data (/delete)",
	tStatusClaimedBy: "Claimed",
	tStatusClosedBy:  "Closed",
	tStatusSomeone:   "a staff member",
	tGuideCard:       "✏️ Writing in this topic (or replying to this card) reaches the person. /note TEXT adds an internal note that is not sent.",
	tGuideHelp: "Staff commands, in a case's topic (or in reply to its card):\n" +
		"/claim: take the case\n" +
		"/close: close the case (the person is told where the service wants it)\n" +
		"/note TEXT: an internal note in the case history, not sent to the person\n" +
		"/waiting: the cases nobody has claimed yet, most overdue first (anywhere in the group)\n" +
		"/help: this list\n" +
		"Anything else you write in a case's topic reaches the person.",
	tReminderTopic:   "is still waiting to be claimed. Waiting for",
	tReminderHow:     "Claim it with the ✋ Claim button on its card, or /claim here.",
	tReminderGeneral: "Still not claimed after two reminders:",
	tWaitingTitle:    "Cases waiting to be claimed, most overdue first:",
	tWaitingNone:     "No case of this group is waiting to be claimed.",
	tWaitingFor:      "waiting for",
	tWaitingSince:    "since",
	tWaitingOverdue:  "overdue by",
	tWaitingMore:     "More cases waiting, not shown:",
}

// staffLang is the language of staff texts.
const staffLang = content.DefaultLanguage

// ContentSource gives the content in use (content.Holder).
type ContentSource interface {
	Content() *content.Content
}

// text renders a staff text from the content in the staff language
// (Config.StaffLanguage; English where the content has it in no other),
// else the fallback.
func (s *Desk) text(id string) string {
	if s.content != nil {
		if c := s.content.Content(); c != nil && c.Texts != nil {
			for _, lang := range []string{s.cfg.StaffLanguage, staffLang} {
				if lang == "" || !c.Texts.Has(lang, id) {
					continue
				}
				if t, err := c.Texts.Render(lang, id, nil, nil); err == nil && strings.TrimSpace(t) != "" {
					return t
				}
			}
		}
	}
	return defaultTexts[id]
}

// serviceName is the service's name in the staff language
// (Config.StaffLanguage, else English), for the card and the topic.
func (s *Desk) serviceName(id string) string {
	if s.content == nil {
		return ""
	}
	c := s.content.Content()
	if c == nil || c.Directory == nil || c.Directory.Services[id] == nil || c.Texts == nil {
		return ""
	}
	textID := c.Directory.Services[id].Name
	for _, lang := range []string{s.cfg.StaffLanguage, staffLang} {
		if lang == "" || !c.Texts.Has(lang, textID) {
			continue
		}
		if name, err := c.Texts.Render(lang, textID, nil, nil); err == nil && strings.TrimSpace(name) != "" {
			return html.UnescapeString(stripTags(name))
		}
	}
	return ""
}

// stripTags removes HTML tags (a service name in the content may carry
// <b>…</b>; a topic name is plain text).
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// personHeader heads a staff message about referral c for its person: the
// service and the code, in the person's language (Telegram HTML; "" if the
// content has no such text).
func (s *Desk) personHeader(c *Case) string {
	if s.content == nil {
		return ""
	}
	ct := s.content.Content()
	if ct == nil || ct.Texts == nil {
		return ""
	}
	lang := c.Lang
	if !ct.Texts.Has(lang, content.TextCaseFrom) {
		lang = content.DefaultLanguage
	}
	name := c.Service
	if ct.Directory != nil && ct.Directory.Services[c.Service] != nil {
		if n, err := ct.Texts.Render(lang, ct.Directory.Services[c.Service].Name, nil, nil); err == nil && n != "" {
			name = n
		}
	}
	h, err := ct.Texts.Render(lang, content.TextCaseFrom, map[string]string{"service": EscapeHTML(name), "code": c.Code}, nil)
	if err != nil {
		return ""
	}
	return h
}

// zone is where staff of a service work (its hours' time zone), else UTC.
func (s *Desk) zone(service string) *time.Location {
	if s.content != nil {
		if c := s.content.Content(); c != nil && c.Directory != nil {
			if svc := c.Directory.Services[service]; svc != nil && svc.Hours.Location != nil {
				return svc.Hours.Location
			}
		}
	}
	return time.UTC
}

func (s *Desk) languageName(tag string) string {
	if s.content == nil {
		return ""
	}
	if c := s.content.Content(); c != nil {
		if l, ok := c.Language(tag); ok {
			return l.Name
		}
	}
	return ""
}

// card renders a case card: code, service, language, time, consent time and
// version, the answers — nothing else (no name, no Telegram account).
func (s *Desk) card(c *Case, q Queue) string {
	esc := EscapeHTML
	var b strings.Builder
	title := tCardReferral
	if c.Kind == KindHandoff {
		title = tCardHandoff
	}
	b.WriteString("<b>" + esc(s.text(title)) + " · " + esc(c.Code) + "</b>\n")
	if c.Status == StatusWithdrawn {
		// Nothing of the person is left to show.
		b.WriteString(esc(s.text(tStatusLabel)) + ": " + esc(s.text(tStatusWithdrawn)))
		return b.String()
	}
	s.cardStatus(&b, c)
	if isOpen(c.Status) {
		b.WriteString("<i>" + esc(s.text(tGuideCard)) + "</i>\n")
	}
	svc := esc(c.Service)
	if n := s.serviceName(c.Service); n != "" {
		svc += " (" + esc(n) + ")"
	}
	b.WriteString(esc(s.text(tCardService)) + ": " + svc + "\n")
	lang := esc(c.Lang)
	if n := s.languageName(c.Lang); n != "" {
		lang += " (" + esc(n) + ")"
	}
	if len(q.Languages) > 0 && c.Lang != "" && !slices.Contains(q.Languages, c.Lang) {
		lang += " ⚠ " + esc(s.text(tCardLangOther))
	}
	b.WriteString(esc(s.text(tCardLanguage)) + ": " + lang + "\n")
	zone := s.zone(c.Service)
	b.WriteString(esc(s.text(tCardReceived)) + ": " + c.Created.In(zone).Format("2006-01-02 15:04 MST") + "\n")
	if c.Kind == KindReferral {
		b.WriteString(esc(s.text(tCardConsent)) + ": " + c.ConsentAt.In(zone).Format("2006-01-02 15:04 MST") +
			" (" + esc(s.text(tCardVersion)) + " " + esc(c.ConsentVersion) + ")\n")
		b.WriteString("\n<b>" + esc(s.text(tCardAnswers)) + "</b>\n")
		if len(c.Answers) == 0 {
			b.WriteString(esc(s.text(tCardNoAnswers)) + "\n")
		}
		names := make([]string, 0, len(c.Answers))
		for k := range c.Answers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			b.WriteString("• " + esc(k) + ": " + esc(clip(c.Answers[k], 500)) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// cardStatus writes the card's status lines: the status, and who claimed
// and closed the case (the staff member's first name) and when.
func (s *Desk) cardStatus(b *strings.Builder, c *Case) {
	esc := EscapeHTML
	status := map[string]string{StatusReceived: tStatusWaiting, StatusClaimed: tStatusClaimed,
		StatusClosed: tStatusClosed}[c.Status]
	if status == "" {
		return
	}
	b.WriteString(esc(s.text(tStatusLabel)) + ": " + esc(s.text(status)) + "\n")
	zone := s.zone(c.Service)
	who := func(name string) string {
		if name == "" {
			return esc(s.text(tStatusSomeone))
		}
		return esc(name)
	}
	if !c.ClaimedAt.IsZero() {
		b.WriteString(esc(s.text(tStatusClaimedBy)) + ": " + who(c.ClaimedName) + ", " +
			c.ClaimedAt.In(zone).Format("2006-01-02 15:04 MST") + "\n")
	}
	if !c.ClosedAt.IsZero() {
		b.WriteString(esc(s.text(tStatusClosedBy)) + ": " + who(c.ClosedName) + ", " +
			c.ClosedAt.In(zone).Format("2006-01-02 15:04 MST") + "\n")
	}
}

// topicName is a case topic's name: code and the service's name in the
// staff language ("PK-7F3Q · Going home (IOM)"; its ID if the content has
// no name), within Telegram's 128 characters.
func (s *Desk) topicName(c *Case) string {
	name := s.serviceName(c.Service)
	if name == "" {
		name = c.Service
	}
	return clip(c.Code+" · "+name, 128)
}

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Callback data of the card's buttons, which the staff side parses:
// "c:PK-7F3Q" (claim), "x:PK-7F3Q" (close) — 9 bytes, well under
// Telegram's 64.
const (
	DataClaim = "c:"
	DataClose = "x:"
)

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// EscapeHTML escapes what Telegram's HTML parse mode needs escaped outside
// tags: &, < and > — the text of a Post and a Reply.Header is that HTML.
// (html.EscapeString also turns quotes into entities, which staff would
// see in texts that were never HTML.)
func EscapeHTML(s string) string { return htmlEscaper.Replace(s) }
