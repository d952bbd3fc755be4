package referral

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"putokaz/bot"
)

// Read and act functions for the supervisors' web console (internal/console).
// The console sees cases as staff do: records, histories and the same staff
// actions, which go through the same code as in Telegram, so the case's card
// and topic change too.

// Cases returns every case the store still holds that staff were or are to
// be shown: those posted to a staff group (they have a trace), those still
// waiting in a staff group's outbox, and those whose delivery failed for good
// (the dead-letter stream). A case's record lives until its retention ends;
// withdrawn cases keep only what Config.KeepAfterDelete names.
func (s *Service) Cases(ctx context.Context) ([]*Case, error) {
	l, ok := s.store.(caseLister)
	if !ok {
		return nil, fmt.Errorf("list cases: the store cannot list cases")
	}
	var streams []string
	for _, g := range s.cfg.Groups() {
		streams = append(streams, staffStream(g))
	}
	if slices.ContainsFunc(s.cfg.services(), func(n string) bool { return s.cfg.Queues[n].Group == 0 }) {
		streams = append(streams, staffStream(0)) // a queue without a group (the playground)
	}
	codes, err := l.allCodes(ctx, streams)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	slices.Sort(codes)
	codes = slices.Compact(codes)
	out, err := l.loadMany(ctx, codes)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// CaseRecord returns one case and its history, oldest first (nil if there
// is no such case any more).
func (s *Service) CaseRecord(ctx context.Context, code string) (*Case, []Entry, error) {
	c, err := s.store.load(ctx, code)
	if err != nil || c == nil {
		return nil, nil, err
	}
	h, err := s.store.history(ctx, code)
	if err != nil {
		return nil, nil, fmt.Errorf("case history: %w", err)
	}
	return c, h, nil
}

// ClaimAs is Claim by a staff member whose first name the card shows.
func (s *Service) ClaimAs(ctx context.Context, code, by, name string) (Outcome, error) {
	return s.claim(ctx, code, by, name)
}

// CloseAs is Close by a staff member whose first name the card shows.
func (s *Service) CloseAs(ctx context.Context, code, by, name string) (Outcome, error) {
	return s.close(ctx, code, by, name)
}

// ServiceName is a service's name in the staff language ("" if the content
// has none).
func (s *Service) ServiceName(id string) string { return s.serviceName(id) }

// LanguageName is a language's own name from the content ("" if unknown).
func (s *Service) LanguageName(tag string) string { return s.languageName(tag) }

// StaffLanguage is the language staff read (Config.StaffLanguage).
func (s *Service) StaffLanguage() string { return s.cfg.StaffLanguage }

// StaffGroups are the staff groups of the configured queues.
func (s *Service) StaffGroups() []int64 { return s.cfg.Groups() }

// QueueServices lists the services with a queue of their own ("*" left out).
func (s *Service) QueueServices() []string {
	return slices.DeleteFunc(s.cfg.services(), func(n string) bool { return n == AnyService })
}

// Membership tells whether a Telegram user belongs to a staff group, with the
// Bot API (getChatMember), briefly cached — the check staff actions in
// Telegram go through.
type Membership struct{ m *members }

// NewMembership asks the Bot API through sender.
func NewMembership(sender *bot.Sender) *Membership { return &Membership{m: newMembers(sender)} }

// IsMember reports whether user is a member (or admin) of group now. An error
// means the Bot API could not tell.
func (m *Membership) IsMember(ctx context.Context, group, user int64) (bool, error) {
	return m.m.isMember(ctx, group, user)
}

// caseLister is what Cases needs of a store: the codes staff were or are to
// be shown, and their records at once.
type caseLister interface {
	allCodes(ctx context.Context, staffStreams []string) ([]string, error)
	loadMany(ctx context.Context, codes []string) ([]*Case, error)
}

var (
	_ caseLister = (*redisStore)(nil)
	_ caseLister = (*memoryStore)(nil)
)

// allCodes reads the traces' index and the "open" entries left in the staff
// streams and their dead-letter streams.
func (r *redisStore) allCodes(ctx context.Context, staffStreams []string) ([]string, error) {
	codes, err := r.rdb.ZRange(ctx, r.k.Traces(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read traces: %w", err)
	}
	for _, name := range staffStreams {
		for _, key := range []string{r.k.Stream(name), r.k.Dead(name)} {
			msgs, err := r.rdb.XRange(ctx, key, "-", "+").Result()
			if err != nil {
				return nil, fmt.Errorf("read stream %s: %w", name, err)
			}
			for _, m := range msgs {
				if m.Values["ev"] == evOpen {
					if code, ok := m.Values["code"].(string); ok {
						codes = append(codes, code)
					}
				}
			}
		}
	}
	return codes, nil
}

// loadMany reads the records in one round trip (gone ones left out).
func (r *redisStore) loadMany(ctx context.Context, codes []string) ([]*Case, error) {
	cmds := make([]*redis.MapStringStringCmd, len(codes))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, code := range codes {
			cmds[i] = p.HGetAll(ctx, r.k.Case(code))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cases: %w", err)
	}
	out := make([]*Case, 0, len(codes))
	for i, cmd := range cmds {
		if c := parseCase(codes[i], cmd.Val()); c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memoryStore) allCodes(_ context.Context, staffStreams []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var codes []string
	for code, t := range m.traces {
		if !t.queued {
			codes = append(codes, code)
		}
	}
	for _, name := range staffStreams {
		st := m.streams[name]
		if st == nil {
			continue
		}
		for _, e := range slices.Concat(st.entries, st.dead) {
			if e.Event == evOpen {
				codes = append(codes, e.Code)
			}
		}
	}
	return codes, nil
}

func (m *memoryStore) loadMany(ctx context.Context, codes []string) ([]*Case, error) {
	out := make([]*Case, 0, len(codes))
	for _, code := range codes {
		c, err := m.load(ctx, code)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}
