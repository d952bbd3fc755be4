package keys_test

import (
	"slices"
	"testing"
	"time"

	"putokaz/internal/keys"
	"putokaz/internal/testkit/redistest"
)

// TestUserPatternOnRedis checks UserPattern against Redis's own glob matcher:
// for every user, SCAN MATCH finds exactly that user's keys, even when user
// IDs or the prefix contain glob metacharacters or braces.
func TestUserPatternOnRedis(t *testing.T) {
	ctx := t.Context()
	rdb, base := redistest.New(t)
	// Still under the test prefix (so cleanup finds it), plus nasty characters.
	k := keys.New(base.Prefix() + `p*?[x]\{y}:`)
	users := []string{"tg:1", "tg:12", "tg:*", "tg:?", "tg:[1]", `tg:\`, "", "%", "{", "}", "a{b}", "tg:1}:session"}

	for _, u := range users {
		for _, key := range []string{k.Session(u), k.Prefix() + "u:{" + escapeForTest(u) + "}:other"} {
			if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, u := range users {
		var got []string
		var cursor uint64
		for {
			ks, next, err := rdb.Scan(ctx, cursor, k.UserPattern(u), 1000).Result()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ks...)
			if next == 0 {
				break
			}
			cursor = next
		}
		slices.Sort(got)
		want := []string{k.Prefix() + "u:{" + escapeForTest(u) + "}:other", k.Session(u)}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("SCAN MATCH UserPattern(%q) = %q, want %q", u, got, want)
		}
	}
}

// escapeForTest mirrors the documented escaping, to build an "other" key of
// a user the way a future method would.
func escapeForTest(u string) string {
	if u == "" {
		return "%"
	}
	out := ""
	for _, r := range u {
		switch r {
		case '%':
			out += "%25"
		case '{':
			out += "%7B"
		case '}':
			out += "%7D"
		default:
			out += string(r)
		}
	}
	return out
}
