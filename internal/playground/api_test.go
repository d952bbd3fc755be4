package playground_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/playground"
	"putokaz/internal/reload"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
)

const user = "web:0123456789abcdef"

type fixture struct {
	srv     *playground.Server
	holder  *content.Holder
	reloads *fakeReloads
}

type fakeReloads struct{ last reload.Result }

func (f *fakeReloads) Last() reload.Result { return f.last }

type fakeGraph struct{}

func (fakeGraph) Mermaid(c *content.Content, flow, lang string) (string, error) {
	if flow == "sos" {
		return "", errors.New("drawing failed")
	}
	return "flowchart TD\n  " + flow + "__menu[\"" + lang + "\"] --> " + flow + "__ask", nil
}

func (fakeGraph) NodeID(c *content.Content, r content.Ref) string { return r.Flow + "__" + r.Step }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := contenttest.Load(t)
	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	tracked := playground.TrackSessions(mem)
	holder := content.NewHolder(c)
	f := &fixture{holder: holder, reloads: &fakeReloads{last: reload.Result{OK: true, Version: c.Version, Trigger: reload.TriggerStart}}}
	conv := conversation.New(tracked, engine.New(time.Now, func() uint64 { return 7 }), holder, nil, nil)
	f.srv, err = playground.New(playground.Options{Conversation: conv, Content: holder, Sessions: tracked,
		Reloads: f.reloads, Source: "/tmp/content",
		Graph: fakeGraph{}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// post sends a raw body and returns the status and the decoded answer.
func (f *fixture) post(t *testing.T, body string) (int, map[string]any, playground.InputResponse) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/input", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	data, _ := io.ReadAll(rec.Body)
	var raw map[string]any
	var res playground.InputResponse
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", rec.Code, data)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	_ = json.Unmarshal(data, &res)
	return rec.Code, raw, res
}

func (f *fixture) send(t *testing.T, in map[string]any) playground.InputResponse {
	t.Helper()
	if _, ok := in["user"]; !ok {
		in["user"] = user
	}
	body, _ := json.Marshal(in)
	code, raw, res := f.post(t, string(body))
	if code != http.StatusOK {
		t.Fatalf("%v: %d %v", in, code, raw)
	}
	return res
}

func button(t *testing.T, res playground.InputResponse, label string) string {
	t.Helper()
	for _, m := range res.Messages {
		for _, b := range m.Buttons {
			if b.Label == label {
				return b.Data
			}
		}
	}
	t.Fatalf("no button %q in %+v", label, res.Messages)
	return ""
}

func texts(res playground.InputResponse) string {
	var out []string
	for _, m := range res.Messages {
		out = append(out, m.Text)
	}
	return strings.Join(out, "\n")
}

func TestTextButtonAndAt(t *testing.T) {
	f := newFixture(t)
	res := f.send(t, map[string]any{"kind": "command", "text": "/start"})
	if len(res.Messages) != 1 || len(res.Messages[0].Buttons) != 2 || res.At != "" {
		t.Fatalf("picker: %+v", res)
	}
	res = f.send(t, map[string]any{"kind": "button", "data": button(t, res, "English")})
	if res.At != "main/menu" || !strings.Contains(texts(res), "Choose a topic.") {
		t.Fatalf("after English: at %q\n%s", res.At, texts(res))
	}
	if res.Content.Version != f.holder.Content().Version || !res.Content.OK || !res.Content.Reload {
		t.Errorf("content status: %+v", res.Content)
	}
	var site playground.Button
	for _, b := range res.Messages[len(res.Messages)-1].Buttons {
		if b.URL != "" {
			site = b
		}
	}
	if site.URL != "https://example.org" || site.Data != "" {
		t.Errorf("URL button: %+v", site)
	}
	res = f.send(t, map[string]any{"kind": "button", "data": button(t, res, "Ask me")})
	if res.At != "main/ask" {
		t.Fatalf("at %q", res.At)
	}
	// Typed text answers the question; what the person typed comes back
	// escaped inside the bot's HTML.
	res = f.send(t, map[string]any{"kind": "text", "text": "Ana <b>"})
	if !strings.Contains(texts(res), "Hello, Ana &lt;b&gt;.") || res.At != "main/echo" {
		t.Fatalf("answer: at %q\n%s", res.At, texts(res))
	}
	// A keyword, a command with @BotName, media, a location.
	if res = f.send(t, map[string]any{"kind": "text", "text": "police"}); res.At != "sos/numbers" {
		t.Errorf("keyword: at %q", res.At)
	}
	if res = f.send(t, map[string]any{"kind": "command", "text": "/MENU@PutokazBot"}); res.At != "main/menu" {
		t.Errorf("command: at %q", res.At)
	}
	if res = f.send(t, map[string]any{"kind": "media"}); !strings.Contains(texts(res), "EN "+content.TextMedia) {
		t.Errorf("sticker: %s", texts(res))
	}
	res = f.send(t, map[string]any{"kind": "button", "data": button(t, res, "Nearest")})
	if !res.Messages[len(res.Messages)-1].RequestLocation || res.Messages[len(res.Messages)-1].LocationLabel == "" {
		t.Fatalf("no location request: %+v", res.Messages)
	}
	res = f.send(t, map[string]any{"kind": "location", "lat": 44.8125, "lon": 20.4612})
	if !strings.Contains(texts(res), "Alpha") || res.At != "main/near" {
		t.Errorf("nearest: at %q\n%s", res.At, texts(res))
	}
}

func TestStaleButton(t *testing.T) {
	f := newFixture(t)
	res := f.send(t, map[string]any{"kind": "button", "data": "L:en"})
	old := button(t, res, "Ask me")
	f.send(t, map[string]any{"kind": "button", "data": old})
	// The menu's keyboard is stale now: the engine says so and shows the
	// current step again.
	res = f.send(t, map[string]any{"kind": "button", "data": old})
	if !strings.Contains(texts(res), "EN "+content.TextStale) || res.At != "main/ask" {
		t.Fatalf("stale press: at %q\n%s", res.At, texts(res))
	}
	// Forged data gets the same answer, not an error.
	res = f.send(t, map[string]any{"kind": "button", "data": "not-a-button"})
	if !strings.Contains(texts(res), "EN "+content.TextStale) {
		t.Fatalf("forged data: %s", texts(res))
	}
}

func TestRTLFlag(t *testing.T) {
	f := newFixture(t)
	res := f.send(t, map[string]any{"kind": "button", "data": "L:fa"})
	if len(res.Messages) == 0 {
		t.Fatal("no messages")
	}
	for _, m := range res.Messages {
		if m.Lang != "fa" || !m.RTL {
			t.Errorf("Farsi message %q: lang %q rtl %v", m.Text, m.Lang, m.RTL)
		}
	}
	res = f.send(t, map[string]any{"kind": "button", "data": "L:en"})
	for _, m := range res.Messages {
		if m.RTL {
			t.Errorf("English message marked rtl: %q", m.Text)
		}
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"bad JSON", `{"user": "web:0123456789abcdef", "kind": "text", "text": "hi"`, 400, "the JSON ends too early"},
		{"syntax", `{"user": oops}`, 400, "JSON syntax error"},
		{"empty", ``, 400, "the body is empty"},
		{"two values", `{"user":"web:0123456789abcdef","kind":"text","text":"a"} {}`, 400, "more than one JSON value"},
		{"unknown field", `{"user":"web:0123456789abcdef","kind":"text","text":"a","txt":"b"}`, 400, `unknown field "txt"`},
		{"wrong type", `{"user":"web:0123456789abcdef","kind":"location","lat":"north"}`, 400, `field "lat" must be a float64`},
		{"no user", `{"kind":"text","text":"hi"}`, 400, `"user" must look like`},
		{"bad user", `{"user":"tg:12345","kind":"text","text":"hi"}`, 400, `"user" must look like`},
		{"upper-case user", `{"user":"web:0123456789ABCDEF","kind":"text","text":"hi"}`, 400, `"user" must look like`},
		{"short user", `{"user":"web:0123","kind":"text","text":"hi"}`, 400, `"user" must look like`},
		{"no kind", `{"user":"web:0123456789abcdef"}`, 400, `"kind" is missing`},
		{"bad kind", `{"user":"web:0123456789abcdef","kind":"contact"}`, 400, `unknown "kind" "contact"`},
		{"empty text", `{"user":"web:0123456789abcdef","kind":"text","text":"  "}`, 400, `non-empty "text"`},
		{"no data", `{"user":"web:0123456789abcdef","kind":"button"}`, 400, `button's "data"`},
		{"empty command", `{"user":"web:0123456789abcdef","kind":"command","text":"/"}`, 400, `a command input needs`},
		{"no lat", `{"user":"web:0123456789abcdef","kind":"location","lon":20}`, 400, `needs "lat" and "lon"`},
		{"lat out of range", `{"user":"web:0123456789abcdef","kind":"location","lat":91,"lon":20}`, 400, `within -90..90`},
		{"bad media", `{"user":"web:0123456789abcdef","kind":"media","data":"hologram"}`, 400, `names its kind`},
		{"oversized", `{"user":"web:0123456789abcdef","kind":"text","text":"` + strings.Repeat("a", playground.MaxBody) + `"}`, 413, "larger than 64 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, raw, _ := f.post(t, tc.body)
			msg, _ := raw["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.want) {
				t.Fatalf("got %d %q, want %d with %q", code, msg, tc.code, tc.want)
			}
		})
	}
	// A long text that fits is a normal input.
	code, raw, _ := f.post(t, `{"user":"web:0123456789abcdef","kind":"text","text":"`+strings.Repeat("a", 60000)+`"}`)
	if code != 200 {
		t.Fatalf("60 KB text: %d %v", code, raw)
	}
}

func TestMethodAndContentType(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/input", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET /api/input: %d %q", rec.Code, rec.Header().Get("Allow"))
	}
	// A form post from another site cannot send JSON without a preflight.
	req := httptest.NewRequest(http.MethodPost, "/api/input", strings.NewReader(`{"user":"web:0123456789abcdef","kind":"text","text":"hi"}`))
	req.Header.Set("Content-Type", "text/plain")
	rec = httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", rec.Code)
	}
}

// errConv fails every input like a conversation whose content needs an
// effect handler the playground does not have.
type errConv struct{ err error }

func (e errConv) Handle(context.Context, string, engine.Input) ([]engine.Message, error) {
	return nil, e.err
}

func TestConversationErrors(t *testing.T) {
	holder := content.NewHolder(contenttest.Load(t))
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{errors.New("handle input: apply referral: " + conversation.ErrNoHandler.Error()), 500, "the server log says why"},
		{errors.Join(errors.New("apply referral"), conversation.ErrNoHandler), 501, "does not handle yet"},
	} {
		srv, err := playground.New(playground.Options{Conversation: errConv{tc.err}, Content: holder})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/api/input", strings.NewReader(`{"user":"web:0123456789abcdef","kind":"text","text":"hi"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%v: %d %s", tc.err, rec.Code, rec.Body)
		}
	}
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	var st playground.Status
	rec := get(t, f.srv, "/api/status")
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if !st.OK || st.Version != f.holder.Content().Version || !st.Reload || st.Source != "/tmp/content" || st.Problems == nil {
		t.Fatalf("status: %+v", st)
	}
	// A rejected edit: the version in use stays, the problems are listed.
	f.reloads.last = reload.Result{OK: false, Version: st.Version, Trigger: reload.TriggerFile, At: time.Now(),
		Problems: []string{"flows/sos.yaml:7:5: step \"numbers\" has no field \"sya\""}}
	rec = get(t, f.srv, "/api/status")
	st = playground.Status{}
	_ = json.Unmarshal(rec.Body.Bytes(), &st)
	if st.OK || st.Trigger != "file" || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "flows/sos.yaml:7:5") {
		t.Fatalf("status after a broken edit: %+v", st)
	}
	// The input answer carries the same status.
	if res := f.send(t, map[string]any{"kind": "button", "data": "L:en"}); res.Content.OK || len(res.Content.Problems) != 1 {
		t.Errorf("input's content status: %+v", res.Content)
	}
	// Without a reloader (embedded content): OK, no reload.
	srv, err := playground.New(playground.Options{Conversation: errConv{}, Content: f.holder})
	if err != nil {
		t.Fatal(err)
	}
	st = playground.Status{}
	_ = json.Unmarshal(get(t, srv, "/api/status").Body.Bytes(), &st)
	if !st.OK || st.Reload || st.Source != "embedded" || st.Trigger != "start" {
		t.Fatalf("embedded status: %+v", st)
	}
}

func TestContentView(t *testing.T) {
	f := newFixture(t)
	var v playground.ContentView
	rec := get(t, f.srv, "/api/content?lang=fa")
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Languages) != 2 || v.Languages[1].Tag != "fa" || !v.Languages[1].RTL {
		t.Errorf("languages: %+v", v.Languages)
	}
	if len(v.Flows) != 2 || v.Flows[0].Name != "main" || v.Flows[0].Title != "منو" || v.Flows[0].Steps[0].Name != "menu" {
		t.Errorf("flows: %+v", v.Flows)
	}
	if !v.Flows[1].Emergency || v.Flows[1].Steps[0].Kind != "message" {
		t.Errorf("sos flow: %+v", v.Flows[1])
	}
	if !v.Graph {
		t.Error("graph: diagrams are available")
	}
}

// A flow for some languages is listed for every language (editors see all
// flows), with its languages, and its title in English where it has none.
func TestContentViewFlowForSomeLanguages(t *testing.T) {
	f := newFixture(t)
	files := contenttest.Files()
	c, diags := content.Load(content.Dir(contenttest.Write(t, map[string]string{
		"flows/abroad.yaml":      "flow: abroad\ntitle: abroad.title\nlanguages: [en]\nsteps:\n  intro:\n    say: abroad.intro\n    buttons:\n      - { label: common.btn.menu, action: menu }\n",
		"locales/active.en.yaml": files["locales/active.en.yaml"] + "abroad:\n  title: Work abroad\n  intro: Check the agency.\n",
	})))
	if c == nil {
		t.Fatalf("content: %v", diags)
	}
	f.holder.Swap(c)
	var v playground.ContentView
	if err := json.Unmarshal(get(t, f.srv, "/api/content?lang=fa").Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	var got *playground.FlowView
	for i := range v.Flows {
		if v.Flows[i].Name == "abroad" {
			got = &v.Flows[i]
		}
	}
	if got == nil || got.Title != "Work abroad" || strings.Join(got.Languages, ",") != "en" {
		t.Fatalf("abroad: %+v", got)
	}
	if v.Flows[0].Languages != nil {
		t.Errorf("the menu serves every language: %+v", v.Flows[0].Languages)
	}
}

func TestGraph(t *testing.T) {
	f := newFixture(t)
	var g playground.GraphView
	rec := get(t, f.srv, "/api/graph?flow=main&lang=fa")
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if g.Flow != "main" || !strings.Contains(g.Mermaid, `main__menu["fa"] --> main__ask`) || g.Nodes["main/where"] != "main__where" || len(g.Nodes) != 7 {
		t.Errorf("graph: %+v", g)
	}
	if rec := get(t, f.srv, "/api/graph?flow=nope"); rec.Code != 404 || !strings.Contains(rec.Body.String(), `no flow \"nope\"`) {
		t.Errorf("unknown flow: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, f.srv, "/api/graph?flow=sos"); rec.Code != 500 {
		t.Errorf("failed drawing: %d %s", rec.Code, rec.Body)
	}
	// Without a grapher: no diagrams, said so.
	srv, err := playground.New(playground.Options{Conversation: errConv{}, Content: f.holder})
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, srv, "/api/graph?flow=main"); rec.Code != 404 {
		t.Errorf("no grapher: %d", rec.Code)
	}
}

func TestPageAndHeaders(t *testing.T) {
	f := newFixture(t)
	rec := get(t, f.srv, "/")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<aside id="staff"`) || !strings.Contains(body, `id="cases"`) {
		t.Fatalf("page: %d\n%s", rec.Code, body)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	// Nothing from the network: no http(s) URLs in the page, its script or
	// its style (the phone must work offline).
	for _, p := range []string{"/", "/static/app.js", "/static/style.css"} {
		rec := get(t, f.srv, p)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", p, rec.Code)
		}
		for _, bad := range []string{"src=\"http", "href=\"http", "@import", "url(http", "cdn"} {
			if strings.Contains(rec.Body.String(), bad) {
				t.Errorf("%s loads from the network: %q", p, bad)
			}
		}
	}
	if !strings.Contains(get(t, f.srv, "/static/app.js").Body.String(), "renderTelegramHTML") {
		t.Error("app.js is not served")
	}
	if get(t, f.srv, "/nope").Code != 404 || get(t, f.srv, "/static/nope.js").Code != 404 {
		t.Error("unknown paths must be 404")
	}
}

func TestSessionsTracker(t *testing.T) {
	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := playground.TrackSessions(mem)
	ctx := context.Background()
	blob, _ := engine.EncodeSession(&engine.Session{V: engine.SessionVersion, Flow: "shelter", Step: "where"})
	if err := s.Save(ctx, user, blob); err != nil {
		t.Fatal(err)
	}
	if got := s.At(user); got != "shelter/where" {
		t.Fatalf("at %q", got)
	}
	if got, _ := s.Load(ctx, user); string(got) != string(blob) {
		t.Fatalf("load: %s", got)
	}
	if err := s.Save(ctx, user, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if got := s.At(user); got != "" {
		t.Fatalf("undecodable blob: at %q", got)
	}
	_ = s.Save(ctx, user, blob)
	if err := s.Delete(ctx, user); err != nil {
		t.Fatal(err)
	}
	if got := s.At(user); got != "" {
		t.Fatalf("after delete: at %q", got)
	}
	if got, _ := s.Load(ctx, user); got != nil {
		t.Fatalf("after delete the store still has %s", got)
	}
}

// TestQuickExitClearsChat: /exit answers with "clear": true once, so that the
// page clears the phone's chat as Telegram would, then shows the neutral
// screen; the next input does not clear again.
func TestQuickExitClearsChat(t *testing.T) {
	c := contenttest.Load(t)
	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	holder := content.NewHolder(c)
	exits := playground.NewQuickExits(nil)
	conv := conversation.New(mem, engine.New(time.Now, func() uint64 { return 7 }), holder, exits, nil)
	srv, err := playground.New(playground.Options{Conversation: conv, Content: holder, QuickExits: exits})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, holder: holder}
	if res := f.send(t, map[string]any{"kind": "button", "data": "L:en"}); res.Clear {
		t.Fatal("choosing a language must not clear the chat")
	}
	res := f.send(t, map[string]any{"kind": "command", "text": "/exit"})
	if !res.Clear {
		t.Fatalf("/exit: clear = false: %+v", res)
	}
	if !strings.Contains(texts(res), "common.exit.done") || strings.Contains(texts(res), "Choose a topic") {
		t.Errorf("/exit must show only the neutral line, got %q", texts(res))
	}
	if res := f.send(t, map[string]any{"kind": "command", "text": "/menu"}); res.Clear {
		t.Error("clear must be given once")
	}
}
