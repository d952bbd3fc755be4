package referral

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"putokaz/internal/content"
)

// CaseSummary is an open case waiting to be claimed, as supervisors see it
// (/waiting in a staff group, the supervisor console): nothing of the person
// — no answers, no user ID.
type CaseSummary struct {
	Code string
	// Kind is KindReferral or KindHandoff.
	Kind    string
	Service string
	// ServiceName is the service's name in the staff language ("" if the
	// content has none).
	ServiceName string
	Lang        string
	Created     time.Time
	// Group, Thread, Shared and Card are where staff see it (Card 0: its
	// card is not posted yet).
	Group  int64
	Thread int
	Shared bool
	Card   int
	// ClaimWithin is the service's time to claim a case (directory
	// claim_within, working time); 0: the service sets none.
	ClaimWithin time.Duration
	// Due is when it should have been claimed by (zero without
	// ClaimWithin); Overdue is how long ago that was (0 if not yet).
	Due     time.Time
	Overdue time.Duration
	// Reminders is how many reminders staff got about it so far.
	Reminders int
	// Link opens its topic (or its card) in Telegram, for members of the
	// staff group ("" where staff see it nowhere yet).
	Link string
}

// Waiting lists the open cases nobody has claimed yet, of every staff
// group, most overdue first: those past their service's claim_within by
// how overdue they are, then those not due yet by when they will be, then
// those of services without claim_within, oldest first.
func (s *Desk) Waiting(ctx context.Context) ([]CaseSummary, error) {
	cases, err := s.store.waiting(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting cases: %w", err)
	}
	now := s.now()
	out := make([]CaseSummary, 0, len(cases))
	for _, c := range cases {
		within, _ := s.claimRule(c.Service)
		w := CaseSummary{Code: c.Code, Kind: c.Kind, Service: c.Service, ServiceName: s.serviceName(c.Service),
			Lang: c.Lang, Created: c.Created, Group: c.Group, Thread: c.Thread, Shared: c.Shared, Card: c.Card,
			ClaimWithin: within, Reminders: c.Reminded, Link: caseLink(c), Due: s.Due(c)}
		if !w.Due.IsZero() && now.After(w.Due) {
			w.Overdue = now.Sub(w.Due)
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b CaseSummary) int {
		switch {
		case a.Due.IsZero() != b.Due.IsZero():
			if a.Due.IsZero() {
				return 1
			}
			return -1
		case !a.Due.IsZero():
			if d := a.Due.Compare(b.Due); d != 0 {
				return d
			}
		}
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Code, b.Code))
	})
	return out, nil
}

// Due is when a case's service expects it claimed: its claim_within
// counted in the service's working hours from when the case came in. Zero
// when the service sets no time.
func (s *Desk) Due(c *Case) time.Time {
	within, hours := s.claimRule(c.Service)
	if within <= 0 {
		return time.Time{}
	}
	return addOpen(hours, c.Created, within)
}

// claimRule is a service's claim_within and working hours (no reminders
// for a service the content does not know).
func (s *Desk) claimRule(service string) (time.Duration, content.Hours) {
	if s.content == nil {
		return 0, content.Hours{}
	}
	c := s.content.Content()
	if c == nil || c.Directory == nil || c.Directory.Services[service] == nil {
		return 0, content.Hours{}
	}
	svc := c.Directory.Services[service]
	return svc.ClaimWithin, svc.Hours
}

// addOpen is t plus d of working time: the clock runs only while staff are
// at work (h; always without hours). A case that arrives at night is due d
// after the service opens, not at the opening.
func addOpen(h content.Hours, t time.Time, d time.Duration) time.Time {
	if h.Location == nil || d <= 0 {
		return t.Add(d)
	}
	if h.To <= h.From {
		return t.Add(d) // no working time in a day: count plain time
	}
	for range 800 { // at most a few hundred working days for the longest claim_within
		n := h.NextOpen(t)
		if !h.Open(n) {
			return t.Add(d) // never open (no days): plain time
		}
		lt := n.In(h.Location)
		end := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, h.Location).Add(time.Duration(h.To) * time.Minute)
		if left := end.Sub(n); left >= d {
			return n.Add(d)
		} else {
			d -= left
		}
		t = end
	}
	return t.Add(d)
}

// caseLink is a t.me link that opens a case's topic (or its card where it
// has no topic of its own) for members of its staff group: private
// supergroups are t.me/c/<ID without -100>/<topic or message>.
func caseLink(c *Case) string {
	id, ok := strings.CutPrefix(strconv.FormatInt(c.Group, 10), "-100")
	if !ok || id == "" {
		return ""
	}
	switch {
	case !c.Shared && c.Thread != 0:
		return "https://t.me/c/" + id + "/" + strconv.Itoa(c.Thread)
	case c.Card != 0:
		return "https://t.me/c/" + id + "/" + strconv.Itoa(c.Card)
	}
	return ""
}
