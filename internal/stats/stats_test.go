package stats_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/stats"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
	"putokaz/internal/testkit/redistest"
)

var day = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// accept stores nothing and accepts every effect (referrals, handoffs).
type accept struct{}

func (accept) Apply(context.Context, string, string, engine.Effect) error { return nil }

type chat struct {
	t    *testing.T
	conv *conversation.Runner
	user string
	last []engine.Message
}

func (c *chat) send(in engine.Input) {
	c.t.Helper()
	msgs, err := c.conv.Handle(context.Background(), c.user, in)
	if err != nil {
		c.t.Fatalf("%s %+v: %v", c.user, in, err)
	}
	c.last = msgs
}

func (c *chat) press(label string) {
	c.t.Helper()
	for _, m := range c.last {
		for _, b := range m.Buttons {
			if strings.Contains(b.Label, label) && b.Data != "" {
				c.send(engine.Input{Kind: engine.InButton, Data: b.Data})
				return
			}
		}
	}
	c.t.Fatalf("%s: no button %q in %+v", c.user, label, c.last)
}

func (c *chat) text(s string) { c.t.Helper(); c.send(engine.Input{Kind: engine.InText, Text: s}) }
func (c *chat) command(s string) {
	c.t.Helper()
	c.send(engine.Input{Kind: engine.InCommand, Command: s})
}

// TestUnavailableService: a referral or handoff refused because the service
// has no staff queue counts as "unavailable" for that service.
func TestUnavailableService(t *testing.T) {
	c := contenttest.Load(t)
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{Content: content.NewHolder(c), Registerer: reg, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(func() time.Time { return day }, func() uint64 { return 7919 })
	eng.Offline = func(string) bool { return true }
	conv := conversation.New(mem, eng, content.NewHolder(c), accept{}, nil)
	conv.OnResult = st.Observe
	di := &chat{t: t, conv: conv, user: "tg:4"}
	di.command("start")
	di.press("English")
	di.press("Refer me")
	di.press("EN common.btn.menu")
	di.press("Talk")
	if got := promtest.Value(reg, stats.MetricReferrals, map[string]string{"service": "svc", "outcome": "unavailable"}); got != 2 {
		t.Errorf("unavailable = %v, want 2", got)
	}
	if got := promtest.Value(reg, stats.MetricReferrals, map[string]string{"service": "svc", "outcome": "offered"}); got != 0 {
		t.Errorf("offered = %v, want 0: nothing was offered", got)
	}
	if got := promtest.Value(reg, stats.MetricNotices, map[string]string{"notice": "service_offline"}); got != 2 {
		t.Errorf("notice service_offline = %v, want 2", got)
	}
}

// TestConversationToRedisAndPrometheus drives real conversations through
// conversation.Runner with the OnResult hook and checks every counter in
// Prometheus, in the day's Redis hash, and in the report.
func TestConversationToRedisAndPrometheus(t *testing.T) {
	rdb, k := redistest.New(t)
	c := contenttest.Load(t)
	holder := content.NewHolder(c)
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{Content: holder, Registerer: reg, Redis: rdb, Keys: k,
		Interval: time.Hour, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	eng := engine.New(func() time.Time { return day }, func() uint64 { n += 7919; return n })
	conv := conversation.New(mem, eng, holder, accept{}, nil)
	conv.OnResult = st.Observe

	// Ana: asks a question, answers it, and stops at the end step.
	ana := &chat{t: t, conv: conv, user: "tg:1"}
	ana.command("start") // language picker: no language yet
	ana.press("English") // → main/menu
	ana.press("Ask me")  // main/menu → main/ask
	ana.text("Ana")      // main/ask → main/echo
	ana.command("delete")
	ana.press("EN common.delete.yes") // erased while on main/echo: a departure, in English

	// Bo: asks for a referral, consents, answers, skips the optional
	// question; then types an emergency word.
	bo := &chat{t: t, conv: conv, user: "tg:2"}
	bo.command("start")
	bo.press("English")
	bo.press("Refer me") // → main/refer: offered
	bo.press("EN common.referral.yes")
	bo.text("Novi Sad")
	bo.press("EN common.referral.skip") // submitted
	bo.text("police")                   // emergency: main/refer → sos/numbers, topic sos

	// Cy: declines a referral, presses an old button (which brings the menu
	// back), sends a sticker, then talks to staff.
	cy := &chat{t: t, conv: conv, user: "tg:3"}
	cy.command("start")
	cy.press("English")
	cy.press("Refer me")
	cy.press("EN common.referral.no")                          // declined
	cy.send(engine.Input{Kind: engine.InButton, Data: "m0.0"}) // stale: main/refer → main/menu
	cy.send(engine.Input{Kind: engine.InMedia, Media: "sticker"})
	cy.press("Talk") // main/menu → main/talk: a handoff
	// Staff claim Bo's referral (reported by the referral system).
	st.Referral("svc", stats.OutcomeClaimed)

	want := map[string]int64{
		"in:none:command":          3,
		"in:en:command":            1,
		"in:en:button":             3 + 4 + 5,
		"in:en:text":               3,
		"in:en:media":              1,
		"notice:language_picker":   3,
		"notice:referral_sent":     1,
		"notice:referral_declined": 1,
		"notice:emergency":         1,
		"notice:stale_button":      1,
		"notice:media":             1,
		"notice:erased":            1,
		"step:main/menu":           4,
		"leave:main/menu":          4,
		"step:main/ask":            1,
		"leave:main/ask":           1,
		"step:main/echo":           1,
		"leave:main/echo":          1,
		"step:main/refer":          2,
		"leave:main/refer":         2,
		"step:sos/numbers":         1,
		"step:main/talk":           1,
		"topic:sos":                1,
		"ref:svc:offered":          2,
		"ref:svc:submitted":        1,
		"ref:svc:declined":         1,
		"ref:svc:handoff":          1,
		"ref:svc:claimed":          1,
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	raw, err := rdb.HGetAll(ctx, k.StatsDay(day)).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for f, v := range raw {
		n, _ := strconv.ParseInt(v, 10, 64)
		got[f] = n
	}
	if !maps.Equal(got, want) {
		t.Errorf("Redis hash %s:\n got  %v\n want %v", k.StatsDay(day), got, want)
	}
	if ttl := rdb.TTL(ctx, k.StatsDay(day)).Val(); ttl < stats.DefaultTTL-time.Minute || ttl > stats.DefaultTTL {
		t.Errorf("TTL %v, want about %v", ttl, stats.DefaultTTL)
	}
	// Nothing left to write: a second flush changes nothing.
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if again := rdb.HGetAll(ctx, k.StatsDay(day)).Val(); len(again) != len(raw) || again["step:main/menu"] != "4" {
		t.Errorf("second flush changed the hash: %v", again)
	}

	// Prometheus has the same counts.
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{stats.MetricInputs, map[string]string{"lang": "none", "kind": "command"}, 3},
		{stats.MetricInputs, map[string]string{"lang": "en", "kind": "button"}, 12},
		{stats.MetricStepViews, map[string]string{"flow": "main", "step": "menu"}, 4},
		{stats.MetricStepDepartures, map[string]string{"flow": "main", "step": "refer"}, 2},
		{stats.MetricTopics, map[string]string{"flow": "sos"}, 1},
		{stats.MetricNotices, map[string]string{"notice": "stale_button"}, 1},
		{stats.MetricReferrals, map[string]string{"service": "svc", "outcome": "submitted"}, 1},
		{stats.MetricReferrals, map[string]string{"service": "svc", "outcome": "handoff"}, 1},
	} {
		if got := promtest.Value(reg, m.name, m.labels); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}

	// The report sums it and ranks it.
	rep, err := stats.Read(ctx, rdb, k, day, 7)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DaysWithData != 1 || rep.Inputs["en"] != 17 || rep.Inputs["none"] != 3 || rep.Views["main/menu"] != 4 {
		t.Errorf("report: %+v", rep)
	}
	exits := rep.Exits()
	// Ana erased her data on main/echo: a departure, not a silent exit.
	wantExits := []stats.Exit{{Step: "main/talk", Views: 1, Exits: 1}, {Step: "sos/numbers", Views: 1, Exits: 1}}
	if !slices.Equal(exits, wantExits) {
		t.Errorf("exits %+v, want %+v", exits, wantExits)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out, 10); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Putokaz usage 2026-11-20 to 2026-11-26 (7 days, UTC; 1 with data). Counters only: no person can be told apart.",
		"Inputs: 20, by language (none: before choosing one)",
		"  en    17  85.0%",
		"  none   3  15.0%",
		"  main/menu    4  40.0%",
		"  sos  1  100.0%",
		"  main/talk        1      1    100.0%",
		"  service  offered   declined  submitted  handoff     claimed",
		"  svc            2  1 (50.0%)  1 (50.0%)        1  1 (100.0%)",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("want line %q in report:\n%s", line, out.String())
		}
	}
}

// Every label value is a content name, a fixed word, "none" or "other":
// whatever arrives, the number of series is bounded by the content.
func TestLabelsAreBounded(t *testing.T) {
	rdb, k := redistest.New(t)
	c := contenttest.Load(t)
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{Content: content.NewHolder(c), Registerer: reg, Redis: rdb, Keys: k,
		Interval: time.Hour, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []conversation.Outcome{
		{Input: engine.InText, Lang: "xx-evil", Notice: "something_new",
			From: content.Ref{Flow: "gone", Step: "away"}, To: content.Ref{Flow: "main", Step: "deleted_by_reload"}},
		{Input: engine.InputKind(99), Lang: "tg:12345", To: content.Ref{Flow: "../../etc", Step: "passwd"}},
		{Input: engine.InEvent, Lang: "en", Notice: "event"}, // staff events are not inputs
	} {
		st.Observe(o)
	}
	st.Referral("no_such_service", "claimed")
	st.Referral("svc", "exploded")

	allowed := map[string]map[string]bool{
		"lang": {"en": true, "fa": true, "none": true, "other": true},
		"kind": {"text": true, "button": true, "command": true, "location": true, "contact": true, "media": true},
		"flow": {"other": true}, "step": {"other": true}, "service": {"other": true}, "notice": {"other": true},
		"outcome": {"other": true},
	}
	for name, f := range c.Flows {
		allowed["flow"][name] = true
		for s := range f.Steps {
			allowed["step"][s] = true
		}
	}
	for s := range c.Directory.Services {
		allowed["service"][s] = true
	}
	for _, n := range stats.Notices {
		allowed["notice"][n] = true
	}
	for _, o := range stats.Outcomes {
		allowed["outcome"][o] = true
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if !allowed[l.GetName()][l.GetValue()] {
					t.Errorf("%s: label %s=%q is not bounded by the content", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if series == 0 {
		t.Fatal("nothing counted")
	}
	if got := promtest.Value(reg, stats.MetricInputs, map[string]string{"lang": "other", "kind": "text"}); got != 1 {
		t.Errorf("unknown language counted %v times as other", got)
	}
	if got := promtest.Value(reg, stats.MetricStepViews, map[string]string{"flow": "main", "step": "other"}); got != 1 {
		t.Errorf("a removed step of a known flow: %v", got)
	}
	if got := promtest.Value(reg, stats.MetricReferrals, map[string]string{"service": "other", "outcome": "claimed"}); got != 1 {
		t.Errorf("unknown service: %v", got)
	}
	if err := st.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	fields := rdb.HKeys(context.Background(), k.StatsDay(day)).Val()
	slices.Sort(fields)
	wantFields := []string{"in:other:text", "leave:other/other", "notice:event", "notice:other",
		"ref:other:claimed", "ref:svc:other", "step:main/other", "step:other/other", "topic:other"}
	if !slices.Equal(fields, wantFields) {
		t.Errorf("fields %v, want %v", fields, wantFields)
	}
}

// The notices counted by name are exactly those the engine reports, so a new
// engine notice is not silently lumped into "other".
func TestNoticesMatchEngine(t *testing.T) {
	files, err := filepath.Glob("../engine/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("engine sources: %v %v", files, err)
	}
	re := regexp.MustCompile(`(?:t\.notice|res\.Notice|Notice:)\s*=?\s*"([a-z_]+)"`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %v in the engine: is the pattern out of date?", seen)
	}
	for n := range seen {
		if !slices.Contains(stats.Notices, n) {
			t.Errorf("engine notice %q is missing from stats.Notices", n)
		}
	}
	for _, n := range stats.Notices {
		if !seen[n] {
			t.Errorf("stats.Notices has %q, which the engine no longer reports", n)
		}
	}
}

// The hook's event carries no identifier and no text: a new field needs a
// privacy review here first.
//
// Reviewed (issue 12): Unmatched (single folded words of a message nothing
// matched, no numbers, at most eight) and Person (the person's key, set only
// with them) serve "what people typed that nobody understood". Stats never
// stores Person: it keeps a hash salted with a random salt per day (which
// expires two days later) in a HyperLogLog per word, shows a word only once
// five different people typed it that day, and never logs either field
// (TestUnmatchedWords checks the stored keys and values).
func TestOutcomeCarriesNothingPersonal(t *testing.T) {
	typ := reflect.TypeOf(conversation.Outcome{})
	var names []string
	for i := range typ.NumField() {
		names = append(names, typ.Field(i).Name+" "+typ.Field(i).Type.String())
	}
	want := []string{"Input engine.InputKind", "Lang string", "From content.Ref", "To content.Ref", "Notice string",
		"Unmatched []string", "Person string"}
	if !slices.Equal(names, want) {
		t.Errorf("conversation.Outcome is %v, want %v: statistics must never see who a person is or what they wrote", names, want)
	}
}

func TestBackgroundFlushStopAndDays(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := context.Background()
	now := day
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st, err := stats.New(stats.Options{Content: content.NewHolder(contenttest.Load(t)), Redis: rdb, Keys: k,
		Interval: 20 * time.Millisecond, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	st.Referral("svc", stats.OutcomeClaimed)
	polltest.Until(t, 3*time.Second, "the background flush to write", func() bool {
		return rdb.HGet(ctx, k.StatsDay(day), "ref:svc:claimed").Val() == "1"
	})
	// After midnight (UTC) counts go to the next day's hash.
	mu.Lock()
	now = day.Add(24 * time.Hour)
	mu.Unlock()
	st.Referral("svc", stats.OutcomeClosed)
	if err := st.Stop(ctx); err != nil { // Stop writes what is left at once
		t.Fatal(err)
	}
	if err := st.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if got := rdb.HGet(ctx, k.StatsDay(day.Add(24*time.Hour)), "ref:svc:closed").Val(); got != "1" {
		t.Errorf("next day's hash: %q", got)
	}
	if got := rdb.HGet(ctx, k.StatsDay(day), "ref:svc:closed").Val(); got != "" {
		t.Errorf("counted on the wrong day: %q", got)
	}
	rep, err := stats.Read(ctx, rdb, k, day.Add(24*time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DaysWithData != 2 || rep.Referrals["svc"][stats.OutcomeClaimed] != 1 || rep.Referrals["svc"][stats.OutcomeClosed] != 1 {
		t.Errorf("two days summed: %+v", rep)
	}
}

func TestMemoryOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{Content: content.NewHolder(contenttest.Load(t)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	st.Observe(conversation.Outcome{Input: engine.InButton, Lang: "fa", To: content.Ref{Flow: "sos", Step: "numbers"}})
	if got := promtest.Value(reg, stats.MetricTopics, map[string]string{"flow": "sos"}); got != 1 {
		t.Errorf("topic counted %v", got)
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second registration of the same metrics is an error, not a panic.
	if _, err := stats.New(stats.Options{Content: content.NewHolder(contenttest.Load(t)), Registerer: reg}); err == nil {
		t.Error("registering twice succeeded")
	}
	if _, err := stats.New(stats.Options{}); err == nil {
		t.Error("no content source accepted")
	}
}

func TestEmptyReport(t *testing.T) {
	rdb, k := redistest.New(t)
	rep, err := stats.Read(context.Background(), rdb, k, day, 30)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out, 10); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2026-10-28 to 2026-11-26 (30 days, UTC; 0 with data)") ||
		!strings.Contains(out.String(), "No usage recorded in this period.") {
		t.Errorf("report:\n%s", out.String())
	}
	if _, err := stats.Read(context.Background(), rdb, k, day, 0); err == nil {
		t.Error("0 days accepted")
	}
}
