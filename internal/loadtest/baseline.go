package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/keys"
)

// Baseline is the comparison the performance targets name: a bare
// go-telegram/bot webhook bot whose handler does one Redis GET, one Redis SET
// and one sendMessage per update, nothing else: no dedupe, no per-chat order,
// no rate limits, no retries. The library's WebhookHandler answers 200 as soon
// as the update is queued and handles it later (at most once).
type Baseline struct {
	Token, APIURL string
	// WebhookURL is registered with setWebhook; its path is served.
	WebhookURL, Secret string
	Redis              redis.UniversalClient
	Keys               keys.Keys
	// Errors receives the library's error messages (nil: discarded).
	Errors *log.Logger

	failures atomic.Int64
}

// Handler builds the bot, registers the webhook and returns the HTTP handler
// (the webhook on its path, /healthz). The bot's workers run until ctx ends.
func (b *Baseline) Handler(ctx context.Context) (http.Handler, error) {
	// One thing is tuned: the library's default http.Client uses Go's
	// DefaultTransport, which keeps only 2 idle connections per host, so
	// under load almost every sendMessage would open a new TCP connection
	// and run the machine out of ephemeral ports. A pooled client is what
	// anyone running the library under load would pass; without it the
	// baseline would be a straw man.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 2 * time.Minute,
	}}
	tb, err := tgbot.New(b.Token,
		tgbot.WithServerURL(b.APIURL),
		tgbot.WithSkipGetMe(),
		tgbot.WithHTTPClient(time.Minute, hc),
		tgbot.WithWebhookSecretToken(b.Secret),
		tgbot.WithDefaultHandler(b.handle),
		tgbot.WithErrorsHandler(func(err error) {
			b.failures.Add(1)
			if b.Errors != nil {
				b.Errors.Print(err)
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	go tb.StartWebhook(ctx)
	// The same max_connections as serve registers, so that both get the
	// same number of concurrent webhook POSTs.
	if _, err := tb.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: b.WebhookURL, SecretToken: b.Secret,
		MaxConnections: bot.DefaultMaxConnections}); err != nil {
		return nil, fmt.Errorf("baseline: setWebhook: %w", err)
	}
	path := "/"
	if u, err := parseURLPath(b.WebhookURL); err == nil {
		path = u
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+path, tb.WebhookHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux, nil
}

func (b *Baseline) handle(ctx context.Context, tb *tgbot.Bot, u *models.Update) {
	var chat, user int64
	switch {
	case u.Message != nil:
		chat = u.Message.Chat.ID
		if u.Message.From != nil {
			user = u.Message.From.ID
		}
	case u.CallbackQuery != nil:
		user = u.CallbackQuery.From.ID
		if m := u.CallbackQuery.Message.Message; m != nil {
			chat = m.Chat.ID
		}
	}
	if chat == 0 {
		return
	}
	key := b.Keys.Session("tg:" + strconv.FormatInt(user, 10))
	if err := b.Redis.Get(ctx, key).Err(); err != nil && !errors.Is(err, redis.Nil) {
		b.failures.Add(1)
	}
	if err := b.Redis.Set(ctx, key, strconv.FormatInt(u.ID, 10), time.Hour).Err(); err != nil {
		b.failures.Add(1)
	}
	if _, err := tb.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: chat, Text: "ok"}); err != nil {
		b.failures.Add(1)
	}
}

// Failures counts Redis and Bot API errors of the handler.
func (b *Baseline) Failures() int64 { return b.failures.Load() }

// Serve runs the baseline on listenAddr until ctx ends.
func (b *Baseline) Serve(ctx context.Context, listenAddr string) error {
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	return b.ServeListener(ctx, ln)
}

// ServeListener is Serve on an open listener.
func (b *Baseline) ServeListener(ctx context.Context, ln net.Listener) error {
	h, err := b.Handler(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return nil
}

func parseURLPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Path == "" {
		return "/", nil
	}
	return u.Path, nil
}

// InProcessBaseline is a Target running the baseline in this process.
func InProcessBaseline(rdb redis.UniversalClient, k keys.Keys) Target {
	return Target{Name: "baseline (in-process)", Start: func(ctx context.Context, env Env) (*Instance, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		webhook := "http://" + ln.Addr().String() + env.WebhookPath
		b := &Baseline{Token: env.Token, APIURL: env.APIURL, WebhookURL: webhook, Secret: env.Secret, Redis: rdb, Keys: k}
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- b.ServeListener(sctx, ln) }()
		return &Instance{WebhookURL: webhook, Sync: false, Stop: func() error {
			cancel()
			return <-done
		}}, nil
	}}
}
