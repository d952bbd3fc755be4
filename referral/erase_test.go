package referral

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
)

// scanFor fails the test for every key under the test's prefix whose name
// or value contains one of needles (SCAN, then GET, HGETALL, SMEMBERS,
// ZRANGE, LRANGE or XRANGE as the type fits).
func (e *testEnv) scanFor(needles ...string) {
	e.t.Helper()
	ctx := context.Background()
	var keys []string
	var cursor uint64
	for {
		ks, next, err := e.rdb.Scan(ctx, cursor, e.k.PrefixPattern(), 500).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		keys = append(keys, ks...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	if len(keys) == 0 {
		e.t.Fatal("no keys at all: the scan looks in the wrong place")
	}
	for _, key := range keys {
		var vals []string
		switch typ := e.rdb.Type(ctx, key).Val(); typ {
		case "string":
			vals = []string{e.rdb.Get(ctx, key).Val()}
		case "hash":
			for f, v := range e.rdb.HGetAll(ctx, key).Val() {
				vals = append(vals, f, v)
			}
		case "set":
			vals = e.rdb.SMembers(ctx, key).Val()
		case "zset":
			vals = e.rdb.ZRange(ctx, key, 0, -1).Val()
		case "list":
			vals = e.rdb.LRange(ctx, key, 0, -1).Val()
		case "stream":
			for _, m := range e.rdb.XRange(ctx, key, "-", "+").Val() {
				vals = append(vals, m.ID)
				for f, v := range m.Values {
					vals = append(vals, f, fmt.Sprint(v))
				}
			}
		case "none":
			continue // expired meanwhile
		default:
			e.t.Errorf("%s: unexpected type %s", key, typ)
		}
		for _, n := range needles {
			if strings.Contains(key, n) {
				e.t.Errorf("key %q names the person (%q)", key, n)
			}
			for _, v := range vals {
				if strings.Contains(v, n) {
					e.t.Errorf("key %q holds a value naming the person (%q): %q", key, n, v)
				}
			}
		}
	}
}

// TestErasureLeavesNothingNamingThePerson: a conversation with a
// subscription to a topic's updates, a referral
// (claimed, with a staff note) and a handoff (messages both ways), then
// /delete: afterwards no Redis key or value names the person's chat — in
// decimal or as its hash tag — and both topics are gone from the staff
// group, staff being told by code in the General topic.
func TestErasureLeavesNothingNamingThePerson(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ema = 918273645
	e.start(ema)
	e.command(ema, "/subscribe")
	e.press(ema, "SOS")
	e.waitText(ema, content.TextSubDone)
	if n, err := e.rdb.Exists(t.Context(), e.k.Subs(fmt.Sprint("tg:", ema)), e.k.SubsTopic("sos", "en")).Result(); err != nil || n != 2 {
		t.Fatalf("the subscription is not stored (%d keys, %v)", n, err)
	}
	e.command(ema, "/menu")
	code := e.refer(ema, "Kikinda")
	ref, card := e.card(code)
	e.staffTap(groupA, card, staffA, "c:"+code)
	e.staffSay(groupA, int(ref.Int("message_thread_id")), staffA, "/note called the centre")
	e.command(ema, "/menu")
	e.talk(ema)
	live, _ := e.svc.store.live(t.Context(), fmt.Sprint("tg:", ema))
	hcard, hcardID := e.card(live)
	e.staffTap(groupA, hcardID, staffA, "c:"+live)
	e.say(ema, "I am in Subotica")
	e.waitText(groupA, "I am in Subotica")
	e.photo(ema)
	e.staffSay(groupA, int(hcard.Int("message_thread_id")), staffA, "Stay where you are.")
	e.waitCall("copyMessage", func(c botapitest.Call) bool { return c.ChatID == ema })

	e.command(ema, "/delete")
	e.press(ema, content.TextDeleteYes)
	e.waitText(ema, content.TextDeleteDone)
	for _, th := range []int64{ref.Int("message_thread_id"), hcard.Int("message_thread_id")} {
		e.waitCall("deleteForumTopic", func(c botapitest.Call) bool {
			return c.ChatID == groupA && c.Int("message_thread_id") == th
		})
	}
	for _, cd := range []string{code, live} {
		e.waitCall("sendMessage", func(c botapitest.Call) bool {
			return c.ChatID == groupA && !c.Has("message_thread_id") && strings.Contains(c.Str("text"), cd)
		})
	}
	// Let the outbox acknowledge what it delivered.
	polltest.Until(t, 5*time.Second, "the outbox to drain", func() bool {
		n, _ := e.svc.store.pending(context.Background(), e.svc.staffStream(groupA))
		return n == 0
	})
	// Nor what was written both ways, kept in the cases' histories until now.
	e.scanFor(fmt.Sprint(ema), fmt.Sprintf("{tg:%d}", ema), "Subotica", "Stay where you are", "called the centre")
	// The erasing update delivered again is not handled twice.
	before := len(e.api.ByChat(ema))
	e.tapAgain(t, ema)
	if n := len(e.api.ByChat(ema)); n != before {
		t.Errorf("the erasing update was handled again: %d more calls", n-before)
	}
	e.scanFor(fmt.Sprint(ema), fmt.Sprintf("{tg:%d}", ema))
}

// tapAgain delivers the newest update again (Telegram's re-delivery).
func (e *testEnv) tapAgain(t *testing.T, chat int64) {
	t.Helper()
	id := e.nextID.Load()
	e.post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"cb%d","from":%s,"message":{"message_id":7,"from":`+
		`{"id":123456,"is_bot":true,"first_name":"Putokaz","username":"PutokazBot"},"chat":%s,"date":1767225600,"text":"x"},`+
		`"chat_instance":"-77","data":%s}}`, id, id, person(chat), privateChat(chat),
		jsonStr(e.buttonData(chat, content.TextDeleteYes))))
}

// TestEraseInSharedTopic: where a queue's cases share one topic, /delete
// deletes the bot's messages of the case (card, relay, alert) — and
// nothing of another case — and says so in that topic.
func TestEraseInSharedTopic(t *testing.T) {
	cfg := testConfig()
	cfg.Queues["svc"] = Queue{Group: groupA, Topic: 77}
	e := newEnv(t, envOpts{cfg: &cfg})
	const fil, gus = 505, 506
	e.start(gus)
	other := e.refer(gus, "Sombor")
	_, otherCard := e.card(other)
	e.start(fil)
	e.talk(fil)
	live, _ := e.svc.store.live(t.Context(), "tg:505")
	_, cardID := e.card(live)
	e.say(fil, "hello staff")
	relay := e.waitText(groupA, "hello staff")
	e.say(fil, "police")
	alert := e.waitText(groupA, "emergency word")
	polltest.Until(t, 5*time.Second, "the alert to be recorded", func() bool {
		tr, _ := e.svc.store.trace(context.Background(), live)
		return tr != nil && slices.Contains(tr.msgs, alert.MessageID)
	})
	e.command(fil, "/delete")
	e.press(fil, content.TextDeleteYes)
	e.waitText(fil, content.TextDeleteDone)
	del := e.waitCall("deleteMessages", func(c botapitest.Call) bool { return c.ChatID == groupA })
	got := del.Ints("message_ids")
	// Everything the bot posted in the shared topic before, but the other
	// case's card: the card, the relays ("hello staff", "police"), the alert.
	var want []int
	for _, c := range e.api.ByChat(groupA) {
		if c.OK && c.MessageID != 0 && c.Int("message_thread_id") == 77 && c.Time.Before(del.Time) && c.MessageID != otherCard {
			want = append(want, c.MessageID)
		}
	}
	if !slices.Equal(got, want) || !slices.Contains(got, cardID) || !slices.Contains(got, relay.MessageID) ||
		!slices.Contains(got, alert.MessageID) {
		t.Errorf("deleted %v, want %v (card %d, relay %d, alert %d)", got, want, cardID, relay.MessageID, alert.MessageID)
	}
	if slices.Contains(got, otherCard) {
		t.Error("another case's card was deleted")
	}
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && c.Int("message_thread_id") == 77 && strings.Contains(c.Str("text"), live) &&
			strings.Contains(c.Str("text"), "withdrew")
	})
	if n := len(e.api.CallsTo("deleteForumTopic")); n != 0 {
		t.Errorf("the shared topic was deleted (%d calls)", n)
	}
}

// TestExpiredCaseLeavesTheStaffGroup: when a case's retention ends, the
// sweep has its topic deleted (no notice: nothing happened to the person),
// once however often it runs, and forgets where it was; a live case's
// trace is kept and outlives it.
func TestExpiredCaseLeavesTheStaffGroup(t *testing.T) {
	e := newEnv(t, envOpts{})
	const hana = 507
	e.start(hana)
	done := e.refer(hana, "Pirot")
	call, card := e.card(done)
	e.staffTap(groupA, card, staffA, "x:"+done)
	e.command(hana, "/menu")
	kept := e.refer(hana, "Vranje")
	e.card(kept)
	ctx := t.Context()
	// The retention of the closed case ends.
	if err := e.rdb.Del(ctx, e.k.Referral().Case(done)).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	th := call.Int("message_thread_id")
	e.waitCall("deleteForumTopic", func(c botapitest.Call) bool { return c.ChatID == groupA && c.Int("message_thread_id") == th })
	polltest.Until(t, 5*time.Second, "the trace to be forgotten", func() bool {
		return e.rdb.Exists(context.Background(), e.k.Referral().Trace(done)).Val() == 0
	})
	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.api.CallsTo("deleteForumTopic")); n != 1 {
		t.Errorf("deleteForumTopic called %d times, want 1", n)
	}
	for _, c := range e.api.ByChat(groupA) {
		if c.Method == "sendMessage" && strings.Contains(c.Str("text"), "withdrew") {
			t.Errorf("staff were told of a withdrawal at the end of the retention")
		}
	}
	if n := promtest.Sum(e.svc.m.staffErased.WithLabelValues("expired", "topic", "deleted")); n != 1 {
		t.Errorf("expired counted %v", n)
	}
	// The open case keeps its trace, longer than the case itself.
	if ttl, cttl := e.rdb.PTTL(ctx, e.k.Referral().Trace(kept)).Val(), e.rdb.PTTL(ctx, e.k.Referral().Case(kept)).Val(); ttl < cttl+traceGrace-time.Minute {
		t.Errorf("trace TTL %v, case TTL %v", ttl, cttl)
	}
	if e.rdb.ZScore(ctx, e.k.Referral().Traces(), kept).Err() != nil {
		t.Error("the open case is no longer listed for the sweep")
	}
}

// TestEraseRefusedByTelegram: when the bot may not delete the topic, that
// is counted and logged as an error (no personal data), not retried, and
// staff are still told.
func TestEraseRefusedByTelegram(t *testing.T) {
	e := newEnv(t, envOpts{})
	const ivo = 508
	e.start(ivo)
	code := e.refer(ivo, "Zrenjanin")
	e.card(code)
	e.api.Fail(botapitest.Fault{Method: "deleteForumTopic", Times: 1, Status: 400,
		Description: "Bad Request: not enough rights to delete the topic"})
	e.command(ivo, "/delete")
	e.press(ivo, content.TextDeleteYes)
	e.waitText(ivo, content.TextDeleteDone)
	e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID == groupA && strings.Contains(c.Str("text"), code) && strings.Contains(c.Str("text"), "withdrew")
	})
	if n := promtest.Sum(e.svc.m.staffErased.WithLabelValues("deleted", "topic", "refused")); n != 1 {
		t.Errorf("refused counted %v", n)
	}
	if n := len(e.api.CallsTo("deleteForumTopic")); n != 1 {
		t.Errorf("deleteForumTopic tried %d times, want 1", n)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "Telegram refused to delete a case's messages") || strings.Contains(logs, "Zrenjanin") {
		t.Errorf("logs:\n%s", logs)
	}
}

// TestMemoryStoreTakesBack: the playground's store and staff side do the
// same: /delete removes the case's topic from the staff pane.
func TestMemoryStoreTakesBack(t *testing.T) {
	st := NewMemoryStore()
	mem := NewMemoryStaff()
	svc, err := New(Options{Config: testConfig(), Store: st, Staff: mem, Content: content.NewHolder(testContent(t))})
	if err != nil {
		t.Fatal(err)
	}
	mem.Bind(svc)
	ctx := t.Context()
	thread, _ := mem.OpenTopic(ctx, groupA, "x")
	c := &Case{Code: "PK-ABCD", Kind: KindReferral, User: "tg:9", Service: "svc", Status: StatusReceived, Group: groupA}
	if _, err := st.create(ctx, c, Entry{}, svc.streams(c), false, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.place(ctx, c.Code, placement{group: groupA, setThread: true, thread: thread, mapTopic: true, ttl: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Erase(ctx, "tg:9"); err != nil {
		t.Fatal(err)
	}
	es, _, _ := st.read(ctx, svc.staffStream(groupA), "c", 0, 0, 10)
	var withdrawn *entry
	for i := range es {
		if es[i].Event == evWithdrawn {
			withdrawn = &es[i]
		}
	}
	if withdrawn == nil {
		t.Fatalf("entries %+v", es)
	}
	if err := svc.deliverStaff(ctx, *withdrawn); err != nil && err != errSkip {
		t.Fatal(err)
	}
	for _, tp := range mem.Topics() {
		if tp.Thread == thread {
			t.Error("the topic is still in the staff pane")
		}
	}
	if tr, _ := st.trace(ctx, c.Code); tr != nil {
		t.Errorf("trace kept: %+v", tr)
	}
}
