package loadtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"putokaz/bot"
)

// The figures of a spike (spike.go): percentiles, fairness against the
// order people wrote in, the ideal sender's bound, and the text report.

// summarise computes the figures of a spike from its messages.
func summarise(name string, o SpikeOptions, msgs []*spikeMsg, elapsed time.Duration) *SpikeResult {
	res := &SpikeResult{Name: name, People: o.People, Messages: len(msgs), WindowS: o.Window.Seconds(),
		APIRate: o.APIRate, DurationS: elapsed.Seconds()}
	var first, emerg, others, emergBot, othersBot []time.Duration
	type arrival struct{ wrote, answered time.Time }
	var firsts []arrival
	var last time.Time
	for _, m := range msgs {
		res.BotMessages += int64(m.msgs)
		if m.answered.IsZero() {
			res.Unanswered++
			continue
		}
		last = maxTime(last, m.answered)
		lat := m.answered.Sub(m.written)
		if m.first {
			res.Answered++
			first = append(first, lat)
			firsts = append(firsts, arrival{m.written, m.answered})
		}
		if m.emergency {
			res.EmergencyN++
			emerg = append(emerg, lat)
			emergBot = append(emergBot, m.answered.Sub(m.reached))
		} else {
			others = append(others, lat)
			othersBot = append(othersBot, m.answered.Sub(m.reached))
		}
	}
	res.FirstAnswer = percentiles95(first)
	res.P95S = res.FirstAnswer.P95 / 1000
	res.Emergency, res.Others = percentiles95(emerg), percentiles95(others)
	res.EmergencyInBot, res.OthersInBot = percentiles95(emergBot), percentiles95(othersBot)
	slices.SortFunc(firsts, func(a, b arrival) int { return a.wrote.Compare(b.wrote) })
	wrote := make([]time.Time, len(firsts))
	answered := make([]time.Time, len(firsts))
	for i, a := range firsts {
		wrote[i], answered[i] = a.wrote, a.answered
	}
	res.KendallTau, res.Inversions1s = fairness(wrote, answered, time.Second)
	if len(msgs) > 0 {
		t0 := slices.MinFunc(msgs, func(a, b *spikeMsg) int { return a.written.Compare(b.written) }).written
		if span := last.Sub(t0).Seconds(); span > 0 {
			res.MessagesPerSec = float64(res.BotMessages) / span
		}
	}
	if o.APIRate > 0 {
		b := idealFirstAnswers(msgs, o.APIRate)
		res.Bound = &b
		if b.P95 > 0 {
			res.BoundRatio = res.FirstAnswer.P95 / b.P95
		}
	}
	return res
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// percentiles95 is percentiles with the p95 too.
func percentiles95(d []time.Duration) Latency {
	l := percentiles(d) // sorts d
	if len(d) > 0 {
		i := max(0, min(int(float64(len(d))*0.95+0.999999)-1, len(d)-1))
		l.P95 = ms(d[i])
	}
	return l
}

// fairness compares the order of answers with the order of arrivals (wrote
// sorted ascending): Kendall's tau-a over all pairs, and the share of pairs
// whose later writer was answered more than slack before the earlier one.
func fairness(wrote, answered []time.Time, slack time.Duration) (tau, inverted float64) {
	n := len(wrote)
	if n < 2 {
		return 1, 0
	}
	var conc, disc, inv int64
	for i := range n {
		for j := i + 1; j < n; j++ {
			dw := wrote[j].Compare(wrote[i])
			da := answered[j].Compare(answered[i])
			switch {
			case dw*da > 0:
				conc++
			case dw*da < 0:
				disc++
			}
			if answered[i].Sub(answered[j]) > slack {
				inv++
			}
		}
	}
	pairs := float64(n) * float64(n-1) / 2
	return float64(conc-disc) / pairs, float64(inv) / pairs
}

// idealFirstAnswers are the first answers to the first messages of people
// that an ideal sender would give at rate messages a second: it never
// idles while a message waits, sends every answer's messages one after
// another, answers in the order messages were written, and takes no time to
// handle them. The real bot's answers count as many messages as it sent.
func idealFirstAnswers(msgs []*spikeMsg, rate float64) Latency {
	sorted := slices.Clone(msgs)
	slices.SortFunc(sorted, func(a, b *spikeMsg) int { return a.written.Compare(b.written) })
	per := time.Duration(float64(time.Second) / rate)
	var free time.Time
	var out []time.Duration
	for _, m := range sorted {
		if m.msgs == 0 {
			continue
		}
		start := maxTime(m.written, free)
		free = start.Add(time.Duration(m.msgs) * per)
		if m.first {
			out = append(out, start.Add(per).Sub(m.written))
		}
	}
	return percentiles95(out)
}

// WriteText prints a spike's result for people.
func (r *SpikeResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s\n", r.Name)
	fmt.Fprintf(w, "  people answered             %d of %d (messages written %d, unanswered %d)\n", r.Answered, r.People,
		r.Messages, r.Unanswered)
	fmt.Fprintf(w, "  first answer (ms)           p50 %s  p95 %s  p99 %s  max %s\n", fmtMS(r.FirstAnswer.P50),
		fmtMS(r.FirstAnswer.P95), fmtMS(r.FirstAnswer.P99), fmtMS(r.FirstAnswer.Max))
	if r.Bound != nil {
		fmt.Fprintf(w, "  ideal sender at %g msg/s    p50 %s  p95 %s  (p95 / bound = %.2f)\n", r.APIRate, fmtMS(r.Bound.P50),
			fmtMS(r.Bound.P95), r.BoundRatio)
	}
	fmt.Fprintf(w, "  arrival order               Kendall tau %.3f, pairs inverted by more than 1 s %.4f%%\n", r.KendallTau,
		r.Inversions1s*100)
	fmt.Fprintf(w, "  emergency answers (ms)      n %d  p50 %s  p95 %s  max %s; in the bot p95 %s  max %s\n", r.EmergencyN,
		fmtMS(r.Emergency.P50), fmtMS(r.Emergency.P95), fmtMS(r.Emergency.Max), fmtMS(r.EmergencyInBot.P95),
		fmtMS(r.EmergencyInBot.Max))
	fmt.Fprintf(w, "  other answers (ms)          p50 %s  p95 %s  max %s; in the bot p95 %s  max %s\n", fmtMS(r.Others.P50),
		fmtMS(r.Others.P95), fmtMS(r.Others.Max), fmtMS(r.OthersInBot.P95), fmtMS(r.OthersInBot.Max))
	fmt.Fprintf(w, "  bot messages                %d (%.0f/s), Bot API 429s %d\n", r.BotMessages, r.MessagesPerSec, r.API429)
	fmt.Fprintf(w, "  webhook answers             %s; re-sent %d\n", fmtCounts(r.Webhook), r.Resent)
	fmt.Fprintf(w, "  bot memory (RSS MiB)        start %.1f, max %.1f\n", r.RSSStartMiB, r.RSSMaxMiB)
	if len(r.Lanes) > 0 {
		var parts []string
		for _, l := range bot.Lanes {
			q := `{lane="` + l.String() + `"}`
			parts = append(parts, fmt.Sprintf("%s %s sent, %s waited %ss", l, trimFloat(r.Lanes["lane_sends_total"+q]),
				trimFloat(r.Lanes["lane_waits_total"+q]), trimFloat(r.Lanes["lane_wait_seconds_sum"+q])))
		}
		fmt.Fprintf(w, "  bot lanes (attempts)        %s; global blocks %s\n", strings.Join(parts, "; "),
			trimFloat(r.Lanes["global_blocks_total"]))
	}
	fmt.Fprintf(w, "  took                        %.1f s\n", r.DurationS)
	if r.StopError != "" {
		fmt.Fprintf(w, "  stop error: %s\n", r.StopError)
	}
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
