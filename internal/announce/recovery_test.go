package announce

import (
	"errors"
	"strings"
	"testing"
	"time"

	"putokaz/internal/testkit/redistest"
)

// A sender killed at each point of one message's way, all at once: claimed
// (nothing sent: the next worker sends it), sending before the request went
// out (never received, counted unknown), sending after it went out (received
// once, counted unknown), recorded (received once, counted sent). Nobody
// receives the update twice, and the dead worker can no longer send what it
// had claimed.
func TestCrashAtEachPoint(t *testing.T) {
	rdb, k := redistest.New(t)
	q := NewQueue(rdb, k, 2)
	ctx := t.Context()
	subs, d := newMemSubs(), newFakeDeliverer()
	subscribe(subs, 20)
	queueApproved(t, q, "u1", time.Now().Add(time.Hour))

	// Worker A lists the recipients and claims 8.
	tokenA, until, e := claimAs(t, q, subs, d, "u1", 8)
	user := func(entry string) string { _, u, _ := strings.Cut(entry, " "); return u }
	// e[0:2] claimed only; e[2:4] sending, no request; e[4:6] sending and
	// delivered; e[6:8] delivered and recorded.
	for _, x := range e[2:] {
		if ok, err := q.sending(ctx, "u1", tokenA, x, until, nil); err != nil || !ok {
			t.Fatalf("sending %s: %v %v", x, ok, err)
		}
	}
	for _, x := range e[4:] {
		lang, u, _ := strings.Cut(x, " ")
		text, err := q.Text(ctx, "u1", lang)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Deliver(ctx, u, text, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// e[6] is recorded alone, e[7] with the step of another send (which
	// finds the entry not claimed: it is sending already).
	if n, err := q.results(ctx, "u1", []outcome{{e[6], "sent"}}); err != nil || n != 1 {
		t.Fatalf("result: %d %v", n, err)
	}
	// The step of e[2] run again (go-redis retried it after a timeout):
	// still ours to send; it carries e[7]'s result, and e[6]'s again.
	if ok, err := q.sending(ctx, "u1", tokenA, e[2], until, []outcome{{e[7], "sent"}, {e[6], "sent"}}); err != nil || !ok {
		t.Fatalf("a retried step: %v %v, want send", ok, err)
	}

	// A dies: its lease runs out, and B takes it.
	if err := rdb.Del(ctx, k.Announce().Lease("u1")).Err(); err != nil {
		t.Fatal(err)
	}
	tokenB := newToken()
	if ok, err := q.acquire(ctx, "u1", tokenB, time.Hour); err != nil || !ok {
		t.Fatalf("take over: %v %v", ok, err)
	}
	if _, err := q.sending(ctx, "u1", tokenA, e[0], until, nil); !errors.Is(err, errLeaseLost) {
		t.Fatalf("the dead worker marked a re-queued entry sending: %v", err)
	}
	st, err := q.Status(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unknown != 4 || st.Sent != 2 || st.Left() != 14 {
		t.Fatalf("after the takeover: %+v (left %d); want 4 unknown, 2 sent, 14 left (2 of them re-queued)", st, st.Left())
	}
	if err := q.release(ctx, "u1", tokenB); err != nil {
		t.Fatal(err)
	}

	st = runUntil(t, newWorker(q, subs, d), "u1", StateDone)
	got := d.received()
	for u, msgs := range got {
		if len(msgs) != 1 {
			t.Fatalf("%s received the update %d times", u, len(msgs))
		}
	}
	for i, x := range e {
		_, ok := got[user(x)]
		if want := i < 2 || i >= 4; ok != want {
			t.Errorf("entry %d (%s): received %v, want %v", i, x, ok, want)
		}
	}
	if len(got) != 18 || st.Sent != 16 || st.Unknown != 4 || st.Left() != 0 {
		t.Fatalf("%d received, status %+v; want 18 received, 16 sent, 4 unknown", len(got), st)
	}
}

// A person who erases their data (/delete) while a worker holds them
// claimed is not sent the update, and is counted withdrawn; so is one whose
// entry a dead worker left to be re-queued.
func TestForgetClaimedAndRequeued(t *testing.T) {
	rdb, k := redistest.New(t)
	q := NewQueue(rdb, k, 2)
	ctx := t.Context()
	subs, d := newMemSubs(), newFakeDeliverer()
	subscribe(subs, 10)
	queueApproved(t, q, "u1", time.Now().Add(time.Hour))
	token, until, claimed := claimAs(t, q, subs, d, "u1", 4)
	_, held, _ := strings.Cut(claimed[0], " ")
	if err := q.Forget(ctx, held); err != nil {
		t.Fatal(err)
	}
	if ok, err := q.sending(ctx, "u1", token, claimed[0], until, nil); err != nil || ok {
		t.Fatalf("a withdrawn person was marked sending: %v %v", ok, err)
	}
	// The worker dies holding the other three; one of them erases their
	// data while their entry waits in the queue again.
	if _, err := q.acquireAgain(ctx, "u1", token); err != nil {
		t.Fatal(err)
	}
	_, back, _ := strings.Cut(claimed[1], " ")
	if err := q.Forget(ctx, back); err != nil {
		t.Fatal(err)
	}
	if err := q.release(ctx, "u1", token); err != nil {
		t.Fatal(err)
	}
	st := runUntil(t, newWorker(q, subs, d), "u1", StateDone)
	got := d.received()
	if _, ok := got[held]; ok {
		t.Error("the person withdrawn while claimed was sent the update")
	}
	if _, ok := got[back]; ok {
		t.Error("the person withdrawn while re-queued was sent the update")
	}
	if len(got) != 8 || st.Sent != 8 || st.Withdrawn != 2 || st.Unknown != 0 || st.Left() != 0 {
		t.Fatalf("%d received, status %+v (left %d); want 8 sent, 2 withdrawn", len(got), st, st.Left())
	}
	if n := countKeys(t, rdb, personalKeys(k, "u1")); n != 0 {
		t.Fatalf("%d keys with people left after the end", n)
	}
}

// claimAs is a worker's start on update id, stopped after its first claim:
// it takes the lease with a new token, lists the recipients and claims n of
// them (nothing sent). until is what the claim's marks live to.
func claimAs(t *testing.T, q *Queue, subs Subscribers, d Deliverer, id string, n int) (token string, until time.Time, entries []string) {
	t.Helper()
	ctx := t.Context()
	token = newToken()
	if ok, err := q.acquire(ctx, id, token, time.Hour); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	w := newWorker(q, subs, d)
	w.defaults()
	st, err := q.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.list(ctx, st, token); err != nil {
		t.Fatal(err)
	}
	until = st.Expires.Add(personalGrace)
	c, err := q.claim(ctx, id, token, n, until)
	if err != nil || c.stop != "" || len(c.entries) != n {
		t.Fatalf("claim: %+v %v", c, err)
	}
	return token, until, c.entries
}
