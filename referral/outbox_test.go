package referral

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
)

// referDirect stores a referral as the conversation would (the effect of
// its last answer), for tests about delivery.
func (e *testEnv) referDirect(user, service, code string) {
	e.t.Helper()
	fx := engine.Effect{Kind: engine.EffectReferral, Service: service, Code: code, Lang: "en",
		Vars: map[string]string{"town": "Town of " + code}, ConsentAt: time.Now(), ConsentVersion: "en:test"}
	if err := e.svc.Apply(context.Background(), user, "en", fx); err != nil {
		e.t.Fatalf("apply referral %s: %v", code, err)
	}
}

// codes returns n distinct codes in creation order.
func codes(n int) []string {
	out := make([]string, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		c := newCode()
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// cardsTo counts the successfully posted cards of a code and its topics.
func (e *testEnv) posted(code string) (topics, cards int) {
	for _, c := range e.api.Calls() {
		if !c.OK {
			continue
		}
		switch {
		case c.Method == "createForumTopic" && strings.Contains(c.Str("name"), code):
			topics++
		case c.Method == "sendMessage" && strings.Contains(string(c.Params["reply_markup"]), "c:"+code):
			cards++
		}
	}
	return topics, cards
}

func TestApplyIsIdempotentAndRefusesTakenCodes(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	e.referDirect("tg:601", "svc", "PK-2345")
	e.referDirect("tg:601", "svc", "PK-2345") // the same input again: nothing new
	if n, _ := e.svc.store.pending(t.Context(), e.svc.staffStream(groupA)); n != 1 {
		t.Fatalf("outbox entries = %d, want 1", n)
	}
	fx := engine.Effect{Kind: engine.EffectReferral, Service: "svc", Code: "PK-2345", ConsentAt: time.Now()}
	err := e.svc.Apply(t.Context(), "tg:602", "en", fx)
	if err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("someone else's code: %v", err)
	}
	fx.Service = "nowhere"
	e.svc.cfg.Queues = map[string]Queue{"svc": {Group: groupA}}
	if err := e.svc.Apply(t.Context(), "tg:603", "en", fx); err == nil || !strings.Contains(err.Error(), "no staff queue") {
		t.Fatalf("service without a queue: %v", err)
	}
}

// TestKilledBeforeCardPosted: the referral is written with its outbox entry,
// a worker takes the entry and dies before delivering it; a new worker (a
// restarted bot) takes it over after MinIdle and posts the card exactly once.
func TestKilledBeforeCardPosted(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	e.start(611)
	code := e.refer(611, "Sombor")
	if n, _ := e.svc.store.pending(t.Context(), e.svc.staffStream(groupA)); n != 1 {
		t.Fatalf("outbox entries after the referral = %d", n)
	}
	if n := len(e.api.ByChat(groupA)); n != 0 {
		t.Fatalf("staff got %d calls before any worker ran", n)
	}

	a := e.newService(prometheus.NewRegistry())
	reached := make(chan struct{}, 1)
	a.beforeDeliver = func(ctx context.Context, stream string, _ entry) {
		if stream != e.svc.staffStream(groupA) {
			return
		}
		select {
		case reached <- struct{}{}:
		default:
		}
		<-ctx.Done() // "killed" while holding the entry
	}
	stopA := e.run(a)
	select {
	case <-reached:
	case <-time.After(5 * time.Second):
		t.Fatal("worker A never took the entry")
	}
	stopA()
	p := e.rdb.XPending(t.Context(), e.k.Referral().Stream(e.svc.staffStream(groupA)), consumerGroup).Val()
	if p.Count != 1 || p.Consumers[a.consumer] != 1 {
		t.Fatalf("pending after A died = %+v", p)
	}

	b := e.newService(prometheus.NewRegistry())
	e.run(b)
	e.card(code)
	polltest.Until(t, 5*time.Second, "the outbox to drain", func() bool {
		n, _ := b.store.pending(context.Background(), e.svc.staffStream(groupA))
		return n == 0
	})
	time.Sleep(3 * e.cfg.MinIdle)
	if topics, cards := e.posted(code); topics != 1 || cards != 1 {
		t.Errorf("topics %d, cards %d; want exactly one each", topics, cards)
	}
}

// TestKilledAfterCardPosted: a worker posts the card and dies before
// acknowledging the entry; the worker that takes it over finds the card
// recorded on the case and posts nothing.
func TestKilledAfterCardPosted(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	e.referDirect("tg:612", "svc", "PK-7F3Q")
	a := e.newService(prometheus.NewRegistry())
	reached := make(chan struct{}, 1)
	a.beforeAck = func(ctx context.Context, stream string, _ entry) {
		if stream != e.svc.staffStream(groupA) {
			return
		}
		reached <- struct{}{}
		<-ctx.Done()
	}
	stopA := e.run(a)
	select {
	case <-reached:
	case <-time.After(5 * time.Second):
		t.Fatal("worker A never posted")
	}
	stopA()
	regB := prometheus.NewRegistry()
	b := e.newService(regB)
	e.run(b)
	polltest.Until(t, 5*time.Second, "B to take over", func() bool {
		return promtest.Sum(b.m.skipped) == 1
	})
	if topics, cards := e.posted("PK-7F3Q"); topics != 1 || cards != 1 {
		t.Errorf("topics %d, cards %d; want exactly one each", topics, cards)
	}
	if n, _ := b.store.pending(t.Context(), e.svc.staffStream(groupA)); n != 0 {
		t.Errorf("entries left: %d", n)
	}
}

// TestRetryAfter429: Telegram answers 429 with retry_after for the staff
// group; every card still arrives, none twice.
func TestRetryAfter429(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	e.api.TooManyRequests(3, 1, groupA)
	cs := codes(4)
	for i, c := range cs {
		e.referDirect(fmt.Sprintf("tg:%d", 620+i), "svc", c)
	}
	start := time.Now()
	e.run(e.svc)
	for _, c := range cs {
		e.card(c)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("delivered in %v: retry_after was not waited out", time.Since(start))
	}
	limited := 0
	for _, c := range e.api.ByChat(groupA) {
		if c.Status == 429 {
			limited++
		}
	}
	if limited != 3 {
		t.Errorf("429 answers = %d, want 3", limited)
	}
	time.Sleep(200 * time.Millisecond)
	for _, c := range cs {
		if topics, cards := e.posted(c); topics != 1 || cards != 1 {
			t.Errorf("%s: topics %d, cards %d", c, topics, cards)
		}
	}
	if got := promtest.Sum(e.svc.m.delivered.WithLabelValues(e.svc.staffStream(groupA), evOpen)); got != 4 {
		t.Errorf("delivered = %v", got)
	}
}

// TestBurstToOneGroup: 200 referrals at once to one group all arrive, in
// order, each once, and the group's rate limit holds.
func TestBurstToOneGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds")
	}
	const n = 200
	const perMinute = 6000.0 // 100 messages a second: a fast stand-in for Telegram's 20 a minute
	lim := fastLimits()
	lim.GroupPerMinute, lim.GroupBurst = perMinute, 1
	e := newEnv(t, envOpts{noWorker: true, limits: &lim})
	cs := codes(n)
	for i, c := range cs {
		e.referDirect(fmt.Sprintf("tg:%d", 10000+i), "svc", c)
	}
	start := time.Now()
	e.run(e.svc)
	calls, err := e.api.WaitUntil(func(calls []botapitest.Call) bool {
		k := 0
		for _, c := range calls {
			if c.OK && c.Method == "sendMessage" && c.ChatID == groupA {
				k++
			}
		}
		return k >= n
	}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var order []string
	var times []time.Time
	for _, c := range calls {
		if c.ChatID != groupA || !c.OK {
			continue
		}
		times = append(times, c.Time)
		if c.Method == "sendMessage" {
			order = append(order, codeRe.FindString(c.Str("text")))
		}
	}
	if !slices.Equal(order, cs) {
		t.Fatalf("cards out of order or duplicated: got %d cards, first mismatch at %d", len(order), firstDiff(order, cs))
	}
	// Two calls per referral (topic, card), 1/rate apart at the least.
	gap := time.Duration(float64(time.Minute) / perMinute)
	const window = 20
	for i := 0; i+window < len(times); i++ {
		if d := times[i+window].Sub(times[i]); d < time.Duration(float64(window-1)*float64(gap)*0.85) {
			t.Fatalf("%d calls in %v at %d: faster than %v/call", window, d, i, gap)
		}
	}
	min := time.Duration(len(times)-1) * gap
	if took < min*9/10 {
		t.Errorf("took %v for %d calls; the limit allows no less than %v", took, len(times), min)
	}
	if took > 4*min+5*time.Second {
		t.Errorf("took %v; the limit allows %v: much slower than it needs to be", took, min)
	}
	t.Logf("%d referrals, %d group calls in %v (limit %v per call)", n, len(times), took, gap)
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDeadLetter: an entry that keeps failing moves to the dead-letter
// stream with an alert, and the ones after it are delivered.
func TestDeadLetter(t *testing.T) {
	cfg := testConfig()
	cfg.Attempts = 3
	e := newEnv(t, envOpts{noWorker: true, cfg: &cfg})
	e.api.Fail(botapitest.Fault{Method: "createForumTopic", ChatID: groupA, Times: 3, Status: 403,
		Description: "Forbidden: bot was kicked from the supergroup chat"})
	e.referDirect("tg:630", "svc", "PK-DEAD")
	e.referDirect("tg:631", "svc", "PK-GQ2D")
	e.run(e.svc)
	e.card("PK-GQ2D")
	dead := e.rdb.XRange(t.Context(), e.k.Referral().Dead(e.svc.staffStream(groupA)), "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["code"] != "PK-DEAD" || dead[0].Values["attempts"] != "3" ||
		!strings.Contains(fmt.Sprint(dead[0].Values["reason"]), "403") {
		t.Fatalf("dead letters = %+v", dead)
	}
	if got := promtest.Sum(e.svc.m.dead); got != 1 {
		t.Errorf("dead-lettered = %v", got)
	}
	if got := promtest.Sum(e.svc.m.retried); got != 2 {
		t.Errorf("retried = %v", got)
	}
	if !strings.Contains(e.logs.String(), "ALERT: outbox entry could not be delivered") {
		t.Error("no alert logged")
	}
	if topics, cards := e.posted("PK-DEAD"); topics != 0 || cards != 0 {
		t.Errorf("dead entry delivered anyway")
	}
}

// TestTwoReplicasShareTheOutbox: two services on one Redis deliver every
// card once (the lease keeps one worker per stream).
func TestTwoReplicasShareTheOutbox(t *testing.T) {
	e := newEnv(t, envOpts{noWorker: true})
	cs := codes(30)
	e.run(e.svc)
	b := e.newService(prometheus.NewRegistry())
	e.run(b)
	var stored atomic.Int32
	for i, c := range cs {
		e.referDirect(fmt.Sprintf("tg:%d", 700+i), "svc", c)
		stored.Add(1)
	}
	for _, c := range cs {
		e.card(c)
	}
	time.Sleep(300 * time.Millisecond)
	var order []string
	for _, c := range e.api.Delivered("sendMessage") {
		if c.ChatID == groupA {
			order = append(order, codeRe.FindString(c.Str("text")))
		}
	}
	if !slices.Equal(order, cs) {
		t.Errorf("cards = %v, want each once in order %v", order, cs)
	}
}

// TestNoTopicsFallsBackToMainChat: a group that is not a forum gets cases
// in its main chat; staff answer by replying to the card.
func TestNoTopicsFallsBackToMainChat(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.api.Fail(botapitest.Fault{Method: "createForumTopic", ChatID: groupA, Times: 10, Status: 400,
		Description: "Bad Request: the chat is not a forum"})
	e.start(640)
	code := e.refer(640, "Šid")
	card, cardID := e.card(code)
	if card.Has("message_thread_id") {
		t.Errorf("card in topic %d", card.Int("message_thread_id"))
	}
	id := e.id()
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,`+
		`"reply_to_message":{"message_id":%d,"chat":%s,"date":1767225600,"text":"card"},"text":"we saw it"}}`,
		id, id, staffUser(staffA), groupChat(groupA), cardID, groupChat(groupA)))
	e.waitText(640, "EN common.case_talk.from Test service "+code+"\nwe saw it")
}

// TestFixedTopic: a queue with a fixed topic posts every case there.
func TestFixedTopic(t *testing.T) {
	cfg := testConfig()
	cfg.Queues["svc"] = Queue{Group: groupA, Topic: 42}
	e := newEnv(t, envOpts{cfg: &cfg})
	e.start(641)
	code := e.refer(641, "Bor")
	card, cardID := e.card(code)
	if card.Int("message_thread_id") != 42 || len(e.api.CallsTo("createForumTopic")) != 0 {
		t.Fatalf("card in %d, topics created %d", card.Int("message_thread_id"), len(e.api.CallsTo("createForumTopic")))
	}
	e.staffTap(groupA, cardID, staffA, "x:"+code)
	if c, _ := e.svc.Case(t.Context(), code); c.Status != StatusClosed {
		t.Fatalf("status %s", c.Status)
	}
	if n := len(e.api.CallsTo("closeForumTopic")); n != 0 {
		t.Errorf("the shared topic was closed")
	}
}

// TestOutboxSurvivesALostStream: Redis restarted without persistence (or
// flushed) takes a stream with its consumer group; the worker, blocked on
// it or reading it next, creates both again, says so, and delivers the
// referrals that come after.
func TestOutboxSurvivesALostStream(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.start(621)
	e.card(e.refer(621, "Sombor"))
	if err := e.rdb.Del(t.Context(), e.k.Referral().Stream(e.svc.staffStream(groupA))).Err(); err != nil {
		t.Fatal(err)
	}
	e.start(622)
	e.card(e.refer(622, "Novi Sad"))
	if n := promtest.Sum(e.svc.m.streamsLost); n != 1 {
		t.Errorf("streams lost = %v, want 1", n)
	}
	if !strings.Contains(e.logs.String(), "outbox stream lost") {
		t.Error("no error log about the lost stream")
	}
}
