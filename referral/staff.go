package referral

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"putokaz/internal/engine"
)

// Staff is where cases are shown and what reaches the person from staff:
// TelegramStaff (staff groups with forum topics) or Memory (the playground,
// tests). The outbox calls it; its methods must be safe for concurrent use.
type Staff interface {
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

// Memory is a Staff that keeps everything in memory: the playground shows
// its cases in the staff pane, and tests read them. Staff actions are its
// methods Claim, Reply, Note and Close (bound with Bind).
type Memory struct {
	mu      sync.Mutex
	svc     *Service
	topics  map[int]*MemoryTopic
	order   []int
	next    int
	persons map[string][]engine.Message
}

// MemoryTopic is one case's place.
type MemoryTopic struct {
	Thread   int
	Group    int64
	Name     string
	Closed   bool
	Messages []MemoryMessage
}

// MemoryMessage is one message in a topic.
type MemoryMessage struct {
	ID      int
	Code    string
	Kind    string // card, relay, alert, notice
	Text    string // Telegram HTML
	Buttons []engine.Button
	// Copied is set for a message copied from the person (media).
	Copied bool
}

// NewMemory returns an empty in-memory staff side.
func NewMemory() *Memory {
	return &Memory{topics: map[int]*MemoryTopic{}, persons: map[string][]engine.Message{}}
}

// Bind connects the staff actions (Claim, Reply, Note, Close) to svc.
func (m *Memory) Bind(svc *Service) {
	m.mu.Lock()
	m.svc = svc
	m.mu.Unlock()
}

func (m *Memory) service() *Service {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.svc == nil {
		panic("referral.Memory: Bind was not called")
	}
	return m.svc
}

// OpenTopic implements Staff.
func (m *Memory) OpenTopic(_ context.Context, group int64, name string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	t := &MemoryTopic{Thread: m.next, Group: group, Name: name}
	m.topics[t.Thread] = t
	m.order = append(m.order, t.Thread)
	return t.Thread, nil
}

// Post implements Staff.
func (m *Memory) Post(_ context.Context, group int64, thread int, p Post) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topics[thread]
	if t == nil { // a fixed topic or the main chat: create its entry on first use
		t = &MemoryTopic{Thread: thread, Group: group}
		m.topics[thread] = t
		m.order = append(m.order, thread)
	}
	m.next++
	t.Messages = append(t.Messages, MemoryMessage{ID: m.next, Code: p.Code, Kind: p.Kind, Text: p.Text,
		Buttons: slices.Clone(p.Buttons), Copied: p.Copy != nil})
	return m.next, nil
}

// EditCard implements Staff.
func (m *Memory) EditCard(_ context.Context, _ int64, msgID int, text string, buttons []engine.Button) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.topics {
		for i := range t.Messages {
			if t.Messages[i].ID == msgID {
				t.Messages[i].Text, t.Messages[i].Buttons = text, slices.Clone(buttons)
				return nil
			}
		}
	}
	return nil
}

// CloseTopic implements Staff.
func (m *Memory) CloseTopic(_ context.Context, _ int64, thread int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.topics[thread]; t != nil {
		t.Closed = true
	}
	return nil
}

// DeleteTopic implements Staff: the topic and its messages are gone.
func (m *Memory) DeleteTopic(_ context.Context, _ int64, thread int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, thread)
	m.order = slices.DeleteFunc(m.order, func(th int) bool { return th == thread })
	return nil
}

// DeleteMessages implements Staff.
func (m *Memory) DeleteMessages(_ context.Context, _ int64, ids []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.topics {
		t.Messages = slices.DeleteFunc(t.Messages, func(msg MemoryMessage) bool { return slices.Contains(ids, msg.ID) })
	}
	return nil
}

// ToPerson implements Staff: the reply waits in TakePerson.
func (m *Memory) ToPerson(_ context.Context, user string, r Reply) ([]int, error) {
	text := escHTML(r.Text)
	if text == "" {
		text = "[" + r.Media + "]"
	}
	if r.Header != "" {
		text = r.Header + "\n" + text
	}
	m.mu.Lock()
	m.persons[user] = append(m.persons[user], engine.Message{Text: text})
	m.mu.Unlock()
	return nil, nil
}

// Notify implements Staff: the messages wait in TakePerson.
func (m *Memory) Notify(_ context.Context, user string, msgs []engine.Message) error {
	m.mu.Lock()
	m.persons[user] = append(m.persons[user], msgs...)
	m.mu.Unlock()
	return nil
}

// TakePerson returns (and forgets) what reached the person from staff since
// the last call: staff replies and the bot's notices.
func (m *Memory) TakePerson(user string) []engine.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.persons[user]
	delete(m.persons, user)
	return out
}

// Topics returns a copy of every topic, oldest first.
func (m *Memory) Topics() []MemoryTopic {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MemoryTopic, 0, len(m.order))
	for _, th := range m.order {
		t := *m.topics[th]
		t.Messages = slices.Clone(t.Messages)
		out = append(out, t)
	}
	return out
}

// Claim takes a case for staff member staffID.
func (m *Memory) Claim(ctx context.Context, code, staffID string) (Outcome, error) {
	return m.service().Claim(ctx, code, staffID)
}

// Reply sends text from staff member staffID to the case's person.
func (m *Memory) Reply(ctx context.Context, code, staffID, text string) (Outcome, error) {
	return m.service().Reply(ctx, code, staffID, Reply{Text: text})
}

// Note records an internal note on the case.
func (m *Memory) Note(ctx context.Context, code, staffID, text string) (Outcome, error) {
	return m.service().Note(ctx, code, staffID, text)
}

// Close closes the case.
func (m *Memory) Close(ctx context.Context, code, staffID string) (Outcome, error) {
	return m.service().Close(ctx, code, staffID)
}

// Waiting lists the cases nobody has claimed yet, most overdue first (the
// playground's staff pane; Service.Waiting).
func (m *Memory) Waiting(ctx context.Context) ([]CaseSummary, error) {
	return m.service().Waiting(ctx)
}
