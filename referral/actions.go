package referral

import (
	"context"
	"errors"
	"fmt"
)

// Outcome is what a staff action did.
type Outcome int

const (
	// Done: the action was carried out.
	Done Outcome = iota
	// AlreadyClaimed: someone claimed the case before.
	AlreadyClaimed
	// NotOpen: the case is closed; nothing was done.
	NotOpen
	// Withdrawn: the person withdrew (/delete); nothing was done.
	Withdrawn
	// Unknown: there is no such case (or it expired).
	Unknown
	// Blocked: the reply did not reach the person (they blocked the bot).
	Blocked
)

// Staff actions. by is the staff member's ID (from telegramstaff: "tg:<user
// id>"): recorded in the case history, never logged.

// Claim takes a received case. For a handoff the person is told that a
// staff member is with them (if they are still in that chat); for a referral
// only its status changes (/status shows it).
func (s *Desk) Claim(ctx context.Context, code, by string) (Outcome, error) {
	return s.claim(ctx, code, by, "")
}

// claim is Claim by a staff member whose first name (name, "" unknown) the
// card shows.
func (s *Desk) claim(ctx context.Context, code, by, name string) (Outcome, error) {
	c, err := s.store.load(ctx, code)
	if err != nil {
		return Unknown, fmt.Errorf("claim: %w", err)
	}
	if c == nil {
		return Unknown, nil
	}
	now := s.now().UTC()
	ch := change{from: []string{StatusReceived}, to: StatusClaimed, user: c.User, group: c.Group, thread: c.Thread,
		ttl: s.safetyTTL(), streams: s.streams(c), set: map[string]string{fClaimedBy: by, fClaimedAt: fmtTime(now)},
		entry: &Entry{At: now, Who: staffWho(by), What: actClaimed}, event: evCard}
	if name != "" {
		ch.set[fClaimedName] = clip(name, 64)
	}
	if c.Kind == KindHandoff {
		ch.tell = evClaimed
	}
	if s.hasHook(c.Service) {
		ch.hook = evClaimed
	}
	res, err := s.store.update(ctx, code, ch)
	if err != nil {
		return Unknown, fmt.Errorf("claim: %w", err)
	}
	if !res.applied {
		return notApplied(res.status), nil
	}
	s.m.staffActions.WithLabelValues(actClaimed).Inc()
	return Done, nil
}

func notApplied(status string) Outcome {
	switch status {
	case StatusClaimed:
		return AlreadyClaimed
	case StatusClosed:
		return NotOpen
	case StatusWithdrawn:
		return Withdrawn
	}
	return Unknown
}

// Close closes an open case: its topic is closed and, for a handoff the
// person is still in, the person is told and their conversation resumes
// ("was this helpful?"). The record is kept for Config.Retention.
func (s *Desk) Close(ctx context.Context, code, by string) (Outcome, error) {
	return s.close(ctx, code, by, "")
}

// close is Close by a staff member whose first name the card shows.
func (s *Desk) close(ctx context.Context, code, by, name string) (Outcome, error) {
	c, err := s.store.load(ctx, code)
	if err != nil {
		return Unknown, fmt.Errorf("close: %w", err)
	}
	if c == nil {
		return Unknown, nil
	}
	now := s.now().UTC()
	ch := change{from: open, to: StatusClosed, user: c.User, group: c.Group, thread: c.Thread,
		ttl: s.cfg.Retention, streams: s.streams(c), set: map[string]string{fClosedBy: by, fClosedAt: fmtTime(now)},
		entry: &Entry{At: now, Who: staffWho(by), What: actClosed}, endLive: true, event: evCard}
	if name != "" {
		ch.set[fClosedName] = clip(name, 64)
	}
	if c.Kind == KindHandoff {
		ch.tell = evClosed
	} else {
		// What the person types stops going to the referral's staff.
		ch.tell, ch.tellAlways = evClosed, true
	}
	if s.hasHook(c.Service) {
		ch.hook = evClosed
	}
	res, err := s.store.update(ctx, code, ch)
	if err != nil {
		return Unknown, fmt.Errorf("close: %w", err)
	}
	if !res.applied {
		if res.status == StatusClosed {
			return NotOpen, nil
		}
		return notApplied(res.status), nil
	}
	s.m.staffActions.WithLabelValues(actClosed).Inc()
	if c.Thread != 0 && !c.Shared {
		// Closing the topic is tidiness, not safety: the case is closed
		// whether or not Telegram agrees.
		if err := s.staff.CloseTopic(ctx, c.Group, c.Thread); err != nil {
			s.log.Warn("could not close the case's topic", "case", s.hash(code), "err", err)
		}
	}
	return Done, nil
}

// Note records an internal note (not sent to the person) in the case
// history.
func (s *Desk) Note(ctx context.Context, code, by, text string) (Outcome, error) {
	return s.NoteOnce(ctx, code, by, text, "")
}

// NoteOnce is Note recorded at most once per token (a staff update handled
// again after a failure records its note once; "": no such guard).
func (s *Desk) NoteOnce(ctx context.Context, code, by, text, once string) (Outcome, error) {
	c, err := s.store.load(ctx, code)
	if err != nil {
		return Unknown, fmt.Errorf("note: %w", err)
	}
	if c == nil {
		return Unknown, nil
	}
	ch := change{from: []string{StatusReceived, StatusClaimed, StatusClosed}, user: c.User, group: c.Group,
		thread: c.Thread, streams: s.streams(c), entry: &Entry{At: s.now().UTC(), Who: staffWho(by), What: actNote,
			Text: clip(text, 4000)}, once: once, onceTTL: s.cfg.OnceTTL}
	if isOpen(c.Status) {
		ch.ttl = s.safetyTTL()
	}
	res, err := s.store.update(ctx, code, ch)
	if err != nil {
		return Unknown, fmt.Errorf("note: %w", err)
	}
	if res.dup {
		return Done, nil
	}
	if !res.applied {
		return notApplied(res.status), nil
	}
	s.m.staffActions.WithLabelValues(actNote).Inc()
	return Done, nil
}

// Reply sends what a staff member wrote to the case's person. It is sent
// first and recorded after: if recording fails the staff update is retried
// and the person may get the reply twice, which is better than never.
//
// About a referral, the person sees which service and which case it comes
// from (a header in their language); a Telegram reply to it reaches the
// case, and their conversation is told (evReplied, through the person
// stream) so that what they type next goes to the case too.
func (s *Desk) Reply(ctx context.Context, code, by string, r Reply) (Outcome, error) {
	c, err := s.store.load(ctx, code)
	if err != nil {
		return Unknown, fmt.Errorf("reply: %w", err)
	}
	if c == nil {
		return Unknown, nil
	}
	if !isOpen(c.Status) || c.User == "" {
		return notApplied(c.Status), nil
	}
	if c.Kind == KindReferral {
		r.Header = s.personHeader(c)
	}
	ids, err := s.staff.ToPerson(ctx, c.User, r)
	if err != nil {
		if errors.Is(err, ErrBlocked) {
			return Blocked, nil
		}
		return Unknown, fmt.Errorf("reply: %w", err)
	}
	if chat, ok := s.staff.PersonChat(c.User); ok && c.Kind == KindReferral {
		for _, id := range ids {
			if id == 0 {
				continue
			}
			if err := s.store.place(ctx, code, placement{group: chat, msg: id, ttl: s.safetyTTL()}); err != nil {
				s.log.Warn("could not map a staff message to its case; a reply to it is not routed", "case", s.hash(code), "err", err)
			}
		}
	}
	kind := "text"
	if r.Media != "" {
		kind = r.Media
	}
	ch := change{from: open, user: c.User, group: c.Group, thread: c.Thread, ttl: s.safetyTTL(), streams: s.streams(c),
		entry: &Entry{At: s.now().UTC(), Who: staffWho(by), What: actReply, Text: r.Text}}
	if c.Kind == KindReferral {
		ch.tell, ch.tellAlways = evReplied, true
	}
	if s.hasHook(c.Service) {
		hm := HookMessage{Direction: "to_person", Kind: kind}
		if r.Media == "" {
			hm.Text = r.Text
		}
		ch.hook, ch.hookPayload = evMessage, hm.json()
	}
	if _, err := s.store.update(ctx, code, ch); err != nil {
		return Unknown, fmt.Errorf("reply: %w", err)
	}
	s.m.staffActions.WithLabelValues(actReply).Inc()
	return Done, nil
}
