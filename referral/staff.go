package referral

import (
	"context"
	"errors"
	"fmt"
	"time"

	"putokaz/internal/engine"
)

// Staff is where cases are shown and what reaches the person from staff:
// telegramstaff.Staff (staff groups with forum topics) or MemoryStaff (the
// playground, tests). The outbox calls it; its methods must be safe for
// concurrent use. Its errors wrap ErrRejected, ErrForbidden, ErrNotFound,
// ErrUnavailable or *RateLimitError where the transport says so.
type Staff interface {
	// Stream names the outbox stream of a staff group (a part of Redis
	// key names: it must not change between releases).
	Stream(group int64) string
	// PersonChat is the chat in which user gets staff messages, so that
	// their reply to one reaches its case (false: none).
	PersonChat(user string) (chat int64, ok bool)
	// OpenTopic creates the place where one case is discussed (a forum
	// topic) and returns its ID. ErrNoTopics means the group cannot have
	// topics: the case is then posted in the group's main chat.
	OpenTopic(ctx context.Context, group int64, name string) (thread int, err error)
	// Post shows a message in a group's topic (thread 0: the main chat) and
	// returns its message ID.
	Post(ctx context.Context, group int64, thread int, p Post) (msgID int, err error)
	// CloseTopic closes a case's topic.
	CloseTopic(ctx context.Context, group int64, thread int) error
	// DeleteTopic deletes a case's topic with all its messages (/delete,
	// the end of the case's retention).
	DeleteTopic(ctx context.Context, group int64, thread int) error
	// DeleteMessages deletes messages the bot posted in a group (a case
	// without a topic of its own).
	DeleteMessages(ctx context.Context, group int64, ids []int) error
	// EditCard replaces a case card's text and buttons (none: no buttons).
	EditCard(ctx context.Context, group int64, msgID int, text string, buttons []engine.Button) error
	// ToPerson delivers what a staff member wrote to the person, without
	// showing who wrote it, under r.Header if set. It returns the IDs of
	// the messages the person got (none where they have no IDs), so that
	// a reply to one of them reaches the case. ErrBlocked: the person
	// blocked the bot.
	ToPerson(ctx context.Context, user string, r Reply) (msgIDs []int, err error)
	// Notify shows the person messages of the conversation (the bot's
	// answer to "staff claimed / closed your chat").
	Notify(ctx context.Context, user string, msgs []engine.Message) error
}

// ErrNoTopics is returned by Staff.OpenTopic when the group has no forum
// topics (or the bot may not create them).
var ErrNoTopics = errors.New("the staff group cannot have a topic per case")

// ErrBlocked is returned by Staff.ToPerson when the person blocked the bot.
var ErrBlocked = errors.New("the person blocked the bot")

// What a Staff returns when its transport refuses or fails: it wraps the
// transport's error in one of these, so that the outbox decides without
// knowing the transport whether to retry an entry, drop it, or park it in
// the dead-letter stream.
var (
	// ErrRejected: the request is refused and would be again (Telegram
	// 400: a deleted topic, a message it cannot take).
	ErrRejected = errors.New("the staff side rejected the request")
	// ErrForbidden: the bot may not do it (Telegram 403: removed from the
	// group, no right to delete messages).
	ErrForbidden = errors.New("the staff side forbids the request")
	// ErrNotFound: what the request names is gone (Telegram 404).
	ErrNotFound = errors.New("the staff side does not know what the request names")
	// ErrUnavailable: the staff side did not answer, retries included
	// (transient).
	ErrUnavailable = errors.New("the staff side is unavailable")
)

// RateLimitError: the staff side asks to wait RetryAfter before the next
// request (Telegram 429).
type RateLimitError struct {
	RetryAfter time.Duration
	Err        error // the transport's error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited by the staff side (retry after %v): %v", e.RetryAfter, e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// Post is a message for staff.
type Post struct {
	// Code is the case the message belongs to; Kind what it is ("card",
	// "relay", "alert", "notice").
	Code string
	Kind string
	// Text is Telegram HTML, already escaped where it came from the person.
	Text string
	// Buttons are inline buttons (card: Claim, Close).
	Buttons []engine.Button
	// Copy, if set, copies this message instead of sending Text (a photo,
	// voice message, document, location the person sent). Text is the
	// fallback if the message cannot be copied.
	Copy *Copy
	// ReplyTo is the message this one answers (0: none).
	ReplyTo int
}

// Copy names a message to copy.
type Copy struct {
	FromChat  int64
	MessageID int
}

// Reply is what a staff member wrote to the person.
type Reply struct {
	// Text is the plain text (shown as is, escaped by the Staff).
	Text string
	// Media names the kind of a non-text message ("photo", ...).
	Media string
	// Copy is the staff message to copy (Telegram).
	Copy *Copy
	// Header, if set, is shown above it (Telegram HTML, in the person's
	// language): which service and which referral it is about.
	Header string
}
