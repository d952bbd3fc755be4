package referral

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/lease"
)

// TelegramStaff shows cases in Telegram staff groups (a forum topic per
// case) through the transport's Sender, which rate-limits each group
// (~20 messages a minute), waits out 429 retry_after and retries 5xx.
type TelegramStaff struct {
	s *bot.Sender
}

// NewTelegramStaff sends through s (bot.Server.Sender()).
func NewTelegramStaff(s *bot.Sender) *TelegramStaff { return &TelegramStaff{s: s} }

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type replyParameters struct {
	MessageID                int  `json:"message_id"`
	AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
}

type linkPreview struct {
	IsDisabled bool `json:"is_disabled"`
}

type sendParams struct {
	ChatID             int64            `json:"chat_id"`
	MessageThreadID    int              `json:"message_thread_id,omitempty"`
	Text               string           `json:"text"`
	ParseMode          string           `json:"parse_mode,omitempty"`
	LinkPreviewOptions *linkPreview     `json:"link_preview_options,omitempty"`
	ReplyMarkup        *inlineKeyboard  `json:"reply_markup,omitempty"`
	ReplyParameters    *replyParameters `json:"reply_parameters,omitempty"`
}

type copyParams struct {
	ChatID          int64            `json:"chat_id"`
	MessageThreadID int              `json:"message_thread_id,omitempty"`
	FromChatID      int64            `json:"from_chat_id"`
	MessageID       int              `json:"message_id"`
	ReplyParameters *replyParameters `json:"reply_parameters,omitempty"`
}

type messageID struct {
	MessageID int `json:"message_id"`
}

// OpenTopic implements Staff with createForumTopic.
func (t *TelegramStaff) OpenTopic(ctx context.Context, group int64, name string) (int, error) {
	var res struct {
		MessageThreadID int `json:"message_thread_id"`
	}
	err := t.s.Call(ctx, "createForumTopic", group, map[string]any{"chat_id": group, "name": name}, &res)
	if errors.Is(err, tgbot.ErrorBadRequest) {
		// "the chat is not a forum", "not enough rights to manage topics".
		return 0, fmt.Errorf("%w: %w", ErrNoTopics, err)
	}
	if err != nil {
		return 0, staffErr(err)
	}
	if res.MessageThreadID == 0 {
		return 0, errors.New("createForumTopic returned no topic")
	}
	return res.MessageThreadID, nil
}

// Post implements Staff with sendMessage or copyMessage. A message Telegram
// refuses to copy (deleted by the person, a kind it cannot copy) is replaced
// by p.Text.
func (t *TelegramStaff) Post(ctx context.Context, group int64, thread int, p Post) (int, error) {
	var reply *replyParameters
	if p.ReplyTo != 0 {
		reply = &replyParameters{MessageID: p.ReplyTo, AllowSendingWithoutReply: true}
	}
	var res messageID
	if p.Copy != nil {
		err := t.s.Call(ctx, "copyMessage", group, copyParams{ChatID: group, MessageThreadID: thread,
			FromChatID: p.Copy.FromChat, MessageID: p.Copy.MessageID, ReplyParameters: reply}, &res)
		if err == nil || !errors.Is(err, tgbot.ErrorBadRequest) || p.Text == "" {
			return res.MessageID, staffErr(err)
		}
	}
	sp := sendParams{ChatID: group, MessageThreadID: thread, Text: p.Text, ParseMode: "HTML",
		LinkPreviewOptions: &linkPreview{IsDisabled: true}, ReplyParameters: reply}
	if len(p.Buttons) > 0 {
		row := make([]inlineButton, 0, len(p.Buttons))
		for _, b := range p.Buttons {
			row = append(row, inlineButton{Text: b.Label, CallbackData: b.Data})
		}
		sp.ReplyMarkup = &inlineKeyboard{InlineKeyboard: [][]inlineButton{row}}
	}
	if err := t.s.Call(ctx, "sendMessage", group, sp, &res); err != nil {
		return 0, staffErr(err)
	}
	return res.MessageID, nil
}

// EditCard implements Staff with editMessageText (the text and the
// buttons at once; no buttons removes them). "message is not modified" (an
// edit delivered again) is success.
func (t *TelegramStaff) EditCard(ctx context.Context, group int64, msgID int, text string, buttons []engine.Button) error {
	kb := &inlineKeyboard{InlineKeyboard: [][]inlineButton{}}
	if len(buttons) > 0 {
		row := make([]inlineButton, 0, len(buttons))
		for _, b := range buttons {
			row = append(row, inlineButton{Text: b.Label, CallbackData: b.Data})
		}
		kb.InlineKeyboard = append(kb.InlineKeyboard, row)
	}
	err := t.s.Call(ctx, "editMessageText", group, editParams{ChatID: group, MessageID: msgID, Text: text,
		ParseMode: "HTML", LinkPreviewOptions: &linkPreview{IsDisabled: true}, ReplyMarkup: kb}, nil)
	var ae *bot.APIError
	if errors.As(err, &ae) && strings.Contains(ae.Description, "message is not modified") {
		return nil
	}
	return staffErr(err)
}

type editParams struct {
	ChatID             int64           `json:"chat_id"`
	MessageID          int             `json:"message_id"`
	Text               string          `json:"text"`
	ParseMode          string          `json:"parse_mode,omitempty"`
	LinkPreviewOptions *linkPreview    `json:"link_preview_options,omitempty"`
	ReplyMarkup        *inlineKeyboard `json:"reply_markup,omitempty"`
}

// CloseTopic implements Staff with closeForumTopic.
func (t *TelegramStaff) CloseTopic(ctx context.Context, group int64, thread int) error {
	return staffErr(t.s.Call(ctx, "closeForumTopic", group, map[string]any{"chat_id": group, "message_thread_id": thread}, nil))
}

// DeleteTopic implements Staff with deleteForumTopic (the bot needs the
// right to delete messages in the group).
func (t *TelegramStaff) DeleteTopic(ctx context.Context, group int64, thread int) error {
	return staffErr(t.s.Call(ctx, "deleteForumTopic", group, map[string]any{"chat_id": group, "message_thread_id": thread}, nil))
}

// DeleteMessages implements Staff with deleteMessages, up to 100 IDs per
// call (IDs Telegram no longer finds are skipped by it).
func (t *TelegramStaff) DeleteMessages(ctx context.Context, group int64, ids []int) error {
	for batch := range slices.Chunk(ids, 100) {
		if err := t.s.Call(ctx, "deleteMessages", group, map[string]any{"chat_id": group, "message_ids": batch}, nil); err != nil {
			return staffErr(err)
		}
	}
	return nil
}

// personChat is the private chat of a Telegram user ID ("tg:<id>").
func personChat(user string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(user, "tg:"), 10, 64)
	if err != nil || !strings.HasPrefix(user, "tg:") || id <= 0 {
		return 0, fmt.Errorf("not a Telegram user")
	}
	return id, nil
}

// blocked says ErrBlocked where the person blocked the bot, and maps the
// transport's other errors like staffErr.
func blocked(err error) error {
	if errors.Is(err, bot.ErrInactive) || errors.Is(err, tgbot.ErrorForbidden) {
		return fmt.Errorf("%w: %w", ErrBlocked, staffErr(err))
	}
	return staffErr(err)
}

// staffErr maps go-telegram's and the Sender's errors to the referral
// core's (ErrRejected, ErrForbidden, ErrNotFound, ErrUnavailable,
// *RateLimitError), keeping the original in the chain.
func staffErr(err error) error {
	var te *tgbot.TooManyRequestsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return &RateLimitError{RetryAfter: time.Duration(te.RetryAfter) * time.Second, Err: err}
	case errors.Is(err, tgbot.ErrorBadRequest):
		return fmt.Errorf("%w: %w", ErrRejected, err)
	case errors.Is(err, tgbot.ErrorForbidden):
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, tgbot.ErrorNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case strings.Contains(err.Error(), "gave up after"): // the Sender's retries ran out
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ToPerson implements Staff: the staff member's message is copied, so the
// person sees it from the bot, not from the staff member's account.
//
// With a header, a text that fits is sent as one message under it; anything
// else (media, a text too long) is copied after the header in a message of
// its own.
func (t *TelegramStaff) ToPerson(ctx context.Context, user string, r Reply) ([]int, error) {
	chat, err := personChat(user)
	if err != nil {
		return nil, err
	}
	send := func(text string) (int, error) {
		var res messageID
		err := t.s.Call(ctx, "sendMessage", chat, sendParams{ChatID: chat, Text: text, ParseMode: "HTML",
			LinkPreviewOptions: &linkPreview{IsDisabled: true}}, &res)
		return res.MessageID, blocked(err)
	}
	var ids []int
	if r.Header != "" {
		if r.Media == "" && r.Text != "" && utf16Len(r.Header)+1+utf16Len(r.Text) <= 4096 {
			id, err := send(r.Header + "\n" + escHTML(r.Text))
			return append(ids, id), err
		}
		id, err := send(r.Header)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if r.Copy != nil {
		var res messageID
		err := t.s.Call(ctx, "copyMessage", chat, copyParams{ChatID: chat, FromChatID: r.Copy.FromChat,
			MessageID: r.Copy.MessageID}, &res)
		return append(ids, res.MessageID), blocked(err)
	}
	id, err := send(escHTML(r.Text))
	return append(ids, id), err
}

// Notify implements Staff through the transport's rendering of engine
// messages.
func (t *TelegramStaff) Notify(ctx context.Context, user string, msgs []engine.Message) error {
	chat, err := personChat(user)
	if err != nil {
		return err
	}
	return blocked(t.s.Send(ctx, chat, 0, msgs...))
}

// StaffHandler handles updates from staff groups (bot.StaffHandler):
//
//   - the card's buttons Claim ("c:CODE") and Close ("x:CODE");
//   - in a case's topic (or, where cases share a topic, in reply to a case's
//     message): /close, /claim, /note TEXT (internal, recorded in the case
//     history, acknowledged with a ✍ reaction), and anything else — text,
//     photo, voice, document, … — is copied to the person;
//   - /help anywhere in the group: the staff commands, one line each;
//   - /waiting anywhere in the group: its cases nobody has claimed yet,
//     most overdue first (Desk.Waiting), to members of the group;
//   - everything else (staff talking among themselves in other topics) is
//     left alone.
//
// A button or command for a case of another group, or on a message that is
// not that case's card, is refused (with a short answer to staff) and
// logged without personal data. Updates from groups that are not configured
// never get here (the transport drops them).
type StaffHandler struct {
	svc      *Desk
	sender   *bot.Sender
	members  *members
	username func() string
	log      *slog.Logger
}

var _ bot.StaffHandler = (*StaffHandler)(nil)

// NewStaffHandler handles staff updates for svc, answering through sender.
// botUsername gives the bot's username, so that a command addressed to
// another bot in the group ("/close@OtherBot") is not taken as ours.
func NewStaffHandler(svc *Desk, sender *bot.Sender, botUsername func() string) *StaffHandler {
	return &StaffHandler{svc: svc, sender: sender, members: newMembers(sender), username: botUsername,
		log: svc.log.With("part", "staff")}
}

// HandleStaff implements bot.StaffHandler. An error makes the transport
// retry the update; actions are idempotent (a claimed case is not claimed
// twice), so a retry is safe.
func (h *StaffHandler) HandleStaff(ctx context.Context, u *models.Update) error {
	switch {
	case u.CallbackQuery != nil:
		return h.callback(ctx, u.CallbackQuery)
	case u.Message != nil:
		return h.message(ctx, u.ID, u.Message)
	}
	// Edits are not relayed (the person already has the first version);
	// membership changes need nothing from us.
	return nil
}

// anonymousAdmin is Telegram's stand-in user for an admin posting as the
// group.
const anonymousAdmin = 1087968824

// staffID is how a staff member is recorded in a case history.
func staffID(from *models.User, senderChat *models.Chat) string {
	if senderChat != nil || from == nil || from.ID == anonymousAdmin {
		if senderChat != nil {
			return "chat:" + strconv.FormatInt(senderChat.ID, 10)
		}
		return "anonymous"
	}
	return "tg:" + strconv.FormatInt(from.ID, 10)
}

// staffName is what the card shows of who acted: the staff member's first
// name ("" for an admin posting as the group).
func staffName(from *models.User, senderChat *models.Chat) string {
	if senderChat != nil || from == nil || from.ID == anonymousAdmin {
		return ""
	}
	return from.FirstName
}

// allowed reports whether the sender of a staff update may act on the
// group's cases: a member or admin of the group (getChatMember), or the
// group itself (an anonymous admin posting as the group, which only its
// admins can do). A refusal is counted and logged.
func (h *StaffHandler) allowed(ctx context.Context, group int64, from *models.User, senderChat *models.Chat) (bool, error) {
	if senderChat != nil {
		if senderChat.ID == group {
			return true, nil
		}
		h.refuse("not_member", group) // a channel or another chat posting into the group
		return false, nil
	}
	if from == nil || from.ID == 0 || from.ID == anonymousAdmin {
		h.refuse("not_member", group)
		return false, nil
	}
	ok, err := h.members.isMember(ctx, group, from.ID)
	if err != nil {
		return false, err
	}
	if !ok {
		h.refuse("not_member", group)
	}
	return ok, nil
}

func (h *StaffHandler) refuse(reason string, group int64) {
	h.svc.m.refused.WithLabelValues(reason).Inc()
	h.log.Warn("staff update refused", "reason", reason, "group", group)
}

func (h *StaffHandler) answer(ctx context.Context, id, textID string) {
	p := map[string]any{"callback_query_id": id, "text": h.svc.text(textID)}
	if err := h.sender.Call(ctx, "answerCallbackQuery", 0, p, nil); err != nil {
		h.log.Debug("answerCallbackQuery failed", "err", err)
		return // the transport answers it (without text)
	}
	bot.CallbackAnswered(ctx)
}

func (h *StaffHandler) callback(ctx context.Context, q *models.CallbackQuery) error {
	var group int64
	var msgID int
	switch {
	case q.Message.Message != nil:
		group, msgID = q.Message.Message.Chat.ID, q.Message.Message.ID
	case q.Message.InaccessibleMessage != nil:
		group, msgID = q.Message.InaccessibleMessage.Chat.ID, q.Message.InaccessibleMessage.MessageID
	}
	act, code, ok := strings.Cut(q.Data, ":")
	code = engine.NormalizeCode(code)
	if !ok || code == "" || (act+":" != dataClaim && act+":" != dataClose) {
		h.refuse("unknown_button", group)
		h.answer(ctx, q.ID, tAnswerOther)
		return nil
	}
	c, err := h.svc.store.load(ctx, code)
	if err != nil {
		return err
	}
	switch {
	case c == nil:
		h.refuse("unknown_case", group)
		h.answer(ctx, q.ID, tAnswerNotOpen)
		return nil
	case c.Group != group:
		h.refuse("other_group", group)
		h.answer(ctx, q.ID, tAnswerOther)
		return nil
	case c.Card == 0 || c.Card != msgID:
		// Data that does not match the card it came with was made up.
		h.refuse("not_the_card", group)
		h.answer(ctx, q.ID, tAnswerOther)
		return nil
	}
	if ok, err := h.allowed(ctx, group, &q.From, nil); err != nil || !ok {
		if err == nil {
			h.answer(ctx, q.ID, tAnswerNotMember)
		}
		return err
	}
	by := staffID(&q.From, nil)
	var out Outcome
	action := actClaimed
	if act+":" == dataClaim {
		out, err = h.svc.claim(ctx, code, by, staffName(&q.From, nil))
	} else {
		action = actClosed
		out, err = h.svc.close(ctx, code, by, staffName(&q.From, nil))
	}
	if err != nil {
		return err
	}
	h.answer(ctx, q.ID, outcomeText(out, action))
	return nil
}

// outcomeText is the answer to staff for what an action did.
func outcomeText(o Outcome, action string) string {
	switch o {
	case Done:
		if action == actClaimed {
			return tAnswerClaimed
		}
		return tAnswerClosed
	case AlreadyClaimed:
		return tAnswerTaken
	case Withdrawn:
		return tAnswerWithdrawn
	case Blocked:
		return tAnswerBlocked
	case NotOpen:
		if action == actClosed {
			return tAnswerClosed // closed already: what they wanted
		}
	}
	return tAnswerNotOpen
}

// caseOf finds the case a staff message belongs to: its topic, or the case
// message it replies to (shared topics).
func (h *StaffHandler) caseOf(ctx context.Context, m *models.Message) (string, error) {
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		code, err := h.svc.store.byTopic(ctx, m.Chat.ID, m.MessageThreadID)
		if err != nil || code != "" {
			return code, err
		}
	}
	if m.ReplyToMessage != nil {
		return h.svc.store.byMessage(ctx, m.Chat.ID, m.ReplyToMessage.ID)
	}
	return "", nil
}

// say answers a staff message in its own topic.
func (h *StaffHandler) say(ctx context.Context, m *models.Message, textID string) {
	h.sayHTML(ctx, m, escHTML(h.svc.text(textID)))
}

// sayHTML answers a staff message in its own topic with Telegram HTML.
func (h *StaffHandler) sayHTML(ctx context.Context, m *models.Message, text string) {
	p := sendParams{ChatID: m.Chat.ID, Text: text, ParseMode: "HTML", LinkPreviewOptions: &linkPreview{IsDisabled: true},
		ReplyParameters: &replyParameters{MessageID: m.ID, AllowSendingWithoutReply: true}}
	if m.IsTopicMessage {
		p.MessageThreadID = m.MessageThreadID
	}
	if err := h.sender.Call(ctx, "sendMessage", m.Chat.ID, p, nil); err != nil {
		h.log.Warn("could not answer staff", "group", m.Chat.ID, "err", err)
	}
}

// reactNoted acknowledges a recorded /note: "✍" (U+270D, without a
// variation selector) is one of the emoji Telegram lets bots react with
// (ReactionTypeEmoji).
const reactNoted = "\u270d"

// react acknowledges a staff message with a reaction instead of a message
// (which would fill the topic). Not being able to react is not worth a
// retry: the note is recorded.
func (h *StaffHandler) react(ctx context.Context, m *models.Message, emoji string) {
	p := map[string]any{"chat_id": m.Chat.ID, "message_id": m.ID,
		"reaction": []map[string]string{{"type": "emoji", "emoji": emoji}}}
	if err := h.sender.Call(ctx, "setMessageReaction", m.Chat.ID, p, nil); err != nil {
		h.log.Warn("could not react to a staff message", "group", m.Chat.ID, "err", err)
	}
}

// staffMedia names what a staff message holds ("" for service messages:
// topic created, member joined, ...).
func staffMedia(m *models.Message) string {
	switch {
	case m.Text != "":
		return "text"
	case m.Location != nil, m.Venue != nil:
		return "location"
	case m.Contact != nil:
		return "contact"
	}
	if k := bot.MediaKind(m); k != "unsupported" {
		return k
	}
	return ""
}

// command parses a staff text's command. A command addressed to another
// bot (or to any bot while our own username is not known yet) is reported
// as addressed elsewhere.
func (h *StaffHandler) command(m *models.Message) (name, arg string, ok, elsewhere bool) {
	ours := h.username()
	if ours == "" {
		ours = "\x00" // matches no addressee: only unaddressed commands count
	}
	if name, arg, ok = bot.ParseCommand(m.Text, m.Entities, ours); ok {
		return name, arg, true, false
	}
	// ParseCommand also says "no" to "/cmd@OtherBot": tell that apart from
	// plain text by parsing without an addressee check.
	if _, _, any := bot.ParseCommand(m.Text, m.Entities, ""); any {
		return "", "", false, true
	}
	return "", "", false, false
}

func (h *StaffHandler) message(ctx context.Context, updateID int64, m *models.Message) error {
	if m.From != nil && m.From.IsBot && m.From.ID != anonymousAdmin {
		return nil // other bots (and never ourselves: Telegram does not echo)
	}
	kind := staffMedia(m)
	if kind == "" {
		return nil
	}
	cmd, arg, isCmd := "", "", false
	if kind == "text" {
		var addressedElsewhere bool
		cmd, arg, isCmd, addressedElsewhere = h.command(m)
		if addressedElsewhere {
			return nil // another bot's command: neither ours nor a message to relay
		}
	}
	if isCmd && cmd == "help" {
		// Anywhere in the group: it names commands, nothing of a case.
		h.say(ctx, m, tGuideHelp)
		return nil
	}
	if isCmd && cmd == "waiting" {
		// Anywhere in the group, for its members: the group's cases
		// nobody has claimed (codes, services, times; nothing of the
		// person).
		if ok, err := h.allowed(ctx, m.Chat.ID, m.From, m.SenderChat); err != nil || !ok {
			return err
		}
		text, err := h.svc.waitingText(ctx, m.Chat.ID)
		if err != nil {
			return err
		}
		h.sayHTML(ctx, m, text)
		return nil
	}
	code, err := h.caseOf(ctx, m)
	if err != nil {
		return err
	}
	group := m.Chat.ID
	if code == "" {
		if isCmd && (cmd == "close" || cmd == "note" || cmd == "claim") {
			h.refuse("not_a_case", group)
			h.say(ctx, m, tAnswerNotCase)
			return nil
		}
		// Staff talking among themselves outside a case: not for us.
		if m.IsTopicMessage {
			h.log.Debug("staff message outside a case; not relayed", "group", group)
		}
		return nil
	}
	c, err := h.svc.store.load(ctx, code)
	if err != nil {
		return err
	}
	if c == nil || c.Group != group {
		h.refuse("other_group", group)
		h.say(ctx, m, tAnswerNotCase)
		return nil
	}
	if ok, err := h.allowed(ctx, group, m.From, m.SenderChat); err != nil || !ok {
		return err // a non-member gets no answer: nothing of the case is shown
	}
	by := staffID(m.From, m.SenderChat)
	var out Outcome
	switch {
	case isCmd && cmd == "close":
		if out, err = h.svc.close(ctx, code, by, staffName(m.From, m.SenderChat)); err == nil && out != Done {
			h.say(ctx, m, outcomeText(out, actClosed))
		}
	case isCmd && cmd == "claim":
		if out, err = h.svc.claim(ctx, code, by, staffName(m.From, m.SenderChat)); err == nil && out != Done {
			h.say(ctx, m, outcomeText(out, actClaimed))
		}
	case isCmd && cmd == "note":
		out, err = h.svc.note(ctx, code, by, arg, "note:u"+strconv.FormatInt(updateID, 10))
		switch {
		case err == nil && out == Done:
			h.react(ctx, m, reactNoted)
		case err == nil:
			h.say(ctx, m, outcomeText(out, actNote))
		}
	case isCmd:
		h.say(ctx, m, tAnswerCommand)
	default:
		r := Reply{Copy: &Copy{FromChat: group, MessageID: m.ID}}
		if kind == "text" {
			r.Text = m.Text
		} else {
			r.Media = kind
		}
		out, err = h.svc.Reply(ctx, code, by, r)
		if err == nil && out != Done {
			h.say(ctx, m, outcomeText(out, actReply))
		}
	}
	return err
}

// TelegramLock returns a PersonLock over the Telegram transport's per-chat
// lease (keys.ChatLease, taken and released as bot/state.go does, through
// internal/lease). Holding it while the conversation shows a staff event
// means the event and an update of the person being handled on another
// replica never overwrite each other's session. wait bounds how long to
// wait for the person's own update.
func TelegramLock(rdb redis.UniversalClient, k keys.Keys, ttl, wait time.Duration) PersonLock {
	return func(ctx context.Context, user string) (func(), error) {
		unlock, err := lease.Wait(ctx, rdb, k.ChatLease(user), lease.NewToken(), ttl, wait)
		if err != nil {
			return nil, fmt.Errorf("person lock: %w", err)
		}
		return unlock, nil
	}
}
