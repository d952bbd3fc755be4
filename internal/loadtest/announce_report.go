package loadtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText prints the scenario's report for a person.
func (r *AnnounceResult) WriteText(w io.Writer) {
	if r.Command != "" {
		fmt.Fprintf(w, "command: %s\n", r.Command)
	}
	if r.Date != "" {
		fmt.Fprintf(w, "date:    %s\n", r.Date)
	}
	m := r.Machine
	if m.CPUs > 0 {
		fmt.Fprintf(w, "machine: %d CPUs (%s), %s, %s, load average before %s\n", m.CPUs, m.CPUModel, m.OS, m.GoVersion, m.LoadAvg)
	}
	fmt.Fprintf(w, "system:  %s\n", r.Name)
	fmt.Fprintf(w, "people:  %d conversing (think %.0f ms, %.0f%% of steps an emergency word, seed %d)\n",
		r.Users, r.ThinkMS, r.Emergency*100, r.Seed)
	fmt.Fprintf(w, "send:    %d subscribers (subscribed in %.1f s), announce.rate %.0f/s; %d rounds of a %.1f s slice paused and a %.1f s slice running\n\n",
		r.Subscribers, r.SeedSeconds, r.Rate, r.Rounds, r.SliceSeconds, r.SliceSeconds)

	fmt.Fprintf(w, "%-28s %14s %14s\n", "conversations", "send paused", "send running")
	row := func(name string, f func(p *Phase) string) {
		fmt.Fprintf(w, "%-28s %14s %14s\n", name, f(&r.Quiet), f(&r.Sending))
	}
	row("steps (per s)", func(p *Phase) string { return fmt.Sprintf("%d (%.1f)", p.Steps, p.StepsPerSecond) })
	row("reply p50 ms", func(p *Phase) string { return fmt.Sprintf("%.1f", p.Latency.P50) })
	row("reply p99 ms", func(p *Phase) string { return fmt.Sprintf("%.1f", p.Latency.P99) })
	row("reply max ms", func(p *Phase) string { return fmt.Sprintf("%.1f", p.Latency.Max) })
	row("emergency replies", func(p *Phase) string { return fmt.Sprintf("%d", p.EmergencySteps) })
	row("emergency p50 / p99 ms", func(p *Phase) string {
		return fmt.Sprintf("%.1f / %.1f", p.Emergency.P50, p.Emergency.P99)
	})
	row("emergency max ms", func(p *Phase) string { return fmt.Sprintf("%.1f", p.Emergency.Max) })
	row("lost / duplicated replies", func(p *Phase) string { return fmt.Sprintf("%d / %d", p.Lost, p.Duplicated) })
	row("updates sent (per s)", func(p *Phase) string {
		return fmt.Sprintf("%d (%.1f)", p.UpdatesSent, p.UpdatesPerSecond)
	})
	for _, l := range senderLanes {
		row("lane "+l+": sends", func(p *Phase) string { return fmt.Sprintf("%.0f", p.Lanes[l].Sends) })
		row("  waits (>25 ms)", func(p *Phase) string {
			return fmt.Sprintf("%.0f (%.0f)", p.Lanes[l].Waits, p.Lanes[l].WaitsOver25ms)
		})
		row("  waited s", func(p *Phase) string { return fmt.Sprintf("%.2f", p.Lanes[l].WaitSeconds) })
	}
	fmt.Fprintf(w, "\nreply p99 with the send running / paused: %.2f× (target ≤ 1.5×)\n", r.P99Ratio)

	fmt.Fprintf(w, "\nthe send: %d of %d subscribers reached, %d duplicated, %d missing (counted at the fake Bot API)\n",
		r.Reached, r.Subscribers, r.Duplicated, r.Missing)
	p := r.Worker
	fmt.Fprintf(w, "queue:    %s, sent %d of %d, blocked %d, failed %d, unknown %d\n", p.State, p.Sent, p.Total,
		p.Blocked, p.Failed, p.Unknown)
	if r.AloneSeconds > 0 {
		fmt.Fprintf(w, "alone:    %d updates in %.1f s after the conversations ended: %.1f/s (%.1f%% of the configured %.0f/s)\n",
			r.AloneSent, r.AloneSeconds, r.AloneRate, r.AloneRate/r.Rate*100, r.Rate)
	}
	fmt.Fprintf(w, "whole send: %.1f s from the first update to the last\n", r.SendSeconds)
	if r.TimedOut {
		fmt.Fprintln(w, "the send did NOT finish within the time allowed")
	}
	if r.RSSMaxMiB > 0 {
		fmt.Fprintf(w, "\nbot RSS: %.1f MiB at the start, %.1f MiB at most, %.1f MiB at the end\n", r.RSSFirstMiB, r.RSSMaxMiB, r.RSSLastMiB)
		fmt.Fprintln(w, memorySeries(r.Memory, 12))
	}
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintln(w, "\nerrors:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %d\n", k, r.Errors[k])
		}
	}
	if r.StopError != "" {
		fmt.Fprintf(w, "stop: %s\n", r.StopError)
	}
}

// memorySeries shows at most n samples, evenly picked, as "t s: RSS MiB".
func memorySeries(s []Sample, n int) string {
	if len(s) == 0 {
		return ""
	}
	var parts []string
	step := max(1, (len(s)+n-1)/n)
	for i := 0; i < len(s); i += step {
		parts = append(parts, fmt.Sprintf("%.0fs %.1f", s[i].At, s[i].RSSMiB))
	}
	if (len(s)-1)%step != 0 {
		last := s[len(s)-1]
		parts = append(parts, fmt.Sprintf("%.0fs %.1f", last.At, last.RSSMiB))
	}
	return "  RSS MiB over time: " + strings.Join(parts, ", ")
}
