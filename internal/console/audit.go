package console

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// AuditEntry is one line of the audit log: who did what to which case, when.
// It never holds message or note text.
type AuditEntry struct {
	At time.Time
	// Who is the staff member's Telegram user ID.
	Who int64
	// What: one of the audit actions below.
	What string
	// Case is the case's code ("" for sign-in and the like); Group its
	// staff group (0 if none), so that members see their groups' entries.
	Case  string
	Group int64
}

// Audit actions.
const (
	auditSignIn  = "sign_in"
	auditRefused = "sign_in_refused" // valid login data, not a member
	auditSignOut = "sign_out"
	auditRemoved = "signed_out_not_member"
	auditView    = "view"
	auditClaim   = "claim"
	auditNote    = "note"
	auditClose   = "close"
	auditExport  = "export"
	auditReport  = "report"
)

// Audit is the durable audit log: RedisAudit in production, MemoryAudit
// for tests.
type Audit interface {
	Write(ctx context.Context, e AuditEntry) error
	// Recent returns up to n entries, newest first.
	Recent(ctx context.Context, n int) ([]AuditEntry, error)
}

// RedisAudit keeps the audit log in a Redis stream (keys.ConsoleKeys.Audit):
// entries older than the retention are trimmed on every write, and the
// stream expires that long after its last entry.
type RedisAudit struct {
	rdb       redis.UniversalClient
	key       string
	retention time.Duration
}

// NewRedisAudit keeps entries for retention.
func NewRedisAudit(rdb redis.UniversalClient, k keys.Keys, retention time.Duration) *RedisAudit {
	return &RedisAudit{rdb: rdb, key: k.Console().Audit(), retention: retention}
}

// Write implements Audit.
func (r *RedisAudit) Write(ctx context.Context, e AuditEntry) error {
	minID := strconv.FormatInt(e.At.Add(-r.retention).UnixMilli(), 10)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: r.key, MinID: minID, Approx: true, ID: "*", Values: []any{
			"at", e.At.UTC().Format(time.RFC3339Nano), "who", strconv.FormatInt(e.Who, 10), "what", e.What,
			"case", e.Case, "group", strconv.FormatInt(e.Group, 10)}})
		p.PExpire(ctx, r.key, r.retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Recent implements Audit.
func (r *RedisAudit) Recent(ctx context.Context, n int) ([]AuditEntry, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, r.key, "+", "-", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	cutoff := time.Now().Add(-r.retention)
	for _, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		e := AuditEntry{What: str("what"), Case: str("case")}
		e.At, _ = time.Parse(time.RFC3339Nano, str("at"))
		e.Who, _ = strconv.ParseInt(str("who"), 10, 64)
		e.Group, _ = strconv.ParseInt(str("group"), 10, 64)
		if e.At.Before(cutoff) {
			continue // trimming is approximate
		}
		out = append(out, e)
	}
	return out, nil
}

// MemoryAudit keeps the audit log in memory.
type MemoryAudit struct {
	mu sync.Mutex
	e  []AuditEntry
}

// Write implements Audit.
func (m *MemoryAudit) Write(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.e = append(m.e, e)
	return nil
}

// Recent implements Audit.
func (m *MemoryAudit) Recent(_ context.Context, n int) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.e)
	slices.Reverse(out)
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
