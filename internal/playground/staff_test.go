package playground_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/lease"
	"putokaz/internal/playground"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/polltest"
	"putokaz/referral"
)

var caseCodeRe = regexp.MustCompile(`PK-[2-9A-HJ-NP-Z]{4}`)

// withReferrals builds the playground as internal/app wires it: a referral
// service with the in-memory staff, its outbox running until the test ends.
func withReferrals(t *testing.T, c *content.Content, g playground.Grapher) (*playground.Server, *referral.Desk) {
	t.Helper()
	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	tracked := playground.TrackSessions(mem)
	holder := content.NewHolder(c)
	locks := new(lease.Local)
	staff := referral.NewMemoryStaff()
	refs, err := referral.New(referral.Options{Store: referral.NewMemoryStore(), Staff: staff, Content: holder,
		Lock: locks.Lock, Config: referral.Config{Queues: map[string]referral.Queue{referral.AnyService: {Group: -1000}},
			Block: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	staff.Bind(refs)
	n := uint64(99)
	conv := conversation.New(tracked, engine.New(time.Now, func() uint64 { n += 31; return n }), holder, refs, nil)
	conv.Statuses = refs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = refs.Run(ctx, conv) }()
	t.Cleanup(func() { cancel(); <-done })
	srv, err := playground.New(playground.Options{Conversation: conv, Content: holder, Sessions: tracked, Graph: g,
		Referrals: &playground.Referrals{Service: refs, Staff: staff}, Locks: locks})
	if err != nil {
		t.Fatal(err)
	}
	return srv, refs
}

func staffCases(t *testing.T, h http.Handler) []playground.CaseView {
	t.Helper()
	rec := get(t, h, "/api/staff")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/staff: %d %s", rec.Code, rec.Body)
	}
	var v playground.StaffView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Cases
}

func findCase(t *testing.T, h http.Handler, code string) *playground.CaseView {
	t.Helper()
	for _, c := range staffCases(t, h) {
		if c.Code == code {
			return &c
		}
	}
	return nil
}

func staffDo(t *testing.T, h http.Handler, body string) (int, playground.StaffResult) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/staff", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res playground.StaffResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("POST /api/staff %s: not JSON (%d): %s", body, rec.Code, rec.Body)
	}
	return rec.Code, res
}

func inbox(t *testing.T, h http.Handler, user string) playground.InboxView {
	t.Helper()
	rec := get(t, h, "/api/inbox?user="+user)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/inbox: %d %s", rec.Code, rec.Body)
	}
	var v playground.InboxView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func inboxTexts(v playground.InboxView) string {
	var out []string
	for _, m := range v.Messages {
		out = append(out, m.Text)
	}
	return strings.Join(out, "\n")
}

type person struct {
	t    *testing.T
	f    *fixture
	last playground.InputResponse
}

func (p *person) send(in map[string]any) playground.InputResponse {
	p.t.Helper()
	p.last = p.f.send(p.t, in)
	return p.last
}

func (p *person) press(label string) playground.InputResponse {
	p.t.Helper()
	return p.send(map[string]any{"kind": "button", "data": button(p.t, p.last, label)})
}

// TestStaffReferral: a referral made on the person's side is a card in the
// staff pane with its answers; staff claim it (/status says so), reply
// (the person's inbox has it) and note (the inbox does not).
func TestStaffReferral(t *testing.T) {
	c := contenttest.Load(t)
	srv, _ := withReferrals(t, c, fakeGraph{})
	p := &person{t: t, f: &fixture{srv: srv}}
	p.send(map[string]any{"kind": "command", "text": "/start"})
	p.press("English")
	p.press("Refer me")
	p.press("EN " + content.TextReferralYes)
	p.send(map[string]any{"kind": "text", "text": "Zrenjanin"})
	out := p.press("EN " + content.TextReferralSkip)
	code := caseCodeRe.FindString(texts(out))
	if code == "" {
		t.Fatalf("no code in %s", texts(out))
	}

	var cv *playground.CaseView
	polltest.Until(t, 5*time.Second, "the case card", func() bool { cv = findCase(t, srv, code); return cv != nil })
	if cv.Kind != "referral" || cv.Service != "svc" || cv.ServiceName != "Test service" || cv.Lang != "en" ||
		cv.LangName != "English" || cv.Status != "received" || cv.Created == nil || cv.ConsentAt == nil ||
		cv.ConsentVersion == "" {
		t.Errorf("card: %+v", cv)
	}
	if len(cv.Answers) != 1 || cv.Answers[0] != (playground.AnswerView{Name: "town", Value: "Zrenjanin"}) {
		t.Errorf("answers: %+v", cv.Answers)
	}
	if len(cv.Messages) == 0 || cv.Messages[0].Kind != "card" || !cv.Messages[0].HTML || !strings.Contains(cv.Messages[0].Text, "Zrenjanin") {
		t.Errorf("messages: %+v", cv.Messages)
	}

	if st, res := staffDo(t, srv, `{"code":"`+code+`","action":"claim"}`); st != 200 || res.Outcome != "done" {
		t.Fatalf("claim: %d %+v", st, res)
	}
	if st, res := staffDo(t, srv, `{"code":"`+code+`","action":"claim"}`); st != http.StatusConflict || res.Outcome != "already_claimed" {
		t.Errorf("second claim: %d %+v", st, res)
	}
	out = p.send(map[string]any{"kind": "command", "text": "/status " + code})
	if !strings.Contains(texts(out), content.TextStatusClaimed) {
		t.Errorf("/status after the claim: %s", texts(out))
	}

	if st, res := staffDo(t, srv, `{"code":"`+code+`","action":"reply","text":"We call you <soon>"}`); st != 200 || res.Outcome != "done" {
		t.Fatalf("reply: %d %+v", st, res)
	}
	// Under a line naming the service and the case; then the person's
	// conversation says that what they write goes to the case.
	got := inboxTexts(inbox(t, srv, user))
	if !strings.HasPrefix(got, "EN common.case_talk.from Test service "+code+"\nWe call you &lt;soon&gt;") {
		t.Errorf("inbox after the reply: %q", got)
	}
	polltest.Until(t, 5*time.Second, "the case talk notice", func() bool {
		if !strings.Contains(got, content.TextCaseOpen) {
			got += inboxTexts(inbox(t, srv, user))
		}
		return strings.Contains(got, content.TextCaseOpen)
	})
	if got := inbox(t, srv, user); len(got.Messages) != 0 {
		t.Errorf("the inbox gave the reply twice: %+v", got)
	}
	if st, res := staffDo(t, srv, `{"code":"`+code+`","action":"note","text":"called, no answer"}`); st != 200 || res.Outcome != "done" {
		t.Fatalf("note: %d %+v", st, res)
	}
	time.Sleep(100 * time.Millisecond) // the outbox had time to deliver anything
	if got := inbox(t, srv, user); len(got.Messages) != 0 {
		t.Errorf("a note reached the person: %+v", got)
	}
	cv = findCase(t, srv, code)
	var kinds []string
	for _, m := range cv.Messages {
		kinds = append(kinds, m.Kind)
	}
	if strings.Join(kinds, " ") != "card claim reply note" || cv.Status != "claimed" || cv.ClaimedAt == nil {
		t.Errorf("after the actions: %s %+v", kinds, cv)
	}
	if m := cv.Messages[3]; m.HTML || m.Text != "called, no answer" {
		t.Errorf("note: %+v", m)
	}
}

// TestStaffHandoff: the person's messages reach the pane, staff replies
// reach the person, and closing tells the person with "was this helpful?".
func TestStaffHandoff(t *testing.T) {
	c := contenttest.Load(t)
	srv, _ := withReferrals(t, c, fakeGraph{})
	p := &person{t: t, f: &fixture{srv: srv}}
	p.send(map[string]any{"kind": "command", "text": "/start"})
	p.press("English")
	p.press("Talk")

	var code string
	polltest.Until(t, 5*time.Second, "the handoff card", func() bool {
		cs := staffCases(t, srv)
		if len(cs) == 1 && cs[0].Kind == "handoff" {
			code = cs[0].Code
		}
		return code != ""
	})
	if st, _ := staffDo(t, srv, `{"code":"`+code+`","action":"claim"}`); st != 200 {
		t.Fatalf("claim: %d", st)
	}
	var got []playground.Message
	polltest.Until(t, 5*time.Second, "the claimed notice", func() bool {
		got = append(got, inbox(t, srv, user).Messages...)
		return strings.Contains(inboxTexts(playground.InboxView{Messages: got}), content.TextHandoffClaimed)
	})

	p.send(map[string]any{"kind": "text", "text": "hello staff"})
	p.send(map[string]any{"kind": "media", "data": "photo"})
	polltest.Until(t, 5*time.Second, "the relays", func() bool {
		cv := findCase(t, srv, code)
		var relays []string
		for _, m := range cv.Messages {
			if m.Kind == "relay" {
				relays = append(relays, m.Text)
			}
		}
		return len(relays) == 2 && strings.Contains(relays[0], "hello staff") && strings.Contains(relays[1], "photo")
	})

	if st, _ := staffDo(t, srv, `{"code":"`+code+`","action":"reply","text":"سلام، چطور کمک کنم؟"}`); st != 200 {
		t.Fatalf("reply: %d", st)
	}
	if got := inboxTexts(inbox(t, srv, user)); got != "سلام، چطور کمک کنم؟" {
		t.Errorf("inbox: %q", got)
	}

	if st, _ := staffDo(t, srv, `{"code":"`+code+`","action":"close"}`); st != 200 {
		t.Fatalf("close: %d", st)
	}
	got = nil
	polltest.Until(t, 5*time.Second, "the closed notice", func() bool {
		got = append(got, inbox(t, srv, user).Messages...)
		return strings.Contains(inboxTexts(playground.InboxView{Messages: got}), content.TextHandoffClosed)
	})
	p.last = playground.InputResponse{Messages: got}
	if out := p.press("EN " + content.TextFeedbackYes); !strings.Contains(texts(out), content.TextFeedbackThanks) {
		t.Errorf("after the feedback: %s", texts(out))
	}
	cv := findCase(t, srv, code)
	if cv.Status != "closed" || !cv.TopicClosed || cv.ClosedAt == nil {
		t.Errorf("after close: %+v", cv)
	}
	if st, res := staffDo(t, srv, `{"code":"`+code+`","action":"reply","text":"late"}`); st != http.StatusConflict || res.Outcome != "not_open" {
		t.Errorf("reply to a closed case: %d %+v", st, res)
	}
}

func TestStaffBadRequests(t *testing.T) {
	c := contenttest.Load(t)
	srv, _ := withReferrals(t, c, fakeGraph{})
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{`, 400, "JSON"},
		{``, 400, "empty"},
		{`{"code":"PK-2345","action":"claim","who":"x"}`, 400, "unknown field"},
		{`{"code":"PK-2345","action":"claim"} {}`, 400, "more than one"},
		{`{"code":"pk-2345","action":"claim"}`, 400, `"code"`},
		{`{"code":"PK-0000","action":"claim"}`, 400, `"code"`},
		{`{"code":"PK-2345"}`, 400, `"action" is missing`},
		{`{"code":"PK-2345","action":"delete"}`, 400, `unknown "action"`},
		{`{"code":"PK-2345","action":"reply"}`, 400, `non-empty "text"`},
		{`{"code":"PK-2345","action":"note","text":"  "}`, 400, `non-empty "text"`},
		{`{"code":"PK-2345","action":"reply","text":"` + strings.Repeat("x", 4097) + `"}`, 400, "4096"},
		{`{"code":"PK-2345","action":"reply","text":"` + strings.Repeat("x", 70000) + `"}`, 413, "larger"},
		{`{"code":"PK-2345","action":"claim","text":1}`, 400, `"text"`},
		{`{"code":"PK-2345","action":"claim"}`, 404, "no such case"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/staff", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var res playground.StaffResult
		_ = json.Unmarshal(rec.Body.Bytes(), &res)
		if rec.Code != tc.code || !strings.Contains(res.Error, tc.want) {
			b := tc.body
			if len(b) > 80 {
				b = b[:80]
			}
			t.Errorf("%s: %d %s", b, rec.Code, rec.Body)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/staff", strings.NewReader(`{"code":"PK-2345","action":"claim"}`))
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", rec.Code)
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodPut, "/api/staff", 405},
		{http.MethodPost, "/api/inbox?user=" + user, 405},
		{http.MethodGet, "/api/inbox", 400},
		{http.MethodGet, "/api/inbox?user=tg:123", 400},
	} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
	}

	// Without referrals: no staff pane, an empty inbox.
	plain := newFixture(t).srv
	if rec := get(t, plain, "/api/staff"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"enabled":false`) {
		t.Errorf("GET /api/staff without referrals: %d %s", rec.Code, rec.Body)
	}
	if st, _ := staffDo(t, plain, `{"code":"PK-2345","action":"claim"}`); st != http.StatusNotFound {
		t.Errorf("POST /api/staff without referrals: %d", st)
	}
	if v := inbox(t, plain, user); len(v.Messages) != 0 {
		t.Errorf("inbox without referrals: %+v", v)
	}
}
