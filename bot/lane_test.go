package bot

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"golang.org/x/time/rate"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/promtest"
)

func TestLaneOf(t *testing.T) {
	ctx := t.Context()
	if LaneOf(ctx) != LaneReply {
		t.Error("a context without a lane is not LaneReply")
	}
	for _, l := range Lanes {
		if got := LaneOf(WithLane(ctx, l)); got != l {
			t.Errorf("LaneOf(WithLane(%v)) = %v", l, got)
		}
	}
	if LaneOf(WithLane(ctx, Lane(42))) != LaneReply {
		t.Error("an unknown lane is not LaneReply")
	}
	if got := LaneOf(WithLane(WithLane(ctx, LaneBulk), LaneEmergency)); got != LaneEmergency {
		t.Errorf("the innermost lane wins: %v", got)
	}
}

// recordingGate records the order in which the gate admits lanes (under its
// lock, so the order is the gate's, not the scheduler's).
func recordingGate(g *gate) func() []Lane {
	var mu sync.Mutex
	var order []Lane
	prev := g.admitted
	g.admitted = func(now time.Time, l Lane) {
		if prev != nil {
			prev(now, l)
		}
		mu.Lock()
		order = append(order, l)
		mu.Unlock()
	}
	return func() []Lane {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(order)
	}
}

// waitQueued waits until n sends wait at g.
func waitQueued(t *testing.T, g *gate, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.waiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", g.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// When several wait for one chat, Emergency goes before Reply before Staff
// before Bulk, each lane first come first served.
func TestGatePriorityAtAChat(t *testing.T) {
	g := newGate(rate.NewLimiter(20, 1)) // one every 50 ms
	order := recordingGate(g)
	if _, err := g.wait(t.Context(), LaneBulk); err != nil { // takes the token
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	queued := 0
	for _, l := range []Lane{LaneBulk, LaneStaff, LaneReply, LaneBulk, LaneEmergency, LaneStaff, LaneReply, LaneEmergency} {
		wg.Go(func() {
			if _, err := g.wait(t.Context(), l); err != nil {
				t.Error(err)
			}
		})
		queued++
		waitQueued(t, g, queued) // arrival order is the order above
	}
	wg.Wait()
	want := []Lane{LaneBulk, LaneEmergency, LaneEmergency, LaneReply, LaneReply, LaneStaff, LaneStaff, LaneBulk, LaneBulk}
	if got := order(); !slices.Equal(got, want) {
		t.Errorf("admitted %v, want %v", got, want)
	}
}

// A waiter whose context ends leaves the queue; those behind it go on.
func TestGateCancelledWaiterLeaves(t *testing.T) {
	g := newGate(rate.NewLimiter(10, 1))
	_, _ = g.wait(t.Context(), LaneReply)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := g.wait(ctx, LaneEmergency); errc <- err }()
	waitQueued(t, g, 1)
	done := make(chan struct{})
	go func() { _, _ = g.wait(t.Context(), LaneBulk); close(done) }()
	waitQueued(t, g, 2)
	cancel()
	if err := <-errc; err == nil {
		t.Error("cancelled wait returned nil")
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the waiter behind a cancelled one never went")
	}
	if g.waiting() != 0 {
		t.Errorf("%d still waiting", g.waiting())
	}
}

// After a global 429 every lane waits; when it ends, emergency answers go
// first, then replies, then staff, then bulk.
func TestGlobalGateBlockReleasesByPriority(t *testing.T) {
	g := newGlobalGate(1000, 1000)
	order := recordingGate(g)
	g.block(time.Now().Add(300 * time.Millisecond))
	var wg sync.WaitGroup
	lanes := []Lane{LaneBulk, LaneReply, LaneStaff, LaneReply, LaneEmergency, LaneBulk, LaneReply}
	for i, l := range lanes {
		wg.Go(func() { _, _ = g.wait(t.Context(), l) })
		waitQueued(t, g, i+1)
	}
	start := time.Now()
	wg.Wait()
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("the block held for only %v", el)
	}
	want := []Lane{LaneEmergency, LaneReply, LaneReply, LaneReply, LaneStaff, LaneBulk, LaneBulk}
	if got := order(); !slices.Equal(got, want) {
		t.Errorf("admitted %v, want %v", got, want)
	}
}

// The global limit holds staff and bulk, never replies or emergencies.
func TestGlobalGateCapsBulkLanesOnly(t *testing.T) {
	g := newGlobalGate(20, 1) // one every 50 ms
	start := time.Now()
	for range 50 {
		for _, l := range []Lane{LaneReply, LaneEmergency} {
			if _, err := g.wait(t.Context(), l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("100 replies took %v: they are capped", el)
	}
	// Staff: its bucket alone (the replies above do not count for it).
	start = time.Now()
	for range 5 {
		_, _ = g.wait(t.Context(), LaneStaff)
	}
	if el := time.Since(start); el < 180*time.Millisecond {
		t.Errorf("5 staff messages at 20/s took %v", el)
	}
}

// Bulk uses what is left of the global limit: while replies fill it, bulk
// waits; staff does not wait for replies.
func TestGlobalGateBulkGetsWhatIsLeft(t *testing.T) {
	g := newGlobalGate(20, 20)
	for range 20 { // a second's worth of replies
		_, _ = g.wait(t.Context(), LaneReply)
	}
	start := time.Now()
	if _, err := g.wait(t.Context(), LaneStaff); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Errorf("staff waited %v behind replies", el)
	}
	start = time.Now()
	if _, err := g.wait(t.Context(), LaneBulk); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 800*time.Millisecond {
		t.Errorf("bulk went after %v while the last second's sends filled the limit", el)
	}
	// Unlimited ("rate_limits: off"): nothing waits.
	g = newGlobalGate(math.Inf(1), math.MaxInt32)
	start = time.Now()
	for range 1000 {
		_, _ = g.wait(t.Context(), LaneBulk)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Errorf("unlimited bulk took %v", el)
	}
}

// Bulk's share: what the other lanes leave of the rate, evenly, and never
// more than a second of debt however many replies went.
func TestLeftoverSpreadsBulk(t *testing.T) {
	l := newLeftover(1000) // a burst of 50
	t0 := time.Unix(1000, 0)
	n := 0
	for l.wait(t0) == 0 {
		l.take(t0)
		n++
	}
	if n != 50 {
		t.Errorf("bulk went %d at once, want the burst of 50", n)
	}
	if d := l.wait(t0); d != time.Millisecond {
		t.Errorf("the next waits %v, want 1 ms at 1000/s", d)
	}
	// 10 replies in the next 10 ms: bulk had none of them.
	at := t0
	for i := range 10 {
		at = t0.Add(time.Duration(i+1) * time.Millisecond)
		l.take(at)
	}
	if d := l.wait(at); d != time.Millisecond {
		t.Errorf("after replies took the rate: bulk waits %v, want 1 ms", d)
	}
	// 5 000 replies at once: a second of debt, not five.
	for range 5000 {
		l.take(at)
	}
	if d := l.wait(at); d < time.Second || d > time.Second+2*time.Millisecond {
		t.Errorf("after a flood of replies bulk waits %v, want about a second", d)
	}
}

// Through the Sender: replies to many chats are not capped by the global
// limit, bulk messages are; the lane metrics count both.
func TestSenderLanesGlobalLimit(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.GlobalPerSecond, lim.GlobalBurst = 10, 1
	s, m := newTestSender(t, api.URL(), api.Token(), lim)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() { _ = sendText(t.Context(), s, int64(1000+i), "reply") })
	}
	wg.Wait()
	if el := time.Since(start); el > time.Second {
		t.Errorf("40 replies to 40 chats at a global limit of 10/s took %v", el)
	}
	start = time.Now()
	bulk := WithLane(t.Context(), LaneBulk)
	for i := range 4 {
		wg.Go(func() { _ = sendText(bulk, s, int64(2000+i), "bulk") })
	}
	wg.Wait()
	// The replies took the last second's share and more: bulk waits a
	// second (at most a second of debt), then goes at 10/s.
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("4 bulk messages at 10/s took %v", el)
	}
	if got := promtest.Sum(m.laneSends.WithLabelValues("reply")); got != 40 {
		t.Errorf("reply sends = %v", got)
	}
	if got := promtest.Sum(m.laneSends.WithLabelValues("bulk")); got != 4 {
		t.Errorf("bulk sends = %v", got)
	}
	if got := promtest.Sum(m.laneWaits.WithLabelValues("bulk")); got < 3 {
		t.Errorf("bulk waits = %v", got)
	}
	if got := promtest.Sum(m.laneWaiting.WithLabelValues("bulk")); got != 0 {
		t.Errorf("bulk waiting after all went = %v", got)
	}
}

// A 429 for a chat the sender was not pacing (nothing sent to it lately)
// is Telegram's global flood limit: every lane waits its retry_after, and
// the emergency answer goes first when it ends.
func TestSenderGlobal429SlowsEveryLane(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.PrivatePerSecond, lim.PrivateBurst = 1, 3
	s, m := newTestSender(t, api.URL(), api.Token(), lim)
	api.TooManyRequests(1, 1, 51)
	var wg sync.WaitGroup
	wg.Go(func() { _ = sendText(t.Context(), s, 51, "first") })
	deadline := time.Now().Add(2 * time.Second)
	for promtest.Sum(m.globalBlocks) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if promtest.Sum(m.globalBlocks) != 1 {
		t.Fatal("a 429 on a fresh chat did not block globally")
	}
	wg.Go(func() { _ = sendText(WithLane(t.Context(), LaneBulk), s, 54, "bulk") })
	wg.Go(func() { _ = sendText(t.Context(), s, 52, "reply") })
	wg.Go(func() { _ = sendText(WithLane(t.Context(), LaneEmergency), s, 53, "emergency") })
	wg.Wait()
	var blockedAt time.Time
	at := map[string]time.Time{}
	for _, c := range api.CallsTo("sendMessage") {
		if c.Status == 429 {
			blockedAt = c.Time
			continue
		}
		at[c.Str("text")] = c.Time
	}
	for _, text := range []string{"reply", "emergency", "bulk"} {
		if d := at[text].Sub(blockedAt); d < 900*time.Millisecond {
			t.Errorf("%s went %v after the global 429 (retry_after 1s)", text, d)
		}
	}
	if !at["emergency"].Before(at["reply"]) && !at["emergency"].Equal(at["reply"]) {
		// Requests race once admitted; admission order is checked in
		// TestGlobalGateBlockReleasesByPriority. Here only a gross
		// inversion fails.
		if at["emergency"].Sub(at["reply"]) > 50*time.Millisecond {
			t.Errorf("emergency went %v after the reply", at["emergency"].Sub(at["reply"]))
		}
	}
}

// A 429 for a chat the sender was pacing (it sent to it just before) holds
// back that chat only, whatever the lane.
func TestSenderChat429BlocksOnlyThatChat(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.PrivatePerSecond, lim.PrivateBurst = 1, 3
	s, m := newTestSender(t, api.URL(), api.Token(), lim)
	if err := sendText(t.Context(), s, 61, "warm"); err != nil {
		t.Fatal(err)
	}
	api.TooManyRequests(1, 1, 61)
	var wg sync.WaitGroup
	wg.Go(func() { _ = sendText(WithLane(t.Context(), LaneStaff), s, 61, "staff") })
	time.Sleep(100 * time.Millisecond)
	wg.Go(func() { _ = sendText(t.Context(), s, 62, "other chat") })
	wg.Wait()
	if promtest.Sum(m.globalBlocks) != 0 {
		t.Error("a paced chat's 429 blocked every chat")
	}
	var blockedAt, other, staff time.Time
	for _, c := range api.CallsTo("sendMessage") {
		switch {
		case c.Status == 429:
			blockedAt = c.Time
		case c.Str("text") == "other chat":
			other = c.Time
		case c.Str("text") == "staff":
			staff = c.Time
		}
	}
	if d := other.Sub(blockedAt); d > 500*time.Millisecond {
		t.Errorf("another chat waited %v", d)
	}
	if d := staff.Sub(blockedAt); d < 900*time.Millisecond {
		t.Errorf("the rate-limited chat's message was retried after %v, want ≥ 1s", d)
	}
}

// The dispatcher sends an emergency answer in LaneEmergency (the Effects
// wrapper saw engine.EffectEmergency), other answers in LaneReply, and the
// staff handler's sends in LaneStaff.
func TestDispatcherMarksLanes(t *testing.T) {
	fx := Effects(nil)
	conv := funcConv(func(ctx context.Context, user string, in engine.Input) ([]engine.Message, error) {
		if in.Text == "police" {
			if err := fx.Apply(ctx, user, "en", engine.Effect{Kind: engine.EffectEmergency}); err != nil {
				return nil, err
			}
		}
		return reply("ok"), nil
	})
	var e *testEnv // the handler sends through e's sender once e is built
	e = newEnv(t, envOpts{conv: conv, memory: true, staff: map[int64]bool{-100500: true},
		staffHandler: staffFunc(func(ctx context.Context, u *models.Update) error {
			return e.sender.Send(ctx, -100500, 0, engine.Message{Text: "card"})
		})})
	if st, _ := e.post(textUpdate(1, 71, "hello")); st != 200 {
		t.Fatalf("status %d", st)
	}
	if st, _ := e.post(textUpdate(2, 72, "police")); st != 200 {
		t.Fatalf("status %d", st)
	}
	if st, _ := e.post(groupTextUpdate(3, -100500, 9, "hi")); st != 200 {
		t.Fatalf("status %d", st)
	}
	for lane, want := range map[string]float64{"reply": 1, "emergency": 1, "staff": 1, "bulk": 0} {
		if got := promtest.Sum(e.srv.m.laneSends.WithLabelValues(lane)); got != want {
			t.Errorf("%s sends = %v, want %v", lane, got, want)
		}
	}
}

// A message Telegram refused with a global 429 never reached its chat: its
// retry does not pay the chat's pacing a second time.
func TestSenderGlobal429KeepsTheChatToken(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.PrivatePerSecond, lim.PrivateBurst = 0.2, 1 // one message per 5 s
	s, m := newTestSender(t, api.URL(), api.Token(), lim)
	api.TooManyRequests(1, 1, 81)
	start := time.Now()
	if err := sendText(t.Context(), s, 81, "x"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
		t.Errorf("sent after %v, want the retry_after (1 s), not the chat's 5 s", el)
	}
	if promtest.Sum(m.globalBlocks) != 1 {
		t.Error("not a global block")
	}
}

// Replies of an emergency answer that could not all be sent are stored for
// the update's re-delivery: they still go in the emergency lane then, not
// behind other people's answers.
func TestStoredEmergencyRepliesKeepTheirLane(t *testing.T) {
	fx := Effects(nil)
	conv := funcConv(func(ctx context.Context, user string, in engine.Input) ([]engine.Message, error) {
		if err := fx.Apply(ctx, user, "en", engine.Effect{Kind: engine.EffectEmergency}); err != nil {
			return nil, err
		}
		return reply("call 192"), nil
	})
	e := newEnv(t, envOpts{conv: conv})
	e.api.ServerError(5, 500, 0) // exhausts APIAttempts: the reply is stored
	if st, _ := e.post(textUpdate(1, 73, "police")); st != 500 {
		t.Fatalf("status %d, want 500 (the reply could not be sent)", st)
	}
	if st, _ := e.post(textUpdate(1, 73, "police")); st != 200 {
		t.Fatalf("re-delivery status %d", st)
	}
	if got := len(e.api.Delivered("sendMessage")); got != 1 {
		t.Fatalf("delivered %d, want 1", got)
	}
	// Five refused attempts, then the re-delivered one: all emergency.
	for lane, want := range map[string]float64{"reply": 0, "emergency": 6} {
		if got := promtest.Sum(e.srv.m.laneSends.WithLabelValues(lane)); got != want {
			t.Errorf("%s sends = %v, want %v", lane, got, want)
		}
	}
}
