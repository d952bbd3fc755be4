package announce

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the sender. No label names an announcement or a person.
type Metrics struct {
	sent    prometheus.Counter
	skipped *prometheus.CounterVec // reason: blocked, expired, unknown
	failed  prometheus.Counter
}

// NewMetrics registers the sender's metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "putokaz_announce_sent_total",
			Help: "Urgent updates sent to a subscriber."}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_announce_skipped_total",
			Help: "Urgent updates not sent to a subscriber, by reason: blocked (the person blocked the bot; their subscriptions are removed), expired (the update expired first), unknown (being sent when a sender stopped or died: maybe sent, never repeated)."},
			[]string{"reason"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "putokaz_announce_failed_total",
			Help: "Urgent updates Telegram refused or kept failing to take (not retried: it may have arrived)."}),
	}
	for _, r := range []string{"blocked", "expired", "unknown"} {
		m.skipped.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.skipped, m.failed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register urgent update metrics: %w", err)
		}
	}
	return m, nil
}
