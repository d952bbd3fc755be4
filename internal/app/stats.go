package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/keys"
	"putokaz/internal/stats"
	"putokaz/internal/store"
)

const statsHelp = `Usage: putokaz stats [--days N] [--until YYYY-MM-DD] [--top N]

Summarises the anonymous usage counters kept in Redis (REDIS_URL): languages,
topics opened, the most viewed steps, notices, where people stop, referrals by
service and outcome. Days are UTC days; every replica adds to the same counters.

Words nobody understood: the single words of typed messages that matched no
topic, per language, shown once at least 5 different people typed one on the
same day (counted with salted hashes, never who typed it or whole messages).

Where people stop is approximated without identifiers: per step,
exits = views − departures (a visit that did not continue). Conversations
still going on count as exits, and a period's edges blur it a little: read
it over days, not minutes.

`

// statsCmd prints a summary of the usage statistics kept in Redis.
func statsCmd(ctx context.Context, env Env, args []string) int {
	fs := newFlags("stats", env)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, statsHelp)
		fs.PrintDefaults()
	}
	days := fs.Int("days", 7, "number of days to sum, ending with --until")
	until := fs.String("until", "", "last day (YYYY-MM-DD, UTC; default: today)")
	top := fs.Int("top", 10, "rows per ranking (0: all)")
	cfgPath := fs.String("config", "", "configuration file (default: config.yaml if present)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *days < 1 || *days > 400 || fs.NArg() > 0 {
		fmt.Fprintln(env.Stderr, "putokaz stats: --days must be 1 to 400 (days are kept that long) and no other arguments are taken")
		return 2
	}
	last := time.Now().UTC()
	if *until != "" {
		t, err := time.Parse(time.DateOnly, *until)
		if err != nil {
			fmt.Fprintf(env.Stderr, "putokaz stats: --until %q is not a date like 2026-11-26\n", *until)
			return 2
		}
		last = t
	}
	cfg, err := config.Load(*cfgPath, env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if cfg.Redis.URL == "" {
		fmt.Fprintln(env.Stderr, "putokaz stats: the counters are kept in Redis: set REDIS_URL to the bot's Redis. "+
			"(Without Redis the bot keeps them only in its Prometheus metrics, /metrics.)")
		return 1
	}
	rdb, err := store.Connect(ctx, cfg.Redis.URL)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz stats:", err)
		return 1
	}
	defer rdb.Close()
	rep, err := stats.Read(ctx, rdb, keys.New(cfg.Redis.KeyPrefix), last, *days)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz stats:", err)
		return 1
	}
	if err := rep.WriteText(env.Stdout, *top); err != nil {
		fmt.Fprintln(env.Stderr, "putokaz stats:", err)
		return 1
	}
	words, err := stats.ReadWords(ctx, rdb, keys.New(cfg.Redis.KeyPrefix), contentLanguages(), last, *days)
	if err == nil {
		err = stats.WriteWords(env.Stdout, words, *top)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz stats:", err)
		return 1
	}
	return 0
}

// startStats counts anonymous usage statistics of conv: into reg, and into
// Redis when rdb is set (so `putokaz stats` sees every replica). The referral
// system reports case outcomes through the returned Stats (Referral). Call
// stop before closing rdb: it writes the counters still buffered.
func startStats(conv *conversation.Runner, src stats.ContentSource, rdb redis.UniversalClient, cfg config.Config,
	reg prometheus.Registerer, log *slog.Logger) (usage *stats.Stats, stop func(), err error) {
	st, err := stats.New(stats.Options{Content: src, Registerer: reg, Redis: rdb, Keys: keys.New(cfg.Redis.KeyPrefix), Log: log})
	if err != nil {
		return nil, nil, err
	}
	conv.OnResult = st.Observe
	return st, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.Stop(ctx); err != nil {
			log.Warn("usage statistics: last counters not written", "err", err)
		}
	}, nil
}

// contentLanguages are the language tags of the content in this folder (or
// the built-in one), for the unmatched words, plus "none" and "other".
func contentLanguages() []string {
	tags := []string{stats.NoLanguage, stats.Other}
	if c, _ := content.LoadLenient(contentSource("")); c != nil {
		for _, l := range c.Languages {
			tags = append(tags, l.Tag)
		}
	}
	return tags
}
