package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/store"
)

// serveTelegram runs the bot on Telegram: webhook mode when a webhook URL is
// configured, long polling otherwise.
func serveTelegram(ctx context.Context, env Env, cfg config.Config) int {
	log := newLogger(env, cfg)
	c, diags := loadContent(contentSource(cfg.ContentDir))
	if c == nil {
		for _, d := range diags.Errors() {
			log.Error("content problem", "at", d.Pos.String(), "problem", d.Msg)
		}
		fmt.Fprintln(env.Stderr, "putokaz: the content has errors; run `putokaz check` for details")
		return 1
	}
	holder := content.NewHolder(c)
	rdb, sessions, err := openSessions(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if rdb != nil {
		defer rdb.Close()
	}
	conv := conversation.New(sessions, newEngine(), holder, nil, log)
	staff := map[int64]bool{}
	for _, id := range cfg.Telegram.StaffGroups {
		staff[id] = true
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := bot.New(bot.Config{
		Token:         cfg.Telegram.Token,
		APIURL:        cfg.Telegram.APIURL,
		WebhookURL:    cfg.Telegram.WebhookURL,
		WebhookSecret: cfg.Telegram.WebhookSecret,
		ListenAddr:    cfg.ListenAddr,
		StaffGroups:   staff,
	}, conv, rdb, keys.New(cfg.Redis.KeyPrefix), reg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	srv.SetCommandTexts(commandTexts{holder})
	log.Info("serving Telegram", "mode", map[bool]string{true: "webhook", false: "polling"}[cfg.Telegram.WebhookURL != ""],
		"listen", cfg.ListenAddr, "content", c.Version)
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("bot stopped", "err", err)
		return 1
	}
	return 0
}

// openSessions connects to Redis when configured, else uses memory (with a
// loud warning: a restart forgets every conversation).
func openSessions(ctx context.Context, cfg config.Config, log *slog.Logger) (redis.UniversalClient, conversation.Sessions, error) {
	ttl := time.Duration(cfg.SessionTTL)
	if cfg.Redis.URL == "" {
		log.Warn("REDIS_URL is not set: conversations live in memory and are LOST on restart; set REDIS_URL in production")
		m, err := store.NewMemory(ttl, time.Now)
		return nil, m, err
	}
	rdb, err := store.Connect(ctx, cfg.Redis.URL)
	if err != nil {
		return nil, nil, err
	}
	s, err := store.NewRedis(rdb, keys.New(cfg.Redis.KeyPrefix), ttl)
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return rdb, s, nil
}

func newLogger(env Env, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
}

// commandTexts gives Telegram's command menu in each language, from the
// content's texts, so translators maintain them with everything else.
type commandTexts struct{ h *content.Holder }

func (ct commandTexts) lang(code string) string {
	c := ct.h.Content()
	if l := engine.MatchLanguage(c.Languages, code); l != "" {
		return l
	}
	return content.DefaultLanguage
}

func (ct commandTexts) Commands(code string) []bot.Command {
	c, lang := ct.h.Content(), ct.lang(code)
	var out []bot.Command
	for _, name := range engine.Commands {
		d, err := c.Texts.Render(lang, "common.command."+name, nil, nil)
		if err != nil {
			continue
		}
		out = append(out, bot.Command{Name: name, Description: d})
	}
	return out
}

func (ct commandTexts) ErrorText(code string) string {
	s, err := ct.h.Content().Texts.Render(ct.lang(code), content.TextError, nil, nil)
	if err != nil {
		return ""
	}
	return s
}
