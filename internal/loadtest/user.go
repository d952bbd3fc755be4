package loadtest

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"
)

// simUser is one simulated person in a private chat whose ID is their user ID.
type simUser struct {
	chat int64
	box  *mailbox
	rng  *rand.Rand
	lang string // language_code of their Telegram app

	sessionLeft int     // steps until they come back with /start
	last        []reply // the reply to their last step
	old         []oldButton
	msgSeq      int
	lastLost    bool
	emergency   float64 // probability of typing an emergency word (Options.Emergency)

	latencies      []time.Duration
	firstLatencies []time.Duration
	onceLatencies  []time.Duration // steps accepted at the first POST
	// emergencyLatencies are the latencies of the steps that typed an
	// emergency word (also in latencies).
	emergencyLatencies []time.Duration
	redelivered        int // steps that needed more than one POST
	replies            int64
	inWindow           int   // steps complete before the end of the window
	inWindowReplies    int64 // and their messages
	lost               int
	duplicated         int
	late               int
	undelivered        int
	redeliveries       int
	actions            map[string]int64
}

type oldButton struct {
	msgID int
	data  string
}

// Telegram app languages of the simulated people: the bot's languages,
// variants, one it does not speak, and none.
var appLanguages = []string{"sr", "sr-Latn-RS", "hr", "en", "en-GB", "ar", "fa", "prs", "ru", "de", ""}

// Words people type instead of pressing a button: keywords of the default
// content in several languages and scripts, and text that matches nothing.
var typedWords = []string{
	"help", "I need a doctor", "shelter", "asylum", "where can I sleep", "police", "work permit",
	"помоћ", "smeštaj", "azil", "lekar", "posao",
	"مساعدة", "لجوء", "طبيب", "کمک", "پناهندگی", "دکتر",
	"hello", "thanks", "???", "asdf qwer",
}

var commands = []string{"/menu", "/help", "/language", "/start"}

func newSimUser(chat int64, box *mailbox, seed uint64) *simUser {
	rng := rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))
	return &simUser{chat: chat, box: box, rng: rng, lang: appLanguages[rng.IntN(len(appLanguages))],
		actions: map[string]int64{}}
}

type action struct {
	kind string
	body []byte
}

// next chooses what the person does now, as update updateID.
func (u *simUser) next(updateID int64) action {
	if u.sessionLeft <= 0 {
		// Arrive (or come back): /start, then the language picker or the
		// menu, then 10–40 taps. Bounded sessions keep every path of the
		// content in play.
		u.sessionLeft = 10 + u.rng.IntN(31)
		return u.text(updateID, "start", "/start")
	}
	u.sessionLeft--
	if u.emergency > 0 && u.rng.Float64() < u.emergency {
		return u.text(updateID, "emergency", emergencyWords[u.rng.IntN(len(emergencyWords))])
	}
	var buttons []string
	msgID := 0
	ask := false
	for i := len(u.last) - 1; i >= 0; i-- {
		if len(u.last[i].buttons) > 0 && buttons == nil {
			buttons, msgID = u.last[i].buttons, u.last[i].msgID
		}
		ask = ask || u.last[i].askLocation
	}
	p := u.rng.Float64()
	switch {
	case ask && p < 0.5:
		return u.location(updateID)
	case p < 0.08:
		return u.text(updateID, "type", typedWords[u.rng.IntN(len(typedWords))])
	case p < 0.10:
		return u.text(updateID, "command", commands[u.rng.IntN(len(commands))])
	case p < 0.11:
		return u.sticker(updateID)
	case len(buttons) > 0:
		return u.press(updateID, "button", msgID, buttons[u.rng.IntN(len(buttons))])
	case len(u.old) > 0 && p < 0.6:
		// Nothing to press on the last message: scroll up and press an
		// older button (or, with a bot whose replies have no keyboard,
		// send callbacks anyway).
		b := u.old[u.rng.IntN(len(u.old))]
		return u.press(updateID, "old button", b.msgID, b.data)
	case p < 0.6:
		return u.press(updateID, "old button", 1, "menu")
	default:
		return u.text(updateID, "type", typedWords[u.rng.IntN(len(typedWords))])
	}
}

// record files the outcome of a step that started at t0.
func (u *simUser) record(t0, windowEnd time.Time, delivered bool, attempts int, got []reply) {
	if attempts > 1 {
		u.redelivered++
	}
	var msgs []reply
	for _, r := range got {
		if r.edit {
			// An edit of a message of the previous step (its own message
			// was taken already): apply it there.
			for i := range u.last {
				if u.last[i].msgID == r.msgID {
					u.last[i].buttons, u.last[i].markup = r.buttons, r.markup
				}
			}
			continue
		}
		msgs = append(msgs, r)
	}
	if !delivered {
		u.undelivered++
	}
	if len(msgs) == 0 {
		if delivered {
			u.lost++
			u.lastLost = true
		}
		return
	}
	u.lastLost = false
	for i := 1; i < len(msgs); i++ {
		if msgs[i].sum == msgs[i-1].sum {
			u.duplicated++ // the same message twice in a row
		}
	}
	if delivered {
		u.latencies = append(u.latencies, msgs[len(msgs)-1].at.Sub(t0))
		u.firstLatencies = append(u.firstLatencies, msgs[0].at.Sub(t0))
		if attempts == 1 {
			u.onceLatencies = append(u.onceLatencies, msgs[len(msgs)-1].at.Sub(t0))
		}
	}
	u.replies += int64(len(msgs))
	if delivered && !msgs[len(msgs)-1].at.After(windowEnd) {
		u.inWindow++
		u.inWindowReplies += int64(len(msgs))
	}
	u.last = msgs
	for _, m := range msgs {
		for _, b := range m.buttons {
			if len(u.old) < 32 {
				u.old = append(u.old, oldButton{m.msgID, b})
			} else {
				u.old[u.rng.IntN(len(u.old))] = oldButton{m.msgID, b}
			}
		}
	}
}

// countStrays files messages that came when no step of u waited.
func (u *simUser) countStrays(n int) {
	if u.lastLost {
		u.late += n
		return
	}
	u.duplicated += n
}

// Bot API update shapes (only what a private-chat update carries).
type (
	tgUser struct {
		ID           int64  `json:"id"`
		IsBot        bool   `json:"is_bot"`
		FirstName    string `json:"first_name"`
		LanguageCode string `json:"language_code,omitempty"`
	}
	tgChat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		FirstName string `json:"first_name,omitempty"`
	}
	tgEntity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
		Length int    `json:"length"`
	}
	tgLocation struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	}
	tgSticker struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		Type         string `json:"type"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		IsAnimated   bool   `json:"is_animated"`
		IsVideo      bool   `json:"is_video"`
	}
	tgMessage struct {
		MessageID int         `json:"message_id"`
		From      *tgUser     `json:"from,omitempty"`
		Chat      tgChat      `json:"chat"`
		Date      int64       `json:"date"`
		Text      string      `json:"text,omitempty"`
		Entities  []tgEntity  `json:"entities,omitempty"`
		Location  *tgLocation `json:"location,omitempty"`
		Sticker   *tgSticker  `json:"sticker,omitempty"`
	}
	tgCallback struct {
		ID           string     `json:"id"`
		From         tgUser     `json:"from"`
		Message      *tgMessage `json:"message,omitempty"`
		ChatInstance string     `json:"chat_instance"`
		Data         string     `json:"data"`
	}
	tgUpdate struct {
		UpdateID      int64       `json:"update_id"`
		Message       *tgMessage  `json:"message,omitempty"`
		CallbackQuery *tgCallback `json:"callback_query,omitempty"`
	}
)

func (u *simUser) from() tgUser {
	return tgUser{ID: u.chat, FirstName: "Load", LanguageCode: u.lang}
}

func (u *simUser) message() *tgMessage {
	u.msgSeq++
	f := u.from()
	return &tgMessage{MessageID: u.msgSeq, From: &f, Chat: tgChat{ID: u.chat, Type: "private", FirstName: "Load"},
		Date: time.Now().Unix()}
}

func (u *simUser) encode(kind string, upd tgUpdate) action {
	u.actions[kind]++
	b, err := json.Marshal(upd)
	if err != nil {
		panic(err) // plain structs: cannot happen
	}
	return action{kind: kind, body: b}
}

func (u *simUser) text(id int64, kind, text string) action {
	m := u.message()
	m.Text = text
	if text[0] == '/' {
		m.Entities = []tgEntity{{Type: "bot_command", Offset: 0, Length: len(text)}}
	}
	return u.encode(kind, tgUpdate{UpdateID: id, Message: m})
}

func (u *simUser) location(id int64) action {
	m := u.message()
	m.Location = &tgLocation{Latitude: 44.7 + u.rng.Float64()*0.2, Longitude: 20.3 + u.rng.Float64()*0.3}
	return u.encode("location", tgUpdate{UpdateID: id, Message: m})
}

func (u *simUser) sticker(id int64) action {
	m := u.message()
	m.Sticker = &tgSticker{FileID: "CAACAgIAAxkBAAEL", FileUniqueID: "AgAD", Type: "regular", Width: 512, Height: 512}
	return u.encode("sticker", tgUpdate{UpdateID: id, Message: m})
}

func (u *simUser) press(id int64, kind string, msgID int, data string) action {
	chat := tgChat{ID: u.chat, Type: "private", FirstName: "Load"}
	q := &tgCallback{
		ID:           strconv.FormatInt(u.chat, 10) + "-" + strconv.FormatInt(id, 10),
		From:         u.from(),
		Message:      &tgMessage{MessageID: msgID, Chat: chat, Date: time.Now().Unix() - 1, Text: "…"},
		ChatInstance: "ci" + strconv.FormatInt(u.chat, 10),
		Data:         data,
	}
	return u.encode(kind, tgUpdate{UpdateID: id, CallbackQuery: q})
}
