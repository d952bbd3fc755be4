package referral

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/redistest"
)

// TestCasesLists: the console's list holds every case whatever became of
// its delivery — waiting in the outbox, delivered, dead-lettered, taken back
// from the group after /delete — in both stores, and the console's claim and
// close act as staff do in Telegram.
func TestCasesLists(t *testing.T) {
	for name, newStore := range map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemoryStore() },
		"redis": func(t *testing.T) Store {
			rdb, k := redistest.New(t)
			return NewRedisStore(rdb, k)
		},
		// The cases live on one master of two: the SCAN must go there.
		"cluster": func(t *testing.T) Store {
			rdb := redistest.StartMultiMasterCluster(t, 2)[0].Client()
			t.Cleanup(func() { rdb.Close() })
			return NewRedisStore(rdb, keys.New("putokaz:"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			mem := NewMemoryStaff()
			svc, err := New(Options{Store: st, Staff: mem, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Config: Config{Queues: map[string]Queue{"avr": {Group: -1001}, AnyService: {Group: -1002}},
					Block: 50 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			mem.Bind(svc)
			refer := func(user, service, code string) {
				t.Helper()
				if err := svc.Apply(ctx, user, "ar", engine.Effect{Kind: engine.EffectReferral, Service: service, Code: code,
					ConsentAt: time.Now(), ConsentVersion: "v1"}); err != nil {
					t.Fatal(err)
				}
			}
			codes := func() []string {
				t.Helper()
				cs, err := svc.Cases(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, c := range cs {
					out = append(out, c.Code+":"+c.Status)
				}
				slices.Sort(out)
				return out
			}
			refer("tg:1", "avr", "PK-3AAA")
			refer("tg:2", "legal", "PK-3BBB")
			refer("tg:3", "legal", "PK-3CCC")
			// One delivery fails for good: its case is still listed.
			stream := svc.staffStream(-1002)
			if err := st.ensure(ctx, stream); err != nil {
				t.Fatal(err)
			}
			es, _, err := st.read(ctx, stream, "test", time.Minute, 10*time.Millisecond, 1)
			if err != nil || len(es) != 1 || es[0].Code != "PK-3BBB" {
				t.Fatalf("read %v %v", es, err)
			}
			if err := st.bury(ctx, stream, es[0], "test", 10, 100); err != nil {
				t.Fatal(err)
			}
			want := []string{"PK-3AAA:received", "PK-3BBB:received", "PK-3CCC:received"}
			if got := codes(); !slices.Equal(got, want) {
				t.Fatalf("before delivery: %v", got)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = svc.Run(runCtx, nil) }() // no person is told here
			polltest.Until(t, 5*time.Second, "two cards", func() bool { return len(mem.Topics()) == 2 })
			if out, err := svc.ClaimAs(ctx, "PK-3AAA", "tg:9", "Ana"); err != nil || out != Done {
				t.Fatalf("claim: %v %v", out, err)
			}
			if out, err := svc.CloseAs(ctx, "PK-3CCC", "tg:9", "Ana"); err != nil || out != Done {
				t.Fatalf("close: %v %v", out, err)
			}
			polltest.Until(t, 5*time.Second, "the cards edited", func() bool {
				for _, tp := range mem.Topics() {
					if len(tp.Messages) == 0 || !strings.Contains(tp.Messages[0].Text, "Ana") {
						return false
					}
				}
				return true
			})
			// A person withdraws: the case's topic is deleted, its record
			// stays (what KeepAfterDelete names) and so does its line.
			if err := svc.Apply(ctx, "tg:1", "ar", engine.Effect{Kind: engine.EffectErase}); err != nil {
				t.Fatal(err)
			}
			polltest.Until(t, 5*time.Second, "the topic deleted", func() bool {
				return !slices.ContainsFunc(mem.Topics(), func(tp MemoryTopic) bool { return strings.HasPrefix(tp.Name, "PK-3AAA") })
			})
			stop()
			<-done
			want = []string{"PK-3AAA:withdrawn", "PK-3BBB:received", "PK-3CCC:closed"}
			if got := codes(); !slices.Equal(got, want) {
				t.Fatalf("after delivery: %v", got)
			}
			c, hist, err := svc.CaseRecord(ctx, "PK-3CCC")
			if err != nil || c.ClosedName != "Ana" || len(hist) < 2 || hist[len(hist)-1].What != actClosed {
				t.Fatalf("record %+v %+v %v", c, hist, err)
			}
			if c, _, err := svc.CaseRecord(ctx, "PK-9ZZZ"); c != nil || err != nil {
				t.Fatalf("unknown case: %v %v", c, err)
			}
			if got := svc.StaffGroups(); !slices.Equal(got, []int64{-1002, -1001}) && !slices.Equal(got, []int64{-1001, -1002}) {
				t.Fatalf("groups %v", got)
			}
			if got := svc.QueueServices(); !slices.Equal(got, []string{"avr"}) {
				t.Fatalf("services %v", got)
			}
		})
	}
}
