// Package playground is the local web transport: a page that looks like a
// Telegram chat on a phone, where editors, translators and anyone curious
// talk to the bot as a migrant would, without a Telegram token. It uses the
// same conversation core as Telegram and the terminal chat, and shows the
// result of the last content reload, the flows with the person's current
// step, and a staff pane where an editor plays staff: referral and handoff
// case cards as a Telegram staff group shows them, with Claim, reply, note
// and Close.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary: no
// build step, nothing loaded from the network, so it works offline.
//
// # JSON API
//
// POST /api/input — one input of one person. Request body (at most 64 KB,
// Content-Type: application/json; unknown fields are rejected):
//
//	{
//	  "user": "web:1f3a9c0d",   // ^web:[0-9a-f]{8,32}$, one per browser tab
//	  "kind": "text",           // text | button | command | location | media
//	  "text": "povratak",       // text: what was typed; command: "/help" or "help"
//	                            //   (an argument may follow: "/start voluntary_return")
//	  "data": "3:1",            // button: the button's data ("L:fa" picks a language);
//	                            //   media: its kind (sticker, photo, voice, ...; default sticker)
//	  "lat": 44.8125,           // location: latitude and longitude in degrees
//	  "lon": 20.4612
//	}
//
// Response 200:
//
//	{
//	  "messages": [{
//	    "text": "<b>Going home</b>\n...",  // Telegram's HTML subset: render, never innerHTML
//	    "lang": "en", "rtl": false,
//	    "buttons": [{"label": "Who can apply?", "data": "3:0"}, {"label": "Map", "url": "https://..."}],
//	    "requestLocation": false, "locationLabel": ""
//	  }],
//	  "at": "voluntary_return/intro",      // where the person now stands ("" if nowhere)
//	  "content": { ...as GET /api/status... },
//	  "clear": true                        // only after a quick exit (/exit): clear the chat first
//	}
//
// Errors are JSON {"error": "sentence"}: 400 for a malformed request (bad
// JSON, unknown kind, bad user ID, missing text or data, coordinates out of
// range), 413 for a body over 64 KB, 415 without the JSON content type,
// 405 for another method, 501 when the content needs a referral or a staff
// handoff and the playground runs without referrals (Options.Referrals),
// 500 when the conversation failed (details in the server log).
//
// GET /api/status — the content in use and the last reload:
//
//	{"version": "1a2b3c4d5e6f", "ok": true, "problems": ["flows/x.yaml:3:5: warning: ..."],
//	 "reload": true, "source": "./", "trigger": "file", "at": "2026-11-26T10:00:00Z"}
//
// ok is false when the last edit was rejected; version is then still the
// content in use (the last good one) and problems lists the errors first.
//
// GET /api/content?lang=en — what the side panels show: languages
// ({tag, name, rtl}), flows ({name, title, emergency, steps: [{name, kind}]})
// and whether diagrams are available (graph).
//
// GET /api/graph?flow=shelter&lang=en — one flow as Mermaid text (putokaz
// graph) and each step's node ID: {flow, mermaid, nodes: {"shelter/where":
// "shelter__where"}}; 404 for an unknown flow or without diagrams.
//
// GET /api/staff — the cases as staff see them, newest first ({"enabled":
// false, "cases": []} without referrals): {"enabled": true, "cases":
// [{code, kind: referral|handoff, service, serviceName, lang, langName,
// status: received|claimed|closed|withdrawn, created, consentAt, consentVersion, answers: [{name, value}], claimedAt,
// closedAt, topic, topicClosed, messages: [{kind, text, html, media, at}]}]}.
// Message kinds: card (as posted), relay (what the person sent; media set
// for a photo, voice, ...), alert (the person typed an emergency word),
// notice (the bot: the person left, withdrew, ...), reply (staff to the
// person), note (internal, never sent), claim and close (staff actions).
// text is Telegram HTML when html is set, else plain text as staff typed it.
//
// POST /api/staff — one staff action, {"code": "PK-7F3Q", "action":
// "claim"|"reply"|"note"|"close", "text": "..."} (text for reply and note,
// at most 4096 characters; same body rules as /api/input). 200
// {"outcome": "done"}; 409 {"outcome": "already_claimed"|"not_open"|
// "withdrawn", "error": ...}; 404 for an unknown case or without
// referrals; 400, 413, 415 as above.
//
// GET /api/inbox?user=web:... — what reached the person from staff since
// the last call (replies; "a staff member is with you"; "the chat ended ·
// was this helpful?"), as messages like /api/input's, and where the person
// now stands: {"messages": [...], "at": "main/menu"}. The page polls it
// every 2 s; each message is given once.
package playground

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/lease"
	"putokaz/internal/reload"
)

// MaxBody is the largest request body accepted: far more than any typed
// message (Telegram stops at 4096 characters), small enough that nobody can
// make the server buffer much.
const MaxBody = 64 << 10

// userRe is the playground's user ID: the page draws 16 random hex digits.
// The prefix keeps playground people apart from Telegram's ("tg:...") when
// both share one Redis.
var userRe = regexp.MustCompile(`^web:[0-9a-f]{8,32}$`)

// mediaKinds are what a person can send on Telegram besides text.
var mediaKinds = map[string]bool{"photo": true, "sticker": true, "voice": true, "document": true,
	"video": true, "audio": true, "animation": true, "video_note": true}

//go:embed static
var static embed.FS

// Conversation is what the playground needs from the conversation core.
type Conversation interface {
	Handle(ctx context.Context, user string, in engine.Input) ([]engine.Message, error)
}

// Grapher draws flows as Mermaid text (internal/graph). The page shows the
// text of the person's current flow, with the current step's node marked;
// no Mermaid script is loaded, so it stays offline.
type Grapher interface {
	// Mermaid draws one flow with labels in lang.
	Mermaid(c *content.Content, flow, lang string) (string, error)
	// NodeID is the diagram's node ID of a step ("" if there is none).
	NodeID(c *content.Content, r content.Ref) string
}

// Reloads reports the last content reload (reload.Reloader).
type Reloads interface {
	Last() reload.Result
}

// Options configure the playground.
type Options struct {
	// Conversation handles inputs (required).
	Conversation Conversation
	// Content is the content in use (required); it may change on reload.
	Content conversation.ContentSource
	// Sessions, if set, tells where each person stands (for "at").
	Sessions *Sessions
	// Reloads, if set, is the hot reloader; nil means the content cannot
	// change (built into the binary).
	Reloads Reloads
	// Source names where the content comes from ("embedded" or a folder),
	// for the page.
	Source string
	// Graph, if set, draws a flow as a Mermaid diagram for the page.
	Graph Grapher
	// Log receives errors; it never gets message text or user IDs.
	Log *slog.Logger
	// Referrals, if set, handles referrals and handoffs: the staff pane
	// (GET/POST /api/staff) and what staff send people (GET /api/inbox).
	// Without it a referral step answers 501.
	Referrals *Referrals
	// Locks, if set, serialises each person's inputs with the staff events
	// the referral outbox shows them (the same locks as
	// referral.Options.Lock): without it a "staff closed your chat" and a
	// message the person sends at the same moment could overwrite each
	// other's session.
	Locks *lease.Local
	// QuickExits, if set, is the conversation's effect handler (or wraps
	// it): it tells which input asked for a quick exit, so that the
	// response says to clear the chat ("clear": true).
	QuickExits *QuickExits
}

// QuickExits is the effect handler of the playground's conversation, in
// front of the real one: it notes who asked for a quick exit
// (engine.EffectQuickExit), which Telegram answers by deleting the chat's
// messages from the phone, and passes every effect on.
type QuickExits struct {
	next  conversation.EffectHandler
	mu    sync.Mutex
	users map[string]bool
}

// NewQuickExits passes effects on to next (nil: none needs a handler).
func NewQuickExits(next conversation.EffectHandler) *QuickExits {
	return &QuickExits{next: next, users: map[string]bool{}}
}

// Apply notes a quick exit and passes the effect on.
func (q *QuickExits) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	if fx.Kind == engine.EffectQuickExit {
		q.mu.Lock()
		q.users[user] = true
		q.mu.Unlock()
	}
	if q.next == nil {
		return nil
	}
	return q.next.Apply(ctx, user, lang, fx)
}

// Take reports whether the person asked for a quick exit since the last
// call, and forgets it. A nil QuickExits knows of none.
func (q *QuickExits) Take(user string) bool {
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	was := q.users[user]
	delete(q.users, user)
	return was
}

// Server serves the page and its API.
type Server struct {
	opt   Options
	mux   *http.ServeMux
	staff staffLog
	// started stands for the time the content was loaded when there is no
	// reloader to tell.
	started time.Time
}

// New returns the playground's HTTP handler.
func New(opt Options) (*Server, error) {
	if opt.Conversation == nil || opt.Content == nil || opt.Content.Content() == nil {
		return nil, errors.New("playground: Conversation and Content are required")
	}
	if opt.Referrals != nil && (opt.Referrals.Service == nil || opt.Referrals.Staff == nil) {
		return nil, errors.New("playground: Referrals needs both Service and Staff")
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Source == "" {
		opt.Source = "embedded"
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), started: time.Now()}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("playground: static files: %w", err)
	}
	fileServer := http.FileServerFS(files)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", fileServer))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// ServeFileFS would redirect "/index.html" to "/": serve the bytes.
		data, err := fs.ReadFile(files, "index.html")
		if err != nil {
			http.Error(w, "page missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(data)
	})
	s.mux.HandleFunc("/api/input", s.input)
	s.mux.HandleFunc("/api/status", s.status)
	s.mux.HandleFunc("/api/content", s.content)
	s.mux.HandleFunc("/api/graph", s.graph)
	s.mux.HandleFunc("/api/staff", s.staffAPI)
	s.mux.HandleFunc("/api/inbox", s.inbox)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The page needs nothing from elsewhere; saying so makes an injected
	// script or image useless even if rendering ever let one through.
	// Styles may be inline only because Mermaid puts a <style> into the
	// diagrams it draws; scripts stay strictly our own files.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// A new binary must not run with the old page's script.
	h.Set("Cache-Control", "no-cache")
	s.mux.ServeHTTP(w, r)
}

// InputRequest is the body of POST /api/input (see the package comment).
type InputRequest struct {
	User string   `json:"user"`
	Kind string   `json:"kind"`
	Text string   `json:"text,omitempty"`
	Data string   `json:"data,omitempty"`
	Lat  *float64 `json:"lat,omitempty"`
	Lon  *float64 `json:"lon,omitempty"`
}

// Button is one button under a message; exactly one of Data and URL is set.
type Button struct {
	Label string `json:"label"`
	Data  string `json:"data,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Message is one message of the bot.
type Message struct {
	Text            string   `json:"text"`
	Lang            string   `json:"lang"`
	RTL             bool     `json:"rtl"`
	Buttons         []Button `json:"buttons"`
	RequestLocation bool     `json:"requestLocation"`
	LocationLabel   string   `json:"locationLabel,omitempty"`
}

// InputResponse is the answer to POST /api/input.
type InputResponse struct {
	Messages []Message `json:"messages"`
	At       string    `json:"at"`
	Content  Status    `json:"content"`
	// Clear is set after a quick exit (/exit): Telegram deletes the chat's
	// messages from the phone, so the page clears its chat before showing
	// Messages.
	Clear bool `json:"clear,omitempty"`
}

// Status is the content in use and the last reload (GET /api/status).
type Status struct {
	Version  string    `json:"version"`
	OK       bool      `json:"ok"`
	Problems []string  `json:"problems"`
	Reload   bool      `json:"reload"`
	Source   string    `json:"source"`
	Trigger  string    `json:"trigger"`
	At       time.Time `json:"at"`
}

type apiError struct {
	Error string `json:"error"`
}

func (s *Server) input(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	body, ok := readJSONBody(w, r)
	if !ok {
		return
	}
	req, in, msg := parseInput(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	start := time.Now()
	if s.opt.Locks != nil {
		unlock, err := s.opt.Locks.Lock(r.Context(), req.User)
		if err != nil {
			return // the page went away while a staff event was shown
		}
		defer unlock()
	}
	msgs, err := s.opt.Conversation.Handle(r.Context(), req.User, in)
	clear := s.opt.QuickExits.Take(req.User)
	if err != nil {
		if r.Context().Err() != nil {
			return // the page went away; nothing to answer
		}
		if errors.Is(err, conversation.ErrNoHandler) {
			// Only the effect's kind goes to the log, never the input.
			s.opt.Log.Warn("playground input needs an effect handler", "kind", req.Kind, "err", err)
			writeError(w, http.StatusNotImplemented,
				"this step needs referrals or a staff handoff, which the playground does not handle yet; nothing was sent")
			return
		}
		s.opt.Log.Error("playground input failed", "kind", req.Kind, "err", err)
		writeError(w, http.StatusInternalServerError, "the conversation failed; the server log says why")
		return
	}
	c := s.opt.Content.Content()
	out := InputResponse{Messages: make([]Message, 0, len(msgs)), Content: s.currentStatus(), Clear: clear}
	for _, m := range msgs {
		out.Messages = append(out.Messages, toMessage(c, m))
	}
	if s.opt.Sessions != nil {
		out.At = s.opt.Sessions.At(req.User)
	}
	s.opt.Log.Debug("playground input", "kind", req.Kind, "messages", len(msgs), "took", time.Since(start))
	writeJSON(w, http.StatusOK, out)
}

// parseInput validates a request body and turns it into an engine input.
// The returned sentence, if any, says what is wrong.
func parseInput(body []byte) (InputRequest, engine.Input, string) {
	var req InputRequest
	if msg := decodeStrict(body, &req, "input"); msg != "" {
		return req, engine.Input{}, msg
	}
	if !userRe.MatchString(req.User) {
		return req, engine.Input{}, `"user" must look like "web:" followed by 8 to 32 lower-case hex digits`
	}
	switch req.Kind {
	case "text":
		if strings.TrimSpace(req.Text) == "" {
			return req, engine.Input{}, `a text input needs a non-empty "text"`
		}
		return req, engine.Input{Kind: engine.InText, Text: req.Text}, ""
	case "button":
		if req.Data == "" {
			return req, engine.Input{}, `a button input needs the button's "data"`
		}
		return req, engine.Input{Kind: engine.InButton, Data: req.Data}, ""
	case "command":
		name, arg, ok := parseCommand(req.Text)
		if !ok {
			return req, engine.Input{}, `a command input needs "text" like "/help" or "/start flow"`
		}
		return req, engine.Input{Kind: engine.InCommand, Command: name, Arg: arg}, ""
	case "location":
		if req.Lat == nil || req.Lon == nil {
			return req, engine.Input{}, `a location input needs "lat" and "lon"`
		}
		lat, lon := *req.Lat, *req.Lon
		if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return req, engine.Input{}, `"lat" must be within -90..90 and "lon" within -180..180`
		}
		return req, engine.Input{Kind: engine.InLocation, Lat: lat, Lon: lon}, ""
	case "media":
		media := req.Data
		if media == "" {
			media = "sticker"
		}
		if !mediaKinds[media] {
			return req, engine.Input{}, `"data" of a media input names its kind: photo, sticker, voice, document, video, audio, animation or video_note`
		}
		return req, engine.Input{Kind: engine.InMedia, Media: media}, ""
	case "":
		return req, engine.Input{}, `"kind" is missing: text, button, command, location or media`
	default:
		return req, engine.Input{}, fmt.Sprintf(`unknown "kind" %q: text, button, command, location or media`, req.Kind)
	}
}

// decodeStrict decodes one JSON value without unknown fields into v; the
// returned sentence, if any, says what is wrong (what names the request).
func decodeStrict(body []byte, v any, what string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return "the body is not a valid " + what + ": " + jsonProblem(err)
	}
	if dec.More() {
		return "the body holds more than one JSON value"
	}
	return ""
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

// parseCommand reads "/name arg" (the slash optional) as Telegram's clients
// send it: the name lower-cased and without "@BotName".
func parseCommand(s string) (name, arg string, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "/")
	name, arg, _ = strings.Cut(s, " ")
	name, _, _ = strings.Cut(name, "@")
	name = strings.ToLower(name)
	if name == "" || len(name) > 64 {
		return "", "", false
	}
	return name, strings.TrimSpace(arg), true
}

func toMessage(c *content.Content, m engine.Message) Message {
	out := Message{Text: m.Text, Lang: m.Lang, Buttons: make([]Button, 0, len(m.Buttons)),
		RequestLocation: m.RequestLocation, LocationLabel: m.LocationLabel}
	if l, ok := c.Language(m.Lang); ok {
		out.RTL = l.RTL
	}
	for _, b := range m.Buttons {
		out.Buttons = append(out.Buttons, Button{Label: b.Label, Data: b.Data, URL: b.URL})
	}
	return out
}

func (s *Server) currentStatus() Status {
	c := s.opt.Content.Content()
	st := Status{Version: c.Version, OK: true, Problems: []string{}, Source: s.opt.Source,
		Trigger: reload.TriggerStart, At: s.started.UTC()}
	if s.opt.Reloads != nil {
		last := s.opt.Reloads.Last()
		st.Reload = true
		st.OK, st.Trigger, st.At = last.OK, last.Trigger, last.At.UTC()
		if last.Problems != nil {
			st.Problems = last.Problems
		}
	}
	return st
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	writeJSON(w, http.StatusOK, s.currentStatus())
}

// ContentView is what the side panels show (GET /api/content).
type ContentView struct {
	Version   string         `json:"version"`
	Languages []LanguageView `json:"languages"`
	Flows     []FlowView     `json:"flows"`
	// Graph says whether GET /api/graph can draw the flows.
	Graph bool `json:"graph"`
}

// LanguageView is one language of the language switch.
type LanguageView struct {
	Tag  string `json:"tag"`
	Name string `json:"name"`
	RTL  bool   `json:"rtl"`
}

// FlowView is one flow of the flows panel.
type FlowView struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	Emergency bool   `json:"emergency,omitempty"`
	// Languages lists the languages a flow for some languages serves.
	Languages []string   `json:"languages,omitempty"`
	Steps     []StepView `json:"steps"`
}

// StepView is one step of a flow, in file order.
type StepView struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func (s *Server) content(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	c := s.opt.Content.Content()
	lang := r.URL.Query().Get("lang")
	if _, ok := c.Language(lang); !ok {
		lang = content.DefaultLanguage
	}
	v := ContentView{Version: c.Version, Languages: []LanguageView{}, Flows: []FlowView{}}
	for _, l := range c.Languages {
		v.Languages = append(v.Languages, LanguageView{Tag: l.Tag, Name: l.Name, RTL: l.RTL})
	}
	// The menu first, then the flows in name order: the order editors find
	// them in flows/.
	names := append([]string{content.HomeFlow}, c.FlowOrder...)
	seen := map[string]bool{}
	for _, name := range names {
		f := c.Flows[name]
		if f == nil || seen[name] {
			continue
		}
		seen[name] = true
		title, ok := c.Texts.Plain(lang, f.Title)
		if !ok {
			// A flow for other languages has no title in this one.
			title, ok = c.Texts.Plain(content.DefaultLanguage, f.Title)
		}
		if !ok {
			title = name
		}
		fv := FlowView{Name: name, Title: title, Emergency: f.Emergency, Languages: f.Languages, Steps: []StepView{}}
		for _, sn := range f.Order {
			fv.Steps = append(fv.Steps, StepView{Name: sn, Kind: string(f.Steps[sn].Kind)})
		}
		v.Flows = append(v.Flows, fv)
	}
	v.Graph = s.opt.Graph != nil
	writeJSON(w, http.StatusOK, v)
}

// GraphView is one flow as a Mermaid diagram (GET /api/graph).
type GraphView struct {
	Flow    string `json:"flow"`
	Mermaid string `json:"mermaid"`
	// Nodes maps each step of the flow ("flow/step") to its node ID, so the
	// page can mark the current one without parsing Mermaid.
	Nodes map[string]string `json:"nodes"`
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	if s.opt.Graph == nil {
		writeError(w, http.StatusNotFound, "flow diagrams are not available in this build")
		return
	}
	c := s.opt.Content.Content()
	q := r.URL.Query()
	flow := q.Get("flow")
	if flow == "" {
		flow = content.HomeFlow
	}
	f := c.Flows[flow]
	if f == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("there is no flow %q", flow))
		return
	}
	lang := q.Get("lang")
	if _, ok := c.Language(lang); !ok {
		lang = content.DefaultLanguage
	}
	text, err := s.opt.Graph.Mermaid(c, flow, lang)
	if err != nil {
		s.opt.Log.Error("playground graph failed", "flow", flow, "err", err)
		writeError(w, http.StatusInternalServerError, "the diagram could not be drawn; the server log says why")
		return
	}
	v := GraphView{Flow: flow, Mermaid: text, Nodes: map[string]string{}}
	for _, sn := range f.Order {
		ref := content.Ref{Flow: flow, Step: sn}
		if id := s.opt.Graph.NodeID(c, ref); id != "" {
			v.Nodes[ref.String()] = id
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	// The page renders text itself; "<" stays readable in the API.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}
