package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"putokaz/internal/engine"
)

// What each kind of update becomes (inbound.action):
//
//   - a private message that replies to another carries its ID in ReplyTo
//     (the conversation routes an answer to a staff message to its case).
//   - private message with text → InText, or InCommand when it starts with a
//     bot command for us (see ParseCommand); "/cmd@OtherBot" stays InText so
//     the person gets an answer instead of silence. Texts are capped at 4096
//     characters (Telegram's own limit; anything longer is not from Telegram).
//   - location or venue → InLocation; contact → InContact (Text = phone).
//   - photo, voice, video, document, sticker, audio, video_note, animation →
//     InMedia with Media naming it (Text = caption); dice, polls, stories and
//     other content we cannot read → InMedia "unsupported". Service messages
//     (pinned message, auto-delete timer, ...) are ignored: nobody wrote.
//   - edited_message in a private chat → InMedia "edited" (Text = new text):
//     the engine tells the person that edits are not read and to send the
//     message again (or relays it to staff during a handoff).
//   - callback_query in a private chat → InButton (Data); it is always
//     answered, also when ignored.
//   - in a private chat the chat is the sender: an update whose chat.id is not
//     from.id is dropped as "forged", one without a sender as "no_sender"
//     (both counted and logged; neither reaches a session or staff). Callbacks without a chat (inline mode) or
//     without data (games) are only answered.
//   - my_chat_member of a private chat: "kicked" → the chat is marked
//     inactive (nothing is sent to it); "member" → active again.
//   - anything from a configured staff group (messages, edits, callbacks,
//     membership) → the StaffHandler if set, else ignored.
//   - other groups, channels, inline queries, polls, business messages,
//     reactions, ... → ignored and counted by type; unknown future update types
//     are counted as "unknown".
//
// LangHint is from.language_code (a hint only, never a choice).

// action is what to do with an update.
type action int

const (
	actIgnore       action = iota
	actConversation        // call Conversation.Handle with input
	actStaff               // pass the update to the StaffHandler
	actBlocked             // the person blocked the bot
	actUnblocked           // the person unblocked the bot
)

// inbound is a classified update.
type inbound struct {
	typ        string // update type, for metrics ("message", "callback_query", ...)
	act        action
	ignoreWhy  string // outcome label when ignored ("ignored", "unsupported")
	chatID     int64  // the chat to serialise on (and to reply to)
	userID     int64
	input      engine.Input
	callbackID string // a callback query to answer
	// msgID is the private chat's message the update is about: the
	// person's message, or the bot's message whose button they pressed
	// (recorded for a quick exit; 0 if none).
	msgID int
}

// Outcomes of updates dropped because their sender cannot be trusted: no
// sender at all, or a private chat that is not the sender's own (both need
// the webhook secret to send, so they are counted and logged).
const (
	outcomeNoSender = "no_sender"
	outcomeForged   = "forged"
)

// maxInputText caps incoming text; Telegram's limit is 4096 characters.
const maxInputText = 4096

// classify decides what to do with an update. staffGroups and botUsername
// come from the configuration.
func classify(u *models.Update, staffGroups map[int64]bool, botUsername string) inbound {
	switch {
	case u.Message != nil:
		return withDelivery(classifyMessage("message", u.Message, staffGroups, botUsername, false), u.ID)
	case u.EditedMessage != nil:
		return withDelivery(classifyMessage("edited_message", u.EditedMessage, staffGroups, botUsername, true), u.ID)
	case u.CallbackQuery != nil:
		return classifyCallback(u.CallbackQuery, staffGroups)
	case u.MyChatMember != nil:
		return classifyMember(u.MyChatMember, staffGroups)
	}
	in := inbound{typ: updateType(u), act: actIgnore, ignoreWhy: "ignored"}
	if in.typ == "unknown" {
		in.ignoreWhy = "unsupported"
	}
	return in
}

// withDelivery names the update a person's message came in, so that what
// it causes happens once however often Telegram delivers it.
func withDelivery(in inbound, updateID int64) inbound {
	if in.input.Origin.Chat != 0 {
		in.input.Origin.Delivery = strconv.FormatInt(updateID, 10)
	}
	return in
}

func classifyMessage(typ string, m *models.Message, staffGroups map[int64]bool, botUsername string, edited bool) inbound {
	in := inbound{typ: typ, chatID: m.Chat.ID}
	if m.From != nil {
		in.userID = m.From.ID
		in.input.LangHint = m.From.LanguageCode
	}
	if m.Chat.Type != models.ChatTypePrivate {
		if staffGroups[m.Chat.ID] {
			in.act = actStaff
			return in
		}
		in.act, in.ignoreWhy = actIgnore, "ignored"
		return in
	}
	if m.From == nil || m.From.ID == 0 {
		in.act, in.ignoreWhy = actIgnore, outcomeNoSender
		return in
	}
	if m.From.IsBot {
		in.act, in.ignoreWhy = actIgnore, "ignored"
		return in
	}
	if m.From.ID != m.Chat.ID {
		// In a private chat the chat is the person: anything else is forged
		// (only someone with the webhook secret can send it).
		in.act, in.ignoreWhy = actIgnore, outcomeForged
		return in
	}
	in.act = actConversation
	in.msgID = m.ID
	if m.ReplyToMessage != nil {
		// The conversation looks it up: an answer to a staff message of
		// an open referral goes to that case.
		in.input.ReplyTo = m.ReplyToMessage.ID
	}
	if edited {
		in.input.Kind, in.input.Media = engine.InMedia, "edited"
		in.input.Text = capText(m.Text)
		in.input.Origin = engine.Origin{Chat: m.Chat.ID, Message: m.ID}
		return in
	}
	switch {
	case m.Text != "":
		text := capText(m.Text)
		if name, arg, ok := ParseCommand(text, m.Entities, botUsername); ok {
			in.input.Kind, in.input.Command, in.input.Arg = engine.InCommand, name, arg
		} else {
			in.input.Kind, in.input.Text = engine.InText, text
		}
	case m.Location != nil:
		in.input.Kind, in.input.Lat, in.input.Lon = engine.InLocation, m.Location.Latitude, m.Location.Longitude
	case m.Venue != nil:
		in.input.Kind, in.input.Lat, in.input.Lon = engine.InLocation, m.Venue.Location.Latitude, m.Venue.Location.Longitude
	case m.Contact != nil:
		in.input.Kind, in.input.Text = engine.InContact, m.Contact.PhoneNumber
	default:
		media := MediaKind(m)
		if media == "" {
			in.act, in.ignoreWhy = actIgnore, "ignored" // a service message: nobody wrote
			return in
		}
		in.input.Kind, in.input.Media, in.input.Text = engine.InMedia, media, capText(m.Caption)
	}
	in.input.Origin = engine.Origin{Chat: m.Chat.ID, Message: m.ID}
	return in
}

// MediaKind names the content of a message that has no text, location or
// contact ("photo", "voice", ...; "unsupported" for dice, polls and the
// like); "" for service messages. The staff side uses it too.
func MediaKind(m *models.Message) string {
	switch {
	case len(m.Photo) > 0:
		return "photo"
	case m.Voice != nil:
		return "voice"
	case m.VideoNote != nil:
		return "video_note"
	case m.Video != nil:
		return "video"
	case m.Animation != nil: // before Document: animations also carry a document
		return "animation"
	case m.Audio != nil:
		return "audio"
	case m.Document != nil:
		return "document"
	case m.Sticker != nil:
		return "sticker"
	case m.Dice != nil, m.Poll != nil, m.Story != nil, m.Game != nil, m.PaidMedia != nil, m.Checklist != nil,
		m.Invoice != nil, m.UsersShared != nil, m.ChatShared != nil, m.WebAppData != nil, m.Giveaway != nil:
		return "unsupported"
	}
	return ""
}

func classifyCallback(q *models.CallbackQuery, staffGroups map[int64]bool) inbound {
	in := inbound{typ: "callback_query", callbackID: q.ID, userID: q.From.ID, act: actIgnore, ignoreWhy: "ignored"}
	in.input.LangHint = q.From.LanguageCode
	var chat *models.Chat
	switch {
	case q.Message.Message != nil:
		chat = &q.Message.Message.Chat
	case q.Message.InaccessibleMessage != nil:
		chat = &q.Message.InaccessibleMessage.Chat
	}
	if chat == nil || chat.ID == 0 {
		return in // inline mode or a game: nothing to do but answer
	}
	in.chatID = chat.ID
	if q.From.ID == 0 {
		// No sender: acting on it would put every such update in one
		// shared session ("tg:0"), or let staff actions go unattributed.
		in.ignoreWhy = outcomeNoSender
		return in
	}
	if chat.Type != models.ChatTypePrivate && chat.Type != "" {
		if staffGroups[chat.ID] {
			in.act = actStaff
		}
		return in
	}
	if q.From.ID != chat.ID {
		in.ignoreWhy = outcomeForged
		return in
	}
	if q.Data == "" || q.From.IsBot {
		return in
	}
	in.act = actConversation
	in.input.Kind, in.input.Data = engine.InButton, q.Data
	if q.Message.Message != nil {
		in.msgID = q.Message.Message.ID
	}
	return in
}

func classifyMember(c *models.ChatMemberUpdated, staffGroups map[int64]bool) inbound {
	in := inbound{typ: "my_chat_member", chatID: c.Chat.ID, userID: c.From.ID, act: actIgnore, ignoreWhy: "ignored"}
	if c.Chat.Type != models.ChatTypePrivate {
		if staffGroups[c.Chat.ID] {
			in.act = actStaff
		}
		return in
	}
	if c.From.ID != c.Chat.ID {
		in.ignoreWhy = outcomeForged
		return in
	}
	switch c.NewChatMember.Type {
	case models.ChatMemberTypeBanned:
		in.act = actBlocked
	case models.ChatMemberTypeMember:
		in.act = actUnblocked
	}
	return in
}

// updateType names the update's type for metrics.
func updateType(u *models.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChannelPost != nil, u.EditedChannelPost != nil:
		return "channel_post"
	case u.ChatMember != nil:
		return "chat_member"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	case u.InlineQuery != nil, u.ChosenInlineResult != nil:
		return "inline_query"
	case u.BusinessConnection != nil, u.BusinessMessage != nil, u.EditedBusinessMessage != nil, u.DeletedBusinessMessages != nil:
		return "business"
	case u.MessageReaction != nil, u.MessageReactionCount != nil:
		return "reaction"
	case u.Poll != nil, u.PollAnswer != nil:
		return "poll"
	case u.ShippingQuery != nil, u.PreCheckoutQuery != nil, u.PurchasedPaidMedia != nil:
		return "payment"
	case u.ChatBoost != nil, u.RemovedChatBoost != nil:
		return "chat_boost"
	}
	return "unknown"
}

// capText cuts s to maxInputText characters, at a character boundary.
func capText(s string) string {
	if len(s) <= maxInputText || utf8.RuneCountInString(s) <= maxInputText {
		return s
	}
	n := 0
	for i := range s {
		if n == maxInputText {
			return s[:i]
		}
		n++
	}
	return s
}

// decodeUpdate decodes one update as Telegram sends it. The library's models
// reject some variants they do not know (a new chat member status, a new
// message origin type); rather than drop such an update, it falls back to
// the few fields we need so that the person still gets an answer ("I can't
// read this") and a callback query is still answered. ok is false only when
// not even update_id can be read.
func decodeUpdate(raw []byte) (u *models.Update, lenient bool, err error) {
	u = &models.Update{}
	if err = json.Unmarshal(raw, u); err == nil {
		if u.ID <= 0 {
			// Telegram's update IDs are positive; 0 means it was missing.
			return nil, false, errors.New("decode update: no update_id")
		}
		return u, false, nil
	}
	var lite struct {
		ID      *int64 `json:"update_id"`
		Message *struct {
			ID       int                    `json:"message_id"`
			Date     int                    `json:"date"`
			Chat     models.Chat            `json:"chat"`
			From     *models.User           `json:"from"`
			Text     string                 `json:"text"`
			Entities []models.MessageEntity `json:"entities"`
		} `json:"message"`
		CallbackQuery *struct {
			ID      string      `json:"id"`
			From    models.User `json:"from"`
			Data    string      `json:"data"`
			Message *struct {
				Chat models.Chat `json:"chat"`
			} `json:"message"`
		} `json:"callback_query"`
	}
	if err2 := json.Unmarshal(raw, &lite); err2 != nil || lite.ID == nil || *lite.ID <= 0 {
		return nil, false, fmt.Errorf("decode update: %w", err)
	}
	u = &models.Update{ID: *lite.ID}
	switch {
	case lite.Message != nil:
		// Keep its text if it has one; otherwise present it as content we
		// cannot read.
		m := lite.Message
		u.Message = &models.Message{ID: m.ID, Date: m.Date, Chat: m.Chat, From: m.From, Text: m.Text, Entities: m.Entities}
		if m.Text == "" {
			u.Message.Dice = &models.Dice{}
		}
	case lite.CallbackQuery != nil:
		q := &models.CallbackQuery{ID: lite.CallbackQuery.ID, From: lite.CallbackQuery.From, Data: lite.CallbackQuery.Data}
		if lite.CallbackQuery.Message != nil {
			q.Message = models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeInaccessibleMessage,
				InaccessibleMessage: &models.InaccessibleMessage{Chat: lite.CallbackQuery.Message.Chat}}
		}
		u.CallbackQuery = q
	}
	return u, true, nil
}

// userKey is the opaque stable user ID the Conversation gets.
func userKey(userID int64) string { return "tg:" + strconv.FormatInt(userID, 10) }
