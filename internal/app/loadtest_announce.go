//go:build loadtest

package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/announce"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/loadtest"
	"putokaz/internal/subscribe"
)

// announceLoadOpts are the flags of `putokaz loadtest --announce N`.
type announceLoadOpts struct {
	subscribers int
	rate        int
	topic       string
}

func announceLoadFlags(fs *flag.FlagSet) *announceLoadOpts {
	a := &announceLoadOpts{}
	fs.IntVar(&a.subscribers, "announce", 0, "a mass send instead: subscribe this many people to --topic, queue and approve an urgent update "+
		"(putokaz announce's queue) and let --users people converse while it is paused and running in turn (--rounds, "+
		"--duration), then let it finish alone; serve runs with its default limits (rate_limits telegram unless --rate-limits says otherwise)")
	fs.IntVar(&a.rate, "announce-rate", 30, "announce: announce.rate of serve (ANNOUNCE_RATE, 1 to 1000)")
	fs.StringVar(&a.topic, "topic", "shelter", "announce: the subscribable topic of the update")
	return a
}

// loadAnnounce is the scenario's hold on the subscription store and the
// queue of serve (the same Redis and key prefix): the code `putokaz
// announce` and the 🔔 button use.
type loadAnnounce struct {
	subs    *subscribe.Redis
	q       *announce.Queue
	id      string
	topic   string
	expires time.Time
	texts   map[string]string
}

func (l *loadAnnounce) Subscribe(ctx context.Context, user, lang string) error {
	return l.subs.Add(ctx, user, l.topic, lang)
}

// Queue queues the update as one editor, pauses it, and approves it as a
// second: ready, and held until Resume.
func (l *loadAnnounce) Queue(ctx context.Context) error {
	if _, err := l.q.Add(ctx, l.id, []string{l.topic}, l.expires, l.texts, "loadtest editor one"); err != nil {
		return err
	}
	if _, err := l.q.Pause(ctx, l.id); err != nil {
		return err
	}
	st, err := l.q.Approve(ctx, l.id, "loadtest editor two")
	if err != nil {
		return err
	}
	if st.State != announce.StateApproved {
		return fmt.Errorf("update %s is %s after two editors, not approved", l.id, st.State)
	}
	return nil
}

func (l *loadAnnounce) Pause(ctx context.Context) error {
	_, err := l.q.Pause(ctx, l.id)
	return err
}

func (l *loadAnnounce) Resume(ctx context.Context) error {
	_, err := l.q.Resume(ctx, l.id)
	return err
}

func (l *loadAnnounce) Progress(ctx context.Context) (loadtest.AnnounceProgress, error) {
	st, err := l.q.Status(ctx, l.id)
	if err != nil {
		return loadtest.AnnounceProgress{}, err
	}
	return loadtest.AnnounceProgress{State: string(st.State), Done: st.State.Terminal(), Total: st.Total, Sent: st.Sent,
		Blocked: st.Blocked, Failed: st.Failed, Unknown: st.Unknown}, nil
}

// loadtestUpdate is the update the scenario sends, written like an
// editor's file; sr-Latn is made from sr-Cyrl.
var loadtestUpdate = map[string]string{
	"en":      "Load test: the reception centre is closed until Friday. Go to the one in Krnjača instead; the bus leaves at 10:00.",
	"sr-Cyrl": "Тест оптерећења: прихватни центар је затворен до петка. Идите у центар у Крњачи; аутобус полази у 10:00.",
	"ar":      "اختبار التحميل: مركز الاستقبال مغلق حتى يوم الجمعة. اذهبوا إلى المركز في كرنياتشا بدلاً منه؛ تنطلق الحافلة الساعة 10:00.",
	"fa":      "آزمایش بار: مرکز پذیرش تا جمعه بسته است. به جای آن به مرکز کرنیاچا بروید؛ اتوبوس ساعت 10:00 حرکت می‌کند.",
}

// runAnnounceLoad runs the mass-send scenario against target (serve in a
// child, on rdb under prefix) and prints its result.
func runAnnounceLoad(ctx context.Context, env Env, a *announceLoadOpts, o loadtest.Options, rounds int,
	contentDir string, rdb redis.UniversalClient, prefix string, target loadtest.Target, args []string, asJSON bool) int {
	c, diags := engine.Load(contentSource(contentDir))
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		fmt.Fprintln(env.Stderr, "putokaz loadtest: the content has errors; run putokaz check")
		return 1
	}
	f := c.Flows[a.topic]
	if f == nil || !announce.Subscribable(f) {
		fmt.Fprintf(env.Stderr, "putokaz loadtest: --topic %q is not a subscribable flow of the content\n", a.topic)
		return 2
	}
	u := &announce.Update{ID: "loadtest-" + randomID(), Topics: []string{a.topic}, Expires: time.Now().Add(24 * time.Hour),
		Text: loadtestUpdate}
	if ds := announce.Check(u, c, time.Now()); ds.HasErrors() {
		for _, d := range ds.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		return 1
	}
	texts := map[string]string{}
	var langs []string
	for _, l := range c.Languages {
		texts[l.Tag] = u.Render(c, l.Tag)
		langs = append(langs, l.Tag)
	}
	k := keys.New(prefix)
	ctl := &loadAnnounce{subs: subscribe.NewRedis(rdb, k, subscribe.DefaultTTL, time.Now), q: announce.NewQueue(rdb, k, 2),
		id: u.ID, topic: a.topic, expires: u.Expires, texts: texts}
	res, err := loadtest.RunAnnounce(ctx, target, o, loadtest.AnnounceOptions{Subscribers: a.subscribers, Langs: langs,
		Rounds: rounds, Rate: float64(a.rate), Control: ctl})
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
		if res == nil {
			return 1
		}
	}
	res.Command = "putokaz loadtest " + strings.Join(args, " ")
	res.Date = time.Now().UTC().Format("2006-01-02 15:04 MST")
	res.Machine = loadtest.ThisMachine()
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz loadtest:", err)
			return 1
		}
	} else {
		res.WriteText(env.Stdout)
	}
	if err != nil || res.TimedOut {
		return 1
	}
	return 0
}

// announceEnv is the environment of serve in the scenario.
func announceEnv(base []string, a *announceLoadOpts, limits string) ([]string, error) {
	if a.rate < 1 || a.rate > 1000 {
		return nil, errors.New("--announce-rate takes 1 to 1000 (announce.rate)")
	}
	env := slices.Clone(base)
	return append(env, "TELEGRAM_RATE_LIMITS="+limits, "ANNOUNCE_RATE="+strconv.Itoa(a.rate), "ANNOUNCE_APPROVALS=2"), nil
}

// announceThink is the mean pause of the conversing people of the scenario
// between a reply and their next tap (--think): people who read the answer.
const announceThink = 3 * time.Second
