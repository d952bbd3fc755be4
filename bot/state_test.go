package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/unlink"
)

func stateImpls(t *testing.T) map[string]updateState {
	lim := testLimits().withDefaults()
	lim.LeaseTTL = 300 * time.Millisecond
	lim.SessionTTL = time.Hour
	rdb, k := redistest.New(t)
	cluster := redistest.StartClusterServer(t)
	return map[string]updateState{
		"memory": newMemoryState(lim, NewMemoryInactive(time.Hour)),
		"redis":  newRedisState(rdb, k, lim),
		// A cluster rejects scripts whose keys span slots (CROSSSLOT): this
		// proves all keys of one chat share a hash tag.
		"redis cluster": newRedisState(cluster.Client(), keys.New("t:"), lim),
	}
}

func TestUpdateState(t *testing.T) {
	for name, st := range stateImpls(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			chat := "tg:77"
			r, err := st.begin(ctx, chat, 1, "A", true, "")
			if err != nil || r.status != beginAcquired || r.attempt != 1 || r.keyboard || r.outbox != nil {
				t.Fatalf("first begin = %+v, %v", r, err)
			}
			// Another update of the chat: busy while A holds the lease.
			r, err = st.begin(ctx, chat, 2, "B", true, "")
			if err != nil || r.status != beginBusy || r.busyFor <= 0 {
				t.Fatalf("concurrent begin = %+v, %v", r, err)
			}
			// Another chat is independent; begin run twice with one token
			// (a re-sent pipeline) keeps the lease.
			if r, _ := st.begin(ctx, "tg:78", 1, "C", true, ""); r.status != beginAcquired {
				t.Fatalf("other chat = %+v", r)
			}
			if r, _ := st.begin(ctx, "tg:78", 1, "C", true, ""); r.status != beginAcquired {
				t.Fatalf("the same begin again = %+v, want acquired", r)
			}
			// Renew only with the right token.
			if ok, err := st.renew(ctx, chat, "B"); ok || err != nil {
				t.Errorf("renew with wrong token = %v %v", ok, err)
			}
			if ok, err := st.renew(ctx, chat, "A"); !ok || err != nil {
				t.Errorf("renew = %v %v", ok, err)
			}
			// A fails and leaves replies; the lease is released.
			ls, err := st.finish(ctx, chat, 1, "A", finishArgs{outbox: []byte(`[1]`), kbd: kbdShown})
			if ls != leaseHeld || err != nil {
				t.Fatalf("finish = %v %v", ls, err)
			}
			r, _ = st.begin(ctx, chat, 1, "A2", true, "")
			if r.status != beginAcquired || r.attempt != 2 || !r.keyboard || string(r.outbox) != `[1]` {
				t.Fatalf("second attempt = %+v", r)
			}
			// A stale holder cannot release the new lease.
			if ls, _ := st.finish(ctx, chat, 1, "A", finishArgs{}); ls != leaseTaken {
				t.Errorf("finish with a stale token = %v, want taken", ls)
			}
			if r, _ := st.begin(ctx, chat, 2, "B", true, ""); r.status != beginBusy {
				t.Errorf("lease was released by a stale token: %+v", r)
			}
			if ls, _ := st.finish(ctx, chat, 1, "A2", finishArgs{done: true, kbd: kbdRemoved}); ls != leaseHeld {
				t.Errorf("finish = %v, want held", ls)
			}
			// Done: every later delivery is a duplicate, even while the
			// lease is taken by another update.
			if r, _ := st.begin(ctx, chat, 2, "B", true, ""); r.status != beginAcquired || r.keyboard {
				t.Errorf("begin after done = %+v", r)
			}
			if r, _ := st.begin(ctx, chat, 1, "X", true, ""); r.status != beginDone {
				t.Errorf("re-delivery = %+v", r)
			}
			// An expired lease can be taken over.
			time.Sleep(350 * time.Millisecond)
			if r, _ := st.begin(ctx, chat, 3, "D", true, ""); r.status != beginAcquired {
				t.Errorf("after expiry = %+v", r)
			}
			if ok, _ := st.renew(ctx, chat, "B"); ok {
				t.Error("expired holder renewed a lease another handler took")
			}
			// A lease that disappeared (erased by /delete) is taken again
			// by its holder, and finish reports it gone, not taken.
			if ls, _ := st.finish(ctx, chat, 3, "D", finishArgs{done: true}); ls != leaseHeld {
				t.Errorf("finish D = %v", ls)
			}
			if ok, _ := st.renew(ctx, chat, "E"); !ok {
				t.Error("renew of a vanished lease failed")
			}
			if r, _ := st.begin(ctx, chat, 4, "F", true, ""); r.status != beginBusy {
				t.Errorf("renewed lease not held: %+v", r)
			}
			time.Sleep(350 * time.Millisecond)
			if ls, _ := st.finish(ctx, chat, 5, "E", finishArgs{}); ls != leaseGone {
				t.Errorf("finish after expiry = %v, want gone", ls)
			}
		})
	}
}

// The session travels with the lease: begin reads it, finish writes it with
// the done mark — and writes nothing at all when the lease is no longer ours.
func TestRedisStateCarriesTheSession(t *testing.T) {
	lim := testLimits().withDefaults()
	lim.LeaseTTL = 300 * time.Millisecond
	lim.SessionTTL = time.Hour
	rdb, k := redistest.New(t)
	cluster := redistest.StartClusterServer(t)
	ck := keys.New("t:")
	for name, st := range map[string]*redisState{
		"redis":         newRedisState(rdb, k, lim),
		"redis cluster": newRedisState(cluster.Client(), ck, lim),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			chat := "tg:91"
			key := st.k.Session(chat)
			r, err := st.begin(ctx, chat, 1, "A", true, key)
			if err != nil || r.status != beginAcquired || r.session != nil {
				t.Fatalf("begin without a session = %+v, %v", r, err)
			}
			w := &sessionWrite{key: key, blob: []byte("s1")}
			if ls, err := st.finish(ctx, chat, 1, "A", finishArgs{done: true, session: w}); ls != leaseHeld || err != nil {
				t.Fatalf("finish = %v, %v", ls, err)
			}
			if ttl := st.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour {
				t.Errorf("session TTL = %v", ttl)
			}
			r, _ = st.begin(ctx, chat, 2, "B", true, key)
			if string(r.session) != "s1" {
				t.Fatalf("begin read %q, want s1", r.session)
			}
			// B stalls past its lease; C takes the chat. B's finish must
			// neither write the session nor mark its update done.
			time.Sleep(350 * time.Millisecond)
			if r, _ := st.begin(ctx, chat, 3, "C", true, key); r.status != beginAcquired {
				t.Fatalf("takeover = %+v", r)
			}
			stale := &sessionWrite{key: key, blob: []byte("stale")}
			if ls, _ := st.finish(ctx, chat, 2, "B", finishArgs{done: true, session: stale}); ls != leaseLost {
				t.Errorf("stale finish = %v, want lost", ls)
			}
			if got := st.rdb.Get(ctx, key).Val(); got != "s1" {
				t.Errorf("a stale handler overwrote the session: %q", got)
			}
			// Nothing staged (the conversation failed): no write.
			if ls, _ := st.finish(ctx, chat, 3, "C", finishArgs{}); ls != leaseHeld {
				t.Errorf("finish without a staged write = %v", ls)
			}
			if got := st.rdb.Get(ctx, key).Val(); got != "s1" {
				t.Errorf("session = %q, want s1", got)
			}
			if r, _ := st.begin(ctx, chat, 2, "B2", true, key); r.status != beginAcquired || r.attempt != 2 {
				t.Errorf("an update whose session was not saved must run again: %+v", r)
			}
		})
	}
}

func TestRedisStateKeysHaveTTL(t *testing.T) {
	rdb, k := redistest.New(t)
	lim := testLimits().withDefaults()
	st := newRedisState(rdb, k, lim)
	ctx := t.Context()
	if _, err := st.begin(ctx, "tg:5", 9, "T", false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.finish(ctx, "tg:5", 9, "T", finishArgs{done: true, kbd: kbdShown}); err != nil {
		t.Fatal(err)
	}
	inactive := NewRedisInactive(rdb, k, time.Hour)
	_ = inactive.SetInactive(ctx, 5)
	ks, err := rdb.Keys(ctx, k.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 3 {
		t.Errorf("keys = %v, want update, keyboard, inactive", ks)
	}
	for _, key := range ks {
		if !strings.HasPrefix(key, k.Prefix()+"u:{tg:5}:") {
			t.Errorf("key %q is not under the chat's hash tag", key)
		}
		if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 {
			t.Errorf("key %q has no TTL (%v)", key, ttl)
		}
	}
	if ok, _ := inactive.IsInactive(ctx, 5); !ok {
		t.Error("not inactive")
	}
	_ = inactive.SetActive(ctx, 5)
	if ok, _ := inactive.IsInactive(ctx, 5); ok {
		t.Error("still inactive")
	}
}

// TestRedisUpdatesStayBounded: a chat's done updates share one set that
// keeps the newest keptUpdates and forgets the oldest, however long the chat
// lives, while the newest are still recognised as re-deliveries.
func TestRedisUpdatesStayBounded(t *testing.T) {
	rdb, k := redistest.New(t)
	lim := testLimits().withDefaults()
	st := newRedisState(rdb, k, lim)
	ctx := t.Context()
	chat := "tg:6"
	handle := func(id int64, f finishArgs) {
		t.Helper()
		if r, err := st.begin(ctx, chat, id, "T", false, ""); err != nil || r.status != beginAcquired {
			t.Fatalf("begin %d = %+v, %v", id, r, err)
		}
		if _, err := st.finish(ctx, chat, id, "T", f); err != nil {
			t.Fatal(err)
		}
	}
	// Update 1000 fails with unsent replies and is never delivered again
	// (Telegram gave up); the others succeed. IDs are not sorted as strings.
	handle(1000, finishArgs{outbox: []byte(`[1]`)})
	last := int64(1000 + 3*keptUpdates)
	for id := int64(1001); id <= last; id++ {
		handle(id, finishArgs{done: true})
	}
	done := k.ChatDone(chat)
	ids := rdb.SMembers(ctx, done).Val()
	if len(ids) < keptUpdates || len(ids) > 2*keptUpdates {
		t.Errorf("%d ids after %d updates, want %d to %d", len(ids), 3*keptUpdates, keptUpdates, 2*keptUpdates)
	}
	oldest := last + 1 - int64(len(ids)) // the set holds exactly the newest ids
	for _, f := range ids {
		if id, err := strconv.ParseInt(f, 10, 64); err != nil || id < oldest {
			t.Errorf("id %q kept, want only %d..%d", f, oldest, last)
		}
	}
	if enc := rdb.ObjectEncoding(ctx, done).Val(); enc != "intset" {
		t.Errorf("done set encoded as %q, want intset (searched by bisection)", enc)
	}
	// Only the failed update's attempt count and replies are left.
	if got := rdb.HGetAll(ctx, k.ChatUpdates(chat)).Val(); len(got) != 2 || got["1000"] != "1" || got["1000:o"] != "[1]" {
		t.Errorf("updates hash = %v, want only 1000's attempt and replies", got)
	}
	for _, key := range []string{done, k.ChatUpdates(chat)} {
		if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL (%v)", key, ttl)
		}
	}
	for _, id := range []int64{last + 1 - keptUpdates, last} {
		if r, _ := st.begin(ctx, chat, id, "X", false, ""); r.status != beginDone {
			t.Errorf("re-delivery of %d = %+v, want done", id, r)
		}
	}
}

// TestRedisFinishTidiesTheUpdatesHash: done drops the attempt count and the
// replies a failed attempt stored; nothing of the update is left but its id
// in the done set.
func TestRedisFinishTidiesTheUpdatesHash(t *testing.T) {
	rdb, k := redistest.New(t)
	st := newRedisState(rdb, k, testLimits().withDefaults())
	ctx := t.Context()
	chat := "tg:8"
	if _, err := st.begin(ctx, chat, 7, "A", false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.finish(ctx, chat, 7, "A", finishArgs{outbox: []byte(`[1]`)}); err != nil {
		t.Fatal(err)
	}
	r, err := st.begin(ctx, chat, 7, "B", false, "")
	if err != nil || r.attempt != 2 || string(r.outbox) != `[1]` {
		t.Fatalf("second attempt = %+v, %v", r, err)
	}
	if _, err := st.finish(ctx, chat, 7, "B", finishArgs{done: true}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, k.ChatUpdates(chat)).Val(); n != 0 {
		t.Errorf("updates hash left behind: %v", rdb.HGetAll(ctx, k.ChatUpdates(chat)).Val())
	}
	if ids := rdb.SMembers(ctx, k.ChatDone(chat)).Val(); len(ids) != 1 || ids[0] != "7" {
		t.Errorf("done set = %v, want [7]", ids)
	}
}

// TestRedisRoundTripsPerUpdate pins the hot path: one script to begin and
// one to finish an update, nothing else (the process's heartbeat, a PSETEX
// every heartbeatEvery whatever the traffic, is not counted).
func TestRedisRoundTripsPerUpdate(t *testing.T) {
	rdb, k := redistest.New(t)
	h := &redistest.CountingHook{}
	rdb.AddHook(skipHeartbeat{})
	rdb.AddHook(h)
	e := newEnv(t, envOpts{rdb: rdb, keys: &k})
	if code, _ := e.post(textUpdate(1, 900, "warm up")); code != 200 { // loads the scripts
		t.Fatalf("status %d", code)
	}
	h.Reset()
	if code, _ := e.post(textUpdate(2, 900, "hello")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if h.Count() != 2 {
		t.Errorf("Redis round trips per update = %d (%v), want 2", h.Count(), h.Commands())
	}
	h.Reset()
	if code, _ := e.post(callbackUpdate(3, 900, "b:1")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if h.Count() != 2 {
		t.Errorf("Redis round trips per callback = %d (%v), want 2", h.Count(), h.Commands())
	}
	h.Reset()
	if code, _ := e.post(textUpdate(2, 900, "hello")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if h.Count() != 1 {
		t.Errorf("Redis round trips per duplicate = %d (%v), want 1", h.Count(), h.Commands())
	}
}

// TestRedisDown: while Redis is unreachable updates are answered 500 (never
// 200: they must not be lost); once it is back, Telegram's re-delivery is
// handled.
func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	k := keys.New("down:")
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k})
	srv.Stop()
	code, _ := e.post(textUpdate(1, 901, "hello"))
	if code == http.StatusOK {
		t.Fatal("answered 200 while Redis is down")
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation ran without the lease")
	}
	if got := e.counter(e.srv.m.redisErrors.WithLabelValues("begin")); got < 1 {
		t.Errorf("redis errors = %v", got)
	}
	// Readiness reports it.
	time.Sleep(60 * time.Millisecond)
	resp, err := http.Get(e.http.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d while Redis is down", resp.StatusCode)
	}
	srv.Start()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if code, _ = e.post(textUpdate(1, 901, "hello")); code == http.StatusOK {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusOK || len(conv.Calls()) != 1 || len(e.api.Delivered("sendMessage")) != 1 {
		t.Errorf("after Redis is back: %d, %d calls", code, len(conv.Calls()))
	}
}

// TestEraseDuringHandling: /delete erases every key of the person (the
// store's Delete scans keys.UserPattern), including the transport's lease and
// dedupe record, while that very update is being handled. The update still
// finishes cleanly, is not reported as a lost lease, and is not handled again.
func TestEraseDuringHandling(t *testing.T) {
	rdb, k := redistest.New(t)
	conv := funcConv(func(ctx context.Context, user string, in engine.Input) ([]engine.Message, error) {
		if in.Kind == engine.InCommand && in.Command == "delete" {
			if _, err := unlink.Matching(ctx, rdb, k.UserPattern(user)); err != nil {
				return nil, err
			}
			Erased(ctx)
		}
		return reply("done"), nil
	})
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k})
	if code, _ := e.post(commandUpdate(1, 950, "/delete", 0, 7)); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got := e.counter(e.srv.m.leaseLost); got != 0 {
		t.Errorf("lease lost = %v", got)
	}
	if code, _ := e.post(commandUpdate(1, 950, "/delete", 0, 7)); code != 200 {
		t.Fatalf("re-delivery status %d", code)
	}
	if got := e.counter(e.srv.m.dedupeHits); got != 1 {
		t.Errorf("re-delivery after erase was handled again (dedupe hits %v)", got)
	}
	if n := rdb.Exists(context.Background(), k.ChatLease(chatKey(950))).Val(); n != 0 {
		t.Error("lease left behind")
	}
}

// TestRedisStateBatchesWithoutMixUps: begin and finish go through the
// auto-pipeliner; many chats at once each get their own session back, and a
// reply that does not echo the attempt's token is refused.
func TestRedisStateBatchesWithoutMixUps(t *testing.T) {
	lim := testLimits().withDefaults()
	rdb, k := redistest.New(t)
	st := newRedisState(rdb, k, lim)
	if _, ok := st.scripts.(*redis.AutoPipeliner); !ok {
		t.Fatalf("scripts run through %T, want the auto-pipeliner", st.scripts)
	}
	if cst := newRedisState(redistest.StartClusterServer(t).Client(), keys.New("t:"), lim); cst.scripts == nil {
		t.Fatal("no scripter for a cluster")
	}
	ctx := t.Context()
	const chats, rounds = 200, 5
	var wg sync.WaitGroup
	errs := make(chan error, chats)
	for c := range chats {
		wg.Go(func() {
			chat := "tg:" + strconv.Itoa(5000+c)
			key := k.Session(chat)
			for r := range rounds {
				token := chat + "/" + strconv.Itoa(r)
				br, err := st.begin(ctx, chat, int64(r+1), token, true, key)
				if err != nil || br.status != beginAcquired {
					errs <- fmt.Errorf("%s round %d: begin = %+v, %v", chat, r, br, err)
					return
				}
				want := ""
				if r > 0 {
					want = chat + " after " + strconv.Itoa(r-1)
				}
				if string(br.session) != want {
					errs <- fmt.Errorf("%s round %d: got session %q, want %q", chat, r, br.session, want)
					return
				}
				w := &sessionWrite{key: key, blob: []byte(chat + " after " + strconv.Itoa(r))}
				if ls, err := st.finish(ctx, chat, int64(r+1), token, finishArgs{done: true, session: w}); err != nil || ls != leaseHeld {
					errs <- fmt.Errorf("%s round %d: finish = %v, %v", chat, r, ls, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if _, err := st.reply(redis.NewCmdResult([]any{"another token", int64(0)}, nil), "ours"); !errors.Is(err, errForeignReply) {
		t.Errorf("reply with another token: %v, want errForeignReply", err)
	}
	if v, err := st.reply(redis.NewCmdResult([]any{"ours", int64(2)}, nil), "ours"); err != nil || v[0] != int64(2) {
		t.Errorf("own reply = %v, %v", v, err)
	}
}

// TestReadyzFollowsRedisAtOnce: /readyz asks Redis on every probe, so an
// outage shorter than the Bot API cache is not hidden, and recovery shows
// as soon as Redis answers again.
func TestReadyzFollowsRedisAtOnce(t *testing.T) {
	srv := redistest.StartServer(t)
	k := keys.New("ready:")
	lim := testLimits()
	lim.ReadyCacheTTL = time.Hour // the Bot API's answer is reused throughout
	e := newEnv(t, envOpts{rdb: srv.Client(), keys: &k, limits: &lim})
	get := func() int {
		resp, err := http.Get(e.http.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("readyz = %d with Redis up", code)
	}
	srv.Stop()
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d right after Redis stopped", code)
	}
	srv.Start()
	polltest.Until(t, 5*time.Second, "ready again once Redis is back", func() bool { return get() == http.StatusOK })
	if n := len(e.api.CallsTo("getMe")); n != 1 {
		t.Errorf("getMe calls = %d, want 1 (cached)", n)
	}
}

// TestReadyzClusterDown: a cluster that has lost slot coverage still answers
// PING, but refuses keyed commands (CLUSTERDOWN): /readyz says so.
func TestReadyzClusterDown(t *testing.T) {
	srv := redistest.StartClusterServer(t)
	rdb := srv.Client()
	k := keys.New("readycl:")
	e := newEnv(t, envOpts{rdb: rdb, keys: &k})
	get := func() (int, string) {
		resp, err := http.Get(e.http.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("readyz = %d %q on a healthy cluster", code, body)
	}
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer admin.Close()
	if err := admin.Do(t.Context(), "CLUSTER", "DELSLOTS", "0").Err(); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 5*time.Second, "cluster_state:fail", func() bool {
		info, _ := admin.ClusterInfo(t.Context()).Result()
		return clusterState(info) == "fail"
	})
	if err := admin.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING fails too (%v): the test would not show the difference", err)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "redis") {
		t.Errorf("readyz = %d %q while the cluster is down", code, body)
	}
}

// TestStateMessagesAndErasure: every implementation records a chat's
// message IDs (bounded, forgotten on request) and, after an erasing
// update, keeps the update done without keeping the chat.
func TestStateMessagesAndErasure(t *testing.T) {
	for name, st := range stateImpls(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			chat := "tg:4242"
			if err := st.record(ctx, chat, []int{5, 3}); err != nil {
				t.Fatal(err)
			}
			if r, _ := st.begin(ctx, chat, 1, "A", true, ""); r.status != beginAcquired {
				t.Fatalf("begin = %+v", r)
			}
			if _, err := st.finish(ctx, chat, 1, "A", finishArgs{done: true, sent: []int{7, 8}, forget: []int{3}}); err != nil {
				t.Fatal(err)
			}
			ids, err := st.messages(ctx, chat)
			slices.Sort(ids)
			if err != nil || !slices.Equal(ids, []int{5, 7, 8}) {
				t.Fatalf("messages = %v, %v", ids, err)
			}
			many := make([]int, keptMessages+50)
			for i := range many {
				many[i] = 1000 + i
			}
			if err := st.record(ctx, chat, many); err != nil {
				t.Fatal(err)
			}
			if ids, _ := st.messages(ctx, chat); len(ids) != keptMessages {
				t.Fatalf("kept %d ids, want %d", len(ids), keptMessages)
			}
			if r, _ := st.begin(ctx, chat, 2, "B", true, ""); r.status != beginAcquired {
				t.Fatalf("begin = %+v", r)
			}
			if _, err := st.finish(ctx, chat, 2, "B", finishArgs{erased: true, sent: []int{9}}); err != nil {
				t.Fatal(err)
			}
			if ids, _ := st.messages(ctx, chat); len(ids) != 0 {
				t.Errorf("messages after the erasure = %v", ids)
			}
			if r, err := st.begin(ctx, chat, 2, "C", true, ""); err != nil || r.status != beginDone {
				t.Errorf("the erasing update again = %+v, %v; want done", r, err)
			}
			// A new update of the chat is handled, and nothing of the
			// re-delivery's check stays behind.
			if r, _ := st.begin(ctx, chat, 3, "D", true, ""); r.status != beginAcquired {
				t.Errorf("a new update after the erasure = %+v", r)
			}
		})
	}
}

// skipHeartbeat hides the heartbeat's PSETEX from the hooks added after it
// (a CountingHook on the hot path).
type skipHeartbeat struct{}

func (skipHeartbeat) DialHook(next redis.DialHook) redis.DialHook { return next }

func (skipHeartbeat) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "psetex" {
			return nil // not sent: this test needs no heartbeat
		}
		return next(ctx, cmd)
	}
}

func (skipHeartbeat) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
