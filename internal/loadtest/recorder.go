package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"strings"
	"sync"
	"time"

	"putokaz/internal/testkit/botapitest"
)

var errNoWebhook = errors.New("the bot did not call setWebhook")

// recorder watches the fake Bot API (botapitest's OnCall): it counts calls
// and errors, notes the webhook the bot registers, and files every sent
// message in its chat's mailbox before the fake answers the bot. It reads
// what the fake decoded already, so a reply is parsed once.
type recorder struct {
	boxes map[int64]*mailbox // fixed before the run: read without a lock
	bulk  *bulkCounter       // subscribers' chats (nil: none); fixed before the run
	seed  maphash.Seed

	mu       sync.Mutex
	calls    map[string]int64
	errs     map[string]int64
	webhook  string
	maxConns int           // max_connections of the last setWebhook (0: not given)
	webhookC chan struct{} // closed and replaced on every setWebhook
}

func newRecorder(users int) *recorder {
	r := &recorder{
		boxes:    map[int64]*mailbox{},
		seed:     maphash.MakeSeed(),
		calls:    map[string]int64{},
		errs:     map[string]int64{},
		webhookC: make(chan struct{}),
	}
	for i := range users {
		r.boxes[firstChat+int64(i)] = newMailbox()
	}
	return r
}

func (r *recorder) mailbox(chat int64) *mailbox { return r.boxes[chat] }

// inlineKeyboard is the part of reply_markup the users look at.
type inlineKeyboard struct {
	InlineKeyboard [][]struct {
		CallbackData string `json:"callback_data"`
	} `json:"inline_keyboard"`
}

func (r *recorder) observe(c botapitest.Call) {
	r.mu.Lock()
	r.calls[c.Method]++
	r.mu.Unlock()
	if !c.OK {
		r.countErr(fmt.Sprintf("bot API: %s answered %d", c.Method, c.Status))
		return
	}
	isSend := strings.HasPrefix(c.Method, "send") && c.Method != "sendChatAction" || c.Method == "copyMessage"
	isEdit := strings.HasPrefix(c.Method, "editMessage")
	switch {
	case c.Method == "setWebhook":
		r.mu.Lock()
		r.webhook = c.Str("url")
		r.maxConns = int(c.Int("max_connections"))
		close(r.webhookC)
		r.webhookC = make(chan struct{})
		r.mu.Unlock()
	case isSend && r.bulk.observe(c.ChatID, c.Time):
		// An urgent update to a subscriber: counted, not filed.
	case isSend, isEdit:
		box := r.boxes[c.ChatID]
		if box == nil {
			r.countErr("bot API: " + c.Method + " to a chat of nobody simulated")
			return
		}
		m := reply{at: c.Time, msgID: c.MessageID, edit: isEdit}
		markup := c.Params["reply_markup"]
		if bytes.Contains(markup, []byte(`"inline_keyboard"`)) {
			var kb inlineKeyboard
			if err := json.Unmarshal(markup, &kb); err != nil {
				r.countErr("bot API: " + c.Method + ": unreadable reply_markup")
				return
			}
			m.markup = true
			for _, row := range kb.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData != "" {
						m.buttons = append(m.buttons, b.CallbackData)
					}
				}
			}
		}
		m.askLocation = bytes.Contains(markup, []byte("request_location"))
		var h maphash.Hash
		h.SetSeed(r.seed)
		h.Write(c.Params["text"])
		for _, b := range m.buttons {
			h.WriteString("\x00" + b)
		}
		m.sum = h.Sum64()
		box.put(m)
	}
}

func (r *recorder) countErr(kind string) {
	r.mu.Lock()
	r.errs[kind]++
	r.mu.Unlock()
}

func (r *recorder) callCounts() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

func (r *recorder) apiErrors() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.errs)
}

// waitWebhook waits until the bot has registered url with setWebhook.
func (r *recorder) waitWebhook(ctx context.Context, url string, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		got, ch := r.webhook, r.webhookC
		r.mu.Unlock()
		if got == url {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			if got != "" {
				return fmt.Errorf("%w %s within %v (it registered another URL)", errNoWebhook, url, timeout)
			}
			return fmt.Errorf("%w within %v", errNoWebhook, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reply is one message (or edit) the bot sent to a chat.
type reply struct {
	at          time.Time
	msgID       int
	sum         uint64   // text and buttons, to spot a message sent twice
	buttons     []string // callback_data of the inline keyboard
	markup      bool     // the message carried an inline keyboard
	askLocation bool     // a reply keyboard asks for the location
	edit        bool     // editMessage*: changes msgID, is no new message
}

// mailbox holds the messages of one chat that no step has taken yet.
type mailbox struct {
	mu   sync.Mutex
	msgs []reply
	sig  chan struct{} // capacity 1: "something was put"
}

func newMailbox() *mailbox { return &mailbox{sig: make(chan struct{}, 1)} }

func (m *mailbox) put(r reply) {
	m.mu.Lock()
	if r.edit {
		// Fold an edit into the message it changes when that is still here.
		for i := range m.msgs {
			if m.msgs[i].msgID == r.msgID && !m.msgs[i].edit {
				m.msgs[i].buttons, m.msgs[i].markup = r.buttons, r.markup
				m.mu.Unlock()
				return
			}
		}
	}
	m.msgs = append(m.msgs, r)
	m.mu.Unlock()
	select {
	case m.sig <- struct{}{}:
	default:
	}
}

// take empties the mailbox.
func (m *mailbox) take() []reply {
	m.mu.Lock()
	out := m.msgs
	m.msgs = nil
	m.mu.Unlock()
	return out
}

// waitAny waits until the mailbox holds a new message (not only edits) or
// until deadline, then empties it.
func (m *mailbox) waitAny(ctx context.Context, deadline time.Time) []reply {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		m.mu.Lock()
		has := false
		for _, r := range m.msgs {
			if !r.edit {
				has = true
				break
			}
		}
		m.mu.Unlock()
		if has {
			return m.take()
		}
		select {
		case <-m.sig:
		case <-t.C:
			return m.take()
		case <-ctx.Done():
			return m.take()
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// maxConnections is the max_connections the bot registered (0 if none).
func (r *recorder) maxConnections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxConns
}
