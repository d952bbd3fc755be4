package referral

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"putokaz/internal/backoff"
)

// Reminders: nothing waits unseen. A case (referral or live chat) that
// nobody claimed within its service's claim_within (directory; working
// time) gets a reminder in its topic; if it is still unclaimed after the
// same time again, a second one in its topic and one in the group's General
// topic. No more after that: the case stays on /waiting, and on the gauges.
//
// The reminder pass (Desk.Remind, every Config.RemindEvery under Run)
// reads the index of waiting cases (keys.ReferralKeys.Waiting) and, for a
// reminder that is due, queues it on the case's staff stream with the same
// script that counts it on the case (store.remind): so a reminder is queued
// once whatever the number of replicas or restarts, and the outbox delivers
// it once, paced with the group's other messages.

// maxReminders is how many reminders a waiting case gets.
const maxReminders = 2

// remindLoop runs the reminder pass every RemindEvery (the first time soon
// after the start).
func (s *Desk) remindLoop(ctx context.Context) {
	first := min(s.cfg.RemindEvery, time.Duration(1+rand.Int64N(int64(5*time.Second))))
	for backoff.Wait(ctx, first) == nil {
		if err := s.Remind(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reminder pass failed; retrying later", "err", err)
		}
		first = s.cfg.RemindEvery
	}
}

// Remind queues the reminders that are due for cases waiting to be
// claimed and updates the gauges of waiting cases; one pass.
func (s *Desk) Remind(ctx context.Context) error {
	ws, err := s.Waiting(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	waiting, overdue := map[string]int{}, map[string]int{}
	var errs []error
	for _, w := range ws {
		waiting[w.Service]++
		if w.ClaimWithin <= 0 || now.Before(w.Due) {
			continue
		}
		overdue[w.Service]++
		n := w.Reminders + 1
		if n > maxReminders {
			continue
		}
		_, hours := s.claimRule(w.Service)
		due := w.Due
		for range n - 1 {
			due = addOpen(hours, due, w.ClaimWithin)
		}
		if now.Before(due) {
			continue
		}
		queued, err := s.store.remind(ctx, w.Code, n, s.staffStream(w.Group), n == maxReminders,
			Entry{At: now.UTC(), Who: whoBot, What: actReminded})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if queued {
			s.log.Info("case waiting unclaimed; staff reminded", "case", s.hash(w.Code), "service", w.Service,
				"reminder", n)
		}
	}
	s.m.unclaimed.Reset()
	s.m.overdue.Reset()
	for svc, n := range waiting {
		s.m.unclaimed.WithLabelValues(svc).Set(float64(n))
		s.m.overdue.WithLabelValues(svc).Set(float64(overdue[svc]))
	}
	return errors.Join(errs...)
}

// postReminder tells staff in a case's topic that it still waits to be
// claimed, and for how long.
func (s *Desk) postReminder(ctx context.Context, c *Case) error {
	if c.Status != StatusReceived || c.Card == 0 {
		// Claimed meanwhile; or its card never made it (the escalation to
		// the General topic still names it).
		return errSkip
	}
	text := "⏰ <b>" + EscapeHTML(c.Code) + "</b> " + EscapeHTML(s.text(tReminderTopic)) + " " +
		EscapeHTML(fmtWait(s.now().Sub(c.Created))) + ".\n" + EscapeHTML(s.text(tReminderHow))
	msg, err := s.staff.Post(ctx, c.Group, c.Thread, Post{Code: c.Code, Kind: "reminder", Text: text,
		ReplyTo: sharedReply(c)})
	if err != nil {
		return s.refused(c, "reminder", fmt.Errorf("reminder to staff: %w", err))
	}
	if c.Shared && msg != 0 {
		if err := s.store.place(ctx, c.Code, placement{group: c.Group, msg: msg, ttl: s.safetyTTL()}); err != nil {
			s.log.Warn("could not map a reminder to its case", "case", s.hash(c.Code), "err", err)
		}
	}
	s.m.reminders.WithLabelValues(c.Service).Inc()
	return nil
}

// postEscalation names a case that still waits after its second reminder
// in the group's General topic, with a link to it: only its code, service
// and waiting time (nothing of the person).
func (s *Desk) postEscalation(ctx context.Context, c *Case) error {
	if c.Status != StatusReceived {
		return errSkip
	}
	if c.Thread == 0 && c.Card != 0 {
		return errSkip // the case is in the main chat already: its reminder is there
	}
	text := "⏰ " + EscapeHTML(s.text(tReminderGeneral)) + "\n" + s.waitingLine(c, "")
	msg, err := s.staff.Post(ctx, c.Group, 0, Post{Code: c.Code, Kind: "reminder", Text: text})
	if err != nil {
		return s.refused(c, "reminder", fmt.Errorf("reminder to staff: %w", err))
	}
	if msg != 0 {
		// Deleted with the case (/delete, the end of its retention).
		if err := s.store.place(ctx, c.Code, placement{group: c.Group, traceMsg: msg, ttl: s.safetyTTL()}); err != nil {
			s.log.Warn("could not record a reminder in the General topic; it stays there after the case", "case",
				s.hash(c.Code), "err", err)
		}
	}
	return nil
}

// waitingLine shows one waiting case to staff: its code (linked to its
// topic), service, kind and how long it waits (and how overdue it is).
func (s *Desk) waitingLine(c *Case, overdue string) string {
	code := "<b>" + EscapeHTML(c.Code) + "</b>"
	if l := caseLink(c); l != "" {
		code = `<a href="` + EscapeHTML(l) + `">` + EscapeHTML(c.Code) + "</a>"
	}
	name := s.serviceName(c.Service)
	if name == "" {
		name = c.Service
	}
	kind := s.text(tCardReferral)
	if c.Kind == KindHandoff {
		kind = s.text(tCardHandoff)
	}
	zone := s.zone(c.Service)
	line := code + " · " + EscapeHTML(name) + " · " + EscapeHTML(kind) + "\n   " + EscapeHTML(s.text(tWaitingFor)) + " " +
		EscapeHTML(fmtWait(s.now().Sub(c.Created))) + " (" + EscapeHTML(s.text(tWaitingSince)) + " " +
		c.Created.In(zone).Format("2006-01-02 15:04 MST") + ")"
	if overdue != "" {
		line += " · ⚠ " + EscapeHTML(s.text(tWaitingOverdue)) + " " + EscapeHTML(overdue)
	}
	return line
}

// maxWaitingLines bounds /waiting's answer (Telegram's 4096 characters).
const maxWaitingLines = 25

// WaitingText answers /waiting in a staff group (Telegram HTML): the
// group's cases waiting to be claimed, most overdue first.
func (s *Desk) WaitingText(ctx context.Context, group int64) (string, error) {
	ws, err := s.Waiting(ctx)
	if err != nil {
		return "", err
	}
	var lines []string
	more := 0
	for _, w := range ws {
		if w.Group != group {
			continue
		}
		if len(lines) == maxWaitingLines {
			more++
			continue
		}
		c := &Case{Code: w.Code, Kind: w.Kind, Service: w.Service, Created: w.Created, Group: w.Group,
			Thread: w.Thread, Shared: w.Shared, Card: w.Card}
		overdue := ""
		if w.Overdue > 0 {
			overdue = fmtWait(w.Overdue)
		}
		lines = append(lines, strconv.Itoa(len(lines)+1)+". "+s.waitingLine(c, overdue))
	}
	if len(lines) == 0 {
		return EscapeHTML(s.text(tWaitingNone)), nil
	}
	text := "<b>" + EscapeHTML(s.text(tWaitingTitle)) + "</b>\n\n" + strings.Join(lines, "\n")
	if more > 0 {
		text += "\n\n" + EscapeHTML(s.text(tWaitingMore)) + " " + strconv.Itoa(more)
	}
	return text, nil
}

// fmtWait shows a waiting time to staff: "45 min", "4 h 05 min", "2 d 3 h".
func fmtWait(d time.Duration) string {
	d = max(d, 0).Truncate(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %02d min", hours, mins)
	}
	return fmt.Sprintf("%d min", mins)
}
