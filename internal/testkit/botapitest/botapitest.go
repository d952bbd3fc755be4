// Package botapitest is a fake Telegram Bot API server for tests and the load
// tool. It serves POST /bot<token>/<method> over real HTTP (httptest), decodes
// JSON, multipart/form-data and urlencoded bodies (nested objects such as
// reply_markup arrive as JSON strings in form fields and are decoded), records
// every call, and can be scripted to answer 429 with retry_after, 5xx, other
// errors, or to hang.
//
// Answers have the shapes of the real API: {"ok":true,"result":...} or
// {"ok":false,"error_code":N,"description":"...","parameters":{...}}.
package botapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the bot token the fake accepts unless Options.Token is set.
const DefaultToken = "123456:TEST-token_for-fake"

// Options configure a Server. The zero value is usable.
type Options struct {
	// Token the server accepts (default DefaultToken); others get 401.
	Token string
	// BotUsername is returned by getMe (default "PutokazBot").
	BotUsername string
	// Latency is added to every answer (for load tests).
	Latency time.Duration
	// OnCall, when set, is given every call as it is recorded, before the
	// answer goes out, in the request's goroutine: a load tool learns of
	// each reply the moment the bot sends it. Keep it quick.
	OnCall func(Call)
	// NoLog keeps no log of calls (Calls, CallsTo, WaitUntil... see none):
	// for a long run watched with OnCall, whose log would only grow.
	NoLog bool
	// Flood, when set, answers messages beyond Telegram-like rates with 429
	// and retry_after (flood.go).
	Flood *Flood
}

// Call is one recorded request.
type Call struct {
	Method string
	// ChatID is the chat_id parameter (0 if absent or not numeric).
	ChatID int64
	// Params holds every parameter as JSON: form fields that hold JSON
	// objects/arrays/numbers/booleans are kept as such, other form values
	// become JSON strings.
	Params map[string]json.RawMessage
	// Files names the uploaded files of a multipart request, by field.
	Files map[string]string
	Time  time.Time
	// Status is the HTTP status the fake answered; OK is Status == 200.
	Status int
	OK     bool
	// Result is the "result" the fake answered (nil on errors).
	Result json.RawMessage
	// MessageID is the message a successful send created or an edit
	// changed (0 for other methods).
	MessageID int
}

// Str returns parameter name as a string ("" if absent): JSON strings are
// decoded, other JSON values are returned as their JSON text.
func (c Call) Str(name string) string {
	raw, ok := c.Params[name]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// Int returns parameter name as an integer (0 if absent or not a number).
func (c Call) Int(name string) int64 {
	n, _ := strconv.ParseInt(strings.Trim(string(c.Params[name]), `"`), 10, 64)
	return n
}

// Ints returns parameter name as a list of integers (nil if absent or not
// a JSON array of integers), e.g. deleteMessages' message_ids.
func (c Call) Ints(name string) []int {
	var out []int
	if err := json.Unmarshal(c.Params[name], &out); err != nil {
		return nil
	}
	return out
}

// Has reports whether parameter name was sent.
func (c Call) Has(name string) bool { _, ok := c.Params[name]; return ok }

// Decode decodes parameter name into v.
func (c Call) Decode(name string, v any) error {
	raw, ok := c.Params[name]
	if !ok {
		return fmt.Errorf("botapitest: parameter %q not sent", name)
	}
	return json.Unmarshal(raw, v)
}

// Fault scripts error answers. It applies to the next Times calls that match
// Method and ChatID. An empty Method matches every method except getUpdates
// (which polling tests call all the time); name getUpdates to fault it.
type Fault struct {
	Method string
	ChatID int64
	Times  int
	// Status is the HTTP status and error_code (e.g. 429, 500, 403, 409).
	Status      int
	RetryAfter  int
	Description string
	// NotJSON answers with an HTML body, like a proxy in front of the API.
	NotJSON bool
	// Hang blocks the request until the client gives up or the server
	// closes; it then answers 504.
	Hang bool
}

// maxLongPoll caps how long getUpdates waits for an update, whatever
// timeout the client asks for, so tests stay fast.
const maxLongPoll = 2 * time.Second

// Server is the fake Bot API.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu         sync.Mutex
	calls      []Call
	changed    chan struct{} // closed and replaced whenever calls or updates change
	faults     []*Fault
	nextMsgID  int
	nextThread int
	updates    []json.RawMessage // queued for getUpdates, ordered by update_id
	updateIDs  []int64
	confirmed  int64 // highest offset a getUpdates call confirmed
	webhookURL string
	closed     chan struct{}
	closeOnce  sync.Once
	flood      *flood
	// memberStatus is what getChatMember answers, by chat and user; anyone
	// not in it is a "member".
	memberStatus map[[2]int64]string
}

// New starts a fake server that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewServer(Options{})
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake server; call Close when done.
func NewServer(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.BotUsername == "" {
		opts.BotUsername = "PutokazBot"
	}
	s := &Server{
		opts:       opts,
		changed:    make(chan struct{}),
		nextMsgID:  1000,
		nextThread: 100,
		closed:     make(chan struct{}),
	}
	if opts.Flood != nil {
		s.flood = newFlood(*opts.Flood)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetMemberStatus sets what getChatMember answers for a user of a chat
// ("left", "kicked", "administrator", ...). Everyone else is a "member".
func (s *Server) SetMemberStatus(chatID, userID int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.memberStatus == nil {
		s.memberStatus = map[[2]int64]string{}
	}
	s.memberStatus[[2]int64{chatID, userID}] = status
}

// URL is the base URL to configure as the Bot API server (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// BotUsername is what getMe answers.
func (s *Server) BotUsername() string { return s.opts.BotUsername }

// Close frees hanging requests and shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Fail adds a scripted fault (see Fault).
func (s *Server) Fail(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// TooManyRequests answers the next times calls (to chatID, or any chat if 0)
// with 429 and parameters.retry_after = retryAfter seconds.
func (s *Server) TooManyRequests(times, retryAfter int, chatID int64) {
	s.Fail(Fault{Times: times, Status: http.StatusTooManyRequests, RetryAfter: retryAfter, ChatID: chatID,
		Description: "Too Many Requests: retry after " + strconv.Itoa(retryAfter)})
}

// ServerError answers the next times calls (to chatID, or any if 0) with status (5xx).
func (s *Server) ServerError(times, status int, chatID int64) {
	s.Fail(Fault{Times: times, Status: status, ChatID: chatID, Description: http.StatusText(status)})
}

// Forbidden answers the next times calls to chatID with 403 "bot was blocked by the user".
func (s *Server) Forbidden(times int, chatID int64) {
	s.Fail(Fault{Times: times, Status: http.StatusForbidden, ChatID: chatID,
		Description: "Forbidden: bot was blocked by the user"})
}

// Hang makes the next times calls (to chatID, or any if 0) hang.
func (s *Server) Hang(times int, chatID int64) {
	s.Fail(Fault{Times: times, Hang: true, ChatID: chatID})
}

// Push queues updates for getUpdates. Each may be a struct such as
// models.Update, a map, a JSON string or []byte; it must have update_id.
func (s *Server) Push(updates ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range updates {
		var raw []byte
		switch v := u.(type) {
		case []byte:
			raw = v
		case string:
			raw = []byte(v)
		case json.RawMessage:
			raw = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("botapitest: encode update: %w", err)
			}
			raw = b
		}
		var head struct {
			ID *int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID == nil {
			return fmt.Errorf("botapitest: update without update_id: %s", raw)
		}
		i, _ := slices.BinarySearch(s.updateIDs, *head.ID)
		s.updateIDs = slices.Insert(s.updateIDs, i, *head.ID)
		s.updates = slices.Insert(s.updates, i, json.RawMessage(slices.Clone(raw)))
	}
	s.notifyLocked()
	return nil
}

// Pending returns the update_ids still queued (not confirmed by an offset).
func (s *Server) Pending() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.updateIDs)
}

// Confirmed is the highest offset any getUpdates call sent (0 if none): every
// update below it is confirmed and gone.
func (s *Server) Confirmed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed
}

// Calls returns every recorded call in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded calls of one method.
func (s *Server) CallsTo(method string) []Call {
	return s.filter(func(c Call) bool { return c.Method == method })
}

// Delivered returns the calls of method that were answered 200 (what really
// reached the person).
func (s *Server) Delivered(method string) []Call {
	return s.filter(func(c Call) bool { return c.Method == method && c.OK })
}

// ByChat returns the recorded calls with chat_id == chatID.
func (s *Server) ByChat(chatID int64) []Call {
	return s.filter(func(c Call) bool { return c.ChatID == chatID })
}

// Reset forgets recorded calls (faults and queued updates stay).
func (s *Server) Reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

func (s *Server) filter(keep func(Call) bool) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// WaitForMethod waits until at least n successful calls of method are recorded.
func (s *Server) WaitForMethod(method string, n int, timeout time.Duration) ([]Call, error) {
	var got []Call
	_, err := s.WaitUntil(func(all []Call) bool {
		got = got[:0]
		for _, c := range all {
			if c.Method == method && c.OK {
				got = append(got, c)
			}
		}
		return len(got) >= n
	}, timeout)
	return got, err
}

// WaitUntil waits until cond holds for the recorded calls.
func (s *Server) WaitUntil(cond func([]Call) bool, timeout time.Duration) ([]Call, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := slices.Clone(s.calls)
		ch := s.changed
		s.mu.Unlock()
		if cond(calls) {
			return calls, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return calls, fmt.Errorf("botapitest: condition not met after %v (%d calls recorded)", timeout, len(calls))
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

type apiError struct {
	OK          bool           `json:"ok"`
	ErrorCode   int            `json:"error_code"`
	Description string         `json:"description"`
	Parameters  map[string]int `json:"parameters,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}
	// Path: /bot<token>/<method>
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" {
		writeJSON(w, http.StatusNotFound, apiError{ErrorCode: 404, Description: "Not Found"})
		return
	}
	call := Call{Method: method, Time: arrived}
	if err := decodeParams(r, &call); err != nil {
		s.record(call, http.StatusBadRequest, nil)
		writeJSON(w, http.StatusBadRequest, apiError{ErrorCode: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	if token != s.opts.Token {
		s.record(call, http.StatusUnauthorized, nil)
		writeJSON(w, http.StatusUnauthorized, apiError{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	if s.flood != nil && s.flood.reject(call, arrived) {
		s.record(call, http.StatusTooManyRequests, nil)
		writeJSON(w, http.StatusTooManyRequests, s.flood.answer())
		return
	}
	if f := s.takeFault(call); f != nil {
		s.applyFault(w, r, call, f)
		return
	}
	status, result, apiErr := s.answer(r.Context(), &call)
	if apiErr != nil {
		s.record(call, status, nil)
		writeJSON(w, status, apiErr)
		return
	}
	raw, _ := json.Marshal(result)
	s.record(call, http.StatusOK, raw)
	// raw is compact JSON already: no second pass of the encoder over it.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(slices.Concat([]byte(`{"ok":true,"result":`), raw, []byte("}\n")))
}

func (s *Server) record(c Call, status int, result json.RawMessage) {
	c.Status = status
	c.OK = status == http.StatusOK
	c.Result = result
	if !s.opts.NoLog {
		s.mu.Lock()
		s.calls = append(s.calls, c)
		s.notifyLocked()
		s.mu.Unlock()
	}
	if s.opts.OnCall != nil {
		s.opts.OnCall(c)
	}
}

func (s *Server) takeFault(c Call) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method == "" && c.Method == "getUpdates" || f.Method != "" && f.Method != c.Method {
			continue
		}
		if f.ChatID != 0 && f.ChatID != c.ChatID {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		cp := *f
		return &cp
	}
	return nil
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c Call, f *Fault) {
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		s.record(c, http.StatusGatewayTimeout, nil)
		writeJSON(w, http.StatusGatewayTimeout, apiError{ErrorCode: 504, Description: "Gateway Timeout"})
		return
	}
	s.record(c, f.Status, nil)
	if f.NotJSON {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body><h1>"+http.StatusText(f.Status)+"</h1></body></html>")
		return
	}
	e := apiError{ErrorCode: f.Status, Description: f.Description}
	if e.Description == "" {
		e.Description = http.StatusText(f.Status)
	}
	if f.RetryAfter > 0 {
		e.Parameters = map[string]int{"retry_after": f.RetryAfter}
	}
	writeJSON(w, f.Status, e)
}

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username,omitempty"`
}

type chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type message struct {
	MessageID       int             `json:"message_id"`
	MessageThreadID int             `json:"message_thread_id,omitempty"`
	From            user            `json:"from"`
	Chat            chat            `json:"chat"`
	Date            int64           `json:"date"`
	EditDate        int64           `json:"edit_date,omitempty"`
	Text            string          `json:"text,omitempty"`
	ReplyMarkup     json.RawMessage `json:"reply_markup,omitempty"`
}

func (s *Server) botUser() user {
	digits, _, _ := strings.Cut(s.opts.Token, ":")
	id, _ := strconv.ParseInt(digits, 10, 64)
	return user{ID: id, IsBot: true, FirstName: "Putokaz", Username: s.opts.BotUsername}
}

func chatOf(id int64) chat {
	if id < 0 {
		return chat{ID: id, Type: "supergroup"}
	}
	return chat{ID: id, Type: "private"}
}

func (s *Server) answer(ctx context.Context, c *Call) (int, any, *apiError) {
	now := time.Now().Unix()
	needChat := func() *apiError {
		if c.ChatID == 0 {
			return &apiError{ErrorCode: 400, Description: "Bad Request: chat not found"}
		}
		return nil
	}
	switch c.Method {
	case "getMe":
		return 200, s.botUser(), nil
	case "sendMessage":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		text := c.Str("text")
		if strings.TrimSpace(text) == "" {
			return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: message text is empty"}
		}
		s.mu.Lock()
		s.nextMsgID++
		id := s.nextMsgID
		s.mu.Unlock()
		c.MessageID = id
		m := message{MessageID: id, From: s.botUser(), Chat: chatOf(c.ChatID), Date: now, Text: text,
			MessageThreadID: int(c.Int("message_thread_id"))}
		if rm, ok := c.Params["reply_markup"]; ok && bytes.Contains(rm, []byte(`"inline_keyboard"`)) {
			m.ReplyMarkup = rm
		}
		return 200, m, nil
	case "editMessageText", "editMessageReplyMarkup":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		c.MessageID = int(c.Int("message_id"))
		m := message{MessageID: c.MessageID, From: s.botUser(), Chat: chatOf(c.ChatID), Date: now,
			EditDate: now, Text: c.Str("text"), ReplyMarkup: c.Params["reply_markup"]}
		return 200, m, nil
	case "copyMessage":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		s.mu.Lock()
		s.nextMsgID++
		c.MessageID = s.nextMsgID
		s.mu.Unlock()
		return 200, map[string]int{"message_id": c.MessageID}, nil
	case "createForumTopic":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		s.mu.Lock()
		s.nextThread++
		id := s.nextThread
		s.mu.Unlock()
		return 200, map[string]any{"message_thread_id": id, "name": c.Str("name"), "icon_color": 7322096}, nil
	case "deleteMessages":
		// Like Telegram: 1–100 IDs; IDs it cannot find are skipped.
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		if ids := c.Ints("message_ids"); len(ids) == 0 || len(ids) > 100 {
			return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: message_ids must contain 1-100 identifiers"}
		}
		return 200, true, nil
	case "deleteForumTopic":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		if c.Int("message_thread_id") == 0 {
			return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: message thread not found"}
		}
		return 200, true, nil
	case "setMessageReaction":
		// Like Telegram: a message to react to, and at most one reaction
		// (bots without Premium).
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		if c.Int("message_id") == 0 {
			return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: message to react not found"}
		}
		var rs []struct {
			Type  string `json:"type"`
			Emoji string `json:"emoji"`
		}
		if raw := c.Params["reaction"]; len(raw) > 0 { // none: remove the bot's reaction
			if err := json.Unmarshal(raw, &rs); err != nil {
				return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: can't parse reaction types"}
			}
			if len(rs) > 1 {
				return 400, nil, &apiError{ErrorCode: 400, Description: "Bad Request: REACTIONS_TOO_MANY"}
			}
		}
		c.MessageID = int(c.Int("message_id"))
		return 200, true, nil
	case "answerCallbackQuery", "setMyCommands", "deleteMyCommands", "closeForumTopic", "reopenForumTopic",
		"deleteMessage", "sendChatAction":
		return 200, true, nil
	case "setWebhook":
		s.mu.Lock()
		s.webhookURL = c.Str("url")
		s.mu.Unlock()
		return 200, true, nil
	case "deleteWebhook":
		s.mu.Lock()
		s.webhookURL = ""
		if c.Str("drop_pending_updates") == "true" {
			s.updates, s.updateIDs = nil, nil
		}
		s.mu.Unlock()
		return 200, true, nil
	case "getWebhookInfo":
		s.mu.Lock()
		defer s.mu.Unlock()
		return 200, map[string]any{"url": s.webhookURL, "has_custom_certificate": false, "pending_update_count": len(s.updates)}, nil
	case "getUpdates":
		return s.getUpdates(ctx, c)
	case "getChatMember":
		if e := needChat(); e != nil {
			return 400, nil, e
		}
		user := c.Int("user_id")
		s.mu.Lock()
		status, ok := s.memberStatus[[2]int64{c.ChatID, user}]
		s.mu.Unlock()
		if !ok {
			status = "member"
		}
		return 200, map[string]any{"status": status, "user": map[string]any{"id": user, "is_bot": false, "first_name": "Staff"}}, nil
	}
	return 404, nil, &apiError{ErrorCode: 404, Description: "Not Found: method not found"}
}

func (s *Server) getUpdates(ctx context.Context, c *Call) (int, any, *apiError) {
	s.mu.Lock()
	if s.webhookURL != "" {
		s.mu.Unlock()
		return 409, nil, &apiError{ErrorCode: 409,
			Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	s.mu.Unlock()
	offset := c.Int("offset")
	limit := int(c.Int("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	wait := time.Duration(c.Int("timeout")) * time.Second
	wait = min(wait, maxLongPoll)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if offset > 0 {
			// An offset confirms every update below it: they are gone.
			if offset > s.confirmed {
				s.confirmed = offset
			}
			i, _ := slices.BinarySearch(s.updateIDs, offset)
			s.updateIDs = s.updateIDs[i:]
			s.updates = s.updates[i:]
		}
		n := min(limit, len(s.updates))
		out := slices.Clone(s.updates[:n])
		ch := s.changed
		s.mu.Unlock()
		if n > 0 || wait == 0 {
			return 200, out, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return 200, []json.RawMessage{}, nil
		case <-ctx.Done():
			return 200, []json.RawMessage{}, nil
		case <-s.closed:
			return 200, []json.RawMessage{}, nil
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeParams fills c.Params (and c.ChatID, c.Files) from the query string and
// a JSON, multipart or urlencoded body.
func decodeParams(r *http.Request, c *Call) error {
	c.Params = map[string]json.RawMessage{}
	for k, v := range r.URL.Query() {
		c.Params[k] = formValue(v[len(v)-1])
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return fmt.Errorf("decode JSON body: %w", err)
			}
			for k, v := range m {
				c.Params[k] = v
			}
		}
	case "multipart/form-data":
		if params["boundary"] == "" {
			return errors.New("multipart without boundary")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		if len(body) == 0 {
			// go-telegram/bot sends an empty multipart body for methods
			// without parameters (getMe); the real API accepts it.
			break
		}
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(32 << 20)
		if err != nil {
			return fmt.Errorf("parse multipart: %w", err)
		}
		defer func() { _ = form.RemoveAll() }()
		for k, v := range form.Value {
			c.Params[k] = formValue(v[len(v)-1])
		}
		for k, fs := range form.File {
			if c.Files == nil {
				c.Files = map[string]string{}
			}
			c.Files[k] = fs[0].Filename
		}
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("parse form: %w", err)
		}
		for k, v := range vals {
			c.Params[k] = formValue(v[len(v)-1])
		}
	case "":
		// No body (GET, or POST without parameters).
	default:
		return fmt.Errorf("unsupported content type %q", ct)
	}
	if raw, ok := c.Params["chat_id"]; ok {
		c.ChatID, _ = strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	}
	return nil
}

// formValue turns a form field into JSON: nested objects and arrays arrive as
// JSON text, numbers and booleans as their literal; anything else is a string.
func formValue(v string) json.RawMessage {
	t := strings.TrimSpace(v)
	if t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	if t == "true" || t == "false" {
		return json.RawMessage(t)
	}
	if t != "" && t == v && (t[0] == '-' || t[0] >= '0' && t[0] <= '9') && json.Valid([]byte(t)) {
		return json.RawMessage(t) // a number
	}
	b, _ := json.Marshal(v)
	return b
}
