package playground

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"putokaz/internal/content"
	"putokaz/referral"
)

// StaffID is the staff member the playground acts as (it appears in case
// histories as "staff:playground").
const StaffID = "playground"

// maxCases bounds how many cases GET /api/staff returns (the newest).
const maxCases = 50

// maxStaffText is Telegram's limit for one message.
const maxStaffText = 4096

// codeRe is a case code: PK- and letters and digits without 0/O, 1/I.
var codeRe = regexp.MustCompile(`^PK-[2-9A-HJ-NP-Z]{4,8}$`)

// Referrals is the referral side of the playground: the service that
// stores cases and carries out staff actions, and the in-memory staff that
// shows them (referral.MemoryStaff bound to the service).
type Referrals struct {
	Service *referral.Desk
	Staff   *referral.MemoryStaff
}

// staffEntry is something staff did in the pane: what Telegram would show
// in the case's topic as staff's own messages (replies, /note) and actions.
type staffEntry struct {
	after int // the topic's last message ID when it happened
	at    time.Time
	kind  string // reply, note, claim, close
	text  string
}

// staffLog remembers staff's entries per case and when each topic message
// was first seen (Memory keeps no times). Both are bounded.
type staffLog struct {
	mu      sync.Mutex
	entries map[string][]staffEntry
	seen    map[int]time.Time
}

const (
	maxLoggedCases   = 1000
	maxEntriesByCase = 500
	maxSeen          = 50000
)

func (l *staffLog) add(code string, e staffEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string][]staffEntry{}
	}
	if _, ok := l.entries[code]; !ok && len(l.entries) >= maxLoggedCases {
		for k := range l.entries { // forget an arbitrary case
			delete(l.entries, k)
			break
		}
	}
	es := append(l.entries[code], e)
	if len(es) > maxEntriesByCase {
		es = es[len(es)-maxEntriesByCase:]
	}
	l.entries[code] = es
}

func (l *staffLog) of(code string) []staffEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries[code])
}

// stamp returns when message id was first seen.
func (l *staffLog) stamp(id int, now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil || len(l.seen) >= maxSeen {
		l.seen = map[int]time.Time{}
	}
	t, ok := l.seen[id]
	if !ok {
		t = now
		l.seen[id] = t
	}
	return t
}

// StaffView is GET /api/staff: the case cards, newest first.
type StaffView struct {
	// Enabled is false when the playground runs without referrals.
	Enabled bool       `json:"enabled"`
	Cases   []CaseView `json:"cases"`
}

// CaseView is one case as staff see it: the card's fields and its topic.
type CaseView struct {
	Code        string `json:"code"`
	Kind        string `json:"kind"` // referral or handoff
	Service     string `json:"service"`
	ServiceName string `json:"serviceName"`
	Lang        string `json:"lang"`
	LangName    string `json:"langName"`
	// Status: received, claimed, closed, withdrawn ("" once expired).
	Status         string       `json:"status"`
	Created        *time.Time   `json:"created,omitempty"`
	ConsentAt      *time.Time   `json:"consentAt,omitempty"`
	ConsentVersion string       `json:"consentVersion,omitempty"`
	Answers        []AnswerView `json:"answers"`
	ClaimedAt      *time.Time   `json:"claimedAt,omitempty"`
	ClosedAt       *time.Time   `json:"closedAt,omitempty"`
	// Topic is the forum topic's name; TopicClosed is set once it is closed.
	Topic       string `json:"topic"`
	TopicClosed bool   `json:"topicClosed"`
	// Messages are the topic's messages in order.
	Messages []StaffMessage `json:"messages"`
}

// AnswerView is one answer of the referral's questions, in question order.
type AnswerView struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StaffMessage is one message in a case's topic.
type StaffMessage struct {
	// Kind: card, relay (from the person), alert (emergency), notice (the
	// bot: the person left, withdrew, ...), reply (staff to the person),
	// note (internal, never sent), claim, close (staff actions).
	Kind string `json:"kind"`
	// Text is Telegram HTML when HTML is set (card, relay, alert, notice),
	// else plain text as staff typed it.
	Text string `json:"text"`
	HTML bool   `json:"html"`
	// Media is set for something the person sent that is not text (the
	// bot copies it to the topic on Telegram).
	Media bool      `json:"media,omitempty"`
	At    time.Time `json:"at"`
}

// StaffRequest is the body of POST /api/staff.
type StaffRequest struct {
	Code   string `json:"code"`
	Action string `json:"action"` // claim, reply, note, close
	Text   string `json:"text,omitempty"`
}

// StaffResult answers POST /api/staff.
type StaffResult struct {
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// InboxView is GET /api/inbox: what reached the person from staff.
type InboxView struct {
	Messages []Message `json:"messages"`
	At       string    `json:"at"`
}

func (s *Server) staffGet(w http.ResponseWriter, r *http.Request) {
	refs := s.opt.Referrals
	c := s.opt.Content.Content()
	now := time.Now()
	topics := refs.Staff.Topics()
	v := StaffView{Enabled: true, Cases: []CaseView{}}
	for i := len(topics) - 1; i >= 0 && len(v.Cases) < maxCases; i-- {
		t := topics[i]
		code := topicCode(t)
		if code == "" {
			continue
		}
		cs, err := refs.Service.Case(r.Context(), code)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			s.opt.Log.Error("playground staff: case", "err", err)
			writeError(w, http.StatusInternalServerError, "the cases could not be read; the server log says why")
			return
		}
		v.Cases = append(v.Cases, s.caseView(c, t, code, cs, now))
	}
	writeJSON(w, http.StatusOK, v)
}

// topicCode is the case a topic belongs to.
func topicCode(t referral.MemoryTopic) string {
	for _, m := range t.Messages {
		if m.Code != "" {
			return m.Code
		}
	}
	if code, _, _ := strings.Cut(t.Name, " "); codeRe.MatchString(code) {
		return code
	}
	return ""
}

func (s *Server) caseView(c *content.Content, t referral.MemoryTopic, code string, cs *referral.Case, now time.Time) CaseView {
	v := CaseView{Code: code, Topic: t.Name, TopicClosed: t.Closed, Answers: []AnswerView{}, Messages: []StaffMessage{}}
	if cs != nil {
		v.Kind, v.Service, v.Lang, v.Status = cs.Kind, cs.Service, cs.Lang, cs.Status
		v.Created, v.ConsentAt, v.ClaimedAt, v.ClosedAt = timePtr(cs.Created), timePtr(cs.ConsentAt), timePtr(cs.ClaimedAt), timePtr(cs.ClosedAt)
		v.ConsentVersion = cs.ConsentVersion
		v.ServiceName = cs.Service
		var order []string
		if svc := c.Directory.Services[cs.Service]; svc != nil {
			if name, ok := c.Texts.Plain(content.DefaultLanguage, svc.Name); ok {
				v.ServiceName = name
			}
			for _, q := range svc.Questions {
				order = append(order, q.Save)
			}
		}
		if l, ok := c.Language(cs.Lang); ok {
			v.LangName = l.Name
		}
		v.Answers = answers(cs.Answers, order)
	}
	entries := s.staff.of(code)
	next := 0
	flush := func(upTo int) {
		for next < len(entries) && entries[next].after <= upTo {
			e := entries[next]
			v.Messages = append(v.Messages, StaffMessage{Kind: e.kind, Text: e.text, At: e.at.UTC()})
			next++
		}
	}
	for _, m := range t.Messages {
		flush(m.ID - 1)
		if m.Code != "" && m.Code != code {
			continue // a shared topic: only this case's messages
		}
		v.Messages = append(v.Messages, StaffMessage{Kind: m.Kind, Text: m.Text, HTML: true, Media: m.Copied,
			At: s.staff.stamp(m.ID, now).UTC()})
	}
	flush(int(^uint(0) >> 1))
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// answers lists a case's answers in the order of the service's questions,
// then any others by name.
func answers(m map[string]string, order []string) []AnswerView {
	out := []AnswerView{}
	done := map[string]bool{}
	for _, name := range order {
		if val, ok := m[name]; ok && !done[name] {
			out = append(out, AnswerView{Name: name, Value: val})
			done[name] = true
		}
	}
	var rest []string
	for name := range m {
		if !done[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, AnswerView{Name: name, Value: m[name]})
	}
	return out
}

func (s *Server) staffAPI(w http.ResponseWriter, r *http.Request) {
	if s.opt.Referrals == nil {
		if r.Method == http.MethodGet {
			// Not an error: the page polls, and says referrals are off.
			writeJSON(w, http.StatusOK, StaffView{Cases: []CaseView{}})
			return
		}
		writeError(w, http.StatusNotFound, "referrals are not enabled in this playground")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.staffGet(w, r)
	case http.MethodPost:
		s.staffPost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "use GET or POST")
	}
}

// outcomes name referral.Outcome for the API, with the HTTP status and the
// sentence for staff.
var outcomes = map[referral.Outcome]struct {
	name, msg string
	code      int
}{
	referral.Done:           {"done", "", http.StatusOK},
	referral.AlreadyClaimed: {"already_claimed", "someone claimed this case before", http.StatusConflict},
	referral.NotOpen:        {"not_open", "this case is closed", http.StatusConflict},
	referral.Withdrawn:      {"withdrawn", "the person withdrew (/delete): nothing was done", http.StatusConflict},
	referral.Unknown:        {"unknown", "there is no such case (or it expired)", http.StatusNotFound},
	referral.Blocked:        {"blocked", "the reply did not reach the person", http.StatusConflict},
}

func (s *Server) staffPost(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSONBody(w, r)
	if !ok {
		return
	}
	var req StaffRequest
	if msg := decodeStrict(body, &req, "staff action"); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if !codeRe.MatchString(req.Code) {
		writeError(w, http.StatusBadRequest, `"code" must be a case code like "PK-7F3Q"`)
		return
	}
	switch req.Action {
	case "claim", "close":
	case "reply", "note":
		if strings.TrimSpace(req.Text) == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`a %s needs a non-empty "text"`, req.Action))
			return
		}
		if utf8.RuneCountInString(req.Text) > maxStaffText {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`"text" is longer than Telegram's %d characters`, maxStaffText))
			return
		}
	case "":
		writeError(w, http.StatusBadRequest, `"action" is missing: claim, reply, note or close`)
		return
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`unknown "action" %q: claim, reply, note or close`, req.Action))
		return
	}
	mem := s.opt.Referrals.Staff
	// Where the entry goes among the topic's messages.
	after := 0
	for _, t := range mem.Topics() {
		if topicCode(t) == req.Code && len(t.Messages) > 0 {
			after = t.Messages[len(t.Messages)-1].ID
		}
	}
	ctx := r.Context()
	var o referral.Outcome
	var err error
	switch req.Action {
	case "claim":
		o, err = mem.Claim(ctx, req.Code, StaffID)
	case "close":
		o, err = mem.Close(ctx, req.Code, StaffID)
	case "reply":
		o, err = mem.Reply(ctx, req.Code, StaffID, req.Text)
	case "note":
		o, err = mem.Note(ctx, req.Code, StaffID, req.Text)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.opt.Log.Error("playground staff action failed", "action", req.Action, "err", err)
		writeError(w, http.StatusInternalServerError, "the staff action failed; the server log says why")
		return
	}
	res, known := outcomes[o]
	if !known {
		res.name, res.msg, res.code = "unknown", "the action had an unknown outcome", http.StatusInternalServerError
	}
	if o == referral.Done {
		e := staffEntry{after: after, at: time.Now(), kind: req.Action}
		if req.Action == "reply" || req.Action == "note" {
			e.text = req.Text
		}
		s.staff.add(req.Code, e)
	}
	writeJSON(w, res.code, StaffResult{Outcome: res.name, Error: res.msg})
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	user := r.URL.Query().Get("user")
	if !userRe.MatchString(user) {
		writeError(w, http.StatusBadRequest, `"user" must look like "web:" followed by 8 to 32 lower-case hex digits`)
		return
	}
	v := InboxView{Messages: []Message{}}
	if s.opt.Referrals != nil {
		c := s.opt.Content.Content()
		for _, m := range s.opt.Referrals.Staff.TakePerson(user) {
			v.Messages = append(v.Messages, toMessage(c, m))
		}
	}
	if s.opt.Sessions != nil {
		v.At = s.opt.Sessions.At(user)
	}
	writeJSON(w, http.StatusOK, v)
}

// readJSONBody checks the content type and reads at most MaxBody bytes,
// answering the error itself when it returns false.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	// Requiring JSON also makes a cross-site form post impossible: a page
	// elsewhere cannot send this content type without a CORS preflight,
	// which this server never approves.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the body as application/json")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is larger than %d KB", MaxBody>>10))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read the request")
		return nil, false
	}
	return body, true
}
