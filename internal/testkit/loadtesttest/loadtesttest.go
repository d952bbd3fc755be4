// Package loadtesttest gives tests a load-tool target (loadtest.Target) that
// is our real transport, engine and test content in the test's own process:
// the loadtest package's tests and the fault suite's crisis spike drive it.
package loadtesttest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/loadtest"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
)

// acceptAll carries out every effect by doing nothing (referrals and
// handoffs have their own tests), so that no button of the test content fails.
type acceptAll struct{}

func (acceptAll) Apply(context.Context, string, string, engine.Effect) error { return nil }

// Ours is our transport on the test content (contenttest), serving the
// webhook on a free loopback port with the given limits (the zero Limits
// are the production defaults: Telegram's rate limits on), sessions in rdb
// under k. Log receives the bot's JSON log lines (nil: discarded).
func Ours(t testing.TB, rdb redis.UniversalClient, k keys.Keys, limits bot.Limits, logTo io.Writer) loadtest.Target {
	return loadtest.Target{Name: "ours", Start: func(ctx context.Context, env loadtest.Env) (*loadtest.Instance, error) {
		if logTo == nil {
			logTo = io.Discard
		}
		log := slog.New(slog.NewJSONHandler(logTo, nil))
		sessions, err := store.NewRedis(rdb, k, time.Hour)
		if err != nil {
			return nil, err
		}
		var n atomic.Uint64 // the engine's codes are drawn by concurrent updates
		eng := engine.New(time.Now, func() uint64 { return n.Add(1) })
		conv := conversation.New(sessions, eng, content.NewHolder(contenttest.Load(t)), bot.Effects(acceptAll{}), log)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		webhook := "http://" + ln.Addr().String() + env.WebhookPath
		sender, err := bot.NewSender(bot.Config{Token: env.Token, APIURL: env.APIURL, WebhookURL: webhook,
			WebhookSecret: env.Secret, ListenAddr: ln.Addr().String(), BotUsername: "PutokazBot", LogSalt: "loadtesttest",
			Limits: limits}, rdb, k, prometheus.NewRegistry(), log)
		if err != nil {
			ln.Close()
			return nil, err
		}
		srv, err := bot.New(sender, bot.Handlers{Conversation: conv})
		if err != nil {
			ln.Close()
			return nil, err
		}
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- srv.Serve(sctx, ln) }()
		return &loadtest.Instance{WebhookURL: webhook, BaseURL: "http://" + ln.Addr().String(), Sync: true,
			Stop: func() error { cancel(); return <-done }}, nil
	}}
}
