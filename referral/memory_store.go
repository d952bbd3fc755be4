package referral

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memoryStore is the Store of the playground and of tests without Redis:
// the same semantics as redisStore under one mutex, lost on restart. Case
// records expire like in Redis (checked when read).
type memoryStore struct {
	mu       sync.Mutex
	now      func() time.Time
	cases    map[string]*memCase
	persons  map[string]map[string]bool // user → codes
	lives    map[string]string          // user → code
	topics   map[string]string          // group:thread → code
	messages map[string]string          // group:msg → code
	once     map[string]time.Time       // code/token → expiry
	streams  map[string]*memStream
	traces   map[string]*memTrace
	waits    map[string]time.Time // code → created: cases maybe waiting to be claimed
	seq      int64
}

type memTrace struct {
	trace
	expires time.Time
	queued  bool // "expired" is queued (in Redis: no longer in Traces)
}

type memCase struct {
	fields   map[string]string
	history  []Entry
	payloads map[string]string
	expires  time.Time
}

type memStream struct {
	entries  []entry // not yet acknowledged, in order
	dead     []entry
	attempts map[string]int
	lease    string
	leaseEnd time.Time
	notify   chan struct{} // closed and replaced when an entry is added
}

// NewMemoryStore keeps cases in process memory (the playground, tests).
func NewMemoryStore() Store {
	return &memoryStore{now: time.Now, cases: map[string]*memCase{}, persons: map[string]map[string]bool{},
		lives: map[string]string{}, topics: map[string]string{}, messages: map[string]string{},
		once: map[string]time.Time{}, streams: map[string]*memStream{}, traces: map[string]*memTrace{},
		waits: map[string]time.Time{}}
}

func gkey(group int64, n int) string { return strconv.FormatInt(group, 10) + ":" + strconv.Itoa(n) }

// getCase returns a live case record (expired ones are dropped).
func (m *memoryStore) getCase(code string) *memCase {
	c := m.cases[code]
	if c != nil && !c.expires.IsZero() && m.now().After(c.expires) {
		delete(m.cases, code)
		return nil
	}
	return c
}

func (m *memoryStore) stream(name string) *memStream {
	s := m.streams[name]
	if s == nil {
		s = &memStream{attempts: map[string]int{}, notify: make(chan struct{})}
		m.streams[name] = s
	}
	return s
}

// add appends an event to a stream and returns its ID (like XADD *).
func (m *memoryStore) add(stream, event, code string) string {
	m.seq++
	id := strconv.FormatInt(m.now().UnixMilli(), 10) + "-" + strconv.FormatInt(m.seq, 10)
	s := m.stream(stream)
	s.entries = append(s.entries, entry{ID: id, Event: event, Code: code})
	close(s.notify)
	s.notify = make(chan struct{})
	return id
}

func (m *memoryStore) create(_ context.Context, c *Case, first Entry, s streamNames, hook bool, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.getCase(c.Code); cur != nil {
		if cur.fields[fUser] == c.User && cur.fields[fService] == c.Service {
			return false, nil
		}
		return false, errTaken
	}
	m.cases[c.Code] = &memCase{fields: c.fields(), history: []Entry{first}, payloads: map[string]string{},
		expires: m.now().Add(ttl)}
	if m.persons[c.User] == nil {
		m.persons[c.User] = map[string]bool{}
	}
	m.persons[c.User][c.Code] = true
	if c.Kind == KindHandoff {
		m.lives[c.User] = c.Code
	}
	m.waits[c.Code] = c.Created
	m.add(s.staff, evOpen, c.Code)
	if hook {
		m.add(s.hook, evCreated, c.Code)
	}
	return true, nil
}

func (m *memoryStore) load(_ context.Context, code string) (*Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil {
		return nil, nil
	}
	return parseCase(code, maps.Clone(c.fields)), nil
}

func (m *memoryStore) history(_ context.Context, code string) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil {
		return nil, nil
	}
	return slices.Clone(c.history), nil
}

func (m *memoryStore) update(_ context.Context, code string, ch change) (changeResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil || c.fields[fStatus] == "" {
		return changeResult{}, nil
	}
	st := c.fields[fStatus]
	if len(ch.from) > 0 && !slices.Contains(ch.from, st) {
		return changeResult{status: st}, nil
	}
	if ch.once != "" {
		k := code + "/" + ch.once
		if exp, ok := m.once[k]; ok && m.now().Before(exp) {
			return changeResult{status: st, dup: true}, nil
		}
		m.once[k] = m.now().Add(ch.onceTTL)
	}
	if ch.to != "" {
		c.fields[fStatus] = ch.to
	}
	maps.Copy(c.fields, ch.set)
	if ch.entry != nil {
		c.history = append(c.history, *ch.entry)
	}
	ended := (st == StatusClosed || st == StatusWithdrawn) && ch.to == ""
	if ch.ttl > 0 && !ended {
		c.expires = m.now().Add(ch.ttl)
	}
	if ch.event != "" {
		id := m.add(ch.streams.staff, ch.event, code)
		if ch.payload != "" {
			c.payloads[payloadField(ch.streams.staff, id)] = ch.payload
		}
	}
	if ch.hook != "" {
		id := m.add(ch.streams.hook, ch.hook, code)
		if ch.hookPayload != "" {
			c.payloads[payloadField(ch.streams.hook, id)] = ch.hookPayload
		}
	}
	live := m.lives[ch.user] == code && ch.user != ""
	if ch.tell != "" && (live || ch.tellAlways) {
		m.add(personStream, ch.tell, code)
	}
	if ch.endLive && live {
		delete(m.lives, ch.user)
	}
	return changeResult{status: st, applied: true}, nil
}

func (m *memoryStore) erase(_ context.Context, user, code string, a eraseArgs) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil || c.fields[fUser] != user {
		return false, nil
	}
	wasOpen := isOpen(c.fields[fStatus])
	keep := append(slices.Clone(alwaysKept), a.keep...)
	for f := range c.fields {
		if !slices.Contains(keep, f) {
			delete(c.fields, f)
		}
	}
	if wasOpen {
		c.fields[fStatus] = StatusWithdrawn
	}
	c.expires = m.now().Add(a.retention)
	if a.keepHistory {
		for i := range c.history {
			c.history[i].Text = ""
		}
		c.history = append(c.history, a.entry)
	} else {
		c.history = nil
	}
	c.payloads = map[string]string{}
	if m.lives[user] == code {
		delete(m.lives, user)
	}
	if wasOpen {
		m.add(a.streams.staff, evWithdrawn, code)
		if a.hook {
			m.add(a.streams.hook, evWithdrawn, code)
		}
	} else if f := c.fields; (f[fCard] != "" && f[fCard] != "0") || (f[fThread] != "" && f[fThread] != "0") {
		m.add(a.streams.staff, evErased, code)
	}
	return wasOpen, nil
}

func (m *memoryStore) codes(_ context.Context, user string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Collect(maps.Keys(m.persons[user]))
	slices.Sort(out)
	return out, nil
}

func (m *memoryStore) forget(_ context.Context, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.persons, user)
	delete(m.lives, user)
	return nil
}

func (m *memoryStore) live(_ context.Context, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lives[user], nil
}

func (m *memoryStore) byTopic(_ context.Context, group int64, thread int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.topics[gkey(group, thread)], nil
}

func (m *memoryStore) byMessage(_ context.Context, group int64, msgID int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.messages[gkey(group, msgID)], nil
}

func (m *memoryStore) place(_ context.Context, code string, p placement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil {
		return nil
	}
	if p.setThread {
		c.fields[fThread] = strconv.Itoa(p.thread)
		c.fields[fShared] = flag(p.shared)
	}
	if p.mapTopic {
		m.topics[gkey(p.group, p.thread)] = code
	}
	if p.card != 0 {
		c.fields[fCard] = strconv.Itoa(p.card)
		if c.history != nil {
			c.history = append(c.history, Entry{At: m.now().UTC(), Who: whoBot, What: actPosted})
		}
	}
	if p.msg != 0 {
		m.messages[gkey(p.group, p.msg)] = code
	}
	t := m.traces[code]
	if p.setThread {
		if t == nil {
			t = &memTrace{}
			m.traces[code] = t
		}
		t.group, t.thread, t.shared = p.group, p.thread, p.shared
	}
	if t != nil {
		ids := []int{p.traceMsg}
		if c.fields[fShared] == "1" {
			ids = append(ids, p.card, p.msg)
		}
		for _, id := range ids {
			if id != 0 && !slices.Contains(t.msgs, id) {
				t.msgs = append(t.msgs, id)
			}
		}
		t.expires = later(t.expires, c.expires.Add(traceGrace))
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (m *memoryStore) trace(_ context.Context, code string) (*trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.traces[code]
	if t == nil || m.now().After(t.expires) {
		return nil, nil
	}
	out := t.trace
	out.msgs = slices.Sorted(slices.Values(t.msgs))
	return &out, nil
}

func (m *memoryStore) dropTrace(_ context.Context, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.traces, code)
	return nil
}

func (m *memoryStore) staleTraces(_ context.Context, grace time.Duration) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for code, t := range m.traces {
		if t.queued {
			continue
		}
		if c := m.getCase(code); c != nil {
			t.expires = later(t.expires, c.expires.Add(grace))
			continue
		}
		out = append(out, code)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memoryStore) expire(_ context.Context, code, stream string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.traces[code]
	if m.getCase(code) != nil || t == nil || t.queued {
		return false, nil
	}
	t.queued = true
	m.add(stream, evExpired, code)
	return true, nil
}

func (m *memoryStore) payload(_ context.Context, code, field string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.getCase(code); c != nil {
		return c.payloads[field], nil
	}
	return "", nil
}

func (m *memoryStore) setPayload(_ context.Context, code, field, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.getCase(code); c != nil {
		c.payloads[field] = value
	}
	return nil
}

func (m *memoryStore) ensure(context.Context, string) error { return nil }

func (m *memoryStore) lease(_ context.Context, stream, token string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stream(stream)
	if s.lease == token || s.lease == "" || m.now().After(s.leaseEnd) {
		s.lease, s.leaseEnd = token, m.now().Add(ttl)
		return true, nil
	}
	return false, nil
}

func (m *memoryStore) unlease(_ context.Context, stream, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.stream(stream); s.lease == token {
		s.lease = ""
	}
	return nil
}

// read returns the oldest unacknowledged entries: in one process there is
// no other consumer to take over from.
func (m *memoryStore) read(ctx context.Context, stream, _ string, _, block time.Duration, n int) ([]entry, bool, error) {
	m.mu.Lock()
	s := m.stream(stream)
	if len(s.entries) == 0 {
		ch := s.notify
		m.mu.Unlock()
		t := time.NewTimer(block)
		defer t.Stop()
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	return slices.Clone(s.entries[:min(n, len(s.entries))]), false, nil
}

func (m *memoryStore) ack(_ context.Context, stream string, e entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stream(stream)
	s.entries = slices.DeleteFunc(s.entries, func(x entry) bool { return x.ID == e.ID })
	delete(s.attempts, e.ID)
	if c := m.cases[e.Code]; c != nil {
		delete(c.payloads, payloadField(stream, e.ID))
	}
	return nil
}

func (m *memoryStore) fail(_ context.Context, stream string, e entry) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stream(stream)
	s.attempts[e.ID]++
	return s.attempts[e.ID], nil
}

func (m *memoryStore) bury(_ context.Context, stream string, e entry, _ string, _ int, maxLen int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stream(stream)
	s.entries = slices.DeleteFunc(s.entries, func(x entry) bool { return x.ID == e.ID })
	delete(s.attempts, e.ID)
	s.dead = append(s.dead, e)
	if over := len(s.dead) - int(maxLen); over > 0 {
		s.dead = s.dead[over:]
	}
	return nil
}

func (m *memoryStore) pending(_ context.Context, stream string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.stream(stream).entries)), nil
}

func (m *memoryStore) waiting(context.Context) ([]*Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Case
	for code := range m.waits {
		c := m.getCase(code)
		if c == nil || c.fields[fStatus] != StatusReceived {
			delete(m.waits, code)
			continue
		}
		out = append(out, parseCase(code, maps.Clone(c.fields)))
	}
	slices.SortFunc(out, func(a, b *Case) int {
		if d := a.Created.Compare(b.Created); d != 0 {
			return d
		}
		return strings.Compare(a.Code, b.Code)
	})
	return out, nil
}

func (m *memoryStore) remind(_ context.Context, code string, n int, stream string, escalate bool, e Entry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.getCase(code)
	if c == nil || c.fields[fStatus] != StatusReceived {
		delete(m.waits, code)
		return false, nil
	}
	had, _ := strconv.Atoi(c.fields[fReminded])
	if had != n-1 {
		return false, nil
	}
	c.fields[fReminded] = strconv.Itoa(n)
	c.history = append(c.history, e)
	m.add(stream, evReminder, code)
	if escalate {
		m.add(stream, evEscalate, code)
	}
	return true, nil
}
