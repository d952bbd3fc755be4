package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/announce"
	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/store"
)

const announceHelp = `Usage:
  putokaz announce FILE --dry-run        check an update file; how many would receive it now
  putokaz announce FILE --by NAME        queue it; it waits for another editor's approval
  putokaz announce approve ID --by NAME  approve a queued update (a different editor); it starts
  putokaz announce pause ID              hold a send (the messages on their way still arrive)
  putokaz announce resume ID             go on where it stopped
  putokaz announce cancel ID             stop for good: nothing more of it is sent
  putokaz announce status [ID]           sent, left, blocked, failed, rate, time left
  putokaz announce list                  every update on record

An urgent update goes to the people who asked to be told when a topic changes
(the 🔔 button), in the language they read, with a first line naming the topic
and a last line on how to stop (/unsubscribe). The file (see
flows/updates/README.md) has an id, the topics (flow names), an expiry after
which nothing more is sent, and the text in every language; putokaz check
checks it like the other content.

How many editors must agree is announce.approvals in config.yaml (2: the one
who queues and one more). The bots of putokaz serve send it, at most
announce.rate messages per second.
Everything is kept in Redis (REDIS_URL), so these commands work from any
machine that reaches it, and a send survives restarts: nobody receives one
update twice.

Flags:
`

// announceCmd is `putokaz announce`.
func announceCmd(ctx context.Context, env Env, args []string) int {
	fs := newFlags("announce", env)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, announceHelp)
		fs.PrintDefaults()
	}
	dry := fs.Bool("dry-run", false, "with FILE: check it and count who would receive it; queue nothing")
	by := fs.String("by", "", "your name, recorded with the update (queue, approve)")
	cfgPath := fs.String("config", "", "configuration file (default: config.yaml if present)")
	contentDir := fs.String("content", "", "folder with flows/ and locales/ (default: content_dir, ./ or the built-in content)")
	if err := fs.Parse(interspersed(args, map[string]bool{"by": true, "config": true, "content": true})); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath, env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	a := &announcer{env: env, cfg: cfg, contentDir: *contentDir}
	verb, id := rest[0], ""
	if len(rest) > 1 {
		id = rest[1]
	}
	switch {
	case verb == "approve" || verb == "pause" || verb == "resume" || verb == "cancel":
		if len(rest) != 2 {
			return a.fail(2, fmt.Sprintf("say which update: putokaz announce %s ID (see: putokaz announce list)", verb))
		}
		return a.control(ctx, verb, id, *by)
	case verb == "status" || verb == "list":
		if len(rest) > 2 || (verb == "list" && len(rest) > 1) {
			return a.fail(2, "too many arguments; see putokaz announce --help")
		}
		return a.status(ctx, verb, id)
	case len(rest) > 1:
		return a.fail(2, "one update file at a time; see putokaz announce --help")
	case *dry:
		return a.dryRun(ctx, verb)
	default:
		if strings.TrimSpace(*by) == "" {
			return a.fail(2, "say who you are with --by NAME (it is recorded with the update), or check it first with --dry-run")
		}
		return a.queue(ctx, verb, *by)
	}
}

// interspersed moves flags after positional arguments in front of them
// ("FILE --by Ana" reads like "--by Ana FILE"); valued names flags that take
// a value.
func interspersed(args []string, valued map[string]bool) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if valued[name] && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}

// announcer runs one announce command.
type announcer struct {
	env        Env
	cfg        config.Config
	contentDir string
	rdb        redis.UniversalClient
}

func (a *announcer) fail(code int, msg string) int {
	fmt.Fprintln(a.env.Stderr, "putokaz announce:", msg)
	return code
}

func (a *announcer) connect(ctx context.Context) (*announce.Queue, int) {
	if a.cfg.Redis.URL == "" {
		return nil, a.fail(1, "updates are kept in the bot's Redis: set REDIS_URL to it")
	}
	rdb, err := store.Connect(ctx, a.cfg.Redis.URL)
	if err != nil {
		return nil, a.fail(1, err.Error())
	}
	a.rdb = rdb
	return announce.NewQueue(rdb, keys.New(a.cfg.Redis.KeyPrefix), a.cfg.Announce.Approvals), 0
}

func (a *announcer) close() {
	if a.rdb != nil {
		a.rdb.Close()
	}
}

// load reads and checks an update file against the content; it prints the
// problems and returns nil when there are errors.
func (a *announcer) load(file string) (*announce.Update, *content.Content) {
	dir := a.contentDir
	if dir == "" {
		dir = a.cfg.ContentDir
	}
	c, diags := engine.Load(contentSource(dir))
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(a.env.Stdout, d)
		}
		a.fail(1, "the content has errors; run putokaz check")
		return nil, nil
	}
	u, ds := readUpdate(file, c, time.Now())
	for _, d := range ds {
		fmt.Fprintln(a.env.Stdout, d)
	}
	if u == nil || ds.HasErrors() {
		a.fail(1, fmt.Sprintf("%s has problems (above); nothing was queued", file))
		return nil, nil
	}
	return u, c
}

// readUpdate parses and checks one update file.
func readUpdate(file string, c *content.Content, now time.Time) (*announce.Update, content.Diags) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, content.Diags{{Pos: content.Pos{File: file, Line: 1, Col: 1}, Severity: content.Error,
			Msg: "cannot read the update file: " + err.Error()}}
	}
	u, diags := announce.Parse(file, data)
	if u == nil {
		return nil, diags
	}
	diags = append(diags, announce.Check(u, c, now)...)
	diags.Sort()
	return u, diags
}

func (a *announcer) dryRun(ctx context.Context, file string) int {
	u, c := a.load(file)
	if u == nil {
		return 1
	}
	out := a.env.Stdout
	fmt.Fprintf(out, "%s: update %q is fine\n", file, u.ID)
	fmt.Fprintf(out, "topics:  %s\n", strings.Join(u.Topics, ", "))
	fmt.Fprintf(out, "expires: %s (%s from now)\n", u.Expires.Format("2006-01-02 15:04 -07:00"), humanDur(time.Until(u.Expires)))
	q, code := a.connect(ctx)
	if q == nil {
		return code
	}
	defer a.close()
	subs := subscriptions(a.rdb, keys.New(a.cfg.Redis.KeyPrefix))
	if subs == nil {
		return a.fail(1, noSubscriptions)
	}
	total := 0
	fmt.Fprintln(out, "would receive it now:")
	for _, l := range c.Languages {
		n := 0
		for _, t := range u.Topics {
			k, err := subs.Count(ctx, t, l.Tag)
			if err != nil {
				return a.fail(1, err.Error())
			}
			n += k
		}
		total += n
		fmt.Fprintf(out, "  %-8s %d\n", l.Tag, n)
	}
	fmt.Fprintf(out, "  %-8s %d\n", "in all", total)
	if len(u.Topics) > 1 {
		fmt.Fprintln(out, "(a person subscribed to several of its topics is counted for each, and receives it once)")
	}
	fmt.Fprintf(out, "\nThe message in %s:\n\n%s\n\nNothing was queued (--dry-run).\n", content.DefaultLanguage, u.Render(c, content.DefaultLanguage))
	return 0
}

const noSubscriptions = "this build of putokaz has no subscription store, so it cannot know who subscribed"

func (a *announcer) queue(ctx context.Context, file, by string) int {
	u, c := a.load(file)
	if u == nil {
		return 1
	}
	q, code := a.connect(ctx)
	if q == nil {
		return code
	}
	defer a.close()
	texts := map[string]string{}
	for _, l := range c.Languages {
		texts[l.Tag] = u.Render(c, l.Tag)
	}
	st, err := q.Add(ctx, u.ID, u.Topics, u.Expires, texts, by)
	if err != nil {
		return a.fail(1, fmt.Sprintf("%s: %v", u.ID, err))
	}
	a.after(st, "queued")
	return 0
}

// after tells what happens next to an update just queued or approved.
func (a *announcer) after(st announce.Status, did string) {
	out := a.env.Stdout
	if st.State == announce.StatePending {
		fmt.Fprintf(out, "%s %s by %s. It waits for %d more editor(s): putokaz announce approve %s --by NAME\n",
			did, st.ID, st.Approvers[len(st.Approvers)-1], st.Needed-len(st.Approvers), st.ID)
		return
	}
	fmt.Fprintf(out, "%s %s by %s: approved by %s. The bot starts sending within seconds; follow it with: putokaz announce status %s\n",
		did, st.ID, st.Approvers[len(st.Approvers)-1], strings.Join(st.Approvers, ", "), st.ID)
}

func (a *announcer) control(ctx context.Context, verb, id, by string) int {
	q, code := a.connect(ctx)
	if q == nil {
		return code
	}
	defer a.close()
	var st announce.Status
	var err error
	switch verb {
	case "approve":
		if strings.TrimSpace(by) == "" {
			return a.fail(2, "say who you are with --by NAME: the approval is recorded with your name")
		}
		st, err = q.Approve(ctx, id, by)
	case "pause":
		st, err = q.Pause(ctx, id)
	case "resume":
		st, err = q.Resume(ctx, id)
	default:
		st, err = q.Cancel(ctx, id)
	}
	if err != nil {
		if errors.Is(err, announce.ErrFinished) || errors.Is(err, announce.ErrNotPending) {
			return a.fail(1, fmt.Sprintf("%s: %v (it is %s)", id, err, describeState(st)))
		}
		return a.fail(1, fmt.Sprintf("%s: %v", id, err))
	}
	switch verb {
	case "approve":
		a.after(st, "approved")
	case "pause":
		fmt.Fprintf(a.env.Stdout, "paused %s: the messages on their way still arrive, then it waits (putokaz announce resume %s)\n", id, id)
	case "resume":
		fmt.Fprintf(a.env.Stdout, "resumed %s: it goes on where it stopped\n", id)
	default:
		fmt.Fprintf(a.env.Stdout, "cancelled %s: nothing more of it is sent (%d were sent)\n", id, st.Sent)
	}
	return 0
}

func (a *announcer) status(ctx context.Context, verb, id string) int {
	q, code := a.connect(ctx)
	if q == nil {
		return code
	}
	defer a.close()
	if id != "" {
		st, err := q.Status(ctx, id)
		if err != nil {
			return a.fail(1, fmt.Sprintf("%s: %v", id, err))
		}
		writeStatus(a.env.Stdout, st, isTerminal(a.env.Stdout), time.Now())
		return 0
	}
	list, err := q.List(ctx)
	if err != nil {
		return a.fail(1, err.Error())
	}
	if verb == "status" {
		list = slices.DeleteFunc(list, func(s announce.Status) bool { return s.State.Terminal() })
	}
	if len(list) == 0 {
		fmt.Fprintln(a.env.Stdout, map[string]string{"status": "No update is waiting or being sent (putokaz announce list shows the ended ones).",
			"list": "No updates on record (they are kept a week after their expiry)."}[verb])
		return 0
	}
	for _, st := range list {
		if verb == "list" {
			fmt.Fprintf(a.env.Stdout, "%-32s %-20s sent %d of %d  expires %s  queued by %s\n", st.ID, describeState(st), st.Sent, st.Total,
				st.Expires.Format("2006-01-02 15:04"), st.QueuedBy)
			continue
		}
		writeStatus(a.env.Stdout, st, isTerminal(a.env.Stdout), time.Now())
	}
	return 0
}

func describeState(st announce.Status) string {
	switch {
	case st.State == "":
		return "unknown"
	case st.Paused && !st.State.Terminal():
		return string(st.State) + ", paused"
	case st.State == announce.StatePending:
		return fmt.Sprintf("pending (%d of %d approvals)", len(st.Approvers), st.Needed)
	}
	return string(st.State)
}

// writeStatus prints one update's progress; bar draws a progress bar (for a
// terminal) instead of a plain percentage line.
func writeStatus(w io.Writer, st announce.Status, bar bool, now time.Time) {
	fmt.Fprintf(w, "%s: %s\n", st.ID, describeState(st))
	done := st.Total - st.Left()
	pct := 0
	if st.Total > 0 {
		pct = done * 100 / st.Total
	}
	if bar {
		const width = 30
		fill := pct * width / 100
		fmt.Fprintf(w, "  [%s%s] %3d%%  %d of %d\n", strings.Repeat("█", fill), strings.Repeat("░", width-fill), pct, done, st.Total)
	} else if st.State != announce.StatePending && st.State != announce.StateApproved {
		fmt.Fprintf(w, "  progress: %d%% (%d of %d)\n", pct, done, st.Total)
	}
	fmt.Fprintf(w, "  sent %d, left %d, blocked %d, failed %d, unknown %d, withdrawn %d\n",
		st.Sent, st.Left(), st.Blocked, st.Failed, st.Unknown, st.Withdrawn)
	if st.State == announce.StateSending && !st.Paused {
		left := "unknown"
		if st.Rate > 0 {
			left = humanDur(time.Duration(float64(st.Left()) / st.Rate * float64(time.Second)))
		}
		fmt.Fprintf(w, "  rate %.1f/s, about %s left\n", st.Rate, left)
	}
	fmt.Fprintf(w, "  topics %s; languages %s\n", strings.Join(st.Topics, ", "), strings.Join(st.Langs, ", "))
	fmt.Fprintf(w, "  expires %s (%s)\n", st.Expires.Format("2006-01-02 15:04 -07:00"), untilText(st.Expires, now))
	fmt.Fprintf(w, "  queued by %s on %s; approved by %s\n", st.QueuedBy, st.Created.Format("2006-01-02 15:04"), strings.Join(st.Approvers, ", "))
	if !st.Finished.IsZero() {
		fmt.Fprintf(w, "  ended %s\n", st.Finished.Format("2006-01-02 15:04:05"))
	}
}

func untilText(t, now time.Time) string {
	if d := t.Sub(now); d > 0 {
		return "in " + humanDur(d)
	}
	return "passed"
}

// humanDur writes a duration the way people read it: "2d 3h", "3h 20m",
// "4m 10s", "12s".
func humanDur(d time.Duration) string {
	d = d.Round(time.Second)
	days, h, m, sec := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// isTerminal reports whether w is a terminal (for the progress bar).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// checkUpdates checks the update files in the content's flows/updates/
// folder (or the one file given), for putokaz check. It prints every
// problem and returns the numbers of errors and warnings.
func checkUpdates(w io.Writer, c *content.Content, files []string) (errs, warns int) {
	for _, f := range files {
		_, diags := readUpdate(f, c, time.Now())
		for _, d := range diags {
			fmt.Fprintln(w, d)
			if d.Severity == content.Error {
				errs++
			} else {
				warns++
			}
		}
	}
	return errs, warns
}

// updateFiles are the update files in dir (flows/updates), sorted.
func updateFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	slices.Sort(files)
	return files
}
