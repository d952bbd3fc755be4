package subscribe

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testContract checks the Store behaviour both implementations promise.
// newStore returns an empty store whose subscriptions last ttl on clk.
func testContract(t *testing.T, newStore func(t *testing.T, ttl time.Duration, clk *clock) Store) {
	// Near the real time: Redis expires keys by its own clock.
	start := time.Now().UTC().Truncate(time.Second)

	t.Run("add, list, renew and move", func(t *testing.T) {
		ctx := t.Context()
		clk := &clock{start}
		s := newStore(t, time.Hour, clk)
		for _, topic := range []string{"shelter", "asylum", "health"} {
			if err := s.Add(ctx, "tg:1", topic, "fa"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Add(ctx, "tg:1", "asylum", "fa"); err != nil { // idempotent
			t.Fatal(err)
		}
		got, err := s.List(ctx, "tg:1")
		want := []Sub{{"asylum", "fa"}, {"health", "fa"}, {"shelter", "fa"}}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("List = %v, %v; want %v (sorted by topic)", got, err, want)
		}
		if err := s.Add(ctx, "tg:1", "asylum", "ar"); err != nil { // a new language moves it
			t.Fatal(err)
		}
		for lang, n := range map[string]int{"fa": 0, "ar": 1} {
			if c, err := s.Count(ctx, "asylum", lang); err != nil || c != n {
				t.Errorf("Count(asylum, %s) = %d, %v; want %d", lang, c, err, n)
			}
		}
		if got, _ := s.List(ctx, "tg:1"); got[0] != (Sub{"asylum", "ar"}) {
			t.Errorf("after the move List = %v", got)
		}
		if got, _ := s.List(ctx, "tg:nobody"); len(got) != 0 {
			t.Errorf("List of a stranger = %v", got)
		}
	})

	t.Run("remove one and all", func(t *testing.T) {
		ctx := t.Context()
		clk := &clock{start}
		s := newStore(t, time.Hour, clk)
		for _, u := range []string{"tg:1", "tg:2"} {
			for _, topic := range []string{"shelter", "work"} {
				if err := s.Add(ctx, u, topic, "en"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Remove(ctx, "tg:1", "work"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.List(ctx, "tg:1"); !slices.Equal(got, []Sub{{"shelter", "en"}}) {
			t.Errorf("after Remove(work) List = %v", got)
		}
		if n, _ := s.Count(ctx, "work", "en"); n != 1 {
			t.Errorf("Count(work) = %d, want 1", n)
		}
		if err := s.Remove(ctx, "tg:1", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "tg:1", ""); err != nil { // idempotent
			t.Fatal(err)
		}
		if got, _ := s.List(ctx, "tg:1"); len(got) != 0 {
			t.Errorf("after Remove(all) List = %v", got)
		}
		if n, _ := s.Count(ctx, "shelter", "en"); n != 1 {
			t.Errorf("Count(shelter) = %d, want 1 (the other person)", n)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		ctx := t.Context()
		clk := &clock{start}
		s := newStore(t, time.Hour, clk)
		if err := s.Add(ctx, "tg:old", "shelter", "en"); err != nil {
			t.Fatal(err)
		}
		clk.t = start.Add(40 * time.Minute)
		if err := s.Add(ctx, "tg:new", "shelter", "en"); err != nil {
			t.Fatal(err)
		}
		clk.t = start.Add(61 * time.Minute)
		if got, _ := s.List(ctx, "tg:old"); len(got) != 0 {
			t.Errorf("an expired subscription is listed: %v", got)
		}
		if n, _ := s.Count(ctx, "shelter", "en"); n != 1 {
			t.Errorf("Count = %d, want 1 (only the live one)", n)
		}
		users, next, err := s.Page(ctx, "shelter", "en", "", 10)
		if err != nil || !slices.Equal(users, []string{"tg:new"}) || next != "" {
			t.Errorf("Page = %v, %q, %v; want [tg:new]", users, next, err)
		}
		// Renewing makes it live again, for another full term.
		if err := s.Add(ctx, "tg:old", "shelter", "en"); err != nil {
			t.Fatal(err)
		}
		clk.t = start.Add(110 * time.Minute)
		if got, _ := s.List(ctx, "tg:old"); len(got) != 1 {
			t.Errorf("a renewed subscription is not listed: %v", got)
		}
	})

	t.Run("page walks everyone once", func(t *testing.T) {
		ctx := t.Context()
		clk := &clock{start}
		s := newStore(t, time.Hour, clk)
		var want []string
		for i := range 7 {
			u := fmt.Sprintf("tg:%d", 100+i)
			want = append(want, u)
			if i%3 == 0 {
				clk.t = clk.t.Add(time.Second) // some share an expiry, some do not
			}
			if err := s.Add(ctx, u, "health", "sr-Cyrl"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Add(ctx, "tg:other", "health", "en"); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 2, 3, 7, 50} {
			var got []string
			cur := ""
			for pages := 0; ; pages++ {
				users, next, err := s.Page(ctx, "health", "sr-Cyrl", cur, n)
				if err != nil {
					t.Fatal(err)
				}
				if len(users) > n || pages > 10 {
					t.Fatalf("n=%d: page of %d, or too many pages", n, len(users))
				}
				got = append(got, users...)
				if next == "" {
					break
				}
				cur = next
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("n=%d: walked %v, want %v", n, got, want)
			}
		}
		if users, next, err := s.Page(ctx, "nobody_follows", "en", "", 5); len(users) != 0 || next != "" || err != nil {
			t.Errorf("Page of an empty topic = %v, %q, %v", users, next, err)
		}
	})

	t.Run("a person who leaves mid-walk is not repeated, one who stays is not skipped", func(t *testing.T) {
		ctx := t.Context()
		clk := &clock{start}
		s := newStore(t, time.Hour, clk)
		for _, u := range []string{"tg:a", "tg:b", "tg:c", "tg:d"} {
			if err := s.Add(ctx, u, "work", "en"); err != nil {
				t.Fatal(err)
			}
		}
		first, next, err := s.Page(ctx, "work", "en", "", 2)
		if err != nil || len(first) != 2 || next == "" {
			t.Fatalf("first page = %v, %q, %v", first, next, err)
		}
		if err := s.Remove(ctx, first[1], ""); err != nil { // the cursor's person leaves
			t.Fatal(err)
		}
		rest, next, err := s.Page(ctx, "work", "en", next, 10)
		if err != nil || next != "" {
			t.Fatalf("second page = %v, %q, %v", rest, next, err)
		}
		got := append(slices.Clone(first), rest...)
		slices.Sort(got)
		if !slices.Equal(slices.Compact(slices.Clone(got)), []string{"tg:a", "tg:b", "tg:c", "tg:d"}) {
			t.Errorf("walked %v: someone was skipped", got)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		ctx := t.Context()
		s := newStore(t, time.Hour, &clock{start})
		for _, in := range [][3]string{{"", "shelter", "en"}, {"tg:1", "", "en"}, {"tg:1", "shelter", ""}} {
			if err := s.Add(ctx, in[0], in[1], in[2]); !errors.Is(err, ErrBadInput) {
				t.Errorf("Add(%q) = %v, want ErrBadInput", in, err)
			}
		}
		if _, _, err := s.Page(ctx, "shelter", "en", "garbage", 5); !errors.Is(err, ErrBadInput) {
			t.Errorf("Page(bad cursor) = %v, want ErrBadInput", err)
		}
	})
}

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	testContract(t, func(_ *testing.T, ttl time.Duration, clk *clock) Store { return NewMemory(ttl, clk.now) })
}
