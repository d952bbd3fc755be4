package referral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"putokaz/internal/backoff"
	"putokaz/internal/engine"
	"putokaz/internal/textnorm"
)

// deliverStaff delivers an entry of a staff group's stream. It reads the
// case at delivery time: what /delete erased is never posted.
func (s *Desk) deliverStaff(ctx context.Context, e entry) error {
	if e.Event == evExpired {
		// The case is gone: only its trace says where it was shown.
		return s.takeBack(ctx, e.Code, nil, "expired")
	}
	c, err := s.store.load(ctx, e.Code)
	if err != nil {
		return err
	}
	if c == nil {
		return errSkip // expired
	}
	switch e.Event {
	case evOpen:
		return s.openCase(ctx, c)
	case evRelay:
		return s.postRelay(ctx, c, e)
	case evAlert:
		return s.postNotice(ctx, c, "alert", tNoticeEmergency)
	case evLeft:
		return s.postNotice(ctx, c, "notice", tNoticeLeft)
	case evCard:
		return s.editCard(ctx, c)
	case evReminder:
		return s.postReminder(ctx, c)
	case evEscalate:
		return s.postEscalation(ctx, c)
	case evWithdrawn, evErased:
		// Taken back whole (topic or messages deleted): editing the card
		// first would only be deleted with it.
		return s.takeBack(ctx, c.Code, c, "deleted")
	}
	return errSkip // an event of a newer version: nothing we can do
}

// takeBack deletes a case's messages in its staff group — its forum topic,
// or the bot's messages for it where it has no topic of its own — and then
// forgets where they were. After /delete (c is the withdrawn record) staff
// who saw the case are told, naming only its code, in the group's General
// topic (or the queue's shared topic). When Telegram refuses for good (the
// bot may not delete messages, the topic is gone), that is counted and
// logged as an error and not retried; other failures are retried by the
// outbox.
func (s *Desk) takeBack(ctx context.Context, code string, c *Case, why string) error {
	tr, err := s.store.trace(ctx, code)
	if err != nil {
		return err
	}
	if tr != nil {
		how := "messages"
		if !tr.shared && tr.thread != 0 {
			how = "topic"
			err = s.staff.DeleteTopic(ctx, tr.group, tr.thread)
		}
		if err == nil && len(tr.msgs) > 0 {
			// Shared topics: the case's messages; any case: the bot's
			// reminders about it in the General topic.
			err = s.staff.DeleteMessages(ctx, tr.group, tr.msgs)
		}
		switch {
		case err == nil:
			s.m.staffErased.WithLabelValues(why, how, "deleted").Inc()
		case errors.Is(err, ErrRejected), errors.Is(err, ErrForbidden):
			s.m.staffErased.WithLabelValues(why, how, "refused").Inc()
			s.log.Error("Telegram refused to delete a case's messages in the staff group: delete them by hand, "+
				"and let the bot delete messages there", "case", s.hash(code), "group", tr.group, "how", how,
				"reason", reasonOf(err))
		default:
			return fmt.Errorf("delete the case's messages for staff: %w", err)
		}
		if err := s.store.dropTrace(ctx, code); err != nil {
			return err
		}
	}
	if c == nil || c.Card == 0 {
		if tr == nil {
			return errSkip // staff never saw it, or taken back already
		}
		return nil
	}
	// Staff saw the case: say that it was withdrawn, by its code alone.
	thread := 0 // the General topic: the case's own topic is gone
	if c.Shared {
		thread = c.Thread
	}
	text := "<b>" + EscapeHTML(c.Code) + "</b> " + EscapeHTML(s.text(tNoticeWithdrew))
	if _, err := s.staff.Post(ctx, c.Group, thread, Post{Code: c.Code, Kind: "notice", Text: text}); err != nil {
		return s.refused(c, "notice", fmt.Errorf("notice to staff: %w", err))
	}
	return nil
}

// openCase creates the case's topic (once) and posts its card (once): both
// IDs are recorded as soon as Telegram returns them, and a re-delivered entry
// whose case has a card posts nothing.
func (s *Desk) openCase(ctx context.Context, c *Case) error {
	if c.Card != 0 {
		return errSkip // posted by an earlier delivery of this entry
	}
	if c.Status == StatusWithdrawn || c.User == "" {
		return errSkip // withdrawn before staff saw it: nothing to post
	}
	q, _ := s.cfg.queue(c.Service)
	if c.Thread == 0 && !c.Shared {
		thread, shared := q.Topic, q.Topic != 0
		if !shared {
			t, err := s.staff.OpenTopic(ctx, c.Group, s.topicName(c))
			switch {
			case errors.Is(err, ErrNoTopics):
				// Better in the main chat than nowhere; staff reply to the card.
				s.log.Error("staff group cannot have a topic per case; posting in its main chat (make it a forum and "+
					"let the bot manage topics)", "group", c.Group, "err", err)
				shared = true
			case err != nil:
				return fmt.Errorf("open topic: %w", err)
			default:
				thread = t
			}
		}
		if err := s.store.place(ctx, c.Code, placement{group: c.Group, setThread: true, thread: thread, shared: shared,
			mapTopic: !shared, ttl: s.safetyTTL()}); err != nil {
			return err
		}
		c.Thread, c.Shared = thread, shared
	}
	msg, err := s.staff.Post(ctx, c.Group, c.Thread, Post{Code: c.Code, Kind: "card", Text: s.card(c, q),
		Buttons: s.cardButtons(c)})
	if err != nil {
		return fmt.Errorf("post card: %w", err)
	}
	p := placement{group: c.Group, card: msg, ttl: s.safetyTTL()}
	if c.Shared {
		p.msg = msg
	}
	if err := s.store.place(ctx, c.Code, p); err != nil {
		// The card is posted but not recorded: a retry would post it again.
		// Retry the write a few times before giving up.
		for i := 0; i < 3 && err != nil; i++ {
			_ = backoff.Wait(ctx, s.cfg.BackoffBase)
			err = s.store.place(context.WithoutCancel(ctx), c.Code, p)
		}
		if err != nil {
			return err
		}
	}
	s.log.Info("case card posted", "case", s.hash(c.Code), "group", c.Group)
	return nil
}

// cardButtons are the actions a case's status still allows: Claim and
// Close while it waits, Close once claimed, none after.
func (s *Desk) cardButtons(c *Case) []engine.Button {
	claim := engine.Button{Label: s.text(tButtonClaim), Data: DataClaim + c.Code}
	closeB := engine.Button{Label: s.text(tButtonClose), Data: DataClose + c.Code}
	switch c.Status {
	case StatusReceived:
		return []engine.Button{claim, closeB}
	case StatusClaimed:
		return []engine.Button{closeB}
	}
	return nil
}

// editCard shows a case's status on its card (the card posted later
// shows it anyway). The edit reads the record now: an entry delivered
// late shows the newest status, and a withdrawn case's card loses its
// answers.
func (s *Desk) editCard(ctx context.Context, c *Case) error {
	if c.Card == 0 {
		return errSkip
	}
	q, _ := s.cfg.queue(c.Service)
	if err := s.staff.EditCard(ctx, c.Group, c.Card, s.card(c, q), s.cardButtons(c)); err != nil {
		return s.refused(c, "card", fmt.Errorf("edit card: %w", err))
	}
	return nil
}

// postRelay shows staff what the person sent.
func (s *Desk) postRelay(ctx context.Context, c *Case, e entry) error {
	if c.Status == StatusWithdrawn || c.Card == 0 {
		return errSkip
	}
	raw, err := s.store.payload(ctx, c.Code, payloadField(s.staffStream(c.Group), e.ID))
	if err != nil {
		return err
	}
	if raw == "" {
		return errSkip // erased or expired
	}
	var p relayPayload
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return errSkip
	}
	prefix := EscapeHTML(s.text(tRelayPerson))
	post := Post{Code: c.Code, Kind: "relay"}
	switch p.Kind {
	case "text", "edited":
		if p.Kind == "edited" {
			prefix += " " + EscapeHTML(s.text(tRelayEdited))
		}
		text := prefix + " " + EscapeHTML(p.Text)
		// Telegram counts the text after parsing HTML: the prefix plus the
		// person's text. Too long for one message: copy the original.
		if textnorm.UTF16Len(s.text(tRelayPerson))+textnorm.UTF16Len(p.Text)+20 > 4096 {
			if p.Copy != nil {
				post.Copy = p.Copy
			}
			text = prefix + " " + EscapeHTML(clip(p.Text, 3900))
		}
		post.Text = text
	default:
		post.Copy = p.Copy
		post.Text = prefix + " " + EscapeHTML(s.text(tRelayNotCopied)) + " " + EscapeHTML(p.Kind)
	}
	msg, err := s.staff.Post(ctx, c.Group, c.Thread, post)
	if err != nil {
		return s.refused(c, "relay", fmt.Errorf("relay to staff: %w", err))
	}
	if c.Shared && msg != 0 {
		if err := s.store.place(ctx, c.Code, placement{group: c.Group, msg: msg, ttl: s.safetyTTL()}); err != nil {
			s.log.Warn("could not map a relayed message to its case", "case", s.hash(c.Code), "err", err)
		}
	}
	return nil
}

// postNotice tells staff in the case's topic what happened.
func (s *Desk) postNotice(ctx context.Context, c *Case, kind, textID string) error {
	if c.Card == 0 {
		return errSkip
	}
	msg, err := s.staff.Post(ctx, c.Group, c.Thread, Post{Code: c.Code, Kind: kind,
		Text: EscapeHTML(s.text(textID)), ReplyTo: sharedReply(c)})
	if err != nil {
		return s.refused(c, kind, fmt.Errorf("notice to staff: %w", err))
	}
	if c.Shared && msg != 0 {
		// Taken back with the case (and staff may answer it).
		if err := s.store.place(ctx, c.Code, placement{group: c.Group, msg: msg, ttl: s.safetyTTL()}); err != nil {
			s.log.Warn("could not map a notice to its case", "case", s.hash(c.Code), "err", err)
		}
	}
	return nil
}

// refused turns the staff side refusing a relay or notice for good
// (ErrRejected: the topic was deleted, a message it cannot take) into a
// logged drop instead of
// retrying it for an hour; a case card is never dropped this way (it goes
// to the dead-letter stream, with an alert, after Config.Attempts).
func (s *Desk) refused(c *Case, what string, err error) error {
	if errors.Is(err, ErrRejected) {
		s.log.Error("Telegram refused a message to staff; dropped", "what", what, "case", s.hash(c.Code),
			"group", c.Group, "reason", reasonOf(err))
		return errSkip
	}
	return err
}

// sharedReply makes a notice in a shared topic answer the case's card, so
// staff see which case it is about.
func sharedReply(c *Case) int {
	if c.Shared {
		return c.Card
	}
	return 0
}

// deliverPerson shows the person what staff did (claimed, closed) through
// their conversation, which resumes after a close. The conversation answers
// an event once (it changes the session), so its messages are stored before
// they are sent: a retry sends the same messages instead of asking again.
func (s *Desk) deliverPerson(ctx context.Context, conv Conversation, e entry) error {
	c, err := s.store.load(ctx, e.Code)
	if err != nil {
		return err
	}
	if c == nil || c.User == "" {
		return errSkip // expired or withdrawn
	}
	field := payloadField(personStream, e.ID)
	raw, err := s.store.payload(ctx, c.Code, field)
	if err != nil {
		return err
	}
	var msgs []engine.Message
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &msgs); err != nil {
			return errSkip
		}
	} else {
		if conv == nil {
			return errors.New("no conversation to tell the person")
		}
		in := engine.Input{Kind: engine.InEvent, Event: engine.EventHandoffClaimed, LangHint: c.Lang}
		switch {
		case c.Kind == KindReferral && e.Event == evReplied:
			in.Event, in.Case, in.CaseService = engine.EventCaseMessage, c.Code, c.Service
		case c.Kind == KindReferral && e.Event == evClosed:
			in.Event, in.Case, in.CaseService = engine.EventCaseClosed, c.Code, c.Service
		case c.Kind == KindReferral:
			return errSkip // an event of a newer version
		case e.Event == evClosed:
			in.Event = engine.EventHandoffClosed
		}
		unlock := func() {}
		if s.lock != nil {
			if unlock, err = s.lock(ctx, c.User); err != nil {
				return fmt.Errorf("wait for the person's chat: %w", err)
			}
			// The update we waited for may have been their /delete: then
			// there is nobody to tell, and telling would store a session.
			if now, err := s.store.load(ctx, e.Code); err != nil || now == nil || now.User == "" {
				unlock()
				if err != nil {
					return err
				}
				return errSkip
			}
		}
		msgs, err = conv.Handle(ctx, c.User, in)
		unlock()
		if err != nil {
			return fmt.Errorf("tell the person: %w", err)
		}
		if len(msgs) == 0 {
			return nil
		}
		b, _ := json.Marshal(msgs)
		if err := s.store.setPayload(ctx, c.Code, field, string(b)); err != nil {
			s.log.Warn("could not keep the notice for a retry", "case", s.hash(c.Code), "err", err)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := s.staff.Notify(ctx, c.User, msgs); err != nil {
		if errors.Is(err, ErrBlocked) {
			return errSkip
		}
		return fmt.Errorf("tell the person: %w", err)
	}
	return nil
}
