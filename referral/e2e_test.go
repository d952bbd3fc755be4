package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
	"putokaz/internal/testkit/testlog"
)

// start takes a new person to the main menu in English.
func (e *testEnv) start(chat int64) {
	e.t.Helper()
	e.command(chat, "/start")
	e.press(chat, "English")
	e.waitText(chat, "Choose a topic.")
}

// refer makes a referral to svc through the whole flow and returns its code.
func (e *testEnv) refer(chat int64, town string) string {
	e.t.Helper()
	e.press(chat, "Refer me")
	e.waitText(chat, "May we send your town")
	e.press(chat, content.TextReferralYes)
	e.waitText(chat, "Which town?")
	e.say(chat, town)
	e.waitText(chat, "Your phone?")
	e.say(chat, "+381 60 1234567")
	e.waitText(chat, content.TextReferralSent)
	return e.lastCode(chat)
}

// talk opens a handoff to svc from the main menu.
func (e *testEnv) talk(chat int64) {
	e.t.Helper()
	e.press(chat, "Talk")
	e.waitText(chat, "Connecting you to staff.")
}

// TestJourney is the whole way of a person and of staff: flow → consent →
// questions → code → case card in the right group's new topic → staff
// claims → staff reply reaches the person → (in a chat with staff) the
// person's photo reaches the topic → staff /close → the person is told and
// the bot resumes.
func TestJourney(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 501
	e.start(ana)
	code := e.refer(ana, "Novi Sad <b>&")

	// The referral exists before the person was told (Apply runs before
	// the replies are sent), with everything the issue asks for.
	c, err := e.svc.Case(t.Context(), code)
	if err != nil || c == nil {
		t.Fatalf("case %s: %v, %v", code, c, err)
	}
	if c.User != "tg:501" || c.Service != "svc" || c.Lang != "en" || c.Status != StatusReceived || c.Kind != KindReferral ||
		c.ConsentAt.IsZero() || c.ConsentVersion == "" || c.Created.IsZero() ||
		c.Answers["town"] != "Novi Sad <b>&" || c.Answers["phone"] == "" {
		t.Fatalf("stored case = %+v", c)
	}
	for _, key := range []string{e.k.Referral().Case(code), e.k.Referral().History(code), e.k.Referral().Person("tg:501")} {
		if ttl := e.rdb.PTTL(t.Context(), key).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL (%v): every key with personal data must expire", key, ttl)
		}
	}

	// The card: a new topic in group A (svc's queue), named by code and
	// service, then the card in it with Claim/Close.
	topic := e.waitCall("createForumTopic", func(c botapitest.Call) bool { return strings.Contains(c.Str("name"), code) })
	if topic.ChatID != groupA || topic.Str("name") != code+" · Test service" {
		t.Fatalf("topic = %d %q", topic.ChatID, topic.Str("name"))
	}
	var tr struct {
		ID int `json:"message_thread_id"`
	}
	_ = json.Unmarshal(topic.Result, &tr)
	card, cardID := e.card(code)
	text := card.Str("text")
	if card.ChatID != groupA || int(card.Int("message_thread_id")) != tr.ID || card.Str("parse_mode") != "HTML" {
		t.Fatalf("card at %d/%d, want %d/%d", card.ChatID, card.Int("message_thread_id"), groupA, tr.ID)
	}
	for _, want := range []string{"Referral · " + code, "Service: svc (Test service)", "Language: en (English)",
		"Received: ", "Consent given: ", "version " + c.ConsentVersion, "• town: Novi Sad &lt;b&gt;&amp;", "• phone: +381"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Ana") || strings.Contains(text, "501") {
		t.Errorf("card shows who the person is:\n%s", text)
	}
	var kb struct {
		InlineKeyboard [][]struct {
			Text string `json:"text"`
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := card.Decode("reply_markup", &kb); err != nil || len(kb.InlineKeyboard) != 1 || len(kb.InlineKeyboard[0]) != 2 ||
		kb.InlineKeyboard[0][0].Data != "c:"+code || kb.InlineKeyboard[0][1].Data != "x:"+code {
		t.Fatalf("card buttons = %s", card.Params["reply_markup"])
	}
	if n := len(e.api.Delivered("createForumTopic")); n != 1 {
		t.Errorf("%d topics, want 1", n)
	}

	// Staff claim it: the status changes; /status tells the person.
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	if got := e.callbackAnswer("scb"); got != defaultTexts[tAnswerClaimed] {
		t.Errorf("claim answer = %q", got)
	}
	if c, _ := e.svc.Case(t.Context(), code); c.Status != StatusClaimed || c.ClaimedBy != "tg:9001" {
		t.Fatalf("after claim: %+v", c)
	}
	e.command(ana, "/status "+code)
	e.waitText(ana, content.TextStatusClaimed+" "+code)

	// A staff reply in the topic reaches the person under a header naming
	// the service and the case (staff hidden).
	reply := e.staffSay(groupA, tr.ID, staffA, "Hello, we will call you tomorrow.")
	e.waitText(ana, "EN common.case_talk.from Test service "+code+"\nHello, we will call you tomorrow.")
	e.waitText(ana, content.TextCaseOpen)

	// Later the person asks to talk: a handoff case in a new topic.
	e.command(ana, "/menu")
	e.talk(ana)
	live, _ := e.svc.store.live(t.Context(), "tg:501")
	if live == "" || live == code {
		t.Fatalf("live handoff = %q", live)
	}
	_ = e.waitCall("createForumTopic", func(c botapitest.Call) bool { return strings.Contains(c.Str("name"), live) })
	hcard, hcardID := e.card(live)
	hthread := int(hcard.Int("message_thread_id"))
	if hthread == tr.ID || !strings.Contains(hcard.Str("text"), "A person wants to talk · "+live) ||
		strings.Contains(hcard.Str("text"), "Answers") {
		t.Fatalf("handoff card in %d:\n%s", hthread, hcard.Str("text"))
	}

	// Staff claim: the person is told someone is with them.
	e.staffTap(groupA, hcardID, staffA, "c:"+live)
	e.waitText(ana, content.TextHandoffClaimed)

	// Staff write; the person's photo and text reach the topic.
	e.staffSay(groupA, hthread, staffA, "I am here. Can you send the document?")
	e.waitCall("copyMessage", func(c botapitest.Call) bool {
		return c.ChatID == ana && c.Int("from_chat_id") == groupA &&
			int(c.Int("message_id")) != reply
	})
	photo := e.photo(ana)
	pc := e.waitCall("copyMessage", func(c botapitest.Call) bool { return c.ChatID == groupA })
	if pc.Int("from_chat_id") != ana || int(pc.Int("message_id")) != photo || int(pc.Int("message_thread_id")) != hthread {
		t.Fatalf("photo copy = %+v", pc.Params)
	}
	e.say(ana, "Thank you <3 & bye")
	rel := e.waitText(groupA, "Thank you")
	if rel.Str("text") != "👤 Thank you &lt;3 &amp; bye" || int(rel.Int("message_thread_id")) != hthread {
		t.Errorf("relayed text = %q in %d", rel.Str("text"), rel.Int("message_thread_id"))
	}

	// Staff /close: the topic is closed, the person is told and asked
	// "was this helpful?"; answering resumes the bot.
	e.staffSay(groupA, hthread, staffA, "/close")
	e.waitCall("closeForumTopic", func(c botapitest.Call) bool { return int(c.Int("message_thread_id")) == hthread })
	e.waitText(ana, content.TextHandoffClosed)
	e.press(ana, content.TextFeedbackYes)
	e.waitText(ana, content.TextFeedbackThanks)
	if hc, _ := e.svc.Case(t.Context(), live); hc.Status != StatusClosed || hc.ClosedBy != "tg:9001" {
		t.Fatalf("handoff after close: %+v", hc)
	}
	if ttl := e.rdb.PTTL(t.Context(), e.k.Referral().Case(live)).Val(); ttl > e.svc.cfg.Retention || ttl < e.svc.cfg.Retention-time.Minute {
		t.Errorf("closed case TTL = %v, want the retention %v", ttl, e.svc.cfg.Retention)
	}
	// The bot talks again: typing goes to the engine, not to staff.
	before := len(e.api.ByChat(groupA))
	e.say(ana, "hello again")
	time.Sleep(200 * time.Millisecond)
	if after := len(e.api.ByChat(groupA)); after != before {
		t.Errorf("a message after the close reached staff")
	}
	if got := promtest.Sum(e.svc.m.feedback.WithLabelValues("svc", "yes")); got != 1 {
		t.Errorf("feedback{svc,yes} = %v", got)
	}

	// History: who did what when; staff IDs are there.
	h, _ := e.svc.History(t.Context(), live)
	var whats []string
	for _, x := range h {
		whats = append(whats, x.Who+":"+x.What)
	}
	for _, want := range []string{"person:created", "bot:posted", "staff:tg:9001:claimed", "staff:tg:9001:reply",
		"person:message", "staff:tg:9001:closed"} {
		if !slices.Contains(whats, want) {
			t.Errorf("history lacks %s: %v", want, whats)
		}
	}
	// The history holds what was written both ways, as staff saw it in the
	// topic (the console shows it).
	var texts []string
	for _, x := range h {
		if x.What == actMessage || x.What == actReply {
			texts = append(texts, x.Who+":"+x.Text)
		}
	}
	for _, want := range []string{"staff:tg:9001:I am here. Can you send the document?", "person:Thank you <3 & bye"} {
		if !slices.Contains(texts, want) {
			t.Errorf("history lacks the text %q: %q", want, texts)
		}
	}
	// Logs: no text, names, answers or raw IDs.
	logs := e.logs.String()
	for _, secret := range []string{"Novi Sad", "Thank you", "tg:501", "9001", "1234567", "Ana", code, live} {
		if testlog.Names(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	// Every referral key that is not a queue (or the list of traces, which
	// the sweep empties) expires.
	for _, key := range e.refKeys() {
		if e.rdb.Type(t.Context(), key).Val() == "stream" || key == e.k.Referral().Traces() {
			continue
		}
		if ttl := e.rdb.PTTL(t.Context(), key).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL", key)
		}
	}
	if got := promtest.Sum(e.svc.m.created); got != 2 {
		t.Errorf("created = %v", got)
	}
	if got := promtest.Sum(e.svc.m.staffActions); got < 5 {
		t.Errorf("staff actions = %v", got)
	}
}

// TestConsentNoStoresNothing: saying no leaves no referral key behind.
func TestConsentNoStoresNothing(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	const ben = 502
	e.start(ben)
	before := e.allKeys()
	e.press(ben, "Refer me")
	e.waitText(ben, "May we send your town")
	e.press(ben, content.TextReferralNo)
	e.waitText(ben, "Call the test service yourself.")
	after := e.allKeys()
	if refs := e.refKeys(); len(refs) != 0 {
		t.Fatalf("referral keys after consent no: %v", refs)
	}
	for _, k := range after {
		if !slices.Contains(before, k) && !strings.Contains(k, "u:{tg:502}:") {
			t.Errorf("new key %s", k)
		}
	}
	if n := len(e.api.ByChat(groupA)); n != 0 {
		t.Errorf("%d calls to staff", n)
	}
}

// TestDeleteDuringOpenCases: /delete erases the personal fields of the
// person's cases, ends the handoff, tells staff in each topic, and nothing
// more reaches the person.
func TestDeleteDuringOpenCases(t *testing.T) {
	e := newEnv(t, envOpts{})
	const cem = 503
	e.start(cem)
	code := e.refer(cem, "Niš")
	ref, refCard := e.card(code)
	e.staffTap(groupA, refCard, staffA, "c:"+code)
	e.staffSay(groupA, int(ref.Int("message_thread_id")), staffA, "/note called the centre")
	e.command(cem, "/menu")
	e.talk(cem)
	live, _ := e.svc.store.live(t.Context(), "tg:503")
	hcard, _ := e.card(live)
	e.say(cem, "are you there?")
	e.waitText(groupA, "are you there?")

	e.command(cem, "/delete")
	e.press(cem, content.TextDeleteYes)
	e.waitText(cem, content.TextDeleteDone)

	for _, cd := range []string{code, live} {
		m := e.rdb.HGetAll(t.Context(), e.k.Referral().Case(cd)).Val()
		var fields []string
		for f := range m {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		if want := []string{"card", "created", "group", "service", "shared", "status", "thread"}; !slices.Equal(fields, want) {
			t.Errorf("%s keeps %v, want %v", cd, fields, want)
		}
		if m["status"] != StatusWithdrawn {
			t.Errorf("%s status %q", cd, m["status"])
		}
		if e.rdb.Exists(t.Context(), e.k.Referral().History(cd), e.k.Referral().Payload(cd)).Val() != 0 {
			t.Errorf("%s: history or payloads survive /delete", cd)
		}
		if ttl := e.rdb.PTTL(t.Context(), e.k.Referral().Case(cd)).Val(); ttl <= 0 || ttl > e.svc.cfg.Retention {
			t.Errorf("%s TTL %v", cd, ttl)
		}
	}
	if n := e.rdb.Exists(t.Context(), e.k.Referral().Person("tg:503"), e.k.Referral().Live("tg:503")).Val(); n != 0 {
		t.Errorf("the person's index or live handoff survive /delete")
	}
	if keys := e.rdb.Keys(t.Context(), e.k.UserPattern("tg:503")).Val(); len(keys) > 0 {
		t.Errorf("keys of the person survive /delete: %v", keys)
	}
	// Both topics are deleted, and staff are told in the General topic,
	// by the case's code alone.
	for _, th := range []int64{ref.Int("message_thread_id"), hcard.Int("message_thread_id")} {
		e.waitCall("deleteForumTopic", func(c botapitest.Call) bool {
			return c.ChatID == groupA && c.Int("message_thread_id") == th
		})
	}
	for _, cd := range []string{code, live} {
		e.waitCall("sendMessage", func(c botapitest.Call) bool {
			return c.ChatID == groupA && !c.Has("message_thread_id") && strings.Contains(c.Str("text"), cd) &&
				strings.Contains(c.Str("text"), "withdrew")
		})
	}
	if n := promtest.Sum(e.svc.m.staffErased.WithLabelValues("deleted", "topic", "deleted")); n != 2 {
		t.Errorf("staff erased = %v, want 2", n)
	}
	if n := promtest.Sum(e.svc.m.withdrawn); n != 2 {
		t.Errorf("withdrawn = %v", n)
	}
	// A staff reply now is not sent; staff are told why.
	copies := len(e.api.CallsTo("copyMessage"))
	e.staffSay(groupA, int(ref.Int("message_thread_id")), staffA, "Are you still there?")
	e.waitText(groupA, defaultTexts[tAnswerWithdrawn])
	if n := len(e.api.CallsTo("copyMessage")); n != copies {
		t.Errorf("a reply reached a withdrawn person")
	}
	// The code no longer answers /status, for anyone.
	if st, _ := e.svc.ReferralStatus(t.Context(), "tg:503", code); st != "" {
		t.Errorf("status after delete = %q", st)
	}
}

// TestDeleteBeforeDelivery: a referral erased before the outbox posted it
// is never posted (its answers never reach staff).
func TestDeleteBeforeDelivery(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	const dan = 504
	e.start(dan)
	code := e.refer(dan, "Subotica")
	e.command(dan, "/delete")
	e.press(dan, content.TextDeleteYes)
	e.waitText(dan, content.TextDeleteDone)
	e.run(e.svc)
	polltest.Until(t, 5*time.Second, "the outbox to drain", func() bool {
		n, _ := e.svc.store.pending(context.Background(), e.svc.staffStream(groupA))
		return n == 0
	})
	for _, c := range e.api.ByChat(groupA) {
		t.Errorf("staff got %s %s", c.Method, c.Str("text"))
	}
	if m := e.rdb.HGetAll(t.Context(), e.k.Referral().Case(code)).Val(); m["status"] != StatusWithdrawn || m["answers"] != "" {
		t.Errorf("record = %v", m)
	}
}

// TestForgedAndMisplacedStaffActions: a Claim from outside the staff group,
// for a case of another group, or on a message that is not the card, and
// staff writing outside a case, are refused.
func TestForgedAndMisplacedStaffActions(t *testing.T) {
	e := newEnv(t, envOpts{})
	const eva = 505
	e.start(eva)
	code := e.refer(eva, "Kikinda")
	card, cardID := e.card(code)
	thread := int(card.Int("message_thread_id"))
	status := func() string { c, _ := e.svc.Case(t.Context(), code); return c.Status }

	// A person (not staff) forges the Claim button in their private chat:
	// it is a stale button for the conversation; the case is untouched.
	e.tap(eva, "c:"+code)
	e.waitText(eva, content.TextStale)
	if status() != StatusReceived {
		t.Fatal("a forged claim from a private chat changed the case")
	}
	// Staff of group B press a Claim for a case of group A.
	e.staffTap(groupB, 77, staffB, "c:"+code)
	if got := e.callbackAnswer("scb"); got != defaultTexts[tAnswerOther] {
		t.Errorf("answer to a claim from another group = %q", got)
	}
	// Right group, but not on the case's card (made-up callback data).
	e.staffTap(groupA, cardID+1000, staffA, "c:"+code)
	// Garbage data.
	e.staffTap(groupA, cardID, staffA, "c:PK-!!!!")
	e.staffTap(groupA, cardID, staffA, "zz")
	if status() != StatusReceived {
		t.Fatal("a refused claim changed the case")
	}
	if got := promtest.Sum(e.svc.m.refused); got != 4 {
		t.Errorf("refused = %v, want 4", got)
	}
	// Staff write in a topic that is not a case, and in group B's topic
	// with the case's topic number: nothing reaches the person.
	copies := len(e.api.CallsTo("copyMessage"))
	e.staffSay(groupA, thread+50, staffA, "wrong topic")
	e.staffSay(groupB, thread, staffB, "wrong group")
	e.staffSay(groupA, 0, staffA, "general chat among staff")
	// A command outside a case is refused with a short answer.
	e.staffSay(groupA, thread+50, staffA, "/close")
	e.waitText(groupA, defaultTexts[tAnswerNotCase])
	time.Sleep(100 * time.Millisecond)
	if n := len(e.api.CallsTo("copyMessage")); n != copies {
		t.Errorf("%d staff messages reached the person", n-copies)
	}
	if status() != StatusReceived {
		t.Fatal("a misplaced /close closed the case")
	}
	// Refusals are logged without personal data.
	if !strings.Contains(e.logs.String(), `"reason":"other_group"`) || !strings.Contains(e.logs.String(), `"reason":"not_the_card"`) {
		t.Error("refusals not logged")
	}
	// The real card still works.
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	if status() != StatusClaimed {
		t.Fatal("the real claim did not work")
	}
	// Claiming twice says so.
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	found := false
	for _, c := range e.api.CallsTo("answerCallbackQuery") {
		found = found || c.Str("text") == defaultTexts[tAnswerTaken]
	}
	if !found {
		t.Error("a second claim was not answered 'already claimed'")
	}
}

// TestNoteStaysInternal: /note is recorded, not sent.
func TestNoteStaysInternal(t *testing.T) {
	e := newEnv(t, envOpts{})
	const fil = 506
	e.start(fil)
	code := e.refer(fil, "Pirot")
	card, _ := e.card(code)
	copies := len(e.api.CallsTo("copyMessage"))
	e.staffSay(groupA, int(card.Int("message_thread_id")), staffA, "/note the person prefers mornings")
	h, _ := e.svc.History(t.Context(), code)
	i := slices.IndexFunc(h, func(x Entry) bool { return x.What == actNote })
	if i < 0 || h[i].Who != "staff:tg:9001" || h[i].Text != "the person prefers mornings" {
		t.Fatalf("history = %+v", h)
	}
	if n := len(e.api.CallsTo("copyMessage")); n != copies {
		t.Error("a note reached the person")
	}
	if strings.Contains(e.logs.String(), "mornings") {
		t.Error("a note's text was logged")
	}
}

// TestRelayOnceForARepeatedInput: an input handled twice (Telegram re-sends
// after a crash) relays its message once.
func TestRelayOnceForARepeatedInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	const gil = 507
	e.start(gil)
	e.talk(gil)
	live, _ := e.svc.store.live(t.Context(), "tg:507")
	e.card(live)
	// The conversation handles the next update twice, as after a crash
	// between applying its effects and finishing the update.
	e.tgConv.repeat.Store(true)
	e.say(gil, "only once")
	e.tgConv.repeat.Store(false)
	e.waitText(groupA, "only once")
	time.Sleep(300 * time.Millisecond)
	n := 0
	for _, tx := range e.texts(groupA) {
		if strings.Contains(tx, "only once") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("relayed %d times", n)
	}
	if e.tgConv.repeated.Load() == 0 {
		t.Fatal("the input was not handled twice")
	}
	// The handoff itself is not opened twice either.
	if err := e.svc.Apply(t.Context(), "tg:507", "en", engine.Effect{Kind: engine.EffectHandoff, Service: "svc"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.svc.store.live(t.Context(), "tg:507"); again != live {
		t.Errorf("handoff reopened: %s → %s", live, again)
	}
	if got := promtest.Sum(e.svc.m.created.WithLabelValues("svc", KindHandoff)); got != 1 {
		t.Errorf("handoffs created = %v", got)
	}
}

// TestEmergencyAndLeaving: an emergency word during a chat alerts staff;
// leaving tells them.
func TestEmergencyAndLeaving(t *testing.T) {
	e := newEnv(t, envOpts{})
	const hana = 508
	e.start(hana)
	e.talk(hana)
	live, _ := e.svc.store.live(t.Context(), "tg:508")
	card, _ := e.card(live)
	th := card.Int("message_thread_id")
	e.say(hana, "police")
	e.waitText(hana, "Police 192")
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == th && strings.Contains(c.Str("text"), "emergency word")
	})
	e.command(hana, "/menu")
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == th && strings.Contains(c.Str("text"), "left the chat")
	})
	if l, _ := e.svc.store.live(t.Context(), "tg:508"); l != "" {
		t.Errorf("live handoff after leaving: %s", l)
	}
	// Staff close afterwards: the case closes; the person (no longer in
	// the chat) is not disturbed.
	before := len(e.texts(hana))
	e.staffSay(groupA, int(th), staffA, "/close")
	e.waitCall("closeForumTopic", func(c botapitest.Call) bool { return c.Int("message_thread_id") == th })
	time.Sleep(200 * time.Millisecond)
	if after := len(e.texts(hana)); after != before {
		t.Errorf("the person got %d messages after leaving", after-before)
	}
}

// TestStatusOnlyForItsPerson: /status shows a referral only to its person.
func TestStatusOnlyForItsPerson(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	e.start(509)
	code := e.refer(509, "Vranje")
	if st, _ := e.svc.ReferralStatus(t.Context(), "tg:509", code); st != StatusReceived {
		t.Errorf("own status = %q", st)
	}
	if st, _ := e.svc.ReferralStatus(t.Context(), "tg:510", code); st != "" {
		t.Errorf("someone else's status = %q", st)
	}
	e.start(510)
	e.command(510, "/status "+code)
	e.waitText(510, content.TextStatusUnknown)
}

// TestStaffActionsOnlyFromMembers: an update "from" the staff group is not
// enough (anyone with the webhook secret can forge one): a user who is not a
// member of the group (getChatMember) can neither claim, close, note nor
// write to the person, and is told nothing about the case.
func TestStaffActionsOnlyFromMembers(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ivo, stranger, leftStaff = 507, 6661, 6662
	e.api.SetMemberStatus(groupA, stranger, "left")
	e.api.SetMemberStatus(groupA, leftStaff, "kicked")
	e.start(ivo)
	code := e.refer(ivo, "Zaječar")
	card, cardID := e.card(code)
	thread := int(card.Int("message_thread_id"))
	status := func() string { c, _ := e.svc.Case(t.Context(), code); return c.Status }
	copies := len(e.api.CallsTo("copyMessage"))

	e.staffTap(groupA, cardID, stranger, "c:"+code)
	if got := e.callbackAnswer("scb"); got != defaultTexts[tAnswerNotMember] {
		t.Errorf("answer to a stranger's claim = %q", got)
	}
	e.staffSay(groupA, thread, stranger, "hello from outside")
	e.staffSay(groupA, thread, leftStaff, "/note I left the team")
	e.staffSay(groupA, thread, leftStaff, "/close")
	time.Sleep(100 * time.Millisecond)
	if status() != StatusReceived {
		t.Fatalf("a non-member changed the case: %s", status())
	}
	if n := len(e.api.CallsTo("copyMessage")); n != copies {
		t.Errorf("%d messages of non-members reached the person", n-copies)
	}
	h, _ := e.svc.History(t.Context(), code)
	for _, x := range h {
		if x.What == actNote {
			t.Errorf("a non-member's note was recorded: %+v", x)
		}
	}
	if got := promtest.Sum(e.svc.m.refused.WithLabelValues("not_member")); got != 4 {
		t.Errorf("refused{not_member} = %v, want 4", got)
	}
	// A member still can, and the answer was asked of the Bot API for the
	// right group and user.
	e.staffTap(groupA, cardID, staffA, "c:"+code)
	if status() != StatusClaimed {
		t.Fatal("a member's claim did not work")
	}
	asked := false
	for _, c := range e.api.CallsTo("getChatMember") {
		asked = asked || (c.ChatID == groupA && c.Int("user_id") == staffA)
	}
	if !asked {
		t.Error("membership of the claiming staff member was not checked")
	}
}

// TestCommandsForOtherBotsIgnored: in a case topic, "/close@OtherBot" (and
// /claim@…, /note@…) is another bot's command: the case is untouched and
// nothing reaches the person; "/close@PutokazBot" is ours.
func TestCommandsForOtherBotsIgnored(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 508
	e.start(ana)
	code := e.refer(ana, "Bor")
	card, _ := e.card(code)
	thread := int(card.Int("message_thread_id"))
	status := func() string { c, _ := e.svc.Case(t.Context(), code); return c.Status }
	copies := len(e.api.CallsTo("copyMessage"))
	for _, cmd := range []string{"/claim@some_other_bot", "/note@some_other_bot remember", "/close@some_other_bot"} {
		e.staffSay(groupA, thread, staffA, cmd)
	}
	time.Sleep(100 * time.Millisecond)
	if status() != StatusReceived {
		t.Fatalf("a command for another bot acted on the case: %s", status())
	}
	if n := len(e.api.CallsTo("copyMessage")); n != copies {
		t.Errorf("%d commands for another bot were relayed to the person", n-copies)
	}
	h, _ := e.svc.History(t.Context(), code)
	for _, x := range h {
		if x.What == actNote {
			t.Errorf("another bot's /note was recorded: %+v", x)
		}
	}
	e.staffSay(groupA, thread, staffA, "/close@"+e.api.BotUsername())
	polltest.Until(t, 5*time.Second, "the case closed by our own addressed /close", func() bool { return status() == StatusClosed })
}

// replyTo: the person answers message msgID of their chat (a Telegram
// reply) with text.
func (e *testEnv) replyTo(chat int64, msgID int, text string) {
	e.t.Helper()
	id := e.id()
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,"text":%s,`+
		`"reply_to_message":{"message_id":%d,"from":{"id":123456,"is_bot":true,"first_name":"Putokaz"},"chat":%s,`+
		`"date":1767225600,"text":"x"}}}`, id, id, person(chat), privateChat(chat), jsonStr(text), msgID, privateChat(chat)))
}

// staffCalls counts the messages the bot sent to a staff group.
func (e *testEnv) staffCalls(group int64) int {
	n := 0
	for _, c := range e.api.ByChat(group) {
		if c.Method == "sendMessage" || c.Method == "copyMessage" {
			n++
		}
	}
	return n
}

// TestReferralConversationBothWays: staff write about a referral → the
// person sees which service and case it is from → what they type (and
// send) next reaches the case's topic → the exit button stops that → a
// Telegram reply to the staff message still reaches the case → an
// emergency word gets the numbers and alerts staff → staff /close ends it.
func TestReferralConversationBothWays(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 503
	e.start(ana)
	code := e.refer(ana, "Subotica")
	card, _ := e.card(code)
	thread := int(card.Int("message_thread_id"))

	e.staffSay(groupA, thread, staffA, "Hello, when can we call you?")
	msg := e.waitText(ana, "Hello, when can we call you?")
	if got, want := msg.Str("text"), "EN common.case_talk.from Test service "+code+"\nHello, when can we call you?"; got != want {
		t.Errorf("staff message to the person = %q, want %q", got, want)
	}
	var sent struct {
		MessageID int `json:"message_id"`
	}
	_ = json.Unmarshal(msg.Result, &sent)
	e.waitText(ana, content.TextCaseOpen)

	// Plain text and a photo reach the topic.
	e.say(ana, "Tomorrow <after> 10")
	rel := e.waitText(groupA, "Tomorrow")
	if rel.Str("text") != "👤 Tomorrow &lt;after&gt; 10" || int(rel.Int("message_thread_id")) != thread {
		t.Errorf("relayed = %q in %d", rel.Str("text"), rel.Int("message_thread_id"))
	}
	photo := e.photo(ana)
	pc := e.waitCall("copyMessage", func(c botapitest.Call) bool { return c.ChatID == groupA && int(c.Int("message_id")) == photo })
	if pc.Int("from_chat_id") != ana || int(pc.Int("message_thread_id")) != thread {
		t.Errorf("photo copy = %+v", pc.Params)
	}
	if n := len(e.texts(ana)); strings.Contains(e.texts(ana)[n-1], content.TextMatchNothing) {
		t.Errorf("the bot answered the person's message itself")
	}

	// The way out: typing is the bot's again.
	e.press(ana, content.TextCaseLeave)
	e.waitText(ana, content.TextCaseLeft)
	before := e.staffCalls(groupA)
	e.say(ana, "something else")
	e.waitText(ana, content.TextMatchNothing)
	if after := e.staffCalls(groupA); after != before {
		t.Errorf("a message after leaving reached staff")
	}

	// A Telegram reply to the staff message reaches the case.
	e.replyTo(ana, sent.MessageID, "Answering your question")
	rel = e.waitText(groupA, "Answering your question")
	if int(rel.Int("message_thread_id")) != thread {
		t.Errorf("reply relayed to %d", rel.Int("message_thread_id"))
	}

	// An emergency word mid-conversation: the numbers, and staff an alert.
	e.say(ana, "police")
	e.waitText(ana, "Police 192")
	e.waitText(groupA, defaultTexts[tNoticeEmergency])

	// Staff close the case: what the person types is the bot's again, and
	// a reply to the old staff message is an ordinary message.
	e.staffSay(groupA, thread, staffA, "/close")
	e.waitCall("closeForumTopic", func(c botapitest.Call) bool { return int(c.Int("message_thread_id")) == thread })
	polltest.Until(t, 5*time.Second, "the close to reach the person's conversation", func() bool {
		n, err := e.svc.store.pending(context.Background(), personStream)
		return err == nil && n == 0
	})
	before = e.staffCalls(groupA)
	e.say(ana, "hello again")
	e.replyTo(ana, sent.MessageID, "one more thing")
	time.Sleep(200 * time.Millisecond)
	if after := e.staffCalls(groupA); after != before {
		t.Errorf("%d messages reached staff after the close", after-before)
	}
	h, _ := e.svc.History(t.Context(), code)
	n := 0
	for _, x := range h {
		if x.Who == whoPerson && x.What == actMessage {
			n++
		}
	}
	if n != 4 { // text, photo, reply, the emergency word
		t.Errorf("%d person messages in the history, want 4: %+v", n, h)
	}
}

// TestStaffButtonAnsweredOnce: a staff button press gets one answer, with
// its text, and none in the webhook response — also a refused press.
func TestStaffButtonAnsweredOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.start(504)
	code := e.refer(504, "Niš")
	_, cardID := e.card(code)
	for _, data := range []string{"c:" + code, "c:PK-2222", "x:" + code} {
		before := len(e.api.CallsTo("answerCallbackQuery"))
		body := e.staffTap(groupA, cardID, staffA, data)
		if strings.Contains(body, "answerCallbackQuery") {
			t.Errorf("%s: answered again in the webhook response: %s", data, body)
		}
		calls := e.api.CallsTo("answerCallbackQuery")[before:]
		if len(calls) != 1 || calls[0].Str("text") == "" {
			t.Errorf("%s: %d answers (%+v), want one with a text", data, len(calls), calls)
		}
	}
}

// TestCardIsLive: the card shows the case's status and edits itself when
// staff claim it (Claim goes away; who and when are shown) and close it
// (no buttons), and when the person withdraws (their answers go away).
func TestCardIsLive(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 505
	e.start(ana)
	code := e.refer(ana, "Bor")
	card, cardID := e.card(code)
	thread := int(card.Int("message_thread_id"))
	if !strings.Contains(card.Str("text"), "Status: ⏳ waiting to be claimed") {
		t.Errorf("new card:\n%s", card.Str("text"))
	}
	buttons := func(c botapitest.Call) []string {
		var kb struct {
			InlineKeyboard [][]struct {
				Data string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if err := c.Decode("reply_markup", &kb); err != nil {
			t.Fatalf("reply_markup %s: %v", c.Params["reply_markup"], err)
		}
		var out []string
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				out = append(out, b.Data)
			}
		}
		return out
	}
	edit := func(want string) botapitest.Call {
		return e.waitCall("editMessageText", func(c botapitest.Call) bool {
			return c.ChatID == groupA && int(c.Int("message_id")) == cardID && strings.Contains(c.Str("text"), want)
		})
	}

	e.staffTap(groupA, cardID, staffA, "c:"+code)
	ed := edit("Status: ✋ claimed")
	if !strings.Contains(ed.Str("text"), "Claimed: Case, ") || !strings.Contains(ed.Str("text"), "• town: Bor") ||
		strings.Contains(ed.Str("text"), "Worker") {
		t.Errorf("claimed card:\n%s", ed.Str("text"))
	}
	if got := buttons(ed); !slices.Equal(got, []string{"x:" + code}) {
		t.Errorf("claimed card buttons = %v", got)
	}

	e.staffSay(groupA, thread, staffA, "/close")
	ed = edit("Status: ✅ closed")
	if !strings.Contains(ed.Str("text"), "Claimed: Case, ") || !strings.Contains(ed.Str("text"), "Closed: Case, ") {
		t.Errorf("closed card:\n%s", ed.Str("text"))
	}
	if got := buttons(ed); len(got) != 0 {
		t.Errorf("closed card buttons = %v", got)
	}

	// Withdrawn: the case is taken back whole (its topic deleted, see
	// erase_test.go), so the card is not edited but goes with its topic.
	const bo = 506
	e.start(bo)
	code2 := e.refer(bo, "Zaječar")
	card2call, card2 := e.card(code2)
	thread2 := card2call.Int("message_thread_id")
	e.command(bo, "/delete")
	e.press(bo, content.TextDeleteYes)
	e.waitCall("deleteForumTopic", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == thread2
	})
	for _, c := range e.api.CallsTo("editMessageText") {
		if int(c.Int("message_id")) == card2 {
			t.Errorf("a withdrawn case's card was edited instead of deleted with its topic:\n%s", c.Str("text"))
		}
	}
}

// TestStaffGuidance: the card says what writing in the topic does and how
// to add a note (an open case's card only); /note is acknowledged with a
// reaction, not a message; /help (also /help@OurBot, anywhere in the
// group) lists every staff command, one line each; /help@another_bot is
// not ours.
func TestStaffGuidance(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana = 509
	e.start(ana)
	code := e.refer(ana, "Bor")
	card, cardID := e.card(code)
	thread := int(card.Int("message_thread_id"))
	guide := defaultTexts[tGuideCard]
	if !strings.Contains(card.Str("text"), guide) {
		t.Errorf("the card has no guidance:\n%s", card.Str("text"))
	}

	before := e.staffCalls(groupA)
	msg := e.staffSay(groupA, thread, staffA, "/note call back on Monday")
	r := e.waitCall("setMessageReaction", func(c botapitest.Call) bool {
		return c.ChatID == groupA && int(c.Int("message_id")) == msg
	})
	var reaction []struct{ Type, Emoji string }
	if err := r.Decode("reaction", &reaction); err != nil || len(reaction) != 1 ||
		reaction[0].Type != "emoji" || reaction[0].Emoji != "✍" {
		t.Errorf("reaction = %s (%v)", r.Params["reaction"], err)
	}
	if n := e.staffCalls(groupA); n != before {
		t.Errorf("/note was answered with %d message(s), not only a reaction", n-before)
	}

	lines := func(text string) []string { return strings.Split(text, "\n") }
	for _, cmd := range []string{"/help", "/help@" + e.api.BotUsername()} {
		for _, th := range []int{thread, 0} { // in a case's topic and outside
			msg := e.staffSay(groupA, th, staffA, cmd)
			ans := e.waitCall("sendMessage", func(c botapitest.Call) bool {
				return c.ChatID == groupA && strings.Contains(string(c.Params["reply_parameters"]), fmt.Sprintf(`"message_id":%d`, msg))
			})
			if int(ans.Int("message_thread_id")) != th {
				t.Errorf("%s in topic %d answered in topic %d", cmd, th, ans.Int("message_thread_id"))
			}
			for _, want := range []string{"/claim", "/close", "/note", "/waiting", "/help"} {
				n := 0
				for _, l := range lines(ans.Str("text")) {
					if strings.HasPrefix(l, want+":") || strings.HasPrefix(l, want+" ") {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s: %d lines for %s:\n%s", cmd, n, want, ans.Str("text"))
				}
			}
		}
	}
	before = e.staffCalls(groupA)
	e.staffSay(groupA, thread, staffA, "/help@some_other_bot")
	time.Sleep(100 * time.Millisecond)
	if n := e.staffCalls(groupA); n != before {
		t.Error("/help addressed to another bot was answered")
	}

	e.staffSay(groupA, thread, staffA, "/close")
	ed := e.waitCall("editMessageText", func(c botapitest.Call) bool {
		return int(c.Int("message_id")) == cardID && strings.Contains(c.Str("text"), "Status: ✅ closed")
	})
	if strings.Contains(ed.Str("text"), guide) {
		t.Errorf("a closed case's card still invites writing to the person:\n%s", ed.Str("text"))
	}
}

// TestPersonToldOfClose: staff closing a referral of a service with
// notify_closed (svc2) tell its person once, in their language, naming the
// code, through the person outbox; a service without it (svc) closes
// silently.
func TestPersonToldOfClose(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ana, bo = 510, 511
	e.start(ana)
	e.start(bo)
	told := func(chat int64, code string) int {
		n := 0
		for _, s := range e.texts(chat) {
			if strings.Contains(s, "common.case_closed") && strings.Contains(s, code) {
				n++
			}
		}
		return n
	}

	code := "PK-C2Q7"
	e.referDirect(fmt.Sprintf("tg:%d", ana), "svc2", code)
	card := e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupB && strings.Contains(c.Str("text"), code)
	})
	polltest.Until(t, 5*time.Second, "the card to be recorded", func() bool {
		cs, _ := e.svc.Case(t.Context(), code)
		return cs != nil && cs.Card != 0
	})
	e.staffSay(groupB, int(card.Int("message_thread_id")), staffA, "/close")
	e.waitText(ana, "EN common.case_closed "+code)
	// The notice went out once, though the entry may be read again.
	time.Sleep(200 * time.Millisecond)
	if n := told(ana, code); n != 1 {
		t.Errorf("the person was told %d times", n)
	}
	e.staffSay(groupB, int(card.Int("message_thread_id")), staffA, "/close")
	time.Sleep(200 * time.Millisecond)
	if n := told(ana, code); n != 1 {
		t.Errorf("closing again told the person again (%d)", n)
	}

	code2 := e.refer(bo, "Bor")
	card2, _ := e.card(code2)
	before := len(e.texts(bo))
	e.staffSay(groupA, int(card2.Int("message_thread_id")), staffA, "/close")
	polltest.Until(t, 5*time.Second, "the case to close", func() bool {
		cs, _ := e.svc.Case(t.Context(), code2)
		return cs != nil && cs.Status == StatusClosed
	})
	time.Sleep(300 * time.Millisecond)
	if got := e.texts(bo)[before:]; len(got) != 0 {
		t.Errorf("a service without notify_closed told the person: %q", got)
	}
}
