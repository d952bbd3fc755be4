package playground

import (
	"context"
	"sync"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
)

// maxTracked bounds how many people the tracker remembers: a playground left
// running must not grow without limit. Past it, an arbitrary entry is
// forgotten; that person's flows panel merely shows no step until their next
// message.
const maxTracked = 10000

// Sessions wraps the session store and remembers where each person stands
// (flow/step) from the last blob saved for them. The conversation core does
// not expose sessions to transports, and should not for Telegram; the
// playground only needs the position for its flows panel, and the store is
// the one place that sees every saved session.
type Sessions struct {
	next conversation.Sessions

	mu sync.Mutex
	at map[string]string
}

var _ conversation.Sessions = (*Sessions)(nil)

// TrackSessions wraps next.
func TrackSessions(next conversation.Sessions) *Sessions {
	return &Sessions{next: next, at: make(map[string]string)}
}

// Load implements conversation.Sessions.
func (s *Sessions) Load(ctx context.Context, user string) ([]byte, error) {
	return s.next.Load(ctx, user)
}

// Save implements conversation.Sessions and records the position.
func (s *Sessions) Save(ctx context.Context, user string, blob []byte) error {
	if err := s.next.Save(ctx, user, blob); err != nil {
		return err
	}
	at := ""
	// The blob was just encoded by the engine; a decode error would be a bug
	// there, and only costs the panel its highlight.
	if sess, err := engine.DecodeSession(blob); err == nil && sess.Flow != "" {
		at = sess.Flow + "/" + sess.Step
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[user]; !ok && len(s.at) >= maxTracked {
		for k := range s.at {
			delete(s.at, k)
			break
		}
	}
	s.at[user] = at
	return nil
}

// Delete implements conversation.Sessions and forgets the position.
func (s *Sessions) Delete(ctx context.Context, user string) error {
	s.mu.Lock()
	delete(s.at, user)
	s.mu.Unlock()
	return s.next.Delete(ctx, user)
}

// At returns where the person stands ("flow/step"), or "" when unknown.
func (s *Sessions) At(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at[user]
}
