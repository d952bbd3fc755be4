package referral

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"putokaz/internal/engine"
)

// MemoryStaff is a Staff that keeps everything in memory: the playground shows
// its cases in the staff pane, and tests read them. Staff actions are its
// methods Claim, Reply, Note and Close (bound with Bind).
type MemoryStaff struct {
	mu      sync.Mutex
	svc     *Desk
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

// NewMemoryStaff returns an empty in-memory staff side.
func NewMemoryStaff() *MemoryStaff {
	return &MemoryStaff{topics: map[int]*MemoryTopic{}, persons: map[string][]engine.Message{}}
}

// Bind connects the staff actions (Claim, Reply, Note, Close) to svc.
func (m *MemoryStaff) Bind(svc *Desk) {
	m.mu.Lock()
	m.svc = svc
	m.mu.Unlock()
}

func (m *MemoryStaff) service() *Desk {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.svc == nil {
		panic("referral.MemoryStaff: Bind was not called")
	}
	return m.svc
}

// Stream implements Staff.
func (m *MemoryStaff) Stream(group int64) string { return "staff:" + strconv.FormatInt(group, 10) }

// PersonChat implements Staff: the playground's people get staff messages
// without IDs, so no reply maps to a case.
func (m *MemoryStaff) PersonChat(string) (int64, bool) { return 0, false }

// OpenTopic implements Staff.
func (m *MemoryStaff) OpenTopic(_ context.Context, group int64, name string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	t := &MemoryTopic{Thread: m.next, Group: group, Name: name}
	m.topics[t.Thread] = t
	m.order = append(m.order, t.Thread)
	return t.Thread, nil
}

// Post implements Staff.
func (m *MemoryStaff) Post(_ context.Context, group int64, thread int, p Post) (int, error) {
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
func (m *MemoryStaff) EditCard(_ context.Context, _ int64, msgID int, text string, buttons []engine.Button) error {
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
func (m *MemoryStaff) CloseTopic(_ context.Context, _ int64, thread int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.topics[thread]; t != nil {
		t.Closed = true
	}
	return nil
}

// DeleteTopic implements Staff: the topic and its messages are gone.
func (m *MemoryStaff) DeleteTopic(_ context.Context, _ int64, thread int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, thread)
	m.order = slices.DeleteFunc(m.order, func(th int) bool { return th == thread })
	return nil
}

// DeleteMessages implements Staff.
func (m *MemoryStaff) DeleteMessages(_ context.Context, _ int64, ids []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.topics {
		t.Messages = slices.DeleteFunc(t.Messages, func(msg MemoryMessage) bool { return slices.Contains(ids, msg.ID) })
	}
	return nil
}

// ToPerson implements Staff: the reply waits in TakePerson.
func (m *MemoryStaff) ToPerson(_ context.Context, user string, r Reply) ([]int, error) {
	text := EscapeHTML(r.Text)
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
func (m *MemoryStaff) Notify(_ context.Context, user string, msgs []engine.Message) error {
	m.mu.Lock()
	m.persons[user] = append(m.persons[user], msgs...)
	m.mu.Unlock()
	return nil
}

// TakePerson returns (and forgets) what reached the person from staff since
// the last call: staff replies and the bot's notices.
func (m *MemoryStaff) TakePerson(user string) []engine.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.persons[user]
	delete(m.persons, user)
	return out
}

// Topics returns a copy of every topic, oldest first.
func (m *MemoryStaff) Topics() []MemoryTopic {
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
func (m *MemoryStaff) Claim(ctx context.Context, code, staffID string) (Outcome, error) {
	return m.service().Claim(ctx, code, staffID)
}

// Reply sends text from staff member staffID to the case's person.
func (m *MemoryStaff) Reply(ctx context.Context, code, staffID, text string) (Outcome, error) {
	return m.service().Reply(ctx, code, staffID, Reply{Text: text})
}

// Note records an internal note on the case.
func (m *MemoryStaff) Note(ctx context.Context, code, staffID, text string) (Outcome, error) {
	return m.service().Note(ctx, code, staffID, text)
}

// Close closes the case.
func (m *MemoryStaff) Close(ctx context.Context, code, staffID string) (Outcome, error) {
	return m.service().Close(ctx, code, staffID)
}

// Waiting lists the cases nobody has claimed yet, most overdue first (the
// playground's staff pane; Desk.Waiting).
func (m *MemoryStaff) Waiting(ctx context.Context) ([]CaseSummary, error) {
	return m.service().Waiting(ctx)
}
