package loadtest

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// firstSubscriber is the chat (= user) ID of the first simulated subscriber
// of RunAnnounce: far from the conversing users' chats (firstChat), so that
// an update sent to one of them, or a reply sent to a subscriber, shows.
const firstSubscriber = 8_000_000_001

// bulkCounter counts the messages the fake Bot API received for each
// subscriber chat, and when each arrived: delivered, duplicated and lost
// are counted at the API, as Telegram would see them.
type bulkCounter struct {
	counts []atomic.Int32

	mu    sync.Mutex
	times []time.Time // arrival of every message, in arrival order
}

func newBulkCounter(subscribers int) *bulkCounter {
	if subscribers <= 0 {
		return nil
	}
	return &bulkCounter{counts: make([]atomic.Int32, subscribers)}
}

// observe counts a message to chat when chat is a subscriber's.
func (b *bulkCounter) observe(chat int64, at time.Time) bool {
	if b == nil {
		return false
	}
	i := chat - firstSubscriber
	if i < 0 || i >= int64(len(b.counts)) {
		return false
	}
	b.counts[i].Add(1)
	b.mu.Lock()
	b.times = append(b.times, at)
	b.mu.Unlock()
	return true
}

// total is the number of messages received so far.
func (b *bulkCounter) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.times)
}

// last is when the last message arrived (zero: none yet).
func (b *bulkCounter) last() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.times) == 0 {
		return time.Time{}
	}
	return b.times[len(b.times)-1]
}

// arrivals is a sorted copy of the arrival times.
func (b *bulkCounter) arrivals() []time.Time {
	b.mu.Lock()
	out := append([]time.Time(nil), b.times...)
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// tally is, over the subscribers: how many got the update at least once,
// how many messages were extra (a second copy to one person), and how many
// got nothing.
func (b *bulkCounter) tally() (reached, duplicated, missing int) {
	for i := range b.counts {
		switch n := int(b.counts[i].Load()); {
		case n == 0:
			missing++
		default:
			reached++
			duplicated += n - 1
		}
	}
	return reached, duplicated, missing
}

// countIn is how many of the sorted times t fall in [from, to).
func countIn(t []time.Time, from, to time.Time) int {
	i := sort.Search(len(t), func(k int) bool { return !t[k].Before(from) })
	j := sort.Search(len(t), func(k int) bool { return !t[k].Before(to) })
	return j - i
}
