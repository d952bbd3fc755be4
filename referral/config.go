package referral

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Queue is where one service's cases go: a staff group and, optionally, one
// fixed forum topic of it (otherwise every case gets a topic of its own).
type Queue struct {
	// Group is the staff supergroup's chat ID (negative). 0 is only
	// meaningful with a Staff that is not Telegram (the playground).
	Group int64
	// Topic, if not 0, is the forum topic every case of the queue is posted
	// in; staff then reply to a case's card or messages to answer it.
	Topic int
	// Languages are the languages staff of the queue speak; a case in
	// another language is marked on its card.
	Languages []string
	// WebhookURL, if set, receives every event of the service's cases,
	// signed with WebhookSecret.
	WebhookURL    string
	WebhookSecret string
}

// AnyService is the Queues key of the queue for services without their own.
const AnyService = "*"

// Config tunes the referral desk. Zero fields take the defaults given in
// brackets (see WithDefaults).
type Config struct {
	// Queues maps a service of the directory (or AnyService) to its queue.
	// A referral to a service without a queue is refused: the person is
	// never told about a referral nobody receives.
	Queues map[string]Queue
	// Retention is how long a case is kept after it is closed or withdrawn
	// [2160h = 90 days].
	Retention time.Duration
	// SafetyMargin is added to Retention for open cases, whose TTL is
	// refreshed on every activity, so that a forgotten open case still
	// expires [720h = 30 days].
	SafetyMargin time.Duration
	// KeepAfterDelete are the fields a case keeps after the person's
	// /delete [code service created status]. Allowed: code, service,
	// created, status, kind, lang, consent_at, consent_version, claimed_at,
	// claimed_by, closed_at, closed_by, history (actions without note texts).
	// The status and where the case is in Telegram are always kept, so that
	// staff writing in the topic are told the person withdrew.
	KeepAfterDelete []string

	// Attempts bounds failed deliveries of one outbox entry before it goes
	// to the dead-letter stream [10].
	Attempts int
	// WebhookAttempts is Attempts for webhook events [12].
	WebhookAttempts int
	// MinIdle is how long an entry must have been pending with a consumer
	// before another takes it over (XAUTOCLAIM) [1m]. Keep it above
	// LeaseTTL: a worker that lost its lease may still be delivering.
	MinIdle time.Duration
	// LeaseTTL is the lifetime of a stream's lease, renewed every third of
	// it while its worker runs [30s].
	LeaseTTL time.Duration
	// Block is how long a worker waits for new entries per read (and so how long it may take to stop) [2s].
	Block time.Duration
	// BackoffBase and BackoffMax shape the pause after a failed delivery
	// (exponential with jitter) [1s, 5m]; webhooks use WebhookBackoffBase and
	// WebhookBackoffMax [2s, 10m].
	BackoffBase        time.Duration
	BackoffMax         time.Duration
	WebhookBackoffBase time.Duration
	WebhookBackoffMax  time.Duration
	// WebhookTimeout bounds one webhook request [10s].
	WebhookTimeout time.Duration
	// OnceTTL is how long "this input was relayed" markers are kept;
	// Telegram re-sends an update for up to 24 h [48h].
	OnceTTL time.Duration
	// DeadMax bounds the length of each dead-letter stream (approximate
	// MAXLEN) [10000].
	DeadMax int64
	// SweepEvery is how often the cases whose retention ended are looked
	// for, to delete their messages in the staff group [5m].
	SweepEvery time.Duration
	// StaffLanguage is the language of what staff read (service names in
	// case topics and cards, staff texts): en, sr-Latn or sr-Cyrl [en].
	StaffLanguage string
	// RemindEvery is how often cases waiting unclaimed are looked at for a
	// reminder that is due (the directory's claim_within) [1m].
	RemindEvery time.Duration
}

// DefaultRetention is how long a closed case is kept: 90 days.
const DefaultRetention = 2160 * time.Hour

// DefaultKeepAfterDelete is what a case keeps after /delete.
var DefaultKeepAfterDelete = []string{"code", "service", "created", "status"}

// staffLanguages are the languages StaffLanguage may name.
var staffLanguages = []string{"en", "sr-Latn", "sr-Cyrl"}

// keepable are the names KeepAfterDelete may list.
var keepable = []string{"code", "service", "created", "status", "kind", "lang", "consent_at", "consent_version",
	"claimed_at", "claimed_by", "closed_at", "closed_by", "history"}

// WithDefaults fills zero fields with their defaults.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Retention, DefaultRetention)
	def(&c.SafetyMargin, 30*24*time.Hour)
	def(&c.MinIdle, time.Minute)
	def(&c.LeaseTTL, 30*time.Second)
	def(&c.Block, 2*time.Second)
	def(&c.BackoffBase, time.Second)
	def(&c.BackoffMax, 5*time.Minute)
	def(&c.WebhookBackoffBase, 2*time.Second)
	def(&c.WebhookBackoffMax, 10*time.Minute)
	def(&c.WebhookTimeout, 10*time.Second)
	def(&c.OnceTTL, 48*time.Hour)
	def(&c.SweepEvery, 5*time.Minute)
	def(&c.RemindEvery, time.Minute)
	if c.Attempts <= 0 {
		c.Attempts = 10
	}
	if c.WebhookAttempts <= 0 {
		c.WebhookAttempts = 12
	}
	if c.DeadMax <= 0 {
		c.DeadMax = 10000
	}
	if c.StaffLanguage == "" {
		c.StaffLanguage = "en"
	}
	if c.KeepAfterDelete == nil {
		c.KeepAfterDelete = slices.Clone(DefaultKeepAfterDelete)
	}
	return c
}

// Validate reports every problem of the configuration at once. Messages
// never contain webhook secrets.
func (c Config) Validate() error {
	var errs []error
	for _, k := range c.KeepAfterDelete {
		if !slices.Contains(keepable, k) {
			errs = append(errs, fmt.Errorf("keep_after_delete: %q is not a field a case can keep after /delete (allowed: %s)",
				k, strings.Join(keepable, ", ")))
		}
	}
	for _, name := range c.services() {
		q := c.Queues[name]
		if q.Group > 0 {
			errs = append(errs, fmt.Errorf("queue %s: group %d should be a supergroup's chat ID, which is negative (-100…)", name, q.Group))
		}
		if q.Topic < 0 {
			errs = append(errs, fmt.Errorf("queue %s: topic must be 0 (a topic per case) or a forum topic ID", name))
		}
		if q.WebhookURL != "" {
			u, err := url.Parse(q.WebhookURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("queue %s: webhook_url must be an http(s) URL", name))
			}
			if q.WebhookSecret == "" {
				errs = append(errs, fmt.Errorf("queue %s: a webhook needs a secret to sign its events", name))
			}
		}
	}
	if c.StaffLanguage != "" && !slices.Contains(staffLanguages, c.StaffLanguage) {
		errs = append(errs, fmt.Errorf("staff_language must be one of %s, not %q", strings.Join(staffLanguages, ", "), c.StaffLanguage))
	}
	if c.MinIdle > 0 && c.LeaseTTL > 0 && c.MinIdle < c.LeaseTTL {
		errs = append(errs, errors.New("min_idle must not be shorter than the lease TTL: a worker that lost its lease may still be delivering"))
	}
	return errors.Join(errs...)
}

// queue returns the queue of a service (its own, else AnyService's).
func (c Config) queue(service string) (Queue, bool) {
	if q, ok := c.Queues[service]; ok {
		return q, true
	}
	q, ok := c.Queues[AnyService]
	return q, ok
}

// services lists the queue keys in a stable order.
func (c Config) services() []string {
	out := make([]string, 0, len(c.Queues))
	for k := range c.Queues {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HasQueue reports whether service has a queue (its own or "*"). Services
// without one get no referrals or handoffs.
func (c Config) HasQueue(service string) bool {
	_, ok := c.queue(service)
	return ok
}

// Unserved lists the services (of the content's directory) that have no
// queue: referrals and handoffs to them are refused.
func (c Config) Unserved(services []string) []string {
	var out []string
	for _, s := range services {
		if !c.HasQueue(s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Groups lists the staff groups of the queues (for the transport's list of
// staff groups).
func (c Config) Groups() []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, name := range c.services() {
		if g := c.Queues[name].Group; g != 0 && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}
