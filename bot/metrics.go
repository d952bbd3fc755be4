package bot

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the transport. Label values come from small fixed sets (update
// types, outcomes, Bot API method names used in code), never from user input.
type metrics struct {
	updates          *prometheus.CounterVec   // type, outcome
	handleSeconds    *prometheus.HistogramVec // type
	apiCalls         *prometheus.CounterVec   // method, result
	apiSeconds       *prometheus.HistogramVec // method
	redisErrors      *prometheus.CounterVec   // op
	dedupeHits       prometheus.Counter
	leaseWaits       prometheus.Counter
	leaseWaitSeconds prometheus.Histogram
	leaseLost        prometheus.Counter
	panics           prometheus.Counter
	poison           prometheus.Counter
	webhookRejected  *prometheus.CounterVec // reason
	droppedButtons   prometheus.Counter
	inactiveMarked   prometheus.Counter
	inflight         prometheus.Gauge
	// The quick exit (exit.go).
	quickExits        prometheus.Counter
	quickExitMessages *prometheus.CounterVec // result
	webhookRetry      *prometheus.CounterVec // status, reason
	pending           prometheus.Gauge
	pendingFlushed    prometheus.Counter
	pendingDropped    prometheus.Counter
	leaseTakeovers    prometheus.Counter
	// Sender lanes (lane.go).
	laneSends    *prometheus.CounterVec   // lane
	laneWaits    *prometheus.CounterVec   // lane
	laneWait     *prometheus.HistogramVec // lane
	laneWaiting  *prometheus.GaugeVec     // lane
	globalBlocks prometheus.Counter
	// Reply progress (recover_progress.go).
	repliesSkipped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_bot_updates_total",
			Help: "Telegram updates by type and outcome (handled, duplicate, ignored, unsupported, forged, no_sender, busy, error, poison, panic, shutting_down).",
		}, []string{"type", "outcome"}),
		handleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "putokaz_bot_update_handling_seconds",
			Help:    "Time from receiving an update to finishing it (including Bot API calls).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"type"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_telegram_api_calls_total",
			Help: "Bot API call attempts by method and result (ok, retry_after, server_error, network_error, forbidden, bad_request, other_error, canceled), plus gave_up and skipped_inactive per call.",
		}, []string{"method", "result"}),
		apiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "putokaz_telegram_api_call_seconds",
			Help:    "Duration of one Bot API HTTP attempt.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_bot_redis_errors_total",
			Help: "Redis errors of the transport by operation.",
		}, []string{"op"}),
		dedupeHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_dedupe_hits_total",
			Help: "Updates Telegram delivered again after they were handled (not handled twice).",
		}),
		leaseWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_lease_waits_total",
			Help: "Times an update had to wait for its chat's lease (another update of the chat was being handled).",
		}),
		leaseWaitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "putokaz_bot_lease_wait_seconds",
			Help:    "Time spent waiting for a chat's lease, when there was a wait.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		leaseLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_lease_lost_total",
			Help: "Times a chat lease expired or was taken while its update was handled.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_panics_total",
			Help: "Panics recovered while handling an update.",
		}),
		poison: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_poison_updates_total",
			Help: "Updates dropped after failing too many times.",
		}),
		webhookRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_bot_webhook_rejected_total",
			Help: "Webhook requests not processed, by reason (unauthorized, bad_json, too_large, method).",
		}, []string{"reason"}),
		droppedButtons: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_dropped_buttons_total",
			Help: "Buttons not sent because Telegram would reject them (callback data over 64 bytes, bad URL, empty label).",
		}),
		inactiveMarked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_inactive_marked_total",
			Help: "Chats marked inactive because the person blocked the bot.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "putokaz_bot_updates_in_flight",
			Help: "Updates being handled now.",
		}),
		quickExits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_quick_exits_total",
			Help: "Quick exits (/exit): the private chat's recent messages deleted before the answer.",
		}),
		quickExitMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_bot_quick_exit_messages_total",
			Help: "Messages a quick exit asked Telegram to delete, by result (deleted; refused: too old or gone; failed: no answer, kept for the next /exit).",
		}, []string{"result"}),
		webhookRetry: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_bot_webhook_retry_total",
			Help: "Webhook answers that make Telegram re-send the update, by status (503, 500) and reason (busy, shutting_down, redis_unreachable, record_pending, lease_lost, handler_failed, send_failed, error).",
		}, []string{"status", "reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "putokaz_bot_pending_records",
			Help: "Ends of updates (done mark, session) kept in memory because Redis was unreachable, not yet recorded.",
		}),
		pendingFlushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_pending_records_flushed_total",
			Help: "Ends of updates kept in memory and recorded once Redis was back.",
		}),
		pendingDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_pending_records_dropped_total",
			Help: "Ends of updates that could not be recorded nor kept (too many kept already): handled again on re-delivery.",
		}),
		leaseTakeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_lease_takeovers_total",
			Help: "Chat leases taken over from a handler that was gone (a killed process) by a re-delivery of the same update.",
		}),
		laneSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_telegram_lane_sends_total",
			Help: "Messages (attempts) let through the sender's limits, by lane (emergency, reply, staff, bulk).",
		}, []string{"lane"}),
		laneWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "putokaz_telegram_lane_waits_total",
			Help: "Messages that had to wait for a chat's pacing, a retry_after or the global limit, by lane.",
		}, []string{"lane"}),
		laneWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "putokaz_telegram_lane_wait_seconds",
			Help:    "Time a message waited for the sender's limits before its request, when it waited, by lane.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"lane"}),
		laneWaiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "putokaz_telegram_lane_waiting",
			Help: "Messages waiting for the sender's limits now, by lane.",
		}, []string{"lane"}),
		globalBlocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_telegram_global_blocks_total",
			Help: "429 answers that were not about one chat (its pacing had left it alone): every lane waited their retry_after.",
		}),
		repliesSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "putokaz_bot_replies_skipped_total",
			Help: "Reply groups (a message and the edits of it) not sent again when an update was handled again after its handler was cut off, because they had been sent.",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.updates, m.handleSeconds, m.apiCalls, m.apiSeconds, m.redisErrors,
		m.dedupeHits, m.leaseWaits, m.leaseWaitSeconds, m.leaseLost, m.panics, m.poison, m.webhookRejected,
		m.droppedButtons, m.inactiveMarked, m.inflight, m.quickExits, m.quickExitMessages, m.webhookRetry, m.pending,
		m.pendingFlushed, m.pendingDropped, m.leaseTakeovers, m.repliesSkipped,
		m.laneSends, m.laneWaits, m.laneWait, m.laneWaiting, m.globalBlocks} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("register bot metrics: %w", errors.Join(errs...))
	}
	return m, nil
}
