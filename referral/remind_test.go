package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
)

// TestLiveChatHasCode: a live chat gets a reference code when it starts,
// shown to the person in their language; it is the case's code (topic,
// card), and /status answers for it, with or without the code.
func TestLiveChatHasCode(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 521
	e.start(ana)
	e.talk(ana)
	shown := e.waitText(ana, "EN "+content.TextHandoffCode).Str("text")
	code := codeRe.FindString(shown)
	live, _ := e.svc.store.live(t.Context(), "tg:521")
	if code == "" || live != code {
		t.Fatalf("shown %q, live chat %q", shown, live)
	}
	topic := e.waitCall("createForumTopic", func(c botapitest.Call) bool { return strings.Contains(c.Str("name"), code) })
	if topic.Str("name") != code+" · Test service" {
		t.Errorf("topic = %q", topic.Str("name"))
	}
	card, cardID := e.card(code)
	if !strings.Contains(card.Str("text"), defaultTexts[tCardHandoff]+" · "+code) {
		t.Errorf("card:\n%s", card.Str("text"))
	}
	e.command(ana, "/status "+code)
	e.waitText(ana, content.TextStatusReceived+" "+code)
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	e.waitText(ana, content.TextHandoffClaimed)
	e.command(ana, "/status") // the chat's code is the last one
	e.waitText(ana, content.TextStatusClaimed+" "+code)
	if st, _ := e.svc.ReferralStatus(t.Context(), "tg:522", code); st != "" {
		t.Errorf("someone else's status of a live chat = %q", st)
	}
}

// TestLiveChatCodeTaken: a handoff whose code is taken by another case is
// refused with conversation.ErrCodeTaken (the conversation handles the input
// again with a fresh code), never merged into the other case.
func TestLiveChatCodeTaken(t *testing.T) {
	svc, _ := memoryService(t)
	ctx := t.Context()
	if err := svc.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-2222"}); err != nil {
		t.Fatal(err)
	}
	// The same effect again (an input handled twice): the same case.
	if err := svc.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-2222"}); err != nil {
		t.Fatal(err)
	}
	err := svc.Apply(ctx, "tg:2", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-2222"})
	if err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("a taken code: %v", err)
	}
	if c, _ := svc.Case(ctx, "PK-2222"); c == nil || c.User != "tg:1" {
		t.Fatalf("case = %+v", c)
	}
	if live, _ := svc.store.live(ctx, "tg:2"); live != "" {
		t.Errorf("tg:2 has a live chat %s", live)
	}
	// Shown another code for the same service (a session lost): the old
	// chat is left (staff are told) and the new one opens under the code
	// the person saw.
	if err := svc.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-3333"}); err != nil {
		t.Fatal(err)
	}
	if live, _ := svc.store.live(ctx, "tg:1"); live != "PK-3333" {
		t.Errorf("live chat = %s", live)
	}
}

// memoryService is a referral service on the memory store and staff side.
func memoryService(t *testing.T) (*Desk, *MemoryStaff) {
	t.Helper()
	mem := NewMemoryStaff()
	svc, err := New(Options{Config: testConfig(), Store: NewMemoryStore(), Staff: mem, Content: content.NewHolder(testContent(t))})
	if err != nil {
		t.Fatal(err)
	}
	mem.Bind(svc)
	return svc, mem
}

// clock is a settable clock for the referral service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// monday9 is Monday 7 December 2026, 09:00 in Belgrade: svc (the fixture's
// hours: mon-fri 09:00-17:00 Europe/Belgrade; claim_within 4h, the
// default) just opened.
func monday9(t *testing.T) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Belgrade")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
}

// remindersIn are the reminders posted in a group's topic.
func (e *testEnv) remindersIn(group int64, thread int) []string {
	var out []string
	for _, c := range e.api.ByChat(group) {
		if c.Method == "sendMessage" && c.OK && int(c.Int("message_thread_id")) == thread &&
			strings.Contains(c.Str("text"), defaultTexts[tReminderTopic]) {
			out = append(out, c.Str("text"))
		}
	}
	return out
}

// escalationsIn are the reminders posted in a group's General topic.
func (e *testEnv) escalationsIn(group int64) []string {
	var out []string
	for _, c := range e.api.ByChat(group) {
		if c.Method == "sendMessage" && c.OK && c.Int("message_thread_id") == 0 &&
			strings.Contains(c.Str("text"), defaultTexts[tReminderGeneral]) {
			out = append(out, c.Str("text"))
		}
	}
	return out
}

// TestReminders: a case unclaimed past claim_within (working time) gets
// one reminder in its topic; after the same time again a second one, also
// in the General topic (with a link to the topic); never a third. A
// claimed case gets none. Counted and gauged per service.
func TestReminders(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	cfg := testConfig()
	e := newEnv(t, envOpts{now: clk.now, cfg: &cfg, manualRemind: true})
	ctx := t.Context()
	const ana, bo = 531, 532
	e.start(ana)
	code := e.refer(ana, "Sombor")
	e.start(bo)
	e.talk(bo)
	live := e.lastCode(bo)
	card, _ := e.card(code)
	thread := int(card.Int("message_thread_id"))
	lcard, lcardID := e.card(live)
	lthread := int(lcard.Int("message_thread_id"))

	// Staff claim the live chat: it gets no reminder.
	e.staffTap(groupA, lcardID, staffA, "c:"+live)
	e.waitText(bo, content.TextHandoffClaimed)

	pass := func(at time.Time) {
		t.Helper()
		clk.set(at)
		if err := e.svc.Remind(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pass(start.Add(3*time.Hour + 59*time.Minute))
	if got := promtest.Sum(e.svc.m.unclaimed.WithLabelValues("svc")); got != 1 {
		t.Errorf("unclaimed gauge = %v, want 1", got)
	}
	if got := promtest.Sum(e.svc.m.overdue.WithLabelValues("svc")); got != 0 {
		t.Errorf("overdue gauge = %v before the time", got)
	}
	pass(start.Add(4*time.Hour + time.Minute))
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return int(c.Int("message_thread_id")) == thread && strings.Contains(c.Str("text"), defaultTexts[tReminderTopic])
	})
	if got := promtest.Sum(e.svc.m.overdue.WithLabelValues("svc")); got != 1 {
		t.Errorf("overdue gauge = %v, want 1", got)
	}
	pass(start.Add(4*time.Hour + 30*time.Minute)) // not due again yet
	pass(start.Add(7 * time.Hour))
	time.Sleep(300 * time.Millisecond)
	rs := e.remindersIn(groupA, thread)
	if len(rs) != 1 || !strings.Contains(rs[0], code) || !strings.Contains(rs[0], "4 h 01 min") ||
		!strings.Contains(rs[0], defaultTexts[tReminderHow]) {
		t.Fatalf("reminders after the first time: %q", rs)
	}
	if n := len(e.escalationsIn(groupA)); n != 0 {
		t.Errorf("%d reminders in General after the first time", n)
	}
	if got := promtest.Sum(e.svc.m.reminders.WithLabelValues("svc")); got != 1 {
		t.Errorf("reminders counted = %v", got)
	}

	// The same time again, in working hours: 13:00 + 4h = 17:00 (closing).
	pass(start.Add(8*time.Hour + time.Minute))
	gen := e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == 0 && strings.Contains(c.Str("text"), defaultTexts[tReminderGeneral])
	}).Str("text")
	link := fmt.Sprintf(`<a href="https://t.me/c/1001/%d">%s</a>`, thread, code)
	if !strings.Contains(gen, link) || !strings.Contains(gen, "Test service") || !strings.Contains(gen, "8 h 01 min") {
		t.Errorf("General reminder:\n%s\nwant the link %s", gen, link)
	}
	for _, at := range []time.Duration{9 * time.Hour, 30 * time.Hour, 200 * time.Hour} {
		pass(start.Add(at))
	}
	time.Sleep(300 * time.Millisecond)
	if rs := e.remindersIn(groupA, thread); len(rs) != 2 {
		t.Errorf("%d reminders in the topic, want 2", len(rs))
	}
	if n := len(e.escalationsIn(groupA)); n != 1 {
		t.Errorf("%d reminders in General, want 1", n)
	}
	if rs := e.remindersIn(groupA, lthread); len(rs) != 0 {
		t.Errorf("the claimed chat got reminders: %q", rs)
	}
	if got := promtest.Sum(e.svc.m.reminders.WithLabelValues("svc")); got != 2 {
		t.Errorf("reminders counted = %v, want 2", got)
	}
	hist, _ := e.svc.History(ctx, code)
	n := 0
	for _, h := range hist {
		if h.What == actReminded && h.Who == whoBot {
			n++
		}
	}
	if n != 2 {
		t.Errorf("history records %d reminders: %+v", n, hist)
	}

	// Claimed at last: no longer waiting, gauges at 0.
	_, cardID := e.card(code)
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	pass(start.Add(300 * time.Hour))
	if got := promtest.Sum(e.svc.m.unclaimed.WithLabelValues("svc")); got != 0 {
		t.Errorf("unclaimed gauge = %v after the claim", got)
	}
	if ws, _ := e.svc.Waiting(ctx); len(ws) != 0 {
		t.Errorf("waiting after the claim: %+v", ws)
	}
}

// TestRemindersOutsideHours: claim_within counts working time: a case
// that arrives on Friday evening is due on Monday at 13:00, not at night.
func TestRemindersOutsideHours(t *testing.T) {
	start := monday9(t)
	h := content.Hours{Days: [7]bool{false, true, true, true, true, true, false}, From: 9 * 60, To: 17 * 60,
		Location: start.Location()}
	fri := start.AddDate(0, 0, 4).Add(10 * time.Hour) // Friday 19:00
	if got, want := addOpen(h, fri, 4*time.Hour), start.AddDate(0, 0, 7).Add(4*time.Hour); !got.Equal(want) {
		t.Errorf("Friday 19:00 + 4h = %v, want %v", got, want)
	}
	fri16 := start.AddDate(0, 0, 4).Add(7 * time.Hour) // Friday 16:00: 1h on Friday, 3h on Monday
	if got, want := addOpen(h, fri16, 4*time.Hour), start.AddDate(0, 0, 7).Add(3*time.Hour); !got.Equal(want) {
		t.Errorf("Friday 16:00 + 4h = %v, want %v", got, want)
	}
	if got, want := addOpen(content.Hours{}, fri, 4*time.Hour), fri.Add(4*time.Hour); !got.Equal(want) {
		t.Errorf("always open: %v, want %v", got, want)
	}
}

// TestRemindersOnceAcrossRestarts: a reminder queued by one replica that
// stopped before delivering it is delivered by another, once; two
// replicas' passes at the same moment queue it once.
func TestRemindersOnceAcrossRestarts(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	cfg := testConfig()
	e := newEnv(t, envOpts{now: clk.now, cfg: &cfg, noWorker: true, manualRemind: true})
	ctx := t.Context()
	const ana = 541
	e.start(ana)
	code := e.refer(ana, "Pirot")
	stop := e.run(e.svc)
	card, _ := e.card(code)
	thread := int(card.Int("message_thread_id"))
	stop() // the first replica stops

	// Due: the stopped replica and another one pass at the same moment,
	// several times; the reminder is queued once.
	clk.set(start.Add(4*time.Hour + time.Minute))
	other := e.newService(prometheus.NewRegistry())
	var wg sync.WaitGroup
	for i := range 6 {
		svc := e.svc
		if i%2 == 1 {
			svc = other
		}
		wg.Go(func() {
			if err := svc.Remind(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if again, err := other.store.remind(ctx, code, 1, e.svc.staffStream(groupA), false, Entry{}); err != nil || again {
		t.Fatalf("the first reminder queued again: %v, %v", again, err)
	}
	if n, _ := other.store.pending(ctx, e.svc.staffStream(groupA)); n != 1 {
		t.Fatalf("%d entries queued for staff, want the one reminder", n)
	}
	e.run(other) // the first replica is gone: the other delivers
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return int(c.Int("message_thread_id")) == thread && strings.Contains(c.Str("text"), defaultTexts[tReminderTopic])
	})
	clk.set(start.Add(8*time.Hour + time.Minute))
	for range 3 {
		if err := other.Remind(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Remind(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gen := e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == 0 && strings.Contains(c.Str("text"), defaultTexts[tReminderGeneral])
	})
	var genMsg struct {
		MessageID int `json:"message_id"`
	}
	if err := json.Unmarshal(gen.Result, &genMsg); err != nil || genMsg.MessageID == 0 {
		t.Fatalf("General reminder result %s: %v", gen.Result, err)
	}
	time.Sleep(500 * time.Millisecond)
	if rs := e.remindersIn(groupA, thread); len(rs) != 2 {
		t.Errorf("%d reminders in the topic, want 2", len(rs))
	}
	if n := len(e.escalationsIn(groupA)); n != 1 {
		t.Errorf("%d reminders in General, want 1", n)
	}
	if got := promtest.Sum(other.m.reminders.WithLabelValues("svc")); got != 2 {
		t.Errorf("the delivering replica counted %v reminders", got)
	}

	// The person withdraws: the case's topic goes, and so does the reminder
	// about it in the General topic.
	e.command(ana, "/delete")
	e.press(ana, content.TextDeleteYes)
	e.waitCall("deleteForumTopic", func(c botapitest.Call) bool { return int(c.Int("message_thread_id")) == thread })
	e.waitCall("deleteMessages", func(c botapitest.Call) bool {
		return c.ChatID == groupA && slices.Contains(c.Ints("message_ids"), genMsg.MessageID)
	})
}

// TestWaitingCommand: /waiting in a staff group lists the group's cases
// nobody has claimed, most overdue first, with links to their topics; a
// claimed case and another group's are not listed; /waiting@other_bot is
// not ours.
func TestWaitingCommand(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	cfg := testConfig()
	e := newEnv(t, envOpts{now: clk.now, cfg: &cfg, manualRemind: true})
	const a, b, c = 551, 552, 553
	e.start(a)
	first := e.refer(a, "Zaječar")
	clk.set(start.Add(time.Hour))
	e.start(b)
	e.talk(b)
	second := e.lastCode(b)
	clk.set(start.Add(2 * time.Hour))
	e.start(c)
	third := e.refer(c, "Kikinda")
	_, thirdCard := e.card(third)
	e.staffTap(groupA, thirdCard, staffA, "c:"+third)
	fc, _ := e.card(first)
	e.card(second)

	clk.set(start.Add(6 * time.Hour)) // first overdue by 2 h, second by 1 h
	msg := e.staffSay(groupA, 0, staffA, "/waiting")
	ans := e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && strings.Contains(string(c.Params["reply_parameters"]), fmt.Sprintf(`"message_id":%d`, msg))
	}).Str("text")
	i1, i2 := strings.Index(ans, first), strings.Index(ans, second)
	if i1 < 0 || i2 < 0 || i1 > i2 || strings.Contains(ans, third) {
		t.Fatalf("/waiting:\n%s\nwant %s before %s, without %s", ans, first, second, third)
	}
	for _, want := range []string{defaultTexts[tWaitingTitle], "1. <a href=\"https://t.me/c/1001/" +
		fmt.Sprint(fc.Int("message_thread_id")) + "\">" + first + "</a> · Test service · " + defaultTexts[tCardReferral],
		"waiting for 6 h 00 min (since 2026-12-07 09:00 CET) · ⚠ overdue by 2 h 00 min",
		"2. ", defaultTexts[tCardHandoff], "overdue by 1 h 00 min"} {
		if !strings.Contains(ans, want) {
			t.Errorf("/waiting lacks %q:\n%s", want, ans)
		}
	}
	// Group B has nothing waiting.
	msg = e.staffSay(groupB, 0, staffB, "/waiting@"+e.api.BotUsername())
	ans = e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupB && strings.Contains(string(c.Params["reply_parameters"]), fmt.Sprintf(`"message_id":%d`, msg))
	}).Str("text")
	if ans != defaultTexts[tWaitingNone] {
		t.Errorf("/waiting in group B: %q", ans)
	}
	// (Reminders of the loop may reach the group meanwhile: look for an
	// answer to this message only.)
	msg = e.staffSay(groupA, 0, staffA, "/waiting@some_other_bot")
	time.Sleep(200 * time.Millisecond)
	for _, c := range e.api.ByChat(groupA) {
		if strings.Contains(string(c.Params["reply_parameters"]), fmt.Sprintf(`"message_id":%d`, msg)) {
			t.Errorf("/waiting addressed to another bot was answered: %s", c.Str("text"))
		}
	}
}

// TestWaitingMemory: the playground's memory store lists and reminds too.
func TestWaitingMemory(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	mem := NewMemoryStaff()
	svc, err := New(Options{Config: testConfig(), Store: NewMemoryStore(), Staff: mem,
		Content: content.NewHolder(testContent(t)), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	mem.Bind(svc)
	ctx := t.Context()
	if err := svc.Apply(ctx, "tg:1", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-4444"}); err != nil {
		t.Fatal(err)
	}
	clk.set(start.Add(time.Minute))
	if err := svc.Apply(ctx, "tg:2", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: "PK-5555"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Claim(ctx, "PK-5555", "tg:9"); err != nil {
		t.Fatal(err)
	}
	clk.set(start.Add(5 * time.Hour))
	ws, err := mem.Waiting(ctx)
	if err != nil || len(ws) != 1 || ws[0].Code != "PK-4444" || ws[0].Overdue != time.Hour || ws[0].ServiceName != "Test service" {
		t.Fatalf("waiting = %+v, %v", ws, err)
	}
	if err := svc.Remind(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Remind(ctx); err != nil {
		t.Fatal(err)
	}
	if ws, _ := mem.Waiting(ctx); len(ws) != 1 || ws[0].Reminders != 1 {
		t.Errorf("after the reminder: %+v", ws)
	}
	n, err := svc.store.pending(ctx, svc.staffStream(groupA))
	if err != nil || n != 4 { // two cards, the claimed card's edit, one reminder
		t.Errorf("queued for staff: %d, %v", n, err)
	}
}

// TestStaffLanguage: with the repository's content, staff texts (cards,
// reminders, /waiting) follow referral.staff_language: Serbian in Cyrillic
// or Latin, English by default; every staff text exists in Serbian too.
func TestStaffLanguage(t *testing.T) {
	c, diags := content.Load(content.Embedded())
	if c == nil || diags.HasErrors() {
		t.Fatalf("content: %v", diags)
	}
	for lang, want := range map[string]string{"": "is still waiting to be claimed", "sr-Cyrl": "још чека да га неко преузме",
		"sr-Latn": "još čeka da ga neko preuzme"} {
		svc, err := New(Options{Store: NewMemoryStore(), Staff: NewMemoryStaff(), Content: content.NewHolder(c),
			Config: Config{Queues: map[string]Queue{AnyService: {}}, StaffLanguage: lang}})
		if err != nil {
			t.Fatal(err)
		}
		if got := svc.text(tReminderTopic); !strings.HasPrefix(got, want) {
			t.Errorf("staff language %q: %q, want %q", lang, got, want)
		}
		if lang == "" {
			continue
		}
		for id, en := range defaultTexts {
			// "👤" is the same everywhere, and "Status" in Serbian Latin.
			if got := svc.text(id); got == en && id != tRelayPerson && id != tStatusLabel {
				t.Errorf("staff language %s: %s is English: %q", lang, id, got)
			}
		}
	}
}

// TestLiveChatCodeRetried: when the code the engine drew for a live chat is
// taken, the conversation handles the input again with a fresh code, and
// the person is told the code their case is stored under.
func TestLiveChatCodeRetried(t *testing.T) {
	svc, _ := memoryService(t)
	holder := content.NewHolder(testContent(t))
	sessions, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	draws := []uint64{12345, 12345, 777777} // the first two draw a taken code
	var mu sync.Mutex
	rnd := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		r := draws[0]
		if len(draws) > 1 {
			draws = draws[1:]
		}
		return r
	}
	codeOf := func(r uint64) string {
		b := []byte("PK-????")
		for i := 3; i < len(b); i++ {
			b[i] = codeAlphabet[r%uint64(len(codeAlphabet))]
			r /= uint64(len(codeAlphabet))
		}
		return string(b)
	}
	taken, fresh := codeOf(12345), codeOf(777777)
	ctx := t.Context()
	if err := svc.Apply(ctx, "web:other", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc", Code: taken}); err != nil {
		t.Fatal(err)
	}
	conv := conversation.New(sessions, engine.New(time.Now, rnd), holder, svc, nil)
	conv.Statuses = svc
	c := &chat{t: t, conv: conv, user: "web:1"}
	c.send(engine.Input{Kind: engine.InCommand, Command: "start"})
	c.press("English")
	out := texts(c.press("Talk"))
	if !strings.Contains(out, "EN "+content.TextHandoffCode+" "+fresh) || strings.Contains(out, taken) {
		t.Fatalf("told:\n%s\nwant the code %s (not the taken %s)", out, fresh, taken)
	}
	if live, _ := svc.store.live(ctx, "web:1"); live != fresh {
		t.Errorf("live chat = %q, want %q", live, fresh)
	}
	if cs, _ := svc.Case(ctx, taken); cs == nil || cs.User != "web:other" {
		t.Errorf("the other person's case changed: %+v", cs)
	}
}

// TestWaitingBackfill: a case opened before the index of waiting cases
// existed (an upgrade) is found by the sweep and reminded about like any.
func TestWaitingBackfill(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	cfg := testConfig()
	e := newEnv(t, envOpts{now: clk.now, cfg: &cfg, manualRemind: true})
	ctx := t.Context()
	const ana = 561
	e.start(ana)
	code := e.refer(ana, "Šabac")
	e.card(code)
	if err := e.rdb.Del(ctx, e.k.Referral().Waiting()).Err(); err != nil { // as before the upgrade
		t.Fatal(err)
	}
	if ws, _ := e.svc.Waiting(ctx); len(ws) != 0 {
		t.Fatalf("waiting without the index: %+v", ws)
	}
	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if ttl := e.rdb.PTTL(ctx, e.k.Referral().Waiting()).Val(); ttl <= 0 {
		t.Errorf("the waiting index has no TTL: %v", ttl)
	}
	clk.set(start.Add(4*time.Hour + time.Minute))
	if err := e.svc.Remind(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && strings.Contains(c.Str("text"), code+"</b> "+defaultTexts[tReminderTopic])
	})
}

// TestReminderLoop: Run runs the reminder pass by itself, every
// RemindEvery.
func TestReminderLoop(t *testing.T) {
	clk := &clock{}
	start := monday9(t)
	clk.set(start)
	cfg := testConfig()
	cfg.RemindEvery = 50 * time.Millisecond
	e := newEnv(t, envOpts{now: clk.now, cfg: &cfg})
	const ana = 571
	e.start(ana)
	code := e.refer(ana, "Leskovac")
	card, _ := e.card(code)
	clk.set(start.Add(4*time.Hour + time.Minute))
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return int(c.Int("message_thread_id")) == int(card.Int("message_thread_id")) &&
			strings.Contains(c.Str("text"), defaultTexts[tReminderTopic])
	})
	polltest.Until(t, 5*time.Second, "the overdue gauge", func() bool {
		return promtest.Sum(e.svc.m.overdue.WithLabelValues("svc")) == 1
	})
}
