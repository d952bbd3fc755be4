package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/announce"
	"putokaz/internal/config"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/subscribe"
)

// subscriptions is the subscription store the announcements are sent to:
// the one the conversations' subscribe effects write (internal/subscribe).
// A variable so that tests can put a fake in its place.
var subscriptions = func(rdb redis.UniversalClient, k keys.Keys) announce.Subscribers {
	return subscribe.NewRedis(rdb, k, subscribe.DefaultTTL, time.Now)
}

// startAnnouncer runs the worker that sends approved urgent updates beside
// the transport (every replica runs one; a lease lets one send each
// update). The returned stop waits for it: messages on their way are
// finished, not cut.
func startAnnouncer(ctx context.Context, cfg config.Config, rdb redis.UniversalClient, sender *bot.Sender,
	reg prometheus.Registerer, log *slog.Logger) (stop func(), err error) {
	if rdb == nil {
		log.Warn("REDIS_URL is not set: urgent updates (putokaz announce) are not sent")
		return func() {}, nil
	}
	k := keys.New(cfg.Redis.KeyPrefix)
	subs := subscriptions(rdb, k)
	if subs == nil {
		log.Error("urgent updates are not sent: " + noSubscriptions)
		return func() {}, nil
	}
	m, err := announce.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	w := &announce.Worker{Queue: announceQueue(cfg, rdb), Subscribers: subs,
		Deliverer: telegramDeliverer{s: sender}, Rate: float64(cfg.Announce.Rate), Log: log, Metrics: m}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(wctx)
	}()
	return func() { cancel(); <-done }, nil
}

// announceQueue is the queue of urgent updates in rdb (nil without Redis).
func announceQueue(cfg config.Config, rdb redis.UniversalClient) *announce.Queue {
	if rdb == nil {
		return nil
	}
	return announce.NewQueue(rdb, keys.New(cfg.Redis.KeyPrefix), cfg.Announce.Approvals)
}

// forgetInUpdates takes a person who erases their data (/delete) or stops
// every update (/unsubscribe "stop all", the quick exit) out of the
// recipients of the updates being sent, then lets next do the rest. Forget
// is idempotent, so a retried input is fine.
func forgetInUpdates(next conversation.EffectHandler, q *announce.Queue) conversation.EffectHandler {
	if q == nil {
		return next
	}
	return updateEraser{next: next, q: q}
}

type updateEraser struct {
	next conversation.EffectHandler
	q    *announce.Queue
}

func (e updateEraser) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	if fx.Kind == engine.EffectErase || fx.Kind == engine.EffectUnsubscribe && fx.Flow == "" {
		if err := e.q.Forget(ctx, user); err != nil {
			return err
		}
	}
	return e.next.Apply(ctx, user, lang, fx)
}

// telegramDeliverer sends an urgent update through the bot's one Sender,
// which waits out 429 retry_after and marks a person who blocked the bot.
type telegramDeliverer struct{ s *bot.Sender }

type updateParams struct {
	ChatID             int64        `json:"chat_id"`
	Text               string       `json:"text"`
	ParseMode          string       `json:"parse_mode"`
	LinkPreviewOptions *previewOpts `json:"link_preview_options,omitempty"`
}

type previewOpts struct {
	IsDisabled bool `json:"is_disabled"`
}

func (d telegramDeliverer) Deliver(ctx context.Context, user, text string, ready func() error) error {
	id, err := strconv.ParseInt(strings.TrimPrefix(user, "tg:"), 10, 64)
	if err != nil || !strings.HasPrefix(user, "tg:") || id <= 0 {
		return fmt.Errorf("not a Telegram user key")
	}
	// Updates use only what conversations and staff leave of the global limit.
	ctx = bot.WithLane(ctx, bot.LaneBulk)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // a 429 storm may hold one message long, not forever
	defer cancel()
	// The message's turn first, then ready (the recipient is marked
	// sending), then the request: a message waiting for its turn at a kill
	// is sent by the next worker, not counted as maybe sent.
	p, err := d.s.Pace(ctx, id)
	if err != nil {
		return err
	}
	if err := ready(); err != nil {
		return err
	}
	err = d.s.CallPaced(ctx, p, "sendMessage", updateParams{ChatID: id, Text: text, ParseMode: "HTML",
		LinkPreviewOptions: &previewOpts{IsDisabled: true}}, nil)
	if errors.Is(err, bot.ErrInactive) || errors.Is(err, tgbot.ErrorForbidden) {
		return fmt.Errorf("%w: %w", announce.ErrBlocked, err)
	}
	return err
}
