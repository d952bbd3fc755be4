package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/config"
	"putokaz/internal/console"
	"putokaz/internal/keys"
	"putokaz/referral"
	"putokaz/referral/telegramstaff"
)

// consoleZone is where the console shows times: the service runs in Serbia.
const consoleZone = "Europe/Belgrade"

// startConsole serves the supervisors' web console on console.listen_addr
// when it is enabled, and returns the function that stops it.
func startConsole(ctx context.Context, cfg config.Config, rdb redis.UniversalClient, k keys.Keys, refs *referral.Desk,
	sender *bot.Sender, log *slog.Logger) (stop func(), err error) {
	cc := cfg.Console
	if !cc.Enabled {
		return func() {}, nil
	}
	var sessions console.Sessions
	var audit console.Audit
	if rdb != nil {
		sessions = console.NewRedisSessions(rdb, k)
		audit = console.NewRedisAudit(rdb, k, time.Duration(cc.AuditRetention))
	} else {
		log.Warn("REDIS_URL is not set: console sessions and its audit log live in memory and are LOST on restart")
		sessions = console.NewMemorySessions(nil)
		audit = &console.MemoryAudit{}
	}
	zone, zerr := time.LoadLocation(consoleZone)
	if zerr != nil {
		log.Warn("the console shows times in UTC: no time zone data", "zone", consoleZone, "err", zerr)
		zone = time.UTC
	}
	c, err := console.New(console.Options{Cases: refs, Members: telegramstaff.NewMembership(sender),
		Sessions: sessions, Audit: audit, BotToken: cfg.Telegram.Token, BotUsername: sender.BotUsername,
		PublicURL: cc.PublicURL, Lang: cfg.Referral.StaffLanguage, SessionLifetime: time.Duration(cc.SessionLifetime),
		RecheckEvery: time.Duration(cc.RecheckEvery), OverdueAfter: time.Duration(cc.OverdueAfter),
		InsecureCookie: cc.InsecureCookie, TrustedProxies: cc.TrustedProxies, Zone: zone, Log: log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cc.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("console: listen on %s: %w", cc.ListenAddr, err)
	}
	hs := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console stopped", "err", err)
		}
	}()
	log.Info("serving the supervisors' console", "listen", cc.ListenAddr, "url", cc.PublicURL)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		<-done
	}, nil
}
