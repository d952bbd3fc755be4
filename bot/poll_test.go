package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
)

// serve runs e.srv in the background and returns a stop function that
// cancels it and waits for Serve to return.
func (e *testEnv) serve() (stop func() error) {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(15 * time.Second):
				result = errors.New("Serve did not return")
			}
		})
		return result
	}
	e.t.Cleanup(func() { _ = stop() })
	return stop
}

func TestPollingHandlesAndConfirms(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv, polling: true})
	if err := e.api.Push(textUpdate(100, 1001, "a"), callbackUpdate(101, 1002, "b:1"), textUpdate(102, 1001, "c")); err != nil {
		t.Fatal(err)
	}
	stop := e.serve()
	if _, err := e.api.WaitForMethod("sendMessage", 3, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.WaitForMethod("answerCallbackQuery", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Chat 1001's updates in order.
	var texts []string
	for _, c := range e.api.ByChat(1001) {
		texts = append(texts, c.Str("text"))
	}
	if strings.Join(texts, "|") != "echo text:a|echo text:c" {
		t.Errorf("chat 1001 got %q", texts)
	}
	// The next poll confirms the batch.
	if _, err := e.api.WaitUntil(func([]botapitest.Call) bool { return e.api.Confirmed() == 103 }, 5*time.Second); err != nil {
		t.Errorf("confirmed offset = %d, want 103", e.api.Confirmed())
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	calls := e.api.Calls()
	iDelete := slices.IndexFunc(calls, func(c botapitest.Call) bool { return c.Method == "deleteWebhook" })
	iPoll := slices.IndexFunc(calls, func(c botapitest.Call) bool { return c.Method == "getUpdates" })
	if iDelete < 0 || iPoll < iDelete || calls[iDelete].Str("drop_pending_updates") == "true" {
		t.Errorf("deleteWebhook (keeping pending updates) must come before getUpdates: %d, %d", iDelete, iPoll)
	}
	var allowed []string
	_ = json.Unmarshal(calls[iPoll].Params["allowed_updates"], &allowed)
	if !slices.Contains(allowed, "callback_query") || !slices.Contains(allowed, "my_chat_member") {
		t.Errorf("allowed_updates = %v", allowed)
	}
}

// TestPollingCrashMidBatch: an update still being handled when the process
// stops is not confirmed; the next process gets it again, and the updates
// handled before are skipped as duplicates.
func TestPollingCrashMidBatch(t *testing.T) {
	api := botapitest.New(t)
	rdb, k := redistest.New(t)
	started := make(chan struct{})
	var once sync.Once
	blocking := funcConv(func(ctx context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		if in.Text == "slow" {
			once.Do(func() { close(started) })
			<-ctx.Done() // the process dies while handling this one
			return nil, ctx.Err()
		}
		return reply("ok " + in.Text), nil
	})
	lim := testLimits()
	lim.ShutdownTimeout = 300 * time.Millisecond
	first := newEnv(t, envOpts{conv: blocking, polling: true, api: api, rdb: rdb, keys: &k, limits: &lim})
	if err := api.Push(textUpdate(200, 2001, "a"), textUpdate(201, 2001, "slow"), textUpdate(202, 2001, "after"),
		textUpdate(203, 2002, "other chat")); err != nil {
		t.Fatal(err)
	}
	stop := first.serve()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("slow update never started")
	}
	if _, err := api.WaitForMethod("sendMessage", 2, 5*time.Second); err != nil { // "a" and "other chat"
		t.Fatal(err)
	}
	_ = stop()
	if c := api.Confirmed(); c > 201 {
		t.Fatalf("offset %d confirmed past the unfinished update 201", c)
	}
	if p := api.Pending(); !slices.Contains(p, 201) || !slices.Contains(p, 202) {
		t.Fatalf("pending = %v, want 201 and 202 still queued", p)
	}

	conv := &echoConv{}
	second := newEnv(t, envOpts{conv: conv, polling: true, api: api, rdb: rdb, keys: &k})
	api.Reset()
	second.serve()
	if _, err := api.WaitForMethod("sendMessage", 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := api.WaitUntil(func([]botapitest.Call) bool { return len(api.Pending()) == 0 }, 5*time.Second); err != nil {
		t.Errorf("pending = %v", api.Pending())
	}
	var got []string
	for _, c := range conv.Calls() {
		got = append(got, c.in.Text)
	}
	if strings.Join(got, ",") != "slow,after" {
		t.Errorf("second process handled %v, want slow,after (a and other chat were done)", got)
	}
}

func TestPollingConflictLogged(t *testing.T) {
	e := newEnv(t, envOpts{polling: true})
	e.api.Fail(botapitest.Fault{Method: "getUpdates", Status: 409, Times: 2,
		Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
	_ = e.api.Push(textUpdate(300, 3001, "hi"))
	e.serve()
	if _, err := e.api.WaitForMethod("sendMessage", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logBuf.String(), "getUpdates conflict: another process is polling") {
		t.Error("409 not logged clearly")
	}
}

// flakyConv fails the text "flaky" the first fails times, then answers
// every text with "ok " and the text.
func flakyConv(fails int) funcConv {
	var mu sync.Mutex
	return func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		mu.Lock()
		defer mu.Unlock()
		if in.Text == "flaky" && fails > 0 {
			fails--
			return nil, errTransient
		}
		return reply("ok " + in.Text), nil
	}
}

func TestPollingRetriesFailedUpdate(t *testing.T) {
	e := newEnv(t, envOpts{conv: flakyConv(2), polling: true})
	_ = e.api.Push(textUpdate(400, 4001, "flaky"), textUpdate(401, 4001, "next"))
	e.serve()
	if _, err := e.api.WaitForMethod("sendMessage", 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range e.api.Delivered("sendMessage") {
		texts = append(texts, c.Str("text"))
	}
	if strings.Join(texts, "|") != "ok flaky|ok next" {
		t.Errorf("replies %q: order must hold across retries", texts)
	}
}

// TestPollingRefetchAnswersOnce: an update that fails makes the next
// getUpdates return it with every update after it. A busy chat's updates of
// that batch — up to getUpdates' limit of 100 — were handled already and
// must all be recognised in Redis, not answered again.
func TestPollingRefetchAnswersOnce(t *testing.T) {
	rdb, k := redistest.New(t)
	e := newEnv(t, envOpts{conv: flakyConv(1), polling: true, rdb: rdb, keys: &k})
	busy := 99
	updates := []any{textUpdate(500, 5001, "flaky")}
	for i := range busy {
		updates = append(updates, textUpdate(int64(501+i), 5002, "tap"))
	}
	if err := e.api.Push(updates...); err != nil {
		t.Fatal(err)
	}
	e.serve()
	if _, err := e.api.WaitUntil(func([]botapitest.Call) bool { return e.api.Confirmed() == int64(501+busy) }, 10*time.Second); err != nil {
		t.Fatalf("confirmed offset = %d, want %d", e.api.Confirmed(), 501+busy)
	}
	if n := len(e.api.ByChat(5001)); n != 1 {
		t.Errorf("the failed update was answered %d times, want once after its retry", n)
	}
	if n := len(e.api.ByChat(5002)); n != busy {
		t.Errorf("busy chat got %d replies for %d updates", n, busy)
	}
}
