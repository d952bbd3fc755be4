package referral

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"putokaz/internal/testkit/redistest"
)

// TestStoreContract runs the same checks on both stores.
func TestStoreContract(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) Store{
		"redis": func(t *testing.T) Store {
			rdb, k := redistest.New(t)
			return NewRedisStore(rdb, k)
		},
		"memory": func(*testing.T) Store { return NewMemoryStore() },
	} {
		t.Run(name, func(t *testing.T) { storeContract(t, mk(t)) })
	}
}

func storeContract(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	sn := streamNames{staff: "tg:-1", hook: "hook:svc"}
	c := &Case{Code: "PK-ABCD", Kind: KindHandoff, User: "tg:1", Service: "svc", Lang: "fa", Status: StatusReceived,
		Created: now, Group: -1}
	ok, err := st.create(ctx, c, Entry{At: now, Who: whoPerson, What: actCreated}, sn, true, time.Hour)
	if err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, err := st.create(ctx, c, Entry{}, sn, true, time.Hour); err != nil || ok {
		t.Fatalf("same person and service again: %v %v", ok, err)
	}
	other := *c
	other.User = "tg:2"
	if _, err := st.create(ctx, &other, Entry{}, sn, true, time.Hour); !errors.Is(err, errTaken) {
		t.Fatalf("someone else's code: %v", err)
	}
	if n, _ := st.pending(ctx, sn.staff); n != 1 {
		t.Fatalf("staff stream = %d", n)
	}
	if n, _ := st.pending(ctx, sn.hook); n != 1 {
		t.Fatalf("hook stream = %d", n)
	}
	if live, _ := st.live(ctx, "tg:1"); live != "PK-ABCD" {
		t.Fatalf("live = %q", live)
	}

	// Once: the same token changes nothing the second time.
	ch := change{from: open, user: "tg:1", group: -1, streams: sn, event: evRelay, payload: "p1", ttl: time.Hour,
		once: "relay:u1", onceTTL: time.Minute, entry: &Entry{At: now, Who: whoPerson, What: actMessage}}
	if r, err := st.update(ctx, "PK-ABCD", ch); err != nil || !r.applied {
		t.Fatalf("relay: %+v %v", r, err)
	}
	if r, _ := st.update(ctx, "PK-ABCD", ch); r.applied || !r.dup {
		t.Fatalf("repeated relay: %+v", r)
	}
	if n, _ := st.pending(ctx, sn.staff); n != 2 {
		t.Fatalf("staff stream = %d, want 2", n)
	}

	// Claim only from received; tell the person only while the case is live.
	claim := change{from: []string{StatusReceived}, to: StatusClaimed, user: "tg:1", group: -1, streams: sn,
		tell: evClaimed, ttl: time.Hour}
	if r, _ := st.update(ctx, "PK-ABCD", claim); !r.applied {
		t.Fatal("claim refused")
	}
	if r, _ := st.update(ctx, "PK-ABCD", claim); r.applied || r.status != StatusClaimed {
		t.Fatalf("second claim: %+v", r)
	}
	if n, _ := st.pending(ctx, personStream); n != 1 {
		t.Fatalf("person stream = %d", n)
	}
	closeCh := change{from: open, to: StatusClosed, user: "tg:1", group: -1, streams: sn, endLive: true,
		tell: evClosed, ttl: 30 * time.Minute}
	if r, _ := st.update(ctx, "PK-ABCD", closeCh); !r.applied {
		t.Fatal("close refused")
	}
	if live, _ := st.live(ctx, "tg:1"); live != "" {
		t.Fatalf("live after close = %q", live)
	}
	// A message that raced with the close still gets in; a late tell does not.
	late := change{from: relayable, user: "tg:1", group: -1, streams: sn, event: evRelay, payload: "p2",
		ttl: time.Hour, tell: evClaimed}
	if r, _ := st.update(ctx, "PK-ABCD", late); !r.applied {
		t.Fatal("a message to a just-closed case was refused")
	}
	if n, _ := st.pending(ctx, personStream); n != 2 {
		t.Fatalf("person stream = %d, want 2 (claimed, closed)", n)
	}
	if rs, ok := st.(*redisStore); ok {
		ttl := rs.rdb.PTTL(ctx, rs.k.Case("PK-ABCD")).Val()
		if ttl > 30*time.Minute || ttl <= 0 {
			t.Fatalf("a closed case's TTL was extended by activity: %v", ttl)
		}
	}

	// Outbox: in order, ack removes, fail counts, bury moves.
	_ = st.ensure(ctx, sn.staff)
	es, wait, err := st.read(ctx, sn.staff, "me", time.Minute, 10*time.Millisecond, 10)
	if err != nil || wait || len(es) != 3 || es[0].Event != evOpen || es[1].Event != evRelay || es[2].Event != evRelay {
		t.Fatalf("read = %+v %v %v", es, wait, err)
	}
	if p, _ := st.payload(ctx, "PK-ABCD", payloadField(sn.staff, es[1].ID)); p != "p1" {
		t.Fatalf("payload = %q", p)
	}
	if err := st.ack(ctx, sn.staff, es[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.fail(ctx, sn.staff, es[1]); n != 1 {
		t.Fatalf("fail = %d", n)
	}
	if n, _ := st.fail(ctx, sn.staff, es[1]); n != 2 {
		t.Fatalf("fail = %d", n)
	}
	if err := st.bury(ctx, sn.staff, es[1], "test", 2, 100); err != nil {
		t.Fatal(err)
	}
	if err := st.ack(ctx, sn.staff, es[2]); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.pending(ctx, sn.staff); n != 0 {
		t.Fatalf("left = %d", n)
	}
	if p, _ := st.payload(ctx, "PK-ABCD", payloadField(sn.staff, es[2].ID)); p != "" {
		t.Fatal("an acknowledged entry's payload survives")
	}

	// Erase keeps only what it is told (plus status and routing).
	c2 := &Case{Code: "PK-EFGH", Kind: KindReferral, User: "tg:1", Service: "svc", Lang: "fa", Status: StatusReceived,
		Created: now, ConsentAt: now, ConsentVersion: "v", Answers: map[string]string{"town": "Niš"}, Group: -1}
	if _, err := st.create(ctx, c2, Entry{At: now, Who: whoPerson, What: actCreated}, sn, false, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, _ = st.update(ctx, "PK-EFGH", change{user: "tg:1", streams: sn, entry: &Entry{At: now, Who: "staff:tg:9", What: actNote, Text: "secret"}})
	codes, _ := st.codes(ctx, "tg:1")
	if !slices.Equal(codes, []string{"PK-ABCD", "PK-EFGH"}) {
		t.Fatalf("codes = %v", codes)
	}
	wasOpen, err := st.erase(ctx, "tg:1", "PK-EFGH", eraseArgs{keep: []string{"service", "created"}, keepHistory: true,
		retention: time.Hour, entry: Entry{At: now, Who: whoPerson, What: actWithdrawn}, streams: sn})
	if err != nil || !wasOpen {
		t.Fatalf("erase: %v %v", wasOpen, err)
	}
	if wasOpen, _ := st.erase(ctx, "tg:1", "PK-ABCD", eraseArgs{retention: time.Hour, streams: sn}); wasOpen {
		t.Fatal("a closed case counted as withdrawn")
	}
	got, _ := st.load(ctx, "PK-EFGH")
	if got.User != "" || got.Answers != nil || got.Lang != "" || got.ConsentVersion != "" || got.Status != StatusWithdrawn ||
		got.Service != "svc" || got.Created.IsZero() || got.Group != -1 {
		t.Fatalf("after erase: %+v", got)
	}
	h, _ := st.history(ctx, "PK-EFGH")
	if len(h) != 3 || h[1].What != actNote || h[1].Text != "" || h[2].What != actWithdrawn {
		t.Fatalf("history after erase: %+v", h)
	}
	if err := st.forget(ctx, "tg:1"); err != nil {
		t.Fatal(err)
	}
	if codes, _ := st.codes(ctx, "tg:1"); len(codes) != 0 {
		t.Fatalf("codes after forget = %v", codes)
	}
}
