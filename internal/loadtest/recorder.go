package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorder is the Bot API the bot talks to. botapitest records calls but
// offers no way to be told of each one as it comes (WaitUntil copies the whole
// log on every change, which is quadratic under load), so the recorder notes
// each call's arrival time, has the fake answer it in process (a second HTTP
// hop would cost the load tool, which shares the machine with the bot, as
// much CPU again), and files every sent message in its chat's mailbox before
// the bot gets the answer.
type recorder struct {
	url   string // base URL for the bot (no trailing slash)
	fake  http.Handler
	srv   *http.Server
	boxes map[int64]*mailbox // fixed before the run: read without a lock
	seed  maphash.Seed

	mu       sync.Mutex
	calls    map[string]int64
	errs     map[string]int64
	webhook  string
	maxConns int           // max_connections of the last setWebhook (0: not given)
	webhookC chan struct{} // closed and replaced on every setWebhook
}

func newRecorder(fake http.Handler, users int) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	r := &recorder{
		url:      "http://" + ln.Addr().String(),
		fake:     fake,
		boxes:    map[int64]*mailbox{},
		seed:     maphash.MakeSeed(),
		calls:    map[string]int64{},
		errs:     map[string]int64{},
		webhookC: make(chan struct{}),
	}
	for i := range users {
		r.boxes[firstChat+int64(i)] = newMailbox()
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *recorder) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

func (r *recorder) mailbox(chat int64) *mailbox { return r.boxes[chat] }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	method := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
	req.Body = io.NopCloser(bytes.NewReader(body))
	ans := &answerBuffer{header: http.Header{}, status: http.StatusOK}
	r.fake.ServeHTTP(ans, req)
	r.observe(method, at, body, ans.status, ans.body.Bytes())
	if ct := ans.header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body.Bytes())
}

// answerBuffer keeps the fake's answer until the recorder has filed it.
type answerBuffer struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (a *answerBuffer) Header() http.Header { return a.header }

func (a *answerBuffer) WriteHeader(status int) {
	if !a.wrote {
		a.status, a.wrote = status, true
	}
}

func (a *answerBuffer) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(p)
}

// sentMessage is the part of a Bot API Message the users look at.
type sentMessage struct {
	MessageID int `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
	Text        string `json:"text"`
	ReplyMarkup *struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
			URL          string `json:"url"`
		} `json:"inline_keyboard"`
	} `json:"reply_markup"`
}

func (r *recorder) observe(method string, at time.Time, body []byte, status int, answer []byte) {
	r.mu.Lock()
	r.calls[method]++
	r.mu.Unlock()
	if status != http.StatusOK {
		r.countErr(fmt.Sprintf("bot API: %s answered %d", method, status))
		return
	}
	isSend := strings.HasPrefix(method, "send") && method != "sendChatAction" || method == "copyMessage"
	isEdit := strings.HasPrefix(method, "editMessage")
	switch {
	case method == "setWebhook":
		var p struct {
			URL            string `json:"url"`
			MaxConnections int    `json:"max_connections"`
		}
		if json.Unmarshal(body, &p) != nil || p.URL == "" {
			p.URL = formField(body, "url")
			p.MaxConnections, _ = strconv.Atoi(formField(body, "max_connections"))
		}
		r.mu.Lock()
		r.webhook = p.URL
		r.maxConns = p.MaxConnections
		close(r.webhookC)
		r.webhookC = make(chan struct{})
		r.mu.Unlock()
	case isSend, isEdit:
		var a struct {
			Result sentMessage `json:"result"`
		}
		if err := json.Unmarshal(answer, &a); err != nil || a.Result.Chat.ID == 0 {
			chat := chatOfRequest(body)
			if chat == 0 {
				r.countErr("bot API: " + method + ": answer without chat")
				return
			}
			a.Result.Chat.ID = chat
		}
		box := r.boxes[a.Result.Chat.ID]
		if box == nil {
			r.countErr("bot API: " + method + " to a chat of nobody simulated")
			return
		}
		m := reply{at: at, msgID: a.Result.MessageID, edit: isEdit}
		if rm := a.Result.ReplyMarkup; rm != nil {
			m.markup = true
			for _, row := range rm.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData != "" {
						m.buttons = append(m.buttons, b.CallbackData)
					}
				}
			}
		}
		// The fake echoes only inline keyboards; a reply keyboard asking
		// for the location is seen in the request.
		m.askLocation = bytes.Contains(body, []byte("request_location"))
		var h maphash.Hash
		h.SetSeed(r.seed)
		h.WriteString(a.Result.Text)
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

// chatOfRequest finds chat_id in a JSON request body (0 if none).
func chatOfRequest(body []byte) int64 {
	var p struct {
		ChatID json.Number `json:"chat_id"`
	}
	if json.Unmarshal(body, &p) == nil {
		n, _ := p.ChatID.Int64()
		return n
	}
	return 0
}

// formField is a crude multipart/urlencoded field reader, enough for the
// url of setWebhook from go-telegram/bot (multipart).
func formField(body []byte, name string) string {
	key := []byte(`name="` + name + `"`)
	i := bytes.Index(body, key)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.Index(rest, []byte("\r\n\r\n"))
	if j < 0 {
		return ""
	}
	rest = rest[j+4:]
	if k := bytes.Index(rest, []byte("\r\n")); k >= 0 {
		rest = rest[:k]
	}
	return string(rest)
}

// reply is one message (or edit) the bot sent to a chat.
type reply struct {
	at          time.Time
	msgID       int
	sum         uint64   // text and buttons, to spot a message sent twice
	buttons     []string // callback_data of the inline keyboard
	markup      bool     // the answer carried an inline keyboard
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
