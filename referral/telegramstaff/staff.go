package telegramstaff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"putokaz/bot"
	"putokaz/internal/engine"
	"putokaz/internal/textnorm"
	"putokaz/referral"
)

// Staff shows cases in Telegram staff groups (a forum topic per
// case) through the transport's Sender, which rate-limits each group
// (~20 messages a minute), waits out 429 retry_after and retries 5xx.
type Staff struct {
	s *bot.Sender
}

// New sends through s (bot.NewSender).
func New(s *bot.Sender) *Staff { return &Staff{s: s} }

var _ referral.Staff = (*Staff)(nil)

// Stream implements referral.Staff: "tg:<group>", the name a staff group's
// outbox stream has always had (entries queued before an upgrade are
// still delivered after it).
func (t *Staff) Stream(group int64) string { return "tg:" + strconv.FormatInt(group, 10) }

// PersonChat implements referral.Staff: a person's private chat has their
// user ID.
func (t *Staff) PersonChat(user string) (int64, bool) {
	chat, err := personChat(user)
	return chat, err == nil
}

// bulk marks what the outbox sends (cards, relays, notices, reminders, what
// staff did told later) as staff-lane traffic: held to the global limit,
// after people's answers (bot/lane.go). An emergency alert goes first.
func bulk(ctx context.Context, kind string) context.Context {
	if kind == "alert" {
		return bot.WithLane(ctx, bot.LaneEmergency)
	}
	return bot.WithLane(ctx, bot.LaneStaff)
}

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

// OpenTopic implements referral.Staff with createForumTopic.
func (t *Staff) OpenTopic(ctx context.Context, group int64, name string) (int, error) {
	ctx = bulk(ctx, "")
	var res struct {
		MessageThreadID int `json:"message_thread_id"`
	}
	err := t.s.Call(ctx, "createForumTopic", group, map[string]any{"chat_id": group, "name": name}, &res)
	if errors.Is(err, tgbot.ErrorBadRequest) {
		// "the chat is not a forum", "not enough rights to manage topics".
		return 0, fmt.Errorf("%w: %w", referral.ErrNoTopics, err)
	}
	if err != nil {
		return 0, staffErr(err)
	}
	if res.MessageThreadID == 0 {
		return 0, errors.New("createForumTopic returned no topic")
	}
	return res.MessageThreadID, nil
}

// Post implements referral.Staff with sendMessage or copyMessage. A message Telegram
// refuses to copy (deleted by the person, a kind it cannot copy) is replaced
// by p.Text.
func (t *Staff) Post(ctx context.Context, group int64, thread int, p referral.Post) (int, error) {
	ctx = bulk(ctx, p.Kind)
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

// EditCard implements referral.Staff with editMessageText (the text and the
// buttons at once; no buttons removes them). "message is not modified" (an
// edit delivered again) is success.
func (t *Staff) EditCard(ctx context.Context, group int64, msgID int, text string, buttons []engine.Button) error {
	ctx = bulk(ctx, "")
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

// CloseTopic implements referral.Staff with closeForumTopic.
func (t *Staff) CloseTopic(ctx context.Context, group int64, thread int) error {
	return staffErr(t.s.Call(ctx, "closeForumTopic", group, map[string]any{"chat_id": group, "message_thread_id": thread}, nil))
}

// DeleteTopic implements referral.Staff with deleteForumTopic (the bot needs the
// right to delete messages in the group).
func (t *Staff) DeleteTopic(ctx context.Context, group int64, thread int) error {
	ctx = bulk(ctx, "")
	return staffErr(t.s.Call(ctx, "deleteForumTopic", group, map[string]any{"chat_id": group, "message_thread_id": thread}, nil))
}

// DeleteMessages implements referral.Staff with deleteMessages, up to 100 IDs per
// call (IDs Telegram no longer finds are skipped by it).
func (t *Staff) DeleteMessages(ctx context.Context, group int64, ids []int) error {
	ctx = bulk(ctx, "")
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

// blocked says referral.ErrBlocked where the person blocked the bot, and maps the
// transport's other errors like staffErr.
func blocked(err error) error {
	if errors.Is(err, bot.ErrInactive) || errors.Is(err, tgbot.ErrorForbidden) {
		return fmt.Errorf("%w: %w", referral.ErrBlocked, staffErr(err))
	}
	return staffErr(err)
}

// staffErr maps go-telegram's and the Sender's errors to the referral
// core's (referral.ErrRejected, referral.ErrForbidden, referral.ErrNotFound, referral.ErrUnavailable,
// *RateLimitError), keeping the original in the chain.
func staffErr(err error) error {
	var te *tgbot.TooManyRequestsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return &referral.RateLimitError{RetryAfter: time.Duration(te.RetryAfter) * time.Second, Err: err}
	case errors.Is(err, tgbot.ErrorBadRequest):
		return fmt.Errorf("%w: %w", referral.ErrRejected, err)
	case errors.Is(err, tgbot.ErrorForbidden):
		return fmt.Errorf("%w: %w", referral.ErrForbidden, err)
	case errors.Is(err, tgbot.ErrorNotFound):
		return fmt.Errorf("%w: %w", referral.ErrNotFound, err)
	case errors.Is(err, bot.ErrGaveUp): // the Sender's retries ran out
		return fmt.Errorf("%w: %w", referral.ErrUnavailable, err)
	}
	return err
}

// ToPerson implements referral.Staff: the staff member's message is copied, so the
// person sees it from the bot, not from the staff member's account.
//
// With a header, a text that fits is sent as one message under it; anything
// else (media, a text too long) is copied after the header in a message of
// its own.
func (t *Staff) ToPerson(ctx context.Context, user string, r referral.Reply) ([]int, error) {
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
		if r.Media == "" && r.Text != "" && textnorm.UTF16Len(r.Header)+1+textnorm.UTF16Len(r.Text) <= 4096 {
			id, err := send(r.Header + "\n" + referral.EscapeHTML(r.Text))
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
	id, err := send(referral.EscapeHTML(r.Text))
	return append(ids, id), err
}

// Notify implements referral.Staff through the transport's rendering of engine
// messages.
func (t *Staff) Notify(ctx context.Context, user string, msgs []engine.Message) error {
	ctx = bulk(ctx, "") // what staff did, told later: not an answer to a message
	chat, err := personChat(user)
	if err != nil {
		return err
	}
	return blocked(t.s.Send(ctx, chat, 0, msgs...))
}
