package keys

import (
	"reflect"
	"strings"
	"testing"
)

// hashTag returns what Redis Cluster hashes for key: the text between the
// first "{" and the next "}", if that text is non-empty (otherwise the whole
// key is hashed and ok is false).
func hashTag(key string) (tag string, ok bool) {
	s := strings.IndexByte(key, '{')
	if s < 0 {
		return "", false
	}
	e := strings.IndexByte(key[s+1:], '}')
	if e <= 0 {
		return "", false
	}
	return key[s+1 : s+1+e], true
}

var nastyUsers = []string{
	"tg:12345", "tg:1", "tg:12", "", "%", "%7B", "{", "}", "{}", "a{b}c",
	"}tg:1{", "tg:*", "tg:?", "tg:[1]", `tg:\`, "tg:1}:session", "дом", "a b\n",
}

func TestSessionFormat(t *testing.T) {
	for _, tc := range []struct{ prefix, user, want string }{
		{"putokaz:", "tg:12345", "putokaz:u:{tg:12345}:session"},
		{"", "tg:1", "u:{tg:1}:session"},
		{"p:", "a{b}", "p:u:{a%7Bb%7D}:session"},
		{"p:", "100%", "p:u:{100%25}:session"},
		{"p:", "", "p:u:{%}:session"},
		{"p{x}:", "tg:1", "p%7Bx%7D:u:{tg:1}:session"},
	} {
		k := New(tc.prefix)
		if got := k.Session(tc.user); got != tc.want {
			t.Errorf("New(%q).Session(%q) = %q, want %q", tc.prefix, tc.user, got, tc.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	if got := New("putokaz:").Prefix(); got != "putokaz:" {
		t.Errorf("Prefix() = %q", got)
	}
	if got := (Keys{}).Session("tg:1"); got != "u:{tg:1}:session" {
		t.Errorf("zero Keys Session = %q", got)
	}
}

func TestUserPattern(t *testing.T) {
	for _, tc := range []struct{ prefix, user, want string }{
		{"putokaz:", "tg:12345", "putokaz:u:{tg:12345}:*"},
		{"", "tg:1", "u:{tg:1}:*"},
		{"p:", "tg:*", `p:u:{tg:\*}:*`},
		{"p:", `a?b[c]\`, `p:u:{a\?b\[c\]\\}:*`},
		{"te*st[1]:", "x{y}", `te\*st\[1\]:u:{x%7By%7D}:*`},
	} {
		if got := New(tc.prefix).UserPattern(tc.user); got != tc.want {
			t.Errorf("New(%q).UserPattern(%q) = %q, want %q", tc.prefix, tc.user, got, tc.want)
		}
	}
	if got := New("a*:").PrefixPattern(); got != `a\*:*` {
		t.Errorf("PrefixPattern = %q", got)
	}
}

// TestEscapeInjective checks that distinct user IDs never map to the same
// escaped form and that the escaped form never contains a brace.
func TestEscapeInjective(t *testing.T) {
	seen := map[string]string{}
	for _, u := range nastyUsers {
		e := escapeUser(u)
		if strings.ContainsAny(e, "{}") {
			t.Errorf("escapeUser(%q) = %q contains a brace", u, e)
		}
		if e == "" {
			t.Errorf("escapeUser(%q) is empty: the hash tag would be ignored", u)
		}
		if prev, dup := seen[e]; dup {
			t.Errorf("escapeUser(%q) == escapeUser(%q) == %q", u, prev, e)
		}
		seen[e] = u
	}
}

// nonUserMethods lists methods of Keys with the shape func(string) string
// that do NOT build a per-person key. A new per-person method needs no entry
// here; a new global one (e.g. keyed by an update ID) must be added.
var nonUserMethods = map[string]bool{
	"UserPattern": true,
	"Instance":    true,
}

// TestEveryUserKeyIsTagged enforces the package rule on every method of the
// shape func(user string) string: the key starts with prefix+"u:{"+user+"}:",
// its hash tag is exactly the escaped user (so all of a person's keys share a
// slot) and it is reachable by UserPattern.
func TestEveryUserKeyIsTagged(t *testing.T) {
	k := New("p{re}fix:")
	v := reflect.ValueOf(k)
	typ := v.Type()
	checked := 0
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		mt := m.Type // includes the receiver
		if mt.NumIn() != 2 || mt.In(1).Kind() != reflect.String ||
			mt.NumOut() != 1 || mt.Out(0).Kind() != reflect.String || nonUserMethods[m.Name] {
			continue
		}
		checked++
		for _, u := range nastyUsers {
			key := v.Method(i).Call([]reflect.Value{reflect.ValueOf(u)})[0].String()
			want := k.Prefix() + "u:{" + escapeUser(u) + "}:"
			if !strings.HasPrefix(key, want) {
				t.Errorf("%s(%q) = %q, want prefix %q", m.Name, u, key, want)
			}
			if tag, ok := hashTag(key); !ok || tag != escapeUser(u) {
				t.Errorf("%s(%q) = %q: hash tag %q (ok=%v), want %q", m.Name, u, key, tag, ok, escapeUser(u))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no per-user key methods found; the reflection filter is broken")
	}
}

// TestKeysThatNameNoPerson: the erased update's mark and the staff-group
// traces carry no user and no person's hash tag.
func TestKeysThatNameNoPerson(t *testing.T) {
	k := New("p:")
	if got := k.UpdateErased(912345); got != "p:tg:erased:912345" {
		t.Errorf("UpdateErased = %q", got)
	}
	if _, tagged := hashTag(k.UpdateErased(1)); tagged {
		t.Error("UpdateErased has a hash tag")
	}
	for _, key := range []string{k.Referral().Trace("PK-7F3Q"), k.Referral().Traces()} {
		if tag, ok := hashTag(key); !ok || tag != "ref" {
			t.Errorf("%s: hash tag %q, want ref (one slot with the cases)", key, tag)
		}
	}
	if got := k.ChatMessages("tg:1"); got != "p:u:{tg:1}:tg:msgs" {
		t.Errorf("ChatMessages = %q", got)
	}
}

// TestSubsTopic: a topic's index of subscribers belongs to nobody (no hash
// tag: people of every slot are in it), one key per topic and language.
func TestSubsTopic(t *testing.T) {
	k := New("p:")
	if got := k.SubsTopic("shelter", "sr-Cyrl"); got != "p:subs:shelter:sr-Cyrl" {
		t.Errorf("SubsTopic = %q", got)
	}
	if _, tagged := hashTag(k.SubsTopic("a{b}", "en")); tagged {
		t.Error("SubsTopic has a hash tag")
	}
	if k.SubsTopic("shelter", "fa") == k.SubsTopic("shelter", "ar") || k.SubsTopic("work", "en") == k.SubsTopic("health", "en") {
		t.Error("two indexes share a key")
	}
	if got := k.SubsPattern(); got != "p:subs:*" {
		t.Errorf("SubsPattern = %q", got)
	}
	if got := k.Subs("tg:1"); got != "p:u:{tg:1}:subs" {
		t.Errorf("Subs = %q", got)
	}
}
