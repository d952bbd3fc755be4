package stats

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// Report is the sum of the daily counters over a period.
type Report struct {
	From, To time.Time // first and last day (UTC dates)
	Days     int
	// DaysWithData counts the days that had a hash at all.
	DaysWithData int

	Inputs     map[string]int64 // language → inputs
	Kinds      map[string]int64 // input kind → inputs
	Topics     map[string]int64 // flow → opened
	Views      map[string]int64 // "flow/step" → views
	Departures map[string]int64 // "flow/step" → departures
	Notices    map[string]int64
	Referrals  map[string]map[string]int64 // service → outcome → count
}

// Read sums the days from until-days+1 to until (UTC) from Redis.
func Read(ctx context.Context, rdb redis.UniversalClient, k keys.Keys, until time.Time, days int) (*Report, error) {
	if days < 1 {
		return nil, fmt.Errorf("stats: read: days must be at least 1, not %d", days)
	}
	until = until.UTC().Truncate(24 * time.Hour)
	r := &Report{
		From: until.AddDate(0, 0, -(days - 1)), To: until, Days: days,
		Inputs: map[string]int64{}, Kinds: map[string]int64{}, Topics: map[string]int64{},
		Views: map[string]int64{}, Departures: map[string]int64{}, Notices: map[string]int64{},
		Referrals: map[string]map[string]int64{},
	}
	// One pipeline: a year of days is one round trip (and a cluster client
	// splits it by slot).
	pipe := rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, days)
	for i := range days {
		cmds[i] = pipe.HGetAll(ctx, k.StatsDay(r.From.AddDate(0, 0, i)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("stats: read %d days from redis: %w", days, err)
	}
	for _, cmd := range cmds {
		fields := cmd.Val()
		if len(fields) > 0 {
			r.DaysWithData++
		}
		for f, v := range fields {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue // not ours: never let one odd field stop a report
			}
			r.add(f, n)
		}
	}
	return r, nil
}

func (r *Report) add(field string, n int64) {
	kind, rest, _ := strings.Cut(field, ":")
	switch kind + ":" {
	case fieldInput:
		lang, k, _ := strings.Cut(rest, ":")
		r.Inputs[lang] += n
		r.Kinds[k] += n
	case fieldView:
		r.Views[rest] += n
	case fieldLeave:
		r.Departures[rest] += n
	case fieldTopic:
		r.Topics[rest] += n
	case fieldNotice:
		r.Notices[rest] += n
	case fieldRef:
		// Service names have no ":" (content names are [a-z0-9_]).
		svc, outcome, _ := strings.Cut(rest, ":")
		if r.Referrals[svc] == nil {
			r.Referrals[svc] = map[string]int64{}
		}
		r.Referrals[svc][outcome] += n
	}
}

// Exit is a step's approximate drop-off.
type Exit struct {
	Step         string // "flow/step"
	Views, Exits int64
}

// Exits are views minus departures per step (at least zero), most first.
func (r *Report) Exits() []Exit {
	var out []Exit
	for step, v := range r.Views {
		e := v - r.Departures[step]
		if e > 0 {
			out = append(out, Exit{Step: step, Views: v, Exits: e})
		}
	}
	slices.SortFunc(out, func(a, b Exit) int {
		return cmp.Or(cmp.Compare(b.Exits, a.Exits), strings.Compare(a.Step, b.Step))
	})
	return out
}

type count struct {
	name string
	n    int64
}

// ranked sorts a map by count (then name) and keeps the first top (all
// when top <= 0).
func ranked(m map[string]int64, top int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		if v != 0 {
			out = append(out, count{k, v})
		}
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name)) })
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

func pct(n, total int64) string {
	if total == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + "%"
}

// WriteText writes a summary for people: each section ranked, with
// percentages, at most top rows per ranking.
func (r *Report) WriteText(w io.Writer, top int) error {
	ew := &errWriter{w: w}
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	fmt.Fprintf(ew, "Putokaz usage %s to %s (%d days, UTC; %d with data). Counters only: no person can be told apart.\n",
		day(r.From), day(r.To), r.Days, r.DaysWithData)
	inputs := sum(r.Inputs)
	if inputs == 0 && len(r.Views) == 0 && len(r.Referrals) == 0 {
		fmt.Fprintln(ew, "\nNo usage recorded in this period.")
		return ew.err
	}

	section := func(title string, m map[string]int64, total int64) {
		fmt.Fprintf(ew, "\n%s\n", title)
		var rows [][]string
		for _, c := range ranked(m, top) {
			rows = append(rows, []string{c.name, strconv.FormatInt(c.n, 10), pct(c.n, total)})
		}
		table(ew, rows)
		if top > 0 && len(m) > top {
			fmt.Fprintf(ew, "  … and %d more\n", len(m)-top)
		}
	}
	section(fmt.Sprintf("Inputs: %d, by language (none: before choosing one)", inputs), r.Inputs, inputs)
	section("Inputs by kind", r.Kinds, inputs)
	topics := sum(r.Topics)
	section(fmt.Sprintf("Topics opened: %d", topics), r.Topics, topics)
	views := sum(r.Views)
	section(fmt.Sprintf("Top steps: %d views", views), r.Views, views)
	section("Notices (share of inputs)", r.Notices, inputs)

	fmt.Fprintln(ew, "\nWhere people stop: exits = views − departures (approximate; see `putokaz stats -h`)")
	exits := r.Exits()
	if len(exits) == 0 {
		fmt.Fprintln(ew, "  none")
	}
	if len(exits) > 0 {
		rows := [][]string{{"step", "views", "exits", "of views"}}
		for i, e := range exits {
			if top > 0 && i == top {
				break
			}
			rows = append(rows, []string{e.Step, strconv.FormatInt(e.Views, 10), strconv.FormatInt(e.Exits, 10), pct(e.Exits, e.Views)})
		}
		table(ew, rows)
	}

	fmt.Fprintln(ew, "\nReferrals and handoffs by service (in brackets: share of offered, or of submitted for what happened later)")
	if len(r.Referrals) == 0 {
		fmt.Fprintln(ew, "  none")
		return ew.err
	}
	var used []string
	for _, o := range append(slices.Clone(Outcomes), Other) {
		for _, m := range r.Referrals {
			if m[o] != 0 {
				used = append(used, o)
				break
			}
		}
	}
	rows := [][]string{append([]string{"service"}, used...)}
	services := make([]string, 0, len(r.Referrals))
	for s := range r.Referrals {
		services = append(services, s)
	}
	slices.Sort(services)
	for _, s := range services {
		m := r.Referrals[s]
		cells := make([]string, len(used))
		for i, o := range used {
			cells[i] = strconv.FormatInt(m[o], 10)
			if base := shareOf[o]; base != "" && m[base] > 0 && m[o] > 0 {
				cells[i] += " (" + pct(m[o], m[base]) + ")"
			}
		}
		rows = append(rows, append([]string{s}, cells...))
	}
	table(ew, rows)
	return ew.err
}

// table writes rows indented, the first column aligned left and the others
// (numbers) right. Widths count characters, not bytes.
func table(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i == 0 {
				b.WriteString(cell + pad)
				continue
			}
			b.WriteString("  " + pad + cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// shareOf is what an outcome's percentage is of: the person's answers are
// shares of the offers, what staff did shares of the referrals submitted.
var shareOf = map[string]string{
	OutcomeDeclined: OutcomeOffered, OutcomeCancelled: OutcomeOffered, OutcomeSubmitted: OutcomeOffered,
	OutcomeDelivered: OutcomeSubmitted, OutcomeClaimed: OutcomeSubmitted, OutcomeClosed: OutcomeSubmitted,
	OutcomeFailed: OutcomeSubmitted, OutcomeWithdrawn: OutcomeSubmitted,
}

// errWriter keeps the first write error so the report's many writes need
// one check.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
