package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Report is the outcome of one invocation: one Result per target, and the
// ratios of the first to the second.
type Report struct {
	Command string    `json:"command"`
	Date    string    `json:"date"`
	Machine Machine   `json:"machine"`
	Options RunConfig `json:"options"`
	Results []*Result `json:"results"`
	// Ratio compares Results[0] (ours) to Results[1] (the baseline).
	Ratio *Ratio   `json:"ratio,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

// RunConfig is Options as reported.
type RunConfig struct {
	Users          int     `json:"users"`
	DurationS      float64 `json:"duration_s"`
	ThinkS         float64 `json:"think_s"`
	TimeoutS       float64 `json:"timeout_s"`
	MaxConnections int     `json:"max_connections"`
	Redeliver      float64 `json:"redeliver"`
	APILatencyMS   float64 `json:"api_latency_ms"`
	Seed           uint64  `json:"seed"`
	Rounds         int     `json:"rounds,omitempty"`
}

// Config reports the options (with defaults applied).
func (o Options) Config() RunConfig {
	o = o.withDefaults()
	return RunConfig{Users: o.Users, DurationS: o.Duration.Seconds(), ThinkS: o.Think.Seconds(),
		TimeoutS: o.Timeout.Seconds(), MaxConnections: o.MaxConnections, Redeliver: o.Redeliver,
		APILatencyMS: ms(o.APILatency), Seed: o.Seed, Rounds: o.Rounds}
}

// Ratio is ours / baseline.
type Ratio struct {
	Throughput float64 `json:"throughput"`
	P99        float64 `json:"p99"`
}

// Compare fills Ratio from the first two results.
func (r *Report) Compare() {
	if len(r.Results) < 2 {
		return
	}
	a, b := r.Results[0], r.Results[1]
	rt := &Ratio{}
	if b.StepsPerSecond > 0 {
		rt.Throughput = a.StepsPerSecond / b.StepsPerSecond
	}
	if b.Latency.P99 > 0 {
		rt.P99 = a.Latency.P99 / b.Latency.P99
	}
	r.Ratio = rt
}

// WriteText prints the report as Markdown (a table per metric and target).
func (r *Report) WriteText(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "\n%s\n", r.Command)
	fmt.Fprintf(w, "%s · %d × %s · %s · %s · load average before: %s\n", r.Date, r.Machine.CPUs, r.Machine.CPUModel,
		r.Machine.OS, r.Machine.GoVersion, r.Machine.LoadAvg)
	maxConns := "as each bot registered it (row below; Telegram's default is 40)"
	if o.MaxConnections != 0 {
		maxConns = fmt.Sprint(o.MaxConnections)
	}
	rounds := "one after the other"
	if o.Rounds > 1 {
		rounds = fmt.Sprintf("alternating in %d rounds", o.Rounds)
	}
	fmt.Fprintf(w, "%d users, %gs each (%s), think %gs, max_connections %s, Bot API latency %gms, re-delivery %g, seed %d\n\n",
		o.Users, o.DurationS, rounds, o.ThinkS, maxConns, o.APILatencyMS, o.Redeliver, o.Seed)

	head := "| |"
	sep := "|---|"
	for _, res := range r.Results {
		head += " " + res.Name + " |"
		sep += "---:|"
	}
	if r.Ratio != nil {
		head += " ours / baseline |"
		sep += "---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	row := func(name string, val func(*Result) string, ratio string) {
		line := "| " + name + " |"
		for _, res := range r.Results {
			line += " " + val(res) + " |"
		}
		if r.Ratio != nil {
			line += " " + ratio + " |"
		}
		fmt.Fprintln(w, line)
	}
	ratio := func(f func(*Ratio) float64) string {
		if r.Ratio == nil || f(r.Ratio) == 0 {
			return ""
		}
		return fmt.Sprintf("**%.2f**", f(r.Ratio))
	}
	row("webhook max_connections", func(x *Result) string {
		if x.MaxConnections < 0 {
			return "no cap"
		}
		return fmt.Sprint(x.MaxConnections)
	}, "")
	row("steps completed", func(x *Result) string { return fmt.Sprint(x.Steps) }, "")
	row("throughput (steps/s)", func(x *Result) string { return fmt.Sprintf("%.1f", x.StepsPerSecond) },
		ratio(func(r *Ratio) float64 { return r.Throughput }))
	row("messages sent (per s)", func(x *Result) string { return fmt.Sprintf("%.1f", x.RepliesPerSecond) }, "")
	row("latency p50 (ms)", func(x *Result) string { return fmtMS(x.Latency.P50) }, "")
	row("latency p90 (ms)", func(x *Result) string { return fmtMS(x.Latency.P90) }, "")
	row("latency p99 (ms)", func(x *Result) string { return fmtMS(x.Latency.P99) },
		ratio(func(r *Ratio) float64 { return r.P99 }))
	row("latency max (ms)", func(x *Result) string { return fmtMS(x.Latency.Max) }, "")
	row("first message p99 (ms)", func(x *Result) string { return fmtMS(x.FirstReply.P99) }, "")
	row("p99 of steps accepted at once (ms)", func(x *Result) string { return fmtMS(x.AcceptedAtOnce.P99) }, "")
	row("steps re-delivered (500/503)", func(x *Result) string { return fmt.Sprint(x.Redelivered) }, "")
	row("lost replies", func(x *Result) string { return fmt.Sprint(x.Lost) }, "")
	row("duplicated replies", func(x *Result) string { return fmt.Sprint(x.Duplicated) }, "")
	row("errors", func(x *Result) string { return fmt.Sprint(x.ErrorCount()) }, "")
	row("updates never accepted", func(x *Result) string { return fmt.Sprint(x.Undelivered) }, "")
	row("bot CPU per 1000 steps (s)", func(x *Result) string {
		if x.CPUPer1kSteps == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x.CPUPer1kSteps)
	}, "")
	row("Redis CPU per 1000 steps (s)", func(x *Result) string {
		if x.RedisCPUPer1kSteps == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x.RedisCPUPer1kSteps)
	}, "")
	row("load tool CPU per 1000 steps (s)", func(x *Result) string {
		if x.ToolCPUPer1kSteps == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x.ToolCPUPer1kSteps)
	}, "")
	row("load average at the end", func(x *Result) string { return x.LoadAvg }, "")
	row("RSS start → end (MiB)", func(x *Result) string {
		var rss []float64
		for _, s := range x.Memory {
			if s.RSSMiB > 0 {
				rss = append(rss, s.RSSMiB)
			}
		}
		if len(rss) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f → %.0f", rss[0], rss[len(rss)-1])
	}, "")

	for _, res := range r.Results {
		fmt.Fprintf(w, "\n%s:\n", res.Name)
		fmt.Fprintf(w, "  actions: %s\n", fmtCounts(res.Actions))
		fmt.Fprintf(w, "  Bot API calls: %s\n", fmtCounts(res.APICalls))
		if len(res.Errors) > 0 {
			fmt.Fprintf(w, "  errors: %s\n", fmtCounts(res.Errors))
		}
		if res.Late > 0 {
			fmt.Fprintf(w, "  late replies (after the step was counted lost): %d\n", res.Late)
		}
		if res.Redeliveries > 0 {
			fmt.Fprintf(w, "  re-delivered handled updates: %d (their replies count as duplicated)\n", res.Redeliveries)
		}
		if res.StopError != "" {
			fmt.Fprintf(w, "  stop: %s\n", res.StopError)
		}
		if len(res.Memory) > 2 {
			fmt.Fprintln(w, "  memory (t s: RSS MiB / Go heap in use MiB / goroutines):")
			for _, s := range res.Memory {
				fmt.Fprintf(w, "    %6.0f: %6.1f / %6.1f / %d\n", s.At, s.RSSMiB, s.HeapMiB, s.Goroutines)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
}

func fmtMS(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
