package telegramstaff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"

	"putokaz/bot"
)

// How long an answer of getChatMember is trusted. A member who is removed
// from the staff group can act for at most memberTTL more; a refusal is
// re-asked sooner, so that a colleague just added is not kept out long.
const (
	memberTTL    = time.Minute
	nonMemberTTL = 10 * time.Second
	// maxMemberCache bounds the cache; past it, it starts over.
	maxMemberCache = 10_000
)

// members answers whether a Telegram user belongs to a staff group, from the
// Bot API (getChatMember), cached briefly. A case is acted on (claimed,
// closed, noted, written to) only by members of its group: an update that
// merely comes "from" the group id is not enough, since anyone holding the
// webhook secret can forge one.
type members struct {
	sender *bot.Sender
	now    func() time.Time

	mu    sync.Mutex
	cache map[memberKey]memberEntry
}

type memberKey struct{ group, user int64 }

type memberEntry struct {
	member bool
	until  time.Time
}

func newMembers(s *bot.Sender) *members {
	return &members{sender: s, now: time.Now, cache: map[memberKey]memberEntry{}}
}

// isMember reports whether user is a member (or admin) of group now. An
// error means the Bot API could not tell (the update is retried).
func (m *members) isMember(ctx context.Context, group, user int64) (bool, error) {
	k := memberKey{group, user}
	now := m.now()
	m.mu.Lock()
	e, ok := m.cache[k]
	m.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.member, nil
	}
	var res struct {
		Status   string `json:"status"`
		IsMember bool   `json:"is_member"`
	}
	err := m.sender.Call(ctx, "getChatMember", 0, map[string]any{"chat_id": group, "user_id": user}, &res)
	if errors.Is(err, tgbot.ErrorBadRequest) {
		// "user not found", "participant_id_invalid": not one of ours.
		res.Status, err = "left", nil
	}
	if err != nil {
		return false, fmt.Errorf("getChatMember: %w", err)
	}
	member := false
	switch res.Status {
	case "creator", "administrator", "member":
		member = true
	case "restricted":
		member = res.IsMember
	}
	ttl := memberTTL
	if !member {
		ttl = nonMemberTTL
	}
	m.mu.Lock()
	if len(m.cache) >= maxMemberCache {
		clear(m.cache)
	}
	m.cache[k] = memberEntry{member: member, until: now.Add(ttl)}
	m.mu.Unlock()
	return member, nil
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
