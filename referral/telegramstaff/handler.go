package telegramstaff

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"putokaz/bot"
	"putokaz/internal/engine"
	"putokaz/referral"
)

// Handler handles updates from staff groups (bot.StaffHandler):
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
type Handler struct {
	desk     *referral.Desk
	sender   *bot.Sender
	members  *members
	username func() string
	log      *slog.Logger
}

var _ bot.StaffHandler = (*Handler)(nil)

// NewHandler handles staff updates for desk, answering through sender.
// botUsername gives the bot's username, so that a command addressed to
// another bot in the group ("/close@OtherBot") is not taken as ours.
func NewHandler(desk *referral.Desk, sender *bot.Sender, botUsername func() string) *Handler {
	return &Handler{desk: desk, sender: sender, members: newMembers(sender), username: botUsername,
		log: desk.Log().With("part", "staff")}
}

// HandleStaff implements bot.StaffHandler. An error makes the transport
// retry the update; actions are idempotent (a claimed case is not claimed
// twice), so a retry is safe.
func (h *Handler) HandleStaff(ctx context.Context, u *models.Update) error {
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
func (h *Handler) allowed(ctx context.Context, group int64, from *models.User, senderChat *models.Chat) (bool, error) {
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

func (h *Handler) refuse(reason string, group int64) {
	h.desk.CountRefused(reason)
	h.log.Warn("staff update refused", "reason", reason, "group", group)
}

func (h *Handler) answer(ctx context.Context, id, textID string) {
	p := map[string]any{"callback_query_id": id, "text": h.desk.StaffText(textID)}
	if err := h.sender.Call(ctx, "answerCallbackQuery", 0, p, nil); err != nil {
		h.log.Debug("answerCallbackQuery failed", "err", err)
		return // the transport answers it (without text)
	}
	bot.CallbackAnswered(ctx)
}

func (h *Handler) callback(ctx context.Context, q *models.CallbackQuery) error {
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
	if !ok || code == "" || (act+":" != referral.DataClaim && act+":" != referral.DataClose) {
		h.refuse("unknown_button", group)
		h.answer(ctx, q.ID, referral.TextAnswerOther)
		return nil
	}
	c, err := h.desk.Case(ctx, code)
	if err != nil {
		return err
	}
	switch {
	case c == nil:
		h.refuse("unknown_case", group)
		h.answer(ctx, q.ID, referral.TextAnswerNotOpen)
		return nil
	case c.Group != group:
		h.refuse("other_group", group)
		h.answer(ctx, q.ID, referral.TextAnswerOther)
		return nil
	case c.Card == 0 || c.Card != msgID:
		// Data that does not match the card it came with was made up.
		h.refuse("not_the_card", group)
		h.answer(ctx, q.ID, referral.TextAnswerOther)
		return nil
	}
	if ok, err := h.allowed(ctx, group, &q.From, nil); err != nil || !ok {
		if err == nil {
			h.answer(ctx, q.ID, referral.TextAnswerNotMember)
		}
		return err
	}
	by := staffID(&q.From, nil)
	var out referral.Outcome
	action := actClaimed
	if act+":" == referral.DataClaim {
		out, err = h.desk.ClaimAs(ctx, code, by, staffName(&q.From, nil))
	} else {
		action = actClosed
		out, err = h.desk.CloseAs(ctx, code, by, staffName(&q.From, nil))
	}
	if err != nil {
		return err
	}
	h.answer(ctx, q.ID, outcomeText(out, action))
	return nil
}

// What a staff member did, for outcomeText.
const (
	actClaimed = "claimed"
	actClosed  = "closed"
	actNote    = "note"
	actReply   = "reply"
)

// outcomeText is the answer to staff for what an action did.
func outcomeText(o referral.Outcome, action string) string {
	switch o {
	case referral.Done:
		if action == actClaimed {
			return referral.TextAnswerClaimed
		}
		return referral.TextAnswerClosed
	case referral.AlreadyClaimed:
		return referral.TextAnswerTaken
	case referral.Withdrawn:
		return referral.TextAnswerWithdrawn
	case referral.Blocked:
		return referral.TextAnswerBlocked
	case referral.NotOpen:
		if action == actClosed {
			return referral.TextAnswerClosed // closed already: what they wanted
		}
	}
	return referral.TextAnswerNotOpen
}

// caseOf finds the case a staff message belongs to: its topic, or the case
// message it replies to (shared topics).
func (h *Handler) caseOf(ctx context.Context, m *models.Message) (string, error) {
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		code, err := h.desk.CaseOfTopic(ctx, m.Chat.ID, m.MessageThreadID)
		if err != nil || code != "" {
			return code, err
		}
	}
	if m.ReplyToMessage != nil {
		return h.desk.CaseOfMessage(ctx, m.Chat.ID, m.ReplyToMessage.ID)
	}
	return "", nil
}

// say answers a staff message in its own topic.
func (h *Handler) say(ctx context.Context, m *models.Message, textID string) {
	h.sayHTML(ctx, m, referral.EscapeHTML(h.desk.StaffText(textID)))
}

// sayHTML answers a staff message in its own topic with Telegram HTML.
func (h *Handler) sayHTML(ctx context.Context, m *models.Message, text string) {
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
func (h *Handler) react(ctx context.Context, m *models.Message, emoji string) {
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
func (h *Handler) command(m *models.Message) (name, arg string, ok, elsewhere bool) {
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

func (h *Handler) message(ctx context.Context, updateID int64, m *models.Message) error {
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
		h.say(ctx, m, referral.TextGuideHelp)
		return nil
	}
	if isCmd && cmd == "waiting" {
		// Anywhere in the group, for its members: the group's cases
		// nobody has claimed (codes, services, times; nothing of the
		// person).
		if ok, err := h.allowed(ctx, m.Chat.ID, m.From, m.SenderChat); err != nil || !ok {
			return err
		}
		text, err := h.desk.WaitingText(ctx, m.Chat.ID)
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
			h.say(ctx, m, referral.TextAnswerNotCase)
			return nil
		}
		// Staff talking among themselves outside a case: not for us.
		if m.IsTopicMessage {
			h.log.Debug("staff message outside a case; not relayed", "group", group)
		}
		return nil
	}
	c, err := h.desk.Case(ctx, code)
	if err != nil {
		return err
	}
	if c == nil || c.Group != group {
		h.refuse("other_group", group)
		h.say(ctx, m, referral.TextAnswerNotCase)
		return nil
	}
	if ok, err := h.allowed(ctx, group, m.From, m.SenderChat); err != nil || !ok {
		return err // a non-member gets no answer: nothing of the case is shown
	}
	by := staffID(m.From, m.SenderChat)
	var out referral.Outcome
	switch {
	case isCmd && cmd == "close":
		if out, err = h.desk.CloseAs(ctx, code, by, staffName(m.From, m.SenderChat)); err == nil && out != referral.Done {
			h.say(ctx, m, outcomeText(out, actClosed))
		}
	case isCmd && cmd == "claim":
		if out, err = h.desk.ClaimAs(ctx, code, by, staffName(m.From, m.SenderChat)); err == nil && out != referral.Done {
			h.say(ctx, m, outcomeText(out, actClaimed))
		}
	case isCmd && cmd == "note":
		out, err = h.desk.NoteOnce(ctx, code, by, arg, "note:u"+strconv.FormatInt(updateID, 10))
		switch {
		case err == nil && out == referral.Done:
			h.react(ctx, m, reactNoted)
		case err == nil:
			h.say(ctx, m, outcomeText(out, actNote))
		}
	case isCmd:
		h.say(ctx, m, referral.TextAnswerCommand)
	default:
		r := referral.Reply{Copy: &referral.Copy{FromChat: group, MessageID: m.ID}}
		if kind == "text" {
			r.Text = m.Text
		} else {
			r.Media = kind
		}
		out, err = h.desk.Reply(ctx, code, by, r)
		if err == nil && out != referral.Done {
			h.say(ctx, m, outcomeText(out, actReply))
		}
	}
	return err
}
