package referral

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Read and act functions for the supervisors' web console (internal/console).
// The console sees cases as staff do: records, histories and the same staff
// actions, which go through the same code as in Telegram, so the case's card
// and topic change too.

// Cases returns every case the store still holds, whatever became of its
// delivery to staff (waiting in the outbox, posted, dead-lettered): a case
// lives until its retention ends; a withdrawn one keeps only what
// Config.KeepAfterDelete names. In Redis it reads the records with SCAN (on
// the one master of their slot in a cluster): a few round trips per
// thousand keys of the database, for a page a few supervisors open.
func (s *Desk) Cases(ctx context.Context) ([]*Case, error) {
	l, ok := s.store.(caseLister)
	if !ok {
		return nil, fmt.Errorf("list cases: the store cannot list cases")
	}
	codes, err := l.allCodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	slices.Sort(codes)
	codes = slices.Compact(codes) // SCAN may return a key twice
	out, err := l.loadMany(ctx, codes)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// CaseRecord returns one case and its history, oldest first (nil if there
// is no such case any more).
func (s *Desk) CaseRecord(ctx context.Context, code string) (*Case, []Entry, error) {
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
func (s *Desk) ClaimAs(ctx context.Context, code, by, name string) (Outcome, error) {
	return s.claim(ctx, code, by, name)
}

// CloseAs is Close by a staff member whose first name the card shows.
func (s *Desk) CloseAs(ctx context.Context, code, by, name string) (Outcome, error) {
	return s.close(ctx, code, by, name)
}

// ServiceName is a service's name in the staff language ("" if the content
// has none).
func (s *Desk) ServiceName(id string) string { return s.serviceName(id) }

// LanguageName is a language's own name from the content ("" if unknown).
func (s *Desk) LanguageName(tag string) string { return s.languageName(tag) }

// StaffLanguage is the language staff read (Config.StaffLanguage).
func (s *Desk) StaffLanguage() string { return s.cfg.StaffLanguage }

// StaffGroups are the staff groups of the configured queues.
func (s *Desk) StaffGroups() []int64 { return s.cfg.Groups() }

// QueueServices lists the services with a queue of their own ("*" left out).
func (s *Desk) QueueServices() []string {
	return slices.DeleteFunc(s.cfg.services(), func(n string) bool { return n == AnyService })
}

// caseLister is what Cases needs of a store: the codes of its cases, and
// their records at once.
type caseLister interface {
	allCodes(ctx context.Context) ([]string, error)
	loadMany(ctx context.Context, codes []string) ([]*Case, error)
}

var (
	_ caseLister = (*redisStore)(nil)
	_ caseLister = (*memoryStore)(nil)
)

// scanCount is the COUNT hint of the SCAN that lists cases.
const scanCount = 1000

// allCodes SCANs the case records: on a single Redis (or behind Sentinel)
// the server itself, on a cluster the master that owns the "{ref}" slot, on
// a ring every shard.
func (r *redisStore) allCodes(ctx context.Context) ([]string, error) {
	pattern, prefix := r.k.CasePattern(), r.k.Case("")
	var codes []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, scanCount).Iterator()
		for it.Next(ctx) {
			codes = append(codes, strings.TrimPrefix(it.Val(), prefix))
		}
		return it.Err()
	}
	var err error
	switch c := r.rdb.(type) {
	case *redis.ClusterClient:
		var node *redis.Client
		if node, err = c.MasterForKey(ctx, r.k.Case("PK-2222")); err == nil {
			err = scan(ctx, node)
		}
	case *redis.Ring:
		var mu sync.Mutex
		err = c.ForEachShard(ctx, func(ctx context.Context, shard *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, shard)
		})
	default:
		err = scan(ctx, r.rdb)
	}
	if err != nil {
		return nil, fmt.Errorf("scan cases: %w", err)
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

func (m *memoryStore) allCodes(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	codes := make([]string, 0, len(m.cases))
	for code := range m.cases {
		if m.getCase(code) != nil {
			codes = append(codes, code)
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
