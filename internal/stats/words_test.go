package stats

import (
	"context"
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/redistest"
)

// A word is shown only once five different people typed it on one day; the
// same person typing it again does not count twice; nothing stored holds a
// person's key, and every key has a TTL.
func TestUnmatchedWords(t *testing.T) {
	rdb, k := redistest.New(t)
	day := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	st, err := New(Options{Content: content.NewHolder(contenttest.Load(t)), Redis: rdb, Keys: k,
		Interval: time.Hour, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	observe := func(person string, words ...string) {
		st.Observe(conversation.Outcome{Input: engine.InText, Lang: "en", Notice: "unknown_text", Unmatched: words, Person: person})
	}
	for _, p := range []string{"tg:1", "tg:2", "tg:3", "tg:4", "tg:5"} {
		observe(p, "visa", "lottery")
	}
	for range 10 {
		observe("tg:6", "bicycle") // one person, many times
	}
	observe("tg:1", "bicycle")
	ctx := context.Background()
	if err := st.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	words, err := ReadWords(ctx, rdb, k, []string{"en", "fa"}, day, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range words {
		got = append(got, w.Word)
		if w.People != 5 || w.Days != 1 {
			t.Errorf("%s: %d people on %d days, want 5 on 1", w.Word, w.People, w.Days)
		}
	}
	if strings.Join(got, ",") != "lottery,visa" {
		t.Errorf("shown words %v, want lottery and visa (bicycle: only 2 people)", got)
	}
	keys, err := rdb.Keys(ctx, k.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if strings.Contains(key, "tg:") {
			t.Errorf("key %s names a person", key)
		}
		if ttl := rdb.TTL(ctx, key).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL", key)
		}
		if v, err := rdb.Dump(ctx, key).Result(); err == nil && strings.Contains(v, "tg:") {
			t.Errorf("key %s holds a person's key", key)
		}
	}
	var b strings.Builder
	if err := WriteWords(&b, words, 10); err != nil || !strings.Contains(b.String(), "visa") {
		t.Errorf("report %q, %v", b.String(), err)
	}
}
