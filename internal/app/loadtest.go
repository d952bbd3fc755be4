//go:build loadtest

package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"putokaz/internal/config"
	"putokaz/internal/keys"
	"putokaz/internal/loadtest"
	"putokaz/internal/store"
	"putokaz/internal/unlink"
)

const loadtestUsage = "load-test the Telegram transport against a bare go-telegram/bot baseline"

const loadtestHelp = `putokaz loadtest drives simulated Telegram users against a real ` + "`putokaz serve`" + `
(webhook mode, real Redis, a fake Bot API on 127.0.0.1) and against a bare
go-telegram/bot baseline (one Redis GET, one SET, one sendMessage per update),
and reports throughput, latency from tap to reply, lost and duplicated replies.

With --spike it plays a crisis spike instead: --people write within
--spike-window (a few --messages each), delivered like Telegram (at most
max_connections requests in flight, one chat's updates in sequence, re-sent
after a non-2xx answer or a timeout) to serve with its default limits, and
--api-rate makes the fake Bot API answer 429 beyond that many messages/s.

With --announce N it plays a mass send instead: N people subscribe to
--topic, an urgent update is queued, paused and approved by a second editor
(putokaz announce's queue), and --users people converse (some typing
emergency words, --emergency-share) while the send is paused and running in
turn for --duration (--rounds of each); then the send finishes alone. It
reports reply and emergency latency with the send paused and running, the
sender's lanes, updates delivered, duplicated and missing at the fake Bot
API, the send's rate, and the bot's RSS over time.

Flags:
`

// loadtestCmd is `putokaz loadtest`. It and the load tool it runs (the fake
// Bot API, the simulated people, the baseline bot) exist only in a build with
// -tags loadtest, so the production binary carries no test harness;
// loadtest_off.go answers in the default build.
func loadtestCmd(ctx context.Context, env Env, args []string) int {
	fs := newFlags("loadtest", env)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), loadtestHelp)
		fs.PrintDefaults()
	}
	var o loadtest.Options
	fs.IntVar(&o.Users, "users", 100, "simulated people, all active at once")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "how long users keep tapping (per system)")
	fs.DurationVar(&o.Think, "think", 0, "mean pause between a reply and the next tap (0: tap at once)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "a step without reply after this is lost")
	fs.IntVar(&o.MaxConnections, "max-connections", 0, "cap on concurrent webhook POSTs, as Telegram's max_connections (0: what the bot registered, else 40; negative: no cap)")
	fs.Float64Var(&o.Redeliver, "redeliver", 0, "probability of POSTing a handled update again (its replies count as duplicated)")
	fs.DurationVar(&o.APILatency, "api-latency", 0, "latency of the fake Bot API")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed of the users (0: random)")
	fs.IntVar(&o.Rounds, "rounds", 1, "cut --duration into this many slices alternating between ours and the baseline (fairer on a busy machine)")
	redisURL := fs.String("redis", "", "Redis URL (default $REDIS_URL, else redis://127.0.0.1:6379/0)")
	only := fs.String("only", "", `run only "ours" or "baseline" (default both, ours first)`)
	soak := fs.Bool("soak", false, "sample the bot's RSS (and heap, goroutines) every 10s and print the series")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	limits := fs.String("rate-limits", "off", `TELEGRAM_RATE_LIMITS of ours: "off" compares like with like (the baseline has none), "telegram" shows how serve spreads replies over Telegram's limits`)
	contentDir := fs.String("content", "", "a content folder (CONTENT_DIR) for ours; default: as serve, the current folder's flows/ and locales/, else the built-in content")
	verbose := fs.Bool("verbose", false, "show the bots' own log output")
	reportFile := fs.String("report", "", "print a report saved with --json as text, and exit")
	baselineServer := fs.Bool("baseline-server", false, "internal: run the baseline bot (configured like serve, from the environment)")
	spike := spikeFlags(fs)
	ann := announceLoadFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *baselineServer {
		return serveBaseline(ctx, env)
	}
	if *reportFile != "" {
		b, err := os.ReadFile(*reportFile)
		var rep loadtest.Report
		var ann loadtest.AnnounceResult
		if err == nil {
			err = json.Unmarshal(b, &ann)
		}
		if err == nil && ann.Subscribers == 0 {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
			return 1
		}
		if ann.Subscribers > 0 { // saved by --announce --json
			ann.WriteText(env.Stdout)
			return 0
		}
		rep.WriteText(env.Stdout)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "putokaz loadtest: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch *only {
	case "", "ours", "baseline":
	default:
		fmt.Fprintln(env.Stderr, `putokaz loadtest: --only takes "ours" or "baseline"`)
		return 2
	}
	if *limits != "telegram" && *limits != "off" {
		fmt.Fprintln(env.Stderr, `putokaz loadtest: --rate-limits takes "telegram" or "off"`)
		return 2
	}
	if *soak {
		o.SampleEvery = 10 * time.Second
	}
	if o.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		for _, x := range b {
			o.Seed = o.Seed<<8 | uint64(x)
		}
	}
	o.Log = env.Stderr
	if *redisURL == "" {
		*redisURL = env.Getenv("REDIS_URL")
	}
	if *redisURL == "" {
		*redisURL = "redis://127.0.0.1:6379/0"
	}
	rdb, err := store.Connect(ctx, *redisURL)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
		return 1
	}
	defer rdb.Close()
	o.Redis = rdb
	prefix := "loadtest:" + randomID() + ":"
	k := keys.New(prefix)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		n, err := unlink.Matching(cctx, rdb, k.PrefixPattern())
		if err != nil {
			fmt.Fprintf(env.Stderr, "putokaz loadtest: cleaning up keys %s: %v\n", k.PrefixPattern(), err)
			return
		}
		fmt.Fprintf(env.Stderr, "loadtest: deleted %d Redis keys under %s\n", n, prefix)
	}()

	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
		return 1
	}
	var childOut io.Writer
	if *verbose {
		childOut = env.Stderr
	}
	childEnv := []string{"REDIS_URL=" + *redisURL, "REDIS_KEY_PREFIX=" + prefix}
	if !*verbose {
		childEnv = append(childEnv, "LOG_LEVEL=warn")
	}
	oursEnv := append(append([]string(nil), childEnv...), "TELEGRAM_RATE_LIMITS="+*limits)
	if *contentDir != "" {
		oursEnv = append(oursEnv, "CONTENT_DIR="+*contentDir)
	}

	if spike.on {
		sEnv := append(append([]string(nil), childEnv...), "TELEGRAM_RATE_LIMITS=telegram")
		if *contentDir != "" {
			sEnv = append(sEnv, "CONTENT_DIR="+*contentDir)
		}
		return runSpike(ctx, env, spike, loadtest.Child{Name: "putokaz serve (default limits)", Path: exe,
			Args: []string{"serve"}, Env: sEnv, Sync: true, Output: childOut}.Target(), args, *asJSON)
	}
	if ann.subscribers > 0 {
		// Serve as deployed: Telegram's limits unless said otherwise;
		// people who read and think between taps.
		lim := "telegram"
		if set["rate-limits"] {
			lim = *limits
		}
		if !set["think"] {
			o.Think = announceThink
		}
		o.Emergency = spike.o.EmergencyShare
		rounds := 2
		if set["rounds"] {
			rounds = o.Rounds
		}
		base := childEnv
		if *contentDir != "" {
			base = append(append([]string(nil), childEnv...), "CONTENT_DIR="+*contentDir)
		}
		aEnv, err := announceEnv(base, ann, lim)
		if err != nil {
			fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
			return 2
		}
		target := loadtest.Child{Name: fmt.Sprintf("putokaz serve (rate_limits %s, announce.rate %d)", lim, ann.rate),
			Path: exe, Args: []string{"serve"}, Env: aEnv, Sync: true, Output: childOut}.Target()
		return runAnnounceLoad(ctx, env, ann, o, rounds, *contentDir, rdb, prefix, target, args, *asJSON)
	}
	rep := &loadtest.Report{
		Command: "putokaz loadtest " + strings.Join(args, " "),
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Machine: loadtest.ThisMachine(),
		Options: o.Config(),
	}
	ours := loadtest.Child{Name: "ours (putokaz serve, rate limits " + *limits + ")", Path: exe, Args: []string{"serve"},
		Env: oursEnv, Sync: true, Output: childOut}.Target()
	baseline := loadtest.Child{Name: "baseline (go-telegram/bot)", Path: exe,
		Args: []string{"loadtest", "--baseline-server"}, Env: childEnv, Sync: false, Output: childOut}.Target()

	var targets []loadtest.Target
	if *only != "baseline" {
		targets = append(targets, ours)
	}
	if *only != "ours" {
		targets = append(targets, baseline)
	}
	results, err := loadtest.RunAll(ctx, targets, o)
	rep.Results = append(rep.Results, results...)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
		if len(results) == 0 || ctx.Err() != nil {
			return 1
		}
	}
	if *only == "" {
		rep.Compare()
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
			return 1
		}
	} else {
		rep.WriteText(env.Stdout)
	}
	return 0
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveBaseline is the child mode `putokaz loadtest --baseline-server`: the
// bare go-telegram/bot comparison, configured like serve (TELEGRAM_TOKEN,
// TELEGRAM_API_URL, TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET, LISTEN_ADDR,
// REDIS_URL, REDIS_KEY_PREFIX), in its own process so that its CPU and memory
// are accounted like those of `putokaz serve`.
func serveBaseline(ctx context.Context, env Env) int {
	cfg, err := config.Load("", env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if cfg.Telegram.Token == "" || cfg.Telegram.WebhookURL == "" || cfg.Redis.URL == "" {
		fmt.Fprintln(env.Stderr, "putokaz loadtest --baseline-server needs TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_URL and REDIS_URL")
		return 2
	}
	rdb, err := store.Connect(ctx, cfg.Redis.URL)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	defer rdb.Close()
	b := &loadtest.Baseline{Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, WebhookURL: cfg.Telegram.WebhookURL,
		Secret: cfg.Telegram.WebhookSecret, Redis: rdb, Keys: keys.New(cfg.Redis.KeyPrefix)}
	if cfg.LogLevel == "debug" || cfg.LogLevel == "info" {
		b.Errors = log.New(env.Stderr, "baseline: ", log.LstdFlags)
	}
	if err := b.Serve(ctx, cfg.ListenAddr); err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if n := b.Failures(); n > 0 {
		fmt.Fprintf(env.Stderr, "baseline: %d Redis or Bot API errors\n", n)
	}
	return 0
}
