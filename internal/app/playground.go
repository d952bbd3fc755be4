package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/graph"
	"putokaz/internal/keys"
	"putokaz/internal/lease"
	"putokaz/internal/playground"
	"putokaz/internal/store"
	"putokaz/referral"
)

// playgroundShutdown bounds how long in-flight requests may finish after
// Ctrl-C.
const playgroundShutdown = 5 * time.Second

// servePlayground runs the local web playground: what `putokaz serve` (and
// `go run .`) does without a Telegram token. It serves until ctx ends.
func servePlayground(ctx context.Context, env Env, cfg config.Config) int {
	log := playgroundLogger(env, cfg.LogLevel)

	folder := contentFolder(cfg.ContentDir)
	src := contentSource(cfg.ContentDir)
	load := func() (*content.Content, content.Diags) { return engine.Load(src) }
	c, diags := load()
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		fmt.Fprintln(env.Stderr, "putokaz: the content has errors; fix them (putokaz check) and start again")
		return 1
	}
	holder := content.NewHolder(c)

	sessions, rdb, closeStore, err := playgroundStore(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer closeStore()
	tracked := playground.TrackSessions(sessions)
	// Referrals and handoffs work as on Telegram, with the staff side in the
	// page: cases in the same store as sessions, delivered through the
	// outbox to the in-memory staff that the staff pane shows.
	locks := new(lease.Local)
	staff := referral.NewMemoryStaff()
	refs, err := referral.New(referral.Options{Config: playgroundReferralConfig(cfg, c), Store: playgroundCases(rdb, cfg),
		Staff: staff, Content: holder, Log: log, Lock: locks.Lock})
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	staff.Bind(refs)
	exits := playground.NewQuickExits(refs)
	_, subs := newSubscriptions(nil, keys.Keys{}, exits) // in memory, like the page's people
	conv := conversation.New(tracked, newEngine(cfg.Organisation), holder, subs, log)
	conv.Statuses = refs
	conv.Subscriptions = subs
	// The outbox runs beside the server and stops after it (see
	// serveTelegram), so that staff actions in flight still get delivered.
	defer startOutbox(ctx, refs, conv)()

	opt := playground.Options{Conversation: conv, Content: holder, Sessions: tracked, Log: log,
		Source: "embedded", Graph: flowGraph{}, Referrals: &playground.Referrals{Service: refs, Staff: staff},
		Locks: locks, QuickExits: exits}
	r, stopWatch, err := watchContent(ctx, folder, holder, load, diags, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer stopWatch()
	if r != nil {
		opt.Reloads = r
	}
	if folder != "" {
		opt.Source = displayFolder(folder)
	}
	handler, err := playground.New(opt)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "putokaz: cannot listen on %s: %v\n(set LISTEN_ADDR to another address, e.g. LISTEN_ADDR=:8081)\n", cfg.ListenAddr, err)
		return 1
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(env.Stdout, "Putokaz playground: %s\n", playgroundURL(ln.Addr()))
	if folder != "" && opt.Reloads != nil {
		fmt.Fprintf(env.Stdout, "Content from %s: edit flows/ and locales/, the page shows each reload. Ctrl-C stops.\n", opt.Source)
	} else {
		fmt.Fprintln(env.Stdout, "Content built into the binary (run with CONTENT_DIR=. to edit it live). Ctrl-C stops.")
	}
	log.Info("playground started", "addr", ln.Addr().String(), "content", c.Version, "source", opt.Source)

	select {
	case err := <-served:
		fmt.Fprintln(env.Stderr, "putokaz: playground server:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), playgroundShutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("playground shutdown", "err", err)
	}
	return 0
}

// flowGraph draws the playground's flow diagrams with internal/graph (the
// same Mermaid text as `putokaz graph`).
type flowGraph struct{}

func (flowGraph) Mermaid(c *content.Content, flow, lang string) (string, error) {
	return graph.Mermaid(c, flow, lang, content.Ref{})
}

func (flowGraph) NodeID(c *content.Content, r content.Ref) string { return graph.NodeID(c, r) }

// ignoreHUP logs SIGHUPs that have nothing to reload, until ctx ends.
func ignoreHUP(ctx context.Context, hup <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP ignored: the content built into the binary never reloads")
		}
	}
}

// playgroundFolder is the content folder that contentSource picks, or ""
// when it picks the built-in content.
func contentFolder(dir string) string {
	if dir != "" {
		return dir
	}
	if isDir("flows") && isDir("locales") && hasYAML("flows") {
		return "."
	}
	return ""
}

func displayFolder(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// playgroundStore is Redis when REDIS_URL is set, else memory (with a
// warning: everything is lost on restart, which is fine for trying content
// but surprising if someone mistakes the playground for the real bot). The
// Redis client is returned too (nil for memory) for the referral cases.
func playgroundStore(ctx context.Context, cfg config.Config, log *slog.Logger) (conversation.Sessions, redis.UniversalClient, func(), error) {
	ttl := time.Duration(cfg.SessionTTL)
	if cfg.Redis.URL == "" {
		mem, err := store.NewMemory(ttl, time.Now)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("playground store: %w", err)
		}
		log.Warn("IN-MEMORY STORE: conversations are lost when the playground stops; set REDIS_URL to keep them")
		return mem, nil, func() {}, nil
	}
	store.LogRedisTo(log)
	rdb, err := store.Connect(ctx, cfg.Redis.URL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("playground store: %w", err) // Connect redacts the password
	}
	r, err := store.NewRedis(rdb, keys.New(cfg.Redis.KeyPrefix), ttl)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, nil, fmt.Errorf("playground store: %w", err)
	}
	log.Info("playground store: redis", "key_prefix", cfg.Redis.KeyPrefix)
	return r, rdb, func() { _ = rdb.Close() }, nil
}

// playgroundKeySuffix separates the playground's referral keys from a
// Telegram deployment's sharing the same Redis and prefix: its outbox must
// never consume the playground's streams (its "person" stream would try
// to tell web:… people through Telegram).
const playgroundKeySuffix = "playground:"

// playgroundCases keeps referral cases beside the sessions: in Redis (under
// their own prefix) when there is Redis, else in memory.
func playgroundCases(rdb redis.UniversalClient, cfg config.Config) referral.Store {
	if rdb == nil {
		return referral.NewMemoryStore()
	}
	return referral.NewRedisStore(rdb, keys.New(cfg.Redis.KeyPrefix+playgroundKeySuffix))
}

// playgroundReferralConfig is the referral configuration of the playground:
// the configured retention and limits, but a synthetic queue per service of
// the content (and one for services a reload adds), so that no referral is
// refused and nothing is posted to a real staff group or webhook. Queue
// languages are the configured ones, so cards mark other languages as on
// Telegram.
func playgroundReferralConfig(cfg config.Config, c *content.Content) referral.Config {
	rc := referralConfig(cfg)
	configured := rc.Queues
	langs := func(name string) []string {
		if q, ok := configured[name]; ok {
			return q.Languages
		}
		return configured[referral.AnyService].Languages
	}
	names := make([]string, 0, len(c.Directory.Services))
	for name := range c.Directory.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	rc.Queues = map[string]referral.Queue{referral.AnyService: {Group: -1000, Languages: langs(referral.AnyService)}}
	for i, name := range names {
		rc.Queues[name] = referral.Queue{Group: int64(-1001 - i), Languages: langs(name)}
	}
	return rc
}

// playgroundURL is the address to open in a browser: a wildcard listen
// address is reachable as localhost.
func playgroundURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port)) + "/"
}

// playgroundLogger writes text logs to stderr at the configured level.
func playgroundLogger(env Env, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo // config.Validate already rejected anything else
	}
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: l}))
}
