package referral

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the referral desk. Labels are services, event names, stream
// names (staff group IDs, services) and action names: all bounded by the
// configuration; never codes or user IDs.
type metrics struct {
	created      *prometheus.CounterVec // service, kind
	delivered    *prometheus.CounterVec // stream, event
	retried      *prometheus.CounterVec // stream, event
	dead         *prometheus.CounterVec // stream, event
	streamsLost  *prometheus.CounterVec // stream
	skipped      *prometheus.CounterVec // stream, event (nothing to deliver any more)
	lag          *prometheus.GaugeVec   // stream: age of the entry being delivered
	pending      *prometheus.GaugeVec   // stream: entries not yet delivered
	staffActions *prometheus.CounterVec // action
	refused      *prometheus.CounterVec // reason
	feedback     *prometheus.CounterVec // service, value
	withdrawn    prometheus.Counter
	staffErased  *prometheus.CounterVec // why, how, result
	reminders    *prometheus.CounterVec // service
	unclaimed    *prometheus.GaugeVec   // service
	overdue      *prometheus.GaugeVec   // service
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		created: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referrals_created_total",
			Help: "Cases stored, by service and kind (referral, handoff)."}, []string{"service", "kind"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_outbox_delivered_total",
			Help: "Outbox entries delivered, by stream and event."}, []string{"stream", "event"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_outbox_retried_total",
			Help: "Failed outbox deliveries that will be retried, by stream and event."}, []string{"stream", "event"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_outbox_dead_lettered_total",
			Help: "Outbox entries moved to a dead-letter stream after too many failures (alert on this)."}, []string{"stream", "event"}),
		streamsLost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_outbox_streams_lost_total",
			Help: "Outbox streams found gone with Redis's data (restart without persistence, flush) and created again, by stream (alert on this: what they held was not delivered)."}, []string{"stream"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_outbox_skipped_total",
			Help: "Outbox entries with nothing left to deliver (case withdrawn, expired, or already posted)."}, []string{"stream", "event"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "putokaz_referral_outbox_lag_seconds",
			Help: "Age of the outbox entry being delivered (0 when the stream is idle), by stream."}, []string{"stream"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "putokaz_referral_outbox_pending",
			Help: "Outbox entries not yet delivered, by stream (sampled by the stream's worker)."}, []string{"stream"}),
		staffActions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_staff_actions_total",
			Help: "Staff actions carried out, by action (claimed, reply, note, closed)."}, []string{"action"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_staff_refused_total",
			Help: "Staff updates refused, by reason."}, []string{"reason"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_feedback_total",
			Help: `Answers to "was this helpful?" after a chat with staff, by service and value.`}, []string{"service", "value"}),
		withdrawn: prometheus.NewCounter(prometheus.CounterOpts{Name: "putokaz_referral_withdrawn_total",
			Help: "Open cases withdrawn by the person (/delete)."}),
		staffErased: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_staff_erased_total",
			Help: "Cases whose messages in the staff group were deleted, by why (deleted: /delete; expired: retention ended), how (topic, messages) and result (deleted; refused: Telegram refused, e.g. the bot may not delete messages — delete them by hand; alert on this)."},
			[]string{"why", "how", "result"}),
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "putokaz_referral_reminders_total",
			Help: "Reminders posted to staff about cases waiting unclaimed past their service's claim_within, by service."},
			[]string{"service"}),
		unclaimed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "putokaz_referral_unclaimed",
			Help: "Open cases waiting to be claimed, by service (set by the reminder pass)."}, []string{"service"}),
		overdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "putokaz_referral_unclaimed_overdue",
			Help: "Open cases waiting to be claimed past their service's claim_within, by service (alert on this)."},
			[]string{"service"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.created, m.delivered, m.retried, m.dead, m.streamsLost, m.skipped, m.lag, m.pending,
		m.staffActions, m.refused, m.feedback, m.withdrawn, m.staffErased, m.reminders, m.unclaimed, m.overdue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("referral metrics: %w", err)
		}
	}
	return m, nil
}
