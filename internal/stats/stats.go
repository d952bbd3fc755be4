// Package stats keeps anonymous usage statistics for the mission: which
// topics, languages and steps are used, where people stop, and what becomes
// of referrals. Counters only: nothing here can tell one person from another
// — no user or chat IDs, no text, no locations, no timestamps finer than a
// day — and every label value is a name from the content (flows, steps,
// services, languages) or from a fixed list, so label cardinality is bounded
// by the content; anything else is counted as "other".
//
// Counters go to Prometheus (live, per process) and, with Redis, into one
// hash per UTC day (keys.StatsDay) that `putokaz stats` summarises across
// replicas and restarts. Redis writes never sit on a person's path: Observe
// only adds to an in-memory buffer, which a background goroutine flushes
// with one pipeline every few seconds.
//
// # What is counted
//
//   - inputs by language and kind (text, button, command, location,
//     contact, media); staff-side events are not inputs;
//   - step views: arrivals at a step from another place (showing the same
//     step again, e.g. after a stale button, is not a new view);
//   - step departures: leaving a step for another place (or erasing one's
//     data while on it);
//   - topics opened: entering a flow from outside it (the main menu is not a
//     topic; its use shows in step views);
//   - notices: the engine's labels of what happened (stale_button,
//     unknown_text, invalid_answer, emergency, keyword, ...);
//   - referrals by service and outcome (see the Outcome constants).
//
// # Drop-off, without identifiers
//
// Nobody's path is stored, so "the last step of conversations that went
// quiet" is approximated per step as exits = views − departures: every visit
// to a step begins with a view and ends with a departure unless the person
// stops writing there. Over a period this is approximate at its edges (a view
// on the last day whose departure falls after it counts as an exit; a
// departure early in the period whose view came before it lowers the count)
// and conversations still going on count as exits, so read it over periods
// of days, not minutes.
package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
)

const (
	// DefaultInterval is how often buffered counters are written to Redis.
	DefaultInterval = 5 * time.Second
	// DefaultTTL keeps a day's counters for a year and a bit, so that a year
	// can be compared with the one before.
	DefaultTTL = 400 * 24 * time.Hour

	// Other stands for a label value that is not in the content or the
	// fixed lists (a step removed by a reload, a future notice).
	Other = "other"
	// NoLanguage is the language of inputs from people who have not chosen
	// one yet (the language picker).
	NoLanguage = "none"
)

// Referral outcomes. The conversation reports the first five; the referral
// system reports what happens afterwards through Referral.
const (
	OutcomeOffered   = "offered"   // the consent text was shown
	OutcomeDeclined  = "declined"  // the person said no to sharing
	OutcomeCancelled = "cancelled" // the person cancelled during the questions
	OutcomeSubmitted = "submitted" // consent and answers given: a referral was created
	OutcomeHandoff   = "handoff"   // the person was connected to staff of the service
	OutcomeDelivered = "delivered" // the case reached the staff queue
	OutcomeClaimed   = "claimed"   // a staff member took it
	OutcomeClosed    = "closed"    // staff closed it
	OutcomeFailed    = "failed"    // it could not be delivered (dead letter)
	OutcomeWithdrawn = "withdrawn" // the person erased their data (/delete)
	// OutcomeUnavailable: the service has no staff queue; the person got its
	// public contacts instead.
	OutcomeUnavailable = "unavailable"
)

// Outcomes lists every referral outcome, in the order of a case's life.
var Outcomes = []string{OutcomeOffered, OutcomeDeclined, OutcomeCancelled, OutcomeSubmitted, OutcomeHandoff,
	OutcomeDelivered, OutcomeClaimed, OutcomeClosed, OutcomeFailed, OutcomeWithdrawn, OutcomeUnavailable}

// Notices lists the engine's notice labels that are counted by name; any
// other is counted as "other". A test keeps it in step with the engine.
var Notices = []string{
	"case_open", "content_changed", "did_you_mean", "edited", "emergency", "erased", "event", "greeting", "invalid_answer", "keyword", "language_picker", "location_abroad", "location_nearby", "media", "quick_exit", "referral_cancelled", "referral_declined", "referral_sent", "relayed", "reset", "service_offline", "stale_button", "status", "subscribe_list", "subscribed", "unexpected_location", "unknown_command", "unknown_text", "unsubscribe_list", "unsubscribe_none", "unsubscribed", "unsubscribed_all",
}

// InputKinds names the inputs counted, by engine kind.
var InputKinds = map[engine.InputKind]string{
	engine.InText: "text", engine.InButton: "button", engine.InCommand: "command",
	engine.InLocation: "location", engine.InContact: "contact", engine.InMedia: "media",
}

// Metric names. The Grafana dashboard's queries are checked against these.
const (
	MetricInputs         = "putokaz_inputs_total"
	MetricStepViews      = "putokaz_step_views_total"
	MetricStepDepartures = "putokaz_step_departures_total"
	MetricTopics         = "putokaz_topics_opened_total"
	MetricNotices        = "putokaz_notices_total"
	MetricReferrals      = "putokaz_referrals_total"
	MetricFlushErrors    = "putokaz_stats_flush_errors_total"
)

// MetricNames lists every metric this package registers.
func MetricNames() []string {
	return []string{MetricInputs, MetricStepViews, MetricStepDepartures, MetricTopics, MetricNotices,
		MetricReferrals, MetricFlushErrors}
}

// Field prefixes of a day's hash in Redis: "in:fa:text", "step:shelter/list",
// "leave:shelter/list", "topic:shelter", "notice:stale_button",
// "ref:avr:submitted".
const (
	fieldInput  = "in:"
	fieldView   = "step:"
	fieldLeave  = "leave:"
	fieldTopic  = "topic:"
	fieldNotice = "notice:"
	fieldRef    = "ref:"
)

// ContentSource gives the content in use (it may change on reload).
type ContentSource interface {
	Content() *content.Content
}

// Options configure Stats.
type Options struct {
	// Content bounds the label values (required).
	Content ContentSource
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Redis, if set, receives the counters per day; nil keeps them only in
	// Prometheus (the playground, tests).
	Redis redis.UniversalClient
	Keys  keys.Keys
	// Interval between flushes to Redis (DefaultInterval if zero).
	Interval time.Duration
	// TTL of a day's hash (DefaultTTL if zero).
	TTL time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	Log *slog.Logger
}

// Stats counts usage. Its methods are safe for concurrent use.
type Stats struct {
	opt Options

	inputs, views, departures, topics, notices, referrals *prometheus.CounterVec
	flushErrors                                           prometheus.Counter

	mu sync.Mutex
	// pending holds increments not yet written: Redis key → field → n.
	pending map[string]map[string]int64
	// words holds unmatched words not yet written (see words.go).
	words []wordUse

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// New registers the metrics and, with Redis, starts the background flush;
// call Stop to end it (it flushes what is left).
func New(opt Options) (*Stats, error) {
	if opt.Content == nil {
		return nil, errors.New("stats: no content source")
	}
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &Stats{
		opt:     opt,
		pending: map[string]map[string]int64{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		inputs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricInputs,
			Help: "Inputs from people by language (none: not chosen yet) and kind (text, button, command, location, contact, media)."},
			[]string{"lang", "kind"}),
		views: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricStepViews,
			Help: "Arrivals at a step from another place."}, []string{"flow", "step"}),
		departures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricStepDepartures,
			Help: "Departures from a step to another place; views minus departures approximates where people stop."},
			[]string{"flow", "step"}),
		topics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTopics,
			Help: "Flows entered from outside them (the main menu excluded)."}, []string{"flow"}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotices,
			Help: "Engine notices: stale_button, unknown_text, invalid_answer, emergency, keyword, ..."}, []string{"notice"}),
		referrals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricReferrals,
			Help: "Referrals and handoffs by service and outcome (offered, declined, cancelled, submitted, handoff, delivered, claimed, closed, failed, withdrawn)."},
			[]string{"service", "outcome"}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricFlushErrors,
			Help: "Failed writes of usage counters to Redis (the counts are kept and retried)."}),
	}
	if opt.Registerer != nil {
		var errs []error
		for _, c := range []prometheus.Collector{s.inputs, s.views, s.departures, s.topics, s.notices, s.referrals, s.flushErrors} {
			if err := opt.Registerer.Register(c); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("stats: register metrics: %w", errors.Join(errs...))
		}
	}
	if opt.Redis != nil {
		go s.loop()
	} else {
		close(s.done)
	}
	return s, nil
}

// Observe counts one handled input; it is conversation.Runner.OnResult.
// It never blocks on I/O.
func (s *Stats) Observe(o conversation.Outcome) {
	c := s.opt.Content.Content()
	var fields [6]string
	n := 0
	if kind, ok := InputKinds[o.Input]; ok {
		lang := language(c, o.Lang)
		s.inputs.WithLabelValues(lang, kind).Inc()
		fields[n], n = fieldInput+lang+":"+kind, n+1
	}
	if o.Notice != "" {
		notice := noticeLabel(o.Notice)
		s.notices.WithLabelValues(notice).Inc()
		fields[n], n = fieldNotice+notice, n+1
	}
	if o.From != o.To {
		if o.From.Step != "" {
			flow, step := stepLabels(c, o.From)
			s.departures.WithLabelValues(flow, step).Inc()
			fields[n], n = fieldLeave+flow+"/"+step, n+1
		}
		if o.To.Step != "" {
			flow, step := stepLabels(c, o.To)
			s.views.WithLabelValues(flow, step).Inc()
			fields[n], n = fieldView+flow+"/"+step, n+1
		}
		if o.To.Flow != "" && o.To.Flow != o.From.Flow && o.To.Flow != content.HomeFlow {
			flow, _ := stepLabels(c, o.To)
			s.topics.WithLabelValues(flow).Inc()
			fields[n], n = fieldTopic+flow, n+1
		}
	}
	if svc, outcome := referralOutcome(c, o); outcome != "" {
		svc = serviceLabel(c, svc)
		s.referrals.WithLabelValues(svc, outcome).Inc()
		fields[n], n = fieldRef+svc+":"+outcome, n+1
	}
	s.buffer(fields[:n])
	if len(o.Unmatched) > 0 {
		s.observeWords(language(c, o.Lang), o.Person, o.Unmatched)
	}
}

// referralOutcome tells what an input did to a referral or handoff: the
// service is the one of the step the person stood on (for answers to a
// referral) or arrived at (for an offer or a handoff).
func referralOutcome(c *content.Content, o conversation.Outcome) (service, outcome string) {
	switch o.Notice {
	case "referral_sent", "referral_declined", "referral_cancelled":
		svc := Other
		if st := c.Step(o.From); st != nil && st.Kind == content.KindReferral {
			svc = st.Service
		}
		return svc, map[string]string{"referral_sent": OutcomeSubmitted, "referral_declined": OutcomeDeclined,
			"referral_cancelled": OutcomeCancelled}[o.Notice]
	}
	if o.Notice == "service_offline" {
		// Refused on arrival (To) or when the answers were complete (From).
		for _, r := range []content.Ref{o.To, o.From} {
			if st := c.Step(r); st != nil && (st.Kind == content.KindReferral || st.Kind == content.KindHandoff) {
				return st.Service, OutcomeUnavailable
			}
		}
		return Other, OutcomeUnavailable
	}
	if o.To == o.From || o.To.Step == "" {
		return "", ""
	}
	if st := c.Step(o.To); st != nil {
		switch st.Kind {
		case content.KindReferral:
			return st.Service, OutcomeOffered
		case content.KindHandoff:
			return st.Service, OutcomeHandoff
		}
	}
	return "", ""
}

// Referral counts what became of a referral or handoff to a service; the
// referral system calls it as cases are delivered, claimed and closed.
// Unknown services and outcomes are counted as "other".
func (s *Stats) Referral(service, outcome string) {
	svc := serviceLabel(s.opt.Content.Content(), service)
	if !contains(Outcomes, outcome) {
		outcome = Other
	}
	s.referrals.WithLabelValues(svc, outcome).Inc()
	s.buffer([]string{fieldRef + svc + ":" + outcome})
}

// buffer adds one to each field of today's hash, for the next flush.
func (s *Stats) buffer(fields []string) {
	if s.opt.Redis == nil || len(fields) == 0 {
		return
	}
	key := s.opt.Keys.StatsDay(s.opt.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	day := s.pending[key]
	if day == nil {
		day = map[string]int64{}
		s.pending[key] = day
	}
	for _, f := range fields {
		day[f]++
	}
}

func (s *Stats) loop() {
	defer close(s.done)
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.opt.Interval)
			if err := s.Flush(ctx); err != nil {
				s.opt.Log.Warn("usage statistics not written to Redis; kept for the next try", "err", err)
			}
			if err := s.flushWords(ctx); err != nil {
				s.opt.Log.Warn("unmatched words not written to Redis; dropped", "err", err)
			}
			cancel()
		}
	}
}

// Flush writes the buffered counters to Redis in one pipeline (HINCRBY per
// field, EXPIRE per day). Counts whose command failed go back into the
// buffer for the next flush. A flush whose reply is lost after Redis applied
// it may count twice: these are statistics, not accounts.
func (s *Stats) Flush(ctx context.Context) error {
	if s.opt.Redis == nil {
		return nil
	}
	s.mu.Lock()
	batch := s.pending
	s.pending = map[string]map[string]int64{}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	type sent struct {
		key, field string
		n          int64
		cmd        *redis.IntCmd
	}
	var cmds []sent
	pipe := s.opt.Redis.Pipeline()
	for key, fields := range batch {
		for f, n := range fields {
			cmds = append(cmds, sent{key, f, n, pipe.HIncrBy(ctx, key, f, n)})
		}
		pipe.Expire(ctx, key, s.opt.TTL)
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	failed := 0
	s.mu.Lock()
	for _, c := range cmds {
		if c.cmd.Err() == nil {
			continue
		}
		failed++
		day := s.pending[c.key]
		if day == nil {
			day = map[string]int64{}
			s.pending[c.key] = day
		}
		day[c.field] += c.n
	}
	s.mu.Unlock()
	s.flushErrors.Inc()
	return fmt.Errorf("stats: flush %d of %d counters to redis: %w", failed, len(cmds), err)
}

// Stop ends the background flush and writes what is left. It may be called
// more than once.
func (s *Stats) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		if s.opt.Redis != nil {
			close(s.stop)
		}
	})
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("stats: stop: %w", ctx.Err())
	}
	if err := s.flushWords(ctx); err != nil {
		s.opt.Log.Warn("unmatched words not written to Redis; dropped", "err", err)
	}
	return s.Flush(ctx)
}

// language is the label of a language tag: one of the content's languages,
// "none" before a choice, "other" for anything else.
func language(c *content.Content, tag string) string {
	if tag == "" {
		return NoLanguage
	}
	if _, ok := c.Language(tag); ok {
		return tag
	}
	return Other
}

// stepLabels are the flow and step labels of a place: names from the
// content, or "other" for a flow or step it no longer has.
func stepLabels(c *content.Content, r content.Ref) (flow, step string) {
	f := c.Flows[r.Flow]
	if f == nil {
		return Other, Other
	}
	if f.Steps[r.Step] == nil {
		return r.Flow, Other
	}
	return r.Flow, r.Step
}

func serviceLabel(c *content.Content, svc string) string {
	if c.Directory != nil && c.Directory.Services[svc] != nil {
		return svc
	}
	return Other
}

func noticeLabel(n string) string {
	if contains(Notices, n) {
		return n
	}
	return Other
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
