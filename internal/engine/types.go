// Package engine is the conversation engine: given content, a session and one
// input event it returns the messages to show and the effects to apply. It is
// pure: no Telegram, no Redis, no clock or randomness of its own.
package engine

import "time"

// InputKind says what the person did.
type InputKind int

const (
	// InText is a typed message.
	InText InputKind = iota
	// InButton is a press of an inline button; Data holds its callback data.
	InButton
	// InCommand is a /command; Command holds its lower-case name without the
	// slash (and without @BotName), Arg the rest of the line (a /start payload).
	InCommand
	// InLocation is a shared location (Lat, Lon).
	InLocation
	// InContact is a shared contact; Text holds the phone number.
	InContact
	// InMedia is anything else a person can send: photo, voice, sticker,
	// document. Media names the kind ("photo", "sticker", ...).
	InMedia
	// InEvent is something that happened outside the chat that the person
	// must be told about (Event: "handoff_claimed", "handoff_closed").
	InEvent
)

// Events the engine understands.
const (
	EventHandoffClaimed = "handoff_claimed"
	EventHandoffClosed  = "handoff_closed"
	// EventCaseMessage: staff wrote to the person about their open referral
	// Input.Case (of Input.CaseService). What the person types next goes to
	// that case, until they leave or it is closed.
	EventCaseMessage = "case_message"
	// EventCaseClosed: staff closed the referral Input.Case (or the person
	// withdrew it): what they type is the bot's again. Where the service has
	// NotifyClosed (Input.CaseService), the person is told, naming the code.
	EventCaseClosed = "case_closed"
)

// Referral states a status lookup can report.
const (
	StatusReceived = "received"
	StatusClaimed  = "claimed"
	StatusClosed   = "closed"
)

// Input is one event from the person.
type Input struct {
	Kind    InputKind
	Text    string
	Data    string
	Command string
	Arg     string
	Lat     float64
	Lon     float64
	Media   string
	Event   string
	// Status is filled in by the caller for "/status CODE": the state of the
	// person's own referral with that code, or "" if there is none.
	Status string
	// LangHint is the client's interface language (Telegram's language_code):
	// only a hint for ordering the language picker, never a choice.
	LangHint string
	// ReplyTo is the message the person's message answers (Telegram's
	// reply_to_message; 0: none). The caller looks it up: a reply to a
	// staff message of an open referral fills in Case and CaseService.
	ReplyTo int
	// Case and CaseService name the person's open referral an input is
	// about: the one a reply answers, or the one of an EventCaseMessage /
	// EventCaseClosed. Filled in by the caller, never from what the person
	// typed.
	Case        string
	CaseService string
	// Subs, when not nil, are the topics the person follows as the
	// subscriptions store has them (the caller fills them in for a person
	// without a session, and for /start, /subscribe and /unsubscribe); the
	// session then takes them over. A pointer keeps Input comparable.
	Subs *[]string
	// Origin is the transport's message this input is (zero for events,
	// buttons and transports without one); the engine passes it on in
	// every effect of the input.
	Origin Origin
}

// Origin names a person's message as the transport delivered it, so that
// an effect can refer back to it: staff get a copy of the photo the person
// sent, and a message delivered twice is relayed once. The transport fills
// it in; the engine never reads it.
type Origin struct {
	// Chat and Message locate the message (Telegram: the person's private
	// chat and the message's ID in it).
	Chat    int64
	Message int
	// Delivery is unique to one delivery of the message (Telegram: the
	// update's ID); "" when the transport has none.
	Delivery string
}

// Button is one button under a message. Exactly one of Data and URL is set.
type Button struct {
	Label string
	// Data is the callback data sent back when the button is pressed; the
	// engine keeps it short (well under Telegram's 64 bytes).
	Data string
	URL  string
}

// Message is one message to show, already localized.
type Message struct {
	// Text is trusted content in Telegram's HTML subset (<b>, <i>, <a href>),
	// with anything that came from the person already escaped.
	Text string
	// Lang is the language tag the text is written in.
	Lang    string
	Buttons []Button
	// RequestLocation asks the client to offer a "share location" control
	// labelled LocationLabel (a reply keyboard on Telegram).
	RequestLocation bool
	LocationLabel   string
}

// Waits reports whether the message expects an answer (it carries buttons or
// asks for a location).
func (m Message) Waits() bool { return len(m.Buttons) > 0 || m.RequestLocation }

// EffectKind names something the caller must do besides showing messages.
type EffectKind string

const (
	// EffectSetLanguage: the person chose a language (Lang).
	EffectSetLanguage EffectKind = "set_language"
	// EffectErase: erase everything stored about the person. The session in
	// the result is nil.
	EffectErase EffectKind = "erase"
	// EffectReferral: create a referral (Service, Code, Vars). Callers must
	// store it durably before showing the messages, which already quote Code.
	EffectReferral EffectKind = "referral"
	// EffectHandoff: connect the person to staff of Service.
	EffectHandoff EffectKind = "handoff"
	// EffectHandoffEnd: the person left the conversation with staff.
	EffectHandoffEnd EffectKind = "handoff_end"
	// EffectRelay: pass the input on to staff unchanged: during a handoff
	// (Service), or in a referral's conversation (Code names the case).
	EffectRelay EffectKind = "relay"
	// EffectEmergency: the person typed an emergency word (staff in a
	// handoff, or of the referral Code being talked about, should see an
	// alert).
	EffectEmergency EffectKind = "emergency"
	// EffectFeedback: the person answered "was this helpful?" (Value yes/no).
	EffectFeedback EffectKind = "feedback"
	// EffectQuickExit: the person asked to wipe this conversation from their
	// phone at once. The transport deletes every message of the private chat
	// it still can (its own and the person's, younger than 48 hours) before
	// it shows the result's messages (one short line on deleting the chat).
	EffectQuickExit EffectKind = "quick_exit"
	// EffectSubscribe: tell the person in Lang when the topic Flow changes
	// (a subscription renews when made again).
	EffectSubscribe EffectKind = "subscribe"
	// EffectUnsubscribe: stop the updates on the topic Flow ("" = every
	// topic).
	EffectUnsubscribe EffectKind = "unsubscribe"
)

// Effect is an instruction to the caller.
type Effect struct {
	Kind    EffectKind
	Lang    string
	Service string
	Code    string
	// Vars are a referral's answers, by name: only what the service asks.
	Vars  map[string]string
	Input *Input
	// ConsentAt and ConsentVersion record the person's consent to a referral:
	// when, and which wording (Texts.Version) they agreed to.
	ConsentAt      time.Time
	ConsentVersion string
	Value          string
	// Flow is the topic of EffectSubscribe and EffectUnsubscribe.
	Flow string
	// Origin is Input.Origin of the input that caused the effect.
	Origin Origin
}

// Result is what one input produced.
type Result struct {
	Messages []Message
	Effects  []Effect
	// Session is the state to save; nil when the person's data must be erased.
	Session *Session
	// Notice is a machine-readable label of what happened ("stale_button",
	// "unknown_text", "reset"), for metrics and logs; never message text.
	Notice string
	// Unmatched are the normalised single words of a typed message nobody
	// understood (match.Words), for the unmatched-words statistics; never
	// the message itself.
	Unmatched []string
}

// Session is everything the engine remembers about one person between inputs.
type Session struct {
	// V is the encoding version; a blob of another version is reset.
	V    int    `json:"v"`
	Lang string `json:"lang,omitempty"`
	Flow string `json:"flow,omitempty"`
	Step string `json:"step,omitempty"`
	// Vars holds answers saved by questions, by variable name.
	Vars map[string]string `json:"vars,omitempty"`
	// Menu numbers the keyboard last shown; a button carries it so that a
	// press on an older keyboard is recognised as stale.
	Menu uint32 `json:"menu,omitempty"`
	// Targets are what the buttons of the current keyboard do, by index.
	Targets []string `json:"targets,omitempty"`
	// Pending is a question the engine itself asked (confirm /delete, or a
	// flow to open once a language is chosen).
	Pending string `json:"pending,omitempty"`
	// Handoff names the service whose staff the person is talking to.
	Handoff string `json:"handoff,omitempty"`
	// Case is the referral whose staff wrote to the person: while it is
	// set, what the person types goes to that case (EffectRelay with Code).
	Case *CaseTalk `json:"case,omitempty"`
	// Ref is a referral being prepared: nothing leaves the session until the
	// person has consented and answered.
	Ref *Referral `json:"ref,omitempty"`
	// Privacy is set once the short privacy notice has been shown (after
	// the first choice of a language); it is shown once per person.
	Privacy bool `json:"privacy,omitempty"`
	// Subs are the topics (flow names) the person follows, sorted: the
	// engine shows the right button and lists from them; the store of
	// subscriptions is the truth and refreshes them (Input.Subs).
	Subs []string  `json:"subs,omitempty"`
	Seen time.Time `json:"seen,omitzero"`
}

// CaseTalk is a referral conversation with staff: the case and its service.
type CaseTalk struct {
	Code    string `json:"code"`
	Service string `json:"service"`
}

// Referral is the state of a referral being prepared.
type Referral struct {
	Service string `json:"service"`
	// Question is the index of the question being asked; -1 while asking
	// for consent.
	Question       int               `json:"q"`
	Answers        map[string]string `json:"answers,omitempty"`
	ConsentAt      time.Time         `json:"consent_at,omitzero"`
	ConsentVersion string            `json:"consent_version,omitempty"`
	// Code is drawn at consent, so that handling the last answer again
	// (after a crash) creates the same referral, not a second one.
	Code string `json:"code,omitempty"`
}
