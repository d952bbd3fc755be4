package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	"putokaz/referral"
	"putokaz/referral/telegramstaff"
)

// serveTelegram runs the bot on Telegram: webhook mode when a webhook URL is
// configured, long polling otherwise.
func serveTelegram(ctx context.Context, env Env, cfg config.Config) int {
	log := newLogger(env, cfg)
	src := contentSource(cfg.ContentDir)
	load := func() (*content.Content, content.Diags) { return engine.Load(src) }
	c, diags := load()
	if c == nil {
		for _, d := range diags.Errors() {
			log.Error("content problem", "at", d.Pos.String(), "problem", d.Msg)
		}
		fmt.Fprintln(env.Stderr, "putokaz: the content has errors; run `putokaz check` for details")
		return 1
	}
	holder := content.NewHolder(c)
	// Editors' changes to a content folder go live without a restart; a
	// broken edit is logged and the last good content keeps serving.
	_, stopWatch, err := watchContent(ctx, contentFolder(cfg.ContentDir), holder, load, diags, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer stopWatch()
	rdb, sessions, err := openSessions(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if rdb != nil {
		defer rdb.Close()
	}
	k := keys.New(cfg.Redis.KeyPrefix)
	rcfg := referralConfig(cfg)
	staff := map[int64]bool{}
	for _, id := range cfg.Telegram.StaffGroups {
		staff[id] = true
	}
	for _, id := range rcfg.Groups() {
		staff[id] = true // a queue's group is a staff group
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	limits := rateLimits(cfg.Telegram.RateLimits, cfg.Announce.Rate)
	// With Redis the transport writes each person's session (with the
	// update's end, under the chat's lease): with the store's lifetime.
	limits.SessionTTL = time.Duration(cfg.SessionTTL)
	// Built in the order data flows back out: the sender first (staff
	// cards, replies and urgent updates all go through it), the referral
	// desk that sends through it, the conversation whose effects the desk
	// carries out, then the transport that hands updates to both.
	sender, err := bot.NewSender(bot.Config{
		Token:         cfg.Telegram.Token,
		APIURL:        cfg.Telegram.APIURL,
		WebhookURL:    cfg.Telegram.WebhookURL,
		WebhookSecret: cfg.Telegram.WebhookSecret,
		ListenAddr:    cfg.ListenAddr,
		StaffGroups:   staff,
		Limits:        limits,
	}, rdb, k, reg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	refs, err := newReferrals(rcfg, rdb, k, holder, sender, reg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	eng := newEngine(cfg.Organisation)
	eng.Offline = func(service string) bool { return !rcfg.HasQueue(service) }
	_, subs := newSubscriptions(rdb, k, forgetInUpdates(refs, announceQueue(cfg, rdb)))
	conv := conversation.New(sessions, eng, holder, bot.Effects(subs), log)
	conv.Statuses = refs
	conv.Cases = refs
	conv.Subscriptions = subs
	_, stopStats, err := startStats(conv, holder, rdb, cfg, reg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer stopStats() // before rdb.Close (deferred earlier): writes the last counters
	srv, err := bot.New(sender, bot.Handlers{
		Conversation: conv,
		Staff:        telegramstaff.NewHandler(refs, sender, sender.BotUsername),
		Commands:     commandTexts{holder},
		Blocked:      subs.Unsubscribe, // a person who blocked the bot gets no updates
	})
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	var names []string
	for name := range c.Directory.Services {
		names = append(names, name)
	}
	if missing := rcfg.Unserved(names); len(missing) > 0 {
		log.Error("services without a staff queue: people who choose them get their public contacts instead of a referral or handoff until referral.queues names them",
			"services", missing)
	}

	// The supervisors' console (when enabled) acts through the referral
	// service too: it stops before the outbox does.
	stopConsole, err := startConsole(ctx, cfg, rdb, k, refs, sender, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}

	// The outbox runs beside the transport and stops after it has drained,
	// so that staff actions in flight can still queue their deliveries.
	defer startOutbox(ctx, refs, conv)()
	// Urgent updates are sent beside the conversations (announce_serve.go).
	stopAnnouncer, err := startAnnouncer(ctx, cfg, rdb, sender, reg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer stopAnnouncer()

	log.Info("serving Telegram", "mode", map[bool]string{true: "webhook", false: "polling"}[cfg.Telegram.WebhookURL != ""],
		"listen", cfg.ListenAddr, "content", c.Version, "staff_queues", len(rcfg.Queues))
	defer stopConsole()
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("bot stopped", "err", err)
		return 1
	}
	return 0
}

// referralConfig turns the referral section of the configuration into the
// referral package's.
func referralConfig(cfg config.Config) referral.Config {
	r := cfg.Referral
	out := referral.Config{Retention: time.Duration(r.Retention), KeepAfterDelete: r.KeepAfterDelete, Attempts: r.Attempts,
		WebhookAttempts: r.WebhookAttempts, MinIdle: time.Duration(r.MinIdle), StaffLanguage: r.StaffLanguage,
		Queues: map[string]referral.Queue{}}
	for name, q := range r.Queues {
		out.Queues[name] = referral.Queue{Group: q.Group, Topic: q.Topic, Languages: q.Languages, WebhookURL: q.WebhookURL,
			WebhookSecret: q.WebhookSecret}
	}
	return out
}

// newReferrals builds the referral desk on Telegram: cases in Redis (in
// memory without it, loudly), cards and relays through the sender.
func newReferrals(rcfg referral.Config, rdb redis.UniversalClient, k keys.Keys, holder *content.Holder, sender *bot.Sender,
	reg prometheus.Registerer, log *slog.Logger) (*referral.Desk, error) {
	var st referral.Store
	var lock referral.PersonLock
	if rdb != nil {
		st = referral.NewRedisStore(rdb, k)
		lock = telegramstaff.Lock(rdb, k, 15*time.Second, 10*time.Second)
	} else {
		log.Warn("REDIS_URL is not set: referrals and their delivery to staff live in memory and are LOST on restart")
		st = referral.NewMemoryStore()
	}
	return referral.New(referral.Options{Config: rcfg, Store: st, Staff: telegramstaff.New(sender),
		Content: holder, Registry: reg, Log: log, Lock: lock})
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
	store.LogRedisTo(log)
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
	for _, cmd := range content.Commands {
		d, err := c.Texts.Render(lang, cmd.Text, nil, nil)
		if err != nil {
			continue
		}
		out = append(out, bot.Command{Name: cmd.Name, Description: d})
	}
	return out
}

// ErrorText is the transport's apology in the language of a Telegram app.
func (ct commandTexts) ErrorText(code string) string {
	s, err := ct.h.Content().Texts.Render(ct.lang(code), content.TextTransportError, nil, nil)
	if err != nil {
		return ""
	}
	return s
}

// rateLimits is the sender's limits for telegram.rate_limits: Telegram's
// (the transport's defaults), or none — the sender then still waits out
// every 429, so "off" costs throttled requests, never messages. An
// announce.rate above Telegram's 30/s says the bot has paid broadcasts:
// the overall limit of the bulk lanes rises to it, or the updates would
// still go at 30/s.
func rateLimits(setting string, announceRate int) bot.Limits {
	if setting != "off" {
		if announceRate > 30 {
			return bot.Limits{GlobalPerSecond: float64(announceRate), GlobalBurst: announceRate}
		}
		return bot.Limits{}
	}
	inf := math.Inf(1)
	return bot.Limits{PrivatePerSecond: inf, PrivateBurst: math.MaxInt32, GroupPerMinute: inf,
		GroupBurst: math.MaxInt32, GlobalPerSecond: inf, GlobalBurst: math.MaxInt32}
}
