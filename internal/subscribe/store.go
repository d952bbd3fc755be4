// Package subscribe keeps who wants to hear when a topic changes: a
// subscription is a person's key, a topic (a flow's name) and the language
// to write in, and nothing else. Store is the contract the sending side
// (announcements) reads; Handler applies the conversation's subscription
// effects to it.
package subscribe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sub is one of a person's subscriptions.
type Sub struct{ Topic, Lang string }

// Store keeps subscriptions. Implemented by *Redis and *Memory.
type Store interface {
	// Add subscribes user to topic in lang. It is idempotent: adding again
	// renews the subscription and may change its language.
	Add(ctx context.Context, user, topic, lang string) error
	// Remove ends user's subscription to topic; topic "" ends every one.
	Remove(ctx context.Context, user, topic string) error
	// List is user's live subscriptions, sorted by topic.
	List(ctx context.Context, user string) ([]Sub, error)
	// Count is the number of live subscriptions to topic in lang.
	Count(ctx context.Context, topic, lang string) (int, error)
	// Page walks the live subscribers of topic in lang: start with cursor
	// "" and stop when next == "". A person subscribed for the whole walk is
	// returned at least once; one who renewed their subscription during the
	// walk may be returned twice, so a sender must tolerate repeats.
	Page(ctx context.Context, topic, lang, cursor string, n int) (users []string, next string, err error)
}

// DefaultTTL is how long a subscription lasts after it was last made: 12
// months (the data text about/data says so).
const DefaultTTL = 365 * 24 * time.Hour

// ErrBadInput is returned for an empty user, topic or language, or a bad cursor.
var ErrBadInput = errors.New("subscribe: bad input")

func check(user, topic, lang string) error {
	if user == "" || topic == "" || lang == "" || strings.ContainsAny(lang, " ") {
		return fmt.Errorf("%w: user, topic and language must be set", ErrBadInput)
	}
	return nil
}

// cursor is a position in a topic's walk: the expiry and user of the last
// subscriber returned. Subscribers are walked by (expiry, user).
type cursor struct {
	exp  int64
	user string
}

func (c cursor) String() string { return strconv.FormatInt(c.exp, 10) + " " + c.user }

func parseCursor(s string) (cursor, error) {
	e, u, ok := strings.Cut(s, " ")
	exp, err := strconv.ParseInt(e, 10, 64)
	if !ok || err != nil || u == "" {
		return cursor{}, fmt.Errorf("%w: cursor %q", ErrBadInput, s)
	}
	return cursor{exp: exp, user: u}, nil
}

// entry is how the person's own index records one subscription:
// "<expiry unix seconds> <language>".
func entry(exp int64, lang string) string { return strconv.FormatInt(exp, 10) + " " + lang }

func parseEntry(s string) (exp int64, lang string, ok bool) {
	e, lang, ok := strings.Cut(s, " ")
	exp, err := strconv.ParseInt(e, 10, 64)
	return exp, lang, ok && err == nil && lang != ""
}
