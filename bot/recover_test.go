package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/redistest"
)

// countingSessionConv keeps a counter in the person's session (through the
// session read with the lease) and answers "<text> #<counter>"; for the text
// "during outage" it stops until released, so a test can stop Redis between
// "replies decided" and "update recorded".
type countingSessionConv struct {
	reached chan string
	hold    chan struct{}
	mu      sync.Mutex
	calls   map[string]int // text → times asked
}

func (c *countingSessionConv) HandleSession(_ context.Context, user string, sess *conversation.Session, in engine.Input) ([]engine.Message, error) {
	if sess == nil {
		return nil, errors.New("no session read with the lease")
	}
	n, _ := strconv.Atoi(string(sess.Load()))
	n++
	sess.Stage([]byte(strconv.Itoa(n)))
	c.mu.Lock()
	c.calls[user+" "+in.Text]++
	c.mu.Unlock()
	if in.Text == "during outage" {
		c.reached <- user
		<-c.hold
	}
	return reply(fmt.Sprintf("%s #%d", in.Text, n)), nil
}

// TestRedisRestartAnswersNothingTwice: Redis dies after the replies of an
// update are decided and before the update is recorded, and comes back
// empty (no persistence) a second later. Telegram re-sends the update until
// it gets 200. Every update is answered exactly once, the sessions continue
// from the update whose end was kept in memory, and every 503 is logged and
// counted with its reason.
func TestRedisRestartAnswersNothingTwice(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	k := keys.New("once:")
	const chats = 5
	conv := &countingSessionConv{reached: make(chan string, chats), hold: make(chan struct{}), calls: map[string]int{}}
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k})
	chatID := func(c int) int64 { return 918273600 + int64(c) }
	update := func(round, c int, text string) string { return textUpdate(int64(100*round+c), chatID(c), text) }

	for c := range chats {
		if code, _ := e.post(update(1, c, "before")); code != http.StatusOK {
			t.Fatalf("chat %d: status %d", c, code)
		}
	}
	// Round 2: every chat's update reaches the conversation; Redis dies;
	// the replies go out; recording the end fails.
	codes := make(chan int, chats)
	for c := range chats {
		go func() {
			code, _ := postWebhook(t, e.http.URL+"/telegram/hook", testSecret, update(2, c, "during outage"))
			codes <- code
		}()
	}
	for range chats {
		<-conv.reached
	}
	srv.Stop()
	close(conv.hold)
	for range chats {
		if code := <-codes; code != http.StatusServiceUnavailable {
			t.Errorf("update whose end is only in memory answered %d, want 503", code)
		}
	}
	if got := e.counter(e.srv.m.pending); got != chats {
		t.Errorf("pending records = %v, want %d", got, chats)
	}
	// Telegram re-sends while Redis is down, then after it is back.
	restartAt := time.Now().Add(time.Second)
	var restarted time.Time
	answered := make([]bool, chats)
	deadline := time.Now().Add(10 * time.Second)
	for left := chats; left > 0; {
		if restarted.IsZero() && time.Now().After(restartAt) {
			srv.Start()
			restarted = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d chats not answered 200 within 10 s", left)
		}
		for c := range chats {
			if answered[c] {
				continue
			}
			if code, _ := e.post(update(2, c, "during outage")); code == http.StatusOK {
				answered[c] = true
				left--
			} else if code != http.StatusServiceUnavailable {
				t.Errorf("re-send answered %d, want 503 or 200", code)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(restarted)
	if recovered > 2*time.Second {
		t.Errorf("chats answered %v after Redis was back, want within 2 s", recovered)
	}
	for c := range chats {
		if code, _ := e.post(update(3, c, "after")); code != http.StatusOK {
			t.Fatalf("chat %d after the outage: status %d", c, code)
		}
	}

	for c := range chats {
		var texts []string
		for _, call := range e.api.Delivered("sendMessage") {
			if call.ChatID == chatID(c) {
				texts = append(texts, call.Str("text"))
			}
		}
		// The session of round 1 died with Redis; the end of round 2 was
		// kept in memory, so round 3 continues from it.
		want := []string{"before #1", "during outage #2", "after #3"}
		if strings.Join(texts, "|") != strings.Join(want, "|") {
			t.Errorf("chat %d got %q, want each update answered once: %q", c, texts, want)
		}
		for _, text := range []string{"before", "during outage", "after"} {
			if n := conv.calls[userKey(chatID(c))+" "+text]; n != 1 {
				t.Errorf("chat %d: conversation asked %d times for %q", c, n, text)
			}
		}
	}
	m := e.srv.m
	if got := e.counter(m.pendingFlushed); got != chats {
		t.Errorf("pending records flushed = %v, want %d", got, chats)
	}
	if got := e.counter(m.pending); got != 0 {
		t.Errorf("pending records left = %v", got)
	}
	if got := e.counter(m.webhookRetry.WithLabelValues("503", "record_pending")); got != chats {
		t.Errorf("503 record_pending = %v, want %d", got, chats)
	}
	if got := e.counter(m.webhookRetry.WithLabelValues("503", "redis_unreachable")); got < chats {
		t.Errorf("503 redis_unreachable = %v, want at least %d (re-sends while Redis was down)", got, chats)
	}
	if got := e.counter(m.dedupeHits); got != chats {
		t.Errorf("duplicates recognised = %v, want %d", got, chats)
	}
	logs := e.logBuf.String()
	for _, reason := range []string{`"reason":"record_pending"`, `"reason":"redis_unreachable"`} {
		if !strings.Contains(logs, reason) {
			t.Errorf("no 503 logged with %s", reason)
		}
	}
	for c := range chats {
		if strings.Contains(logs, strconv.FormatInt(chatID(c), 10)) {
			t.Errorf("logs hold the raw chat id of chat %d", c)
		}
	}
	if strings.Contains(logs, "during outage") {
		t.Error("logs hold message text")
	}
	t.Logf("measured: %d updates × %d chats, %d sendMessage, 0 duplicated; every chat answered %v after Redis was back "+
		"(re-sends every 100 ms); 503s: %v record_pending, %v redis_unreachable",
		3, chats, len(e.api.Delivered("sendMessage")), recovered.Round(time.Millisecond),
		e.counter(m.webhookRetry.WithLabelValues("503", "record_pending")),
		e.counter(m.webhookRetry.WithLabelValues("503", "redis_unreachable")))
}

// TestLeaseTakeover: a handler "killed" mid-update leaves its lease (a token
// of another process instance, whose heartbeat is gone). The re-send of that
// same update takes the lease over within 2 s, long before it would
// expire; a different update of the chat waits (per-chat order), and so does
// a re-send while the holder's process is alive. Every 503 is logged with
// its reason.
func TestLeaseTakeover(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	k := keys.New("takeover:")
	lim := testLimits()
	lim.LeaseTTL = 15 * time.Second // as in production: expiry must not be what frees the chat
	lim.LeaseWait = time.Second
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k, limits: &lim})
	ctx := t.Context()
	const chat int64 = 918273700
	now := func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }
	abandon := func(token string) {
		t.Helper()
		if err := rdb.Set(ctx, k.ChatLease(chatKey(chat)), token, lim.LeaseTTL).Err(); err != nil {
			t.Fatal(err)
		}
	}
	handled := func(text string) int {
		n := 0
		for _, c := range conv.Calls() {
			if c.in.Text == text {
				n++
			}
		}
		return n
	}

	// Killed while handling update 50: its process's heartbeat is gone.
	abandon("deadbeef0000.50." + now() + ".0123456789abcdef")
	start := time.Now()
	code, _ := e.post(textUpdate(50, chat, "killed"))
	took := time.Since(start)
	if code != http.StatusOK || handled("killed") != 1 {
		t.Fatalf("re-send after a kill: status %d, handled %d times", code, handled("killed"))
	}
	if took > 2*time.Second {
		t.Errorf("re-send answered after %v, want within 2 s", took)
	}
	if got := e.counter(e.srv.m.leaseTakeovers); got != 1 {
		t.Errorf("takeovers = %v", got)
	}
	t.Logf("measured: the re-send of the killed update was answered after %v", took.Round(time.Millisecond))

	// A dead holder of another update: update 61 must wait (503, busy).
	abandon("deadbeef0000.60." + now() + ".0123456789abcdef")
	if code, _ := e.post(textUpdate(61, chat, "next")); code != http.StatusServiceUnavailable || handled("next") != 0 {
		t.Errorf("another update took a lease: status %d", code)
	}
	// A live holder (heartbeat present) of the same update: no takeover.
	if err := rdb.Set(ctx, k.Instance("cafe00000000"), "1", 10*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	abandon("cafe00000000.70." + now() + ".0123456789abcdef")
	if code, _ := e.post(textUpdate(70, chat, "alive")); code != http.StatusServiceUnavailable || handled("alive") != 0 {
		t.Errorf("took the lease of a live handler: status %d", code)
	}
	// A live process whose lease is older than any handling can last.
	abandon("cafe00000000.71." + strconv.FormatInt(time.Now().Add(-e.srv.d.staleLeaseAge()-time.Second).UnixMilli(), 10) + ".x")
	if code, _ := e.post(textUpdate(71, chat, "stale")); code != http.StatusOK || handled("stale") != 1 {
		t.Errorf("stale lease not taken over: status %d", code)
	}
	// Our own instance's lease for the update (its end never recorded):
	// taken at once.
	abandon(e.srv.d.instance + ".80." + now() + ".0123456789abcdef")
	start = time.Now()
	if code, _ := e.post(textUpdate(80, chat, "own")); code != http.StatusOK || handled("own") != 1 {
		t.Errorf("own stale lease: status %d", code)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("own stale lease taken after %v", took)
	}
	if got := e.counter(e.srv.m.leaseTakeovers); got != 3 {
		t.Errorf("takeovers = %v, want 3", got)
	}
	if got := e.counter(e.srv.m.webhookRetry.WithLabelValues("503", "busy")); got != 2 {
		t.Errorf("503 busy counted %v times, want 2", got)
	}
	logs := e.logBuf.String()
	if n := strings.Count(logs, `"reason":"busy"`); n != 2 {
		t.Errorf("503 busy logged %d times, want 2", n)
	}
	if strings.Contains(logs, strconv.FormatInt(chat, 10)) {
		t.Error("logs hold the raw chat id")
	}
	// Each update answered once.
	if n := len(e.api.Delivered("sendMessage")); n != 3 {
		t.Errorf("sendMessage = %d, want 3", n)
	}
}

// TestWebhookLogsShuttingDown: a 503 while draining says so.
func TestWebhookLogsShuttingDown(t *testing.T) {
	e := newEnv(t, envOpts{memory: true})
	if err := e.srv.d.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.post(textUpdate(1, 918273800, "hi")); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d while draining", code)
	}
	if got := e.counter(e.srv.m.webhookRetry.WithLabelValues("503", "shutting_down")); got != 1 {
		t.Errorf("503 shutting_down = %v", got)
	}
	if !strings.Contains(e.logBuf.String(), `"reason":"shutting_down"`) {
		t.Error("503 while draining not logged with its reason")
	}
}

// TestRedisFlushRecordsOnce: finish with flush marks the update done
// whoever holds the lease, writes the session only if nobody can have
// written it since, and does nothing for an update already done.
func TestRedisFlushRecordsOnce(t *testing.T) {
	rdb, k := redistest.New(t)
	st := newRedisState(rdb, k, testLimits().withDefaults())
	ctx := t.Context()
	chat := "tg:93"
	key := k.Session(chat)
	staged := func(s string) *sessionWrite { return &sessionWrite{key: key, blob: []byte(s)} }
	isDone := func(id int64) bool {
		return rdb.SIsMember(ctx, k.ChatDone(chat), strconv.FormatInt(id, 10)).Val()
	}
	// Update 1's lease vanished (Redis restarted), and update 2 was handled
	// meanwhile: 1's flush marks it done but keeps 2's session.
	if _, err := st.begin(ctx, chat, 1, "A", false, key); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, k.ChatLease(chat))
	if _, err := st.begin(ctx, chat, 2, "B", false, key); err != nil {
		t.Fatal(err)
	}
	if ls, err := st.finish(ctx, chat, 2, "B", finishArgs{done: true, session: staged("s2")}); ls != leaseHeld || err != nil {
		t.Fatalf("finish 2 = %v, %v", ls, err)
	}
	if _, err := st.finish(ctx, chat, 1, "A", finishArgs{done: true, session: staged("s1"), flush: true}); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "s2" || !isDone(1) {
		t.Errorf("after a late flush: session %q, 1 done %v; want s2, true", got, isDone(1))
	}
	// Flushed again (the first flush's answer was lost): nothing changes.
	if ls, err := st.finish(ctx, chat, 1, "A", finishArgs{done: true, session: staged("s1 again"), flush: true}); ls != leaseGone || err != nil {
		t.Errorf("second flush = %v, %v", ls, err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "s2" {
		t.Errorf("session = %q after a repeated flush", got)
	}
	// The lease gone and nothing later done (a Redis restart): the flush
	// writes the session.
	if _, err := st.begin(ctx, chat, 3, "C", false, key); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, k.ChatLease(chat))
	if _, err := st.finish(ctx, chat, 3, "C", finishArgs{done: true, session: staged("s3"), flush: true}); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "s3" || !isDone(3) {
		t.Errorf("flush after a restart: session %q, done %v", got, isDone(3))
	}
	// Another handler holds the chat: done is marked, its session and lease
	// are left alone.
	if _, err := st.begin(ctx, chat, 5, "E", false, key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.finish(ctx, chat, 4, "D", finishArgs{done: true, session: staged("s4"), flush: true}); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "s3" || !isDone(4) || rdb.Get(ctx, k.ChatLease(chat)).Val() != "E" {
		t.Errorf("flush under another holder: session %q, done %v, lease %q", got, isDone(4), rdb.Get(ctx, k.ChatLease(chat)).Val())
	}
	if _, err := st.finish(ctx, chat, 5, "E", finishArgs{done: true}); err != nil {
		t.Fatal(err)
	}
	// The lease still ours (it survived an outage in the append-only
	// file): the flush writes the session and releases the lease at once.
	if _, err := st.begin(ctx, chat, 6, "F", false, key); err != nil {
		t.Fatal(err)
	}
	if ls, err := st.finish(ctx, chat, 6, "F", finishArgs{done: true, session: staged("s6"), flush: true}); ls != leaseHeld || err != nil {
		t.Errorf("flush with the lease ours = %v, %v", ls, err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "s6" || !isDone(6) || rdb.Exists(ctx, k.ChatLease(chat)).Val() != 0 {
		t.Errorf("flush with the lease ours: session %q, done %v, lease left %v", got, isDone(6), rdb.Exists(ctx, k.ChatLease(chat)).Val())
	}
}

func TestTakeOverIsCompareAndSet(t *testing.T) {
	for name, st := range stateImpls(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			chat := "tg:94"
			if r, err := st.begin(ctx, chat, 1, "A", false, ""); err != nil || r.status != beginAcquired {
				t.Fatalf("begin = %+v, %v", r, err)
			}
			r, _ := st.begin(ctx, chat, 1, "B", false, "")
			if r.status != beginBusy || r.holder != "A" {
				t.Fatalf("busy begin = %+v, want the holder's token", r)
			}
			if ok, err := st.takeOver(ctx, chat, "X", "B"); ok || err != nil {
				t.Errorf("took over from a holder that does not hold it: %v %v", ok, err)
			}
			if ok, err := st.takeOver(ctx, chat, "A", "B"); !ok || err != nil {
				t.Errorf("takeOver = %v %v", ok, err)
			}
			if r, _ := st.begin(ctx, chat, 1, "B", false, ""); r.status != beginAcquired || r.attempt != 2 {
				t.Errorf("begin after takeover = %+v", r)
			}
			if ls, _ := st.finish(ctx, chat, 1, "A", finishArgs{done: true}); ls != leaseTaken {
				t.Errorf("the old holder's finish = %v, want taken", ls)
			}
		})
	}
}

func TestLeaseTokenNamesItsHolder(t *testing.T) {
	d := &Dispatcher{instance: "0123456789ab"}
	tok := d.leaseToken(42)
	h, ok := parseLeaseToken(tok)
	if !ok || h.instance != "0123456789ab" || h.updateID != 42 || time.Since(h.start) > time.Minute {
		t.Errorf("parse(%q) = %+v, %v", tok, h, ok)
	}
	if d.leaseToken(42) == tok {
		t.Error("two attempts got the same token")
	}
	for _, bad := range []string{"", "0123456789abcdef0123456789abcdef", "a.b.c.d", ".1.2.x"} {
		if _, ok := parseLeaseToken(bad); ok {
			t.Errorf("parse(%q) ok", bad)
		}
	}
}

// TestHeartbeatOnCluster: the heartbeat key lives in its own slot, outside
// any chat's scripts; it is written and read through a cluster client too.
func TestHeartbeatOnCluster(t *testing.T) {
	cluster := redistest.StartClusterServer(t)
	rdb := cluster.Client()
	k := keys.New("beat:")
	e := newEnv(t, envOpts{rdb: rdb, keys: &k})
	if code, _ := e.post(textUpdate(1, 918273900, "hi")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	alive, err := e.srv.d.alive(t.Context(), e.srv.d.instance)
	if err != nil || !alive {
		t.Fatalf("own heartbeat: alive %v, %v", alive, err)
	}
	if ttl := rdb.PTTL(t.Context(), k.Instance(e.srv.d.instance)).Val(); ttl <= 0 || ttl > heartbeatTTL {
		t.Errorf("heartbeat TTL = %v, want up to %v", ttl, heartbeatTTL)
	}
	if alive, err := e.srv.d.alive(t.Context(), "000000000000"); err != nil || alive {
		t.Errorf("unknown instance: alive %v, %v", alive, err)
	}
	// A drained process stops its heartbeat; the key expires.
	if err := e.srv.d.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 3*heartbeatTTL, "heartbeat gone after shutdown", func() bool {
		alive, _ := e.srv.d.alive(t.Context(), e.srv.d.instance)
		return !alive
	})
}

// TestKilledReplicaTakenOver: replica A hangs in an update and its
// heartbeat stops (its process is as good as killed; its lease, renewed
// until then, is valid for 15 s more). Telegram's re-send reaches replica
// B, which takes the lease over within about 2 s of the "kill" and answers
// once; A, finding its lease taken (or, once B is done, its update done),
// stops without sending anything and does not take the chat back.
func TestKilledReplicaTakenOver(t *testing.T) {
	rdb, k := redistest.New(t)
	lim := testLimits()
	lim.LeaseTTL = 15 * time.Second
	lim.LeaseWait = 5 * time.Second
	entered, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	hung := funcConv(func(ctx context.Context, _ string, _ engine.Input) ([]engine.Message, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, errors.New("killed")
	})
	a := newEnv(t, envOpts{conv: hung, rdb: rdb, keys: &k, limits: &lim})
	conv := &echoConv{}
	b := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k, limits: &lim, api: a.api})
	const chat int64 = 918274000
	aDone := make(chan int, 1)
	go func() {
		code, _ := postWebhook(t, a.http.URL+"/telegram/hook", testSecret, textUpdate(7, chat, "hello"))
		aDone <- code
	}()
	<-entered
	a.srv.d.stopHeartbeat()
	killed := time.Now()
	code, _ := b.post(textUpdate(7, chat, "hello"))
	took := time.Since(killed)
	if code != http.StatusOK || len(conv.Calls()) != 1 {
		t.Fatalf("re-send to the other replica: status %d, handled %d times", code, len(conv.Calls()))
	}
	// heartbeatTTL after the last beat, heartbeatEvery of confirmation,
	// plus the polling of begin (and slack for a loaded machine).
	if took > 3*time.Second {
		t.Errorf("answered %v after the kill, want about 2 s (heartbeat TTL %v + %v)", took, heartbeatTTL, heartbeatEvery)
	}
	if got := b.counter(b.srv.m.leaseTakeovers); got != 1 {
		t.Errorf("takeovers = %v", got)
	}
	// A notices at its next renewal (every LeaseTTL/3) that the lease was
	// taken, and its attempt ends without a reply.
	select {
	case code := <-aDone:
		if code == http.StatusOK {
			t.Errorf("the hung replica answered 200")
		}
	case <-time.After(lim.LeaseTTL/3 + 3*time.Second):
		t.Error("the hung replica did not stop after losing its lease")
	}
	if n := len(a.api.Delivered("sendMessage")); n != 1 {
		t.Errorf("sendMessage = %d, want 1", n)
	}
	t.Logf("measured: the re-send reached another replica and was answered %v after the kill", took.Round(time.Millisecond))
}
